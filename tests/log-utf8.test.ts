/**
 * Log text that is not UTF-8, on every engine of dist/pvf (skipped with a message when it is not
 * built). Substrate's sp-io `logging::log(level, target: &str, message: &[u8])`: the message is
 * dropped when it is not UTF-8 (`if let Ok(message) = str::from_utf8(message)`), the target is a
 * `&str` that the runtime interface refuses (the host call fails, the PVF traps). smoldot's host
 * (the wasmi engines) refuses both; found by the fuzz campaign as `abstain internal-error`.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pvf } from './support/pvfs.ts';
import { SKIP_BIN, carriedEngines, validateJson } from './support/binary.ts';

describe('log text that is not UTF-8', { skip: SKIP_BIN }, () => {
  let dir = '';
  let engines: string[] = [];
  const run = (args: string[]) => validateJson(args, join(dir, 'cache'));
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pvf-utf8-'));
    writeFileSync(join(dir, 'log.wasm'), await pvf('hostile/log_not_utf8'));
    engines = carriedEngines(join(dir, 'cache'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('a message: valid on the v8 engines (dropped, as Substrate), abstain engine-limit on wasmi (never internal-error)', () => {
    for (const e of engines) {
      const r = run(['--code', join(dir, 'log.wasm'), '--params', '0x00', '--engine', e]);
      if (e.startsWith('wasmi')) {
        assert.deepEqual([r.code, r.doc.verdict, r.doc.reason], [2, 'abstain', 'engine-limit'], `${e}: ${r.doc.detail}`);
        assert.match(r.doc.detail ?? '', /not UTF-8/);
      } else {
        assert.deepEqual([r.code, r.doc.verdict], [0, 'valid'], `${e}: ${r.doc.detail}`);
      }
    }
  });

  it('a target: invalid execution-error on every engine', () => {
    for (const e of engines) {
      const r = run(['--code', join(dir, 'log.wasm'), '--params', '0x01', '--engine', e]);
      assert.deepEqual([r.code, r.doc.verdict, r.doc.reason], [1, 'invalid', 'execution-error'], `${e}: ${r.doc.detail}`);
    }
  });
});
