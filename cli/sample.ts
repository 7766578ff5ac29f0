/** The sample PVF: embedded by the build, assembled from its WAT source when running from source. */
import { fileURLToPath } from 'node:url';

declare const __PVF_SAMPLE_WASM_BASE64__: string | undefined;

export async function sampleCode(): Promise<Uint8Array> {
  if (typeof __PVF_SAMPLE_WASM_BASE64__ === 'string') return new Uint8Array(Buffer.from(__PVF_SAMPLE_WASM_BASE64__, 'base64'));
  const { assembleWatFile } = await import('../build/wat.ts');
  return assembleWatFile(fileURLToPath(new URL('../tests/pvfs/adder.wat', import.meta.url)));
}
