/** The version of this CLI and the release key it trusts: set by the build (esbuild defines), placeholders from source. */
declare const __PVF_VERSION__: string | undefined;
declare const __PVF_SIGNING_KEY__: string | undefined;

export const VERSION = typeof __PVF_VERSION__ === 'string' ? __PVF_VERSION__ : '0.0.0-source';
/** The public key this CLI trusts for the manifest signature (set at build time). */
export const SIGNING_KEY = typeof __PVF_SIGNING_KEY__ === 'string' ? __PVF_SIGNING_KEY__ : undefined;
