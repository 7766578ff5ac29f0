/**
 * `npm run fuzz -- [--seconds N | --rounds R] [--seed S] [--jobs J] [--binary FILE] [--out DIR] [--engines A,B]`
 *
 * A seeded mutation campaign against the built `dist/pvf`, as an attacker and an unlucky operator
 * would feed it. Input kinds:
 * - adder candidates (batched through `pvf conformance` on every engine): the real polkadot-sdk
 *   adder from ../shared/fixtures when present, else the project's own WAT adder, with mutated
 *   heads, blocks, relay data, max_pov_size and zstd-compressed (sometimes damaged) block data;
 *   an independent model of the adder's rules, written here, is the oracle for every verdict;
 * - code (batched): byte mutants of the own PVFs, the hostile PVFs and the real PVFs, plain or
 *   zstd-compressed behind a blob prefix (sometimes damaged after compression);
 * - single processes: .pov files, --params, --executor-params, schedules and corpus folders, each
 *   mutated;
 * - host faults around a valid adder candidate: a worker SIGKILLed or stalled from outside, a low
 *   open-file limit, a tmpfs cache that fills up, a read-only or relative cache directory.
 * Invariants everywhere: no exit 70, no stack trace, no hang, a one-line error for exit 64/65,
 * JSON on --json, `abstain` only with a host reason (never internal-error), never `invalid` under a
 * host fault, the same verdict on every engine (an `engine-limit` abstain of a wasmi engine, e.g. any
 * timeout there, is no opinion and counted apart). Each finding is written under --out as a
 * folder with its inputs, the command line that reproduces it (repro.sh) and what was wrong
 * (finding.txt); single-process findings are shrunk first. Exit 1 when anything was found.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assembleWatFile } from '../build/wat.ts';
import { encodePovFile, encodeValidationParams } from '../core/candidate/codecs.ts';
import { encodeExecutorParams, type ExecutorParam } from '../core/session/executor-params.ts';
import { keccak256 } from '../core/primitives/hashing.ts';
import { toHex } from '../core/primitives/hex.ts';
import { adderModel, cat, le } from './fuzz/adder-model.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SHARED = join(ROOT, '../shared/fixtures');

// ---------------------------------------------------------------------------------------------
// options

interface Options {
  seconds: number;
  seed: number;
  jobs: number;
  binary: string;
  out: string;
  engines?: string[];
  /** A fixed number of rounds instead of a time (the same inputs on any machine, for CI). */
  rounds?: number;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { seconds: 60, seed: Date.now() % 1e9, jobs: 2, binary: join(ROOT, 'dist/pvf'), out: join(ROOT, 'fuzz-findings') };
  for (let k = 0; k < argv.length; k++) {
    const a = argv[k];
    const v = () => {
      const x = argv[++k];
      if (x === undefined) throw new Error(`${a} needs a value`);
      return x;
    };
    if (a === '--seconds') o.seconds = Number(v());
    else if (a === '--seed') o.seed = Number(v());
    else if (a === '--jobs') o.jobs = Number(v());
    else if (a === '--rounds') o.rounds = Number(v());
    else if (a === '--binary') o.binary = resolve(v());
    else if (a === '--out') o.out = resolve(v());
    else if (a === '--engines') o.engines = v().split(',');
    else throw new Error(`unknown option ${a}`);
  }
  for (const [k, x] of [['--seconds', o.seconds], ['--seed', o.seed], ['--jobs', o.jobs], ['--rounds', o.rounds ?? 1]] as const) {
    if (!Number.isInteger(x) || x < 0) throw new Error(`${k}: not a non-negative integer`);
  }
  return o;
}

// ---------------------------------------------------------------------------------------------
// a seeded generator (xoshiro128**)

class Rng {
  private s: Uint32Array;
  constructor(seed: number) {
    let x = seed >>> 0 || 0x9e3779b9;
    this.s = new Uint32Array(4).map(() => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return x >>> 0;
    });
  }
  u32(): number {
    const s = this.s;
    const r = Math.imul(((Math.imul(s[1], 5) << 7) | (Math.imul(s[1], 5) >>> 25)) >>> 0, 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = (s[3] << 11) | (s[3] >>> 21);
    return r;
  }
  int(n: number): number {
    return n <= 0 ? 0 : this.u32() % n;
  }
  chance(p: number): boolean {
    return this.u32() / 2 ** 32 < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  bytes(n: number): Uint8Array {
    return Uint8Array.from({ length: n }, () => this.int(256));
  }
  u64(): bigint {
    return (BigInt(this.u32()) << 32n) | BigInt(this.u32());
  }
}

const INTERESTING = [0, 1, 0x7f, 0x80, 0xff, 0xfe, 0x3f, 0x40];

/** One to four byte-level mutations: flips, interesting bytes, inserts, deletes, truncation, duplication. */
function mutate(rng: Rng, input: Uint8Array): Uint8Array {
  let b: Uint8Array = Uint8Array.from(input);
  const n = 1 + rng.int(4);
  for (let k = 0; k < n; k++) {
    const at = rng.int(Math.max(b.length, 1));
    switch (rng.int(7)) {
      case 0:
        if (b.length) b[at] ^= 1 << rng.int(8);
        break;
      case 1:
        if (b.length) b[at] = rng.pick(INTERESTING);
        break;
      case 2:
        b = cat([b.subarray(0, at), rng.bytes(1 + rng.int(8)), b.subarray(at)]);
        break;
      case 3:
        b = cat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + rng.int(16)))]);
        break;
      case 4:
        b = b.subarray(0, at);
        break;
      case 5: {
        const len = Math.min(1 + rng.int(64), b.length - at);
        b = cat([b.subarray(0, at + len), b.subarray(at, at + len), b.subarray(at + len)]);
        break;
      }
      default:
        if (b.length >= 4) new DataView(b.buffer, b.byteOffset).setUint32(rng.int(b.length - 3), rng.pick([0, 0xffffffff, 0x7fffffff, 0x80000000, 1 << 24, 65536]), true);
    }
  }
  return b;
}

const sha = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

// ---------------------------------------------------------------------------------------------
// running the binary

interface Run {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  ms: number;
  hung: boolean;
}

/**
 * Run the CLI and collect what it prints; kill it as hung after `timeoutMs`. `onSpawn` may act on
 * the running process (the host faults) and returns what to undo when it ends.
 */
function runBin(
  bin: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs: number,
  opts: { cwd?: string; onSpawn?: (pid: number) => () => void } = {},
): Promise<Run> {
  return new Promise((done) => {
    const t0 = performance.now();
    const child = spawn(bin, args, { cwd: opts.cwd, env: { ...process.env, CI: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let hung = false;
    child.stdout.on('data', (b: Buffer) => (stdout = (stdout + b.toString()).slice(-8 << 20)));
    child.stderr.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-1 << 20)));
    const timer = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    const undo = child.pid !== undefined && opts.onSpawn ? opts.onSpawn(child.pid) : undefined;
    const finish = (r: Omit<Run, 'ms' | 'hung'>) => {
      clearTimeout(timer);
      undo?.();
      done({ ...r, ms: performance.now() - t0, hung });
    };
    child.on('error', (e) => finish({ code: null, signal: null, stdout, stderr: `spawn failed: ${e.message}` }));
    child.on('close', (code, signal) => finish({ code, signal, stdout, stderr }));
  });
}

const STACK = /^\s+at .+(:\d+:\d+\)?|native\)?)$/m;
const OK_EXITS = new Set([0, 1, 2, 64, 65]);

/** Invariants every process must keep; returns what is wrong, or undefined. */
function processProblem(r: Run, json: boolean): string | undefined {
  if (r.hung) return `hang: no exit within the run's time limit (${Math.round(r.ms)} ms)`;
  if (r.code === null) return `killed by ${r.signal ?? 'spawn failure'}: ${r.stderr.slice(0, 300)}`;
  if (r.code === 70) return `exit 70 (internal bug): ${r.stderr.trim().slice(0, 300)}`;
  if (!OK_EXITS.has(r.code)) return `exit ${r.code}: ${r.stderr.trim().slice(0, 300)}`;
  if (STACK.test(r.stderr)) return `stack trace on stderr: ${r.stderr.slice(0, 400)}`;
  if (r.code === 64 || r.code === 65) {
    const lines = r.stderr.trim().split('\n');
    if (lines.length !== 1 || !lines[0].startsWith('pvf: ')) return `exit ${r.code} without a one-line 'pvf: ' error: ${JSON.stringify(r.stderr.slice(0, 300))}`;
  }
  if (json && r.code <= 2) {
    try {
      JSON.parse(r.stdout);
    } catch {
      return `exit ${r.code} with --json but stdout is not JSON: ${r.stdout.slice(0, 200)}`;
    }
  }
  return undefined;
}

interface VerdictDoc {
  verdict: 'valid' | 'invalid' | 'abstain';
  reason?: string;
  detail?: string;
  result?: { headData: string; raw: string };
}

/**
 * An abstain is acceptable only where a carried engine cannot judge by a documented limit of its own
 * (`engine-limit`: the wasmi engines' call stack, reserved heap, UTF-8, sign-extension and mutable-global refusals,
 * and their timeouts, which are no verdict for an interpreter; README, engine notes).
 */
function abstainProblem(engine: string, v: { verdict: string; reason?: string; detail?: string }): string | undefined {
  if (v.verdict !== 'abstain') return undefined;
  // Code that fails preparation: pre-checking rejects it, validation casts no vote (core/candidate/verdict.ts).
  if (v.reason === 'prepare-failed' && /^(prevalidation|code-decompression): /.test(v.detail ?? '')) return undefined;
  if (v.reason === 'engine-limit' && engine.startsWith('wasmi') && /call stack|MaxMemoryPages|memory maximum|not UTF-8|sign-extension|mutable globals|interpreter cannot judge a timeout/i.test(v.detail ?? '')) return undefined;
  return `abstain ${v.reason ?? ''} on ${engine} for a candidate input: ${(v.detail ?? '').slice(0, 300)}`;
}

// ---------------------------------------------------------------------------------------------
// campaign state

interface Finding {
  kind: string;
  what: string;
  files: Record<string, Uint8Array | string>;
  argv: string[];
  /** Shell commands that recreate what files cannot hold (symlinks, FIFOs, empty folders). */
  setup?: string[];
}

class Campaign {
  inputs = new Map<string, number>();
  executions = 0;
  verdicts = new Map<string, number>();
  oracleChecked = 0;
  findings: Finding[] = [];
  knownAbstains = 0;
  /** Of those: timeouts of an interpreter (engine-limit; the v8 engines judge them). */
  interpreterTimeouts = 0;
  /** Abstains on code that fails preparation (pre-checking rejects it; validation casts no vote). */
  prepareFailed = 0;
  private seen = new Set<string>();
  constructor(readonly o: Options) {}

  knownAbstain(v: { reason?: string; detail?: string }): void {
    if (v.reason === 'prepare-failed') {
      this.prepareFailed++;
      return;
    }
    this.knownAbstains++;
    if (/interpreter cannot judge a timeout/.test(v.detail ?? '')) this.interpreterTimeouts++;
  }
  count(kind: string, n = 1): void {
    this.inputs.set(kind, (this.inputs.get(kind) ?? 0) + n);
  }
  verdict(v: string): void {
    this.verdicts.set(v, (this.verdicts.get(v) ?? 0) + 1);
  }
  report(f: Finding): void {
    const key = `${f.kind}:${f.what.replace(/[0-9]+/g, 'N').slice(0, 120)}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.findings.push(f);
    const dir = join(this.o.out, `${f.kind}-${sha(JSON.stringify(f.argv) + f.what).slice(0, 12)}`);
    mkdirSync(dir, { recursive: true });
    const argv = f.argv.map((a) => {
      for (const name of [...Object.keys(f.files), 'corpus']) if (a === `/x/${name}`) return `"$here/${name}"`;
      return `'${a.replace(/'/g, `'\\''`)}'`;
    });
    for (const [name, data] of Object.entries(f.files)) {
      mkdirSync(dirname(join(dir, name)), { recursive: true });
      writeFileSync(join(dir, name), data);
    }
    const setup = f.setup ? `cd "$here" && ${f.setup.join(' && ')}\n` : '';
    writeFileSync(join(dir, 'repro.sh'), `#!/bin/sh\nhere=$(cd "$(dirname "$0")" && pwd)\n${setup}exec ${JSON.stringify(this.o.binary)} ${argv.join(' ')}\n`, { mode: 0o755 });
    writeFileSync(join(dir, 'finding.txt'), `${f.kind}: ${f.what}\n`);
    process.stderr.write(`fuzz: FINDING ${f.kind}: ${f.what.slice(0, 200)}\n  -> ${dir}\n`);
  }
}

// ---------------------------------------------------------------------------------------------
// seeds

interface Seeds {
  adder: { code: Uint8Array; strict: boolean; name: string };
  codes: Array<{ name: string; code: Uint8Array }>;
  engines: string[];
  zstd: boolean;
}

async function loadSeeds(o: Options): Promise<Seeds> {
  const own = await assembleWatFile(join(ROOT, 'tests/pvfs/adder.wat'));
  const realAdder = join(SHARED, 'adder/test_parachain_adder.wasm');
  const adder = existsSync(realAdder) ? { code: new Uint8Array(readFileSync(realAdder)), strict: false, name: 'polkadot-sdk adder' } : { code: own, strict: true, name: 'own WAT adder' };
  const codes = [{ name: 'adder.wat', code: own }];
  for (const f of readdirSync(join(ROOT, 'tests/pvfs/hostile')).filter((f) => f.endsWith('.wat')).sort()) {
    codes.push({ name: f, code: await assembleWatFile(join(ROOT, 'tests/pvfs/hostile', f)) });
  }
  if (existsSync(realAdder)) codes.push({ name: 'test_parachain_adder.wasm', code: adder.code });
  const pvfDir = join(SHARED, 'pvf');
  if (existsSync(pvfDir)) for (const f of readdirSync(pvfDir).filter((f) => f.endsWith('.wasm')).sort()) codes.push({ name: f, code: new Uint8Array(readFileSync(join(pvfDir, f))) });
  const list = spawnSync(o.binary, ['engines', 'list', '--json'], { encoding: 'utf8', env: { ...process.env, CI: '1' } });
  if (list.status !== 0) throw new Error(`${o.binary} engines list: ${list.stderr.trim()}`);
  const carried = (JSON.parse(list.stdout) as { engines: Array<{ id: string; status: string }> }).engines.filter((e) => e.status !== 'revoked').map((e) => e.id);
  const engines = o.engines ?? carried;
  for (const e of engines) if (!carried.includes(e)) throw new Error(`--engines: ${e} is not carried by ${o.binary}`);
  const zstd = spawnSync('zstd', ['--version']).status === 0;
  return { adder, codes, engines, zstd };
}

const PREFIX = (tag: number) => Uint8Array.of(0x52, 0xbc, 0x53, 0x76, 0x46, 0xdb, 0x8e, tag);
function zstdCompress(data: Uint8Array, level = 3): Uint8Array {
  const r = spawnSync('zstd', ['-q', '-c', `-${level}`], { input: data, maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`zstd: ${String(r.stderr)}`);
  return new Uint8Array(r.stdout);
}

// ---------------------------------------------------------------------------------------------
// batched kinds, through `pvf conformance` on every engine

interface BatchCandidate {
  name: string;
  kind: 'adder' | 'code';
  code: Uint8Array;
  pov: Uint8Array;
  /** The oracle's answer for adder candidates: head data hex, 'invalid', or undefined (no oracle). */
  expect?: { verdict: 'valid'; headData: string } | { verdict: 'invalid'; reason?: string };
}

function adderCandidate(rng: Rng, seeds: Seeds, name: string): BatchCandidate {
  const number = rng.chance(0.1) ? 0xffffffffffffffffn : BigInt(rng.int(1 << 30));
  const state = rng.chance(0.2) ? 0xfffffffffffffff0n + BigInt(rng.int(16)) : rng.u64() >> BigInt(rng.int(64));
  const add = rng.u64() >> BigInt(rng.int(64));
  let parentHead = cat([le(number, 8), rng.bytes(32), keccak256(le(rng.chance(0.85) ? state : state + 1n, 8))]);
  let blockData = cat([le(state, 8), le(add, 8)]);
  if (rng.chance(0.15)) parentHead = mutate(rng, parentHead);
  if (rng.chance(0.15)) blockData = mutate(rng, blockData);
  const relayParentNumber = rng.chance(0.1) ? 0xffffffff : rng.int(1 << 24);
  let stored = blockData;
  let decompressible = true;
  if (seeds.zstd && rng.chance(0.3)) {
    stored = cat([PREFIX(rng.pick([0x05, 0x06])), zstdCompress(blockData)]);
    if (rng.chance(0.3)) {
      stored = cat([stored.subarray(0, 8), mutate(rng, stored.subarray(8))]);
      decompressible = false; // the zstd rules are tested elsewhere; here: invariants only
    }
  }
  const povSize = (stored.length < 64 ? 1 : stored.length < 16384 ? 2 : 4) + stored.length; // SCALE(PoV) = compact(len) ‖ bytes
  const maxPovSize = rng.chance(0.1) ? Math.max(0, povSize - rng.int(3)) : 5 * 1024 * 1024;
  const pov = encodePovFile({ blockData: stored }, { parentHead, relayParentNumber, relayParentStorageRoot: rng.bytes(32), maxPovSize });
  let expect: BatchCandidate['expect'];
  if (povSize > maxPovSize) expect = { verdict: 'invalid', reason: 'params-too-large' };
  else if (decompressible) {
    const head = adderModel({ parentHead, blockData, relayParentNumber, strictLengths: seeds.adder.strict });
    expect = head ? { verdict: 'valid', headData: toHex(head) } : { verdict: 'invalid', reason: 'execution-error' };
  }
  return { name, kind: 'adder', code: seeds.adder.code, pov, expect };
}

function codeCandidate(rng: Rng, seeds: Seeds, name: string, samplePov: Uint8Array): BatchCandidate {
  // Real runtimes (megabytes) cost seconds per mutant to prepare and instantiate on four engines:
  // one code mutant in ten is one of them, the rest are the small own and hostile PVFs.
  const big = seeds.codes.filter((x) => x.code.length > 100000);
  const small = seeds.codes.filter((x) => x.code.length <= 100000);
  const seed = big.length && rng.chance(0.1) ? rng.pick(big) : rng.pick(small);
  let code = seed.code;
  const compressedSeed = code[0] === 0x52 && code[1] === 0xbc;
  if (compressedSeed || rng.chance(0.7)) code = compressedSeed && rng.chance(0.5) ? cat([code.subarray(0, 8), mutate(rng, code.subarray(8))]) : mutate(rng, code);
  if (!compressedSeed && seeds.zstd && rng.chance(0.25)) {
    code = cat([PREFIX(rng.pick([0x05, 0x07])), zstdCompress(code)]);
    if (rng.chance(0.3)) code = cat([code.subarray(0, 8), mutate(rng, code.subarray(8))]);
  }
  return { name, kind: 'code', code, pov: samplePov };
}

interface MatrixJson {
  divergences: Array<{ candidate: string; engines: string[]; what: string; repro: string }>;
  results: Array<{ candidate: string; engine: string; verdict: 'valid' | 'invalid' | 'abstain'; reason?: string; detail?: string; headData?: string; raw?: string }>;
}

async function batchRound(c: Campaign, rng: Rng, seeds: Seeds, samplePov: Uint8Array, size: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pvf-fuzz-corpus-'));
  try {
    const cands: BatchCandidate[] = [];
    for (let k = 0; k < size; k++) {
      const name = `c${String(k).padStart(3, '0')}`;
      cands.push(rng.chance(0.6) ? adderCandidate(rng, seeds, name) : codeCandidate(rng, seeds, name, samplePov));
    }
    for (const cand of cands) {
      mkdirSync(join(dir, cand.name));
      writeFileSync(join(dir, cand.name, 'code.wasm'), cand.code);
      writeFileSync(join(dir, cand.name, 'candidate.pov'), cand.pov);
      c.count(cand.kind === 'adder' ? 'adder candidate' : 'code mutant');
    }
    const argv = ['conformance', '--corpus', dir, '--engines', seeds.engines.join(','), '--jobs', String(c.o.jobs), '--json'];
    const r = await runBin(c.o.binary, argv, { PVF_CACHE_DIR: cacheDir() }, 60000 + size * 30000);
    c.executions += size * seeds.engines.length;
    const byName = new Map(cands.map((x) => [x.name, x]));
    const findingFor = (name: string, what: string, engine?: string) => {
      const cand = byName.get(name);
      if (!cand) return c.report({ kind: 'conformance', what, files: {}, argv });
      c.report({
        kind: cand.kind === 'adder' ? 'adder' : 'code',
        what,
        files: { 'code.wasm': cand.code, 'candidate.pov': cand.pov },
        argv: ['validate', '--code', `/x/code.wasm`, '--pov-file', `/x/candidate.pov`, '--json', ...(engine ? ['--engine', engine] : [])],
      });
    };
    const bad = processProblem(r, true);
    if (bad || (r.code !== 0 && r.code !== 1)) {
      // Shrink to the candidate at fault: run each alone.
      for (const cand of cands) {
        const one = await runBin(c.o.binary, ['validate', '--code', join(dir, cand.name, 'code.wasm'), '--pov-file', join(dir, cand.name, 'candidate.pov'), '--json'], { PVF_CACHE_DIR: cacheDir() }, 120000);
        const p = processProblem(one, true);
        if (p) findingFor(cand.name, p);
      }
      if (bad) c.report({ kind: 'conformance', what: bad, files: {}, argv });
      return;
    }
    const doc = JSON.parse(r.stdout) as MatrixJson;
    for (const res of doc.results) {
      c.verdict(res.verdict);
      const p = abstainProblem(res.engine, res);
      if (p) findingFor(res.candidate, p, res.engine);
      else if (res.verdict === 'abstain') c.knownAbstain(res);
      const cand = byName.get(res.candidate);
      if (cand?.expect && res.verdict !== 'abstain') {
        c.oracleChecked++;
        const e = cand.expect;
        const got = res.verdict === 'valid' ? `valid ${res.headData ?? ''}` : `invalid ${res.reason ?? ''}`;
        const want = e.verdict === 'valid' ? `valid ${e.headData}` : `invalid ${e.reason ?? ''}`;
        if (got !== want) findingFor(res.candidate, `adder oracle: ${res.engine} says ${got}, the model says ${want}`, res.engine);
      }
    }
    for (const d of doc.divergences) {
      const involved = doc.results.filter((x) => x.candidate === d.candidate);
      // A documented engine limit is an abstain, not a divergence.
      if (involved.every((x) => x.verdict !== 'abstain' || !abstainProblem(x.engine, x)) && involved.some((x) => x.verdict === 'abstain')) continue;
      findingFor(d.candidate, `engines diverge: ${d.what} (${involved.map((x) => `${x.engine}: ${x.verdict} ${x.reason ?? ''}`).join('; ')})`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

let cacheRoot = '';
/** One engine cache for the whole campaign (extracting an engine costs a second). */
function cacheDir(): string {
  cacheRoot ||= mkdtempSync(join(tmpdir(), 'pvf-fuzz-cache-'));
  return cacheRoot;
}

// ---------------------------------------------------------------------------------------------
// single-process kinds

interface Single {
  kind: string;
  files: Record<string, Uint8Array | string>;
  /** Arguments; a file argument is written `@file:<name>`. */
  args: string[];
  json: boolean;
  /** An input given to one engine whose verdict the others must share. */
  crossEngine: boolean;
  /** The byte input to shrink on a finding. */
  shrink?: string;
}

function executorParamsHex(rng: Rng): string {
  const params: ExecutorParam[] = [];
  const n = rng.int(4);
  for (let k = 0; k < n; k++) {
    const big = rng.chance(0.3);
    switch (rng.int(7)) {
      case 0:
        params.push({ type: 'MaxMemoryPages', pages: big ? rng.pick([0, 65504, 65505, 65536, 0xffffffff]) : 17 + rng.int(8192) });
        break;
      case 1:
        params.push({ type: 'StackLogicalMax', max: big ? rng.pick([0, 1, 0xffffffff]) : 1024 + rng.int(100000) });
        break;
      case 2:
        params.push({ type: 'StackNativeMax', bytes: big ? rng.pick([0, 0xffffffff]) : 128 * 1024 * 1024 + rng.int(1 << 28) });
        break;
      case 3:
        params.push({ type: 'PrecheckingMaxMemory', bytes: big ? rng.pick([0n, 0xffffffffffffffffn]) : BigInt(rng.int(1 << 30)) * 16n });
        break;
      case 4:
        params.push({ type: 'PvfPrepTimeout', kind: rng.pick(['precheck', 'prepare'] as const), ms: big ? rng.pick([0n, 2n ** 29n, 2n ** 31n, 2n ** 63n]) : BigInt(1000 + rng.int(400000)) });
        break;
      case 5:
        params.push({ type: 'PvfExecTimeout', kind: rng.pick(['backing', 'approval'] as const), ms: big ? rng.pick([0n, 1n, 2n ** 29n, 2n ** 31n, 2n ** 63n]) : BigInt(500 + rng.int(20000)) });
        break;
      default:
        params.push(rng.chance(0.5) ? { type: 'WasmExtBulkMemory' } : { type: 'EnabledHostFunction', fn: rng.int(4) });
    }
  }
  let bytes: Uint8Array;
  try {
    bytes = encodeExecutorParams(params);
  } catch {
    bytes = rng.bytes(rng.int(20));
  }
  if (rng.chance(0.3)) bytes = mutate(rng, bytes);
  return toHex(bytes);
}

function scheduleText(rng: Rng, engines: string[]): string {
  const sessions: Array<Record<string, unknown>> = [];
  let from = 0;
  for (let k = 0, n = 1 + rng.int(4); k < n; k++) {
    const e: Record<string, unknown> = { from, engine: rng.chance(0.9) ? rng.pick(engines) : `v8-node${rng.int(99)}.0.0-h10` };
    if (rng.chance(0.5)) e.executorParams = executorParamsHex(rng);
    sessions.push(e);
    from += 1 + rng.int(1000);
  }
  const doc: Record<string, unknown> = { version: 1, sessions };
  const r = rng.int(10);
  if (r === 0) doc.extra = true;
  if (r === 1) sessions.reverse();
  if (r === 2) doc.version = rng.pick([0, 2, '1', null]);
  if (r === 3) sessions.push({ ...sessions[0] });
  if (r === 4 && sessions.length) sessions[0].from = rng.pick([-1, 1.5, '0', 2 ** 32, null]);
  if (r === 5 && sessions.length) sessions[0].unknown = 1;
  let text = JSON.stringify(doc);
  if (rng.chance(0.2)) text = Buffer.from(mutate(rng, Buffer.from(text))).toString('latin1');
  return text;
}

function singleInput(rng: Rng, seeds: Seeds, samplePov: Uint8Array, sampleParams: Uint8Array): Single {
  const engineArgs = () => ['--engine', rng.pick(seeds.engines)];
  switch (rng.int(6)) {
    case 0:
      return { kind: 'pov-file', files: { 'code.wasm': seeds.adder.code, 'c.pov': mutate(rng, samplePov) }, args: ['validate', '--code', '@file:code.wasm', '--pov-file', '@file:c.pov', '--json', ...engineArgs()], json: true, crossEngine: true, shrink: 'c.pov' };
    case 1: {
      const p = mutate(rng, sampleParams);
      const asFile = rng.chance(0.3);
      return {
        kind: 'params',
        files: asFile ? { 'code.wasm': seeds.adder.code, 'params.bin': p } : { 'code.wasm': seeds.adder.code },
        args: ['validate', '--code', '@file:code.wasm', '--params', asFile ? '@@file:params.bin' : toHex(p), '--json', ...engineArgs()],
        json: true,
        crossEngine: true,
      };
    }
    case 2:
      return { kind: 'executor-params', files: { 'code.wasm': seeds.adder.code }, args: ['validate', '--code', '@file:code.wasm', '--params', toHex(sampleParams), '--executor-params', executorParamsHex(rng), '--kind', rng.pick(['backing', 'approval']), '--json', ...engineArgs()], json: true, crossEngine: true };
    case 3: {
      const text = scheduleText(rng, seeds.engines);
      return rng.chance(0.5)
        ? { kind: 'schedule', files: { 'schedule.json': text }, args: ['sessions', '--schedule', '@file:schedule.json', '--json'], json: true, crossEngine: false }
        : { kind: 'schedule', files: { 'schedule.json': text, 'code.wasm': seeds.adder.code }, args: ['validate', '--code', '@file:code.wasm', '--params', toHex(sampleParams), '--session', String(rng.int(3000)), '--schedule', '@file:schedule.json', '--json'], json: true, crossEngine: false };
    }
    case 4:
      return { kind: 'corpus', files: {}, args: ['conformance', '--corpus', '@corpus', '--engines', rng.pick(seeds.engines), '--json'], json: true, crossEngine: false };
    default: {
      // Code files given straight to validate and precheck (plain, compressed, damaged).
      const cand = codeCandidate(rng, seeds, 'x', samplePov);
      return rng.chance(0.5)
        ? { kind: 'precheck', files: { 'code.wasm': cand.code }, args: ['precheck', '--code', '@file:code.wasm', '--json', ...engineArgs()], json: true, crossEngine: false, shrink: 'code.wasm' }
        : { kind: 'code-file', files: { 'code.wasm': cand.code, 'c.pov': samplePov }, args: ['validate', '--code', '@file:code.wasm', '--pov-file', '@file:c.pov', '--json', ...engineArgs()], json: true, crossEngine: true, shrink: 'code.wasm' };
    }
  }
}

/** A corpus folder with the kinds of damage an operator's disk can hold. */
function damagedCorpus(rng: Rng, dir: string, seeds: Seeds, samplePov: Uint8Array): void {
  const n = 1 + rng.int(3);
  for (let k = 0; k < n; k++) {
    const d = join(dir, `c${k}`);
    mkdirSync(d);
    const damage = rng.int(10);
    if (damage !== 0) writeFileSync(join(d, 'candidate.pov'), damage === 1 ? mutate(rng, samplePov) : samplePov);
    if (damage === 2) writeFileSync(join(d, 'code.ref'), rng.pick(['missing.wasm', '../x', sha('nothing'), '', 'a'.repeat(300)]));
    else if (damage === 3) writeFileSync(join(dir, 'adder.wasm'), seeds.adder.code), writeFileSync(join(d, 'code.ref'), rng.chance(0.5) ? 'adder.wasm' : sha(seeds.adder.code));
    else if (damage === 4) symlinkSync('/etc/passwd', join(d, 'code.wasm'));
    else if (damage === 5) spawnSync('mkfifo', [join(d, 'code.wasm')]);
    else if (damage === 6) mkdirSync(join(d, 'code.wasm'));
    else writeFileSync(join(d, 'code.wasm'), damage === 7 ? mutate(rng, seeds.adder.code) : seeds.adder.code);
    if (rng.chance(0.3)) writeFileSync(join(d, 'expected.json'), rng.pick(['{', '{"verdict":"maybe"}', '{"verdict":"valid","headData":"0xzz"}', '[]', 'null', '{"verdict":"invalid"}']));
  }
}

/** Record a corpus folder as files plus the commands that recreate links, FIFOs and folders. */
function snapshotCorpus(path: string, rel: string, files: Record<string, Uint8Array | string>, setup: string[]): void {
  setup.push(`mkdir -p '${rel}'`);
  for (const name of readdirSync(path).sort()) {
    const p = join(path, name);
    const r = `${rel}/${name}`;
    const st = lstatSync(p);
    if (st.isSymbolicLink()) setup.push(`ln -sfn '${readlinkSync(p)}' '${r}'`);
    else if (st.isFIFO()) setup.push(`rm -f '${r}' && mkfifo '${r}'`);
    else if (st.isDirectory()) snapshotCorpus(p, r, files, setup);
    else if (st.isFile()) files[r] = new Uint8Array(readFileSync(p));
  }
}

async function runSingle(c: Campaign, s: Single, seeds: Seeds, rng: Rng, samplePov: Uint8Array): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pvf-fuzz-one-'));
  try {
    for (const [name, data] of Object.entries(s.files)) writeFileSync(join(dir, name), data);
    if (s.args.includes('@corpus')) {
      mkdirSync(join(dir, 'corpus'));
      damagedCorpus(rng, join(dir, 'corpus'), seeds, samplePov);
    }
    const argvIn = (files: string) =>
      s.args.map((a) => (a === '@corpus' ? join(files, 'corpus') : a.startsWith('@@file:') ? `@${join(files, a.slice(7))}` : a.startsWith('@file:') ? join(files, a.slice(6)) : a));
    const check = async (files: string): Promise<{ problem?: string; doc?: VerdictDoc; engine?: string }> => {
      const argv = argvIn(files);
      // A damaged corpus of at most three small candidates on one engine takes seconds.
      const r = await runBin(c.o.binary, argv, { PVF_CACHE_DIR: cacheDir() }, s.kind === 'corpus' ? 30000 : 120000);
      c.executions++;
      const problem = processProblem(r, s.json);
      if (problem) return { problem };
      if (!s.json || r.code === null || r.code > 2 || s.kind === 'schedule' && argv[0] === 'sessions' || s.kind === 'corpus') return {};
      const doc = JSON.parse(r.stdout) as VerdictDoc;
      const engine = argv[argv.indexOf('--engine') + 1] ?? '';
      if (argv[0] === 'validate' || argv[0] === 'precheck') {
        c.verdict(doc.verdict);
        const p = abstainProblem(engine || 'default', doc);
        if (p && !(s.kind === 'schedule' && doc.reason === 'engine-unavailable' && /not carried/.test(doc.detail ?? ''))) return { problem: p, doc, engine };
        if (doc.verdict === 'abstain') c.knownAbstain(doc);
      }
      return { doc, engine };
    };
    const first = await check(dir);
    c.count(s.kind);
    let problem = first.problem;
    if (!problem && s.crossEngine && first.doc && first.doc.verdict !== 'abstain' && rng.chance(0.5)) {
      // The same input on every other engine: the verdict must not depend on the engine.
      for (const other of seeds.engines.filter((e) => e !== first.engine)) {
        const argv = argvIn(dir);
        argv[argv.indexOf('--engine') + 1] = other;
        const r = await runBin(c.o.binary, argv, { PVF_CACHE_DIR: cacheDir() }, 120000);
        c.executions++;
        problem = processProblem(r, true);
        if (problem) break;
        const doc = JSON.parse(r.stdout) as VerdictDoc;
        if (doc.verdict === 'abstain' && !abstainProblem(other, doc)) {
          c.knownAbstain(doc);
          continue;
        }
        const a = `${first.doc.verdict} ${first.doc.reason ?? ''} ${first.doc.result?.raw ?? ''}`;
        const b = `${doc.verdict} ${doc.reason ?? ''} ${doc.result?.raw ?? ''}`;
        if (a !== b) {
          problem = `engines diverge: ${first.engine}: ${a.slice(0, 200)} / ${other}: ${b.slice(0, 200)}`;
          break;
        }
      }
    }
    if (!problem) return;
    // Shrink the byte input while the same kind of problem remains.
    if (s.shrink && typeof s.files[s.shrink] !== 'string') {
      let cur = s.files[s.shrink] as Uint8Array;
      const kindOf = (p: string) => p.replace(/[0-9]+/g, 'N').slice(0, 40);
      for (let step = 0, chunk = Math.max(1, cur.length >> 1); step < 40 && chunk >= 1; step++) {
        const at = rng.int(Math.max(1, cur.length - chunk));
        const cand = cat([cur.subarray(0, at), cur.subarray(at + chunk)]);
        writeFileSync(join(dir, s.shrink), cand);
        const again = await check(dir);
        if (again.problem && kindOf(again.problem) === kindOf(problem)) cur = cand;
        else chunk >>= 1;
      }
      s.files[s.shrink] = cur;
    }
    const argv = argvIn('/x');
    const setup: string[] = [];
    if (s.args.includes('@corpus')) snapshotCorpus(join(dir, 'corpus'), 'corpus', s.files, setup);
    c.report({ kind: s.kind, what: problem, files: s.files, argv, setup });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// host faults: a valid candidate on a machine that misbehaves must never be judged invalid

type HostFaultKind = 'kill-worker' | 'stop-worker' | 'fd-limit' | 'full-disk' | 'read-only-cache' | 'relative-cache';

async function hostFaultRound(c: Campaign, rng: Rng, seeds: Seeds, samplePov: Uint8Array): Promise<void> {
  const fault = rng.pick<HostFaultKind>(['kill-worker', 'kill-worker', 'stop-worker', 'fd-limit', 'full-disk', 'read-only-cache', 'relative-cache']);
  const engine = rng.pick(seeds.engines);
  const kind = fault === 'stop-worker' ? 'backing' : rng.pick(['backing', 'approval']);
  const dir = mkdtempSync(join(tmpdir(), 'pvf-fuzz-fault-'));
  let mounted = '';
  try {
    writeFileSync(join(dir, 'code.wasm'), seeds.adder.code);
    writeFileSync(join(dir, 'c.pov'), samplePov);
    const args = ['validate', '--code', join(dir, 'code.wasm'), '--pov-file', join(dir, 'c.pov'), '--engine', engine, '--kind', kind, '--json'];
    let env: Record<string, string> = { PVF_CACHE_DIR: cacheDir() };
    let bin = c.o.binary;
    let argv = args;
    let cwd: string | undefined;
    if (fault === 'fd-limit') {
      bin = '/bin/sh';
      argv = ['-c', `ulimit -n ${24 + rng.int(40)} && exec "$0" "$@"`, c.o.binary, ...args];
    } else if (fault === 'full-disk') {
      mounted = join(dir, 'mnt');
      mkdirSync(mounted);
      if (spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${1 + rng.int(200)}m`, 'tmpfs', mounted]).status !== 0) {
        mounted = '';
        return;
      }
      env = { PVF_CACHE_DIR: join(mounted, 'cache') };
    } else if (fault === 'read-only-cache') {
      mkdirSync(join(dir, 'ro'), { mode: 0o500 });
      env = { PVF_CACHE_DIR: join(dir, 'ro', 'cache') };
    } else if (fault === 'relative-cache') {
      cwd = dir;
      env = { PVF_CACHE_DIR: rng.pick(['cache', './cache', 'a/../cache']) };
    }
    const r = await runBin(bin, argv, env, 120000, { cwd, onSpawn: hitWorkers(fault, rng) });
    c.executions++;
    c.count(`host fault ${fault}`);
    const files = { 'code.wasm': seeds.adder.code, 'c.pov': samplePov };
    const repro = ['validate', '--code', '/x/code.wasm', '--pov-file', '/x/c.pov', '--engine', engine, '--kind', kind, '--json'];
    const problem = processProblem(r, true);
    if (problem) return c.report({ kind: `fault-${fault}`, what: problem, files, argv: repro });
    if (r.code === 64 || r.code === 65) return;
    const doc = JSON.parse(r.stdout) as VerdictDoc;
    c.verdict(doc.verdict);
    if (doc.verdict === 'invalid') c.report({ kind: `fault-${fault}`, what: `a valid candidate judged invalid (${doc.reason ?? ''}: ${doc.detail ?? ''}) under ${fault}`, files, argv: repro });
  } finally {
    if (mounted) spawnSync('umount', [mounted]);
    spawnSync('chmod', ['-R', 'u+w', dir]);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** For the kill/stop faults: hit the CLI's worker processes from outside at a random moment. */
function hitWorkers(fault: HostFaultKind, rng: Rng): ((pid: number) => () => void) | undefined {
  if (fault !== 'kill-worker' && fault !== 'stop-worker') return undefined;
  return (pid) => {
    const t0 = performance.now();
    const timers: NodeJS.Timeout[] = [];
    const hit = () => {
      const kids = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
      for (const kid of kids) {
        if (fault === 'kill-worker') spawnSync('kill', ['-KILL', kid]);
        else {
          // The machine stalls the worker as it starts (swapping, a loaded host) for longer than
          // the backing job's wall-clock limit (4 x 2 s), then resumes it: the job has not
          // started, so nothing may count against the candidate.
          spawnSync('kill', ['-STOP', kid]);
          timers.push(setTimeout(() => spawnSync('kill', ['-CONT', kid]), 8500 + rng.int(1500)));
        }
      }
      if (kids.length === 0 && performance.now() - t0 < 3000) timers.push(setTimeout(hit, 20));
    };
    timers.push(setTimeout(hit, fault === 'stop-worker' ? 0 : rng.int(600)));
    return () => timers.forEach(clearTimeout);
  };
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const o = parseArgs(process.argv.slice(2));
  if (!existsSync(o.binary)) {
    process.stderr.write(`fuzz: ${o.binary} does not exist: run npm run build first\n`);
    return 2;
  }
  const seeds = await loadSeeds(o);
  const rng = new Rng(o.seed);
  const c = new Campaign(o);
  const sampleParams = encodeValidationParams({ parentHead: cat([le(0n, 8), new Uint8Array(32), keccak256(le(0n, 8))]), blockData: cat([le(0n, 8), le(7n, 8)]), relayParentNumber: 1, relayParentStorageRoot: new Uint8Array(32) });
  const samplePov = encodePovFile({ blockData: cat([le(0n, 8), le(7n, 8)]) }, { parentHead: cat([le(0n, 8), new Uint8Array(32), keccak256(le(0n, 8))]), relayParentNumber: 1, relayParentStorageRoot: new Uint8Array(32), maxPovSize: 5 << 20 });
  process.stderr.write(`fuzz: seed ${o.seed}, ${o.rounds !== undefined ? `${o.rounds} rounds` : `${o.seconds} s`}, engines ${seeds.engines.join(', ')}, adder oracle on the ${seeds.adder.name}, ${seeds.codes.length} code seeds${seeds.zstd ? '' : ' (no zstd CLI: no compressed inputs)'}\n`);
  const deadline = performance.now() + o.seconds * 1000;
  let round = 0;
  try {
    while (o.rounds !== undefined ? round < o.rounds : performance.now() < deadline || round === 0) {
      const t0 = performance.now();
      await batchRound(c, rng, seeds, samplePov, 120);
      const t1 = performance.now();
      const singles = Array.from({ length: 24 }, () => singleInput(rng, seeds, samplePov, sampleParams));
      for (let k = 0; k < singles.length; k += o.jobs) {
        await Promise.all(singles.slice(k, k + o.jobs).map((s) => runSingle(c, s, seeds, rng, samplePov)));
      }
      // Host faults one at a time: they kill and stall processes, and must not hit the singles.
      for (let k = 0; k < 4; k++) await hostFaultRound(c, rng, seeds, samplePov);
      round++;
      const total = [...c.inputs.values()].reduce((a, b) => a + b, 0);
      process.stderr.write(`fuzz: round ${round}: ${total} inputs, ${c.executions} executions, ${c.findings.length} findings (batch ${Math.round(t1 - t0)} ms, singles ${Math.round(performance.now() - t1)} ms)\n`);
    }
  } finally {
    if (cacheRoot) rmSync(cacheRoot, { recursive: true, force: true });
  }
  const total = [...c.inputs.values()].reduce((a, b) => a + b, 0);
  const lines = [
    `fuzz: seed ${o.seed}: ${total} mutated inputs in ${round} rounds (${[...c.inputs].map(([k, v]) => `${k} ${v}`).join(', ')})`,
    `fuzz: ${c.executions} executions on ${seeds.engines.length} engines; verdicts ${[...c.verdicts].map(([k, v]) => `${k} ${v}`).join(', ')}`,
    `fuzz: abstains: ${c.knownAbstains} engine-limit (documented limits of the wasmi engines; ${c.interpreterTimeouts} of them timeouts, which the v8 engines judge), ${c.prepareFailed} prepare-failed (code that precheck rejects)`,
    `fuzz: adder oracle checked ${c.oracleChecked} verdicts`,
    `fuzz: ${c.findings.length} findings${c.findings.length ? ` (in ${o.out})` : ''}`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
  return c.findings.length ? 1 : 0;
}

main().then(
  (code) => (process.exitCode = code),
  (e: unknown) => {
    process.stderr.write(`fuzz: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 2;
  },
);
