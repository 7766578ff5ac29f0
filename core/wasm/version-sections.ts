/**
 * smoldot (the wasmi engine's host) reads a runtime's version from its `runtime_version` and
 * `runtime_apis` custom sections before it runs anything. Cumulus runtimes have them; test PVFs may
 * not. Custom sections carry no code and no data the module can see, so appending two of them
 * leaves the module's behaviour exactly as it was.
 */
import { Bytes, Tuple, Vector, str, u32, u8 } from 'scale-ts';
import { concatBytes, leb128 } from '../primitives/bytes.ts';
import { blake2b } from '@noble/hashes/blake2.js';
import { parseModule } from './wasm.ts';

const CORE_API = blake2b(new TextEncoder().encode('Core'), { dkLen: 8 });

export function customSection(name: string, payload: Uint8Array): Uint8Array {
  const nameBytes = new TextEncoder().encode(name);
  const body = concatBytes([leb128(nameBytes.length), nameBytes, payload]);
  return concatBytes([Uint8Array.of(0), leb128(body.length), body]);
}

/** The module with version sections appended when it has none; unchanged otherwise. */
export function withVersionSections(code: Uint8Array): Uint8Array {
  const info = parseModule(code);
  if (info.customSections.has('runtime_version')) return code;
  const apis = [[CORE_API, 4]] as Array<[Uint8Array, number]>;
  const version = concatBytes([
    str.enc('pvf-unversioned'),
    str.enc('pvf-unversioned'),
    u32.enc(0),
    u32.enc(0),
    u32.enc(0),
    Vector.enc(Tuple.enc(Bytes.enc(8), u32.enc))(apis),
    u32.enc(1), // transaction_version
    u8.enc(0), // state version
  ]);
  const apisSection = concatBytes(apis.map(([id, v]) => concatBytes([id, u32.enc(v)])));
  const extra = [customSection('runtime_version', version)];
  if (!info.customSections.has('runtime_apis')) extra.push(customSection('runtime_apis', apisSection));
  return concatBytes([code, ...extra]);
}
