/**
 * Real inputs from ../shared/fixtures (skipped with a message when the folder is absent):
 * the polkadot-sdk adder vectors through the CLI, and real Cumulus PVFs.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SHARED, SKIP_SHARED, pvf, validateParams } from './support/pvfs.ts';
import { runCli } from './support/cli.ts';
import { parseHex } from '../core/primitives/hex.ts';

interface AdderVectors {
  valid: Array<{ name: string; validation_params: string; expected_validation_result: string }>;
  invalid: Array<{ name: string; validation_params: string }>;
}

describe('adder vectors (polkadot-sdk adder, third-party build)', { skip: SKIP_SHARED }, () => {
  const vectors = (): AdderVectors => JSON.parse(readFileSync(join(SHARED, 'adder/adder_vectors.json'), 'utf8')) as AdderVectors;
  const adder = () => join(SHARED, 'adder/test_parachain_adder.wasm');
  let names: AdderVectors = { valid: [], invalid: [] };
  before(() => {
    names = vectors();
    assert.equal(names.valid.length, 5);
    assert.equal(names.invalid.length, 4);
  });

  it('every valid vector is valid, byte-exact on result.raw, exit 0', () => {
    for (const c of vectors().valid) {
      const r = runCli(['validate', '--code', adder(), '--params', c.validation_params, '--json']);
      assert.equal(r.code, 0, `${c.name}: ${r.stdout}${r.stderr}`);
      const doc = JSON.parse(r.stdout) as { verdict: string; result: { raw: string } };
      assert.equal(doc.result.raw, c.expected_validation_result, c.name);
    }
  });

  it('every invalid vector is invalid with the PVF panic message, exit 1', () => {
    for (const c of vectors().invalid) {
      const r = runCli(['validate', '--code', adder(), '--params', c.validation_params, '--json']);
      assert.equal(r.code, 1, `${c.name}: ${r.stdout}${r.stderr}`);
      const doc = JSON.parse(r.stdout) as { verdict: string; reason: string; detail: string };
      assert.equal(doc.verdict, 'invalid');
      assert.equal(doc.reason, 'execution-error');
      assert.match(doc.detail, /^panicked at '/, c.name);
    }
  });

  it("our own adder PVF gives the same bytes as the real one on every vector", async () => {
    for (const c of vectors().valid) {
      const rep = await validateParams(await pvf('adder'), parseHex(c.validation_params));
      assert.equal(rep.verdict.verdict, 'valid', c.name);
      if (rep.verdict.verdict === 'valid') assert.deepEqual(rep.verdict.raw, parseHex(c.expected_validation_result), c.name);
    }
    for (const c of vectors().invalid) {
      const rep = await validateParams(await pvf('adder'), parseHex(c.validation_params));
      assert.equal(rep.verdict.verdict, 'invalid', c.name);
    }
  });
});

describe('real Cumulus PVFs given nonsense (the adder params) are invalid with their own panic', { skip: SKIP_SHARED }, () => {
  const pvfs: Array<[string, RegExp]> = [
    ['shell-2.genesis.compact.compressed.wasm', /Invalid parachain block data/],
    ['cumulus-test-parachain-1.compact.compressed.wasm', /Invalid parachain block data/],
    ['statemine-1000000.asset-hub-kusama-local.compact.compressed.wasm', /Invalid parachain block data/],
    ['coretime-polkadot-1003000.compact.compressed.wasm', /Invalid parachain block data/],
  ];
  let params = '';
  let tmp = '';
  before(() => {
    params = (JSON.parse(readFileSync(join(SHARED, 'adder/adder_vectors.json'), 'utf8')) as AdderVectors).valid[0].validation_params;
    tmp = mkdtempSync(join(tmpdir(), 'pvf-fx-'));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));
  for (const [file, panic] of pvfs) {
    it(file, () => {
      const r = runCli(['validate', '--code', join(SHARED, 'pvf', file), '--params', params, '--json'], { cwd: tmp });
      assert.equal(r.code, 1, r.stdout + r.stderr);
      const doc = JSON.parse(r.stdout) as { verdict: string; reason: string; detail: string; timings: { decompressCodeMs: number } };
      assert.equal(doc.verdict, 'invalid');
      assert.equal(doc.reason, 'execution-error');
      assert.match(doc.detail, panic);
      assert.match(doc.detail, /validate_block\/implementation\.rs/);
      assert.ok(doc.timings.decompressCodeMs > 0, 'the code blob was decompressed');
    });
  }
});
