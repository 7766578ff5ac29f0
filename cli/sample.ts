/**
 * The project's own PVFs: embedded by the build (the sample and the smoke vectors), assembled
 * from their WAT sources in tests/pvfs when running from source.
 */
import { fileURLToPath } from 'node:url';
import { HOST_CALL_PREFIX, hostCallSpec, hostCallWat } from '../core/corpus/hostcall.ts';

declare const __PVF_SAMPLE_WASM_BASE64__: string | undefined;
declare const __PVF_TEST_PVFS__: Record<string, string> | undefined;

async function fromSource(name: string): Promise<Uint8Array> {
  const { assembleWat, assembleWatFile } = await import('../build/wat.ts');
  if (name.startsWith(HOST_CALL_PREFIX)) return assembleWat(hostCallWat(hostCallSpec(name.slice(HOST_CALL_PREFIX.length))));
  return assembleWatFile(fileURLToPath(new URL(`../tests/pvfs/${name}.wat`, import.meta.url)));
}

export async function sampleCode(): Promise<Uint8Array> {
  if (typeof __PVF_SAMPLE_WASM_BASE64__ === 'string') return new Uint8Array(Buffer.from(__PVF_SAMPLE_WASM_BASE64__, 'base64'));
  return fromSource('adder');
}

/** One of the project's test PVFs by name under tests/pvfs (e.g. "hostile/unreachable"), or a host-call PVF ("hostcall/<function>"). */
export async function testPvf(name: string): Promise<Uint8Array> {
  if (typeof __PVF_TEST_PVFS__ === 'object' && __PVF_TEST_PVFS__ !== null) {
    const b64 = __PVF_TEST_PVFS__[name];
    if (b64 === undefined) throw new Error(`no built-in PVF named ${name}`);
    return new Uint8Array(Buffer.from(b64, 'base64'));
  }
  return fromSource(name);
}
