/**
 * A seeded generator of small PVF-shaped Wasm modules for property tests, written as bytes (no
 * assembler): validate_block (i32, i32) -> i64 whose body is a random stack-neutral mix of integer
 * and float arithmetic (NaN-producing included), memory loads, stores, size and grow, bounded loops,
 * blocks and ifs, direct calls to helpers and call_indirect through a table, globals, selects and
 * conversions; the memory imported as env.memory or defined and exported as `memory`; `__heap_base`;
 * sometimes a host import (ext_allocator_malloc_version_1). A few modules use what the feature gate
 * or an engine refuses (sign-extension, bulk memory, non-trapping conversions, SIMD), so that
 * pre-checking rejects or abstains on some of them. validate_block returns either an empty span
 * (undecodable output) or 12 zero bytes at 1024 (an empty ValidationResult: valid).
 */
import { concatBytes, leb128 } from '../../core/primitives/bytes.ts';

type Rng = () => number;

function sleb(n: bigint): number[] {
  const out: number[] = [];
  for (;;) {
    const b = Number(n & 0x7fn);
    n >>= 7n;
    const done = (n === 0n && (b & 0x40) === 0) || (n === -1n && (b & 0x40) !== 0);
    out.push(done ? b : b | 0x80);
    if (done) return out;
  }
}

const u = (n: number): number[] => [...leb128(n)];
const vec = (items: number[][]): number[] => [...u(items.length), ...items.flat()];
const str = (s: string): number[] => [...u(s.length), ...Buffer.from(s, 'utf8')];
const section = (id: number, body: number[]): number[] => [id, ...u(body.length), ...body];

function f64(x: number): number[] {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(x);
  return [...b];
}
function f32(x: number): number[] {
  const b = Buffer.alloc(4);
  b.writeFloatLE(x);
  return [...b];
}

const I32 = 0x7f;
const I64 = 0x7e;
const F32 = 0x7d;
const F64 = 0x7c;

// Types: 0 validate_block (i32 i32) -> i64; 1 (i32) -> i32; 2 () -> (); 3 (f64) -> f64.
const TYPES = [
  [0x60, 2, I32, I32, 1, I64],
  [0x60, 1, I32, 1, I32],
  [0x60, 0, 0],
  [0x60, 1, F64, 1, F64],
];

interface Shape {
  importMalloc: boolean;
  /** Function index of the first defined function (after imports). */
  base: number;
  table: number; // entries, 0 = no table
  /** Rare features: sign-ext, bulk memory, sat conversions, SIMD. */
  exotic: boolean;
}

const FLOATS = [0, -0, 1.5, -2.25, Infinity, -Infinity, NaN, 1e308, 5e-324, 3];

function pick<T>(r: Rng, xs: readonly T[]): T {
  return xs[r() % xs.length];
}

/** A stack-neutral instruction sequence; `locals`: 0,1 params (i32), 2 i32 counter, 3 f64. */
function snippet(r: Rng, s: Shape, depth: number, inLoop: boolean): number[] {
  const kinds = depth > 2 ? 9 : 13;
  const k = r() % kinds;
  const i32c = (): number[] => [0x41, ...sleb(BigInt((r() % 2001) - 1000))];
  switch (k) {
    case 0: // i32 arithmetic (division may trap)
      return [...i32c(), ...i32c(), pick(r, [0x6a, 0x6b, 0x6c, 0x6d, 0x6f, 0x71, 0x72, 0x73, 0x74, 0x75, 0x77, 0x46, 0x48]), 0x1a];
    case 1: // i64 arithmetic
      return [0x42, ...sleb(BigInt(r()) * BigInt(r() % 7) - 3n), 0x42, ...sleb(BigInt(r() % 300)), pick(r, [0x7c, 0x7d, 0x7e, 0x7f, 0x83, 0x84, 0x85, 0x86, 0x89]), 0x1a];
    case 2: // f64 arithmetic, NaNs included
      return [0x44, ...f64(pick(r, FLOATS)), 0x44, ...f64(pick(r, FLOATS)), pick(r, [0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6]), 0x1a];
    case 3: // f32 unary and binary
      return r() & 1
        ? [0x43, ...f32(pick(r, FLOATS)), pick(r, [0x8b, 0x8c, 0x8d, 0x8e, 0x8f, 0x90, 0x91]), 0x1a]
        : [0x43, ...f32(pick(r, FLOATS)), 0x43, ...f32(pick(r, FLOATS)), pick(r, [0x92, 0x93, 0x94, 0x95, 0x96, 0x97]), 0x1a];
    case 4: {
      // memory: store then load, in bounds (or, rarely, far out: a trap)
      const addr = r() % 50 === 0 ? 0x7fff0000 : 2048 + (r() % 60000);
      const a = [0x41, ...sleb(BigInt(addr))];
      return r() & 1
        ? [...a, ...i32c(), 0x36, 2, ...u(r() % 64)]
        : [...a, pick(r, [0x28, 0x29, 0x2c, 0x2d, 0x2e, 0x2f, 0x2b]), 0, ...u(r() % 64), 0x1a];
    }
    case 5: // memory.size / memory.grow
      return r() & 1 ? [0x3f, 0, 0x1a] : [0x41, ...sleb(BigInt(r() % 3)), 0x40, 0, 0x1a];
    case 6: // a helper call
      return pick(r, [[...i32c(), 0x10, ...u(s.base + 1), 0x1a], [0x10, ...u(s.base + 2)], [0x44, ...f64(pick(r, FLOATS)), 0x10, ...u(s.base + 3), 0x1a]]);
    case 7: // call_indirect, index in range (rarely out of it: a trap)
      if (!s.table) return [...i32c(), 0x1a];
      return [...i32c(), 0x41, ...sleb(BigInt(r() % 20 === 0 ? s.table : r() % s.table)), 0x11, 1, 0, 0x1a];
    case 8: // select, conversions, a mutable global
      return pick(r, [
        [...i32c(), ...i32c(), ...i32c(), 0x1b, 0x1a],
        [0x44, ...f64(pick(r, FLOATS)), 0xaa, 0x1a], // i32.trunc_f64_s: traps on NaN / overflow
        [...i32c(), 0xb7, 0x1a],
        [0x44, ...f64(pick(r, FLOATS)), 0xbd, 0x1a],
        [0x23, 1, ...i32c(), 0x6a, 0x24, 1],
        s.importMalloc ? [0x41, ...sleb(BigInt(r() % 4096)), 0x10, 0, 0x1a] : [...i32c(), 0x1a],
      ]);
    case 9: {
      // a bounded loop on local 2
      if (inLoop) return [...i32c(), 0x1a];
      const body = snippets(r, s, depth + 1, 1 + (r() % 3), true);
      return [0x41, ...sleb(BigInt(1 + (r() % 20))), 0x21, 2, 0x03, 0x40, ...body, 0x20, 2, 0x41, 1, 0x6b, 0x22, 2, 0x0d, 0, 0x0b];
    }
    case 10: // if / else
      return [...i32c(), 0x04, 0x40, ...snippets(r, s, depth + 1, 1 + (r() % 2), inLoop), 0x05, ...snippets(r, s, depth + 1, r() % 2, inLoop), 0x0b];
    case 11: // block with a conditional branch out
      return [0x02, 0x40, ...i32c(), 0x0d, 0, ...snippets(r, s, depth + 1, 1 + (r() % 2), inLoop), 0x0b];
    default: {
      if (!s.exotic) return [...i32c(), 0x1a];
      return pick(r, [
        [...i32c(), 0xc0, 0x1a], // i32.extend8_s (sign-extension)
        [0x41, 0x80, 0x10, 0x41, 0, 0x41, 8, 0xfc, 11, 0], // memory.fill (bulk memory)
        [0x44, ...f64(pick(r, FLOATS)), 0xfc, 2, 0x1a], // i32.trunc_sat_f64_s (non-trapping)
        [0xfd, 12, ...new Array(16).fill(0), 0x1a], // v128.const (SIMD)
      ]);
    }
  }
}

function snippets(r: Rng, s: Shape, depth: number, n: number, inLoop: boolean): number[] {
  const out: number[] = [];
  for (let k = 0; k < n; k++) out.push(...snippet(r, s, depth, inLoop));
  return out;
}

function body(locals: number[][], code: number[]): number[] {
  const b = [...vec(locals), ...code, 0x0b];
  return [...u(b.length), ...b];
}

/** One generated module from the seeded source `r`. */
export function generateModule(r: Rng): Uint8Array {
  const importMemory = r() % 3 === 0;
  const importMalloc = r() % 4 === 0;
  const s: Shape = { importMalloc, base: importMalloc ? 1 : 0, table: r() % 3 === 0 ? 0 : 1 + (r() % 3), exotic: r() % 12 === 0 };
  const imports: number[][] = [];
  if (importMalloc) imports.push([...str('env'), ...str('ext_allocator_malloc_version_1'), 0x00, 1]);
  if (importMemory) imports.push([...str('env'), ...str('memory'), 0x02, 0x00, 17]);
  const valid = r() & 1;
  const ret = valid ? [0x42, ...sleb((12n << 32n) | 1024n)] : [0x42, 0];
  const vb = body([[2, I32], [1, F64]], [...snippets(r, s, 0, 1 + (r() % 8), false), ...ret]);
  const f1 = body([], [0x20, 0, 0x41, ...sleb(BigInt(r() % 100)), 0x6a]);
  const f2 = body([[1, I32]], snippets(r, s, 3, r() % 3, true));
  const f3 = body([], [0x20, 0, 0x44, ...f64(pick(r, FLOATS)), 0xa2]);
  const parts: number[][] = [
    [0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0],
    section(1, vec(TYPES)),
  ];
  if (imports.length) parts.push(section(2, vec(imports)));
  parts.push(section(3, vec([[0], [1], [2], [3]])));
  if (s.table) parts.push(section(4, vec([[0x70, 0x00, ...u(s.table)]])));
  if (!importMemory) parts.push(section(5, vec([r() & 1 ? [0x00, 17] : [0x01, 17, ...u(17 + (r() % 100))]])));
  // globals: 0 __heap_base (immutable), 1 a mutable counter
  parts.push(section(6, vec([[I32, 0x00, 0x41, ...sleb(BigInt(16 * 65536)), 0x0b], [I32, 0x01, 0x41, 0, 0x0b]])));
  const exports = [[...str('validate_block'), 0x00, ...u(s.base)], [...str('__heap_base'), 0x03, 0]];
  if (!importMemory) exports.push([...str('memory'), 0x02, 0]);
  parts.push(section(7, vec(exports)));
  if (s.table) {
    const fns = Array.from({ length: s.table }, () => u(s.base + 1));
    parts.push(section(9, vec([[0x00, 0x41, 0, 0x0b, ...vec(fns)]])));
  }
  parts.push(section(10, vec([vb, f1, f2, f3])));
  if (r() & 1) parts.push(section(11, vec([[0x00, 0x41, ...sleb(4096n), 0x0b, ...vec([[1], [2], [3]])]])));
  return concatBytes(parts.map((p) => Uint8Array.from(p)));
}

/** A byte mutant of `code`: bytes flipped, inserted, deleted, or the tail cut. */
export function mutate(r: Rng, code: Uint8Array): Uint8Array {
  const b = Array.from(code);
  const n = 1 + (r() % 4);
  for (let k = 0; k < n && b.length > 8; k++) {
    const at = 8 + (r() % (b.length - 8));
    switch (r() % 5) {
      case 0:
        b[at] ^= 1 << (r() % 8);
        break;
      case 1:
        b[at] = r() & 0xff;
        break;
      case 2:
        b.splice(at, 0, r() & 0xff);
        break;
      case 3:
        b.splice(at, 1);
        break;
      default:
        b.length = at;
    }
  }
  return Uint8Array.from(b);
}
