/**
 * The built-in sample: the project's own adder PVF (tests/pvfs/adder.wat) and the parameters of
 * block 1 of its chain, computed from the adder rules (keccak via @noble/hashes).
 */
import { keccak256 } from '../primitives/hashing.ts';
import { encodeValidationParams } from './codecs.ts';

function u64le(n: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, n), true);
  return b;
}

/** Adder HeadData {number u64, parent_hash [32], post_state [32]}. */
export function adderHead(number: bigint, parentHash: Uint8Array, state: bigint): Uint8Array {
  const out = new Uint8Array(72);
  out.set(u64le(number), 0);
  out.set(parentHash, 8);
  out.set(keccak256(u64le(state)), 40);
  return out;
}

/** Adder BlockData {state u64, add u64}. */
export function adderBlock(state: bigint, add: bigint): Uint8Array {
  const out = new Uint8Array(16);
  out.set(u64le(state), 0);
  out.set(u64le(add), 8);
  return out;
}

/** ValidationParams for block 1 on top of the adder genesis (state 0, add 7), relay parent #1. */
export function sampleParams(): Uint8Array {
  return encodeValidationParams({
    parentHead: adderHead(0n, new Uint8Array(32), 0n),
    blockData: adderBlock(0n, 7n),
    relayParentNumber: 1,
    relayParentStorageRoot: new Uint8Array(32),
  });
}
