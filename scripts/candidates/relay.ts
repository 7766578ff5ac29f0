/**
 * A mock relay-chain state: the few relay storage entries a parachain's set_validation_data reads,
 * in a trie of their own, with the whole trie as the proof. Its root is the candidate's
 * relay_parent_storage_root.
 */
import { u32 } from 'scale-ts';
import { concatBytes } from '../../core/primitives/bytes.ts';
import { twox_128, twox_64 } from '../../core/primitives/hashing.ts';
import { trieNodes, trieRoot } from '../../engines/v8/host/trie.ts';
import { Bytes } from 'scale-ts';
import { u64le } from './header.ts';

const utf8 = (s: string) => new TextEncoder().encode(s);
/** twox128(pallet) ++ twox128(item): a storage item's key prefix. */
export const storageKey = (pallet: string, item: string): Uint8Array => concatBytes([twox_128(utf8(pallet)), twox_128(utf8(item))]);
export const twox64Concat = (k: Uint8Array): Uint8Array => concatBytes([twox_64(k), k]);

/** polkadot-primitives well_known_keys. */
export const ACTIVE_CONFIG = storageKey('Configuration', 'ActiveConfig');
export const CURRENT_SLOT = storageKey('Babe', 'CurrentSlot');
export const paraHeadKey = (para: number) => concatBytes([storageKey('Paras', 'Heads'), twox64Concat(u32.enc(para))]);

/**
 * AbridgedHostConfiguration with the async-backing fields at the end. Older runtimes decode a
 * prefix of it (Decode::decode ignores the rest).
 */
export function abridgedHostConfiguration(): Uint8Array {
  const fields = [
    3 * 1024 * 1024, // max_code_size
    32 * 1024, // max_head_data_size
    8, // max_upward_queue_count
    1024 * 1024, // max_upward_queue_size
    65531, // max_upward_message_size
    16, // max_upward_message_num_per_candidate
    10, // hrmp_max_message_num_per_candidate
    20, // validation_upgrade_cooldown / frequency
    10, // validation_upgrade_delay
    1, // async_backing_params.max_candidate_depth
    1, // async_backing_params.allowed_ancestry_len
  ];
  return concatBytes(fields.map((f) => u32.enc(f)));
}

export interface RelayState {
  root: Uint8Array;
  proof: Uint8Array[];
}

export function relayState(opts: { para: number; relaySlot: bigint; parentHead: Uint8Array }): RelayState {
  const entries: Array<[Uint8Array, Uint8Array]> = [
    [ACTIVE_CONFIG, abridgedHostConfiguration()],
    [CURRENT_SLOT, u64le(opts.relaySlot)],
    [paraHeadKey(opts.para), Bytes.enc()(opts.parentHead)],
  ];
  // State version 0 (values inline): readers of every era can decode it; v1 readers accept inline values too.
  const root = trieRoot(entries, 0, 'blake2_256');
  const proof = trieNodes(entries, 0, 'blake2_256');
  return { root, proof };
}
