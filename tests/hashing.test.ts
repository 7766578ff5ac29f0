/**
 * The Wasm-compiled hashers (hash-wasm, core/primitives/hashing.ts) give the same bytes as the
 * JavaScript ones for blake2_128, blake2_256 and twox_64/128/256, on the empty input, on inputs
 * around the block sizes (BLAKE2b 128 bytes, xxHash64 32 bytes) and on many random inputs; and the
 * known digests of sp_core::hashing still come out after the switch.
 */
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { blake2_128, blake2_256, initFastHashing, reference, twox_128, twox_256, twox_64 } from '../core/primitives/hashing.ts';
import { xorshift } from './support/xorshift.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('Wasm-compiled hashers agree with the JavaScript ones', () => {
  before(() => initFastHashing());

  it('on edge lengths and 2,000 random inputs (seed 20261206)', () => {
    const rng = xorshift(20261206);
    const inputs: Uint8Array[] = [];
    for (const n of [0, 1, 31, 32, 33, 63, 64, 65, 127, 128, 129, 255, 256, 257, 1023, 1024, 1025, 65536]) inputs.push(Uint8Array.from({ length: n }, (_, k) => (k * 31 + n) & 255));
    for (let k = 0; k < 2000; k++) inputs.push(Uint8Array.from({ length: rng() % 700 }, () => rng() & 255));
    for (const x of inputs) {
      assert.equal(hex(blake2_128(x)), hex(reference.blake2_128(x)), `blake2_128 of ${x.length} bytes`);
      assert.equal(hex(blake2_256(x)), hex(reference.blake2_256(x)), `blake2_256 of ${x.length} bytes`);
      assert.equal(hex(twox_64(x)), hex(reference.twox(x, 1)), `twox_64 of ${x.length} bytes`);
      assert.equal(hex(twox_128(x)), hex(reference.twox(x, 2)), `twox_128 of ${x.length} bytes`);
      assert.equal(hex(twox_256(x)), hex(reference.twox(x, 4)), `twox_256 of ${x.length} bytes`);
    }
  });

  it('results are copies: a later call never changes an earlier digest', () => {
    const x = Uint8Array.of(1, 2, 3);
    const y = Uint8Array.of(4, 5, 6);
    const fns = [blake2_128, blake2_256, twox_64, twox_128, twox_256];
    const firsts = fns.map((f) => f(x));
    fns.forEach((f) => f(y));
    assert.deepEqual(firsts.map(hex), fns.map((f) => hex(f(x))));
  });

  it('known digests (sp_core::hashing tests, Substrate storage prefixes)', () => {
    // twox_128(b"System") is the well-known pallet prefix 26aa394eea5630e07c48ae0c9558cef7.
    assert.equal(hex(twox_128(new TextEncoder().encode('System'))), '26aa394eea5630e07c48ae0c9558cef7');
    // blake2_256 of the empty input (BLAKE2b-256, RFC 7693 parameters).
    assert.equal(hex(blake2_256(new Uint8Array(0))), '0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8');
  });
});
