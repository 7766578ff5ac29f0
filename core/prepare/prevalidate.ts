/**
 * The feature gate of prepare: a module may use the Wasm MVP, sign-extension operators and
 * mutable-global imports/exports; bulk memory only when the ExecutorParams carry
 * WasmExtBulkMemory. Non-trapping float-to-int conversions are refused too: polkadot's prepare
 * parses the module with parity-wasm to inject the stack limiter, and that parser cannot decode
 * them, so such a module never reaches wasmtime. Anything else (SIMD, threads/atomics, reference types,
 * multi-value, tail calls, exceptions, GC, memory64, multi-memory, extended constants) is a
 * deterministic prevalidation failure. Every instruction of every function body is decoded
 * (core/wasm/instructions.ts).
 */

import { InvalidCandidate } from '../candidate/verdict.ts';
import { decodeInstr, newInstr, NUMERIC_VALUE_TYPES, opensBlock, type Instr } from '../wasm/instructions.ts';
import { WasmByteReader, wasmSections } from '../wasm/wasm-bytes.ts';

/** A module the feature gate refuses: the candidate's fault, `prevalidation`. */
export class PrevalidationError extends InvalidCandidate {
  override readonly name = 'PrevalidationError';
  constructor(detail: string) {
    super('prevalidation', detail);
  }
}

export interface FeatureOptions {
  bulkMemory: boolean;
}

/**
 * The longest name (import module and field, export, custom section) wasmparser reads: its
 * MAX_WASM_STRING_SIZE. A longer one makes wasmtime refuse the module ("string size out of
 * bounds"), so polkadot's preparation fails; V8 has no such limit, hence the check here.
 */
export const MAX_NAME_BYTES = 100_000;

class R extends WasmByteReader {
  constructor(b: Uint8Array, start: number, end: number) {
    super(b, start, end, (m) => new PrevalidationError(m));
  }
  name(what = 'name'): void {
    const n = this.u32();
    if (n > MAX_NAME_BYTES) this.fail(`${what} of ${n} bytes: wasmparser accepts at most ${MAX_NAME_BYTES} (string size out of bounds)`);
    this.skip(n);
  }
}

function valtype(r: R, what: string): void {
  const t = r.byte();
  if (t === 0x7b) r.fail(`${what}: v128 needs SIMD`);
  if (t === 0x70 || t === 0x6f) r.fail(`${what}: reference types are not enabled`);
  if (!NUMERIC_VALUE_TYPES.has(t)) r.fail(`${what}: unknown value type 0x${t.toString(16)}`);
}

function limits(r: R, what: string): void {
  const flags = r.byte();
  if (flags & 2) r.fail(`${what}: shared memory needs threads`);
  if (flags & 4) r.fail(`${what}: memory64 is not enabled`);
  if (flags > 1) r.fail(`${what}: unknown limits flags ${flags}`);
  r.u32();
  if (flags & 1) r.u32();
}

function tableType(r: R): void {
  const t = r.byte();
  if (t !== 0x70) r.fail('tables must hold funcref (reference types are not enabled)');
  limits(r, 'table');
}

const MVP_CONSTANTS = new Set([0x41, 0x42, 0x43, 0x44]);

/**
 * A constant expression: one MVP constant, or global.get of an imported immutable global, then end.
 * `importedGlobals` holds the mutability of each imported global. V8 also accepts global.get of a
 * global the module defines itself (a relaxation of the GC proposal); wasmparser without GC refuses
 * it ("constant expression required: global.get of locally defined global"), and a mutable global
 * ("global.get of mutable global"): bytecodealliance/wasm-tools crates/wasmparser/src/validator/
 * core.rs, VisitConstOperator `visit_global_get`.
 */
function constExpr(r: R, importedGlobals: readonly boolean[], ins: Instr): void {
  const at = r.pos;
  const op = r.byte();
  if (!MVP_CONSTANTS.has(op) && op !== 0x23) {
    r.fail(`constant expression uses 0x${op.toString(16)} (extended constants / reference types are not enabled)`);
  }
  r.pos = at;
  decodeInstr(r, ins);
  if (op === 0x23) {
    if (ins.a >= importedGlobals.length) r.fail(`constant expression: global.get of locally defined global ${ins.a} (needs GC)`);
    if (importedGlobals[ins.a]) r.fail(`constant expression: global.get of mutable global ${ins.a}`);
  }
  if (r.byte() !== 0x0b) r.fail('constant expression must be a single instruction (extended constants are not enabled)');
}

/**
 * Decode one function body's instructions. The decoder refuses every proposal outside the MVP and
 * sign-extension; of the 0xfc instructions, the conversions are refused and bulk memory is gated.
 */
function body(r: R, opts: FeatureOptions, ins: Instr): void {
  const groups = r.u32();
  for (let g = 0; g < groups; g++) {
    r.u32();
    valtype(r, 'local');
  }
  let depth = 1;
  while (depth > 0) {
    decodeInstr(r, ins);
    if (ins.op === 0x0b) depth--;
    else if (opensBlock(ins.op)) depth++;
    else if (ins.op === 0xfc) {
      if (ins.sub <= 7) r.fail('non-trapping float-to-int conversions are not enabled');
      if (!opts.bulkMemory) r.fail(`bulk memory operator 0xfc ${ins.sub} needs WasmExtBulkMemory`);
    }
  }
}

/** Throws PrevalidationError naming the first feature the module uses that is not allowed. */
export function checkFeatures(code: Uint8Array, opts: FeatureOptions): void {
  const importedGlobals: boolean[] = [];
  let memories = 0;
  let tables = 0;
  const ins = newInstr();
  for (const { id, start, end } of wasmSections(code, (m) => new PrevalidationError(m))) {
    const r = new R(code, start, end);
    switch (id) {
      case 1: {
        const n = r.u32();
        for (let k = 0; k < n; k++) {
          if (r.byte() !== 0x60) r.fail('only function types are allowed (GC is not enabled)');
          const params = r.u32();
          for (let p = 0; p < params; p++) valtype(r, 'parameter');
          const results = r.u32();
          if (results > 1) r.fail('a function with several results needs multi-value');
          for (let p = 0; p < results; p++) valtype(r, 'result');
        }
        break;
      }
      case 2: {
        const n = r.u32();
        for (let k = 0; k < n; k++) {
          r.name('import module name');
          r.name('import name');
          const kind = r.byte();
          if (kind === 0) r.u32();
          else if (kind === 1) {
            tableType(r);
            tables++;
          } else if (kind === 2) {
            limits(r, 'imported memory');
            memories++;
          } else if (kind === 3) {
            valtype(r, 'imported global');
            importedGlobals.push(r.byte() === 1);
          } else r.fail(`import kind ${kind} (exception tags) is not enabled`);
        }
        break;
      }
      case 4: {
        const n = r.u32();
        for (let k = 0; k < n; k++) tableType(r);
        tables += n;
        break;
      }
      case 5: {
        const n = r.u32();
        for (let k = 0; k < n; k++) limits(r, 'memory');
        memories += n;
        break;
      }
      case 6: {
        const n = r.u32();
        for (let k = 0; k < n; k++) {
          valtype(r, 'global');
          r.byte();
          constExpr(r, importedGlobals, ins);
        }
        break;
      }
      case 9: {
        const n = r.u32();
        for (let k = 0; k < n; k++) {
          const flags = r.u32();
          if (flags !== 0) r.fail(`element segment kind ${flags} needs bulk memory / reference types`);
          constExpr(r, importedGlobals, ins);
          const m = r.u32();
          for (let j = 0; j < m; j++) r.u32();
        }
        break;
      }
      case 10: {
        const n = r.u32();
        for (let k = 0; k < n; k++) {
          const len = r.u32();
          const b = new R(code, r.pos, r.pos + len);
          body(b, opts, ins);
          if (b.pos !== r.pos + len) b.fail('function body size mismatch');
          r.pos += len;
        }
        break;
      }
      case 11: {
        const n = r.u32();
        for (let k = 0; k < n; k++) {
          const flags = r.u32();
          if (flags === 1 && !opts.bulkMemory) r.fail('passive data segments need WasmExtBulkMemory');
          if (flags === 2) r.fail('data segments for another memory need multi-memory');
          if (flags > 2) r.fail(`unknown data segment kind ${flags}`);
          if (flags === 0) constExpr(r, importedGlobals, ins);
          const len = r.u32();
          r.skip(len);
        }
        break;
      }
      case 7: {
        const n = r.u32();
        for (let k = 0; k < n; k++) {
          r.name('export name');
          r.byte();
          r.u32();
        }
        break;
      }
      case 0:
        r.name('custom section name');
        r.pos = end;
        break;
      case 12:
        if (!opts.bulkMemory) r.fail('a data count section needs WasmExtBulkMemory');
        r.pos = end;
        break;
      case 13:
        r.fail('a tag section needs exception handling');
        break;
      default:
        r.pos = end;
    }
    if (id !== 0 && r.pos !== end) r.fail(`section ${id} has trailing bytes`);
  }
  if (memories > 1) throw new PrevalidationError('more than one memory needs multi-memory');
  if (tables > 1) throw new PrevalidationError('more than one table needs reference types');
}
