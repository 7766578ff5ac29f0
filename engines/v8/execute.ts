/**
 * Execute `validate_block` of a decompressed PVF on the V8 engine of this process.
 *
 * Mirrors sc-executor's call sequence: instantiate with the memory capped at the engine's page
 * limit, create a fresh freeing-bump allocator at `__heap_base`, allocate the input with it and
 * write it, call `validate_block(ptr, len)`, and read back the returned span.
 */
import { InvalidCandidate } from '../../core/candidate/verdict.ts';
import { memoryOf, type WasmModuleInfo } from '../../core/wasm/wasm.ts';
import { compileOrInvalid, readModuleOrInvalid } from '../compile.ts';
import {
  HostState,
  LinkError,
  PvfTrap,
  isStackOverflow,
  resolveImports,
  unpackSpan,
  type HostFunctionTable,
  type LogEntry,
} from './host/host.ts';
import { PVF_HOST_FUNCTIONS } from './host/functions.ts';
import type { V8Tracer } from './trace.ts';

/** polkadot's default: 32 pages estimated for data and stack + 2048 extra heap pages. */
export const DEFAULT_MAX_PAGES = 32 + 2048;

export interface ExecuteOptions {
  maxPages?: number;
  onLog?: (entry: LogEntry) => void;
  functions?: HostFunctionTable;
  /** Record a trace (engines/trace.ts). */
  tracer?: V8Tracer;
}

export interface Prepared {
  info: WasmModuleInfo;
  module: WebAssembly.Module;
}

/**
 * Parse and compile a module: all this engine does before it can run it (pre-checking does exactly
 * this, in the same worker). A module V8 rejects is a deterministic prevalidation failure; whether
 * it exports validate_block, a memory and __heap_base is judged at execution, as in polkadot.
 */
export async function compileModule(code: Uint8Array): Promise<Prepared> {
  const info = readModuleOrInvalid(code);
  return { info, module: await compileOrInvalid(code) };
}

export interface Instantiated {
  instance: WebAssembly.Instance;
  host: HostState;
  memory: WebAssembly.Memory;
  stubbed: string[];
}

/** Instantiate with the PVF host API; failures here are the code's fault (runtime construction). */
export async function instantiatePvf(p: Prepared, opts: ExecuteOptions = {}): Promise<Instantiated> {
  const cap = opts.maxPages ?? DEFAULT_MAX_PAGES;
  const mem = memoryOf(p.info);
  if (!mem) throw new InvalidCandidate('execution-error', 'the module has no linear memory');
  if (mem.limits.shared || mem.limits.is64) throw new InvalidCandidate('execution-error', 'shared or 64-bit memory is not supported');
  // The memory may never exceed the engine's cap nor its own declared maximum. An imported memory
  // is created here with that maximum. A memory the module defines itself keeps its declared
  // maximum inside V8 (rewriting the module to cap it is the job of prepare); the allocator at
  // least never grows it past the cap.
  const maximum = Math.min(mem.limits.max ?? cap, cap);
  if (mem.limits.min > maximum) {
    throw new InvalidCandidate('execution-error', `the module needs ${mem.limits.min} memory pages, the limit is ${maximum}`);
  }
  const tracing = opts.tracer?.hostOptions();
  const onLog = tracing && opts.onLog ? (l: LogEntry) => (tracing.onLog(l), opts.onLog?.(l)) : (tracing?.onLog ?? opts.onLog);
  const host = new HostState({ maxPages: maximum, ...tracing, onLog });
  const imported = mem.imported ? new WebAssembly.Memory({ initial: mem.limits.min, maximum }) : undefined;
  let instance: WebAssembly.Instance;
  let stubbed: string[];
  const table = opts.functions ?? PVF_HOST_FUNCTIONS;
  try {
    const resolved = resolveImports(p.info, host, opts.tracer ? opts.tracer.wrap(table) : table, imported);
    stubbed = resolved.stubbed;
    instance = await WebAssembly.instantiate(p.module, resolved.imports);
  } catch (e) {
    if (e instanceof LinkError || e instanceof WebAssembly.LinkError) {
      throw new InvalidCandidate('execution-error', `instantiation failed: ${e.message}`);
    }
    if (e instanceof PvfTrap || e instanceof WebAssembly.RuntimeError) {
      // A start function or an out-of-range data segment traps during instantiation.
      throw new InvalidCandidate('execution-error', `instantiation trapped: ${e.message}`);
    }
    throw e;
  }
  const memory = imported ?? exportedMemory(instance);
  const heapBase = instance.exports['__heap_base'];
  if (!(heapBase instanceof WebAssembly.Global) || typeof heapBase.value !== 'number') {
    throw new InvalidCandidate('execution-error', 'the module does not export the i32 global __heap_base');
  }
  host.attach(memory, heapBase.value >>> 0);
  opts.tracer?.probe.attach(instance);
  return { instance, host, memory, stubbed };
}

/**
 * A memory the module defines must be exported as `memory`: sc-executor-wasmtime looks it up by
 * that name (instance_wrapper.rs `get_linear_memory`: "memory is not exported under `memory`
 * name"), after prepare has turned an imported memory into an export of the import's field name
 * (runtime_blob.rs `convert_memory_import_into_export`).
 */
function exportedMemory(instance: WebAssembly.Instance): WebAssembly.Memory {
  const m = instance.exports['memory'];
  if (m instanceof WebAssembly.Memory) return m;
  throw new InvalidCandidate('execution-error', 'memory is not exported under the name `memory`');
}

/** Describe a trap; a Rust runtime's panic message, logged just before `unreachable`, comes first. */
function trapDetail(e: Error, host: HostState): string {
  const what = isStackOverflow(e) ? 'stack overflow' : e.message;
  const panic = host.lastErrorLog;
  return panic ? `${panic.message} (${what})` : what;
}

/** Call `validate_block(params)` on an instance. */
export function callValidateBlock(inst: Instantiated, params: Uint8Array): Uint8Array {
  const { instance, host } = inst;
  const fn = instance.exports['validate_block'];
  if (typeof fn !== 'function') throw new InvalidCandidate('execution-error', 'the module does not export a function validate_block');
  let result: unknown;
  try {
    const ptr = host.malloc(params.length);
    host.write(ptr, params);
    result = (fn as (p: number, l: number) => unknown)(ptr, params.length);
  } catch (e) {
    if (e instanceof PvfTrap || e instanceof WebAssembly.RuntimeError || isStackOverflow(e)) {
      throw new InvalidCandidate('execution-error', trapDetail(e as Error, host));
    }
    throw e;
  }
  if (typeof result !== 'bigint') {
    throw new InvalidCandidate('execution-error', `validate_block must return i64, it returned ${typeof result}`);
  }
  const [ptr, len] = unpackSpan(result);
  const mem = host.bytes();
  if (ptr + len > mem.length) {
    throw new InvalidCandidate('bad-output', `validate_block returned ${len} bytes at ${ptr}, outside memory of ${mem.length} bytes`);
  }
  return mem.slice(ptr, ptr + len);
}
