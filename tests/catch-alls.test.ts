/**
 * Finding 8 (catch-alls): only the errors that mean "the candidate is at fault" become `invalid`;
 * anything else is a fault of ours and `abstain`.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createDecoder } from 'scale-ts';
import { decodePrefix, ScaleError } from '../core/primitives/scale.ts';
import { decodePovFile, decodeValidationResult, decodeValidationParams } from '../core/candidate/codecs.ts';
import { decodeExecutorParams } from '../core/session/executor-params.ts';
import { decodeRuntimeVersion } from '../engines/v8/host/runtime-version.ts';
import { precheck } from '../core/candidate/precheck.ts';
import { inProcessV8 } from '../engines/v8/index.ts';
import { initZstd } from '../core/candidate/blob.ts';
import { pvf } from './support/pvfs.ts';
import { xorshift } from './support/xorshift.ts';

function* bytes(seed: number, count: number): Generator<Uint8Array> {
  const next = xorshift(seed);
  for (let k = 0; k < count; k++) {
    const b = new Uint8Array(next() % 80);
    for (let j = 0; j < b.length; j++) b[j] = next() & 0xff;
    // Bias towards small compact prefixes and Option tags, where the decoders branch.
    if (b.length > 0 && k % 2 === 0) b[0] &= 0x0f;
    yield b;
  }
}

describe('decoding a PVF result maps only the codec\'s own errors to bad-output', () => {
  it('an error that is not a ScaleError passes through decodePrefix unchanged (it is ours: abstain)', () => {
    const buggy = createDecoder((): number => {
      throw new TypeError('a bug in a decoder');
    });
    assert.throws(() => decodePrefix(buggy, Uint8Array.of(1, 2, 3)), (e: unknown) => e instanceof TypeError && !(e instanceof ScaleError));
  });

  it('malformed bytes still fail with ScaleError only (5000 seeded random inputs per decoder)', () => {
    const decoders: Array<[string, (b: Uint8Array) => unknown]> = [
      ['ValidationResult', decodeValidationResult],
      ['ValidationParams', decodeValidationParams],
      ['PoV file', decodePovFile],
      ['ExecutorParams', decodeExecutorParams],
      ['RuntimeVersion', (b) => decodeRuntimeVersion(b, undefined)],
    ];
    for (const [name, dec] of decoders) {
      let failures = 0;
      for (const b of bytes(name.length * 7919, 5000)) {
        try {
          dec(b);
        } catch (e) {
          failures++;
          assert.ok(e instanceof ScaleError, `${name} on ${Buffer.from(b).toString('hex')}: ${String(e)}`);
        }
      }
      assert.ok(failures > 0, `${name}: no input failed, the fuzz proves nothing`);
    }
  });
});

describe('precheck: only a CompileError is a reject', () => {
  it('a compile rejection that is not a CompileError (e.g. V8 out of memory) is abstain', async () => {
    const code = await pvf('adder');
    await initZstd(); // loads its own Wasm decoder once: before compile is replaced
    const original = WebAssembly.compile;
    WebAssembly.compile = () => Promise.reject(new RangeError('WebAssembly.compile(): Out of memory: wasm code'));
    let rep;
    try {
      rep = await precheck(code, inProcessV8, { limits: { maxPages: 2080 }, timeoutMs: 60000 });
    } finally {
      WebAssembly.compile = original;
    }
    assert.equal(rep.verdict, 'abstain', JSON.stringify(rep));
    assert.equal(rep.reason, 'internal-error');
  });

  it('a module V8 refuses (CompileError) is still a reject', async () => {
    // A code section with one body and no function section: well-formed for the feature gate,
    // refused by the validator (function and code section counts differ).
    const rep = await precheck(Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 10, 4, 1, 2, 0, 0x0b), inProcessV8, { limits: { maxPages: 2080 }, timeoutMs: 60000 });
    assert.equal(rep.verdict, 'invalid', JSON.stringify(rep));
    assert.equal(rep.reason, 'prevalidation');
  });
});
