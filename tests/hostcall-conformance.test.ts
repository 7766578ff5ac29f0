/**
 * Host-API conformance on every engine. One host-call PVF per host function (core/corpus/hostcall.ts)
 * reads its arguments from the candidate's input, calls the function once and returns the output;
 * seeded vectors (lengths around hash block sizes, trie values around the 32-byte inline limit in
 * both state versions, duplicate and empty keys, trailing and undecodable input, ZIP-215 points,
 * high-s, recovery ids 0–3 and 27–30, r ≥ n) are judged on each engine and compared with an
 * independent model of Substrate (tests/support/host-models.ts). An engine either matches the model
 * or, for a host function its manifest entry lists as a known divergence, abstains by policy
 * (engine-unavailable naming the function): any other difference fails the suite.
 *
 * Upstream: sp-io (`crypto`, `hashing`, `trie`), sp-trie (node_codec.rs, node_header.rs, LayoutV0/V1),
 * trie-db (proof verification), sp-runtime-interface (arguments are SCALE-decoded with
 * `Decode::decode`, which ignores trailing bytes; an argument that does not decode traps).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ed25519 } from '@noble/curves/ed25519.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import * as sr25519 from '@scure/sr25519';
import { assembleWat } from '../build/wat.ts';
import { HOST_CALL_SPECS, hostCallInput, hostCallSpec, hostCallWat, type HostCallSpec } from '../core/corpus/hostcall.ts';
import { validateCandidate, type Engine } from '../core/candidate/validate.ts';
import { inProcessV8 } from '../engines/v8/index.ts';
import { PVF_HOST_FUNCTIONS } from '../engines/v8/host/functions.ts';
import { EngineStore } from '../engines/store/store.ts';
import { workerEngine, closeWorkers } from '../engines/worker-engine.ts';
import { BIN, SKIP_BIN } from './support/binary.ts';
import { SHARED, SKIP_SHARED } from './support/pvfs.ts';
import { CODE_BOMB_LIMIT, decompressOrInvalid, initZstd } from '../core/candidate/blob.ts';
import { parseModule } from '../core/wasm/wasm.ts';
import { xorshift } from './support/xorshift.ts';
import { HASHES, blake2_256, cat, ecdsaVerifyModel, ed25519Model, orderedPairs, proofOf, recoverModel, sr25519Model, trieModel, vecBytes, vecOf, type TrieHash } from './support/host-models.ts';

type Expect = { out: Uint8Array } | { trap: true };
interface Vector {
  fn: string;
  name: string;
  values: Array<Uint8Array | number>;
  expect: Expect;
}

const rnd = xorshift(0x5eed);
const bytes = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => rnd() & 0xff);
const u32le = (n: number) => Uint8Array.of(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff);
const out = (b: Uint8Array): Expect => ({ out: b });
const status = (n: number): Expect => ({ out: u32le(n) });
const TRAP: Expect = { trap: true };

function hashVectors(): Vector[] {
  const v: Vector[] = [];
  for (const fn of Object.keys(HASHES)) {
    for (const n of [0, 1, 3, 31, 32, 33, 63, 64, 65, 127, 128, 129, 135, 136, 137, 1000]) {
      const d = bytes(n);
      v.push({ fn, name: `${n} bytes`, values: [d], expect: out(HASHES[fn](d)) });
    }
  }
  return v;
}

const pairsInput = (pairs: Array<[Uint8Array, Uint8Array]>) => vecOf(pairs.map(([k, val]) => cat([vecBytes(k), vecBytes(val)])));
const te = (s: string) => new TextEncoder().encode(s);

function trieCases(): Array<{ name: string; pairs: Array<[Uint8Array, Uint8Array]> }> {
  const many: Array<[Uint8Array, Uint8Array]> = [];
  for (let k = 0; k < 24; k++) many.push([cat([Uint8Array.of(0x12, k % 3), bytes(k % 5)]), bytes((k * 7) % 50)]);
  return [
    { name: 'no entries', pairs: [] },
    { name: 'one entry', pairs: [[te('key'), te('value')]] },
    { name: 'two entries', pairs: [[te('alpha'), te('1')], [te('beta'), te('2')]] },
    { name: 'an empty key', pairs: [[new Uint8Array(0), te('root value')], [te('a'), te('x')]] },
    { name: 'a duplicate key (the last wins)', pairs: [[te('dup'), te('first')], [te('other'), te('o')], [te('dup'), te('last')]] },
    { name: 'a key that is a prefix of another (a branch with a value)', pairs: [[te('ab'), te('short')], [te('abc'), te('long')], [te('abd'), te('longer')]] },
    ...[31, 32, 33, 34, 100].map((n) => ({ name: `values of ${n} bytes`, pairs: [[te('k1'), bytes(n)], [te('k2'), bytes(n)], [te('k'), bytes(n)]] as Array<[Uint8Array, Uint8Array]> })),
    { name: '24 entries with shared prefixes', pairs: many },
  ];
}

function trieVectors(): Vector[] {
  const v: Vector[] = [];
  for (const h of ['blake2', 'keccak'] as TrieHash[]) {
    for (const c of trieCases()) {
      const input = pairsInput(c.pairs);
      v.push({ fn: `ext_trie_${h}_256_root_version_1`, name: c.name, values: [input], expect: out(trieModel(c.pairs, 0, h).root) });
      for (const version of [0, 1] as const) v.push({ fn: `ext_trie_${h}_256_root_version_2`, name: `${c.name}, state version ${version}`, values: [input, version], expect: out(trieModel(c.pairs, version, h).root) });
      const values = c.pairs.map(([, val]) => val);
      const ordered = vecOf(values.map(vecBytes));
      v.push({ fn: `ext_trie_${h}_256_ordered_root_version_1`, name: c.name, values: [ordered], expect: out(trieModel(orderedPairs(values), 0, h).root) });
      for (const version of [0, 1] as const) v.push({ fn: `ext_trie_${h}_256_ordered_root_version_2`, name: `${c.name}, state version ${version}`, values: [ordered, version], expect: out(trieModel(orderedPairs(values), version, h).root) });
    }
    const two: Array<[Uint8Array, Uint8Array]> = [[te('alpha'), te('1')], [te('beta'), te('2')]];
    // sp-runtime-interface decodes with Decode::decode: bytes after the value are ignored.
    v.push({ fn: `ext_trie_${h}_256_root_version_1`, name: 'trailing bytes after the SCALE input', values: [cat([pairsInput(two), Uint8Array.of(1, 2, 3)])], expect: out(trieModel(two, 0, h).root) });
    v.push({ fn: `ext_trie_${h}_256_root_version_1`, name: 'an input that does not decode', values: [Uint8Array.of(0x08, 0x04)], expect: TRAP });
    v.push({ fn: `ext_trie_${h}_256_root_version_2`, name: 'state version 2 (there is none)', values: [pairsInput(two), 2], expect: TRAP });
    const values = [te('one'), bytes(40)];
    for (const fn of [`ext_trie_${h}_256_ordered_root_version_1`, `ext_trie_${h}_256_ordered_root_version_2`]) {
      const extra = fn.endsWith('_2') ? [0] : [];
      v.push({ fn, name: 'trailing bytes after the SCALE input', values: [cat([vecOf(values.map(vecBytes)), Uint8Array.of(9, 9)]), ...extra], expect: out(trieModel(orderedPairs(values), 0, h).root) });
      v.push({ fn, name: 'an input that does not decode', values: [Uint8Array.of(0x0c, 0x08, 0x01), ...extra], expect: TRAP });
    }

    // Proofs: a minimal proof of each key of a trie, the right value, a wrong one, an absent key.
    for (const version of [0, 1] as const) {
      const pairs: Array<[Uint8Array, Uint8Array]> = [[te('alpha'), bytes(40)], [te('alphabet'), te('short')], [te('beta'), bytes(20)], [te('gamma'), bytes(33)], ...Array.from({ length: 12 }, (_, k) => [cat([te('delta'), Uint8Array.of(k)]), bytes(10 + k * 3)] as [Uint8Array, Uint8Array])];
      const model = trieModel(pairs, version, h);
      const fns = version === 0 ? [`ext_trie_${h}_256_verify_proof_version_1`, `ext_trie_${h}_256_verify_proof_version_2`] : [`ext_trie_${h}_256_verify_proof_version_2`];
      for (const fn of fns) {
        const args = (key: Uint8Array, value: Uint8Array, proof: Uint8Array[]) => (fn.endsWith('_2') ? [model.root, vecOf(proof.map(vecBytes)), key, value, version] : [model.root, vecOf(proof.map(vecBytes)), key, value]);
        for (const [key, value] of [pairs[0], pairs[2], pairs[3], pairs[9]]) {
          v.push({ fn, name: `state version ${version}: key ${Buffer.from(key).toString('hex')} with its value`, values: args(key, value, proofOf(model, key)), expect: status(1) });
          v.push({ fn, name: `state version ${version}: key ${Buffer.from(key).toString('hex')} with another value`, values: args(key, bytes(value.length), proofOf(model, key)), expect: status(0) });
        }
        v.push({ fn, name: `state version ${version}: a proof that does not decode`, values: [...args(pairs[0][0], pairs[0][1], []).slice(0, 1), Uint8Array.of(0x14, 0x00), ...args(pairs[0][0], pairs[0][1], []).slice(2)], expect: TRAP });
      }
    }
  }
  return v;
}

function cryptoVectors(): Vector[] {
  const v: Vector[] = [];
  // ed25519 (ed25519-zebra, ZIP-215).
  const edKey = new Uint8Array(32).fill(3);
  const edPub = ed25519.getPublicKey(edKey);
  const msg = te('a message for the host');
  const edSig = ed25519.sign(msg, edKey);
  const L = Uint8Array.from(Buffer.from('edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010', 'hex'));
  const edCases: Array<[string, Uint8Array, Uint8Array, Uint8Array]> = [
    ['a valid signature', edSig, msg, edPub],
    ['another message', edSig, te('another'), edPub],
    ['small-order key and R, s = 0 (ZIP-215 accepts)', new Uint8Array(64), msg, new Uint8Array(32)],
    ['s = L (not canonical)', cat([edSig.subarray(0, 32), L]), msg, edPub],
  ];
  for (const [name, sig, m, pub] of edCases) v.push({ fn: 'ext_crypto_ed25519_verify_version_1', name, values: [sig, m, pub], expect: status(ed25519Model(sig, m, pub)) });

  // sr25519 in the current format (both versions agree there).
  const srSecret = sr25519.secretFromSeed(new Uint8Array(32).fill(5));
  const srPub = sr25519.getPublicKey(srSecret);
  const srSig = sr25519.sign(srSecret, msg, new Uint8Array(32).fill(1));
  const unmarked = srSig.slice();
  unmarked[63] &= 0x7f;
  for (const fn of ['ext_crypto_sr25519_verify_version_1', 'ext_crypto_sr25519_verify_version_2']) {
    v.push({ fn, name: 'a valid signature', values: [srSig, msg, srPub], expect: status(sr25519Model(srSig, msg, srPub)) });
    v.push({ fn, name: 'another message', values: [srSig, te('x'), srPub], expect: status(0) });
  }
  v.push({ fn: 'ext_crypto_sr25519_verify_version_2', name: 'no schnorrkel marker', values: [unmarked, msg, srPub], expect: status(0) });

  // secp256k1.
  const sk = new Uint8Array(32).fill(7);
  const pub33 = secp256k1.getPublicKey(sk, true);
  const digest = blake2_256(msg);
  const rec = secp256k1.sign(digest, sk, { prehash: false, format: 'recovered' });
  const sig = (r: Uint8Array, s: Uint8Array, id: number) => cat([r, s, Uint8Array.of(id)]);
  const r = rec.subarray(1, 33);
  const s = rec.subarray(33, 65);
  const id = rec[0];
  const N = secp256k1.Point.CURVE().n;
  const be = (x: bigint) => Uint8Array.from(Buffer.from(x.toString(16).padStart(64, '0'), 'hex'));
  const highS = be(N - BigInt('0x' + Buffer.from(s).toString('hex')));
  const rPlusN = be(BigInt('0x' + Buffer.from(r).toString('hex')) + N < 1n << 256n ? BigInt('0x' + Buffer.from(r).toString('hex')) + N : N);
  const sigs: Array<[string, Uint8Array]> = [
    [`recovery id ${id}`, sig(r, s, id)],
    [`recovery id ${id + 27} (27–30)`, sig(r, s, id + 27)],
    [`the other parity, id ${id ^ 1}`, sig(r, s, id ^ 1)],
    ['high s with the other parity', sig(r, highS, id ^ 1)],
    ['recovery id 2 (x = r + n)', sig(r, s, 2)],
    ['recovery id 4 (bad v)', sig(r, s, 4)],
    ['recovery id 31 (bad v)', sig(r, s, 31)],
    ['r ≥ n, good v', sig(rPlusN, s, id)],
    ['r ≥ n and bad v', sig(rPlusN, s, 5)],
    ['s = n, good v', sig(r, be(N), id)],
    ['r = 0', sig(new Uint8Array(32), s, id)],
  ];
  for (const [name, sg] of sigs) {
    for (const [fn, version, compressed] of [
      ['ext_crypto_secp256k1_ecdsa_recover_version_1', 1, false],
      ['ext_crypto_secp256k1_ecdsa_recover_version_2', 2, false],
      ['ext_crypto_secp256k1_ecdsa_recover_compressed_version_1', 1, true],
      ['ext_crypto_secp256k1_ecdsa_recover_compressed_version_2', 2, true],
    ] as const) {
      v.push({ fn, name, values: [sg, digest], expect: out(recoverModel(sg, digest, version, compressed)) });
    }
    v.push({ fn: 'ext_crypto_ecdsa_verify_version_1', name, values: [sg, msg, pub33], expect: status(ecdsaVerifyModel(sg, digest, pub33, 1)) });
    v.push({ fn: 'ext_crypto_ecdsa_verify_version_2', name, values: [sg, msg, pub33], expect: status(ecdsaVerifyModel(sg, digest, pub33, 2)) });
    v.push({ fn: 'ext_crypto_ecdsa_verify_prehashed_version_1', name, values: [sg, digest, pub33], expect: status(ecdsaVerifyModel(sg, digest, pub33, 2)) });
  }
  return v;
}

/**
 * The allocator, logging, printing, runtime_version, the deprecated batch functions and the keystore
 * (docs/host-functions.md, docs/host-crypto.md §5–6).
 */
function miscVectors(): Vector[] {
  const v: Vector[] = [];
  const EMPTY = new Uint8Array(0);
  // Freeing-bump allocator from __heap_base = 1048576 (the host-call PVFs' own): the host's
  // allocation of the 4-byte input (an 8-byte block at 1048584), the PVF's 4-byte output cell
  // (1048600), then the call: 1048616 whatever the size, up to MAX_POSSIBLE_ALLOCATION (32 MiB).
  for (const n of [0, 1, 8, 9, 4096, 32 * 1024 * 1024]) v.push({ fn: 'ext_allocator_malloc_version_1', name: `${n} bytes`, values: [n], expect: status(1048616) });
  v.push({ fn: 'ext_allocator_malloc_version_1', name: '32 MiB + 1 (too large)', values: [32 * 1024 * 1024 + 1], expect: TRAP });
  v.push({ fn: 'ext_allocator_free_version_1', name: 'the block the host allocated for the input', values: [1048584], expect: out(EMPTY) });
  for (const [name, p] of [['pointer 0', 0], ['pointer 4 (no room for a header)', 4], ['inside a block (its header is not an occupied one)', 1048592], ['the last address', 0xffffffff]] as const) {
    v.push({ fn: 'ext_allocator_free_version_1', name, values: [p], expect: TRAP });
  }
  // Logging: the level crosses as a u8 (256 is 0), 5 and above trap; the target must be UTF-8, a
  // message that is not UTF-8 is dropped.
  for (const level of [0, 4, 256]) v.push({ fn: 'ext_logging_log_version_1', name: `level ${level}`, values: [level, te('runtime'), te('hello')], expect: out(EMPTY) });
  v.push({ fn: 'ext_logging_log_version_1', name: 'level 5', values: [5, te('runtime'), te('hello')], expect: TRAP });
  v.push({ fn: 'ext_logging_log_version_1', name: 'a target that is not UTF-8', values: [0, Uint8Array.of(0xff), te('hello')], expect: TRAP });
  v.push({ fn: 'ext_logging_log_version_1', name: 'a message that is not UTF-8', values: [0, te('runtime'), Uint8Array.of(0xc3, 0x28)], expect: out(EMPTY) });
  // The execute worker's log filter is the default, Error (1): a runtime branches on it.
  v.push({ fn: 'ext_logging_max_level_version_1', name: 'the pinned filter', values: [], expect: status(1) });
  v.push({ fn: 'ext_misc_print_num_version_1', name: 'a number', values: [123456789], expect: out(EMPTY) });
  v.push({ fn: 'ext_misc_print_utf8_version_1', name: 'text', values: [te('hello')], expect: out(EMPTY) });
  v.push({ fn: 'ext_misc_print_utf8_version_1', name: 'bytes that are not UTF-8', values: [Uint8Array.of(0xff, 0xfe)], expect: out(EMPTY) });
  v.push({ fn: 'ext_misc_print_hex_version_1', name: 'bytes', values: [bytes(40)], expect: out(EMPTY) });
  // runtime_version of code without a runtime_version section, or of no code at all: None.
  v.push({ fn: 'ext_misc_runtime_version_version_1', name: 'an empty module', values: [Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0)], expect: out(Uint8Array.of(0)) });
  v.push({ fn: 'ext_misc_runtime_version_version_1', name: 'bytes that are not Wasm', values: [te('not wasm')], expect: out(Uint8Array.of(0)) });
  // The deprecated batch functions without start_batch_verify: a plain verification (latest rules).
  const msg = te('batch');
  const edKey = new Uint8Array(32).fill(4);
  const edSig = ed25519.sign(msg, edKey);
  const edPub = ed25519.getPublicKey(edKey);
  v.push({ fn: 'ext_crypto_ed25519_batch_verify_version_1', name: 'no batch started, valid', values: [edSig, msg, edPub], expect: status(1) });
  v.push({ fn: 'ext_crypto_ed25519_batch_verify_version_1', name: 'no batch started, another message', values: [edSig, te('x'), edPub], expect: status(0) });
  const srSecret = sr25519.secretFromSeed(new Uint8Array(32).fill(6));
  const srSig = sr25519.sign(srSecret, msg, new Uint8Array(32).fill(2));
  v.push({ fn: 'ext_crypto_sr25519_batch_verify_version_1', name: 'no batch started, valid', values: [srSig, msg, sr25519.getPublicKey(srSecret)], expect: status(1) });
  const sk = new Uint8Array(32).fill(8);
  const rec = secp256k1.sign(blake2_256(msg), sk, { prehash: false, format: 'recovered' });
  const ecSig = cat([rec.subarray(1), rec.subarray(0, 1)]);
  v.push({ fn: 'ext_crypto_ecdsa_batch_verify_version_1', name: 'no batch started, valid', values: [ecSig, msg, secp256k1.getPublicKey(sk, true)], expect: status(1) });
  v.push({ fn: 'ext_crypto_start_batch_verify_version_1', name: 'start', values: [], expect: out(EMPTY) });
  v.push({ fn: 'ext_crypto_finish_batch_verify_version_1', name: 'finish without start (panics)', values: [], expect: TRAP });
  // The keystore: PVF validation has none; every call panics.
  const keyType = te('test');
  for (const [k, pubLen] of [['ed25519', 32], ['sr25519', 32], ['ecdsa', 33]] as const) {
    v.push({ fn: `ext_crypto_${k}_public_keys_version_1`, name: 'no keystore', values: [keyType], expect: TRAP });
    v.push({ fn: `ext_crypto_${k}_generate_version_1`, name: 'no keystore', values: [keyType, Uint8Array.of(0)], expect: TRAP });
    v.push({ fn: `ext_crypto_${k}_sign_version_1`, name: 'no keystore', values: [keyType, new Uint8Array(pubLen), msg], expect: TRAP });
  }
  v.push({ fn: 'ext_crypto_ecdsa_sign_prehashed_version_1', name: 'no keystore', values: [keyType, new Uint8Array(33), new Uint8Array(32)], expect: TRAP });
  return v;
}

export function allVectors(): Vector[] {
  return [...hashVectors(), ...trieVectors(), ...cryptoVectors(), ...miscVectors()];
}

const codes = new Map<string, Promise<Uint8Array>>();
const codeOf = (spec: HostCallSpec) => {
  let c = codes.get(spec.fn);
  if (!c) codes.set(spec.fn, (c = assembleWat(hostCallWat(spec))));
  return c;
};

/** One vector on one engine: 'match', or what the engine said instead. */
export async function judge(engine: Engine, vec: Vector): Promise<{ ok: boolean; got: string }> {
  const spec = hostCallSpec(vec.fn);
  const report = await validateCandidate({ kind: 'params', code: await codeOf(spec), params: hostCallInput(spec, vec.values) }, engine);
  const v = report.verdict;
  const got = v.verdict === 'valid' ? `output ${Buffer.from(v.result.headData).toString('hex')}` : `${v.verdict} ${v.reason}: ${v.detail}`;
  if ('trap' in vec.expect) return { ok: v.verdict === 'invalid' && v.reason === 'execution-error', got };
  return { ok: v.verdict === 'valid' && Buffer.from(v.result.headData).equals(Buffer.from(vec.expect.out)), got };
}

describe('host-API conformance vectors', () => {
  const vectors = allVectors();

  it('every host function the PVF host offers has vectors', () => {
    const covered = new Set(vectors.map((v) => v.fn));
    for (const s of HOST_CALL_SPECS) assert.ok(covered.has(s.fn), `${s.fn} has no vector`);
    // …and the specs cover the v8 host's whole table (engines/v8/host/functions.ts).
    assert.deepEqual(HOST_CALL_SPECS.map((s) => s.fn).sort(), Object.keys(PVF_HOST_FUNCTIONS).sort());
  });

  it('the in-process v8 engine matches the model on every vector', async () => {
    const fails: string[] = [];
    for (const vec of vectors) {
      const r = await judge(inProcessV8, vec);
      if (!r.ok) fails.push(`${vec.fn} (${vec.name}): ${r.got}; expected ${'trap' in vec.expect ? 'a trap' : Buffer.from(vec.expect.out).toString('hex')}`);
    }
    assert.deepEqual(fails, []);
  });
});

describe('host-API conformance on every engine of dist/pvf', { skip: SKIP_BIN }, () => {
  let cache = '';
  let engines: Array<{ engine: Engine; divergent: ReadonlyMap<string, string> }> = [];
  before(() => {
    cache = mkdtempSync(join(tmpdir(), 'pvf-hostcall-'));
    process.env.PVF_CACHE_DIR = cache;
    const store = EngineStore.open(BIN)!;
    engines = store.manifest.engines
      .filter((e) => e.status === 'active')
      .map((e) => ({ engine: workerEngine(store, e, { persistent: true }), divergent: new Map((e.hostDivergences ?? []).map((d) => [d.fn, d.reason])) }));
  });
  after(() => {
    closeWorkers();
    delete process.env.PVF_CACHE_DIR;
    rmSync(cache, { recursive: true, force: true });
  });

  it('each vector matches the model, or the engine abstains by policy on a function its manifest lists (or by a documented limit)', async (t) => {
    const vectors = allVectors();
    const fails: string[] = [];
    const policy: string[] = [];
    const limits: string[] = [];
    for (const { engine, divergent } of engines) {
      for (const vec of vectors) {
        const r = await judge(engine, vec);
        // The wasmi engines' documented limits (README, engines/wasmi/worker.ts): no verdict, and
        // only these classes: an argument with bytes after its SCALE value or one that does not
        // decode (smoldot cannot tell them apart), text that is not UTF-8 where Substrate drops it,
        // and a panic of the executor itself.
        if (engine.family === 'wasmi' && !r.ok && /^abstain engine-limit: .*(bytes after its SCALE value|refuses text that is not UTF-8|executor itself panicked)/.test(r.got) && !divergent.has(vec.fn)) {
          limits.push(`${engine.id} ${vec.fn} (${vec.name})`);
          continue;
        }
        if (divergent.has(vec.fn)) {
          // Listed: every call abstains by policy, naming the function (core/prepare/host-policy.ts).
          if (!r.got.startsWith(`abstain engine-unavailable: the PVF called ${vec.fn}, which ${engine.id} does not run as Substrate does`)) fails.push(`${engine.id}: ${vec.fn} (${vec.name}): listed as divergent, but ${r.got}`);
          else policy.push(`${engine.id} ${vec.fn}`);
        } else if (!r.ok) fails.push(`${engine.id}: ${vec.fn} (${vec.name}): ${r.got}; expected ${'trap' in vec.expect ? 'a trap' : Buffer.from(vec.expect.out).toString('hex')}`);
      }
    }
    t.diagnostic(`abstained by policy: ${[...new Set(policy)].join(', ') || 'none'}`);
    t.diagnostic(`abstained by a documented engine limit: ${limits.join(', ') || 'none'}`);
    assert.deepEqual(fails, []);
  });
});

describe('the real runtimes and the divergence lists', { skip: SKIP_SHARED || SKIP_BIN }, () => {
  it('show which listed functions each real PVF imports (importing is not calling: they validate on every engine, tests/candidates.test.ts)', async (t) => {
    const store = EngineStore.open(BIN)!;
    const listed = new Set(store.manifest.engines.flatMap((e) => (e.hostDivergences ?? []).map((d) => d.fn)));
    await initZstd();
    const imported: Record<string, string[]> = {};
    for (const f of readdirSync(join(SHARED, 'pvf')).filter((n) => n.endsWith('.wasm'))) {
      const code = await decompressOrInvalid('code', new Uint8Array(readFileSync(join(SHARED, 'pvf', f))), CODE_BOMB_LIMIT);
      imported[f] = parseModule(code).imports.map((i) => i.name).filter((n) => listed.has(n));
      t.diagnostic(`${f}: imports ${imported[f].join(', ') || 'none'} of the listed functions`);
    }
    // The issue that listed the divergences measured this one: statemine imports it and validates on wasmi.
    assert.ok(imported['statemine-1000000.asset-hub-kusama-local.compact.compressed.wasm'].includes('ext_crypto_secp256k1_ecdsa_recover_compressed_version_2'));
  });
});
