/**
 * The execution timeout of a worker, measured as the worker process's CPU time (user + system)
 * from the moment the job starts, as polkadot's execute worker does: its job process starts the
 * CPU clock (`cpu_time_monitor_loop` from `ProcessTime::now()` in `handle_child_process`,
 * polkadot/node/core/pvf/execute-worker/src/lib.rs) once the request is received and the prepared
 * artifact read. Compilation is preparation there (done ahead of time, under its own timeout), and
 * the worker process was spawned before the job, so neither counts; instantiation and the call do.
 *
 * Here a watchdog, started before the job (a thread of its own, or the idle main thread of a worker
 * whose job runs on another thread), polls a clock shared with the thread that runs the job; `startJobClock` (called there, after the module is compiled) takes the baseline and
 * tells the host the job has started (its wall-clock hard limit starts then). When the job has used
 * its budget, the watchdog writes the timeout answer on stdout and kills its own process, whatever
 * the job's thread is doing (a tight Wasm loop never yields).
 */
import { writeSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { STARTED_LINE } from './protocol.ts';
import { InvalidCandidate } from '../core/candidate/verdict.ts';

interface WatchdogConfig {
  budgetUs: number;
  clock: SharedArrayBuffer;
  pollMs: number;
  memLimit: number;
  /** On a thread that has other work to keep it alive: unref the timers, so the loop never does. */
  unref?: boolean;
}

/**
 * The watchdog's loop, as source text: a thread runs it as is, and the main-thread variant compiles
 * the same text, so both are one loop. (Kept as text, not as a function's toString(): a TypeScript
 * loader or bundler may rewrite a function's body with helpers that do not exist in the thread.)
 * It returns a function that stops it.
 */
const LOOP = `(cfg, fs, proc) => {
  const start = new BigInt64Array(cfg.clock);
  let stopped = false;
  const end = (answer) => {
    fs.writeSync(1, '\\n' + JSON.stringify(answer) + '\\n');
    proc.kill(proc.pid, 'SIGKILL');
  };
  const tick = () => {
    if (stopped) return;
    const s = Atomics.load(start, 0);
    if (s >= 0n) {
      const u = proc.cpuUsage();
      const used = u.user + u.system - Number(s);
      if (used >= cfg.budgetUs) {
        end({ ok: false, verdict: 'invalid', reason: 'timeout',
          detail: 'execution used ' + Math.round(used / 1000) + ' ms of CPU time, the limit is ' + Math.round(cfg.budgetUs / 1000) + ' ms', logs: [] });
      }
      if (cfg.memLimit > 0) {
        const grew = BigInt(proc.memoryUsage.rss()) - Atomics.load(start, 1);
        if (grew > Atomics.load(start, 2)) Atomics.store(start, 2, grew);
        if (grew > BigInt(cfg.memLimit)) {
          end({ ok: false, verdict: 'invalid', reason: 'prevalidation',
            detail: 'preparation used more than ' + cfg.memLimit + ' bytes of memory (PrecheckingMaxMemory): ' + grew + ' bytes', logs: [] });
        }
      }
    }
    const t = setTimeout(tick, cfg.pollMs);
    if (cfg.unref) t.unref();
  };
  tick();
  return () => { stopped = true; };
}`;

const watchdogLoop = new Function(`return ${LOOP}`)() as (cfg: WatchdogConfig, fs: { writeSync(fd: number, s: string): number }, proc: NodeJS.Process) => () => void;

const WATCHDOG_THREAD = `const { workerData } = require('node:worker_threads');(${LOOP})(workerData, require('node:fs'), process);`;

/**
 * The job's clock, shared between threads, three i64: the process CPU time (µs) when the job
 * started (-1 before), the resident set size then (bytes), and the most the resident set grew over
 * it while the watchdog looked (bytes; only when it watches memory).
 */
export type JobClock = SharedArrayBuffer;

export interface Watchdog {
  clock: JobClock;
  terminate(): Promise<void>;
}

function cpuNowUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

function newClock(): JobClock {
  const clock = new SharedArrayBuffer(24);
  new BigInt64Array(clock)[0] = -1n;
  return clock;
}

/**
 * Start the watchdog thread for a job that may use `timeoutMs` of CPU time once it starts and, for
 * a preparation job, grow the process's resident set by at most `memLimitBytes` (PrecheckingMaxMemory:
 * polkadot's prepare worker tracks its allocations and ends the job with PrepareError::OutOfMemory,
 * deterministic; here the resident set is sampled with the CPU clock, every 5 ms, so a spike shorter
 * than that can pass unseen). Resolves when the thread runs, so its own start-up is not charged.
 * For a worker whose main thread runs the job itself (wasmi).
 */
export async function startWatchdog(timeoutMs: number, memLimitBytes = 0): Promise<Watchdog> {
  const clock = newClock();
  const w = new Worker(WATCHDOG_THREAD, { eval: true, workerData: { budgetUs: timeoutMs * 1000, clock, pollMs: 5, memLimit: memLimitBytes } satisfies WatchdogConfig });
  await new Promise<void>((resolve, reject) => {
    w.once('online', () => resolve());
    w.once('error', reject);
  });
  w.unref(); // only now: until it runs, the thread is what keeps this process waiting
  return {
    clock,
    terminate: async () => {
      await w.terminate();
    },
  };
}

/**
 * The same watchdog on the calling thread's event loop, for a worker whose main thread only waits
 * while another thread runs the job (v8): no thread to start, nothing charged to the job. The
 * calling thread must stay idle (awaiting the job) for the timers to fire.
 */
export function watchOnThisThread(timeoutMs: number, memLimitBytes = 0): Watchdog {
  const clock = newClock();
  const stop = watchdogLoop({ budgetUs: timeoutMs * 1000, clock, pollMs: 5, memLimit: memLimitBytes, unref: true }, { writeSync }, process);
  return { clock, terminate: async () => stop() };
}

/**
 * The job starts now (call it from the thread that runs the job, after compilation, right before
 * instantiation): the CPU budget counts from here, and the host is told (its wall-clock limit).
 */
export function startJobClock(clock: JobClock): void {
  const c = new BigInt64Array(clock);
  Atomics.store(c, 1, BigInt(process.memoryUsage.rss()));
  Atomics.store(c, 0, BigInt(cpuNowUs()));
  writeSync(1, STARTED_LINE + '\n');
}

/** CPU time the job has used so far, in ms (0 before it started). */
export function jobCpuMs(clock: JobClock): number {
  const s = Atomics.load(new BigInt64Array(clock), 0);
  return s < 0n ? 0 : Math.round((cpuNowUs() - Number(s)) / 100) / 10;
}

/** The most the resident set grew over its size at the job's start, as far as the watchdog saw (bytes). */
export function jobMemoryGrowth(clock: JobClock): number {
  const c = new BigInt64Array(clock);
  const now = BigInt(process.memoryUsage.rss()) - Atomics.load(c, 1);
  const seen = Atomics.load(c, 2);
  return Number(now > seen ? now : seen);
}

/**
 * PrecheckingMaxMemory, checked the same way by every engine when a preparation job ends: the
 * resident set grew by more than `maxMemoryBytes` → InvalidCandidate (prevalidation; polkadot:
 * PrepareError::OutOfMemory, deterministic). Returns the growth.
 */
export function preparationMemory(clock: JobClock, maxMemoryBytes: number | undefined): number {
  const grew = jobMemoryGrowth(clock);
  if (maxMemoryBytes !== undefined && grew > maxMemoryBytes) {
    throw new InvalidCandidate('prevalidation', `preparation used more than ${maxMemoryBytes} bytes of memory (PrecheckingMaxMemory): ${grew} bytes`);
  }
  return grew;
}
