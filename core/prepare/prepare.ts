/**
 * Prepare: the one pipeline that turns a code blob into the module an engine runs, used by
 * `precheck` and `validate` alike (so they can never disagree), in polkadot's order:
 *
 *   decompress (code bomb limit) → Wasm magic → feature gate (prevalidate.ts) → memory cap (here)
 *   → deterministic stack limiter (instrument.ts) → NaN canonicalisation (instrument.ts)
 *
 * The result is cached under (engine id, code hash, prep hash) (prepared-cache.ts): the artifact a
 * successful pre-check leaves is the one a later validation executes. Every stage's failure is
 * `invalid` with its reason class (code-decompression, prevalidation); anything else is ours.
 *
 * The memory cap: the module's memory (imported or its own) gets the maximum the ExecutorParams
 * allow (MaxMemoryPages n → n + 32 pages, default 2080, never more than the 65536 pages a 32-bit
 * memory can have), or its own declared maximum when that is lower, written into the module itself
 * so that every engine enforces the same limit (a runtime's memory.grow and the host allocator alike).
 * The module is re-emitted from subarrays of the input: no byte array is ever spread into a call
 * (a 300 KB import name must not exhaust the call stack).
 */
import { CODE_BOMB_LIMIT, decompressOrInvalidSync, initZstd } from '../candidate/blob.ts';
import { canonicalizeNans, injectStackLimiter } from './instrument.ts';
import { preparedOrPrepare, type PreparedCache } from './prepared-cache.ts';
import { checkFeatures } from './prevalidate.ts';
import { InvalidCandidate } from '../candidate/verdict.ts';
import { msSince } from '../primitives/timers.ts';
import { DEFAULT_LOGICAL_STACK_MAX } from '../session/executor-params.ts';
import { concatBytes, leb128 } from '../primitives/bytes.ts';
import { WasmByteReader, wasmSections } from '../wasm/wasm-bytes.ts';

/** A module the memory cap cannot rewrite: the candidate's fault, `prevalidation`. */
export class PrepareError extends InvalidCandidate {
  override readonly name = 'PrepareError';
  constructor(detail: string) {
    super('prevalidation', detail);
  }
}

/**
 * The most pages a 32-bit linear memory can have (4 GiB). A larger maximum makes the module invalid
 * Wasm, so the cap written into the module is never above it.
 */
export const WASM32_MAX_PAGES = 65536;

class Cursor extends WasmByteReader {
  constructor(b: Uint8Array, pos: number, end: number) {
    super(b, pos, end, (m) => new PrepareError(m));
  }
}

/**
 * Re-encode one limits structure (the cursor is at its flags byte) with the cap applied. A memory
 * that needs more pages at start than the cap is left as it is: polkadot's preparation compiles it
 * (sc-executor-wasmtime `prepare_blob_for_compilation` clears the maximum; the limit applies per
 * instance, `InstanceWrapper::build_store_limits`), so pre-checking accepts it, and instantiation
 * fails at execution (`invalid execution-error` on every engine).
 */
function cappedLimits(c: Cursor, cap: number): Uint8Array[] {
  const start = c.pos;
  const flags = c.byte();
  if (flags > 1) throw new PrepareError(`unsupported memory limits flags ${flags}`);
  const min = c.u32();
  const max = flags & 1 ? c.u32() : undefined;
  const newMax = Math.min(max ?? cap, cap);
  if (min > newMax) return [c.b.subarray(start, c.pos)];
  return [Uint8Array.of(1), leb128(min), leb128(newMax)];
}

function section(id: number, body: Uint8Array[]): Uint8Array[] {
  let size = 0;
  for (const p of body) size += p.length;
  return [Uint8Array.of(id), leb128(size), ...body];
}

export function capMemory(code: Uint8Array, capPages: number): Uint8Array {
  const cap = Math.min(capPages, WASM32_MAX_PAGES);
  const parts: Uint8Array[] = [code.subarray(0, 8)];
  for (const { id, head, start: bodyStart, end } of wasmSections(code, (m) => new PrepareError(m))) {
    const c = new Cursor(code, bodyStart, end);
    if (id === 2 || id === 5) {
      const out: Uint8Array[] = [];
      const n = c.u32();
      out.push(leb128(n));
      for (let k = 0; k < n; k++) {
        if (id === 2) {
          const itemStart = c.pos;
          const modLen = c.u32();
          c.skip(modLen);
          const nameLen = c.u32();
          c.skip(nameLen);
          const kind = c.byte();
          out.push(code.subarray(itemStart, c.pos));
          if (kind === 2) out.push(...cappedLimits(c, cap));
          else {
            const descStart = c.pos;
            if (kind === 0) c.u32();
            else if (kind === 1) {
              c.byte();
              const f = c.byte();
              c.u32();
              if (f & 1) c.u32();
            } else if (kind === 3) {
              c.byte();
              c.byte();
            } else throw new PrepareError(`unsupported import kind ${kind}`);
            out.push(code.subarray(descStart, c.pos));
          }
        } else {
          out.push(...cappedLimits(c, cap));
        }
      }
      if (c.pos !== end) throw new PrepareError(`section ${id} has trailing bytes`);
      for (const p of section(id, out)) parts.push(p);
    } else {
      parts.push(code.subarray(head, end));
    }
  }
  return concatBytes(parts);
}

/** What prepare depends on (from the ExecutorParams): the same for pre-checking and every execution kind. */
export interface PrepareLimits {
  /** Total Wasm pages the memory may have. */
  maxPages: number;
  /** The deterministic stack limit (StackLogicalMax), in logical items. */
  stackLogicalMax?: number;
  /** WasmExtBulkMemory is in force. */
  bulkMemory?: boolean;
}

export interface PreparedPvf {
  /** The module the engine runs. */
  module: Uint8Array;
  fromCache: boolean;
  timings: Record<string, number>;
}

/** The feature gate and the rewrites (memory cap, stack limiter, NaN canonicalisation) of decompressed code. */
export function prepareModule(code: Uint8Array, limits: PrepareLimits, opts: { traceProbe?: boolean } = {}): Uint8Array {
  checkFeatures(code, { bulkMemory: limits.bulkMemory ?? false });
  const capped = capMemory(code, limits.maxPages);
  const limited = injectStackLimiter(capped, limits.stackLogicalMax ?? DEFAULT_LOGICAL_STACK_MAX, { traceProbe: opts.traceProbe });
  return canonicalizeNans(limited);
}

/** The key of a prepared artifact beside the engine id and code hash: the prep hash of the ExecutorParams, or the limits themselves. */
export function prepKeyOf(limits: PrepareLimits, prepHash?: string): string {
  return prepHash ?? `${limits.maxPages}-${limits.stackLogicalMax ?? DEFAULT_LOGICAL_STACK_MAX}-${limits.bulkMemory ? 1 : 0}`;
}

/**
 * The pipeline. Throws InvalidCandidate (`code-decompression`, `prevalidation`) for the code's
 * faults; anything else it throws is ours.
 *
 * Artifacts are keyed by the code blob as given (as polkadot keys its artifacts by the validation
 * code hash), with the engine and the prep key: an entry exists only if these exact bytes once
 * decompressed and passed every stage under these limits, all deterministic, so a hit skips them,
 * decompression included. A module with the trace probe (`traceProbe`, for `--trace`) is neither
 * read from nor written to the cache.
 */
export async function preparePvf(
  blob: Uint8Array,
  engineId: string,
  limits: PrepareLimits,
  opts: { cache?: PreparedCache; prepHash?: string; traceProbe?: boolean } = {},
): Promise<PreparedPvf> {
  const timings: Record<string, number> = {};
  await initZstd();
  const t0 = performance.now();
  let decompressMs = 0;
  const { module, cached } = preparedOrPrepare(opts.traceProbe ? undefined : opts.cache, engineId, blob, prepKeyOf(limits, opts.prepHash), (b) => {
    const t = performance.now();
    const code = decompressOrInvalidSync('code', b, CODE_BOMB_LIMIT);
    decompressMs = msSince(t);
    if (code.length < 8 || code[0] !== 0 || code[1] !== 0x61 || code[2] !== 0x73 || code[3] !== 0x6d) {
      throw new InvalidCandidate('prevalidation', 'the code is not a Wasm module');
    }
    return prepareModule(code, limits, { traceProbe: opts.traceProbe });
  });
  // prepareMs: the cache lookup and, on a miss, the gate and the rewrites; decompressCodeMs: the
  // code blob's decompression (a miss only).
  timings.prepareMs = msSince(t0) - decompressMs;
  if (cached) timings.preparedFromCache = 1;
  else timings.decompressCodeMs = decompressMs;
  return { module, fromCache: cached, timings };
}
