/**
 * Maybe-compressed blobs (sp-maybe-compressed-blob): an 8-byte prefix followed by one zstd stream.
 * The legacy prefix may hold code or a PoV; the RFC-0135 typed prefixes say which. A blob whose type
 * contradicts its use is invalid; a blob without any known prefix or magic (an uncompressed PoV)
 * passes through unchanged.
 *
 * Decompression never produces more than `limit + 1` bytes: more than `limit` is a possible bomb.
 */
import zlib from 'node:zlib';
import { concatBytes } from './bytes.ts';

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

type ZstdSync = (buf: Uint8Array, opts: { maxOutputLength: number }) => Buffer;

/** zstd of at most `limit` bytes of output: node:zlib where it has zstd (Node ≥ 22.15), else zstddec. */
export function zstdDecompressBoundedSync(frame: Uint8Array, limit: number): Uint8Array {
  const native = (zlib as unknown as { zstdDecompressSync?: ZstdSync }).zstdDecompressSync;
  if (typeof native === 'function') {
    try {
      const out = native(frame, { maxOutputLength: limit });
      return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (e instanceof RangeError || code === 'ERR_BUFFER_TOO_LARGE') {
        throw new BlobError('bomb', `decompressed size exceeds the bomb limit of ${limit} bytes`);
      }
      throw new BlobError('invalid', `malformed zstd stream: ${(e as Error).message}`);
    }
  }
  if (!zstddec) throw new Error('zstd decoder used before initZstd()');
  return zstddecBounded(zstddec, frame, limit);
}

interface StreamDecoder {
  init(): Promise<void>;
  decodeStreaming(arrays: Iterable<Uint8Array>): Generator<Uint8Array>;
}
let decoderInit: Promise<void> | undefined;
let zstddec: StreamDecoder | undefined;

/** Load zstddec once where node:zlib has no zstd (Node < 22.15); a no-op otherwise. */
export function initZstd(): Promise<void> {
  if (typeof (zlib as unknown as { zstdDecompressSync?: unknown }).zstdDecompressSync === 'function') return Promise.resolve();
  decoderInit ??= import('zstddec/stream').then(async (m) => {
    const d = new m.ZSTDDecoder();
    await d.init();
    zstddec = d;
  });
  return decoderInit;
}

/**
 * zstddec's streaming generator yields output chunks of at most ZSTD_DStreamOutSize (128 KiB);
 * we stop pulling as soon as we hold more than `limit` bytes. Its loop does not check zstd error
 * codes, and a zstd error makes no further progress: many consecutive empty chunks therefore mean
 * a malformed stream.
 */
function zstddecBounded(d: StreamDecoder, frame: Uint8Array, limit: number): Uint8Array {
  const parts: Uint8Array[] = [];
  let total = 0;
  let empty = 0;
  try {
    for (const chunk of d.decodeStreaming([frame])) {
      if (chunk.length === 0) {
        if (++empty > 1000) throw new BlobError('invalid', 'malformed zstd stream: decoder makes no progress');
        continue;
      }
      empty = 0;
      total += chunk.length;
      if (total > limit) throw new BlobError('bomb', `decompressed size exceeds the bomb limit of ${limit} bytes`);
      parts.push(chunk);
    }
  } catch (e) {
    if (e instanceof BlobError) throw e;
    throw new BlobError('invalid', `malformed zstd stream: ${(e as Error).message}`);
  }
  return parts.length === 1 ? parts[0] : concatBytes(parts);
}
