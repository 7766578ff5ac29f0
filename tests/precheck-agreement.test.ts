/**
 * Pre-checking and validation can never disagree (issue: one prepare pipeline). For every PVF the
 * project knows (its own WAT PVFs, the hostile ones and the smoke set, the real runtimes in
 * ../shared/fixtures/pvf when present) and 1,000 seeded generated modules and byte mutants, on
 * every engine the built binary carries:
 *
 *   precheck accepts  ⇒ validate never finds the code failing preparation (`prepare-failed`), and
 *                       runs the very artifact pre-checking prepared (preparedFromCache);
 *   precheck rejects  ⇒ validate finds the code failing preparation too, for the same reason class
 *                       (`abstain prepare-failed`: polkadot casts no vote at execution for code that
 *                       fails to prepare, candidate-validation `ValidationError::Preparation`);
 *   precheck abstains ⇒ only by a documented limit of the engine (`engine-limit`), and validate
 *                       does not find the code failing preparation either.
 *
 * polkadot's rule (polkadot-sdk pvf/common/src/executor_interface.rs `prevalidate`, `prepare`;
 * prepare-worker `runtime_construction_check`): pre-checking decodes and compiles the prepared
 * module; a missing validate_block, memory or __heap_base is only found at execution
 * (execute-worker `validate_using_artifact`: `InvalidCandidate`), so it is an execution error.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { precheck } from '../core/candidate/precheck.ts';
import { validateCandidate, DEFAULT_LIMITS, type Engine } from '../core/candidate/validate.ts';
import { prepKeyOf } from '../core/prepare/prepare.ts';
import { sampleParams } from '../core/candidate/sample.ts';
import { EngineStore } from '../engines/store/store.ts';
import { closeWorkers, workerEngine } from '../engines/worker-engine.ts';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { BIN, SKIP_BIN } from './support/binary.ts';
import { toHex } from '../core/primitives/hex.ts';
import { HAVE_SHARED, SHARED, pvf } from './support/pvfs.ts';
import { generateModule, mutate } from './support/modgen.ts';
import { xorshift } from './support/xorshift.ts';

const SEED = 20261206;
const GENERATED = 700;
const MUTANTS = 300;

interface Outcome {
  verdict: string;
  reason?: string;
  detail?: string;
}

describe('precheck ⇔ validate on every engine', { skip: SKIP_BIN }, () => {
  let dir = '';
  let engines: Engine[] = [];
  const saved = process.env.PVF_CACHE_DIR;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'pvf-agree-'));
    process.env.PVF_CACHE_DIR = join(dir, 'engines');
    const store = EngineStore.open(BIN)!;
    engines = store.manifest.engines.map((e) => workerEngine(store, e, { persistent: true }));
  });
  after(() => {
    closeWorkers();
    if (saved === undefined) delete process.env.PVF_CACHE_DIR;
    else process.env.PVF_CACHE_DIR = saved;
    rmSync(dir, { recursive: true, force: true });
  });

  async function modules(): Promise<Array<[string, Uint8Array]>> {
    const out: Array<[string, Uint8Array]> = [];
    const own = ['adder', ...readdirSync(new URL('./pvfs/hostile/', import.meta.url)).filter((f) => f.endsWith('.wat')).map((f) => `hostile/${f.slice(0, -4)}`)];
    for (const n of own) out.push([n, await pvf(n)]);
    const real = join(SHARED, 'pvf');
    if (HAVE_SHARED && existsSync(real)) {
      for (const f of readdirSync(real).filter((x) => x.endsWith('.wasm'))) out.push([`fixture ${f}`, new Uint8Array(readFileSync(join(real, f)))]);
    }
    const r = xorshift(SEED);
    const generated: Uint8Array[] = [];
    for (let k = 0; k < GENERATED; k++) {
      const m = generateModule(r);
      generated.push(m);
      out.push([`generated #${k}`, m]);
    }
    const parents = [await pvf('adder'), await pvf('hostile/nan_bits'), ...generated.slice(0, 50)];
    for (let k = 0; k < MUTANTS; k++) out.push([`mutant #${k}`, mutate(r, parents[r() % parents.length])]);
    return out;
  }

  it(`agree on the project's PVFs, the fixtures and ${GENERATED + MUTANTS} generated modules and mutants (seed ${SEED})`, async (t) => {
    const all = await modules();
    const cache = { root: join(dir, 'prepared') };
    const limits = { ...DEFAULT_LIMITS, timeoutMs: 500 };
    const prepHash = prepKeyOf(limits);
    const tally = new Map<string, number>();
    const problems: string[] = [];
    const check = async (name: string, code: Uint8Array, engine: Engine): Promise<void> => {
      const p: Outcome = await precheck(code, engine, { limits, timeoutMs: 60_000, cache, prepHash });
      const rep = await validateCandidate({ kind: 'params', code, params: sampleParams() }, engine, { limits, preparedCache: cache, prepHash });
      const v: Outcome = rep.verdict;
      const key = `precheck ${p.verdict}${p.reason ? ` ${p.reason}` : ''}`;
      tally.set(key, (tally.get(key) ?? 0) + 1);
      const where = `${name} on ${engine.id}: precheck ${p.verdict} ${p.reason ?? ''} ${p.detail ?? ''} / validate ${v.verdict} ${v.reason ?? ''} ${v.detail ?? ''}`;
      const failed = v.reason === 'prepare-failed';
      if (p.verdict === 'valid') {
        if (failed) problems.push(`accepted, then failing preparation: ${where}`);
        if (rep.timings.preparedFromCache !== 1) problems.push(`validate did not run the pre-checked artifact: ${where}`);
      } else if (p.verdict === 'invalid') {
        if (!failed || !(v.detail ?? '').startsWith(`${p.reason}: `)) problems.push(`rejected, then not failing preparation for the same reason: ${where}`);
      } else if (p.reason !== 'engine-limit' || failed) {
        problems.push(`pre-check abstained: ${where}`);
      }
    };
    let next = 0;
    const jobs = all.flatMap(([name, code]) => engines.map((e) => () => check(name, code, e)));
    await Promise.all([0, 1].map(async () => {
      while (next < jobs.length) await jobs[next++]();
    }));
    t.diagnostic(`${all.length} modules × ${engines.length} engines: ${[...tally].map(([k, n]) => `${k}: ${n}`).join(', ')}`);
    assert.deepEqual(problems.slice(0, 20), []);
    // The generated set exercises both sides of the property on every engine.
    assert.ok((tally.get('precheck valid') ?? 0) > GENERATED * engines.length * 0.5, JSON.stringify([...tally]));
    assert.ok((tally.get('precheck invalid prevalidation') ?? 0) > MUTANTS * 0.2, JSON.stringify([...tally]));
  });
});

describe('pvf precheck then pvf validate: one artifact', { skip: SKIP_BIN }, () => {
  it('validate --session N runs the module precheck --session N prepared, on the engine precheck names', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pvf-artifact-'));
    try {
      const code = join(dir, 'adder.wasm');
      writeFileSync(code, await pvf('adder'));
      const env = { ...process.env, CI: '1', PVF_CACHE_DIR: join(dir, 'cache') };
      const run = (args: string[]) => {
        const r = spawnSync(BIN, [...args, '--json'], { encoding: 'utf8', env });
        return { code: r.status, doc: JSON.parse(r.stdout) as { verdict: string; engine: string; timings: Record<string, number> } };
      };
      // The built-in schedule: session 0 is the node 22 engine, session 10000 the node 24 one.
      for (const [session, engine] of [['0', 'v8-node22.23.3-h10'], ['10000', 'v8-node24.21.0-h10']]) {
        const p = run(['precheck', '--code', code, '--session', session]);
        assert.deepEqual([p.code, p.doc.verdict, p.doc.engine], [0, 'valid', engine]);
        assert.equal(p.doc.timings.preparedFromCache, undefined, 'a fresh cache: precheck prepares');
        assert.ok(p.doc.timings.compileMs > 0, 'the engine compiled it');
        const v = run(['validate', '--code', code, '--params', toHex(sampleParams()), '--session', session]);
        assert.deepEqual([v.code, v.doc.verdict, v.doc.engine, v.doc.timings.preparedFromCache], [0, 'valid', engine, 1]);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
