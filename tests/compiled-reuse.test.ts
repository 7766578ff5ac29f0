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
import { assembleWat } from '../build/wat.ts';

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

  it('every job gets a fresh instance: a PVF that counts its calls in a mutable global and in memory says 1 every time', async () => {
    // validate_block increments a global and a memory byte, and returns a ValidationResult whose
    // head data is [global, memory byte]: 0x0101 on a fresh instance, more on a reused one.
    const counter = await assembleWat(
      String.raw`(module
        (memory (export "memory") 17)
        (global (export "__heap_base") i32 (i32.const 4096))
        (global $calls (mut i32) (i32.const 0))
        ;; ValidationResult: head_data = 2 bytes (compact 0x08), no new code, no messages, 0, 0
        (data (i32.const 1024) "\08\00\00\00\00\00\00\00\00\00\00\00\00\00")
        (data (i32.const 2048) "\00")
        (func (export "validate_block") (param i32 i32) (result i64)
          (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
          (i32.store8 (i32.const 2048) (i32.add (i32.load8_u (i32.const 2048)) (i32.const 1)))
          (i32.store8 (i32.const 1025) (global.get $calls))
          (i32.store8 (i32.const 1026) (i32.load8_u (i32.const 2048)))
          (i64.or (i64.const 1024) (i64.shl (i64.const 14) (i64.const 32)))))`,
      'counter.wat',
    );
    const store = EngineStore.open(BIN)!;
    const entry = store.manifest.engines.find((e) => e.family === 'v8')!;
    const engine = workerEngine(store, entry, { persistent: true });
    const heads: string[] = [];
    const reused: Array<number | undefined> = [];
    for (let k = 0; k < 4; k++) {
      const r = await validateCandidate({ kind: 'params', code: counter, params: sampleParams() }, engine);
      assert.equal(r.verdict.verdict, 'valid', JSON.stringify(r.verdict));
      if (r.verdict.verdict === 'valid') heads.push(Buffer.from(r.verdict.result.headData).toString('hex'));
      reused.push(r.timings.compiledFromEarlierJob);
    }
    assert.deepEqual(heads, ['0101', '0101', '0101', '0101']);
    assert.deepEqual(reused, [undefined, 1, 1, 1], 'the module was not reused, so this test proves nothing');
  });
});
