/**
 * The one Wasm instruction decoder: the feature gate, the stack limiter, the NaN pass and every
 * constant expression read through it. It knows the instructions a PVF may contain (MVP,
 * sign-extension, and the 0xfc-prefixed non-trapping conversions 0..7 and bulk memory 8..14) and
 * decodes their immediates; for anything else it fails naming the proposal the instruction belongs
 * to. Which of the 0xfc instructions are allowed is the caller's policy, not the decoder's.
 *
 * Immediates follow wasmparser without multi-memory and reference types: the memory index of
 * memory.size/grow/init/copy/fill and the table index of call_indirect/table.init/table.copy are
 * one zero byte; a memarg's alignment with bit 6 set (an explicit memory index) needs multi-memory.
 */
import type { WasmByteReader } from './wasm-bytes.ts';

/** i32, i64, f32, f64: the value types without SIMD and reference types. */
export const NUMERIC_VALUE_TYPES: ReadonlySet<number> = new Set([0x7f, 0x7e, 0x7d, 0x7c]);

/** One decoded instruction. Reused between calls to avoid allocation. */
export interface Instr {
  op: number;
  /** Sub-opcode of 0xfc instructions, else 0. */
  sub: number;
  /** The first index immediate: label, function, type, local, global, or data/elem segment. */
  a: number;
  /** Block type of block/loop/if: 0x40 (empty) or a numeric value type. */
  bt: number;
  /** br_table's labels, without the default (that is `a`). */
  targets: number[];
  /** Where the instruction starts and ends in the module's bytes. */
  start: number;
  end: number;
}

export function newInstr(): Instr {
  return { op: 0, sub: 0, a: 0, bt: 0, targets: [], start: 0, end: 0 };
}

/** Whether `op` opens a block that a later `end` (0x0b) closes. */
export function opensBlock(op: number): boolean {
  return op === 0x02 || op === 0x03 || op === 0x04;
}

function zeroByte(r: WasmByteReader, what: string): void {
  if (r.byte() !== 0) r.fail(what);
}

/** The proposal an opcode outside what the decoder knows belongs to. */
function unknownOp(r: WasmByteReader, op: number): never {
  if (op === 0xfd) r.fail('SIMD instructions are not enabled');
  if (op === 0xfe) r.fail('atomic instructions need threads');
  if (op === 0xfb) r.fail('GC instructions are not enabled');
  if (op === 0x12 || op === 0x13) r.fail('tail calls are not enabled');
  if (op === 0x1c || op === 0x25 || op === 0x26 || (op >= 0xd0 && op <= 0xd6)) r.fail(`operator 0x${op.toString(16)} needs reference types`);
  if (op === 0x06 || op === 0x07 || op === 0x08 || op === 0x09 || op === 0x0a || op === 0x18 || op === 0x19 || op === 0x1f) {
    r.fail('exception handling is not enabled');
  }
  return r.fail(`unknown operator 0x${op.toString(16)}`);
}

function decodeFc(r: WasmByteReader, ins: Instr): void {
  const sub = r.u32();
  ins.sub = sub;
  if (sub <= 7) return; // non-trapping float-to-int conversions: no immediates
  if (sub === 8) {
    ins.a = r.u32();
    zeroByte(r, 'memory.init on a memory other than 0');
  } else if (sub === 9 || sub === 13) ins.a = r.u32(); // data.drop, elem.drop
  else if (sub === 10) {
    zeroByte(r, 'memory.copy across memories');
    zeroByte(r, 'memory.copy across memories');
  } else if (sub === 11) zeroByte(r, 'memory.fill on a memory other than 0');
  else if (sub === 12) {
    ins.a = r.u32();
    zeroByte(r, 'table.init on a table other than 0 needs reference types');
  } else if (sub === 14) {
    zeroByte(r, 'table.copy across tables needs reference types');
    zeroByte(r, 'table.copy across tables needs reference types');
  } else if (sub <= 17) r.fail(`table operator 0xfc ${sub} needs reference types`);
  else r.fail(`operator 0xfc ${sub} is not enabled`);
}

/** Decode the instruction at r.pos into `ins`; fails on anything a PVF may not contain. */
export function decodeInstr(r: WasmByteReader, ins: Instr): void {
  ins.start = r.pos;
  const op = r.byte();
  ins.op = op;
  ins.sub = 0;
  if (opensBlock(op)) {
    const t = r.byte();
    if (t === 0x7b || t === 0x70 || t === 0x6f) r.fail('block type needs SIMD or reference types');
    if (t !== 0x40 && !NUMERIC_VALUE_TYPES.has(t)) r.fail('block with a type index needs multi-value');
    ins.bt = t;
  } else if (op === 0x0c || op === 0x0d || op === 0x10 || (op >= 0x20 && op <= 0x24)) {
    ins.a = r.u32();
  } else if (op === 0x0e) {
    const n = r.u32();
    const targets: number[] = [];
    for (let k = 0; k < n; k++) targets.push(r.u32());
    ins.targets = targets;
    ins.a = r.u32();
  } else if (op === 0x11) {
    ins.a = r.u32();
    zeroByte(r, 'call_indirect on a table other than 0 needs reference types');
  } else if (op >= 0x28 && op <= 0x3e) {
    if (r.u32() & 0x40) r.fail('memory index in memarg needs multi-memory');
    r.u32();
  } else if (op === 0x3f || op === 0x40) zeroByte(r, 'memory.size/grow on a memory other than 0 needs multi-memory');
  else if (op === 0x41) r.skipLeb(5);
  else if (op === 0x42) r.skipLeb(10);
  else if (op === 0x43) r.skip(4);
  else if (op === 0x44) r.skip(8);
  else if (op === 0xfc) decodeFc(r, ins);
  else if (!(op === 0x00 || op === 0x01 || op === 0x05 || op === 0x0b || op === 0x0f || op === 0x1a || op === 0x1b || (op >= 0x45 && op <= 0xc4))) {
    unknownOp(r, op); // 0xc0..0xc4 above: sign-extension
  }
  ins.end = r.pos;
}
