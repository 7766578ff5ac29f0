/**
 * The execute worker of a v8 engine: run by the engine's own node binary, it executes one
 * `validate_block` with the PVF host API and prints the answer (see ../protocol.ts).
 *
 * The job runs on a thread with a 256 MiB stack (polkadot's native stack limit): the deterministic
 * stack limiter injected by prepare, not V8's default ~1 MiB stack, must decide where recursion
 * stops. The main thread (this file) only reads the request, runs the CPU-time watchdog while it
 * waits, and prints; it loads neither the host API nor the compiler glue, which only the job
 * thread (job.ts, a file of its own in the payload) loads. The job thread compiles the module
 * (polkadot's preparation), then starts the job's clock (watchdog.ts) and instantiates and calls
 * `validate_block`: only that is charged to the candidate's budget.
 */
import { Worker } from 'node:worker_threads';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { decodeRequest, resourceError, workerMain, type WorkerResponse } from '../protocol.ts';
import { watchOnThisThread } from '../watchdog.ts';
import type { Prepared } from './execute.ts';
import type { Job, JobResult } from './job-types.ts';

export const JOB_STACK_MB = 256;

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
 * A job thread: job.cjs beside this script (job.ts from a source checkout), on a thread with
 * JOB_STACK_MB of stack, waiting for one job as a message. From a source checkout (a .ts file run
 * through tsx) the thread registers tsx itself first: Node 20 does not pass loader hooks on to
 * worker threads.
 */
function jobThread(worker: string): Worker {
  const options = { resourceLimits: { stackSizeMb: JOB_STACK_MB } };
  const script = join(dirname(worker), worker.endsWith('.ts') ? 'job.ts' : 'job.cjs');
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

workerMain(handle);
