/**
 * core/prepare/instrument.ts: the wasm-instrument stack limiter and NaN canonicalization, checked by
 * running the rewritten modules on V8.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assembleWat } from '../build/wat.ts';
import { CODE_BOMB_LIMIT, decompressAs } from '../core/candidate/blob.ts';
import { InstrumentError, canonicalizeNans, injectStackLimiter, stackCosts } from '../core/prepare/instrument.ts';

const PVF_DIR = fileURLToPath(new URL('../../shared/fixtures/pvf/', import.meta.url));
const SKIP_PVF = existsSync(PVF_DIR) ? false : `../shared/fixtures/pvf absent (${PVF_DIR})`;

type Exports = Record<string, (...args: Array<number | bigint>) => number | bigint>;

/** The exported depth global, read without calling into the (possibly poisoned) instance. */
function depth(e: Exports): number {
  return (e.depth as unknown as WebAssembly.Global).value as number;
}

async function run(code: Uint8Array, imports: WebAssembly.Imports = {}): Promise<Exports> {
  assert.ok(WebAssembly.validate(code), 'the rewritten module must validate');
  const instance = await WebAssembly.instantiate(new WebAssembly.Module(code), imports);
  return instance.exports as unknown as Exports;
}

/** Function bodies of the code section (the bytes after each size). */
function bodies(code: Uint8Array): Uint8Array[] {
  let pos = 8;
  const u32 = (): number => {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = code[pos++];
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
    }
  };
  while (pos < code.length) {
    const id = code[pos++];
    const size = u32();
    const end = pos + size;
    if (id === 10) {
      const out: Uint8Array[] = [];
      for (let n = u32(); n > 0; n--) {
        const len = u32();
        out.push(code.subarray(pos, pos + len));
        pos += len;
      }
      return out;
    }
    pos = end;
  }
  return [];
}

function traps(f: () => unknown): void {
  assert.throws(f, (e: unknown) => e instanceof WebAssembly.RuntimeError && /unreachable/.test(e.message));
}

describe('injectStackLimiter (wasm-instrument stack_limiter)', () => {
  // Direct recursion. Stack cost of $f = declared locals (0: params do not count) + max height:
  //   height starts at ACTIVATION_FRAME_COST 2; local.get 3; global.set 2; local.get 3;
  //   i32.const 4; i32.ge_u 3; if pops 1 → 2 (frame start 2); local.get 3; `else` leaves the
  //   height at 3 (the crate does not reset it); local.get 4; i32.const 5 (max, seen before
  //   i32.add); i32.add 4; call 4; end 2+1 = 3; end.  cost($f) = 5.
  // From JS, the export thunk adds 5 for the frame n = 0; each recursive call adds 5, so the frame
  // for n exists at stack_height 5(n+1), and the call trapping is the first with 5(n+1) > max:
  // the deepest n reached is floor(max / 5) - 1 (65536 → 13106, 1000 → 199).
  const RECURSIVE = `(module
    (global $depth (export "depth") (mut i32) (i32.const 0))
    (func $f (export "f") (param $n i32) (result i32)
      (global.set $depth (local.get $n))
      (if (result i32) (i32.ge_u (local.get $n) (i32.const 100000000))
        (then (local.get $n))
        (else (call $f (i32.add (local.get $n) (i32.const 1)))))))`;

  it('computes the crate stack cost of the recursive function by hand', async () => {
    const code = await assembleWat(RECURSIVE);
    assert.deepEqual(stackCosts(code), [5]);
  });

  for (const max of [1000, 65536]) {
    it(`traps at the depth the algorithm predicts (logical_max ${max})`, async () => {
      const code = injectStackLimiter(await assembleWat(RECURSIVE), max);
      const e = await run(code);
      traps(() => e.f(0));
      assert.equal(depth(e), Math.floor(max / 5) - 1);
      // As the crate documents, a trap skips the postambles: stack_height stays where it was, so
      // the same instance traps at once (polkadot never reuses an instance after a trap).
      traps(() => e.f(0));
      assert.equal(depth(e), Math.floor(max / 5) - 1, 'f did not run again');
    });
  }

  it('a frame exactly at the limit passes (the check is >, not >=)', async () => {
    // max = 5k: the frame n = k-1 sits at 5k = max and runs; n = k would be 5(k+1) > max.
    const e = await run(injectStackLimiter(await assembleWat(RECURSIVE), 50));
    traps(() => e.f(0));
    assert.equal(depth(e), 9);
    // With a cap that stops the recursion first, the call returns and the counter is restored.
    const ok = await run(injectStackLimiter(await assembleWat(RECURSIVE.replace('100000000', '9')), 50));
    assert.equal(ok.f(0), 9);
    assert.equal(ok.f(0), 9, 'stack_height returns to 0 after each call');
  });

  // Recursion only through call_indirect: the element segment points to $g's thunk.
  // cost($g): 2; local.get 3; global.set 2; local.get 3; i32.const 4; i32.add 3; i32.const 4
  //   (max); call_indirect pops 1, pops 1, pushes 1 → 3; end. = 4.
  // cost($run): 2; i32.const 3; i32.const 4 (max); call_indirect → 3; end. = 4.
  // run's export thunk: 4; g(0) through the table: 8; g(n) at 4(n+2): deepest n = floor(max/4) - 2.
  const INDIRECT = `(module
    (type $t (func (param i32) (result i32)))
    (table 1 funcref)
    (elem (i32.const 0) $g)
    (global $depth (export "depth") (mut i32) (i32.const -1))
    (func $g (type $t) (param $n i32) (result i32)
      (global.set $depth (local.get $n))
      (call_indirect (type $t) (i32.add (local.get $n) (i32.const 1)) (i32.const 0)))
    (func (export "run") (result i32) (call_indirect (type $t) (i32.const 0) (i32.const 0))))`;

  it('accounts calls through the table (element segments point to thunks)', async () => {
    const src = await assembleWat(INDIRECT);
    assert.deepEqual(stackCosts(src), [4, 4]);
    // (65536 would need ~32k V8 frames here, thunks included: more than V8's default native stack.)
    for (const max of [1000, 20000]) {
      const e = await run(injectStackLimiter(src, max));
      traps(() => e.run());
      assert.equal(depth(e), Math.floor(max / 4) - 2);
    }
  });

  it('accounts the entry from outside (exported functions go through thunks)', async () => {
    const src = await assembleWat(INDIRECT);
    const e3 = await run(injectStackLimiter(src, 3));
    traps(() => e3.run()); // run's thunk: 4 > 3
    assert.equal(depth(e3), -1);
    const e7 = await run(injectStackLimiter(src, 7));
    traps(() => e7.run()); // run: 4, g(0) through the table: 8 > 7, g never runs
    assert.equal(depth(e7), -1);
    const e8 = await run(injectStackLimiter(src, 8));
    traps(() => e8.run()); // g(0) runs at 8, g(1) would be at 12
    assert.equal(depth(e8), 0);
  });

  it('emits exactly the crate sequence; imports are not instrumented; thunks come last', async () => {
    const src = await assembleWat(`(module
      (func $imp (import "env" "imp"))
      (func $a (export "a") (local i64) call $b call $imp)
      (func $b))`);
    assert.deepEqual(stackCosts(src), [0, 3, 2]);
    const out = injectStackLimiter(src, 1024);
    // global 0 (the module had none); limit 1024 = sleb 0x80 0x08
    const pre = (cost: number) => [0x23, 0, 0x41, cost, 0x6a, 0x24, 0, 0x23, 0, 0x41, 0x80, 0x08, 0x4b, 0x04, 0x40, 0x00, 0x0b];
    const post = (cost: number) => [0x23, 0, 0x41, cost, 0x6b, 0x24, 0];
    const [a, b, thunk] = bodies(out);
    assert.deepEqual([...a], [1, 1, 0x7e, ...pre(2), 0x10, 2, ...post(2), 0x10, 0, 0x0b]);
    assert.deepEqual([...b], [0, 0x0b]);
    assert.deepEqual([...thunk], [0, ...pre(3), 0x10, 1, ...post(3), 0x0b]);
    const calls: string[] = [];
    const e = await run(out, { env: { imp: () => calls.push('imp') } });
    e.a();
    assert.deepEqual(calls, ['imp']);
    const mod = new WebAssembly.Module(out);
    assert.deepEqual(WebAssembly.Module.exports(mod), [{ name: 'a', kind: 'function' }]);
  });

  it('passes arguments through thunks and appends the global after the existing ones', async () => {
    const src = await assembleWat(`(module
      (global $g0 (mut i32) (i32.const 7))
      (global $g1 i64 (i64.const 8))
      (func (export "sub") (param i32 i64 f64) (result f64)
        (f64.sub (f64.convert_i32_s (local.get 0)) (f64.add (f64.convert_i64_s (local.get 1)) (local.get 2))))
      (func (export "g0") (result i32) (global.get $g0)))`);
    const out = injectStackLimiter(src, 100);
    const e = await run(out);
    assert.equal(e.sub(10, 3n, 0.5), 6.5);
    assert.equal(e.g0(), 7);
    // thunk bodies reference global 2 (after the two existing globals)
    const thunk = bodies(out)[2];
    assert.deepEqual([...thunk.subarray(0, 9)], [0, 0x20, 0, 0x20, 1, 0x20, 2, 0x23, 2]);
  });

  it('throws InstrumentError where the crate errors out', async () => {
    // Valid Wasm that the crate's abstract stack rejects: in unreachable code inside a block,
    // `select` pops below zero ("stack underflow").
    const src = await assembleWat(`(module (func
      (block unreachable (i32.const 1) select select drop)))`);
    assert.ok(WebAssembly.validate(src));
    assert.throws(() => injectStackLimiter(src, 65536), InstrumentError);
    // An imported immutable global: the crate's index (section-relative) names it.
    const imp = await assembleWat(`(module (import "env" "g" (global i32)) (func (export "f")))`);
    assert.throws(() => injectStackLimiter(imp, 65536), /imported globals/);
    // The strict mode rejects what parity-wasm cannot decode.
    const sat = await assembleWat(`(module (func (export "f") (param f32) (result i32) (i32.trunc_sat_f32_s (local.get 0))))`, 'sat.wat', {
      sat_float_to_int: true,
    });
    assert.throws(() => injectStackLimiter(sat, 65536, { strict: true }), InstrumentError);
    const e = await run(injectStackLimiter(sat, 65536));
    assert.equal(e.f(1e20), 2147483647);
  });
});

describe('canonicalizeNans (cranelift nan_canonicalization)', () => {
  const SRC = `(module
    (func (export "div00") (result i32) (i32.reinterpret_f32 (f32.div (f32.const 0) (f32.const 0))))
    (func (export "sqrtm1") (result i64) (i64.reinterpret_f64 (f64.sqrt (f64.const -1))))
    (func (export "add32") (param i32 i32) (result i32)
      (i32.reinterpret_f32 (f32.add (f32.reinterpret_i32 (local.get 0)) (f32.reinterpret_i32 (local.get 1)))))
    (func (export "add64") (param i64 i64) (result i64)
      (i64.reinterpret_f64 (f64.add (f64.reinterpret_i64 (local.get 0)) (f64.reinterpret_i64 (local.get 1)))))
    (func (export "min32") (param i32 i32) (result i32)
      (i32.reinterpret_f32 (f32.min (f32.reinterpret_i32 (local.get 0)) (f32.reinterpret_i32 (local.get 1)))))
    (func (export "neg32") (param i32) (result i32) (i32.reinterpret_f32 (f32.neg (f32.reinterpret_i32 (local.get 0)))))
    (func (export "promote") (param i32) (result i64) (i64.reinterpret_f64 (f64.promote_f32 (f32.reinterpret_i32 (local.get 0)))))
    (func (export "demote") (param i64) (result i32) (i32.reinterpret_f32 (f32.demote_f64 (f64.reinterpret_i64 (local.get 0)))))
    (func (export "mixed") (param f32 f64) (result f64) (local i32)
      (f64.add (f64.promote_f32 (f32.mul (local.get 0) (local.get 0))) (f64.sqrt (local.get 1))))
    (func (export "unreach") (result f32) unreachable f32.add))`;

  it('NaN results become canonical; other results are unchanged', async () => {
    const e = await run(canonicalizeNans(await assembleWat(SRC)));
    const one32 = 0x3f800000;
    assert.equal((e.div00() as number) >>> 0, 0x7fc00000);
    assert.equal(BigInt.asUintN(64, e.sqrtm1() as bigint), 0x7ff8000000000000n);
    assert.equal((e.add32(0x7fa00001, one32) as number) >>> 0, 0x7fc00000); // signalling NaN with payload
    assert.equal((e.add32(0xffc12345 | 0, one32) as number) >>> 0, 0x7fc00000); // negative quiet NaN
    assert.equal(BigInt.asUintN(64, e.add64(0xfff0000000000123n, 0n) as bigint), 0x7ff8000000000000n);
    assert.equal((e.min32(0x7f800001, one32) as number) >>> 0, 0x7fc00000);
    assert.equal(BigInt.asUintN(64, e.promote(0x7f800001) as bigint), 0x7ff8000000000000n);
    assert.equal((e.demote(0x7ff0000000000001n) as number) >>> 0, 0x7fc00000);
    // not NaN: unchanged
    assert.equal((e.add32(0x3fc00000, 0x40100000) as number) >>> 0, 0x40700000); // 1.5 + 2.25 = 3.75
    assert.equal((e.min32(0x80000000 | 0, 0) as number) >>> 0, 0x80000000); // min(-0, 0) = -0
    assert.equal(BigInt.asUintN(64, e.add64(0xfff0000000000000n, 0n) as bigint), 0xfff0000000000000n); // -inf
    assert.equal(e.mixed(1.5, 16), 6.25);
    assert.ok(Number.isNaN(e.mixed(NaN, 1)));
    // sign-bit operations keep NaN payloads (cranelift leaves fneg/fabs/fcopysign alone)
    assert.equal((e.neg32(0x7fa00001) as number) >>> 0, 0xffa00001);
    traps(() => e.unreach());
  });

  it('leaves functions without float arithmetic byte-identical', async () => {
    const src = await assembleWat(`(module (func (export "f") (param i32) (result i32) (i32.add (local.get 0) (i32.const 1))))`);
    assert.deepEqual(canonicalizeNans(src), src);
  });

  it('composes with the stack limiter', async () => {
    const out = canonicalizeNans(injectStackLimiter(await assembleWat(SRC), 65536));
    const e = await run(out);
    assert.equal((e.div00() as number) >>> 0, 0x7fc00000);
  });
});

describe('real PVFs', { skip: SKIP_PVF }, () => {
  const files = SKIP_PVF ? [] : readdirSync(PVF_DIR).filter((f) => f.endsWith('.wasm'));
  for (const f of files) {
    it(`${f}: instruments and still validates`, async (t) => {
      const { bytes } = await decompressAs('code', readFileSync(join(PVF_DIR, f)), CODE_BOMB_LIMIT);
      let at = performance.now();
      const limited = injectStackLimiter(bytes, 65536);
      const tLimit = performance.now() - at;
      at = performance.now();
      const out = canonicalizeNans(limited);
      const tNan = performance.now() - at;
      assert.ok(WebAssembly.validate(limited));
      assert.ok(WebAssembly.validate(out));
      const exports = WebAssembly.Module.exports(new WebAssembly.Module(out)).map((x) => x.name);
      assert.ok(exports.includes('validate_block'));
      const msg = `${f}: ${bytes.length} → ${out.length} bytes; stack limiter ${tLimit.toFixed(0)} ms, NaN canonicalization ${tNan.toFixed(0)} ms`;
      t.diagnostic(msg);
      console.log(msg);
    });
  }
});
