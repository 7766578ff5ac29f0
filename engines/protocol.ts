/**
 * The execute-worker protocol. The host writes one request to the worker's stdin: a JSON header
 * line, then the code bytes, then the params bytes. The worker answers with one JSON line on
 * stdout and exits. A worker that exits without a well-formed answer gave no verdict.
 */
import type { AbstainReason, InvalidReason } from '../core/verdict.ts';

export interface WorkerRequest {
  v: 1;
  codeLen: number;
  paramsLen: number;
  maxPages: number;
  /** CPU-time budget of the job in milliseconds. */
  timeoutMs: number;
}

export interface WorkerLog {
  level: string;
  target: string;
  message: string;
}

export type WorkerResponse =
  | { ok: true; raw: string; logs: WorkerLog[]; timings: Record<string, number> }
  | { ok: false; verdict: 'invalid'; reason: InvalidReason; detail: string; logs: WorkerLog[] }
  | { ok: false; verdict: 'abstain'; reason: AbstainReason; detail: string; logs: WorkerLog[] };

export function encodeRequest(code: Uint8Array, params: Uint8Array, limits: { maxPages: number; timeoutMs: number }): Buffer {
  const header: WorkerRequest = { v: 1, codeLen: code.length, paramsLen: params.length, maxPages: limits.maxPages, timeoutMs: limits.timeoutMs };
  return Buffer.concat([Buffer.from(JSON.stringify(header) + '\n'), Buffer.from(code), Buffer.from(params)]);
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

/** Read all of stdin (worker side). */
export async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** A request framed for a persistent worker: u32 LE length, then the request. */
export function frameRequest(request: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32LE(request.length);
  return Buffer.concat([len, request]);
}

/**
 * The worker's main loop. One-shot (the default): read all of stdin as one request, answer, exit.
 * With `--serve`: answer framed requests one after another, one JSON line each, until stdin ends;
 * the host reuses the process across candidates (each job still gets a fresh instance).
 */
export function workerMain(handle: (request: Buffer) => Promise<WorkerResponse>): void {
  const answer = (r: WorkerResponse, then?: () => void) => process.stdout.write(JSON.stringify(r) + '\n', then);
  const safe = async (req: Buffer): Promise<WorkerResponse> => {
    try {
      return await handle(req);
    } catch (e) {
      return { ok: false, verdict: 'abstain', reason: 'internal-error', detail: `worker: ${(e as Error).message}`, logs: [] };
    }
  };
  if (!process.argv.includes('--serve')) {
    void readStdin().then(safe).then((r) => answer(r, () => process.exit(0)));
    return;
  }
  let pending = Buffer.alloc(0);
  let busy = Promise.resolve();
  process.stdin.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 4 && pending.length >= 4 + pending.readUInt32LE(0)) {
      const len = pending.readUInt32LE(0);
      const req = pending.subarray(4, 4 + len);
      pending = pending.subarray(4 + len);
      busy = busy.then(() => safe(req).then((r) => new Promise<void>((res) => answer(r, () => res()))));
    }
  });
  process.stdin.on('end', () => void busy.then(() => process.exit(0)));
}
