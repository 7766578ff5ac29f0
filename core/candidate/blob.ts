/**
 * Maybe-compressed blobs (sp-maybe-compressed-blob): an 8-byte prefix followed by one zstd stream.
 * The legacy prefix may hold code or a PoV; the RFC-0135 typed prefixes say which. A blob whose type
 * contradicts its use is invalid; a blob without any known prefix or magic (an uncompressed PoV)
 * passes through unchanged.
 *
 * Decompression never produces more than `limit + 1` bytes: more than `limit` is a possible bomb.
 */
import zlib from 'node:zlib';
import { concatBytes } from '../primitives/bytes.ts';
import { InvalidCandidate } from './verdict.ts';

const PREFIX_BASE = [0x52, 0xbc, 0x53, 0x76, 0x46, 0xdb, 0x8e];
const TAG_LEGACY = 0x05;
const TAG_POV = 0x06;
const TAG_WASM = 0x07;
const TAG_PVM = 0x08;
export const PREFIX_LEN = 8;

/** Bomb limits of the PVF host: code 30 MiB (max_code_size × 10), PoV 40 MiB (MAX_POV_SIZE × 4). */
export const CODE_BOMB_LIMIT = 30 * 1024 * 1024;
export const POV_BOMB_LIMIT = 40 * 1024 * 1024;

export type BlobType = 'legacy' | 'pov' | 'wasm' | 'pvm';
export type BlobUse = 'pov' | 'code';

export class BlobError extends Error {
  override readonly name = 'BlobError';
  constructor(
    readonly kind: 'bomb' | 'invalid',
    message: string,
  ) {
    super(message);
  }
}

function compressedTag(blob: Uint8Array): number | undefined {
  if (blob.length < PREFIX_LEN) return undefined;
  for (let k = 0; k < PREFIX_BASE.length; k++) if (blob[k] !== PREFIX_BASE[k]) return undefined;
  const tag = blob[7];
  return tag >= TAG_LEGACY && tag <= TAG_PVM ? tag : undefined;
}

const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d];
const PVM_MAGIC = [0x50, 0x56, 0x4d, 0x00];

function startsWith(blob: Uint8Array, magic: number[]): boolean {
  return blob.length >= magic.length && magic.every((b, k) => blob[k] === b);
}

/** The type a blob declares, by compressed prefix or by code magic; undefined when it declares none. */
export function blobType(blob: Uint8Array): BlobType | undefined {
  const tag = compressedTag(blob);
  if (tag === TAG_PVM || startsWith(blob, PVM_MAGIC)) return 'pvm';
  if (tag === TAG_WASM || startsWith(blob, WASM_MAGIC)) return 'wasm';
  if (tag === TAG_POV) return 'pov';
  if (tag === TAG_LEGACY) return 'legacy';
  return undefined;
}

export function isCompressed(blob: Uint8Array): boolean {
  return compressedTag(blob) !== undefined;
}

export interface Decompressed {
  bytes: Uint8Array;
  compressed: boolean;
}

/**
 * Decompress `blob` for the given use under `limit`. Throws BlobError('invalid') on a type mismatch
 * or a malformed stream, BlobError('bomb') when the output would exceed `limit`.
 */
export async function decompressAs(use: BlobUse, blob: Uint8Array, limit: number): Promise<Decompressed> {
  await initZstd();
  return decompressAsSync(use, blob, limit);
}

/**
 * Decompress a candidate's code or PoV: a blob that does not decode is the candidate's fault,
 * `invalid code-decompression` / `pov-decompression`; any other failure is ours.
 */
export async function decompressOrInvalid(use: 'code' | 'pov', blob: Uint8Array, limit: number): Promise<Uint8Array> {
  await initZstd();
  return decompressOrInvalidSync(use, blob, limit);
}

/** The same, synchronously; requires `initZstd()` to have completed where node:zlib has no zstd. */
export function decompressOrInvalidSync(use: 'code' | 'pov', blob: Uint8Array, limit: number): Uint8Array {
  try {
    return decompressAsSync(use, blob, limit).bytes;
  } catch (e) {
    if (e instanceof BlobError) throw new InvalidCandidate(use === 'code' ? 'code-decompression' : 'pov-decompression', e.message);
    throw e;
  }
}

/**
 * The same, synchronously, for host functions (runtime_version reads a compressed blob inside a
 * Wasm call). Requires `initZstd()` to have completed where node:zlib has no zstd.
 */
export function decompressAsSync(use: BlobUse, blob: Uint8Array, limit: number): Decompressed {
  const type = blobType(blob);
  if (type !== undefined) {
    const ok = use === 'pov' ? type === 'pov' || type === 'legacy' : type === 'wasm' || type === 'legacy';
    if (!ok) throw new BlobError('invalid', `blob is typed ${type}, not usable as ${use}`);
  }
  if (!isCompressed(blob)) return { bytes: blob, compressed: false };
  return { bytes: zstdDecompressBoundedSync(blob.subarray(PREFIX_LEN), limit), compressed: true };
}

type ZstdSync = (buf: Uint8Array, opts: { maxOutputLength: number; chunkSize?: number }) => Buffer;

function nativeZstd(): ZstdSync | undefined {
  const f = (zlib as unknown as { zstdDecompressSync?: ZstdSync }).zstdDecompressSync;
  return typeof f === 'function' ? f : undefined;
}

const bombError = (limit: number) => new BlobError('bomb', `decompressed size exceeds the bomb limit of ${limit} bytes`);

/**
 * Decompress a zstd stream the way polkadot does: sp-maybe-compressed-blob reads zstd-rs's
 * `stream::read::Decoder` (libzstd's ZSTD_decompressStream behind zio::Reader) through
 * `take(limit + 1)` and `read_to_end`. That reader decodes every frame in turn (it re-initialises
 * the context after each finished frame), skippable frames are skipped, and reaching the end of the
 * input anywhere but at the end of a frame is an error ("incomplete frame"), so is an empty input
 * and so are bytes that do not start a frame. Output beyond `limit` is a possible bomb, and it wins
 * over an error that lies further on (the reader stops pulling once it holds limit + 1 bytes).
 *
 * Frames are delimited here by their headers (zstdFrames); each complete zstd frame is then decoded
 * on its own, never producing more than what is left of `limit` + 1 bytes.
 */
export function zstdDecompressBoundedSync(data: Uint8Array, limit: number): Uint8Array {
  const parts: Uint8Array[] = [];
  let total = 0;
  for (const f of zstdFrames(data, firstReadRoom(data.length, limit))) {
    const room = limit - total;
    const bytes = data.subarray(f.start, f.end);
    if (f.problem !== undefined) {
      // The stream breaks inside this frame. What it decodes to before the break still counts
      // against the limit first: libzstd delivers whole blocks before it reads the next one.
      if (f.afterBlocks && decodesPast(bytes, room)) throw bombError(limit);
      throw new BlobError('invalid', `malformed zstd stream: ${f.problem}`);
    }
    if (f.kind === 'skippable') continue;
    const out = decodeFrame(bytes, room, limit);
    total += out.length;
    parts.push(out);
  }
  return parts.length === 1 ? parts[0] : concatBytes(parts);
}

/** libzstd's error codes (zstd_errors.h) that a decoder returns for bad input data. */
const ZSTD_DATA_ERRORS: ReadonlySet<string> = new Set(
  [
    'prefix_unknown',
    'version_unsupported',
    'frameParameter_unsupported',
    'frameParameter_windowTooLarge',
    'corruption_detected',
    'checksum_wrong',
    'literals_headerWrong',
    'dictionary_corrupted',
    'dictionary_wrong',
    'tableLog_tooLarge',
    'maxSymbolValue_tooLarge',
    'maxSymbolValue_tooSmall',
    'srcSize_wrong',
    'dstSize_tooSmall',
  ].map((n) => `ZSTD_error_${n}`),
);

/**
 * One zstd frame, at most `room` bytes of output, else a bomb. `fine`: decode in 64-byte steps, so
 * that when the frame breaks, the output lost with the failing step (libzstd reports no output
 * from a call that fails) is at most 64 bytes.
 */
function decodeFrame(frame: Uint8Array, room: number, limit: number, fine = false): Uint8Array {
  const native = nativeZstd();
  if (native) {
    try {
      const out = native(frame, { maxOutputLength: Math.max(room, 1), ...(fine ? { chunkSize: 64 } : {}) });
      if (out.length > room) throw bombError(limit);
      return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    } catch (e) {
      if (e instanceof BlobError) throw e;
      const code = (e as { code?: unknown }).code;
      if (code === 'ERR_BUFFER_TOO_LARGE') throw bombError(limit);
      // libzstd's errors about the data: the blob is at fault. Anything else (memory_allocation
      // under an address-space limit, a parameter error of ours) is a fault of this host.
      if (typeof code === 'string' && ZSTD_DATA_ERRORS.has(code)) throw new BlobError('invalid', `malformed zstd stream: ${(e as Error).message}`);
      throw e;
    }
  }
  if (!zstddec) throw new Error('zstd decoder used before initZstd()');
  return zstddecBounded(zstddec, frame, room, limit);
}

/**
 * Whether a broken frame decodes to more than `room` bytes before it breaks. libzstd reads a block
 * header only once the blocks before it are delivered, and polkadot's reader stops at limit + 1
 * bytes: output beyond the limit before the break is a bomb. (zstddec, the Node < 22.15 fallback,
 * loses up to 128 KiB with its failing step; node:zlib is exact to 64 bytes.)
 */
function decodesPast(frame: Uint8Array, room: number): boolean {
  try {
    decodeFrame(frame, room, room, true);
    return false;
  } catch (e) {
    if (e instanceof BlobError) return e.kind === 'bomb';
    throw e;
  }
}

export interface ZstdFrame {
  kind: 'zstd' | 'skippable';
  start: number;
  /** End of the frame, or of the input where the frame is cut short. */
  end: number;
  /** Why the stream is malformed at this frame (the last one yielded). */
  problem?: string;
  /** The problem lies after the frame's header: its earlier blocks are decoded before it is seen. */
  afterBlocks?: boolean;
}

const ZSTD_MAGIC = 0xfd2fb528;
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
/** libzstd's streaming decoder refuses windows above 1 << ZSTD_WINDOWLOG_LIMIT_DEFAULT (27), plus one byte. */
export const ZSTD_MAX_WINDOW = 2 ** 27 + 1;
const WINDOWLOG_MAX = 31;

/**
 * The output room of the first read polkadot makes: read_to_end into Vec::with_capacity(blob_len)
 * through take(limit + 1) reads min(blob_len, 8 KiB) bytes at first (Rust's DEFAULT_BUF_SIZE), or
 * probes with a 32-byte buffer when the capacity is below 32. libzstd decodes a whole frame at once
 * without its window check (the single-pass shortcut in ZSTD_decompressStream) when the frame
 * declares a content size that fits the room it is given.
 */
export function firstReadRoom(blobLen: number, limit: number): number {
  return Math.min(blobLen < 32 ? 32 : Math.min(blobLen, 8192), limit + 1);
}

/**
 * The frames of a zstd stream, by their headers only (RFC 8878 §3.1): zstd frames (header, blocks,
 * optional checksum) and skippable frames (magic 0x184D2A5?, u32 size, data). Stops after yielding
 * a frame with a `problem`: an empty input, bytes that are not a frame, a frame cut short, a
 * reserved bit or block type, a window larger than the decoder accepts.
 */
export function* zstdFrames(data: Uint8Array, singlePassRoom = 0): Generator<ZstdFrame> {
  const u32 = (at: number) => (data[at] | (data[at + 1] << 8) | (data[at + 2] << 16) | (data[at + 3] << 24)) >>> 0;
  if (data.length === 0) {
    yield { kind: 'zstd', start: 0, end: 0, problem: 'truncated: the stream holds no frame' };
    return;
  }
  let pos = 0;
  while (pos < data.length) {
    const start = pos;
    const cut = (what: string, afterBlocks = false): ZstdFrame => ({ kind: 'zstd', start, end: data.length, problem: `truncated: ${what} at byte ${start} is cut short`, afterBlocks });
    if (data.length - pos < 4) {
      yield { kind: 'zstd', start, end: data.length, problem: `${data.length - pos} trailing byte(s) at byte ${start} are not a frame` };
      return;
    }
    const magic = u32(pos);
    if ((magic & SKIPPABLE_MASK) >>> 0 === SKIPPABLE_MAGIC) {
      if (data.length - pos < 8) return void (yield { ...cut('skippable frame header'), kind: 'skippable' });
      const end = pos + 8 + u32(pos + 4);
      if (end > data.length) return void (yield { ...cut('skippable frame'), kind: 'skippable' });
      yield { kind: 'skippable', start, end };
      pos = end;
      continue;
    }
    if (magic !== ZSTD_MAGIC) {
      yield { kind: 'zstd', start, end: data.length, problem: `bytes at ${start} are not a zstd frame (unknown frame descriptor)` };
      return;
    }
    pos += 4;
    if (pos >= data.length) return void (yield cut('frame header'));
    const fhd = data[pos++];
    const fcsFlag = fhd >> 6;
    const singleSegment = (fhd >> 5) & 1;
    const checksum = (fhd >> 2) & 1;
    const dictIdSize = [0, 1, 2, 4][fhd & 3];
    const fcsSize = [singleSegment ? 1 : 0, 2, 4, 8][fcsFlag];
    const headerEnd = pos + (singleSegment ? 0 : 1) + dictIdSize + fcsSize;
    if (headerEnd > data.length) return void (yield cut('frame header'));
    if (fhd & 0x08) {
      yield { kind: 'zstd', start, end: data.length, problem: `frame at byte ${start} sets the reserved header bit` };
      return;
    }
    let windowSize = 0;
    if (!singleSegment) {
      const wd = data[pos++];
      const windowLog = 10 + (wd >> 3);
      if (windowLog > WINDOWLOG_MAX) {
        yield { kind: 'zstd', start, end: data.length, problem: `frame at byte ${start} declares a window of 2^${windowLog} bytes` };
        return;
      }
      windowSize = 2 ** windowLog + (2 ** windowLog / 8) * (wd & 7);
    }
    pos += dictIdSize;
    let contentSize: number | undefined;
    if (fcsSize > 0) {
      let v = 0;
      for (let k = fcsSize - 1; k >= 0; k--) v = v * 256 + data[pos + k];
      contentSize = fcsSize === 2 ? v + 256 : v;
    }
    pos = headerEnd;
    if (singleSegment) windowSize = contentSize ?? 0;
    // Only the first zstd frame is decoded into a room we can know (skippable frames before it
    // produce nothing, so the reader retries with the same buffer); later frames see whatever
    // room is left by earlier reads, and we apply the streaming rule to them.
    const singlePass = contentSize !== undefined && contentSize <= singlePassRoom;
    singlePassRoom = 0;
    if (Math.max(windowSize, 1024) > ZSTD_MAX_WINDOW && !singlePass) {
      yield { kind: 'zstd', start, end: data.length, problem: `frame at byte ${start} needs a window of ${windowSize} bytes, more than the decoder's limit of ${ZSTD_MAX_WINDOW}` };
      return;
    }
    for (;;) {
      if (pos + 3 > data.length) return void (yield cut('frame', true));
      const bh = data[pos] | (data[pos + 1] << 8) | (data[pos + 2] << 16);
      const last = bh & 1;
      const type = (bh >> 1) & 3;
      const size = bh >>> 3;
      if (type === 3) {
        yield { kind: 'zstd', start, end: data.length, problem: `frame at byte ${start} has a block of the reserved type`, afterBlocks: true };
        return;
      }
      pos += 3 + (type === 1 ? 1 : size);
      if (pos > data.length) return void (yield cut('frame', true));
      if (last) break;
    }
    if (checksum) {
      pos += 4;
      if (pos > data.length) return void (yield cut('frame (its checksum)', true));
    }
    yield { kind: 'zstd', start, end: pos };
  }
}

interface StreamDecoder {
  init(): Promise<void>;
  decodeStreaming(arrays: Iterable<Uint8Array>): Generator<Uint8Array>;
}
let decoderInit: Promise<void> | undefined;
let zstddec: StreamDecoder | undefined;

/** Load zstddec once where node:zlib has no zstd (Node < 22.15); a no-op otherwise. */
export function initZstd(): Promise<void> {
  if (nativeZstd()) return Promise.resolve();
  decoderInit ??= import('zstddec/stream').then(async (m) => {
    const d = new m.ZSTDDecoder();
    await d.init();
    zstddec = d;
  });
  return decoderInit;
}

/**
 * zstddec's streaming generator yields output chunks of at most ZSTD_DStreamOutSize (128 KiB);
 * we stop pulling as soon as we hold more than `room` bytes. Its loop does not check zstd error
 * codes: an error makes no further progress (many consecutive empty chunks), or ends the loop with
 * a non-zero last return value ("Incomplete stream").
 */
function zstddecBounded(d: StreamDecoder, frame: Uint8Array, room: number, limit: number): Uint8Array {
  const parts: Uint8Array[] = [];
  let total = 0;
  let empty = 0;
  let gen: Generator<Uint8Array> | undefined;
  try {
    gen = d.decodeStreaming([frame]);
    for (const chunk of gen) {
      if (chunk.length === 0) {
        if (++empty > 1000) throw new BlobError('invalid', 'malformed zstd stream: decoder makes no progress');
        continue;
      }
      empty = 0;
      total += chunk.length;
      if (total > room) throw bombError(limit);
      parts.push(chunk);
    }
  } catch (e) {
    if (e instanceof BlobError) throw e;
    if (e instanceof Error && /^Incomplete stream/.test(e.message)) throw new BlobError('invalid', `malformed zstd stream: ${e.message}`);
    throw e;
  }
  return parts.length === 1 ? parts[0] : concatBytes(parts);
}
