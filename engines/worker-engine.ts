/**
 * An engine the binary carries, run as an execute worker: its files are extracted to the cache on
 * first use and verified, and each execution is a fresh process started from those files, in an
 * empty working directory, with an empty environment and only the protocol pipes.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_LIMITS, type Engine, type LogLine } from '../core/validate.ts';
import { HostFault, InvalidCandidate } from '../core/verdict.ts';
import { encodeRequest, type WorkerResponse } from './protocol.ts';
import type { EngineEntry } from './store/manifest.ts';
import type { EngineStore } from './store/store.ts';

/** Delay before the one retry of an approval execution whose worker died (polkadot waits too). */
export const APPROVAL_RETRY_DELAY_MS = 500;

/** The worker exited without a well-formed answer: a death we cannot attribute. */
export class WorkerDied extends HostFault {
  constructor(detail: string) {
    super('internal-error', detail);
  }
}

export interface WorkerEngineOptions {
  /** Called once when an engine has to be extracted (for a spinner on a TTY). */
  onExtract?: (id: string) => () => void;
  allowRevoked?: boolean;
}

async function resolveCommand(store: EngineStore, e: EngineEntry, opts: WorkerEngineOptions): Promise<string[]> {
  const dirs = new Map<string, string>();
  const dirOf = async (entry: EngineEntry): Promise<string> => {
    let d = dirs.get(entry.id);
    if (!d) {
      let done: (() => void) | undefined;
      d = await store.ensureExtracted(entry, { onExtract: () => (done = opts.onExtract?.(entry.id)) });
      done?.();
      dirs.set(entry.id, d);
    }
    return d;
  };
  const own = await dirOf(e);
  const argv: string[] = [];
  for (const part of e.command) {
    const m = /^engine:([^/]+)\/(.+)$/.exec(part);
    if (m) {
      const other = store.engine(m[1]);
      if (!other) throw new HostFault('engine-unavailable', `engine ${e.id} runs on ${m[1]}, which this binary does not carry`);
      argv.push(join(await dirOf(other), m[2]));
    } else {
      argv.push(join(own, part));
    }
  }
  return argv;
}

export function workerEngine(store: EngineStore, e: EngineEntry, opts: WorkerEngineOptions = {}): Engine {
  return processEngine(e.id, e.family, e.vmVersion, async () => {
    if (e.status === 'revoked' && !opts.allowRevoked) {
      throw new HostFault('engine-revoked', `engine ${e.id} is revoked${e.advisory ? `: ${e.advisory}` : ''}`);
    }
    return resolveCommand(store, e, opts);
  });
}

/** The v8 worker of a source checkout, run by the current node through tsx (development only). */
export function sourceV8Engine(): Engine {
  const worker = fileURLToPath(new URL('./v8/worker.ts', import.meta.url));
  return processEngine(`v8-source-node${process.versions.node}`, 'v8', process.versions.v8, async () => [process.execPath, '--import', import.meta.resolve('tsx'), worker]);
}

function processEngine(id: string, family: string, vmVersion: string, command: () => Promise<string[]>): Engine {
  return {
    id,
    family,
    vmVersion,
    async execute(code, params, run) {
      const argv = await command();
      const limits = run.limits ?? DEFAULT_LIMITS;
      const request = encodeRequest(code, params, limits);
      const once = async (): Promise<WorkerResponse> => {
        const cwd = mkdtempSync(join(tmpdir(), 'pvf-worker-'));
        try {
          return await runWorker(argv, cwd, request, limits.timeoutMs * 4);
        } finally {
          rmSync(cwd, { recursive: true, force: true });
        }
      };
      {
        let res: WorkerResponse;
        try {
          res = await once();
        } catch (err) {
          // A worker that died without a verdict. Backing never retries: we cannot attribute the
          // death, so we abstain. Approval retries once after a short delay, as polkadot's
          // candidate-validation does; a second death is then invalid, as polkadot judges it.
          if (!(err instanceof WorkerDied) || limits.kind !== 'approval') throw err;
          await new Promise((r) => setTimeout(r, APPROVAL_RETRY_DELAY_MS));
          try {
            res = await once();
          } catch (again) {
            if (again instanceof WorkerDied) throw new InvalidCandidate('execution-error', `ambiguous worker death, twice: ${again.detail}`);
            throw again;
          }
        }
        const logs: LogLine[] = res.logs;
        for (const l of logs) run.onLog?.(l);
        if (res.ok) return { raw: new Uint8Array(Buffer.from(res.raw, 'hex')), logs, timings: res.timings };
        if (res.verdict === 'invalid') throw Object.assign(new InvalidCandidate(res.reason, res.detail), { logs });
        throw new HostFault(res.reason, `${id}: ${res.detail}`);
      }
    },
  };
}

/**
 * Run one job. The worker enforces the CPU-time limit itself; if it is still running after
 * `hardMs` of wall-clock time it is killed and the candidate is invalid (polkadot's hard timeout).
 */
function runWorker(argv: string[], cwd: string, request: Buffer, hardMs: number): Promise<WorkerResponse> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { cwd, env: {}, stdio: ['pipe', 'pipe', 'pipe'] });
    let hardKilled = false;
    const timer = setTimeout(() => {
      hardKilled = true;
      child.kill('SIGKILL');
    }, hardMs);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => reject(new HostFault('internal-error', `cannot start worker ${argv[0]}: ${e.message}`)));
    child.stdin.on('error', () => {
      /* the worker died early; reported on close */
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (hardKilled) {
        return resolve({ ok: false, verdict: 'invalid', reason: 'timeout', detail: `hard timeout: still running after ${hardMs} ms of wall-clock time`, logs: [] });
      }
      const text = Buffer.concat(out).toString('utf8').trim();
      const last = text.slice(text.lastIndexOf('\n') + 1);
      try {
        const res = JSON.parse(last) as WorkerResponse;
        if (typeof res === 'object' && res !== null && 'ok' in res) return resolve(res);
      } catch {
        /* no answer */
      }
      const stderr = Buffer.concat(err).toString('utf8').trim().split('\n').slice(-1)[0] ?? '';
      reject(new WorkerDied(`worker died without a verdict (${signal ? `signal ${signal}` : `exit code ${code}`})${stderr ? `: ${stderr.slice(0, 300)}` : ''}`));
    });
    child.stdin.end(request);
  });
}
