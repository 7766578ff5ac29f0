/**
 * The execute worker of a v8 engine: run by the engine's own node binary, it executes one
 * `validate_block` with the PVF host API and prints the answer (see ../protocol.ts).
 */
import { verdictFromError } from '../../core/verdict.ts';
import { initZstd } from '../../core/blob.ts';
import { decodeRequest, readStdin, type WorkerLog, type WorkerResponse } from '../protocol.ts';
import { startWatchdog } from '../watchdog.ts';
import { callValidateBlock, compilePvf, instantiatePvf } from './execute.ts';

async function run(): Promise<WorkerResponse> {
  let logs: WorkerLog[] = [];
  try {
    const { header, code, params } = decodeRequest(await readStdin());
    startWatchdog(header.timeoutMs);
    await initZstd();
    const t0 = performance.now();
    const inst = await instantiatePvf(await compilePvf(code), { maxPages: header.maxPages });
    logs = inst.host.logs;
    const t1 = performance.now();
    const raw = callValidateBlock(inst, params);
    const t2 = performance.now();
    return {
      ok: true,
      raw: Buffer.from(raw).toString('hex'),
      logs,
      timings: { instantiateMs: t1 - t0, executeMs: t2 - t1, workerMaxRssKb: process.resourceUsage().maxRSS },
    };
  } catch (e) {
    const v = verdictFromError(e);
    return v.verdict === 'invalid'
      ? { ok: false, verdict: 'invalid', reason: v.reason, detail: v.detail, logs }
      : { ok: false, verdict: 'abstain', reason: v.reason, detail: v.detail, logs };
  }
}

run().then((r) => {
  process.stdout.write(JSON.stringify(r) + '\n', () => process.exit(0));
});
