/**
 * Traces on the v8 engines (engines/trace.ts has the schema): every host function wrapped to
 * record its arguments, result or trap; the allocator's events; the memory's size; the logical
 * stack depth from the probe prepare adds for traces (core/prepare/instrument.ts).
 */
import { blake2_256 } from '../../core/primitives/hashing.ts';
import { STACK_PROBE_EXPORTS } from '../../core/prepare/instrument.ts';
import { INLINE_SPAN_BYTES, TraceRecorder, type TraceEvent, type TraceValue } from '../../core/candidate/trace.ts';
import { unpackSpan, type HostFunctionTable, type HostState } from './host/host.ts';

const PAGE = 65536;

/** i64 parameters that are numbers, not (ptr, len) spans. */
const NUMERIC_I64 = new Set(['ext_misc_print_num_version_1']);

/**
 * Functions whose i32 result points at an output of a fixed size (hashes, trie roots): the trace
 * shows the output, not only where it is.
 */
function fixedResultBytes(name: string): number | undefined {
  const hash = /^ext_hashing_[a-z0-9]+_(\d+)_version_\d+$/.exec(name);
  if (hash) return Number(hash[1]) / 8;
  return /^ext_trie_[a-z0-9]+_256_(ordered_)?root_version_\d+$/.test(name) ? 32 : undefined;
}

function fixedResult(h: HostState, ptr: number, len: number): TraceValue {
  const mem = h.memory ? new Uint8Array(h.memory.buffer) : new Uint8Array(0);
  const at = ptr >>> 0;
  return at + len > mem.length ? { ptr: at, len, outside: true } : { ptr: at, len, hex: hex(mem.subarray(at, at + len)) };
}

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

function traceValue(h: HostState, type: string, v: unknown, numericI64: boolean): TraceValue {
  if (type === 'i32') return { i32: Number(v) | 0 };
  if (type === 'f32') return { f32: Number(v) };
  if (type === 'f64') return { f64: Number(v) };
  const big = BigInt.asIntN(64, BigInt(v as bigint));
  if (numericI64) return { i64: big.toString() };
  const [ptr, len] = unpackSpan(big);
  const mem = h.memory ? new Uint8Array(h.memory.buffer) : new Uint8Array(0);
  if (ptr + len > mem.length) return { ptr, len, outside: true };
  const bytes = mem.subarray(ptr, ptr + len);
  return len <= INLINE_SPAN_BYTES ? { ptr, len, hex: hex(bytes) } : { ptr, len, blake2_256: hex(blake2_256(bytes)) };
}

/** Reads the probe's globals of an instance, if prepare added them. */
export class StackProbe {
  private height: WebAssembly.Global | undefined;
  private max: WebAssembly.Global | undefined;
  attach(instance: WebAssembly.Instance): void {
    const g = (name: string) => {
      const x = instance.exports[name];
      return x instanceof WebAssembly.Global ? x : undefined;
    };
    this.height = g(STACK_PROBE_EXPORTS.height);
    this.max = g(STACK_PROBE_EXPORTS.max);
  }
  depth(): number | undefined {
    return this.height ? (this.height.value as number) >>> 0 : undefined;
  }
  maxDepth(): number | undefined {
    return this.max ? (this.max.value as number) >>> 0 : undefined;
  }
}

/** A v8 job's tracer: the recorder, the probe, and the host options and function table it needs. */
export class V8Tracer {
  readonly rec = new TraceRecorder();
  readonly probe = new StackProbe();

  hostOptions(): { onAlloc: (size: number, ptr: number) => void; onFree: (ptr: number) => void; onLog: (l: { level: string; target: string; message: string }) => void } {
    return {
      onAlloc: (size, ptr) => this.rec.push({ ev: 'alloc', size, ptr }),
      onFree: (ptr) => this.rec.push({ ev: 'free', ptr }),
      onLog: (l) => this.rec.push({ ev: 'log', level: l.level, target: l.target, message: l.message }),
    };
  }

  /** The table with every function recording its call. */
  wrap(table: HostFunctionTable): HostFunctionTable {
    const out: HostFunctionTable = {};
    for (const [name, f] of Object.entries(table)) {
      const [params, result] = f.sig.split('->');
      const types = params ? params.split(',') : [];
      const fixed = result === 'i32' ? fixedResultBytes(name) : undefined;
      out[name] = {
        sig: f.sig,
        make: (h) => {
          const inner = f.make(h) as (...args: unknown[]) => number | bigint | void;
          return ((...args: unknown[]) => {
            const rec = this.rec;
            rec.hostCalls++;
            if (h.memory) rec.observePages(h.memory.buffer.byteLength / PAGE);
            const ev: TraceEvent & { ev: 'host' } = { ev: 'host', n: rec.hostCalls, fn: name, args: args.map((a, k) => traceValue(h, types[k], a, NUMERIC_I64.has(name))) };
            const depth = this.probe.depth();
            if (depth !== undefined) ev.depth = depth;
            rec.push(ev);
            try {
              const r = inner(...args);
              if (fixed !== undefined) ev.result = fixedResult(h, Number(r), fixed);
              else if (result) ev.result = traceValue(h, result, r, false);
              return r;
            } catch (e) {
              ev.trap = e instanceof Error ? e.message : String(e);
              throw e;
            }
          }) as (...args: never[]) => number | bigint | void;
        },
      };
    }
    return out;
  }

  /** The end event, then the events. */
  finish(h: HostState | undefined, outcome: 'returned' | 'trapped' | 'not-run', detail?: string): TraceEvent[] {
    const rec = this.rec;
    const pages = h?.memory ? h.memory.buffer.byteLength / PAGE : 0;
    if (h?.memory) rec.observePages(pages);
    const stats = h?.allocator?.stats;
    const end: TraceEvent = { ev: 'end', outcome, pages, hostCalls: rec.hostCalls, dropped: rec.dropped };
    if (detail !== undefined) end.detail = detail;
    const maxDepth = this.probe.maxDepth();
    if (maxDepth !== undefined) end.maxDepth = maxDepth;
    if (stats) {
      end.heapPeakBytes = stats.bytesAllocatedPeak;
      end.heapBytesAtEnd = stats.bytesAllocated;
    }
    rec.events.push(end); // always kept, past the bound too
    return rec.events;
  }
}
