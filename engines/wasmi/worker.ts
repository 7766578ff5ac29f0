/**
 * The execute worker of a wasmi engine: smoldot's executor (wasmi interpreter + smoldot's host API)
 * compiled to Wasm, as published in one pinned `@acala-network/chopsticks-executor` version that the
 * build bundles into this worker. Run by the node binary of the engine's `runsOn` v8 engine.
 */
import { run_task } from '@acala-network/chopsticks-executor';
import { decodeRequest, workerMain, type WorkerLog, type WorkerResponse } from '../protocol.ts';
import { startWatchdog } from '../watchdog.ts';
import { withVersionSections } from '../../core/version-sections.ts';
import { WasmFormatError, memoryOf, parseModule, type WasmModuleInfo } from '../../core/wasm.ts';

/** Executors before 1.1 take mockSignatureHost as a boolean, later ones (1.2.8 and 1.5.1 checked) as a number. */
declare const __MOCK_SIGNATURE_AS_BOOL__: boolean | undefined;
const mockAsBool = typeof __MOCK_SIGNATURE_AS_BOOL__ === 'boolean' && __MOCK_SIGNATURE_AS_BOOL__;

interface TaskResult {
  Call?: { result: string; runtimeLogs?: Array<{ message: string; level?: number; target?: string }> };
  Error?: string;
}

const LEVELS = ['off', 'error', 'warn', 'info', 'debug', 'trace'];

/**
 * Errors of smoldot's executor that mean the PVF itself trapped: Wasm traps as wasmi words them, a
 * call to a function PVFs do not get, the host allocator refusing the PVF. Anything else the
 * executor reports is not attributable to the candidate and becomes abstain.
 */
const PVF_FAULTS = [
  /wasm `unreachable` instruction executed/i,
  /out of bounds memory access/i,
  /out of bounds table access|undefined element|uninitialized element/i,
  /indirect call type mismatch/i,
  /integer divide by zero|integer overflow|invalid conversion to integer/i,
  /unresolved function/i,
  /out of memory allocating .* during ext_allocator_malloc/i,
];

async function handle(request: Buffer): Promise<WorkerResponse> {
  const { header, code, params } = decodeRequest(request);
  // The module checks belong to preparation (polkadot validates at prepare time, under the prepare
  // timeout), so they run before the execution's CPU budget starts; the host's wall-clock kill
  // still bounds them.
  let wasm: Uint8Array;
  try {
    const fault = moduleFault(code, parseModule(code));
    if (fault) return fault;
    wasm = withVersionSections(code);
  } catch (e) {
    if (e instanceof WasmFormatError) return { ok: false, verdict: 'invalid', reason: 'prevalidation', detail: e.message, logs: [] };
    throw e;
  }
  const watchdog = startWatchdog(header.timeoutMs);
  try {
    return await run(wasm, params);
  } finally {
    await watchdog.terminate();
  }
}

/**
 * The module's own faults that smoldot reports without a distinguishable error (a Wasm validation
 * error reads like any other message; a missing export or a misnamed memory as a bare variant
 * name), checked here before smoldot sees the module, in the order the v8 engines meet them
 * (compile, the validate_block export, the memory, the imports, __heap_base), with the same
 * verdict and reason class.
 *
 * Validation is the V8 validator of this engine's own pinned node binary (the `runsOn` engine),
 * the same spec validator that makes the v8 engines answer `invalid prevalidation`; polkadot's
 * wasmtime refuses such a module at preparation (PrepareError::Preparation, deterministic).
 */
function moduleFault(wasm: Uint8Array, info: WasmModuleInfo): Extract<WorkerResponse, { ok: false }> | undefined {
  const invalid = (reason: 'prevalidation' | 'execution-error', detail: string) => ({ ok: false as const, verdict: 'invalid' as const, reason, detail, logs: [] });
  if (!WebAssembly.validate(wasm)) {
    let why = 'the module is not valid Wasm';
    try {
      new WebAssembly.Module(wasm);
    } catch (e) {
      if (!(e instanceof WebAssembly.CompileError)) throw e;
      why = e.message;
    }
    return invalid('prevalidation', `compile error: ${why}`);
  }
  if (!info.exports.some((x) => x.name === 'validate_block' && x.kind === 'function')) {
    return invalid('prevalidation', 'the module does not export a function validate_block');
  }
  const mem = memoryOf(info);
  if (!mem) return invalid('prevalidation', 'the module has no linear memory');
  if (mem.imported && (mem.module !== 'env' || mem.name !== 'memory')) {
    return invalid('execution-error', `instantiation failed: import ${mem.module}.${mem.name}: the only memory import is env.memory`);
  }
  if (!mem.imported && !info.exports.some((x) => x.kind === 'memory')) return invalid('execution-error', 'the module neither imports nor exports a memory');
  if (!info.exports.some((x) => x.name === '__heap_base' && x.kind === 'global')) {
    return invalid('execution-error', 'the module does not export the i32 global __heap_base');
  }
  return undefined;
}

async function run(wasm: Uint8Array, params: Uint8Array): Promise<WorkerResponse> {
  const t0 = performance.now();
  // smoldot implements storage and offchain host functions by calling back here; PVFs do not get
  // them, so a call is the PVF's fault (polkadot traps it as a missing function).
  let refused: string | undefined;
  const refuse = (what: string) => async (): Promise<never> => {
    refused ??= what;
    throw new Error(`${what} is not offered to PVFs`);
  };
  let res: TaskResult;
  try {
    res = (await run_task(
    {
      id: 0,
      wasm: '0x' + Buffer.from(wasm).toString('hex'),
      calls: [['validate_block', ['0x' + Buffer.from(params).toString('hex')]]],
      mockSignatureHost: mockAsBool ? false : 0,
      allowUnresolvedImports: true,
      runtimeLogLevel: 1,
      storageProofSize: 0,
    },
    {
      getStorage: refuse('storage'),
      getNextKey: refuse('storage'),
      offchainGetStorage: refuse('offchain storage'),
      offchainTimestamp: refuse('offchain timestamp'),
      offchainRandomSeed: refuse('offchain random seed'),
      offchainSubmitTransaction: refuse('offchain transactions'),
    },
  )) as TaskResult;
  } catch (e) {
    if (refused) return { ok: false, verdict: 'invalid', reason: 'execution-error', detail: `call to a missing function: ${refused} is not offered to PVFs`, logs: [] };
    throw e;
  }
  if (refused) return { ok: false, verdict: 'invalid', reason: 'execution-error', detail: `call to a missing function: ${refused} is not offered to PVFs`, logs: [] };
  const executeMs = performance.now() - t0;
  if (res.Call) {
    const logs: WorkerLog[] = (res.Call.runtimeLogs ?? []).map((l) => ({ level: LEVELS[l.level ?? 3] ?? 'info', target: l.target ?? 'runtime', message: l.message }));
    return { ok: true, raw: res.Call.result.replace(/^0x/, ''), logs, timings: { executeMs, workerMaxRssKb: process.resourceUsage().maxRSS } };
  }
  const detail = res.Error ?? 'no result';
  if (/MemoryMaxSizeTooLow/.test(detail)) {
    // smoldot reserves its default 2048 heap pages above the module's initial memory and refuses a
    // smaller maximum: this engine cannot honour such a MaxMemoryPages. Not the PVF's fault.
    return { ok: false, verdict: 'abstain', reason: 'engine-unavailable', detail: 'this wasmi engine needs a memory maximum of at least the initial pages + 2048; the MaxMemoryPages in force is lower', logs: [] };
  }
  if (/call stack exhausted/i.test(detail)) {
    // wasmi's own call stack (about 1024 frames) ran out before the deterministic stack limiter
    // injected by prepare fired: polkadot's engine would have gone deeper, so this engine cannot
    // judge the candidate under the StackLogicalMax in force.
    return { ok: false, verdict: 'abstain', reason: 'engine-unavailable', detail: `wasmi ran out of call stack before the logical stack limit: ${detail}`, logs: [] };
  }
  if (/pointer and size returned by the function are invalid/i.test(detail)) return { ok: false, verdict: 'invalid', reason: 'bad-output', detail, logs: [] };
  if (PVF_FAULTS.some((re) => re.test(detail))) return { ok: false, verdict: 'invalid', reason: 'execution-error', detail, logs: [] };
  return { ok: false, verdict: 'abstain', reason: 'internal-error', detail: `wasmi executor: ${detail}`, logs: [] };
}

workerMain(handle);
