/**
 * The project's own PVFs on the v8 engine: the adder against an independent model of its rules,
 * and hostile PVFs, each with its exact verdict and reason. No ../shared needed.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { pvf, validateParams } from './support/pvfs.ts';
import { xorshift } from './support/xorshift.ts';

// ---- an independent model of the adder (written from its rules, not from the code under test) ----
function le64(n: bigint): Uint8Array {
  const b = new Uint8Array(8);
  for (let k = 0; k < 8; k++) b[k] = Number((BigInt.asUintN(64, n) >> BigInt(8 * k)) & 0xffn);
  return b;
}
function le32(n: number): Uint8Array {
  return Uint8Array.of(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff);
}
function cat(...xs: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(xs.reduce((a, x) => a + x.length, 0));
  let at = 0;
  for (const x of xs) {
    out.set(x, at);
    at += x.length;
  }
  return out;
}
/** SCALE compact for lengths below 2^14. */
function compactLen(n: number): Uint8Array {
  return n < 64 ? Uint8Array.of(n << 2) : Uint8Array.of(((n << 2) | 1) & 0xff, (n << 2) >> 8);
}
function head(number: bigint, parent: Uint8Array, state: bigint): Uint8Array {
  return cat(le64(number), parent, keccak_256(le64(state)));
}
function params(parentHead: Uint8Array, block: Uint8Array, relayNumber: number, root = new Uint8Array(32)): Uint8Array {
  return cat(compactLen(parentHead.length), parentHead, compactLen(block.length), block, le32(relayNumber), root);
}
function expectedResult(parentHead: Uint8Array, number: bigint, state: bigint, add: bigint, relayNumber: number): Uint8Array {
  const newHead = cat(le64(number + 1n), keccak_256(parentHead), keccak_256(le64(state + add)));
  return cat(compactLen(72), newHead, Uint8Array.of(0, 0, 0), le32(0), le32(relayNumber));
}

// deterministic pseudo-random numbers for the vectors
function* rng(seed: number) {
  const next = xorshift(seed);
  for (;;) yield next();
}

describe('own adder PVF vs an independent model', () => {
  const r = rng(0xadde7);
  const next = () => r.next().value as number;
  const cases = Array.from({ length: 12 }, (_, k) => {
    const state = k === 0 ? 0n : (BigInt(next()) << 32n) | BigInt(next());
    const add = k === 1 ? 0xffffffffffffffffn : BigInt(next());
    const number = BigInt(next());
    const parent = keccak_256(le32(next()));
    const relay = next();
    return { state, add, number, parent, relay };
  });
  for (const [k, c] of cases.entries()) {
    it(`case ${k}: state ${c.state} + ${c.add} at relay #${c.relay}`, async () => {
      const ph = head(c.number, c.parent, c.state);
      const rep = await validateParams(await pvf('adder'), params(ph, cat(le64(c.state), le64(c.add)), c.relay));
      assert.equal(rep.verdict.verdict, 'valid', JSON.stringify(rep.verdict));
      if (rep.verdict.verdict !== 'valid') return;
      assert.deepEqual(rep.verdict.raw, expectedResult(ph, c.number, c.state, c.add, c.relay));
      assert.equal(rep.verdict.result.hrmpWatermark, c.relay);
    });
  }

  it('a block whose state does not match the parent head is invalid with the panic message', async () => {
    const ph = head(5n, new Uint8Array(32), 10n);
    const rep = await validateParams(await pvf('adder'), params(ph, cat(le64(11n), le64(1n)), 1));
    assert.equal(rep.verdict.verdict, 'invalid');
    if (rep.verdict.verdict !== 'invalid') return;
    assert.equal(rep.verdict.reason, 'execution-error');
    assert.match(rep.verdict.detail, /^Executes block: StateMismatch \(.*unreachable.*\)$/);
    assert.deepEqual(
      rep.logs.map((l) => [l.level, l.target, l.message]),
      [['error', 'runtime', 'Executes block: StateMismatch']],
    );
  });

  it('truncated params are invalid (the PVF panics decoding them)', async () => {
    const ph = head(0n, new Uint8Array(32), 0n);
    const full = params(ph, cat(le64(0n), le64(1n)), 1);
    const rep = await validateParams(await pvf('adder'), full.subarray(0, full.length - 5));
    assert.deepEqual([rep.verdict.verdict, rep.verdict.verdict === 'invalid' && rep.verdict.detail.split(' (')[0]], [
      'invalid',
      'Invalid input data: input too short',
    ]);
  });
});

describe('hostile PVFs', () => {
  const cases: Array<{ name: string; reason: string; detail: RegExp }> = [
    { name: 'unreachable', reason: 'execution-error', detail: /^panicked at 'hostile: unreachable' \(.*unreachable.*\)$/ },
    { name: 'oob_load', reason: 'execution-error', detail: /memory access out of bounds/ },
    { name: 'malloc_40mib', reason: 'execution-error', detail: /^Failed to allocate memory \(41943040 bytes\): allocator: requested allocation exceeds/ },
    { name: 'missing_import', reason: 'execution-error', detail: /^call to a missing function env:ext_storage_get_version_1/ },
    { name: 'ptr_outside', reason: 'bad-output', detail: /returned 33554432 bytes at 1048576, outside memory of 1114112 bytes/ },
    { name: 'undecodable', reason: 'bad-output', detail: /^validation result decoding failed: not enough data for byte vector/ },
    { name: 'infinite_recursion', reason: 'execution-error', detail: /stack overflow/ },
  ];
  for (const c of cases) {
    it(`${c.name} → invalid: ${c.reason}`, async () => {
      const rep = await validateParams(await pvf(`hostile/${c.name}`), new Uint8Array(0));
      assert.equal(rep.verdict.verdict, 'invalid', JSON.stringify(rep.verdict));
      if (rep.verdict.verdict !== 'invalid') return;
      assert.equal(rep.verdict.reason, c.reason);
      assert.match(rep.verdict.detail, c.detail);
    });
  }
});
