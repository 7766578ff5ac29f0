/**
 * The execute worker of a v8 engine: run by the engine's own node binary, it executes one
 * `validate_block` with the PVF host API and prints the answer (see ../protocol.ts).
 *
 * The job runs on a thread with a 256 MiB stack (polkadot's native stack limit): the deterministic
 * stack limiter injected by prepare, not V8's default ~1 MiB stack, must decide where recursion
 * stops. The main thread only reads the request, runs the CPU-time watchdog while it waits, and
 * prints. The job thread compiles the module (polkadot's preparation), then starts the job's clock
 * (watchdog.ts) and instantiates and calls `validate_block`: only that is charged to the
 * candidate's budget.
 */
import { Worker, isMainThread, parentPort } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { initZstd } from '../../core/candidate/blob.ts';
import { initFastHashing } from '../../core/primitives/hashing.ts';
import { answerOf, decodeRequest, resourceError, workerMain, type WorkerLog, type WorkerRequest, type WorkerResponse } from '../protocol.ts';
import { jobCpuMs, preparationMemory, startJobClock, watchOnThisThread, type JobClock } from '../watchdog.ts';
import { callValidateBlock, compileModule, instantiatePvf, type Prepared } from './execute.ts';

export const JOB_STACK_MB = 256;

interface Job {
  header: WorkerRequest;
  code: Uint8Array;
  params: Uint8Array;
  clock: JobClock;
  /** The module compiled from exactly these code bytes by an earlier job of this process. */
  compiled?: Prepared;
}

/** What a job thread sends back: the answer, and the module it compiled (for the next job). */
interface JobResult {
  response: WorkerResponse;
  compiled?: Prepared;
}

/**
 * Kept-alive workers (smoke, conformance) run many jobs on the same code: the main thread keeps the
 * last few compiled modules, each with the exact bytes it was compiled from, and hands one to a job
 * whose code is byte-for-byte equal (compared in full, never by a hash or key the host sends). A
 * WebAssembly.Module is shared between threads; every job still instantiates afresh in a fresh
 * thread. Compilation is not part of the job's clock, so verdicts and budgets are unchanged.
 */
const KEEP_COMPILED = 4;
const compiledModules: Array<{ code: Uint8Array; compiled: Prepared }> = [];

function compiledFor(code: Uint8Array): Prepared | undefined {
  const k = compiledModules.findIndex((c) => Buffer.from(c.code.buffer, c.code.byteOffset, c.code.byteLength).equals(code));
  if (k < 0) return undefined;
  const [hit] = compiledModules.splice(k, 1);
  compiledModules.push(hit);
  return hit.compiled;
}

function keepCompiled(code: Uint8Array, compiled: Prepared): void {
  compiledModules.push({ code, compiled });
  if (compiledModules.length > KEEP_COMPILED) compiledModules.shift();
}

/**
 * Pre-checking (`mode: prepare`): what this engine does before it can run the module, nothing
 * more: compile it, as polkadot's prepare worker compiles the prepared blob. The job (its CPU
 * budget is the precheck timeout) is the compilation; how much it may grow this process's resident
 * set is PrecheckingMaxMemory (the watchdog samples it, watchdog.ts). Module-shape checks (the
 * validate_block export, the memory, __heap_base) belong to execution, as in polkadot.
 */
async function prepareJob({ header, code, clock }: Job): Promise<WorkerResponse> {
  try {
    startJobClock(clock);
    const t0 = performance.now();
    await compileModule(code);
    const compileMs = performance.now() - t0;
    const grew = preparationMemory(clock, header.maxMemoryBytes);
    return { ok: true, raw: '', logs: [], timings: { compileMs, jobCpuMs: jobCpuMs(clock), prepareMemoryBytes: grew, workerMaxRssKb: process.resourceUsage().maxRSS } };
  } catch (e) {
    return answerOf(e, []);
  }
}

async function execute({ header, code, params, clock, compiled: given }: Job): Promise<JobResult> {
  let logs: WorkerLog[] = [];
  let compiled: Prepared | undefined;
  const answer = (response: WorkerResponse): JobResult => ({ response, compiled: given ? undefined : compiled });
  try {
    await initZstd();
    await initFastHashing(); // before the job clock: loading the hashers is not the PVF's work
    const t0 = performance.now();
    compiled = given ?? (await compileModule(code));
    const t1 = performance.now();
    startJobClock(clock);
    const inst = await instantiatePvf(compiled, { maxPages: header.maxPages });
    logs = inst.host.logs;
    const t2 = performance.now();
    const raw = callValidateBlock(inst, params);
    const t3 = performance.now();
    const timings: Record<string, number> = { compileMs: t1 - t0, instantiateMs: t2 - t1, executeMs: t3 - t2, jobCpuMs: jobCpuMs(clock), workerMaxRssKb: process.resourceUsage().maxRSS };
    if (given) timings.compiledFromEarlierJob = 1;
    return answer({ ok: true, raw: Buffer.from(raw).toString('hex'), logs, timings });
  } catch (e) {
    return answer(answerOf(e, logs));
  }
}

/**
 * A job thread: this same script, on a thread with JOB_STACK_MB of stack, waiting for one job as a
 * message. From a source checkout (a .ts file run through tsx) the thread registers tsx itself
 * first: Node 20 does not pass loader hooks on to worker threads.
 */
function jobThread(script: string): Worker {
  const options = { resourceLimits: { stackSizeMb: JOB_STACK_MB } };
  if (!script.endsWith('.ts')) return new Worker(script, options);
  const api = import.meta.resolve('tsx/esm/api');
  const source = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(pathToFileURL(script).href)}); });`;
  return new Worker(source, { ...options, eval: true });
}

/**
 * A kept-alive worker (--serve) starts the thread of its next job as soon as it has answered, so
 * the thread's start-up (a new isolate loading this script) overlaps the host's gap between jobs
 * instead of delaying the next one. Every job still runs on a thread that never ran another job.
 * The spare starts only after the answer, so its start-up is never charged to a running job.
 */
const SERVE = process.argv.includes('--serve');
let spare: { thread: Worker; exited: boolean } | undefined;

function startSpare(): void {
  const s = { thread: jobThread(process.argv[1]), exited: false };
  s.thread.once('exit', () => (s.exited = true));
  s.thread.unref();
  spare = s;
}

function takeThread(): Worker {
  const s = spare;
  spare = undefined;
  if (s && !s.exited) {
    s.thread.ref();
    return s.thread;
  }
  return jobThread(process.argv[1]);
}

async function handle(request: Buffer): Promise<WorkerResponse> {
  const decoded = decodeRequest(request);
  // This thread only waits for the job thread: it is the watchdog (no thread of its own to start).
  const watchdog = watchOnThisThread(decoded.header.timeoutMs, decoded.header.mode === 'prepare' ? (decoded.header.maxMemoryBytes ?? 0) : 0);
  const execute = decoded.header.mode !== 'prepare';
  try {
    return await new Promise<WorkerResponse>((resolve) => {
      const fail = (detail: string, e?: Error) => resolve({ ok: false, verdict: 'abstain', reason: e && resourceError(e) ? 'io-error' : 'internal-error', detail, logs: [] });
      const t = takeThread();
      t.once('message', (m: JobResult) => {
        if (m.compiled) keepCompiled(decoded.code, m.compiled);
        resolve(m.response);
      });
      t.once('error', (e) => fail(`job thread failed: ${e.message}`, e));
      t.once('exit', (code) => fail(`job thread exited (code ${code}) without an answer`));
      const job: Job = { ...decoded, clock: watchdog.clock, compiled: execute ? compiledFor(decoded.code) : undefined };
      t.postMessage(job);
    });
  } finally {
    await watchdog.terminate();
    if (SERVE) startSpare();
  }
}

if (isMainThread) {
  workerMain(handle);
} else {
  // One job per thread: the first message is the job; the answer ends the thread's use.
  parentPort?.once('message', (job: Job) => {
    void (job.header.mode === 'prepare' ? prepareJob(job).then((response): JobResult => ({ response })) : execute(job)).then((r) => parentPort?.postMessage(r));
  });
}
