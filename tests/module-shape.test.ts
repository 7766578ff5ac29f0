/**
 * Module shapes the fuzz campaign found handled differently from polkadot, on every engine of
 * dist/pvf (skipped with a message when it is not built).
 * - A memory exported under another name than `memory`: sc-executor-wasmtime looks the memory up
 *   by that name (instance_wrapper.rs `get_linear_memory`, "memory is not exported under `memory`
 *   name"): invalid. The v8 engines took any exported memory (valid), wasmi abstained.
 * - A host call whose argument span lies outside memory: the PVF's own pointer, a trap in
 *   Substrate's runtime interface; wasmi said `abstain internal-error`.
 * - Sign-extension operations: polkadot accepts them (MVP + sign-ext); this smoldot's wasmi refuses
 *   them, which must be its own `abstain engine-limit`, not `internal-error`.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pvf } from './support/pvfs.ts';
import { SKIP_BIN, carriedEngines, validateJson } from './support/binary.ts';

describe('module shapes on every engine', { skip: SKIP_BIN }, () => {
  let dir = '';
  let engines: string[] = [];
  const run = (code: string, e: string) => validateJson(['--code', join(dir, code), '--params', '0x', '--engine', e], join(dir, 'cache'));
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pvf-shape-'));
    writeFileSync(join(dir, 'misnamed.wasm'), await pvf('hostile/memory_misnamed'));
    writeFileSync(join(dir, 'signext.wasm'), await pvf('hostile/sign_ext'));
    writeFileSync(join(dir, 'badptr.wasm'), await pvf('hostile/log_bad_pointer'));
    engines = carriedEngines(join(dir, 'cache'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('a memory exported as "mem" is invalid execution-error everywhere', () => {
    for (const e of engines) {
      const r = run('misnamed.wasm', e);
      assert.deepEqual([r.code, r.doc.verdict, r.doc.reason], [1, 'invalid', 'execution-error'], `${e}: ${r.doc.detail}`);
      assert.match(r.doc.detail ?? '', /not exported under the name `memory`/, e);
    }
  });

  it('sign-extension: valid on the v8 engines, abstain engine-limit on wasmi', () => {
    for (const e of engines) {
      const r = run('signext.wasm', e);
      if (e.startsWith('wasmi')) {
        assert.deepEqual([r.code, r.doc.verdict, r.doc.reason], [2, 'abstain', 'engine-limit'], `${e}: ${r.doc.detail}`);
      } else {
        assert.deepEqual([r.code, r.doc.verdict, r.doc.result?.headData], [0, 'valid', '0xffffffff'], `${e}: ${r.doc.detail}`);
      }
    }
  });

  it('a host-call argument span outside memory is invalid execution-error everywhere', () => {
    for (const e of engines) {
      const r = run('badptr.wasm', e);
      assert.deepEqual([r.code, r.doc.verdict, r.doc.reason], [1, 'invalid', 'execution-error'], `${e}: ${r.doc.detail}`);
    }
  });
});
