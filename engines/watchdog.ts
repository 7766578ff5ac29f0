/**
 * The execution timeout of a worker, measured as the worker process's CPU time (user + system)
 * since the job started, as polkadot's execute worker does. A watchdog thread polls the process
 * CPU clock; when the job has used its budget it writes the timeout answer on stdout and kills its
 * own process, whatever the main thread is doing (a tight Wasm loop never yields).
 */
import { Worker } from 'node:worker_threads';
import type { WorkerResponse } from './protocol.ts';

const WATCHDOG = `
const { workerData } = require('node:worker_threads');
const fs = require('node:fs');
const { budgetUs, startUs, pollMs } = workerData;
const tick = () => {
  const u = process.cpuUsage();
  const used = u.user + u.system - startUs;
  if (used >= budgetUs) {
    const answer = { ok: false, verdict: 'invalid', reason: 'timeout',
      detail: 'execution used ' + Math.round(used / 1000) + ' ms of CPU time, the limit is ' + Math.round(budgetUs / 1000) + ' ms', logs: [] };
    fs.writeSync(1, '\\n' + JSON.stringify(answer) + '\\n');
    process.kill(process.pid, 'SIGKILL');
  }
  setTimeout(tick, pollMs);
};
tick();
`;

/** Start the watchdog for a job that may use `timeoutMs` of CPU time from now. */
export function startWatchdog(timeoutMs: number): Worker {
  const u = process.cpuUsage();
  const w = new Worker(WATCHDOG, { eval: true, workerData: { budgetUs: timeoutMs * 1000, startUs: u.user + u.system, pollMs: 5 } });
  w.unref();
  return w;
}

export type TimeoutResponse = Extract<WorkerResponse, { reason: 'timeout' }>;
