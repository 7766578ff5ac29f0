/**
 * Execution traces (`pvf validate --trace FILE`): what a PVF did on an engine, event by event, for an
 * operator taking a dispute apart. The schema (README, "Traces") is versioned by TRACE_SCHEMA; the
 * events are recorded by the engine inside the job and travel in the worker's answer, bounded.
 *
 * The events carry no time and no address of the host's own memory: two runs of the same candidate
 * on two engines that behave alike give equal event streams (`pvf trace diff`), and phase timings
 * live in the header and footer lines the CLI writes around them.
 */

export const TRACE_SCHEMA = 'pvf-trace/1';

/** At most this many events are kept; later ones are counted (`dropped` in the end event). */
export const MAX_TRACE_EVENTS = 250_000;
/** Spans up to this many bytes are shown in hex; longer ones by length and blake2-256. */
export const INLINE_SPAN_BYTES = 32;

/** A Wasm value crossing the host boundary; an i64 that is a (ptr, len) span is shown as its bytes. */
export type TraceValue =
  | { i32: number }
  | { i64: string }
  | { f32: number }
  | { f64: number }
  | { ptr: number; len: number; hex: string }
  | { ptr: number; len: number; blake2_256: string }
  /** A span that does not lie inside memory (the call then traps or ignores it). */
  | { ptr: number; len: number; outside: true };

export type TraceEvent =
  /** A host function call: its arguments as the PVF passed them, its result or the trap it raised. */
  | { ev: 'host'; n: number; fn: string; args: TraceValue[]; result?: TraceValue; trap?: string; depth?: number }
  /** The allocator served a request (from ext_allocator_malloc or a host function's own result). */
  | { ev: 'alloc'; size: number; ptr: number }
  | { ev: 'free'; ptr: number }
  /** The linear memory's size changed since the last event (seen at a host call or at the end). */
  | { ev: 'memory'; pages: number }
  | { ev: 'log'; level: string; target: string; message: string }
  /** The last event: how the call ended and the totals. */
  | {
      ev: 'end';
      outcome: 'returned' | 'trapped' | 'not-run';
      detail?: string;
      pages: number;
      hostCalls: number;
      maxDepth?: number;
      heapPeakBytes?: number;
      heapBytesAtEnd?: number;
      dropped: number;
    };

/**
 * What the wasmi engines cannot record (said in the trace header): every event. smoldot's executor
 * (chopsticks-executor) runs the host functions itself and returns only the call's outcome and, when
 * it returns, the log lines; their trace is the header and the verdict line.
 */
export const WASMI_TRACE_LACKS = ['host', 'alloc', 'free', 'memory', 'log', 'end'] as const;

/** Collects the events of one job, within MAX_TRACE_EVENTS. */
export class TraceRecorder {
  readonly events: TraceEvent[] = [];
  dropped = 0;
  hostCalls = 0;
  private pages = -1;

  push(e: TraceEvent): void {
    if (this.events.length < MAX_TRACE_EVENTS) this.events.push(e);
    else this.dropped++;
  }

  /** A memory event if the size in pages differs from the one last reported. */
  observePages(pages: number): void {
    if (pages === this.pages) return;
    this.pages = pages;
    this.push({ ev: 'memory', pages });
  }
}

const isInt = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x);

function isTraceValue(x: unknown): x is TraceValue {
  if (typeof x !== 'object' || x === null) return false;
  const v = x as Record<string, unknown>;
  const keys = Object.keys(v);
  if (keys.length === 1) {
    if ('i32' in v || 'f32' in v || 'f64' in v) return typeof Object.values(v)[0] === 'number';
    if ('i64' in v) return typeof v.i64 === 'string';
    return false;
  }
  if (!isInt(v.ptr) || !isInt(v.len) || keys.length !== 3) return false;
  return (typeof v.hex === 'string' && /^[0-9a-f]*$/.test(v.hex)) || (typeof v.blake2_256 === 'string' && /^[0-9a-f]{64}$/.test(v.blake2_256)) || v.outside === true;
}

const optional = (v: unknown, ok: (x: unknown) => boolean): boolean => v === undefined || ok(v);
const isStr = (x: unknown): boolean => typeof x === 'string';

/** One event as the worker sent it, checked field by field (host side); undefined if it is not one. */
export function parseTraceEvent(x: unknown): TraceEvent | undefined {
  if (typeof x !== 'object' || x === null) return undefined;
  const e = x as Record<string, unknown>;
  switch (e.ev) {
    case 'host':
      return isInt(e.n) && isStr(e.fn) && Array.isArray(e.args) && e.args.every(isTraceValue) && optional(e.result, isTraceValue) && optional(e.trap, isStr) && optional(e.depth, isInt)
        ? (e as TraceEvent)
        : undefined;
    case 'alloc':
      return isInt(e.size) && isInt(e.ptr) ? (e as TraceEvent) : undefined;
    case 'free':
      return isInt(e.ptr) ? (e as TraceEvent) : undefined;
    case 'memory':
      return isInt(e.pages) ? (e as TraceEvent) : undefined;
    case 'log':
      return isStr(e.level) && isStr(e.target) && isStr(e.message) ? (e as TraceEvent) : undefined;
    case 'end':
      return ['returned', 'trapped', 'not-run'].includes(e.outcome as string) &&
        optional(e.detail, isStr) &&
        isInt(e.pages) &&
        isInt(e.hostCalls) &&
        isInt(e.dropped) &&
        optional(e.maxDepth, isInt) &&
        optional(e.heapPeakBytes, isInt) &&
        optional(e.heapBytesAtEnd, isInt)
        ? (e as TraceEvent)
        : undefined;
    default:
      return undefined;
  }
}

/** A trace as the worker sent it: every event checked, at most MAX_TRACE_EVENTS and the end; else undefined. */
export function parseTrace(x: unknown): TraceEvent[] | undefined {
  if (!Array.isArray(x) || x.length > MAX_TRACE_EVENTS + 1) return undefined;
  const out: TraceEvent[] = [];
  for (const item of x) {
    const e = parseTraceEvent(item);
    if (!e) return undefined;
    out.push(e);
  }
  return out;
}
