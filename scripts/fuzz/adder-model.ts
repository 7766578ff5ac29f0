/**
 * The fuzz campaign's oracle: an independent model of polkadot-sdk's adder test parachain
 * (polkadot/parachain/test-parachains/adder: src/lib.rs `execute`, src/wasm_validation.rs
 * `validate_block`), written from its source, not from the project's codecs:
 *   parent = HeadData::decode(parent_head)  {number u64, parent_hash [32], post_state [32]}
 *   block  = BlockData::decode(block_data)  {state u64, add u64}
 *   valid iff keccak256(state LE) == parent.post_state;
 *   new head = {number + 1 (wrapping), keccak256(parent_head bytes), keccak256((state + add) LE)}.
 * codec's Decode ignores trailing bytes, so the real adder accepts longer block data; its
 * `assert_eq!(parent_hash, parent_head.hash())` refuses a parent head with trailing bytes. The
 * project's own WAT adder wants exact sizes.
 */
import { keccak_256 as keccak256 } from '@noble/hashes/sha3.js';
import { concatBytes } from '../../core/primitives/bytes.ts';

/** Concatenation (the one helper taken from the project: it decides nothing). */
export const cat = concatBytes;

export function le(n: bigint, bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  for (let k = 0; k < bytes; k++) out[k] = Number((BigInt.asUintN(bytes * 8, n) >> BigInt(8 * k)) & 0xffn);
  return out;
}
const readLe = (b: Uint8Array, at: number, n: number) => {
  let v = 0n;
  for (let k = n - 1; k >= 0; k--) v = (v << 8n) | BigInt(b[at + k]);
  return v;
};

export interface AdderInputs {
  parentHead: Uint8Array;
  blockData: Uint8Array;
  relayParentNumber: number;
  /** The real adder decodes leniently (codec's Decode ignores trailing bytes); ours wants exact sizes. */
  strictLengths: boolean;
}

/** What the adder answers: its new head data, or undefined for a panic. */
export function adderModel(x: AdderInputs): Uint8Array | undefined {
  const { parentHead, blockData } = x;
  // The real adder decodes leniently but then asserts keccak256(parent_head bytes) ==
  // keccak256(HeadData.encode()) (lib.rs `execute`: `assert_eq!(parent_hash, parent_head.hash())`),
  // so a parent head with trailing bytes panics there too; trailing block data bytes are ignored.
  if (parentHead.length !== 72 || (x.strictLengths ? blockData.length !== 16 : blockData.length < 16)) return undefined;
  const number = readLe(parentHead, 0, 8);
  const postState = parentHead.subarray(40, 72);
  const state = readLe(blockData, 0, 8);
  const add = readLe(blockData, 8, 8);
  if (sha3(le(state, 8)) !== Buffer.from(postState).toString('hex')) return undefined;
  return cat([le(number + 1n, 8), keccak256(parentHead), keccak256(le(state + add, 8))]);
}
const sha3 = (b: Uint8Array) => Buffer.from(keccak256(b)).toString('hex');

