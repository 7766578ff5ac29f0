/**
 * The hashers of the Substrate host API (sp_io::hashing). blake2, keccak and sha2 come from
 * @noble/hashes; twox (xxHash64 with seeds 0, 1, 2, 3 concatenated little-endian) from
 * @polkadot-api/substrate-bindings' h64.
 */
import { blake2b } from '@noble/hashes/blake2.js';
import { keccak_256, keccak_512 } from '@noble/hashes/sha3.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { h64 } from '@polkadot-api/substrate-bindings';

export function blake2_128(data: Uint8Array): Uint8Array {
  return blake2b(data, { dkLen: 16 });
}
export function blake2_256(data: Uint8Array): Uint8Array {
  return blake2b(data, { dkLen: 32 });
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
  const out = new Uint8Array(rounds * 8);
  const view = new DataView(out.buffer);
  for (let seed = 0; seed < rounds; seed++) view.setBigUint64(seed * 8, h64(data, BigInt(seed)), true);
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
