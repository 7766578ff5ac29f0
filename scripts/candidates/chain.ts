/**
 * Build parachain blocks #1..#n from a raw genesis by driving the runtime ourselves, and turn each
 * into a candidate: the PoV (ParachainBlockData with a proof of the whole parent state) and the
 * PersistedValidationData, plus what validation must return.
 */
import * as sr25519 from '@scure/sr25519';
import { Bytes, Vector, u32 } from 'scale-ts';
import { concatBytes } from '../../core/primitives/bytes.ts';
import { blake2_256 } from '../../core/primitives/hashing.ts';
import { parseHex } from '../../core/primitives/hex.ts';
import { bytesDec, decodePrefix, fixedBytesDec, vecDec } from '../../core/primitives/scale.ts';
import { emptyTrieRoot, trieNodes, trieRoot, type StateVersion } from '../../engines/v8/host/trie.ts';
import { encodePersistedValidationData, type PersistedValidationData } from '../../core/candidate/codecs.ts';
import { Storage, callRuntime } from './runtime.ts';
import { decodeHeader, encodeHeader, headerHash, u64le, type Header } from './header.ts';
import { relayState } from './relay.ts';

const bytes = Bytes.enc();

/** sr25519 mini-secret seeds of the well-known dev accounts (//Alice, //Bob). */
export const DEV_SEEDS: Record<string, string> = {
  alice: '0xe5be9a5092b81bca64be81d212e7f2f9eba183bb7a90954f7b76361f6edb5c0a',
  bob: '0x398f0c28f98885e046333d4a41c19cee4c37368a9832c6502f6cfd182e2aef89',
};

export type ProofLayout = 'compact' | 'storage';

export interface ChainConfig {
  name: string;
  para: number;
  genesis: Record<string, string>;
  stateVersion: StateVersion;
  /** Aura with a timestamp inherent (Asset Hub) or neither (Shell). */
  aura?: { slotDurationMs: number; firstSlot: bigint };
  /** How ParachainBlockData carries the parent state proof. */
  proof: ProofLayout;
  encodeProof: (nodes: Uint8Array[], root: Uint8Array) => Uint8Array;
}

export interface BuiltCandidate {
  number: number;
  header: Header;
  headerBytes: Uint8Array;
  hash: Uint8Array;
  extrinsics: Uint8Array[];
  blockData: Uint8Array;
  pvd: PersistedValidationData;
  finalizeRootMatched: boolean;
}

/** InherentData: BTreeMap<[u8; 8], Vec<u8>>, i.e. a vector of (id, encoded value) sorted by id. */
function inherentData(items: Array<[string, Uint8Array]>): Uint8Array {
  const sorted = [...items].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Vector.enc((x: Uint8Array) => x)(sorted.map(([id, v]) => concatBytes([new TextEncoder().encode(id), bytes(v)])));
}

function decodeExtrinsics(b: Uint8Array): Uint8Array[] {
  return decodePrefix(vecDec(bytesDec, { what: 'extrinsics' }), b).value;
}

/** twox128("Aura") ++ twox128("Authorities"). */
const AURA_AUTHORITIES_KEY = '0x57f8dc2f5ab09467896f47300f0424385e0621c4869aa60c02be9adcc98a0d1d';

export function genesisHeader(state: Storage, version: StateVersion): Header {
  return {
    parentHash: new Uint8Array(32),
    number: 0,
    stateRoot: trieRoot(state.entries(), version, 'blake2_256'),
    extrinsicsRoot: emptyTrieRoot('blake2_256'),
    digest: [],
  };
}

export async function buildChain(cfg: ChainConfig, count: number, log: (s: string) => void = () => {}): Promise<BuiltCandidate[]> {
  let state = Storage.fromRaw(cfg.genesis);
  const code = state.get('0x3a636f6465');
  if (!code) throw new Error(`${cfg.name}: genesis has no :code`);
  let parent = genesisHeader(state, cfg.stateVersion);
  const authorities = cfg.aura ? decodePrefix(vecDec(fixedBytesDec(32), { minElemSize: 32, what: 'Aura authorities' }), state.get(AURA_AUTHORITIES_KEY) ?? new Uint8Array([0])).value : [];
  const secrets = Object.values(DEV_SEEDS).map((s) => sr25519.secretFromSeed(parseHex(s)));
  const out: BuiltCandidate[] = [];
  for (let n = 1; n <= count; n++) {
    const parentState = state.clone();
    const parentBytes = encodeHeader(parent);
    const parentHash = blake2_256(parentBytes);
    const relayParentNumber = 1000 + 2 * n;
    const slot = cfg.aura ? cfg.aura.firstSlot + BigInt(n) : 0n;
    const relaySlot = cfg.aura ? (slot * BigInt(cfg.aura.slotDurationMs)) / 6000n : BigInt(n);
    const relay = relayState({ para: cfg.para, relaySlot, parentHead: parentBytes });
    const pvd: PersistedValidationData = {
      parentHead: parentBytes,
      relayParentNumber,
      relayParentStorageRoot: relay.root,
      maxPovSize: 5 * 1024 * 1024,
    };
    const relayProof = [...relay.proof].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    const parachainInherent = concatBytes([
      encodePersistedValidationData(pvd),
      Vector.enc(bytes)(relayProof),
      Vector.enc(bytes)([]), // downward_messages
      Vector.enc(bytes)([]), // horizontal_messages (an empty map)
    ]);
    const inherents: Array<[string, Uint8Array]> = [['sysi1337', parachainInherent]];
    const digest: Header['digest'] = [];
    if (cfg.aura) {
      inherents.push(['timstap0', u64le(slot * BigInt(cfg.aura.slotDurationMs))]);
      digest.push({ kind: 'PreRuntime', engine: 'aura', data: u64le(slot) });
    }
    const draft: Header = { parentHash, number: n, stateRoot: new Uint8Array(32), extrinsicsRoot: new Uint8Array(32), digest };
    await callRuntime(code, state, 'Core_initialize_block', [encodeHeader(draft)]);
    const extrinsics = decodeExtrinsics(await callRuntime(code, state, 'BlockBuilder_inherent_extrinsics', [inherentData(inherents)]));
    for (const ext of extrinsics) {
      const r = await callRuntime(code, state, 'BlockBuilder_apply_extrinsic', [bytes(ext)]);
      if (r[0] !== 0 || r[1] !== 0) throw new Error(`${cfg.name} #${n}: an inherent failed to apply: 0x${Buffer.from(r).toString('hex')}`);
    }
    const header = decodeHeader(await callRuntime(code, state, 'BlockBuilder_finalize_block'));
    const realRoot = trieRoot(state.entries(), cfg.stateVersion, 'blake2_256');
    const finalizeRootMatched = Buffer.compare(Buffer.from(realRoot), Buffer.from(header.stateRoot)) === 0;
    header.stateRoot = realRoot;
    if (cfg.aura) {
      const author = authorities[Number(slot % BigInt(authorities.length))];
      const secret = secrets.find((s) => Buffer.compare(Buffer.from(sr25519.getPublicKey(s)), Buffer.from(author)) === 0);
      if (!secret) throw new Error(`${cfg.name} #${n}: no dev key for the slot author`);
      const preHash = headerHash(header);
      const sig = sr25519.sign(secret, preHash, blake2_256(concatBytes([preHash, u32.enc(n)])));
      header.digest.push({ kind: 'Seal', engine: 'aura', data: sig });
    }
    const headerBytes = encodeHeader(header);
    const parentRoot = parent.stateRoot;
    const blockData = concatBytes([headerBytes, Vector.enc(bytes)(extrinsics), cfg.encodeProof(proofNodes(parentState, cfg.stateVersion), parentRoot)]);
    log(`${cfg.name} #${n}: ${extrinsics.length} extrinsics, PoV block data ${blockData.length} bytes, finalize root ${finalizeRootMatched ? 'matched' : 'differed (replaced)'}`);
    out.push({ number: n, header, headerBytes, hash: blake2_256(headerBytes), extrinsics, blockData, pvd, finalizeRootMatched });
    parent = header;
  }
  return out;
}

function proofNodes(state: Storage, version: StateVersion): Uint8Array[] {
  return trieNodes(state.entries(), version, 'blake2_256');
}
