/**
 * Pre-checking a PVF (what validators vote on before a code upgrade is enacted): decompress under
 * the code bomb limit, prevalidate against the engine's feature set, prepare (memory cap) and
 * compile, under the precheck timeout. Deterministic failures are `invalid`; a timeout or a fault
 * of ours is `abstain` (polkadot does not vote against code it could not finish checking).
 */
import { BlobError, CODE_BOMB_LIMIT, decompressAs } from './blob.ts';
import { capMemory, PrepareError } from './prepare.ts';
import { checkFeatures, PrevalidationError } from './prevalidate.ts';
import { HostFault, InvalidCandidate, verdictFromError, type Verdict } from './verdict.ts';
import { setLongTimeout, type LongTimer } from './timers.ts';

export interface PrecheckOptions {
  bulkMemory: boolean;
  maxPages: number;
  timeoutMs: number;
}

export interface PrecheckReport {
  verdict: Verdict['verdict'];
  reason?: string;
  detail?: string;
  timings: Record<string, number>;
}

function elapsed(t0: number): number {
  return Math.round((performance.now() - t0) * 1000) / 1000;
}

export async function precheck(blob: Uint8Array, opts: PrecheckOptions): Promise<PrecheckReport> {
  const timings: Record<string, number> = {};
  const t0 = performance.now();
  try {
    let code: Uint8Array;
    try {
      code = (await decompressAs('code', blob, CODE_BOMB_LIMIT)).bytes;
    } catch (e) {
      if (e instanceof BlobError) throw new InvalidCandidate('code-decompression', e.message);
      throw e;
    }
    timings.decompressMs = elapsed(t0);
    let t = performance.now();
    try {
      checkFeatures(code, { bulkMemory: opts.bulkMemory });
      code = capMemory(code, opts.maxPages);
    } catch (e) {
      if (e instanceof PrevalidationError || e instanceof PrepareError) throw new InvalidCandidate('prevalidation', e.message);
      throw e;
    }
    timings.prepareMs = elapsed(t);
    t = performance.now();
    // Compile the whole module (validation of every function) within the precheck timeout.
    const compiled = WebAssembly.compile(code).then(
      () => undefined,
      (e: unknown) => {
        // Only V8 refusing the module is the code's fault; any other rejection (out of memory, a
        // bug) is ours and becomes abstain.
        if (e instanceof WebAssembly.CompileError) throw new InvalidCandidate('prevalidation', `compile error: ${e.message}`);
        throw e;
      },
    );
    // Any PvfPrepTimeout, however large, is honoured (a plain setTimeout fires at once above 2^31 - 1 ms).
    let timer: LongTimer | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setLongTimeout(() => reject(new HostFault('internal-error', `compilation did not finish within the precheck timeout of ${opts.timeoutMs} ms`)), opts.timeoutMs);
    });
    try {
      await Promise.race([compiled, timeout]);
    } finally {
      timer?.clear();
    }
    timings.compileMs = elapsed(t);
    timings.totalMs = elapsed(t0);
    return { verdict: 'valid', timings };
  } catch (e) {
    timings.totalMs = elapsed(t0);
    const v = verdictFromError(e);
    return { verdict: v.verdict, reason: v.reason, detail: v.detail, timings };
  }
}
