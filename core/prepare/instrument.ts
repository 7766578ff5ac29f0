/**
 * Module rewrites that make every engine behave like polkadot's wasmtime:
 *
 * - `injectStackLimiter`: the deterministic stack limiter of parity's `wasm-instrument` crate
 *   (src/stack_limiter/{mod,max_height,thunk}.rs, unchanged since v0.1.1), as sc-executor-wasmtime
 *   applies it for `DeterministicStackLimit { logical_max }` (polkadot: logical_max 65536).
 * - `canonicalizeNans`: what cranelift's NaN canonicalization pass guarantees
 *   (cranelift/codegen/src/nan_canonicalization.rs): a NaN produced by float arithmetic becomes the
 *   canonical NaN.
 *
 * Apply the limiter first, then the NaN pass (polkadot computes the stack costs on the module
 * before cranelift sees it; the NaN pass adds locals and operand-stack slots that must not count).
 *
 * Function bodies are decoded instruction by instruction (core/wasm/instructions.ts) and re-emitted: unchanged instructions keep their original bytes,
 * inserted instructions use canonical LEB128. Sections that are not rewritten stay byte-identical
 * and in place.
 */
import { InvalidCandidate } from '../candidate/verdict.ts';
import { decodeInstr, newInstr, NUMERIC_VALUE_TYPES } from '../wasm/instructions.ts';
import { WasmByteReader, wasmSections, type WasmSection } from '../wasm/wasm-bytes.ts';

/** A module the stack limiter or NaN pass cannot rewrite: the candidate's fault, `prevalidation`. */
export class InstrumentError extends InvalidCandidate {
  override readonly name = 'InstrumentError';
  constructor(detail: string) {
    super('prevalidation', detail);
  }
}

export interface StackLimiterOptions {
  /**
   * Reject (InstrumentError) every 0xfc-prefixed instruction, as polkadot does: its RuntimeBlob is
   * parsed by parity-wasm 0.45, which cannot decode non-trapping float-to-int conversions at all,
   * and bulk memory only with its `bulk` feature, which wasm-instrument's exhaustive `match` does
   * not cover. Default false: those instructions get their natural stack effect.
   */
  strict?: boolean;
  /**
   * Traces only (`pvf validate --trace`): also keep the deepest value the counter reaches in a
   * second global and export both, as `pvf:stack_height` and `pvf:stack_max`, so the engine can
   * read them. The limit check and its arithmetic are unchanged; a traced module is never cached
   * or judged in place of the plain one.
   */
  traceProbe?: boolean;
}

/** The exports a trace probe adds (StackLimiterOptions.traceProbe). */
export const STACK_PROBE_EXPORTS = { height: 'pvf:stack_height', max: 'pvf:stack_max' } as const;

/** The crate's ACTIVATION_FRAME_COST: every function's height starts at 2. */
export const ACTIVATION_FRAME_COST = 2;

// ---------------------------------------------------------------------------------------------
// Byte reading and writing

class Reader extends WasmByteReader {
  constructor(b: Uint8Array, start: number, end: number) {
    super(b, start, end, (m) => new InstrumentError(m));
  }
}

class Writer {
  buf = new Uint8Array(1024);
  len = 0;
  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }
  byte(x: number): void {
    this.room(1);
    this.buf[this.len++] = x;
  }
  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  u32(n: number): void {
    do {
      let b = n & 0x7f;
      n = Math.floor(n / 128);
      if (n !== 0) b |= 0x80;
      this.byte(b);
    } while (n !== 0);
  }
  /** Signed LEB128 of a 32-bit value (`n` is taken modulo 2^32, as Rust's `as i32`). */
  s32(n: number): void {
    let v = n | 0;
    for (;;) {
      const b = v & 0x7f;
      v >>= 7;
      if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) {
        this.byte(b);
        return;
      }
      this.byte(b | 0x80);
    }
  }
  out(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

// ---------------------------------------------------------------------------------------------
// Local declarations

/** Read a body's local declarations; returns the declared count (u32-checked, as parity-wasm). */
function readLocals(r: Reader): number {
  const groups = r.u32();
  let total = 0;
  for (let g = 0; g < groups; g++) {
    total += r.u32();
    if (total > 0xffffffff) r.fail('too many locals');
    const t = r.byte();
    if (!NUMERIC_VALUE_TYPES.has(t)) r.fail(`unsupported local type 0x${t.toString(16)}`);
  }
  return total;
}

// ---------------------------------------------------------------------------------------------
// Module structure

type Section = WasmSection;

interface FuncType {
  params: number[];
  results: number[];
}

interface Body {
  start: number;
  end: number;
}

interface ModuleInfo {
  sections: Section[];
  types: FuncType[];
  /** Type index of every function, imports first. */
  funcTypes: number[];
  importedFuncs: number;
  /** Types (valtype, mutable) of imported globals, then defined globals. */
  globals: Array<{ type: number; mutable: boolean }>;
  importedGlobals: number;
  bodies: Body[];
}

function splitSections(code: Uint8Array): Section[] {
  if (code.length < 8 || code[0] !== 0 || code[1] !== 0x61 || code[2] !== 0x73 || code[3] !== 0x6d) {
    throw new InstrumentError('not a Wasm module');
  }
  return [...wasmSections(code, (m) => new InstrumentError(m))];
}

function skipConstExpr(r: Reader): void {
  const ins = newInstr();
  for (;;) {
    decodeInstr(r, ins);
    if (ins.op === 0x0b) return;
  }
}

function parseModule(code: Uint8Array): ModuleInfo {
  const sections = splitSections(code);
  const info: ModuleInfo = { sections, types: [], funcTypes: [], importedFuncs: 0, globals: [], importedGlobals: 0, bodies: [] };
  for (const s of sections) {
    const r = new Reader(code, s.start, s.end);
    if (s.id === 1) {
      const n = r.u32();
      for (let k = 0; k < n; k++) {
        if (r.byte() !== 0x60) r.fail('unsupported type form');
        const params: number[] = [];
        const results: number[] = [];
        for (let p = r.u32(); p > 0; p--) params.push(r.byte());
        for (let p = r.u32(); p > 0; p--) results.push(r.byte());
        info.types.push({ params, results });
      }
    } else if (s.id === 2) {
      const n = r.u32();
      for (let k = 0; k < n; k++) {
        r.skip(r.u32());
        r.skip(r.u32());
        const kind = r.byte();
        if (kind === 0) {
          info.funcTypes.push(r.u32());
          info.importedFuncs++;
        } else if (kind === 1) {
          r.byte();
          const f = r.byte();
          r.u32();
          if (f & 1) r.u32();
        } else if (kind === 2) {
          const f = r.byte();
          r.u32();
          if (f & 1) r.u32();
        } else if (kind === 3) {
          const type = r.byte();
          info.globals.push({ type, mutable: r.byte() === 1 });
          info.importedGlobals++;
        } else r.fail(`unsupported import kind ${kind}`);
      }
    } else if (s.id === 3) {
      const n = r.u32();
      for (let k = 0; k < n; k++) info.funcTypes.push(r.u32());
    } else if (s.id === 6) {
      const n = r.u32();
      for (let k = 0; k < n; k++) {
        const type = r.byte();
        info.globals.push({ type, mutable: r.byte() === 1 });
        skipConstExpr(r);
      }
    } else if (s.id === 10) {
      const n = r.u32();
      for (let k = 0; k < n; k++) {
        const len = r.u32();
        info.bodies.push({ start: r.pos, end: r.pos + len });
        r.skip(len);
      }
    }
  }
  if (info.bodies.length !== info.funcTypes.length - info.importedFuncs) {
    throw new InstrumentError('function and code section sizes differ');
  }
  for (const t of info.funcTypes) if (t >= info.types.length) throw new InstrumentError(`type index ${t} out of range`);
  return info;
}

function assemble(code: Uint8Array, sections: Section[], replaced: Map<Section, Uint8Array | null>, extra?: { before: number; id: number; body: Uint8Array }): Uint8Array {
  const w = new Writer();
  w.bytes(code.subarray(0, 8));
  const emit = (id: number, body: Uint8Array): void => {
    w.byte(id);
    w.u32(body.length);
    w.bytes(body);
  };
  sections.forEach((s, k) => {
    if (extra && extra.before === k) emit(extra.id, extra.body);
    const rep = replaced.get(s);
    if (rep === undefined) w.bytes(code.subarray(s.head, s.end));
    else if (rep !== null) emit(s.id, rep);
  });
  if (extra && extra.before >= sections.length) emit(extra.id, extra.body);
  return w.out();
}

// ---------------------------------------------------------------------------------------------
// Stack limiter: max height (max_height.rs)

interface Frame {
  poly: boolean;
  endArity: number;
  branchArity: number;
  start: number;
}

/** The abstract value stack of max_height.rs, with its exact checks and error cases. */
class HeightStack {
  height = ACTIVATION_FRAME_COST;
  frames: Frame[] = [];
  frame(rel: number): Frame {
    const n = this.frames.length;
    if (n === 0) throw new InstrumentError('control stack is empty');
    if (rel > n - 1) throw new InstrumentError('control stack out-of-bounds');
    return this.frames[n - 1 - rel];
  }
  markUnreachable(): void {
    const n = this.frames.length;
    if (n === 0) throw new InstrumentError('stack must be non-empty');
    this.frames[n - 1].poly = true;
  }
  push(n: number): void {
    this.height += n;
    if (this.height > 0xffffffff) throw new InstrumentError('stack overflow');
  }
  pop(n: number): void {
    if (n === 0) return;
    const top = this.frame(0);
    if (this.height === top.start) {
      // Popping below the frame's start height is only allowed (as a no-op) in unreachable code.
      if (top.poly) return;
      throw new InstrumentError('trying to pop more values than pushed');
    }
    if (this.height < n) throw new InstrumentError('stack underflow');
    this.height -= n;
  }
}

/** Net stack effect (pops, pushes) of the plain value instructions, by opcode. */
function simpleEffect(op: number): [number, number] | undefined {
  if (op === 0x20 || op === 0x23) return [0, 1]; // local.get global.get
  if (op === 0x21 || op === 0x24 || op === 0x1a) return [1, 0]; // local.set global.set drop
  if (op === 0x22) return [1, 1]; // local.tee
  if (op >= 0x28 && op <= 0x35) return [1, 1]; // loads
  if (op >= 0x36 && op <= 0x3e) return [2, 0]; // stores
  if (op === 0x3f) return [0, 1]; // memory.size
  if (op === 0x40) return [1, 1]; // memory.grow
  if (op >= 0x41 && op <= 0x44) return [0, 1]; // consts
  if (op === 0x45 || op === 0x50) return [1, 1]; // eqz
  if ((op >= 0x46 && op <= 0x4f) || (op >= 0x51 && op <= 0x66)) return [2, 1]; // comparisons
  if ((op >= 0x67 && op <= 0x69) || (op >= 0x79 && op <= 0x7b)) return [1, 1]; // clz ctz popcnt
  if ((op >= 0x6a && op <= 0x78) || (op >= 0x7c && op <= 0x8a)) return [2, 1]; // integer binary
  if ((op >= 0x8b && op <= 0x91) || (op >= 0x99 && op <= 0x9f)) return [1, 1]; // float unary
  if ((op >= 0x92 && op <= 0x98) || (op >= 0xa0 && op <= 0xa6)) return [2, 1]; // float binary
  if (op >= 0xa7 && op <= 0xbf) return [1, 1]; // conversions
  if (op >= 0xc0 && op <= 0xc4) return [1, 1]; // sign-extension
  return undefined;
}

/** max_height::compute for one defined function (its body from `start` to `end`). */
function maxHeight(code: Uint8Array, info: ModuleInfo, defined: number, opts: StackLimiterOptions): { locals: number; max: number } {
  const body = info.bodies[defined];
  const r = new Reader(code, body.start, body.end);
  const locals = readLocals(r);
  const sig = info.types[info.funcTypes[info.importedFuncs + defined]];
  const funcArity = sig.results.length;
  const s = new HeightStack();
  s.frames.push({ poly: false, endArity: funcArity, branchArity: funcArity, start: 0 });
  let max = 0;
  const ins = newInstr();
  while (r.pos < r.end) {
    // The crate updates the maximum before each instruction, except in unreachable code.
    if (s.height > max && !s.frame(0).poly) max = s.height;
    decodeInstr(r, ins);
    const op = ins.op;
    const eff = simpleEffect(op);
    if (eff) {
      s.pop(eff[0]);
      s.push(eff[1]);
      continue;
    }
    switch (op) {
      case 0x01: // nop
        break;
      case 0x02:
      case 0x03:
      case 0x04: {
        const endArity = ins.bt === 0x40 ? 0 : 1;
        if (op === 0x04) s.pop(1);
        s.frames.push({ poly: false, endArity, branchArity: op === 0x03 ? 0 : endArity, start: s.height });
        break;
      }
      case 0x05: // else: the crate leaves height and the polymorphic flag as they are
        break;
      case 0x0b: {
        const f = s.frames.pop();
        if (!f) throw new InstrumentError('stack must be non-empty');
        s.height = f.start;
        s.push(f.endArity);
        break;
      }
      case 0x00:
        s.markUnreachable();
        break;
      case 0x0c:
        s.pop(s.frame(ins.a).branchArity);
        s.markUnreachable();
        break;
      case 0x0d: {
        const arity = s.frame(ins.a).branchArity;
        s.pop(arity);
        s.pop(1);
        s.push(arity);
        break;
      }
      case 0x0e: {
        const arity = s.frame(ins.a).branchArity;
        for (const t of ins.targets) {
          if (s.frame(t).branchArity !== arity) throw new InstrumentError('Arity of all jump-targets must be equal');
        }
        s.pop(arity);
        s.markUnreachable();
        break;
      }
      case 0x0f:
        s.pop(funcArity);
        s.markUnreachable();
        break;
      case 0x10: {
        const t = info.funcTypes[ins.a];
        if (t === undefined) throw new InstrumentError('Function at the specified index is not defined');
        const ty = info.types[t];
        s.pop(ty.params.length);
        s.push(ty.results.length);
        break;
      }
      case 0x11: {
        const ty = info.types[ins.a];
        if (!ty) throw new InstrumentError('Type not found');
        s.pop(1);
        s.pop(ty.params.length);
        s.push(ty.results.length);
        break;
      }
      case 0x1b:
        s.pop(2);
        s.pop(1);
        s.push(1);
        break;
      case 0xfc: {
        const sub = ins.sub;
        if (opts.strict) throw new InstrumentError(`instruction 0xfc ${sub} cannot be decoded by parity-wasm (polkadot's stack limiter input)`);
        if (sub <= 7) {
          s.pop(1);
          s.push(1);
        } else if (sub === 8 || sub === 10 || sub === 11 || sub === 12 || sub === 14) s.pop(3);
        break; // data.drop, elem.drop: no effect
      }
      default:
        throw new InstrumentError(`unsupported instruction 0x${op.toString(16)}`);
    }
  }
  return { locals, max };
}

// ---------------------------------------------------------------------------------------------
// Stack limiter: rewriting (mod.rs, thunk.rs)

/** Emit the crate's instrumented call: preamble, `call callee`, postamble. */
function emitInstrumentedCall(w: Writer, callee: number, cost: number, global: number, limit: number, probe?: number): void {
  w.byte(0x23); // global.get stack_height
  w.u32(global);
  w.byte(0x41); // i32.const cost
  w.s32(cost);
  w.byte(0x6a); // i32.add
  w.byte(0x24); // global.set
  w.u32(global);
  if (probe !== undefined) {
    // Trace probe: stack_max = max(stack_max, stack_height), unsigned as the limit check.
    w.byte(0x23);
    w.u32(global);
    w.byte(0x23);
    w.u32(probe);
    w.byte(0x4b); // i32.gt_u
    w.byte(0x04); // if (no result)
    w.byte(0x40);
    w.byte(0x23);
    w.u32(global);
    w.byte(0x24);
    w.u32(probe);
    w.byte(0x0b);
  }
  w.byte(0x23);
  w.u32(global);
  w.byte(0x41); // i32.const limit
  w.s32(limit);
  w.byte(0x4b); // i32.gt_u
  w.byte(0x04); // if (no result)
  w.byte(0x40);
  w.byte(0x00); // unreachable
  w.byte(0x0b); // end
  w.byte(0x10); // call callee
  w.u32(callee);
  w.byte(0x23);
  w.u32(global);
  w.byte(0x41);
  w.s32(cost);
  w.byte(0x6b); // i32.sub
  w.byte(0x24);
  w.u32(global);
}

/** Stack cost of every function (imports 0), as compute_stack_costs. */
export function stackCosts(code: Uint8Array, opts: StackLimiterOptions = {}): number[] {
  return computeCosts(code, parseModule(code), opts);
}

function computeCosts(code: Uint8Array, info: ModuleInfo, opts: StackLimiterOptions): number[] {
  const costs: number[] = new Array<number>(info.funcTypes.length).fill(0);
  for (let d = 0; d < info.bodies.length; d++) {
    const { locals, max } = maxHeight(code, info, d, opts);
    const cost = locals + max;
    if (cost > 0xffffffff) throw new InstrumentError('Overflow in adding locals_count and max_stack_height');
    costs[info.importedFuncs + d] = cost;
  }
  return costs;
}

/**
 * Inject the deterministic stack limiter. `logicalMax` is the crate's `stack_limit` (a call traps
 * when the running total after adding the callee's cost is greater than it, unsigned).
 * Throws InstrumentError where the crate returns Err (or the result could not be valid).
 */
export function injectStackLimiter(code: Uint8Array, logicalMax: number, opts: StackLimiterOptions = {}): Uint8Array {
  if (!Number.isInteger(logicalMax) || logicalMax < 0 || logicalMax > 0xffffffff) throw new RangeError('logicalMax must be a u32');
  const info = parseModule(code);
  const { sections } = info;

  // generate_stack_height_global: appended to the global section; the crate returns its index
  // *within that section* (imported globals are not counted).
  const globalSection = sections.find((s) => s.id === 6);
  const definedGlobals = info.globals.length - info.importedGlobals;
  const globalIdx = definedGlobals;
  if (info.importedGlobals > 0) {
    // The crate's index then names an existing global (global.set on it must still validate).
    const g = info.globals[globalIdx];
    if (!g.mutable || g.type !== 0x7f) {
      throw new InstrumentError(`stack_height global index ${globalIdx} (wasm-instrument ignores imported globals) names an immutable or non-i32 global`);
    }
  }

  const costs = computeCosts(code, info, opts);
  // The probe's global follows the crate's in the section (absolute index: imported ones first).
  const exportSection = sections.find((s) => s.id === 7);
  const probe = opts.traceProbe && exportSection ? info.importedGlobals + definedGlobals + 1 : undefined;

  // Thunk targets: exported functions, element segment members, the start function (BTreeMap:
  // ascending function index); none for functions of cost 0 (imports).
  const startSection = sections.find((s) => s.id === 8);
  const elemSection = sections.find((s) => s.id === 9);
  const targets = new Set<number>();
  const need = (f: number): void => {
    if (f >= costs.length) throw new InstrumentError("function index isn't found");
    if (costs[f] !== 0) targets.add(f);
  };
  if (exportSection) {
    const r = new Reader(code, exportSection.start, exportSection.end);
    for (let n = r.u32(); n > 0; n--) {
      r.skip(r.u32());
      const kind = r.byte();
      const idx = r.u32();
      if (kind === 0) need(idx);
    }
  }
  const elemSegments: Array<{ offsetStart: number; offsetEnd: number; members: number[] }> = [];
  if (elemSection) {
    const r = new Reader(code, elemSection.start, elemSection.end);
    for (let n = r.u32(); n > 0; n--) {
      const flags = r.u32();
      if (flags !== 0) r.fail(`unsupported element segment kind ${flags}`);
      const offsetStart = r.pos;
      skipConstExpr(r);
      const offsetEnd = r.pos;
      const members: number[] = [];
      for (let m = r.u32(); m > 0; m--) members.push(r.u32());
      elemSegments.push({ offsetStart, offsetEnd, members });
    }
    for (const seg of elemSegments) for (const f of seg.members) need(f);
  }
  let startFunc: number | undefined;
  if (startSection) {
    startFunc = new Reader(code, startSection.start, startSection.end).u32();
    need(startFunc);
  }
  const thunkOf = new Map<number, number>();
  const ordered = [...targets].sort((a, b) => a - b);
  ordered.forEach((f, k) => thunkOf.set(f, info.funcTypes.length + k));
  const fix = (f: number): number => thunkOf.get(f) ?? f;

  // Thunk signatures: the first type equal to the callee's signature (parity-wasm's builder).
  const sameType = (a: FuncType, b: FuncType): boolean =>
    a.params.length === b.params.length &&
    a.results.length === b.results.length &&
    a.params.every((t, k) => t === b.params[k]) &&
    a.results.every((t, k) => t === b.results[k]);
  const thunkTypes = ordered.map((f) => {
    const sig = info.types[info.funcTypes[f]];
    return info.types.findIndex((t) => sameType(t, sig));
  });

  const replaced = new Map<Section, Uint8Array | null>();
  let extra: { before: number; id: number; body: Uint8Array } | undefined;

  // Global section.
  {
    const w = new Writer();
    w.u32(definedGlobals + (probe === undefined ? 1 : 2));
    if (globalSection) {
      const r = new Reader(code, globalSection.start, globalSection.end);
      r.u32();
      w.bytes(code.subarray(r.pos, globalSection.end));
    }
    w.bytes(Uint8Array.of(0x7f, 0x01, 0x41, 0x00, 0x0b)); // (mut i32) (i32.const 0)
    if (probe !== undefined) w.bytes(Uint8Array.of(0x7f, 0x01, 0x41, 0x00, 0x0b));
    if (globalSection) replaced.set(globalSection, w.out());
    else {
      // The crate appends a new section; parity-wasm's builder then puts it in canonical order.
      const rank = (id: number): number => (id === 12 ? 9.5 : id);
      let before = sections.length;
      for (let k = 0; k < sections.length; k++) {
        const id = sections[k].id;
        if (id !== 0 && rank(id) > 6) {
          before = k;
          break;
        }
      }
      extra = { before, id: 6, body: w.out() };
    }
  }

  // Function section.
  const funcSection = sections.find((s) => s.id === 3);
  if (ordered.length > 0) {
    if (!funcSection) throw new InstrumentError('no function section');
    const r = new Reader(code, funcSection.start, funcSection.end);
    const w = new Writer();
    w.u32(r.u32() + ordered.length);
    w.bytes(code.subarray(r.pos, funcSection.end));
    for (const t of thunkTypes) w.u32(t);
    replaced.set(funcSection, w.out());
  }

  // Export section.
  if (exportSection && (thunkOf.size > 0 || probe !== undefined)) {
    const r = new Reader(code, exportSection.start, exportSection.end);
    const w = new Writer();
    const n = r.u32();
    w.u32(n + (probe === undefined ? 0 : 2));
    for (let k = 0; k < n; k++) {
      const nameStart = r.pos;
      r.skip(r.u32());
      w.bytes(code.subarray(nameStart, r.pos));
      const kind = r.byte();
      const idx = r.u32();
      w.byte(kind);
      w.u32(kind === 0 ? fix(idx) : idx);
    }
    if (probe !== undefined) {
      for (const [name, idx] of [[STACK_PROBE_EXPORTS.height, globalIdx], [STACK_PROBE_EXPORTS.max, probe]] as const) {
        const bytes = new TextEncoder().encode(name);
        w.u32(bytes.length);
        w.bytes(bytes);
        w.byte(3); // global
        w.u32(idx);
      }
    }
    replaced.set(exportSection, w.out());
  }
  if (startSection && startFunc !== undefined && thunkOf.has(startFunc)) {
    const w = new Writer();
    w.u32(fix(startFunc));
    replaced.set(startSection, w.out());
  }
  if (elemSection && thunkOf.size > 0) {
    const w = new Writer();
    w.u32(elemSegments.length);
    for (const seg of elemSegments) {
      w.u32(0);
      w.bytes(code.subarray(seg.offsetStart, seg.offsetEnd));
      w.u32(seg.members.length);
      for (const f of seg.members) w.u32(fix(f));
    }
    replaced.set(elemSection, w.out());
  }

  // Code section: every `call f` with cost(f) > 0 instrumented, then the thunks.
  const codeSection = sections.find((s) => s.id === 10);
  if (codeSection) {
    const w = new Writer();
    w.u32(info.bodies.length + ordered.length);
    const bw = new Writer();
    const ins = newInstr();
    for (const body of info.bodies) {
      bw.len = 0;
      const r = new Reader(code, body.start, body.end);
      readLocals(r);
      let copied = body.start;
      while (r.pos < r.end) {
        decodeInstr(r, ins);
        if (ins.op === 0x10 && costs[ins.a] > 0) {
          bw.bytes(code.subarray(copied, ins.start));
          emitInstrumentedCall(bw, ins.a, costs[ins.a], globalIdx, logicalMax, probe);
          copied = ins.end;
        }
      }
      bw.bytes(code.subarray(copied, body.end));
      w.u32(bw.len);
      w.bytes(bw.buf.subarray(0, bw.len));
    }
    ordered.forEach((f) => {
      bw.len = 0;
      bw.byte(0); // no locals
      const sig = info.types[info.funcTypes[f]];
      for (let p = 0; p < sig.params.length; p++) {
        bw.byte(0x20);
        bw.u32(p);
      }
      emitInstrumentedCall(bw, f, costs[f], globalIdx, logicalMax, probe);
      bw.byte(0x0b);
      w.u32(bw.len);
      w.bytes(bw.buf.subarray(0, bw.len));
    });
    replaced.set(codeSection, w.out());
  }

  return assemble(code, sections, replaced, extra);
}

// ---------------------------------------------------------------------------------------------
// NaN canonicalization

const F32_NAN_OPS = new Set([0x8d, 0x8e, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0xb6]);
const F64_NAN_OPS = new Set([0x9b, 0x9c, 0x9d, 0x9e, 0x9f, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xbb]);

/** V8's limit on locals per function (kV8MaxWasmFunctionLocals). */
const MAX_LOCALS = 50000;

/**
 * After every f32/f64 ceil, floor, trunc, nearest, sqrt, add, sub, mul, div, min, max, and
 * f32.demote_f64 / f64.promote_f32, replace a NaN result by the canonical NaN (f32 0x7fc00000,
 * f64 0x7ff8000000000000). Functions that use none of them are unchanged. Each rewritten function
 * gets one scratch local per float type it needs, appended after its own locals, and after the
 * operation: `local.tee $t; fNN.const canonical; local.get $t; local.get $t; fNN.eq; select`.
 */
export function canonicalizeNans(code: Uint8Array): Uint8Array {
  const info = parseModule(code);
  const codeSection = info.sections.find((s) => s.id === 10);
  if (!codeSection || info.bodies.length === 0) return code;
  const w = new Writer();
  w.u32(info.bodies.length);
  const bw = new Writer();
  const ins = newInstr();
  let changed = false;
  info.bodies.forEach((body, d) => {
    const r = new Reader(code, body.start, body.end);
    const localsStart = r.pos;
    const declared = readLocals(r);
    const localsEnd = r.pos;
    // First pass: which float types need a scratch local.
    let need32 = false;
    let need64 = false;
    const codeStart = r.pos;
    while (r.pos < r.end) {
      decodeInstr(r, ins);
      if (F32_NAN_OPS.has(ins.op)) need32 = true;
      else if (F64_NAN_OPS.has(ins.op)) need64 = true;
    }
    if (!need32 && !need64) {
      w.u32(body.end - body.start);
      w.bytes(code.subarray(body.start, body.end));
      return;
    }
    changed = true;
    const params = info.types[info.funcTypes[info.importedFuncs + d]].params.length;
    const base = params + declared;
    const t32 = base;
    const t64 = need32 ? base + 1 : base;
    const added = (need32 ? 1 : 0) + (need64 ? 1 : 0);
    if (base + added > MAX_LOCALS) throw new InstrumentError(`function ${info.importedFuncs + d}: too many locals for NaN canonicalization`);
    bw.len = 0;
    const lr = new Reader(code, localsStart, localsEnd);
    const groups = lr.u32();
    bw.u32(groups + added);
    bw.bytes(code.subarray(lr.pos, localsEnd));
    if (need32) bw.bytes(Uint8Array.of(1, 0x7d));
    if (need64) bw.bytes(Uint8Array.of(1, 0x7c));
    r.pos = codeStart;
    let copied = codeStart;
    while (r.pos < r.end) {
      decodeInstr(r, ins);
      const is32 = F32_NAN_OPS.has(ins.op);
      if (!is32 && !F64_NAN_OPS.has(ins.op)) continue;
      bw.bytes(code.subarray(copied, ins.end));
      copied = ins.end;
      const t = is32 ? t32 : t64;
      bw.byte(0x22); // local.tee $t
      bw.u32(t);
      if (is32) bw.bytes(Uint8Array.of(0x43, 0x00, 0x00, 0xc0, 0x7f)); // f32.const 0x7fc00000
      else bw.bytes(Uint8Array.of(0x44, 0, 0, 0, 0, 0, 0, 0xf8, 0x7f)); // f64.const 0x7ff8000000000000
      bw.byte(0x20);
      bw.u32(t);
      bw.byte(0x20);
      bw.u32(t);
      bw.byte(is32 ? 0x5b : 0x61); // fNN.eq: false only for NaN
      bw.byte(0x1b); // select: the value when not NaN, else the canonical NaN
    }
    bw.bytes(code.subarray(copied, body.end));
    w.u32(bw.len);
    w.bytes(bw.buf.subarray(0, bw.len));
  });
  if (!changed) return code;
  return assemble(code, info.sections, new Map([[codeSection, w.out()]]));
}
