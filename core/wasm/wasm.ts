/**
 * A focused reader of the Wasm binary format: just the module-level facts the host needs before
 * instantiation (function types, imports with their signatures, memory limits, exports and custom
 * sections). Code bodies are not parsed here; the engine's own compiler validates them.
 */

import { WasmByteReader, wasmSections } from './wasm-bytes.ts';

export class WasmFormatError extends Error {
  override readonly name = 'WasmFormatError';
}

export type ValType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128' | 'funcref' | 'externref';

export interface FuncType {
  params: ValType[];
  results: ValType[];
}

export interface Limits {
  min: number;
  max: number | undefined;
  shared: boolean;
  is64: boolean;
}

export type ImportDesc =
  | { kind: 'function'; type: FuncType }
  | { kind: 'table' }
  | { kind: 'memory'; limits: Limits }
  | { kind: 'global' }
  | { kind: 'tag' };

export interface WasmImport {
  module: string;
  name: string;
  desc: ImportDesc;
}

export interface WasmExport {
  name: string;
  kind: 'function' | 'table' | 'memory' | 'global' | 'tag';
  index: number;
}

export interface WasmModuleInfo {
  types: FuncType[];
  imports: WasmImport[];
  /** Memories defined by the module itself (not imported). */
  memories: Limits[];
  exports: WasmExport[];
  customSections: Map<string, Uint8Array[]>;
}

const VALTYPES: Record<number, ValType> = {
  0x7f: 'i32',
  0x7e: 'i64',
  0x7d: 'f32',
  0x7c: 'f64',
  0x7b: 'v128',
  0x70: 'funcref',
  0x6f: 'externref',
};

const EXPORT_KINDS = ['function', 'table', 'memory', 'global', 'tag'] as const;

class Reader extends WasmByteReader {
  constructor(buf: Uint8Array, end = buf.length) {
    super(buf, 0, end, (m) => new WasmFormatError(m));
  }
  u64AsNumber(): number {
    let result = 0n;
    let shift = 0n;
    for (let k = 0; k < 10; k++) {
      const b = this.byte();
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return Number(result);
      shift += 7n;
    }
    throw new WasmFormatError(`LEB128 u64 too long at offset ${this.pos}`);
  }
  bytes(n: number): Uint8Array {
    const at = this.pos;
    this.skip(n);
    return this.b.subarray(at, at + n);
  }
  name(): string {
    const n = this.u32();
    const raw = this.bytes(n);
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(raw);
    } catch {
      throw new WasmFormatError(`invalid UTF-8 in a name at offset ${this.pos - n}`);
    }
  }
  valtype(): ValType {
    const b = this.byte();
    const t = VALTYPES[b];
    if (!t) throw new WasmFormatError(`unknown value type 0x${b.toString(16)} at offset ${this.pos - 1}`);
    return t;
  }
  limits(): Limits {
    const flags = this.byte();
    if (flags > 7) throw new WasmFormatError(`bad limits flags 0x${flags.toString(16)} at offset ${this.pos - 1}`);
    const is64 = (flags & 4) !== 0;
    const read = () => (is64 ? this.u64AsNumber() : this.u32());
    const min = read();
    const max = flags & 1 ? read() : undefined;
    return { min, max, shared: (flags & 2) !== 0, is64 };
  }
}

export function parseModule(bytes: Uint8Array): WasmModuleInfo {
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    throw new WasmFormatError('not a Wasm module (bad magic)');
  }
  if (bytes[4] !== 1 || bytes[5] !== 0 || bytes[6] !== 0 || bytes[7] !== 0) {
    throw new WasmFormatError('unsupported Wasm binary version');
  }
  const info: WasmModuleInfo = { types: [], imports: [], memories: [], exports: [], customSections: new Map() };
  for (const { id, start, end } of wasmSections(bytes, (m) => new WasmFormatError(m))) {
    const s = new Reader(bytes, end);
    s.pos = start;
    switch (id) {
      case 0: {
        const name = s.name();
        const list = info.customSections.get(name) ?? [];
        list.push(bytes.subarray(s.pos, end));
        info.customSections.set(name, list);
        s.pos = end;
        break;
      }
      case 1: {
        const n = s.u32();
        for (let k = 0; k < n; k++) {
          const form = s.byte();
          if (form !== 0x60) throw new WasmFormatError(`unsupported type form 0x${form.toString(16)}`);
          const params = Array.from({ length: s.u32() }, () => s.valtype());
          const results = Array.from({ length: s.u32() }, () => s.valtype());
          info.types.push({ params, results });
        }
        break;
      }
      case 2: {
        const n = s.u32();
        for (let k = 0; k < n; k++) {
          const module = s.name();
          const name = s.name();
          const kind = s.byte();
          let desc: ImportDesc;
          if (kind === 0) {
            const idx = s.u32();
            const type = info.types[idx];
            if (!type) throw new WasmFormatError(`import ${module}.${name} uses unknown type ${idx}`);
            desc = { kind: 'function', type };
          } else if (kind === 1) {
            s.valtype();
            s.limits();
            desc = { kind: 'table' };
          } else if (kind === 2) {
            desc = { kind: 'memory', limits: s.limits() };
          } else if (kind === 3) {
            s.valtype();
            s.byte();
            desc = { kind: 'global' };
          } else if (kind === 4) {
            s.byte();
            s.u32();
            desc = { kind: 'tag' };
          } else {
            throw new WasmFormatError(`unknown import kind ${kind}`);
          }
          info.imports.push({ module, name, desc });
        }
        break;
      }
      case 5: {
        const n = s.u32();
        for (let k = 0; k < n; k++) info.memories.push(s.limits());
        break;
      }
      case 7: {
        const n = s.u32();
        for (let k = 0; k < n; k++) {
          const name = s.name();
          const kind = s.byte();
          const index = s.u32();
          const kindName = EXPORT_KINDS[kind];
          if (!kindName) throw new WasmFormatError(`unknown export kind ${kind}`);
          info.exports.push({ name, kind: kindName, index });
        }
        break;
      }
      default:
        s.pos = end;
    }
    if (s.pos !== end) throw new WasmFormatError(`section ${id} size mismatch`);
  }
  return info;
}

/** The memory the runtime uses: the imported one, else its own first memory. */
export function memoryOf(info: WasmModuleInfo): { imported: boolean; limits: Limits; module?: string; name?: string } | undefined {
  for (const imp of info.imports) {
    if (imp.desc.kind === 'memory') return { imported: true, limits: imp.desc.limits, module: imp.module, name: imp.name };
  }
  const own = info.memories[0];
  return own ? { imported: false, limits: own } : undefined;
}
