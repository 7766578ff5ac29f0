/**
 * The execute-worker protocol. The host writes one request to the worker's stdin: a JSON header
 * line, then the code bytes, then the params bytes. The worker writes `{"started":true}` on stdout
 * when the job starts (the module is compiled; its CPU and wall-clock limits count from there),
 * then answers with one JSON line and exits. A worker that exits without a well-formed answer gave
 * no verdict.
 */
import { verdictFromError, type AbstainReason, type InvalidReason } from '../core/candidate/verdict.ts';
import { boundLogs, boundString } from './logs.ts';
import { parseTrace, type TraceEvent } from '../core/candidate/trace.ts';

/** The line a worker writes when the job starts (see watchdog.ts). */
export const STARTED_LINE = '{"started":true}';

export interface WorkerRequest {
  v: 1;
  /**
   * `execute` (the default): run validate_block on the params. `prepare` (pre-checking): only what
   * the engine does before it can run the module (compile it), with no params; the job, and its
   * CPU budget, is the compilation.
   */
  mode?: 'execute' | 'prepare';
  codeLen: number;
  paramsLen: number;
  maxPages: number;
  /** CPU-time budget of the job in milliseconds. */
  timeoutMs: number;
  /** prepare: the most memory the compilation may add to the worker (PrecheckingMaxMemory), in bytes. */
  maxMemoryBytes?: number;
  /** execute: record a trace (engines/trace.ts) and send it with the answer. */
  trace?: boolean;
}

/** What a request asks beyond its bytes. */
export interface RequestLimits {
  maxPages: number;
  timeoutMs: number;
  mode?: 'execute' | 'prepare';
  maxMemoryBytes?: number;
  trace?: boolean;
}

export interface WorkerLog {
  level: string;
  target: string;
  message: string;
}

export type WorkerResponse = (
  | { ok: true; raw: string; logs: WorkerLog[]; timings: Record<string, number> }
  | { ok: false; verdict: 'invalid'; reason: InvalidReason; detail: string; logs: WorkerLog[] }
  | { ok: false; verdict: 'abstain'; reason: AbstainReason; detail: string; logs: WorkerLog[] }
) & { trace?: TraceEvent[] };

export function encodeRequest(code: Uint8Array, params: Uint8Array, limits: RequestLimits): Buffer {
  const header: WorkerRequest = { v: 1, codeLen: code.length, paramsLen: params.length, maxPages: limits.maxPages, timeoutMs: limits.timeoutMs };
  if (limits.mode === 'prepare') {
    header.mode = 'prepare';
    if (limits.maxMemoryBytes !== undefined) header.maxMemoryBytes = limits.maxMemoryBytes;
  } else if (limits.trace) header.trace = true;
  // Views, not copies: the one copy is the concatenation (a prepared statemine module is 6 MB).
  const view = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  return Buffer.concat([Buffer.from(JSON.stringify(header) + '\n'), view(code), view(params)]);
}

export function decodeRequest(input: Buffer): { header: WorkerRequest; code: Uint8Array; params: Uint8Array } {
  const nl = input.indexOf(0x0a);
  if (nl < 0) throw new Error('request has no header line');
  const header = JSON.parse(input.toString('utf8', 0, nl)) as WorkerRequest;
  if (header.v !== 1) throw new Error(`unsupported request version ${String(header.v)}`);
  const code = new Uint8Array(input.subarray(nl + 1, nl + 1 + header.codeLen));
  const params = new Uint8Array(input.subarray(nl + 1 + header.codeLen, nl + 1 + header.codeLen + header.paramsLen));
  if (code.length !== header.codeLen || params.length !== header.paramsLen) throw new Error('request is truncated');
  return { header, code, params };
}

const INVALID_REASONS: ReadonlySet<string> = new Set<InvalidReason>(['execution-error', 'timeout', 'pov-decompression', 'code-decompression', 'bad-output', 'params-too-large', 'hash-mismatch', 'prevalidation']);
const ABSTAIN_REASONS: ReadonlySet<string> = new Set<AbstainReason>(['engine-unavailable', 'engine-limit', 'engine-revoked', 'internal-error', 'io-error', 'prepare-timeout', 'prepare-failed']);

function isLogs(x: unknown): x is WorkerLog[] {
  return Array.isArray(x) && x.every((l) => typeof l === 'object' && l !== null && typeof (l as WorkerLog).level === 'string' && typeof (l as WorkerLog).target === 'string' && typeof (l as WorkerLog).message === 'string');
}

/**
 * A parsed answer line checked against the protocol type (host side): anything that is not exactly
 * a WorkerResponse is `undefined`, and the host treats the worker as having written garbage.
 */
export function parseResponse(msg: unknown): WorkerResponse | undefined {
  if (typeof msg !== 'object' || msg === null) return undefined;
  const m = msg as Record<string, unknown>;
  if (m.trace === undefined) return parseAnswer(m);
  const trace = parseTrace(m.trace);
  const answer = trace ? parseAnswer(m) : undefined;
  return answer && { ...answer, trace };
}

function parseAnswer(m: Record<string, unknown>): WorkerResponse | undefined {
  if (!isLogs(m.logs)) return undefined;
  if (m.ok === true) {
    if (typeof m.raw !== 'string' || !/^(?:[0-9a-fA-F]{2})*$/.test(m.raw)) return undefined;
    if (typeof m.timings !== 'object' || m.timings === null || !Object.values(m.timings).every((v) => typeof v === 'number')) return undefined;
    return { ok: true, raw: m.raw, logs: m.logs, timings: m.timings as Record<string, number> };
  }
  if (m.ok !== false || typeof m.detail !== 'string' || typeof m.reason !== 'string') return undefined;
  if (m.verdict === 'invalid' && INVALID_REASONS.has(m.reason)) return { ok: false, verdict: 'invalid', reason: m.reason as InvalidReason, detail: m.detail, logs: m.logs };
  if (m.verdict === 'abstain' && ABSTAIN_REASONS.has(m.reason)) return { ok: false, verdict: 'abstain', reason: m.reason as AbstainReason, detail: m.detail, logs: m.logs };
  return undefined;
}

/** Read all of stdin (worker side). */
export async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** The 4-byte prefix of a request framed for a persistent worker: its length, u32 LE. */
export function frameHeader(requestLength: number): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32LE(requestLength);
  return len;
}

/** A request framed for a persistent worker: u32 LE length, then the request. */
export function frameRequest(request: Buffer): Buffer {
  return Buffer.concat([frameHeader(request.length), request]);
}

/**
 * The worker's main loop. One-shot (the default): read all of stdin as one request, answer, exit.
 * With `--serve`: answer framed requests one after another, one JSON line each, until stdin ends;
 * the host reuses the process across candidates (each job still gets a fresh instance).
 */
/** A worker's answer for a thrown error, by the one verdict table (core/candidate/verdict.ts). */
export function answerOf(e: unknown, logs: WorkerLog[]): WorkerResponse {
  const v = verdictFromError(e);
  return v.verdict === 'invalid'
    ? { ok: false, verdict: 'invalid', reason: v.reason, detail: v.detail, logs }
    : { ok: false, verdict: 'abstain', reason: v.reason, detail: v.detail, logs };
}

export function workerMain(handle: (request: Buffer) => Promise<WorkerResponse>): void {
  const answer = (r: WorkerResponse, then?: () => void) => process.stdout.write(serialiseAnswer(r) + '\n', then);
  const safe = async (req: Buffer): Promise<WorkerResponse> => {
    try {
      return await handle(req);
    } catch (e) {
      return { ok: false, verdict: 'abstain', reason: resourceError(e) ? 'io-error' : 'internal-error', detail: `worker: ${(e as Error).message}`, logs: [] };
    }
  };
  if (!process.argv.includes('--serve')) {
    void readStdin().then(safe).then((r) => answer(r, () => process.exit(0)));
    return;
  }
  // Chunks are kept as they come and joined once a whole frame is there: joining on every chunk
  // copied a 6 MB request about a hundred times.
  let chunks: Buffer[] = [];
  let have = 0;
  let busy = Promise.resolve();
  process.stdin.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    have += chunk.length;
    for (;;) {
      if (have < 4) return;
      if (chunks[0].length < 4) chunks = [Buffer.concat(chunks)];
      const len = chunks[0].readUInt32LE(0);
      if (have < 4 + len) return;
      const all = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, have);
      const req = all.subarray(4, 4 + len);
      const rest = all.subarray(4 + len);
      chunks = rest.length ? [rest] : [];
      have = rest.length;
      busy = busy.then(() => safe(req).then((r) => new Promise<void>((res) => answer(r, () => res()))));
    }
  });
  process.stdin.on('end', () => void busy.then(() => process.exit(0)));
}

/**
 * One answer line. Logs and details are bounded (engines/logs.ts) before serialising, so the PVF's
 * output can never make the answer too large to write; should serialising still fail, the answer
 * is an abstain naming that, never a dead worker.
 */
export function serialiseAnswer(r: WorkerResponse): string {
  const bounded: WorkerResponse = r.ok ? { ...r, logs: boundLogs(r.logs) } : { ...r, detail: boundString(r.detail), logs: boundLogs(r.logs) };
  try {
    return JSON.stringify(bounded);
  } catch (e) {
    return JSON.stringify({ ok: false, verdict: 'abstain', reason: 'internal-error', detail: `worker: the answer could not be serialised: ${(e as Error).message}`, logs: [] } satisfies WorkerResponse);
  }
}

const RESOURCE_ERRNOS = ['EMFILE', 'ENFILE', 'EAGAIN', 'ENOMEM'];

/**
 * A failure to get a resource of this machine (file descriptors, processes or threads, memory), as
 * when a thread cannot start under a low RLIMIT_NOFILE: an I/O fault (`io-error`), like a spawn failure.
 */
export function resourceError(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code !== undefined && RESOURCE_ERRNOS.includes(code)) return true;
  const message = e instanceof Error ? e.message : String(e);
  return new RegExp(`\\b(${RESOURCE_ERRNOS.join('|')})\\b`).test(message);
}
