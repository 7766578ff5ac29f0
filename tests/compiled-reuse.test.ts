/**
 * Kept-alive v8 workers reuse a module they compiled for an earlier job only when the code bytes
 * are equal in full (engines/v8/worker.ts), and the reuse changes no verdict and no output byte.
 * Runs the real engines of dist/pvf (skipped with a message when it is not built).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EngineStore } from '../engines/store/store.ts';
import { closeWorkers, workerEngine } from '../engines/worker-engine.ts';
import { validateCandidate, type ValidationReport } from '../core/candidate/validate.ts';
import { sampleParams } from '../core/candidate/sample.ts';
import { pvf } from './support/pvfs.ts';
import { BIN, SKIP_BIN } from './support/binary.ts';

describe('compiled modules in kept-alive v8 workers', { skip: SKIP_BIN }, () => {
  let cache = '';
  const saved = process.env.PVF_CACHE_DIR;
  before(() => {
    cache = mkdtempSync(join(tmpdir(), 'pvf-reuse-'));
    process.env.PVF_CACHE_DIR = cache;
  });
  after(() => {
    closeWorkers();
    if (saved === undefined) delete process.env.PVF_CACHE_DIR;
    else process.env.PVF_CACHE_DIR = saved;
    rmSync(cache, { recursive: true, force: true });
  });

  it('reuses a module only for byte-equal code, with identical verdicts and output', async () => {
    const store = EngineStore.open(BIN)!;
    const entry = store.manifest.engines.find((e) => e.family === 'v8')!;
    const engine = workerEngine(store, entry, { persistent: true });
    const adder = await pvf('adder');
    const other = Uint8Array.from(adder);
    // The same module with one more byte in a custom section: other bytes, same behaviour.
    const withCustom = new Uint8Array([...other, 0x00, 0x02, 0x01, 0x78]);
    const params = sampleParams();
    const run = (code: Uint8Array): Promise<ValidationReport> => validateCandidate({ kind: 'params', code, params }, engine);
    const first = await run(adder);
    const second = await run(adder);
    const third = await run(withCustom);
    const fourth = await run(adder);
    for (const r of [first, second, third, fourth]) assert.equal(r.verdict.verdict, 'valid', JSON.stringify(r.verdict));
    const raw = (r: ValidationReport) => (r.verdict.verdict === 'valid' ? Buffer.from(r.verdict.raw).toString('hex') : '');
    assert.equal(raw(second), raw(first));
    assert.equal(raw(fourth), raw(first));
    assert.equal(first.timings.compiledFromEarlierJob, undefined);
    assert.equal(second.timings.compiledFromEarlierJob, 1);
    assert.equal(third.timings.compiledFromEarlierJob, undefined, 'a module was reused for other bytes');
    assert.equal(fourth.timings.compiledFromEarlierJob, 1);
  });
});
