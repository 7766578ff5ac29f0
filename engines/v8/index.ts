/**
 * The v8 engine of the running Node.js process, for tests and benchmarks only: no worker, so no CPU
 * budget, no memory measurement and no isolation. Users never get it (engines/registry.ts offers
 * only worker engines).
 */
import { initFastHashing } from '../../core/primitives/hashing.ts';
import type { Engine, LogLine } from '../../core/candidate/validate.ts';
import { HostFault, InvalidCandidate } from '../../core/candidate/verdict.ts';
import { initZstd } from '../../core/candidate/blob.ts';
import { setLongTimeout, type LongTimer } from '../../core/primitives/timers.ts';
import { callValidateBlock, compileModule, instantiatePvf } from './execute.ts';
import type { HostFunctionTable } from './host/host.ts';
import { V8Tracer } from './trace.ts';

/**
 * The in-process engine, optionally over another host function table: tests build a deliberately
 * divergent engine this way (tests/trace.test.ts).
 */
export function inProcessV8With(functions?: HostFunctionTable, id = `v8-inprocess-node${process.versions.node}`): Engine {
  return { ...inProcessPrepare, id, family: 'v8', vmVersion: process.versions.v8, execute: (code, params, opts) => executeInProcess(code, params, opts, functions) };
}

async function executeInProcess(code: Uint8Array, params: Uint8Array, opts: Parameters<Engine['execute']>[2], functions: HostFunctionTable | undefined): ReturnType<Engine['execute']> {
  const t0 = performance.now();
  await initZstd(); // runtime_version may decompress a code blob inside a host call
  await initFastHashing();
  const prepared = await compileModule(code);
  const tracer = opts.trace ? new V8Tracer() : undefined;
  let inst;
  try {
    inst = await instantiatePvf(prepared, { onLog: opts.onLog, maxPages: opts.limits?.maxPages, functions, tracer });
  } catch (e) {
    if (tracer && e instanceof InvalidCandidate) Object.assign(e, { trace: tracer.finish(undefined, 'not-run', e.message) });
    throw e;
  }
  const t1 = performance.now();
  try {
    const raw = callValidateBlock(inst, params);
    const t2 = performance.now();
    const trace = tracer && { trace: tracer.finish(inst.host, 'returned') };
    return { raw, logs: inst.host.logs as LogLine[], timings: { instantiateMs: round(t1 - t0), executeMs: round(t2 - t1) }, ...trace };
  } catch (e) {
    // Keep the logs of a failed run: they carry the panic message.
    if (e instanceof InvalidCandidate) {
      Object.assign(e, { logs: inst.host.logs });
      if (tracer) Object.assign(e, { trace: tracer.finish(inst.host, e.reason === 'bad-output' ? 'returned' : 'trapped', e.message) });
    }
    throw e;
  }
}

const inProcessPrepare: Pick<Engine, 'prepare'> = {
  async prepare(module, opts) {
    const t0 = performance.now();
    let timer: LongTimer | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setLongTimeout(() => reject(new HostFault('prepare-timeout', `compilation did not finish within the precheck timeout of ${opts.timeoutMs} ms`)), opts.timeoutMs);
    });
    try {
      await Promise.race([compileModule(module), timeout]);
    } finally {
      timer?.clear();
    }
    return { timings: { compileMs: round(performance.now() - t0) } };
  },
};

export const inProcessV8: Engine = inProcessV8With();

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
