/**
 * The hashers of the Substrate host API (sp_io::hashing). blake2, keccak and sha2 come from
 * @noble/hashes; twox (xxHash64 with seeds 0, 1, 2, 3 concatenated little-endian) from
 * @polkadot-api/substrate-bindings' h64.
 *
 * blake2 and twox, the hashes a runtime calls thousands of times per block, also have Wasm-compiled
 * implementations (hash-wasm), used once `initFastHashing()` has completed: in a fresh job thread
 * the JavaScript hashers run unoptimised, about 7x slower. Both give the same bytes
 * (tests/hashing.test.ts compares them on many inputs).
 */
import { blake2b } from '@noble/hashes/blake2.js';
import { createBLAKE2b, createXXHash64, type IHasher } from 'hash-wasm';
import { keccak_256, keccak_512 } from '@noble/hashes/sha3.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { h64 } from '@polkadot-api/substrate-bindings';

let fast: { blake2_128: IHasher; blake2_256: IHasher; xxhash64: IHasher[] } | undefined;
let loading: Promise<void> | undefined;

/** Load the Wasm-compiled hashers (once per thread). A failure is thrown: it is ours, never the PVF's. */
export function initFastHashing(): Promise<void> {
  loading ??= Promise.all([createBLAKE2b(128), createBLAKE2b(256), ...[0, 1, 2, 3].map((seed) => createXXHash64(seed, 0))]).then(([b128, b256, ...xx]) => {
    fast = { blake2_128: b128, blake2_256: b256, xxhash64: xx };
  });
  return loading;
}

function digest(h: IHasher, data: Uint8Array): Uint8Array {
  h.init();
  h.update(data);
  return h.digest('binary');
}

/** The JavaScript implementations, whatever initFastHashing did (for the comparison tests). */
export const reference = {
  blake2_128: (data: Uint8Array): Uint8Array => blake2b(data, { dkLen: 16 }),
  blake2_256: (data: Uint8Array): Uint8Array => blake2b(data, { dkLen: 32 }),
  twox: (data: Uint8Array, rounds: number): Uint8Array => {
    const out = new Uint8Array(rounds * 8);
    const view = new DataView(out.buffer);
    for (let seed = 0; seed < rounds; seed++) view.setBigUint64(seed * 8, h64(data, BigInt(seed)), true);
    return out;
  },
};

export function blake2_128(data: Uint8Array): Uint8Array {
  return fast ? digest(fast.blake2_128, data) : reference.blake2_128(data);
}
export function blake2_256(data: Uint8Array): Uint8Array {
  return fast ? digest(fast.blake2_256, data) : reference.blake2_256(data);
}
export function keccak256(data: Uint8Array): Uint8Array {
  return keccak_256(data);
}
export function keccak512(data: Uint8Array): Uint8Array {
  return keccak_512(data);
}
export function sha2_256(data: Uint8Array): Uint8Array {
  return sha256(data);
}

/** xxHash64 of `data` under seeds 0..rounds-1, each written as u64 little-endian. */
function twox(data: Uint8Array, rounds: number): Uint8Array {
  if (!fast) return reference.twox(data, rounds);
  const out = new Uint8Array(rounds * 8);
  for (let seed = 0; seed < rounds; seed++) {
    // hash-wasm gives the u64 big-endian (its canonical form); Substrate writes it little-endian.
    out.set(digest(fast.xxhash64[seed], data).reverse(), seed * 8);
  }
  return out;
}
export function twox_64(data: Uint8Array): Uint8Array {
  return twox(data, 1);
}
export function twox_128(data: Uint8Array): Uint8Array {
  return twox(data, 2);
}
export function twox_256(data: Uint8Array): Uint8Array {
  return twox(data, 4);
}
