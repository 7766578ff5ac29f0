/**
 * The job thread of a v8 engine's execute worker (worker.ts starts it with a 256 MiB stack): it
 * receives one job as a message, compiles the module (polkadot's preparation) unless the worker
 * hands it one compiled from the same bytes, starts the job's clock (watchdog.ts), instantiates
 * and calls `validate_block`, posts the answer and ends. Only this file loads the host API: the
 * worker's main thread, which starts every process, loads none of it.
 */
import { parentPort } from 'node:worker_threads';
import { initZstd } from '../../core/candidate/blob.ts';
import { initFastHashing } from '../../core/primitives/hashing.ts';
import { answerOf, type WorkerLog, type WorkerResponse } from '../protocol.ts';
import { jobCpuMs, preparationMemory, startJobClock } from '../watchdog.ts';
import { callValidateBlock, compileModule, instantiatePvf, type Instantiated, type Prepared } from './execute.ts';
import { V8Tracer } from './trace.ts';
import type { Job, JobResult } from './job-types.ts';

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
  let inst: Instantiated | undefined;
  const tracer = header.trace ? new V8Tracer() : undefined;
  const answer = (response: WorkerResponse): JobResult => {
    if (tracer) {
      // A bad output is judged after validate_block returned; any other failure after instantiation stopped the call.
      const outcome = response.ok || response.reason === 'bad-output' ? 'returned' : inst ? 'trapped' : 'not-run';
      response.trace = tracer.finish(inst?.host, outcome, response.ok ? undefined : response.detail);
    }
    return { response, compiled: given ? undefined : compiled };
  };
  try {
    await initZstd();
    await initFastHashing(); // before the job clock: loading the hashers is not the PVF's work
    const t0 = performance.now();
    compiled = given ?? (await compileModule(code));
    const t1 = performance.now();
    startJobClock(clock);
    inst = await instantiatePvf(compiled, { maxPages: header.maxPages, tracer });
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

// One job per thread: the first message is the job; the answer ends the thread's use.
parentPort?.once('message', (job: Job) => {
  void (job.header.mode === 'prepare' ? prepareJob(job).then((response): JobResult => ({ response })) : execute(job)).then((r) => parentPort?.postMessage(r));
});
