/** `pvf validate` as a user runs it: verdicts, exit codes, and one-line errors for bad input. */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './support/cli.ts';
import { pvf } from './support/pvfs.ts';
import { sampleParams } from '../core/candidate/sample.ts';
import { encodePovFile } from '../core/candidate/codecs.ts';
import { toHex } from '../core/primitives/hex.ts';

let dir: string;
let work: string;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pvf-cli-'));
  work = join(dir, 'cwd');
  mkdirSync(work);
  writeFileSync(join(dir, 'adder.wasm'), await pvf('adder'));
  writeFileSync(join(dir, 'unreachable.wasm'), await pvf('hostile/unreachable'));
  writeFileSync(join(dir, 'text.wasm'), 'hello, this is not wasm\n');
  writeFileSync(join(dir, 'garbage.pov'), Uint8Array.of(0xff, 0xff, 0xff));
  writeFileSync(join(dir, 'params.hex'), toHex(sampleParams()) + '\n');
  writeFileSync(join(dir, 'params.bin'), sampleParams());
});
after(() => rmSync(dir, { recursive: true, force: true }));

function assertOneLineError(r: { code: number | null; stdout: string; stderr: string }, code: number, pattern: RegExp) {
  assert.equal(r.code, code, r.stderr);
  assert.equal(r.stdout, '');
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `expected one line, got: ${r.stderr}`);
  assert.match(lines[0], pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
}

describe('pvf validate', () => {
  it('--sample is valid, exit 0, with the sample head in --json', () => {
    const r = runCli(['validate', '--sample', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as { verdict: string; result: { hrmpWatermark: number; headData: string } };
    assert.equal(doc.verdict, 'valid');
    assert.equal(doc.result.hrmpWatermark, 1);
    assert.match(doc.result.headData, /^0x0100000000000000/); // block number 1
  });

  it('--params accepts hex, @hex-file and @binary-file alike', () => {
    const outs = [toHex(sampleParams()), `@${join(dir, 'params.hex')}`, `@${join(dir, 'params.bin')}`].map((p) => {
      const r = runCli(['validate', '--code', join(dir, 'adder.wasm'), '--params', p, '--json']);
      assert.equal(r.code, 0, r.stderr);
      return (JSON.parse(r.stdout) as { result: { raw: string } }).result.raw;
    });
    assert.equal(new Set(outs).size, 1);
  });

  it('--pov-file and --pov/--pvd give the same verdict as raw params', () => {
    // The sample's block 1 as a PoV (uncompressed block data) with its PVD.
    const parentHead = sampleParams().subarray(2, 74);
    const block = sampleParams().subarray(75, 91);
    const pvd = { parentHead, relayParentNumber: 1, relayParentStorageRoot: new Uint8Array(32), maxPovSize: 1000 };
    const file = encodePovFile({ blockData: block }, pvd);
    writeFileSync(join(dir, 'c.pov'), file);
    const povOnly = file.subarray(0, 17);
    writeFileSync(join(dir, 'pov.scale'), povOnly);
    const a = runCli(['validate', '--code', join(dir, 'adder.wasm'), '--pov-file', join(dir, 'c.pov'), '--json']);
    const b = runCli(['validate', '--code', join(dir, 'adder.wasm'), '--pov', join(dir, 'pov.scale'), '--pvd', toHex(file.subarray(17)), '--json']);
    const c = runCli(['validate', '--code', join(dir, 'adder.wasm'), '--params', toHex(sampleParams()), '--json']);
    for (const r of [a, b, c]) assert.equal(r.code, 0, r.stderr);
    const raw = (r: { stdout: string }) => (JSON.parse(r.stdout) as { result: { raw: string } }).result.raw;
    assert.equal(raw(a), raw(c));
    assert.equal(raw(b), raw(c));
  });

  it('a PoV above max_pov_size is invalid: params-too-large, exit 1', () => {
    const pvd = { parentHead: new Uint8Array(72), relayParentNumber: 1, relayParentStorageRoot: new Uint8Array(32), maxPovSize: 16 };
    writeFileSync(join(dir, 'big.pov'), encodePovFile({ blockData: new Uint8Array(16) }, pvd));
    const r = runCli(['validate', '--code', join(dir, 'adder.wasm'), '--pov-file', join(dir, 'big.pov'), '--json']);
    assert.equal(r.code, 1);
    const doc = JSON.parse(r.stdout) as { verdict: string; reason: string; detail: string };
    assert.deepEqual([doc.verdict, doc.reason, doc.detail], ['invalid', 'params-too-large', 'PoV is 17 bytes encoded, max_pov_size is 16']);
  });

  it('a panicking PVF is invalid, exit 1, with its panic message and logs', () => {
    const r = runCli(['validate', '--code', join(dir, 'unreachable.wasm'), '--params', '0x', '--json']);
    assert.equal(r.code, 1);
    const doc = JSON.parse(r.stdout) as { verdict: string; reason: string; detail: string; logs: Array<{ message: string }> };
    assert.equal(doc.verdict, 'invalid');
    assert.equal(doc.reason, 'execution-error');
    assert.match(doc.detail, /^panicked at 'hostile: unreachable'/);
    assert.equal(doc.logs[0].message, "panicked at 'hostile: unreachable'");
    const text = runCli(['validate', '--code', join(dir, 'unreachable.wasm'), '--params', '0x', '-v']);
    assert.equal(text.code, 1);
    assert.match(text.stdout, /^invalid: execution-error: panicked at 'hostile: unreachable'/);
    assert.match(text.stderr, /\[error runtime\] panicked at 'hostile: unreachable'/);
  });

  it('an engine this binary does not carry is abstain, exit 2', () => {
    const r = runCli(['validate', '--sample', '--engine', 'v8-nonexistent', '--json']);
    assert.equal(r.code, 2);
    const doc = JSON.parse(r.stdout) as { verdict: string; reason: string };
    assert.deepEqual([doc.verdict, doc.reason], ['abstain', 'engine-unavailable']);
  });
});

describe('bad input: one line, a distinct exit code, nothing written', () => {
  const cases: Array<{ what: string; args: () => string[]; code: number; msg: RegExp }> = [
    { what: 'no arguments', args: () => ['validate'], code: 64, msg: /^pvf: missing --code FILE/ },
    { what: 'no candidate', args: () => ['validate', '--code', join(dir, 'adder.wasm')], code: 64, msg: /^pvf: missing the candidate/ },
    { what: 'two candidate forms', args: () => ['validate', '--code', join(dir, 'adder.wasm'), '--params', '0x', '--pov-file', 'x'], code: 64, msg: /only one of/ },
    { what: 'unknown option', args: () => ['validate', '--bogus'], code: 64, msg: /^pvf: unknown option '--bogus'/ },
    { what: 'missing code file', args: () => ['validate', '--code', join(dir, 'nope.wasm'), '--params', '0x'], code: 65, msg: /^pvf: --code .*nope\.wasm: no such file$/ },
    { what: 'code that is not Wasm', args: () => ['validate', '--code', join(dir, 'text.wasm'), '--params', '0x'], code: 65, msg: /^pvf: --code .*text\.wasm: not a Wasm module or a compressed code blob/ },
    { what: 'bad hex', args: () => ['validate', '--code', join(dir, 'adder.wasm'), '--params', '0x12zz'], code: 65, msg: /^pvf: --params: not hex: unexpected character "z"/ },
    { what: 'odd hex', args: () => ['validate', '--code', join(dir, 'adder.wasm'), '--params', '0x123'], code: 65, msg: /^pvf: --params: not hex: odd number of digits/ },
    { what: 'a .pov file that is not SCALE', args: () => ['validate', '--code', join(dir, 'adder.wasm'), '--pov-file', join(dir, 'garbage.pov')], code: 65, msg: /^pvf: --pov-file .*garbage\.pov: not valid SCALE: / },
    { what: 'missing params file', args: () => ['validate', '--code', join(dir, 'adder.wasm'), '--params', `@${join(dir, 'none.hex')}`], code: 65, msg: /^pvf: --params .*none\.hex: no such file$/ },
  ];
  for (const c of cases) {
    it(`${c.what} → exit ${c.code}`, () => {
      const r = runCli(c.args(), { cwd: work });
      assertOneLineError(r, c.code, c.msg);
      assert.deepEqual(readdirSync(work), [], 'nothing written to the working directory');
    });
  }
});
