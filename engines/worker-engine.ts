/**
 * An engine the binary carries, run as an execute worker: its files are extracted to the cache on
 * first use and verified, and each execution is a fresh process started from those files, in an
 * empty working directory, with an empty environment and only the protocol pipes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_LIMITS, type Engine, type LogLine } from '../core/validate.ts';
import { HostFault, InvalidCandidate } from '../core/verdict.ts';
import { encodeRequest, frameRequest, type WorkerResponse } from './protocol.ts';
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

/**
 * A worker process kept alive across jobs (`--serve`), for smoke and conformance runs. Each job
 * still runs in a fresh instance (a fresh thread for v8, a fresh VM for wasmi); only the process
 * start and the bundle load are saved.
 */
class ServingWorker {
  dead = false;
  fresh = true;
  private out = '';
  private waiter: { resolve: (r: WorkerResponse) => void; reject: (e: Error) => void } | undefined;
  private readonly child: ChildProcess;
  private readonly cwd: string;
  private stderr = '';

  constructor(argv: string[]) {
    this.cwd = mkdtempSync(join(tmpdir(), 'pvf-worker-'));
    this.child = spawn(argv[0], [...argv.slice(1), '--serve'], { cwd: this.cwd, env: {}, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (b: Buffer) => {
      this.out += b.toString('utf8');
      let nl: number;
      while ((nl = this.out.indexOf('\n')) >= 0) {
        const line = this.out.slice(0, nl).trim();
        this.out = this.out.slice(nl + 1);
        if (!line) continue;
        const w = this.waiter;
        this.waiter = undefined;
        try {
          w?.resolve(JSON.parse(line) as WorkerResponse);
        } catch {
          w?.reject(new WorkerDied(`worker wrote something that is not an answer: ${line.slice(0, 200)}`));
        }
      }
    });
    this.child.stderr!.on('data', (b: Buffer) => (this.stderr = (this.stderr + b.toString('utf8')).slice(-2000)));
    this.child.stdin!.on('error', () => {
      /* reported on close */
    });
    this.child.on('error', (e) => this.die(`cannot start worker ${argv[0]}: ${e.message}`));
    this.child.on('close', (code, signal) => this.die(`worker died without a verdict (${signal ? `signal ${signal}` : `exit code ${code}`})${this.stderr ? `: ${this.stderr.trim().split('\n').slice(-1)[0].slice(0, 300)}` : ''}`));
  }

  private die(detail: string): void {
    if (this.dead) return;
    this.dead = true;
    rmSync(this.cwd, { recursive: true, force: true });
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(new WorkerDied(detail));
  }

  run(request: Buffer, hardMs: number): Promise<WorkerResponse> {
    return new Promise<WorkerResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.child.kill('SIGKILL');
        resolve({ ok: false, verdict: 'invalid', reason: 'timeout', detail: `hard timeout: still running after ${hardMs} ms of wall-clock time`, logs: [] });
      }, hardMs);
      this.waiter = {
        resolve: (r) => {
          clearTimeout(timer);
          this.fresh = false;
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.child.stdin!.write(frameRequest(request));
    });
  }

  close(): void {
    this.child.stdin!.end();
  }
}

const pools = new Map<string, ServingWorker[]>();

/** End every kept-alive worker (they exit when their stdin closes). */
export function closeWorkers(): void {
  for (const idle of pools.values()) for (const w of idle.splice(0)) w.close();
}

async function runServed(poolKey: string, argv: string[], request: Buffer, hardMs: number): Promise<WorkerResponse> {
  const idle = pools.get(poolKey) ?? [];
  pools.set(poolKey, idle);
  let w = idle.pop();
  while (w && w.dead) w = idle.pop();
  w ??= new ServingWorker(argv);
  let res: WorkerResponse;
  try {
    res = await w.run(request, hardMs);
  } catch (e) {
    // A reused worker that died had done its earlier jobs well: not this candidate's doing, so the
    // job runs again on a fresh process before any verdict is drawn from a death.
    if (e instanceof WorkerDied && !w.fresh) return runServed(poolKey, argv, request, hardMs);
    throw e;
  }
  // A worker that answered a timeout has killed itself; never hand it out again.
  if (!w.dead && !(res.ok === false && res.reason === 'timeout')) idle.push(w);
  return res;
}

export interface WorkerEngineOptions {
  /** Keep worker processes alive across jobs (smoke, conformance); call closeWorkers() at the end. */
  persistent?: boolean;
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
  return processEngine(e.id, e.family, e.vmVersion, opts.persistent ?? false, async () => {
    if (e.status === 'revoked' && !opts.allowRevoked) {
      throw new HostFault('engine-revoked', `engine ${e.id} is revoked${e.advisory ? `: ${e.advisory}` : ''}`);
    }
    return resolveCommand(store, e, opts);
  });
}

/** The v8 worker of a source checkout, run by the current node through tsx (development only). */
export function sourceV8Engine(): Engine {
  const worker = fileURLToPath(new URL('./v8/worker.ts', import.meta.url));
  return processEngine(`v8-source-node${process.versions.node}`, 'v8', process.versions.v8, false, async () => [process.execPath, '--import', import.meta.resolve('tsx'), worker]);
}

function processEngine(id: string, family: string, vmVersion: string, persistent: boolean, command: () => Promise<string[]>): Engine {
  return {
    id,
    family,
    vmVersion,
    async execute(code, params, run) {
      const argv = await command();
      const limits = run.limits ?? DEFAULT_LIMITS;
      const request = encodeRequest(code, params, limits);
      const once = async (): Promise<WorkerResponse> => {
        if (persistent) return runServed(id, argv, request, limits.timeoutMs * 4);
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
