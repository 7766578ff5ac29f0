/**
 * Pre-checking a PVF (what validators vote on before a code upgrade is enacted): the one prepare
 * pipeline that validation uses (prepare.ts: decompress, feature gate, memory cap, stack limiter,
 * NaN canonicalisation, the prepared artifact cached under the same key), then what the session's
 * engine does before it can run the module (compile it, in its own worker), under the precheck
 * timeout and PrecheckingMaxMemory, as polkadot's prepare worker does.
 *
 * Outcomes as polkadot's candidate-validation draws them from a PrepareError: a deterministic
 * failure (the blob, the feature gate, a rewrite, a compile error, too much memory) is `invalid`;
 * a timeout (`prepare-timeout`), a worker that died, or any fault of ours is `abstain` (no vote).
 */
import { preparePvf, type PrepareLimits } from '../prepare/prepare.ts';
import type { PreparedCache } from '../prepare/prepared-cache.ts';
import type { Engine } from './validate.ts';
import { verdictFromError, type Verdict } from './verdict.ts';
import { msSince } from '../primitives/timers.ts';

export interface PrecheckOptions {
  limits: PrepareLimits;
  /** The precheck timeout (PvfPrepTimeout, precheck kind), in ms. */
  timeoutMs: number;
  /** PrecheckingMaxMemory in bytes, if the ExecutorParams set it. */
  maxMemoryBytes?: number;
  /** The prep hash of the ExecutorParams: the prepared artifact's key, shared with `validate`. */
  prepHash?: string;
  cache?: PreparedCache;
}

export interface PrecheckReport {
  verdict: Verdict['verdict'];
  reason?: string;
  detail?: string;
  /** The engine that compiled the module. */
  engine: string;
  timings: Record<string, number>;
}

export async function precheck(blob: Uint8Array, engine: Engine, opts: PrecheckOptions): Promise<PrecheckReport> {
  const timings: Record<string, number> = {};
  const t0 = performance.now();
  try {
    const prepared = await preparePvf(blob, engine.id, opts.limits, { cache: opts.cache, prepHash: opts.prepHash });
    Object.assign(timings, prepared.timings);
    const compiled = await engine.prepare(prepared.module, { timeoutMs: opts.timeoutMs, maxMemoryBytes: opts.maxMemoryBytes, maxPages: opts.limits.maxPages });
    Object.assign(timings, compiled.timings);
    timings.totalMs = msSince(t0);
    return { verdict: 'valid', engine: engine.id, timings };
  } catch (e) {
    timings.totalMs = msSince(t0);
    const v = verdictFromError(e);
    return { verdict: v.verdict, reason: v.reason, detail: v.detail, engine: engine.id, timings };
  }
}
