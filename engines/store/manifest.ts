/**
 * The manifest the build embeds as section `.pvf.manifest`: every engine the binary carries, with
 * the sha256 of its raw payload and of its compressed section, sizes and status. A detached
 * ed25519 signature of these exact bytes is the section `.pvf.signature`.
 */

export type EngineStatus = 'active' | 'deprecated' | 'revoked';
export type EngineFamily = 'v8' | 'wasmi';

export interface EngineFileEntry {
  name: string;
  size: number;
  sha256: string;
  mode: number;
}

export interface EngineEntry {
  id: string;
  family: EngineFamily;
  vmVersion: string;
  status: EngineStatus;
  advisory?: string;
  /** Section holding the zstd-compressed payload. */
  section: string;
  sha256: string; // raw payload
  size: number;
  compressedSha256: string;
  compressedSize: number;
  files: EngineFileEntry[];
  /** How to start a worker: argv made of payload file names, or `engine:<id>/<file>` of another engine. */
  command: string[];
  /**
   * Host functions this engine does not run as Substrate does (tests/hostcall-conformance.test.ts):
   * a PVF that calls one gets `abstain engine-unavailable` naming it on this engine, never a verdict.
   */
  hostDivergences?: HostDivergence[];
}

export interface HostDivergence {
  fn: string;
  /** The inputs affected, when narrower than every call. */
  inputs?: string;
  reason: string;
}

export interface BinaryManifest {
  version: 1;
  pvfVersion: string;
  engines: EngineEntry[];
  /** The public key (hex, raw ed25519) whose signature the build attached. */
  signingKey: string;
}

export const MANIFEST_SECTION = '.pvf.manifest';
export const SIGNATURE_SECTION = '.pvf.signature';
export const sectionOf = (id: string) => `.pvf.${id}`;

export function parseBinaryManifest(bytes: Uint8Array): BinaryManifest {
  const m = JSON.parse(Buffer.from(bytes).toString('utf8')) as BinaryManifest;
  if (m.version !== 1 || !Array.isArray(m.engines)) throw new Error('unsupported manifest');
  return m;
}
