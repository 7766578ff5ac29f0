/** sp_io::trie host functions over engines/v8/host/trie.ts. */
import { createDecoder } from 'scale-ts';
import { bytesDec, decodePrefix, vecDec, ScaleError } from '../../../core/primitives/scale.ts';
import { orderedTrieRoot, trieRoot, verifyProof, type StateVersion, type TrieHasher } from './trie.ts';
import { PvfTrap, type HostFunction, type HostFunctionTable, type HostState } from './host.ts';

const pairDec = createDecoder((c) => [bytesDec(c), bytesDec(c)] as const);
const pairsDec = vecDec(pairDec, { minElemSize: 2, what: 'trie input' });
const valuesDec = vecDec(bytesDec, { what: 'trie input' });

/** Arguments are decoded with `Decode::decode`: trailing bytes are ignored; malformed input traps. */
function decodeArg<T>(dec: (b: Uint8Array) => T, bytes: Uint8Array, what: string): T {
  try {
    return decodePrefix(createDecoder(dec), bytes).value;
  } catch (e) {
    if (e instanceof ScaleError) throw new PvfTrap(`could not SCALE-decode ${what}: ${e.message}`);
    throw e;
  }
}

/** StateVersion crosses the FFI as u8 (truncated): 0 or 1, anything else traps. */
function stateVersion(v: number): StateVersion {
  const b = v & 0xff;
  if (b === 0 || b === 1) return b;
  throw new PvfTrap(`invalid state version ${b}`);
}

function root(hasher: TrieHasher, ordered: boolean, versioned: boolean): HostFunction {
  const compute = (h: HostState, input: bigint, version: StateVersion): number => {
    const bytes = h.readSpan(input);
    const hash = ordered
      ? orderedTrieRoot(decodeArg(valuesDec, bytes, 'Vec<Vec<u8>>'), version, hasher)
      : trieRoot(decodeArg(pairsDec, bytes, 'Vec<(Vec<u8>, Vec<u8>)>'), version, hasher);
    return h.allocWrite(hash);
  };
  return versioned
    ? { sig: 'i64,i32->i32', make: (h) => (input: bigint, v: number) => compute(h, input, stateVersion(v)) }
    : { sig: 'i64->i32', make: (h) => (input: bigint) => compute(h, input, 0) };
}

function verify(hasher: TrieHasher, versioned: boolean): HostFunction {
  const check = (h: HostState, rootPtr: number, proof: bigint, key: bigint, value: bigint, version: StateVersion): number => {
    const r = h.read(rootPtr >>> 0, 32);
    const nodes = decodeArg(valuesDec, h.readSpan(proof), 'Vec<Vec<u8>>');
    return verifyProof(r, nodes, h.readSpan(key), h.readSpan(value), version, hasher) ? 1 : 0;
  };
  return versioned
    ? {
        sig: 'i32,i64,i64,i64,i32->i32',
        make: (h) => (r: number, p: bigint, k: bigint, v: bigint, sv: number) => check(h, r, p, k, v, stateVersion(sv)),
      }
    : { sig: 'i32,i64,i64,i64->i32', make: (h) => (r: number, p: bigint, k: bigint, v: bigint) => check(h, r, p, k, v, 0) };
}

export const TRIE_FUNCTIONS: HostFunctionTable = {};
for (const hasher of ['blake2_256', 'keccak_256'] as const) {
  TRIE_FUNCTIONS[`ext_trie_${hasher}_root_version_1`] = root(hasher, false, false);
  TRIE_FUNCTIONS[`ext_trie_${hasher}_root_version_2`] = root(hasher, false, true);
  TRIE_FUNCTIONS[`ext_trie_${hasher}_ordered_root_version_1`] = root(hasher, true, false);
  TRIE_FUNCTIONS[`ext_trie_${hasher}_ordered_root_version_2`] = root(hasher, true, true);
  TRIE_FUNCTIONS[`ext_trie_${hasher}_verify_proof_version_1`] = verify(hasher, false);
  TRIE_FUNCTIONS[`ext_trie_${hasher}_verify_proof_version_2`] = verify(hasher, true);
}
