/** The v8 engine of the running Node.js process (in-process for now; workers come with engine sections). */
import type { Engine, LogLine } from '../../core/validate.ts';
import { InvalidCandidate } from '../../core/verdict.ts';
import { initZstd } from '../../core/blob.ts';
import { callValidateBlock, compilePvf, instantiatePvf } from './execute.ts';

export const inProcessV8: Engine = {
  id: `v8-inprocess-node${process.versions.node}`,
  family: 'v8',
  vmVersion: process.versions.v8,
  async execute(code, params, opts) {
    const t0 = performance.now();
    await initZstd(); // runtime_version may decompress a code blob inside a host call
    const prepared = await compilePvf(code);
    const inst = await instantiatePvf(prepared, { onLog: opts.onLog });
    const t1 = performance.now();
    try {
      const raw = callValidateBlock(inst, params);
      const t2 = performance.now();
      return { raw, logs: inst.host.logs as LogLine[], timings: { instantiateMs: round(t1 - t0), executeMs: round(t2 - t1) } };
    } catch (e) {
      // Keep the logs of a failed run: they carry the panic message.
      if (e instanceof InvalidCandidate) Object.assign(e, { logs: inst.host.logs });
      throw e;
    }
  },
};

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
