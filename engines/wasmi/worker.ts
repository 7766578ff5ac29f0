/**
 * The execute worker of a wasmi engine: smoldot's executor (wasmi interpreter + smoldot's host API)
 * compiled to Wasm, as published in one pinned `@acala-network/chopsticks-executor` version that the
 * build bundles into this worker. Run by the node binary of the engine's `runsOn` v8 engine.
 */
import { get_runtime_version, run_task } from '@acala-network/chopsticks-executor';
import { answerOf, decodeRequest, workerMain, type WorkerLog, type WorkerResponse } from '../protocol.ts';
import { jobCpuMs, preparationMemory, startJobClock, startWatchdog, type JobClock } from '../watchdog.ts';
import { LogBuffer, boundString } from '../logs.ts';
import { withVersionSections } from '../../core/wasm/version-sections.ts';
import { memoryOf, type WasmModuleInfo } from '../../core/wasm/wasm.ts';
import { InvalidCandidate } from '../../core/candidate/verdict.ts';
import { readModuleOrInvalid, validateOrInvalid } from '../compile.ts';

/** Executors before 1.1 take mockSignatureHost as a boolean, later ones (1.2.8 and 1.5.1 checked) as a number. */
declare const __MOCK_SIGNATURE_AS_BOOL__: boolean | undefined;
const mockAsBool = typeof __MOCK_SIGNATURE_AS_BOOL__ === 'boolean' && __MOCK_SIGNATURE_AS_BOOL__;

interface TaskResult {
  Call?: { result: string; runtimeLogs?: Array<{ message: string; level?: number; target?: string }> };
  Error?: string;
}

/**
 * smoldot reports the level a PVF passed to `ext_logging_log_version_1` as is: sp_io's
 * RuntimeInterfaceLogLevel, 0 = error … 4 = trace (the same table as the v8 host's).
 */
const LEVELS = ['error', 'warn', 'info', 'debug', 'trace'];

/**
 * smoldot's executor also prints every runtime log line through `console` (error lines to stderr,
 * info to stdout, where this worker's protocol runs), padded and formatted, at a CPU cost charged
 * to the job (100 MiB of lines took seconds). The lines it returns are all pvf needs: silence it.
 */
for (const k of ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const) console[k] = () => undefined;

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
  // A host call's pointer/length argument outside the PVF's memory (the PVF's own pointer; the
  // v8 host and Substrate's runtime interface trap on it too).
  /Bad pointer for parameter of index \d+ of \w+/,
  // ext_allocator_free of a pointer that is not an allocated block: Substrate's allocator errors
  // and the call traps (tests/hostcall-conformance.test.ts: 0, 4, inside a block, past memory).
  /Bad pointer passed to ext_allocator_free_version_1/,
  /out of memory allocating .* during ext_allocator_malloc/i,
];

/**
 * What this engine does before it can run a module, in the order the v8 engines do it: validate it
 * (the V8 validator of this engine's own pinned node binary, the `runsOn` engine: the same spec
 * validator that makes the v8 engines answer `invalid prevalidation`; polkadot's wasmtime refuses
 * such a module at preparation, PrepareError::Preparation, deterministic) and parse it. Pre-checking
 * runs exactly this, then smoldot's own compilation.
 */
function checkModule(wasm: Uint8Array): WasmModuleInfo {
  validateOrInvalid(wasm);
  return readModuleOrInvalid(wasm);
}

/**
 * The module's own faults at execution that smoldot reports without a distinguishable error (a
 * missing export or a misnamed memory as a bare variant name), checked before smoldot sees the
 * module, in the order the v8 engines meet them (the memory, the imports, __heap_base, the
 * validate_block export), with the same verdict: `invalid execution-error`, as polkadot judges a
 * module it compiled but cannot instantiate or call.
 */
function shapeFault(info: WasmModuleInfo, maxPages: number): InvalidCandidate | undefined {
  const invalid = (detail: string) => new InvalidCandidate('execution-error', detail);
  const mem = memoryOf(info);
  if (!mem) return invalid('the module has no linear memory');
  const maximum = Math.min(mem.limits.max ?? maxPages, maxPages);
  if (mem.limits.min > maximum) return invalid(`the module needs ${mem.limits.min} memory pages, the limit is ${maximum}`);
  if (mem.imported && (mem.module !== 'env' || mem.name !== 'memory')) {
    return invalid(`instantiation failed: import ${mem.module}.${mem.name}: the only memory import is env.memory`);
  }
  if (!mem.imported && !info.exports.some((x) => x.kind === 'memory' && x.name === 'memory')) return invalid('memory is not exported under the name `memory`');
  if (!info.exports.some((x) => x.name === '__heap_base' && x.kind === 'global')) {
    return invalid('the module does not export the i32 global __heap_base');
  }
  if (!info.exports.some((x) => x.name === 'validate_block' && x.kind === 'function')) {
    return invalid('the module does not export a function validate_block');
  }
  return undefined;
}

/**
 * The executor's own panics. A Rust panic inside smoldot's executor (its Wasm reaches
 * `unreachable`) surfaces as a RuntimeError thrown from its asynchronous glue, outside any call of
 * ours: uncaught, it would end the process after the job started, which the host must count as a
 * death the candidate may have caused (and, twice in approval, as invalid). Measured causes: a
 * module importing the same host function twice, a log level above 4, ecdsa_sign
 * (tests/hostcall-conformance.test.ts). It is this engine's fault, not the candidate's: the job
 * abstains (engine-limit), and the process, whose executor state is now unknown, takes no other
 * job: a kept-alive one ends when the next request comes, before starting it.
 */
class ExecutorPanic extends Error {}
let onExecutorPanic: ((e: unknown) => void) | undefined;
let poisoned = false;
process.on('uncaughtException', (e) => {
  if (onExecutorPanic) return onExecutorPanic(e);
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});

async function handle(request: Buffer): Promise<WorkerResponse> {
  // After an executor panic: end now, unanswered, before this job starts (the host runs it again on
  // a fresh worker, as for any reused worker that died).
  if (poisoned) process.exit(0);
  const { header, code, params } = decodeRequest(request);
  const watchdog = await startWatchdog(header.timeoutMs, header.mode === 'prepare' ? (header.maxMemoryBytes ?? 0) : 0);
  try {
    return header.mode === 'prepare' ? await prepare(code, header.maxPages, header.maxMemoryBytes, watchdog.clock) : await run(code, params, header.maxPages, watchdog.clock);
  } catch (e) {
    return answerOf(e, []);
  } finally {
    await watchdog.terminate();
  }
}

/**
 * Pre-checking (`mode: prepare`): validation, then smoldot's own compilation of the module (the
 * runtime prototype `get_runtime_version` builds), under the precheck timeout. A module with a
 * shape fault is not compiled by smoldot: execution judges it (`shapeFault`) before smoldot sees it,
 * so pre-checking accepts it as polkadot does.
 */
async function prepare(code: Uint8Array, maxPages: number, maxMemoryBytes: number | undefined, clock: JobClock): Promise<WorkerResponse> {
  startJobClock(clock);
  const t0 = performance.now();
  const info = checkModule(code);
  if (!shapeFault(info, maxPages)) {
    try {
      await get_runtime_version('0x' + Buffer.from(withVersionSections(code)).toString('hex'));
    } catch (e) {
      return smoldotError(boundString(e instanceof Error ? e.message : String(e)));
    }
  }
  const grew = preparationMemory(clock, maxMemoryBytes);
  return { ok: true, raw: '', logs: [], timings: { compileMs: performance.now() - t0, jobCpuMs: jobCpuMs(clock), prepareMemoryBytes: grew, workerMaxRssKb: process.resourceUsage().maxRSS } };
}

async function run(code: Uint8Array, params: Uint8Array, maxPages: number, clock: JobClock): Promise<WorkerResponse> {
  // Validation belongs to preparation (polkadot validates at prepare time, under the prepare
  // timeout), so it runs before the job clock starts; the host's start-up deadline bounds it.
  const shape = shapeFault(checkModule(code), maxPages);
  if (shape) throw shape;
  const wasm = withVersionSections(code);
  const wasmHex = '0x' + Buffer.from(wasm).toString('hex');
  const paramsHex = '0x' + Buffer.from(params).toString('hex');
  // smoldot compiles (wasmi translates lazily) and runs inside one call: the job starts here.
  startJobClock(clock);
  const t0 = performance.now();
  // smoldot implements storage and offchain host functions by calling back here; PVFs do not get
  // them, so a call is the PVF's fault (polkadot traps it as a missing function).
  let refused: string | undefined;
  const refuse = (what: string) => async (): Promise<never> => {
    refused ??= what;
    throw new Error(`${what} is not offered to PVFs`);
  };
  let res: TaskResult;
  const panicked = new Promise<never>((_, reject) => {
    onExecutorPanic = (e) => reject(new ExecutorPanic(e instanceof Error ? e.message : String(e)));
  });
  try {
    res = (await Promise.race([panicked, run_task(
    {
      id: 0,
      wasm: wasmHex,
      calls: [['validate_block', [paramsHex]]],
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
  )]) as TaskResult);
  } catch (e) {
    if (e instanceof ExecutorPanic) {
      poisoned = true; // a kept-alive worker ends at its next request (handle), unanswered
      return { ok: false, verdict: 'abstain', reason: 'engine-limit', detail: `the wasmi executor itself panicked (${e.message}): a fault of this engine, not of the candidate`, logs: [] };
    }
    if (refused) return { ok: false, verdict: 'invalid', reason: 'execution-error', detail: `call to a missing function: ${refused} is not offered to PVFs`, logs: [] };
    throw e;
  }
  finally {
    onExecutorPanic = undefined;
  }
  if (refused) return { ok: false, verdict: 'invalid', reason: 'execution-error', detail: `call to a missing function: ${refused} is not offered to PVFs`, logs: [] };
  const executeMs = performance.now() - t0;
  const cpuMs = jobCpuMs(clock);
  if (res.Call) {
    // Bounded before anything else touches them (engines/logs.ts): the verdict never depends on logs.
    const kept = new LogBuffer();
    for (const l of res.Call.runtimeLogs ?? []) kept.add(LEVELS[l.level ?? 2] ?? 'info', l.target ?? 'runtime', l.message);
    const logs: WorkerLog[] = kept.lines;
    return { ok: true, raw: res.Call.result.replace(/^0x/, ''), logs, timings: { executeMs, jobCpuMs: cpuMs, workerMaxRssKb: process.resourceUsage().maxRSS } };
  }
  return smoldotError(boundString(res.Error ?? 'no result'));
}

/** An error smoldot reported, compiling or running: the PVF's fault, a documented limit of this engine, or ours. */
function smoldotError(detail: string): Extract<WorkerResponse, { ok: false }> {
  if (/MemoryMaxSizeTooLow/.test(detail)) {
    // smoldot reserves its default 2048 heap pages above the module's initial memory and refuses a
    // smaller maximum: this engine cannot honour such a MaxMemoryPages. Not the PVF's fault.
    return { ok: false, verdict: 'abstain', reason: 'engine-limit', detail: 'this wasmi engine needs a memory maximum of at least the initial pages + 2048; the MaxMemoryPages in force is lower', logs: [] };
  }
  if (/call stack exhausted/i.test(detail)) {
    // wasmi's own call stack (about 1024 frames) ran out before the deterministic stack limiter
    // injected by prepare fired: polkadot's engine would have gone deeper, so this engine cannot
    // judge the candidate under the StackLogicalMax in force.
    return { ok: false, verdict: 'abstain', reason: 'engine-limit', detail: `wasmi ran out of call stack before the logical stack limit: ${detail}`, logs: [] };
  }
  if (/mutable global support is not enabled/i.test(detail)) {
    // A mutable global imported or exported: part of Wasm 1.0 as polkadot's wasmtime compiles it
    // (prevalidation lets it through on every engine, V8 runs it); smoldot's wasmi refuses the
    // module. Found by the fuzz campaign (seed 6613), where it was reported as our own fault.
    return { ok: false, verdict: 'abstain', reason: 'engine-limit', detail: `this wasmi engine does not support importing or exporting mutable globals, which polkadot accepts: ${detail}`, logs: [] };
  }
  if (/sign extension operations support is not enabled/i.test(detail)) {
    // polkadot's engine accepts sign-extension operations (MVP + sign-ext; prevalidation lets them
    // through on every engine); this smoldot build's wasmi refuses them: it cannot judge the PVF.
    return { ok: false, verdict: 'abstain', reason: 'engine-limit', detail: `this wasmi engine does not support sign-extension operations, which polkadot accepts: ${detail}`, logs: [] };
  }
  const utf8 = /UTF-8 error for parameter of index (\d+) of (\w+)/.exec(detail);
  if (utf8) {
    // smoldot demands UTF-8 wherever a parameter is text; Substrate only where the host function
    // takes a `&str`: the log target (sp-io `log(level, target: &str, message: &[u8])`), which the
    // runtime-interface refuses, trapping. Elsewhere (a log message, print_utf8) Substrate drops
    // text that is not UTF-8 and the call succeeds: this engine cannot judge such a candidate.
    if (utf8[2] === 'ext_logging_log_version_1' && utf8[1] === '1') return { ok: false, verdict: 'invalid', reason: 'execution-error', detail, logs: [] };
    return { ok: false, verdict: 'abstain', reason: 'engine-limit', detail: `this wasmi engine refuses text that is not UTF-8 where Substrate drops it: ${detail}`, logs: [] };
  }
  if (/ParamDecodeError/.test(detail)) {
    // smoldot refuses a host-call argument that has bytes after its SCALE value (Substrate's
    // runtime interface decodes with Decode::decode and ignores them: the call succeeds) and one
    // that does not decode (Substrate traps): the same error for both, so no verdict here
    // (tests/hostcall-conformance.test.ts, trailing and undecodable trie inputs).
    return { ok: false, verdict: 'abstain', reason: 'engine-limit', detail: `this wasmi engine refuses a host-call argument with bytes after its SCALE value, which Substrate ignores, in the same way as one that does not decode, on which Substrate traps: ${detail}`, logs: [] };
  }
  if (/Host function not implemented: ext_crypto_(ed25519|sr25519|ecdsa)_(public_keys|generate|sign|sign_prehashed)_version_1\b/.test(detail)) {
    // A keystore function: PVF validation has no keystore, so in Substrate every call panics, a
    // trap (docs/host-crypto.md §6): smoldot's missing function ends the call the same way.
    return { ok: false, verdict: 'invalid', reason: 'execution-error', detail: `${detail} (PVF validation has no keystore: Substrate panics)`, logs: [] };
  }
  if (/NoBatchVerify/.test(detail)) {
    // finish_batch_verify without start_batch_verify: Substrate panics too (docs/host-crypto.md §5).
    return { ok: false, verdict: 'invalid', reason: 'execution-error', detail: `${detail} (finish_batch_verify without start_batch_verify: Substrate panics)`, logs: [] };
  }
  if (/Host function not implemented/i.test(detail)) {
    // A host function polkadot offers PVFs that this executor lacks: it cannot judge the candidate.
    return { ok: false, verdict: 'abstain', reason: 'engine-limit', detail: `this wasmi engine does not implement a host function polkadot offers: ${detail}`, logs: [] };
  }
  if (/pointer and size returned by the function are invalid/i.test(detail)) return { ok: false, verdict: 'invalid', reason: 'bad-output', detail, logs: [] };
  if (PVF_FAULTS.some((re) => re.test(detail))) return { ok: false, verdict: 'invalid', reason: 'execution-error', detail, logs: [] };
  return { ok: false, verdict: 'abstain', reason: 'internal-error', detail: `wasmi executor: ${detail}`, logs: [] };
}

workerMain(handle);
