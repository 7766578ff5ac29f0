/**
 * Known host-function divergences as policy (core/prepare/host-policy.ts): on an engine that lists a
 * function, a PVF that calls it abstains (engine-unavailable, naming it); one that only imports it
 * runs as before; nothing a PVF imports can forge the policy's marker.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assembleWat } from '../build/wat.ts';
import { validateCandidate, type Engine } from '../core/candidate/validate.ts';
import { policyAbstain, withHostPolicy } from '../core/prepare/host-policy.ts';
import { parseModule } from '../core/wasm/wasm.ts';
import { inProcessV8 } from '../engines/v8/index.ts';
import { reportJson } from '../cli/output.ts';

const LISTED = { fn: 'ext_hashing_keccak_256_version_1', reason: 'a test divergence' };
/** The in-process v8 engine, told that its keccak is a known divergence. */
const withPolicy: Engine = { ...inProcessV8, id: 'test-policy', hostDivergences: [LISTED] };

/** A PVF that imports keccak and a second function, and calls keccak only when its input's first byte is 1. */
const pvf = (extraImport = 'ext_hashing_blake2_256_version_1') =>
  assembleWat(`(module
    (import "env" "memory" (memory 17))
    (import "env" "${extraImport}" (func $other (param i64) (result i32)))
    (import "env" "ext_hashing_keccak_256_version_1" (func $keccak (param i64) (result i32)))
    (global (export "__heap_base") i32 (i32.const 1048576))
    (data (i32.const 64) "\\00\\00\\00\\00\\00\\00\\00\\00\\00\\00\\00\\00")
    (func (export "validate_block") (param $p i32) (param $l i32) (result i64)
      (if (i32.eq (i32.load8_u (local.get $p)) (i32.const 1)) (then (drop (call $keccak (i64.const 0)))))
      (if (i32.eq (i32.load8_u (local.get $p)) (i32.const 2)) (then (drop (call $other (i64.const 0)))))
      ;; ValidationResult: empty head, None, [], [], 0, 0 (12 bytes at 64)
      (i64.or (i64.const 64) (i64.shl (i64.const 12) (i64.const 32)))))`);

describe('host-function divergences as policy', () => {
  it('a PVF that calls a listed function abstains, engine-unavailable, naming it and the reason', async () => {
    const r = await validateCandidate({ kind: 'params', code: await pvf(), params: Uint8Array.of(1) }, withPolicy);
    assert.equal(r.verdict.verdict, 'abstain');
    assert.equal(r.verdict.verdict === 'abstain' && r.verdict.reason, 'engine-unavailable');
    assert.match(r.verdict.verdict === 'abstain' ? r.verdict.detail : '', /^the PVF called ext_hashing_keccak_256_version_1, which test-policy does not run as Substrate does: a test divergence/);
    assert.equal(r.byPolicy, true);
    assert.equal(reportJson(r).byPolicy, true, '--json says so');
    // Without the policy the same call is a verdict.
    assert.equal((await validateCandidate({ kind: 'params', code: await pvf(), params: Uint8Array.of(1) }, inProcessV8)).verdict.verdict, 'valid');
  });

  it('a PVF that imports it without calling it runs as before, to the same bytes', async () => {
    for (const input of [0, 2]) {
      const a = await validateCandidate({ kind: 'params', code: await pvf(), params: Uint8Array.of(input) }, withPolicy);
      const b = await validateCandidate({ kind: 'params', code: await pvf(), params: Uint8Array.of(input) }, inProcessV8);
      assert.equal(a.verdict.verdict, 'valid');
      assert.deepEqual(a.verdict.verdict === 'valid' && a.verdict.raw, b.verdict.verdict === 'valid' && b.verdict.raw);
      assert.equal(a.byPolicy, undefined);
    }
  });

  it('only the listed env function imports are renamed; indices, signatures and the rest stay', async () => {
    const code = await pvf();
    const p = withHostPolicy(code, [LISTED, { fn: 'ext_not_imported', reason: 'x' }]);
    assert.deepEqual(p.renamed, [LISTED]);
    const before = parseModule(code).imports;
    const after = parseModule(p.module).imports;
    assert.equal(after.length, before.length);
    after.forEach((imp, k) => {
      assert.deepEqual(imp.desc, before[k].desc);
      if (before[k].name === LISTED.fn) assert.match(imp.name, /^pvf-policy-[0-9a-f]{16}:ext_hashing_keccak_256_version_1$/);
      else assert.equal(imp.name, before[k].name);
    });
    assert.ok(WebAssembly.validate(p.module));
    // A module importing none of them is returned as it is.
    assert.equal(withHostPolicy(code, [{ fn: 'ext_not_imported', reason: 'x' }]).module, code);
  });

  it('a PVF cannot forge the marker: a missing function of its own with such a name is still its own trap (invalid)', async () => {
    const forged = 'pvf-policy-0000000000000000:ext_hashing_keccak_256_version_1';
    const r = await validateCandidate({ kind: 'params', code: await pvf(forged), params: Uint8Array.of(2) }, withPolicy);
    assert.equal(r.verdict.verdict, 'invalid');
    assert.equal(policyAbstain(`call to a missing function env:${forged}`, { module: new Uint8Array(0), renamed: [LISTED] }, 'e'), undefined);
  });
});
