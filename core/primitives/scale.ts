/**
 * Strict SCALE decoding on top of scale-ts.
 *
 * scale-ts is used for every encoder and for fixed-width integers. Its decoders are lenient where
 * consensus code must not be: `Bytes` returns a short array when the length prefix runs past the
 * input, `Option` treats any non-zero tag as `Some`, compact integers are accepted in non-canonical
 * forms, and a `Uint8Array` view is decoded from the start of its underlying buffer rather than from
 * its own offset. parity-scale-codec rejects all of these, and a PVF's output is judged by
 * parity-scale-codec on every other validator, so the few combinators below add the missing checks.
 * They plug into scale-ts' own decoder protocol (`createDecoder`), so scale-ts codecs compose with them.
 *
 * Formats are defined once, as codecs: the strict codecs at the end of this file (each a strict
 * decoder paired with scale-ts' encoder) compose with scale-ts' `Struct`, whose decoder then calls
 * only strict decoders, and `CodecType` gives the TypeScript type.
 */
import { Bytes, compact, createCodec, createDecoder, Option, u8, u32, u64, Vector, type Codec, type Decoder, type Encoder } from 'scale-ts';

export class ScaleError extends Error {
  override readonly name = 'ScaleError';
}

/** The cursor object scale-ts threads through its decoders (a Uint8Array with a position). */
interface Cursor extends Uint8Array {
  i: number;
}

function remaining(c: Cursor): number {
  return c.length - c.i;
}

function need(c: Cursor, n: number, what: string): void {
  if (n > remaining(c)) {
    throw new ScaleError(`not enough data for ${what}: need ${n} bytes, ${remaining(c)} left`);
  }
}

/** Compact<u32> exactly as parity-scale-codec decodes it: canonical form only, value fits in u32. */
export const compactU32: Decoder<number> = createDecoder((raw) => {
  const c = raw as Cursor;
  need(c, 1, 'compact integer');
  const mode = c[c.i] & 3;
  const width = mode === 0 ? 1 : mode === 1 ? 2 : mode === 2 ? 4 : 1 + (c[c.i] >>> 2) + 4;
  need(c, width, 'compact integer');
  const start = c.i;
  const value = compact.dec(c as unknown as Uint8Array);
  const n = typeof value === 'bigint' ? value : BigInt(value);
  if (n > 0xffffffffn) throw new ScaleError('compact integer out of range for u32');
  // Re-encoding gives the canonical width; anything longer is rejected upstream as "out of range".
  if (compact.enc(n).length !== c.i - start) throw new ScaleError('non-canonical compact integer');
  return Number(n);
});

/**
 * Copy `n` bytes at the cursor into a plain Uint8Array. (The cursor is a Uint8Array subclass whose
 * constructor takes a buffer, so its own slice/subarray cannot be used.)
 */
function copyOut(c: Cursor, n: number): Uint8Array {
  return new Uint8Array(c.buffer.slice(c.byteOffset + c.i, c.byteOffset + c.i + n));
}

/** Fixed-width integer decoders with a bounds check (scale-ts relies on DataView throwing). */
function checkedFixed<T>(dec: Decoder<T>, width: number, what: string): Decoder<T> {
  return createDecoder((raw) => {
    need(raw as Cursor, width, what);
    return dec(raw);
  });
}

/** `Vec<u8>`: compact length then that many bytes, which must all be present. */
export const bytesDec: Decoder<Uint8Array> = createDecoder((raw) => {
  const c = raw as Cursor;
  const len = compactU32(c);
  need(c, len, 'byte vector');
  const out = copyOut(c, len);
  c.i += len;
  return out;
});

/** `[u8; n]`. */
export function fixedBytesDec(n: number): Decoder<Uint8Array> {
  return createDecoder((raw) => {
    const c = raw as Cursor;
    need(c, n, `[u8; ${n}]`);
    const out = copyOut(c, n);
    c.i += n;
    return out;
  });
}

/** `Option<T>`: tag 0 or 1, anything else is an error. */
export function optionDec<T>(inner: Decoder<T>): Decoder<T | undefined> {
  return createDecoder((raw) => {
    const c = raw as Cursor;
    need(c, 1, 'option tag');
    const tag = u8.dec(c as unknown as Uint8Array);
    if (tag === 0) return undefined;
    if (tag === 1) return inner(c as unknown as Uint8Array);
    throw new ScaleError(`invalid Option tag ${tag}`);
  });
}

/**
 * `Vec<T>` or `BoundedVec<T, max>`: the length is checked against the bound before any element
 * is decoded, and against the remaining input (each element takes at least `minElemSize` bytes)
 * so a forged length cannot make us allocate.
 */
export function vecDec<T>(inner: Decoder<T>, opts: { max?: number; minElemSize?: number; what?: string } = {}): Decoder<T[]> {
  const { max, minElemSize = 1, what = 'vector' } = opts;
  return createDecoder((raw) => {
    const c = raw as Cursor;
    const len = compactU32(c);
    if (max !== undefined && len > max) throw new ScaleError(`${what} has ${len} elements, more than its bound ${max}`);
    if (len * minElemSize > remaining(c)) throw new ScaleError(`not enough data for ${len} elements of ${what}`);
    const out: T[] = [];
    for (let k = 0; k < len; k++) out.push(inner(c as unknown as Uint8Array));
    return out;
  });
}

export const u8Dec = checkedFixed(u8.dec, 1, 'u8');
export const u32Dec = checkedFixed(u32.dec, 4, 'u32');
export const u64Dec = checkedFixed(u64.dec, 8, 'u64');

/** Decode with a strict decoder from `input[offset..]`; returns the value and the bytes consumed. */
export function decodePrefix<T>(dec: Decoder<T>, input: Uint8Array, offset = 0): { value: T; consumed: number } {
  // Copy into a fresh buffer: scale-ts decodes from the start of the underlying ArrayBuffer, not
  // from a view's offset (and a Node Buffer's slice is a view, not a copy).
  const copy = new Uint8Array(input.length - offset);
  copy.set(input.subarray(offset));
  // Only the decoders' own ScaleError means malformed input (the strict combinators above check
  // every length before scale-ts reads); anything else thrown here is a fault of ours.
  let consumed = 0;
  const value = createDecoder((raw) => {
    const c = raw as Cursor;
    const v = dec(c as unknown as Uint8Array);
    consumed = c.i;
    return v;
  })(copy.buffer);
  return { value, consumed };
}

/** Decode and require that the whole input is consumed (parity-scale-codec `decode_all`). */
export function decodeAll<T>(dec: Decoder<T>, input: Uint8Array, what: string): T {
  const { value, consumed } = decodePrefix(dec, input);
  if (consumed !== input.length) {
    throw new ScaleError(`${input.length - consumed} trailing bytes after ${what}`);
  }
  return value;
}

// ---------------------------------------------------------------------------------------------
// Strict codecs: the decoders above paired with their encoders, for composing with `Struct`.

/** `Vec<u8>`. */
export const bytes: Codec<Uint8Array> = createCodec(Bytes.enc(), bytesDec);

/** `u32`, little endian. */
export const u32Codec: Codec<number> = createCodec(u32.enc, u32Dec);

/** `[u8; n]`; encoding a value of another length is an error, not a silent pad or cut. */
export function fixedBytes(n: number): Codec<Uint8Array> {
  const enc = Bytes.enc(n);
  const checked: Encoder<Uint8Array> = (x) => {
    if (x.length !== n) throw new ScaleError(`[u8; ${n}] must be ${n} bytes, got ${x.length}`);
    return enc(x);
  };
  return createCodec(checked, fixedBytesDec(n));
}

/** `Option<T>`, tag 0 or 1 only. */
export function option<T>(inner: Codec<T>): Codec<T | undefined> {
  return createCodec(Option.enc(inner.enc), optionDec(inner.dec));
}

/** `Vec<T>` / `BoundedVec<T, max>` (see vecDec for the bound and size checks). */
export function vec<T>(inner: Codec<T>, opts: { max?: number; minElemSize?: number; what?: string } = {}): Codec<T[]> {
  return createCodec(Vector.enc(inner.enc), vecDec(inner.dec, opts));
}
