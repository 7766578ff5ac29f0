/**
 * The execution timeout of a worker, measured as the worker process's CPU time (user + system)
 * from the moment the job starts, as polkadot's execute worker does: its job process starts the
 * CPU clock (`cpu_time_monitor_loop` from `ProcessTime::now()` in `handle_child_process`,
 * polkadot/node/core/pvf/execute-worker/src/lib.rs) once the request is received and the prepared
 * artifact read. Compilation is preparation there (done ahead of time, under its own timeout), and
 * the worker process was spawned before the job, so neither counts; instantiation and the call do.
 *
 * Here the watchdog thread is started before the job and polls a clock shared with the thread that
 * runs the job; `startJobClock` (called there, after the module is compiled) takes the baseline and
 * tells the host the job has started (its wall-clock hard limit starts then). When the job has used
 * its budget, the watchdog writes the timeout answer on stdout and kills its own process, whatever
 * the job's thread is doing (a tight Wasm loop never yields).
 */
import { writeSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { STARTED_LINE, type WorkerResponse } from './protocol.ts';

const WATCHDOG = `
const { workerData } = require('node:worker_threads');
const fs = require('node:fs');
const { budgetUs, clock, pollMs } = workerData;
const start = new BigInt64Array(clock);
const tick = () => {
  const s = Atomics.load(start, 0);
  if (s >= 0n) {
    const u = process.cpuUsage();
    const used = u.user + u.system - Number(s);
    if (used >= budgetUs) {
      const answer = { ok: false, verdict: 'invalid', reason: 'timeout',
        detail: 'execution used ' + Math.round(used / 1000) + ' ms of CPU time, the limit is ' + Math.round(budgetUs / 1000) + ' ms', logs: [] };
      fs.writeSync(1, '\\n' + JSON.stringify(answer) + '\\n');
      process.kill(process.pid, 'SIGKILL');
    }
  }
  setTimeout(tick, pollMs);
};
tick();
`;

/** The job's CPU clock, shared between threads: the process CPU time (µs) when the job started, -1 before. */
export type JobClock = SharedArrayBuffer;

export interface Watchdog {
  clock: JobClock;
  terminate(): Promise<void>;
}

function cpuNowUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/**
 * Start the watchdog thread for a job that may use `timeoutMs` of CPU time once it starts. Resolves
 * when the thread runs, so its own start-up is not charged to the job.
 */
export async function startWatchdog(timeoutMs: number): Promise<Watchdog> {
  const clock = new SharedArrayBuffer(8);
  new BigInt64Array(clock)[0] = -1n;
  const w = new Worker(WATCHDOG, { eval: true, workerData: { budgetUs: timeoutMs * 1000, clock, pollMs: 5 } });
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
 * The job starts now (call it from the thread that runs the job, after compilation, right before
 * instantiation): the CPU budget counts from here, and the host is told (its wall-clock limit).
 */
export function startJobClock(clock: JobClock): void {
  Atomics.store(new BigInt64Array(clock), 0, BigInt(cpuNowUs()));
  writeSync(1, STARTED_LINE + '\n');
}

/** CPU time the job has used so far, in ms (0 before it started). */
export function jobCpuMs(clock: JobClock): number {
  const s = Atomics.load(new BigInt64Array(clock), 0);
  return s < 0n ? 0 : Math.round((cpuNowUs() - Number(s)) / 100) / 10;
}

export type TimeoutResponse = Extract<WorkerResponse, { reason: 'timeout' }>;
