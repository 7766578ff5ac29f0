/** Build both chains' candidates and their negative variants into a corpus folder. */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodePovFile, type PersistedValidationData } from '../../core/candidate/codecs.ts';
import { blake2_256 } from '../../core/primitives/hashing.ts';
import { toHex } from '../../core/primitives/hex.ts';
import { buildChain, type BuiltCandidate, type ChainConfig } from './chain.ts';
import { writeAtomic, writeCandidateFolder, type ExpectedFile } from '../../core/corpus/format.ts';
import { encodeCompactProof } from './proof.ts';
import { bytesDec, decodePrefix, vecDec } from '../../core/primitives/scale.ts';
import { Bytes, Vector } from 'scale-ts';
import { concatBytes } from '../../core/primitives/bytes.ts';
import { decodeHeader } from './header.ts';
import { encodeHeader } from './header.ts';
import { createDecoder } from 'scale-ts';

interface ChainSource {
  name: string;
  spec: string; // path under shared fixtures
  para: number;
  aura?: ChainConfig['aura'];
}

/** The two chains and their era's choices (both decode the single-block v0 ParachainBlockData). */
const CHAINS: ChainSource[] = [
  { name: 'statemine-1000000', spec: 'chainspecs/asset-hub-kusama-local.json', para: 1000, aura: { slotDurationMs: 12000, firstSlot: 140_000_000n } },
  { name: 'shell-2', spec: 'pvf/shell.raw-chainspec.json', para: 1000 },
];

export interface CorpusSummary {
  out: string;
  layout: string;
  candidates: Array<{ name: string; verdict: string; povBytes: number; blockHash?: string }>;
}

/** Split ParachainBlockData v0 into (header bytes, extrinsics, proof nodes). */
function splitBlockData(b: Uint8Array): { header: Uint8Array; extrinsics: Uint8Array[]; proof: Uint8Array[] } {
  const header = encodeHeader(decodeHeader(b));
  const rest = b.subarray(header.length);
  const dec = createDecoder((c) => ({ extrinsics: vecDec(bytesDec)(c), proof: vecDec(bytesDec)(c) }));
  const { extrinsics, proof } = decodePrefix(dec, rest).value;
  return { header, extrinsics, proof };
}

const bytesVec = Vector.enc(Bytes.enc());
function joinBlockData(p: { header: Uint8Array; extrinsics: Uint8Array[]; proof: Uint8Array[] }): Uint8Array {
  return concatBytes([p.header, bytesVec(p.extrinsics), bytesVec(p.proof)]);
}

interface Negative {
  suffix: string;
  note: string;
  /** The runtime's own panic message (a substring), per chain; or the host's reason. */
  expect: (chain: string) => { panic?: string; reason?: string };
  make: (c: BuiltCandidate) => { blockData: Uint8Array; pvd: PersistedValidationData };
}

const NEGATIVES: Negative[] = [
  {
    suffix: 'tampered-extrinsic',
    note: 'one bit flipped inside the last extrinsic, which still decodes (the block no longer matches its header)',
    expect: (chain) => ({ panic: chain.startsWith('shell') ? "Parent head doesn't match" : 'Timestamp slot must match `CurrentSlot`' }),
    make: (c) => {
      const p = splitBlockData(c.blockData);
      const last = p.extrinsics[p.extrinsics.length - 1].slice();
      // Byte 5 is past the version, pallet and call bytes: a value byte of the timestamp's
      // compact (statemine) or of the parent head in the validation data (shell).
      last[5] ^= 0x01;
      p.extrinsics[p.extrinsics.length - 1] = last;
      return { blockData: joinBlockData(p), pvd: c.pvd };
    },
  },
  {
    suffix: 'truncated-proof',
    note: 'the last node of the compact parent-state proof removed',
    expect: () => ({ panic: 'Compact proof decoding failure' }),
    make: (c) => {
      const p = splitBlockData(c.blockData);
      p.proof = p.proof.slice(0, -1);
      return { blockData: joinBlockData(p), pvd: c.pvd };
    },
  },
  {
    suffix: 'wrong-parent-head',
    note: 'PVD parent_head is a different header (its state root changed)',
    expect: () => ({ panic: 'Invalid parent hash' }),
    make: (c) => {
      const head = c.pvd.parentHead.slice();
      head[40] ^= 0xff; // inside the state root, after parent hash (32) and the compact number
      return { blockData: c.blockData, pvd: { ...c.pvd, parentHead: head } };
    },
  },
  {
    suffix: 'wrong-relay-root',
    note: 'PVD relay_parent_storage_root does not match the relay proof',
    expect: () => ({ panic: "Relay parent storage root doesn't match" }),
    make: (c) => {
      const root = c.pvd.relayParentStorageRoot.slice();
      root[0] ^= 0xff;
      return { blockData: c.blockData, pvd: { ...c.pvd, relayParentStorageRoot: root } };
    },
  },
  {
    suffix: 'oversize-pov',
    note: 'max_pov_size set to the block data length, below the encoded PoV size (rejected before execution)',
    expect: () => ({ reason: 'params-too-large' }),
    make: (c) => ({ blockData: c.blockData, pvd: { ...c.pvd, maxPovSize: c.blockData.length } }),
  },
];

/** Build the corpus; `only`: one chain's candidates (a name of CHAINS), for tests that need no more. */
export async function buildCorpus(opts: { out: string; shared: string; blocks: number; log: (s: string) => void; only?: string }): Promise<CorpusSummary> {
  const summary: CorpusSummary = { out: opts.out, layout: 'ParachainBlockData v0: (header, extrinsics, CompactProof of the whole parent state)', candidates: [] };
  for (const chain of CHAINS.filter((c) => opts.only === undefined || c.name === opts.only)) {
    const spec = JSON.parse(readFileSync(join(opts.shared, chain.spec), 'utf8')) as { genesis: { raw: { top: Record<string, string> } } };
    const genesis = spec.genesis.raw.top;
    const code = Buffer.from(genesis['0x3a636f6465'].slice(2), 'hex');
    const codeRef = `${chain.name}.wasm`;
    mkdirSync(opts.out, { recursive: true });
    writeAtomic(join(opts.out, codeRef), code);
    opts.log(`${chain.name}: building ${opts.blocks} blocks (writing ${summary.layout})`);
    const built = await buildChain(
      { name: chain.name, para: chain.para, genesis, stateVersion: 0, aura: chain.aura, proof: 'compact', encodeProof: encodeCompactProof },
      opts.blocks,
      opts.log,
    );
    for (const c of built) {
      const expected: ExpectedFile = { verdict: 'valid', headData: toHex(c.headerBytes), blockHash: toHex(c.hash), note: `${chain.name} block #${c.number}` };
      const name = `${chain.name}-block-${c.number}`;
      const pov = encodePovFile({ blockData: c.blockData }, c.pvd);
      writeCandidateFolder(opts.out, name, { codeRef, pov, expected }, 'replace');
      summary.candidates.push({ name, verdict: 'valid', povBytes: pov.length, blockHash: toHex(blake2_256(c.headerBytes)) });
    }
    const base = built[Math.min(1, built.length - 1)];
    for (const n of NEGATIVES) {
      const { blockData, pvd } = n.make(base);
      const name = `${chain.name}-block-${base.number}-${n.suffix}`;
      const pov = encodePovFile({ blockData }, pvd);
      const expected: ExpectedFile = { verdict: 'invalid', ...n.expect(chain.name), note: n.note };
      writeCandidateFolder(opts.out, name, { codeRef, pov, expected }, 'replace');
      summary.candidates.push({ name, verdict: 'invalid', povBytes: pov.length });
    }
  }
  return summary;
}
