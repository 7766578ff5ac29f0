/**
 * Finding 7b: modules that fail Wasm validation were `invalid prevalidation` on the v8 engines and
 * `abstain internal-error` on the wasmi engines. Seeded one-byte mutants of the own adder PVF (and
 * of a real Cumulus PVF when ../shared is present) run on every engine of dist/pvf through
 * `pvf conformance`, which reports any difference of verdict or reason class.
 *
 * Upstream: a module wasmtime refuses fails preparation (polkadot-sdk
 * polkadot/node/core/pvf/prepare-worker/src/lib.rs, prepare_artifact → PrepareError::Preparation,
 * deterministic per polkadot/node/core/pvf/common/src/error.rs PrepareError::is_deterministic):
 * pre-checking rejects it, and candidate-validation answers it at execution with ValidationFailed
 * (no vote: `abstain prepare-failed` here, naming the class), the same on every engine; never
 * internal-error.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO, SHARED, SKIP_SHARED, pvf } from './support/pvfs.ts';
import { listSections } from '../engines/store/elf.ts';
import { encodePovFile } from '../core/candidate/codecs.ts';
import { adderBlock, adderHead } from '../core/candidate/sample.ts';
import { CODE_BOMB_LIMIT, decompressAs } from '../core/candidate/blob.ts';
import { assembleWat } from '../build/wat.ts';
import { xorshift } from './support/xorshift.ts';

const BIN = join(REPO, 'dist', 'pvf');
const BUILT = existsSync(BIN) && listSections(BIN).some((s) => s.name === '.pvf.manifest');
const SKIP = BUILT ? false : 'dist/pvf is not built (run npm run build); the engine comparison needs it';

/** Deterministic one-byte mutants: byte `at` (past the header) replaced by a random value. */
function mutants(code: Uint8Array, count: number, seed: number, from = 8, to = code.length): Uint8Array[] {
  const next = xorshift(seed);
  return Array.from({ length: count }, () => {
    const m = Uint8Array.from(code);
    const at = from + (next() % (to - from));
    let v = next() & 0xff;
    if (v === m[at]) v ^= 0x80;
    m[at] = v;
    return m;
  });
}

/** Start and end of the code section (id 10) of a module. */
function codeSection(code: Uint8Array): { start: number; end: number } {
  let pos = 8;
  const u32 = (): number => {
    let r = 0;
    for (let shift = 0; ; shift += 7) {
      const b = code[pos++];
      r += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return r;
    }
  };
  while (pos < code.length) {
    const id = code[pos++];
    const size = u32();
    if (id === 10) return { start: pos, end: pos + size };
    pos += size;
  }
  throw new Error('no code section');
}

interface Report {
  engines: string[];
  divergences: Array<{ candidate: string; what: string }>;
  results: Array<{ candidate: string; engine: string; verdict: string; reason?: string; detail?: string }>;
}

describe('Wasm that fails validation fails preparation alike on every engine (finding 7b)', { skip: SKIP }, () => {
  let tmp = '';
  const pov = encodePovFile(
    { blockData: adderBlock(0n, 7n) },
    { parentHead: adderHead(0n, new Uint8Array(32), 0n), relayParentNumber: 1, relayParentStorageRoot: new Uint8Array(32), maxPovSize: 1 << 20 },
  );
  before(() => (tmp = mkdtempSync(join(tmpdir(), 'pvf-mutants-'))));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  function conformance(name: string, codes: Uint8Array[]): Report {
    const corpus = join(tmp, name);
    codes.forEach((c, k) => {
      const d = join(corpus, `m${String(k).padStart(4, '0')}`);
      mkdirSync(d, { recursive: true });
      writeFileSync(join(d, 'code.wasm'), c);
      writeFileSync(join(d, 'candidate.pov'), pov);
    });
    const r = spawnSync(BIN, ['conformance', '--corpus', corpus, '--json', '--jobs', '2'], {
      encoding: 'utf8',
      env: { ...process.env, CI: '1', PVF_CACHE_DIR: join(tmp, 'cache') },
      timeout: 600000,
      maxBuffer: 64 << 20,
    });
    assert.ok(r.stdout, r.stderr);
    return JSON.parse(r.stdout) as Report;
  }

  it('160 seeded mutants of the adder: the same verdict and reason class everywhere, none abstain', async () => {
    const rep = conformance('adder', mutants(await pvf('adder'), 160, 0x5eed));
    assert.ok(rep.engines.some((e) => e.startsWith('wasmi-')) && rep.engines.some((e) => e.startsWith('v8-')));
    assert.deepEqual(rep.divergences.map((d) => `${d.candidate}: ${d.what}`), []);
    // Code that fails preparation is `prepare-failed` (no vote, as polkadot at execution); any other abstain is a fault.
    const abstains = rep.results.filter((r) => r.verdict === 'abstain' && r.reason !== 'prepare-failed');
    assert.deepEqual(abstains.map((r) => `${r.candidate} ${r.engine}: ${r.detail}`), []);
    // The class the finding is about must be present, or the test proves nothing.
    const invalidWasm = rep.results.filter((r) => r.engine.startsWith('wasmi-') && r.reason === 'prepare-failed' && /^prevalidation: compile error/.test(r.detail ?? ''));
    assert.ok(invalidWasm.length >= 10, `${invalidWasm.length} mutants fail Wasm validation on wasmi`);
  });

  it('a 300 KB import name (wasmparser refuses names over 100_000 bytes) fails preparation on every engine', async () => {
    const wat = readFileSync(join(REPO, 'tests/pvfs/adder.wat'), 'utf8').replace('(import "env" "memory" (memory 17))', `(import "env" "memory" (memory 17)) (import "env" "${'x'.repeat(300 * 1024)}" (func))`);
    const rep = conformance('long-name', [await assembleWat(wat, 'long.wat')]);
    assert.deepEqual(
      rep.results.map((r) => `${r.engine} ${r.verdict} ${r.reason}`),
      rep.engines.map((e) => `${e} abstain prepare-failed`),
    );
  });

  it('mutants of a real Cumulus PVF\'s code section: the same verdict and reason class everywhere', { skip: SKIP_SHARED }, async () => {
    const blob = new Uint8Array(readFileSync(join(SHARED, 'pvf', 'shell-2.genesis.compact.compressed.wasm')));
    const code = (await decompressAs('code', blob, CODE_BOMB_LIMIT)).bytes;
    const { start, end } = codeSection(code);
    const rep = conformance('shell', mutants(code, 12, 0xc0de, start, end));
    assert.deepEqual(rep.divergences.map((d) => `${d.candidate}: ${d.what}`), []);
    assert.deepEqual(rep.results.filter((r) => r.verdict === 'abstain' && r.reason !== 'prepare-failed').map((r) => `${r.candidate} ${r.engine}: ${r.detail}`), []);
    assert.ok(rep.results.some((r) => r.reason === 'prepare-failed'), 'no mutant failed preparation: the test proves nothing');
  });
});
