/**
 * Prepare, as far as it rewrites the module: the memory cap. The module's memory (imported or its
 * own) gets the maximum the ExecutorParams allow (MaxMemoryPages n → n + 32 pages, default 2080,
 * never more than the 65536 pages a 32-bit memory can have), or its own declared maximum when that
 * is lower, written into the module itself so that every engine enforces the same limit (a
 * runtime's memory.grow and the host allocator alike).
 *
 * The module is re-emitted from subarrays of the input: no byte array is ever spread into a call
 * (a 300 KB import name must not exhaust the call stack).
 */
import { concatBytes, leb128 } from './bytes.ts';
import { WasmByteReader } from './wasm-bytes.ts';

export class PrepareError extends Error {
  override readonly name = 'PrepareError';
}

/**
 * The most pages a 32-bit linear memory can have (4 GiB). A larger maximum makes the module invalid
 * Wasm, so the cap written into the module is never above it.
 */
export const WASM32_MAX_PAGES = 65536;

class Cursor extends WasmByteReader {
  constructor(b: Uint8Array, pos: number) {
    super(b, pos, b.length, (m) => new PrepareError(m));
  }
}

/** Re-encode one limits structure (the cursor is at its flags byte) with the cap applied. */
function cappedLimits(c: Cursor, cap: number): Uint8Array[] {
  const flags = c.byte();
  if (flags > 1) throw new PrepareError(`unsupported memory limits flags ${flags}`);
  const min = c.u32();
  const max = flags & 1 ? c.u32() : undefined;
  const newMax = Math.min(max ?? cap, cap);
  if (min > newMax) throw new PrepareError(`the memory needs ${min} pages at start, the limit is ${newMax}`);
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
  const c = new Cursor(code, 8);
  while (c.pos < code.length) {
    const start = c.pos;
    const id = c.byte();
    const size = c.u32();
    const bodyStart = c.pos;
    const end = bodyStart + size;
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
      parts.push(code.subarray(start, end));
    }
    c.pos = end;
  }
  return concatBytes(parts);
}
