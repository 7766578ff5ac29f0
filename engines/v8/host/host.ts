/**
 * The Substrate host API as polkadot's PVF host offers it (sp_io misc, crypto, hashing, allocator,
 * logging, trie, input), bound to one V8 instance.
 *
 * Errors inside a host function are classified where they happen:
 * - `PvfTrap`: the PVF asked for something the host refuses (a pointer outside memory, an allocation
 *   the allocator cannot serve, a call to a function PVFs do not get). The Wasm call traps and the
 *   candidate is invalid.
 * - anything else is our own bug: it is wrapped in a `HostBug` (a HostFault), which the verdict
 *   mapping turns into `abstain`.
 */
import { FreeingBumpAllocator, AllocatorError, wasmMemory, type HeapMemory } from './allocator.ts';
import { HostFault } from '../../../core/candidate/verdict.ts';
import type { FuncType, ValType, WasmModuleInfo } from '../../../core/wasm/wasm.ts';
import * as hashing from '../../../core/primitives/hashing.ts';
import { runtimeVersionOption } from './runtime-version.ts';
import { LogBuffer, MAX_LOG_LINE_BYTES, boundUtf8Message } from '../../logs.ts';
import { isUtf8 } from 'node:buffer';

/** A deliberate trap of the host on behalf of the PVF's own behaviour. */
export class PvfTrap extends Error {
  override readonly name = 'PvfTrap';
}

/** A failure inside our host code that the PVF did not cause. */
export class HostBug extends HostFault {
  constructor(fn: string, cause: unknown) {
    super('internal-error', `host function ${fn} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

export function isStackOverflow(e: unknown): boolean {
  return e instanceof RangeError && /call stack size/i.test(e.message);
}

export type LogLevel = 'error' | 'warn' | 'info' | 'debug' | 'trace';
/** sp_io LogLevel as passed over FFI (variant index). */
const LOG_LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug', 'trace'];

export interface LogEntry {
  level: LogLevel;
  target: string;
  message: string;
}

/**
 * `ext_logging_max_level_version_1` answers with the host's log filter, which a runtime branches on
 * (Rust runtimes skip formatting records above it). Polkadot's execute workers run with an empty
 * environment, so their filter is the default, Error. The engine pins that value so that verbosity
 * flags never change what a PVF executes.
 */
export const PINNED_MAX_LOG_LEVEL = 1; // LogLevelFilter::Error

export interface HostOptions {
  /** Maximum number of Wasm pages of the linear memory. */
  maxPages: number;
  /** Called for each log line kept (for -v output), as kept in `logs` (bounded, see engines/logs.ts). */
  onLog?: (entry: LogEntry) => void;
  /** Traces: called for each allocation served and each block freed. */
  onAlloc?: (size: number, ptr: number) => void;
  onFree?: (ptr: number) => void;
}

/** Per-instance state of the host. */
export class HostState {
  memory: WebAssembly.Memory | undefined;
  heap: HeapMemory | undefined;
  allocator: FreeingBumpAllocator | undefined;
  private readonly logBuffer = new LogBuffer();
  private announcedDrop = false;
  /** The most recent error-level log line (bounded): a Rust runtime's panic message. */
  lastErrorLog: LogEntry | undefined;
  constructor(readonly options: HostOptions) {}

  attach(memory: WebAssembly.Memory, heapBase: number): void {
    this.memory = memory;
    this.heap = wasmMemory(memory, this.options.maxPages);
    this.allocator = new FreeingBumpAllocator(heapBase);
  }

  /** The log lines kept, within the bounds of engines/logs.ts (a marker line says what was dropped). */
  get logs(): LogEntry[] {
    return this.logBuffer.lines as LogEntry[];
  }

  bytes(): Uint8Array {
    if (!this.memory) throw new Error('memory not attached');
    return new Uint8Array(this.memory.buffer);
  }

  read(ptr: number, len: number): Uint8Array {
    const mem = this.bytes();
    if (ptr + len > mem.length) {
      throw new PvfTrap(`memory access out of bounds: ${len} bytes at ${ptr} (memory is ${mem.length} bytes)`);
    }
    return mem.slice(ptr, ptr + len);
  }

  readSpan(span: bigint): Uint8Array {
    const [ptr, len] = unpackSpan(span);
    return this.read(ptr, len);
  }

  /** A view of memory (no copy), valid until the memory grows or the next host call. */
  viewSpan(span: bigint): Uint8Array {
    const [ptr, len] = unpackSpan(span);
    const mem = this.bytes();
    if (ptr + len > mem.length) {
      throw new PvfTrap(`memory access out of bounds: ${len} bytes at ${ptr} (memory is ${mem.length} bytes)`);
    }
    return mem.subarray(ptr, ptr + len);
  }

  write(ptr: number, data: Uint8Array): void {
    const mem = this.bytes();
    if (ptr + data.length > mem.length) {
      throw new PvfTrap(`memory access out of bounds: ${data.length} bytes at ${ptr} (memory is ${mem.length} bytes)`);
    }
    mem.set(data, ptr);
  }

  malloc(size: number): number {
    if (!this.allocator || !this.heap) throw new Error('allocator not attached');
    try {
      const ptr = this.allocator.allocate(this.heap, size);
      this.options.onAlloc?.(size, ptr);
      return ptr;
    } catch (e) {
      if (e instanceof AllocatorError) throw new PvfTrap(`Failed to allocate memory (${size} bytes): ${e.message}`);
      throw e;
    }
  }

  free(ptr: number): void {
    if (!this.allocator || !this.heap) throw new Error('allocator not attached');
    try {
      this.allocator.deallocate(this.heap, ptr);
      this.options.onFree?.(ptr);
    } catch (e) {
      if (e instanceof AllocatorError) throw new PvfTrap(`Failed to deallocate memory (pointer ${ptr}): ${e.message}`);
      throw e;
    }
  }

  /** Allocate and write `data`; returns its pointer (for fixed-size results). */
  allocWrite(data: Uint8Array): number {
    const ptr = this.malloc(data.length);
    this.write(ptr, data);
    return ptr;
  }

  /** Allocate and write `data`; returns the i64 span `ptr | len << 32` (for SCALE results). */
  allocSpan(data: Uint8Array): bigint {
    return packSpan(this.allocWrite(data), data.length);
  }

  log(levelIndex: number, target: string, message: string): void {
    const level = LOG_LEVELS[levelIndex];
    if (level === undefined) throw new PvfTrap(`invalid log level ${levelIndex}`);
    this.keep(level, this.logBuffer.add(level, target, message));
  }

  /** Log a message given as valid UTF-8 bytes: only the bounded part is ever decoded. */
  logUtf8(levelIndex: number, target: string, message: Uint8Array): void {
    const level = LOG_LEVELS[levelIndex];
    if (level === undefined) throw new PvfTrap(`invalid log level ${levelIndex}`);
    this.keep(level, this.logBuffer.addUtf8(level, target, message));
  }

  private keep(level: LogLevel, added: { line: { level: string; target: string; message: string }; kept: boolean }): void {
    const entry = added.line as LogEntry;
    if (level === 'error') this.lastErrorLog = entry;
    if (added.kept) this.options.onLog?.(entry);
    else if (!this.announcedDrop) {
      this.announcedDrop = true;
      const marker = this.logBuffer.lines[this.logBuffer.lines.length - 1] as LogEntry;
      this.options.onLog?.({ ...marker });
    }
  }
}

export function unpackSpan(span: bigint): [ptr: number, len: number] {
  const v = BigInt.asUintN(64, span);
  return [Number(v & 0xffffffffn), Number(v >> 32n)];
}

export function packSpan(ptr: number, len: number): bigint {
  return BigInt.asIntN(64, (BigInt(len >>> 0) << 32n) | BigInt(ptr >>> 0));
}

/** A host function: its Wasm signature and its implementation over the host state. */
export interface HostFunction {
  sig: string; // e.g. "i32,i64->i64"; "->" alone for no params and no result
  make: (h: HostState) => (...args: never[]) => number | bigint | void;
}

export type HostFunctionTable = Record<string, HostFunction>;

function sigOf(t: FuncType): string {
  return `${t.params.join(',')}->${t.results.join(',')}`;
}

const u32 = (x: number): number => x >>> 0;

/** A log target: undefined if it is not UTF-8; only its bounded part is decoded. */
function boundedUtf8(bytes: Uint8Array): string | undefined {
  return isUtf8(bytes) ? boundUtf8Message(bytes) : undefined;
}

const hash = (f: (d: Uint8Array) => Uint8Array): HostFunction => ({
  sig: 'i64->i32',
  make: (h) => (data: bigint) => h.allocWrite(f(h.readSpan(data))),
});

/** misc, hashing, allocator and logging. crypto and trie are in their own tables. */
export const CORE_FUNCTIONS: HostFunctionTable = {
  ext_allocator_malloc_version_1: { sig: 'i32->i32', make: (h) => (size: number) => h.malloc(u32(size)) },
  ext_allocator_free_version_1: { sig: 'i32->', make: (h) => (ptr: number) => h.free(u32(ptr)) },

  ext_hashing_keccak_256_version_1: hash(hashing.keccak256),
  ext_hashing_keccak_512_version_1: hash(hashing.keccak512),
  ext_hashing_sha2_256_version_1: hash(hashing.sha2_256),
  ext_hashing_blake2_128_version_1: hash(hashing.blake2_128),
  ext_hashing_blake2_256_version_1: hash(hashing.blake2_256),
  ext_hashing_twox_64_version_1: hash(hashing.twox_64),
  ext_hashing_twox_128_version_1: hash(hashing.twox_128),
  ext_hashing_twox_256_version_1: hash(hashing.twox_256),

  ext_logging_log_version_1: {
    sig: 'i32,i64,i64->',
    make: (h) => (level: number, targetSpan: bigint, messageSpan: bigint) => {
      // The level crosses the FFI as u8 (truncated); the target is a &str, which must be UTF-8 or
      // the call traps; a message that is not UTF-8 is dropped silently.
      // Only the bounded part of a line is decoded and kept (engines/logs.ts); validity is checked on
      // the whole span without copying it.
      const levelIndex = level & 0xff;
      const target = boundedUtf8(h.viewSpan(targetSpan));
      if (target === undefined) throw new PvfTrap('log target is not valid UTF-8');
      const message = h.viewSpan(messageSpan);
      if (levelIndex >= LOG_LEVELS.length) throw new PvfTrap(`invalid log level ${levelIndex}`);
      if (isUtf8(message)) h.logUtf8(levelIndex, target, message);
    },
  },
  ext_logging_max_level_version_1: { sig: '->i32', make: () => () => PINNED_MAX_LOG_LEVEL },

  // print_* log at debug level under target "runtime"; print_utf8 ignores bytes that are not UTF-8.
  ext_misc_print_num_version_1: {
    sig: 'i64->',
    make: (h) => (n: bigint) => h.log(3, 'runtime', BigInt.asUintN(64, n).toString()),
  },
  ext_misc_print_utf8_version_1: {
    sig: 'i64->',
    make: (h) => (data: bigint) => {
      const text = h.viewSpan(data);
      if (isUtf8(text)) h.logUtf8(3, 'runtime', text);
    },
  },
  ext_misc_print_hex_version_1: {
    sig: 'i64->',
    make: (h) => (data: bigint) => {
      // Hex doubles the size: only what fits the line bound is converted.
      const bytes = h.viewSpan(data);
      const keep = bytes.subarray(0, MAX_LOG_LINE_BYTES / 2);
      const hex = Buffer.from(keep.buffer, keep.byteOffset, keep.length).toString('hex');
      h.log(3, 'runtime', keep.length < bytes.length ? `${hex} … [truncated by pvf: ${bytes.length} bytes, ${keep.length} shown]` : hex);
    },
  },
  ext_misc_runtime_version_version_1: {
    sig: 'i64->i64',
    make: (h) => (code: bigint) => h.allocSpan(runtimeVersionOption(h.readSpan(code))),
  },
};

const VALUE_TYPES_OK: readonly ValType[] = ['i32', 'i64', 'f32', 'f64'];

/**
 * Resolve every import of the module. Imports must come from `env`; the memory import is created
 * here; a function the host does not provide is bound to a stub that traps when called (polkadot
 * runs PVFs with missing imports allowed). A provided function whose signature differs from the
 * import is a link error, as in wasmtime.
 */
export function resolveImports(
  info: WasmModuleInfo,
  h: HostState,
  table: HostFunctionTable,
  memory: WebAssembly.Memory | undefined,
): { imports: WebAssembly.Imports; stubbed: string[] } {
  const env: WebAssembly.ModuleImports = {};
  const stubbed: string[] = [];
  for (const imp of info.imports) {
    const where = `${imp.module}.${imp.name}`;
    if (imp.module !== 'env') throw new LinkError(`import ${where}: the host provides imports from "env" only`);
    if (imp.desc.kind === 'memory') {
      if (imp.name !== 'memory') throw new LinkError(`import ${where}: the only memory import is env.memory`);
      if (!memory) throw new LinkError(`import ${where}: no memory to provide`);
      env[imp.name] = memory;
      continue;
    }
    if (imp.desc.kind !== 'function') throw new LinkError(`import ${where}: only functions and env.memory can be imported`);
    const type = imp.desc.type;
    const f = table[imp.name];
    if (f) {
      if (sigOf(type) !== f.sig) {
        throw new LinkError(`import ${where}: signature ${sigOf(type)} does not match the host's ${f.sig}`);
      }
      env[imp.name] = guard(imp.name, f.make(h));
    } else {
      if (![...type.params, ...type.results].every((t) => VALUE_TYPES_OK.includes(t))) {
        throw new LinkError(`import ${where}: unsupported value types in its signature`);
      }
      stubbed.push(imp.name);
      env[imp.name] = () => {
        throw new PvfTrap(`call to a missing function env:${imp.name} (not offered to PVFs)`);
      };
    }
  }
  return { imports: { env }, stubbed };
}

/** A module that cannot be linked against this host (deterministic: the code is at fault). */
export class LinkError extends Error {
  override readonly name = 'LinkError';
}

function guard<F extends (...args: never[]) => unknown>(name: string, f: F): F {
  return ((...args: never[]) => {
    try {
      return f(...args);
    } catch (e) {
      if (e instanceof PvfTrap || e instanceof HostFault || isStackOverflow(e)) throw e;
      throw new HostBug(name, e);
    }
  }) as F;
}
