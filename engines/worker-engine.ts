/**
 * An engine the binary carries, run as an execute worker: its files are extracted to the cache on
 * first use and verified, and each execution is a fresh process started from those files, in an
 * empty working directory, with an empty environment and only the protocol pipes.
 *
 * Limits and faults (docs/worker-faults.md): a start-up deadline until the worker says the job
 * started (expiry: abstain), then the wall-clock hard limit of 4x the CPU budget (expiry: invalid,
 * timeout); a spawn failure is abstain (io-error); a death without an answer is classified by
 * `classifyDeath`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { setLongTimeout, sleep, type LongTimer } from '../core/primitives/timers.ts';
import { boundLogs, boundString } from './logs.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_LIMITS, type Engine, type LogLine } from '../core/candidate/validate.ts';
import { HostFault, InvalidCandidate } from '../core/candidate/verdict.ts';
import { encodeRequest, frameHeader, parseResponse, type RequestLimits, type WorkerResponse } from './protocol.ts';
import { missingLayers, sandboxedArgv, signalOfExit } from './sandbox.ts';
import type { EngineEntry } from './store/manifest.ts';
import type { EngineStore } from './store/store.ts';

/** Delay before the one retry of an approval execution whose worker died (polkadot waits too). */
export const APPROVAL_RETRY_DELAY_MS = 500;

/**
 * How long a worker may take from its spawn (or, kept alive, from the request) until it says the
 * job started: process start, reading the request and compiling the module. Polkadot spawns its
 * workers and prepares artifacts before any job, under their own timeouts; a worker that cannot get
 * there is a fault of this machine, so its expiry is `abstain`, never `invalid`.
 */
export const STARTUP_DEADLINE_MS = 60_000;

/** The wall-clock hard limit counts from the job's start: this many times the CPU budget (polkadot's JOB_TIMEOUT_WALL_CLOCK_FACTOR). */
export const WALL_CLOCK_FACTOR = 4;

/**
 * Signals that say the machine, not the candidate, ended the worker: a SIGKILL we did not send (the
 * OOM killer, an operator, a cgroup limit), the engine aborting on a resource it could not get
 * (SIGABRT, SIGTRAP: out of memory, an address-space or thread limit, a failed internal check),
 * SIGBUS (a mapping the kernel could not back), resource limits (SIGXCPU, SIGXFSZ) and termination
 * from outside (SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGPIPE, SIGALRM, SIGUSR1, SIGUSR2).
 */
export const HOST_SIGNALS: ReadonlySet<string> = new Set([
  'SIGKILL', 'SIGABRT', 'SIGTRAP', 'SIGBUS', 'SIGXCPU', 'SIGXFSZ',
  'SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGPIPE', 'SIGALRM', 'SIGUSR1', 'SIGUSR2',
]);

/**
 * How a worker that ended without an answer is judged (docs/worker-faults.md). `host`: the death is
 * this machine's doing and never counts against the candidate. `ambiguous`: as polkadot's
 * AmbiguousWorkerDeath / AmbiguousJobDeath (polkadot/node/core/pvf/src/execute/queue.rs,
 * `handle_job_finish`), it might be the candidate's: abstain in backing; in approval one retry, and
 * only a second ambiguous death is invalid.
 */
export type DeathClass = 'host' | 'ambiguous';

export function classifyDeath(d: { started: boolean; code: number | null; signal: string | null }): { cls: DeathClass; why: string } {
  const how = d.signal ? `signal ${d.signal}` : `exit code ${d.code}`;
  if (!d.started) {
    // Before the job: start-up, the request, compilation (polkadot's preparation, whose failures at
    // execution time are not the candidate's: candidate-validation abstains on them).
    return { cls: 'host', why: `${how}, before the job started` };
  }
  if (d.signal && HOST_SIGNALS.has(d.signal)) {
    return { cls: 'host', why: d.signal === 'SIGKILL' ? `${how}, not sent by pvf (out of memory or killed from outside)` : `${how}, a fault of this machine or of the engine` };
  }
  // SIGSEGV, SIGILL, SIGFPE, SIGSYS, other signals, an exit without an answer: possibly the
  // candidate (malicious code exploiting the engine), as polkadot judges a job that died.
  return { cls: 'ambiguous', why: how };
}

/** The worker exited without a well-formed answer. */
export class WorkerDied extends HostFault {
  constructor(
    detail: string,
    readonly cls: DeathClass = 'ambiguous',
  ) {
    super('internal-error', detail);
  }
}

/** The worker process could not be started (EMFILE, EAGAIN, ENOENT, EACCES, ...): an I/O fault of ours. */
export class WorkerSpawnFailed extends HostFault {
  constructor(argv0: string, e: unknown) {
    const err = e as NodeJS.ErrnoException;
    super('io-error', `cannot start worker ${argv0}: ${err?.code ? `${err.code}: ` : ''}${(e as Error)?.message ?? String(e)}`);
  }
}

export interface JobLimits {
  /** The CPU budget in ms; the wall-clock hard limit is WALL_CLOCK_FACTOR times it, from the job's start. */
  timeoutMs: number;
  /** Start-up deadline (spawn or request to the job's start). */
  startupMs: number;
}

/**
 * Whether an engine family's `timeout` is a verdict. The budgets (backing 2 s, approval 12 s,
 * PvfExecTimeout) are set for polkadot's compiled engine; the wasmi engines interpret, 7-88x slower
 * on the same job (the statemine block: 7x; a tight loop: 88x), so their timeout says nothing about
 * whether polkadot's engine would finish: `abstain` (engine-limit) there, whether the job would have
 * ended or never would. Every other answer of theirs is still a verdict.
 */
export const judgesTimeouts = (family: string): boolean => family !== 'wasmi';

function hardTimeout(hardMs: number): WorkerResponse {
  return { ok: false, verdict: 'invalid', reason: 'timeout', detail: `hard timeout: still running after ${hardMs} ms of wall-clock time since the job started`, logs: [] };
}

/**
 * A worker process: one job (`validate`), or kept alive across jobs (`--serve`, for smoke and
 * conformance: each job still runs in a fresh instance; only the process start and the bundle load
 * are saved). Reads the worker's stdout as lines: `{"started":true}` starts the job's wall clock,
 * the next answer line settles the job.
 */
class WorkerProcess {
  dead = false;
  fresh = true;
  private readonly child: ChildProcess | undefined;
  private readonly cwd: string;
  private partial: Buffer[] = [];
  private stderr = '';
  private job:
    | { resolve: (r: WorkerResponse) => void; reject: (e: Error) => void; started: boolean; timer: LongTimer | undefined }
    | undefined;
  private spawnError: WorkerSpawnFailed | undefined;
  private limits: JobLimits = { timeoutMs: 0, startupMs: STARTUP_DEADLINE_MS };

  private readonly viaBwrap: boolean;
  constructor(
    cmd: SpawnCommand,
    private readonly serve: boolean,
  ) {
    const { argv } = cmd;
    const program = cmd.program ?? argv[0];
    this.viaBwrap = cmd.viaBwrap ?? false;
    try {
      this.cwd = mkdtempSync(join(tmpdir(), 'pvf-worker-'));
    } catch (e) {
      throw new HostFault('io-error', `cannot create the worker directory: ${(e as Error).message}`);
    }
    let child: ChildProcess;
    try {
      child = spawn(argv[0], serve ? [...argv.slice(1), '--serve'] : argv.slice(1), { cwd: this.cwd, env: {}, stdio: ['pipe', 'pipe', 'pipe'] });
    } catch (e) {
      this.cleanup();
      throw new WorkerSpawnFailed(program, e);
    }
    this.child = child;
    // A failed spawn emits 'error' (EMFILE, EAGAIN, ENOENT, ...), and its stdio may be missing.
    child.on('error', (e) => {
      // Only a process that never started has no pid; any later error is reported on close.
      if (child.pid !== undefined) return;
      this.spawnError ??= new WorkerSpawnFailed(program, e);
      this.end(this.spawnError);
    });
    child.on('close', (code, signal) => this.closed(code, signal));
    child.stdout?.on('data', (b: Buffer) => this.data(b));
    child.stderr?.on('data', (b: Buffer) => (this.stderr = (this.stderr + b.toString('utf8')).slice(-2000)));
    child.stdin?.on('error', () => {
      /* the worker died early: reported on close */
    });
    child.stdout?.on('error', () => {
      /* reported on close */
    });
    child.stderr?.on('error', () => {
      /* reported on close */
    });
  }

  private cleaned = false;
  private cleanup(): void {
    if (this.cleaned) return;
    this.cleaned = true;
    rmSync(this.cwd, { recursive: true, force: true });
  }

  private data(chunk: Buffer): void {
    let from = 0;
    let nl: number;
    while ((nl = chunk.indexOf(0x0a, from)) >= 0) {
      this.partial.push(chunk.subarray(from, nl));
      const line = Buffer.concat(this.partial).toString('utf8').trim();
      this.partial = [];
      from = nl + 1;
      if (line) this.line(line);
    }
    if (from < chunk.length) this.partial.push(chunk.subarray(from));
  }

  private garbage(line: string): void {
    // A worker that writes something other than the protocol is never trusted again.
    this.kill();
    this.settle(undefined, new WorkerDied(`worker wrote something that is not an answer: ${line.slice(0, 200)}`, 'ambiguous'));
  }

  private line(line: string): void {
    const job = this.job;
    if (!job) return;
    let msg: unknown;
    try {
      msg = JSON.parse(line);
    } catch {
      return this.garbage(line);
    }
    if (typeof msg !== 'object' || msg === null) return this.garbage(line);
    if ('started' in msg) {
      if (job.started) return;
      job.started = true;
      // The job's wall clock starts now (polkadot starts it once the request is sent to a spawned
      // worker: `start_work` in polkadot/node/core/pvf/src/execute/worker_interface.rs).
      job.timer?.clear();
      const hardMs = this.limits.timeoutMs * WALL_CLOCK_FACTOR;
      job.timer = setLongTimeout(() => {
        this.kill();
        this.settle(hardTimeout(hardMs));
      }, hardMs);
      return;
    }
    const answer = parseResponse(msg);
    if (answer) return this.settle(answer);
    this.garbage(line);
  }

  private settle(res: WorkerResponse | undefined, err?: Error): void {
    const job = this.job;
    if (!job) return;
    this.job = undefined;
    job.timer?.clear();
    if (res) {
      this.fresh = false;
      job.resolve(res);
    } else job.reject(err ?? new WorkerDied('no answer'));
  }

  private kill(): void {
    this.dead = true;
    this.child?.kill('SIGKILL');
  }

  private closed(code: number | null, signal: NodeJS.Signals | null): void {
    const started = this.job?.started ?? false;
    // bubblewrap reports a worker killed by signal N as its own exit code 128 + N.
    const viaSignal = this.viaBwrap && signal === null ? signalOfExit(code) : null;
    if (viaSignal) this.end(undefined, null, viaSignal, started);
    else this.end(undefined, code, signal, started);
  }

  private end(spawnError: WorkerSpawnFailed | undefined, code: number | null = null, signal: NodeJS.Signals | null = null, started = false): void {
    this.dead = true;
    if (spawnError) this.settle(undefined, spawnError);
    else if (this.job) {
      const { cls, why } = classifyDeath({ started, code, signal });
      const tail = this.stderr.trim().split('\n').slice(-1)[0] ?? '';
      this.settle(undefined, new WorkerDied(`worker died without a verdict (${why})${tail ? `: ${tail.slice(0, 300)}` : ''}`, cls));
    }
    this.cleanup();
  }

  run(request: Buffer, limits: JobLimits): Promise<WorkerResponse> {
    if (this.spawnError) return Promise.reject(this.spawnError);
    if (this.dead) return Promise.reject(new WorkerDied('worker is gone', 'host'));
    this.limits = limits;
    return new Promise<WorkerResponse>((resolve, reject) => {
      this.job = { resolve, reject, started: false, timer: undefined };
      // Until the job starts (spawn, request, compilation), only the start-up deadline applies.
      this.job.timer = setLongTimeout(() => {
        this.kill();
        this.settle(undefined, new HostFault('internal-error', `the worker did not start the job within ${limits.startupMs} ms (slow start-up or compilation on this machine)`));
      }, limits.startupMs);
      const stdin = this.child?.stdin;
      if (!stdin) return; // the spawn failed: 'error' settles the job
      if (this.serve) {
        // Prefix and request as two writes: no third copy of a multi-MB request.
        stdin.write(frameHeader(request.length));
        stdin.write(request);
      }
      else stdin.end(request);
    });
  }

  close(): void {
    this.child?.stdin?.end();
  }
}

const pools = new Map<string, WorkerProcess[]>();

/** End every kept-alive worker (they exit when their stdin closes). */
export function closeWorkers(): void {
  for (const idle of pools.values()) for (const w of idle.splice(0)) w.close();
}

/** How to start a worker: its command line, and whether bubblewrap stands between us and it. */
export interface SpawnCommand {
  argv: string[];
  viaBwrap?: boolean;
  /** The worker's node binary (argv[0] may be a sandbox tool): what error messages name. */
  program?: string;
}

async function runServed(poolKey: string, cmd: SpawnCommand, request: Buffer, limits: JobLimits): Promise<WorkerResponse> {
  const idle = pools.get(poolKey) ?? [];
  pools.set(poolKey, idle);
  let w = idle.pop();
  while (w && w.dead) w = idle.pop();
  w ??= new WorkerProcess(cmd, true);
  let res: WorkerResponse;
  try {
    res = await w.run(request, limits);
  } catch (e) {
    // A reused worker that died had done its earlier jobs well: not this candidate's doing, so the
    // job runs again on a fresh process before any verdict is drawn from a death.
    if (e instanceof WorkerDied && !w.fresh) return runServed(poolKey, cmd, request, limits);
    throw e;
  }
  // A worker that answered a timeout has killed itself; never hand it out again.
  if (!w.dead && !(res.ok === false && res.reason === 'timeout')) idle.push(w);
  return res;
}

async function runOnce(cmd: SpawnCommand, request: Buffer, limits: JobLimits): Promise<WorkerResponse> {
  return new WorkerProcess(cmd, false).run(request, limits);
}

export interface WorkerEngineOptions {
  /** Keep worker processes alive across jobs (smoke, conformance); call closeWorkers() at the end. */
  persistent?: boolean;
  /** Called once when an engine has to be extracted (for a spinner on a TTY). */
  onExtract?: (id: string) => () => void;
  allowRevoked?: boolean;
  /** Start-up deadline in ms (default STARTUP_DEADLINE_MS); for tests. */
  startupMs?: number;
  /** A worker sandbox layer this machine lacks makes every job abstain (`sandbox-unavailable`). */
  requireSandbox?: boolean;
}

/** The node version in an engine id (`v8-node24.21.0-h10`). */
export function nodeVersionIn(id: string): string {
  return /node(\d+\.\d+\.\d+)/.exec(id)?.[1] ?? '0.0.0';
}

async function resolveCommand(store: EngineStore, e: EngineEntry, opts: WorkerEngineOptions): Promise<SpawnCommand> {
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
  let nodeOf = e;
  for (const part of e.command) {
    const m = /^engine:([^/]+)\/(.+)$/.exec(part);
    if (m) {
      const other = store.engine(m[1]);
      if (!other) throw new HostFault('engine-unavailable', `engine ${e.id} runs on ${m[1]}, which this binary does not carry`);
      if (argv.length === 0) nodeOf = other;
      argv.push(join(await dirOf(other), m[2]));
    } else {
      argv.push(join(own, part));
    }
  }
  return sandboxedArgv({ argv, nodeVersion: nodeVersionIn(nodeOf.id), readDirs: [...dirs.values()] });
}

export function workerEngine(store: EngineStore, e: EngineEntry, opts: WorkerEngineOptions = {}): Engine {
  const engine = processEngine(e.id, e.family, e.vmVersion, opts.persistent ?? false, opts.startupMs ?? STARTUP_DEADLINE_MS, async () => {
    if (e.status === 'revoked' && !opts.allowRevoked) {
      throw new HostFault('engine-revoked', `engine ${e.id} is revoked${e.advisory ? `: ${e.advisory}` : ''}`);
    }
    const missing = opts.requireSandbox ? missingLayers() : [];
    if (missing.length > 0) {
      throw new HostFault('sandbox-unavailable', `--require-sandbox: this machine does not give the worker sandbox layer${missing.length > 1 ? 's' : ''} ${missing.map((l) => `${l.name} (${l.detail})`).join(', ')}; see pvf doctor`);
    }
    return resolveCommand(store, e, opts);
  });
  return e.hostDivergences?.length ? { ...engine, hostDivergences: e.hostDivergences } : engine;
}

/** The v8 worker of a source checkout, run by the current node through tsx (development only). */
export function sourceV8Engine(opts: { startupMs?: number } = {}): Engine {
  const worker = fileURLToPath(new URL('./v8/worker.ts', import.meta.url));
  return processEngine(`v8-source-node${process.versions.node}`, 'v8', process.versions.v8, false, opts.startupMs ?? STARTUP_DEADLINE_MS, async () => ({ argv: [process.execPath, '--import', import.meta.resolve('tsx'), worker] }));
}

function processEngine(id: string, family: string, vmVersion: string, persistent: boolean, startupMs: number, command: () => Promise<SpawnCommand>): Engine {
  return {
    id,
    family,
    vmVersion,
    async execute(code, params, run) {
      const cmd = await command();
      const limits = run.limits ?? DEFAULT_LIMITS;
      if (limits.timeoutMs <= 0) {
        // A CPU budget of 0 ms (PvfExecTimeout 0 is consistent upstream): polkadot's CPU-time
        // monitor finds any job over it at its first check, while our watchdog, which polls, let
        // a quick job finish on one engine and not on another (fuzz seed 20261129 under load).
        // Any execution exceeds it: the same answer on every engine, without running.
        const detail = 'the CPU budget (PvfExecTimeout) is 0 ms: any execution exceeds it';
        if (!judgesTimeouts(family)) throw new HostFault('engine-limit', `${id}: ${detail}; an interpreter cannot judge a timeout under a budget set for compiled engines (judge it with a v8 engine)`);
        throw new InvalidCandidate('timeout', detail);
      }
      const request = encodeRequest(code, params, { ...limits, trace: run.trace });
      const jobLimits: JobLimits = { timeoutMs: limits.timeoutMs, startupMs };
      const once = (): Promise<WorkerResponse> => (persistent ? runServed(id, cmd, request, jobLimits) : runOnce(cmd, request, jobLimits));
      let res: WorkerResponse;
      try {
        res = await once();
      } catch (err) {
        // Only these two are retried, and only in approval (polkadot's candidate-validation,
        // `validate_candidate_with_retry`: one retry after a delay; backing never retries). Any
        // other error is ours and stays abstain.
        if (!(err instanceof WorkerDied || err instanceof WorkerSpawnFailed) || limits.kind !== 'approval') throw err;
        await sleep(APPROVAL_RETRY_DELAY_MS);
        try {
          res = await once();
        } catch (again) {
          // Invalid only when both deaths were ambiguous (possibly the candidate's); a death of
          // this machine's doing (or a spawn failure) is never the candidate's fault.
          if (again instanceof WorkerDied && again.cls === 'ambiguous' && err instanceof WorkerDied && err.cls === 'ambiguous') {
            throw new InvalidCandidate('execution-error', `ambiguous worker death, twice: ${again.detail}`);
          }
          throw again;
        }
      }
      const logs: LogLine[] = boundLogs(res.logs);
      for (const l of logs) run.onLog?.(l);
      const trace = res.trace && { trace: res.trace };
      if (res.ok) return { raw: new Uint8Array(Buffer.from(res.raw, 'hex')), logs, timings: res.timings, ...trace };
      if (res.verdict === 'invalid' && res.reason === 'timeout' && !judgesTimeouts(family)) {
        throw Object.assign(new HostFault('engine-limit', `${id}: ${boundString(res.detail)}; an interpreter cannot judge a timeout under a budget set for compiled engines (judge it with a v8 engine)`), trace);
      }
      if (res.verdict === 'invalid') throw Object.assign(new InvalidCandidate(res.reason, boundString(res.detail)), { logs, ...trace });
      throw Object.assign(new HostFault(res.reason, `${id}: ${boundString(res.detail)}`), trace);
    },
    async prepare(module, opts) {
      const cmd = await command();
      const request = encodeRequest(module, new Uint8Array(0), { mode: 'prepare', maxPages: opts.maxPages, timeoutMs: opts.timeoutMs, maxMemoryBytes: opts.maxMemoryBytes } satisfies RequestLimits);
      const jobLimits: JobLimits = { timeoutMs: opts.timeoutMs, startupMs };
      // No retry: a prepare worker that dies is a failed pre-check (polkadot's JobDied is not
      // deterministic: no vote), which WorkerDied already is (abstain).
      const res = await (persistent ? runServed(id, cmd, request, jobLimits) : runOnce(cmd, request, jobLimits));
      if (res.ok) return { timings: res.timings };
      if (res.verdict === 'invalid' && res.reason === 'timeout') {
        // polkadot: PrepareError::TimedOut is not deterministic, pre-checking casts no vote.
        throw new HostFault('prepare-timeout', `${id}: compilation did not finish within the precheck timeout of ${opts.timeoutMs} ms (${boundString(res.detail)})`);
      }
      if (res.verdict === 'invalid') throw new InvalidCandidate(res.reason, boundString(res.detail));
      throw new HostFault(res.reason, `${id}: ${boundString(res.detail)}`);
    },
  };
}
