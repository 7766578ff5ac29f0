/**
 * Reading candidate files with their size checked before their bytes are: a file is stat'ed first
 * and refused when it is larger than anything polkadot could hand a validator, and a PoV file's
 * size is compared with the `max_pov_size` of its PVD from the file's head and tail alone, so a
 * 200 MiB PoV costs a few KiB of memory, not 200 MiB.
 */
import { closeSync, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { decodePersistedValidationData, decodePoV, decodePovFile, encodedPoVSize, type PersistedValidationData, type PoV } from './codecs.ts';
import { CODE_BOMB_LIMIT, POV_BOMB_LIMIT } from './blob.ts';
import { compactU32, decodePrefix, ScaleError } from '../primitives/scale.ts';

/** A candidate file that cannot be read or is too large to be one (an input error, not a verdict). */
export class InputFileError extends Error {
  override readonly name = 'InputFileError';
}

/**
 * Largest code file read: the code bomb limit (30 MiB, ten times polkadot's MAX_CODE_SIZE of
 * 3 MiB). Plain Wasm above it could never pass decompression; a compressed blob above it is far
 * beyond any max_code_size a relay chain accepts.
 */
export const CODE_FILE_LIMIT = CODE_BOMB_LIMIT;
/**
 * Largest encoded PoV read: the PoV bomb limit (40 MiB, four times polkadot's MAX_POV_SIZE, the
 * bound the relay chain's configuration puts on max_pov_size).
 */
export const POV_FILE_LIMIT = POV_BOMB_LIMIT;
/** Largest PersistedValidationData read: the parent head (MAX_HEAD_DATA_SIZE, 1 MiB) and 40 bytes. */
export const PVD_FILE_LIMIT = 1024 * 1024 + 64;
/** Largest raw ValidationParams read: a PoV's block data at the bomb limit plus a parent head. */
export const PARAMS_FILE_LIMIT = POV_BOMB_LIMIT + PVD_FILE_LIMIT;

function why(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory';
  return (e as Error).message;
}

function mib(n: number): string {
  return `${Math.round((n / 1048576) * 10) / 10} MiB`;
}

/** Open a file for reading; I/O failures become InputFileError naming what went wrong. */
function open(path: string): { fd: number; st: Stats } {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new InputFileError(why(e));
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) throw new InputFileError('is a directory');
    return { fd, st };
  } catch (e) {
    closeSync(fd);
    if (e instanceof InputFileError) throw e;
    throw new InputFileError(why(e));
  }
}

function readAt(fd: number, length: number, position: number | null): Uint8Array {
  const out = new Uint8Array(length);
  let at = 0;
  while (at < length) {
    let n: number;
    try {
      n = readSync(fd, out, at, length - at, position === null ? null : position + at);
    } catch (e) {
      throw new InputFileError(why(e));
    }
    if (n === 0) break;
    at += n;
  }
  return at === length ? out : out.subarray(0, at);
}

/**
 * The whole file, if it holds at most `limit` bytes. A regular file is refused from its size before
 * anything is read; a pipe or a device is read up to `limit + 1` bytes and refused past `limit`.
 */
export function readFileBounded(path: string, limit: number): Uint8Array {
  const { fd, st } = open(path);
  try {
    if (st.isFile()) {
      if (st.size > limit) throw new InputFileError(`${st.size} bytes (${mib(st.size)}), more than the ${mib(limit)} such a file can hold`);
      return readAt(fd, st.size, 0);
    }
    const parts: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const chunk = readAt(fd, Math.min(1 << 20, limit + 1 - total), null);
      if (chunk.length === 0) break;
      parts.push(chunk);
      total += chunk.length;
      if (total > limit) throw new InputFileError(`more than the ${mib(limit)} such a file can hold`);
    }
    return Buffer.concat(parts);
  } finally {
    closeSync(fd);
  }
}

/** A PoV as read from a file: decoded, or only measured because it is over `max_pov_size`. */
export type PovRead = { kind: 'pov'; pov: PoV } | { kind: 'oversize'; encodedSize: number };

/** The compact length prefix at the start of a SCALE(PoV): its width and value. */
function povHeader(fd: number): { prefix: number; length: number } {
  const head = readAt(fd, 5, 0);
  const { value, consumed } = decodePrefix(compactU32, head);
  return { prefix: consumed, length: value };
}

/**
 * Measure the PoV (SCALE(PoV) at `offset`, `encodedSize` bytes) against the PVD's max_pov_size and
 * read it only when it fits (polkadot rejects a larger one as ParamsTooLarge before it looks at
 * it) and is not larger than the PoV file limit (then no relay chain could have produced the PVD).
 */
function povWithin(fd: number, encodedSize: number, pvd: PersistedValidationData): PovRead {
  if (encodedSize > pvd.maxPovSize) return { kind: 'oversize', encodedSize };
  if (encodedSize > POV_FILE_LIMIT) {
    throw new InputFileError(
      `the PoV is ${encodedSize} bytes (${mib(encodedSize)}) and its PVD allows max_pov_size ${pvd.maxPovSize}: more than the ${mib(POV_FILE_LIMIT)} any relay chain allows`,
    );
  }
  return { kind: 'pov', pov: decodePoV(readAt(fd, encodedSize, 0)) };
}

/**
 * A collator's PoV file, SCALE(PoV) ‖ SCALE(PVD), read from its head and tail first. Malformed
 * contents throw ScaleError; I/O failures and impossible sizes InputFileError.
 */
export function readPovFileBounded(path: string): { pov: PovRead; pvd: PersistedValidationData } {
  const { fd, st } = open(path);
  try {
    if (!st.isFile()) {
      const { pov, pvd } = decodePovFile(readFileBounded(path, POV_FILE_LIMIT + PVD_FILE_LIMIT));
      const encodedSize = encodedPoVSize(pov);
      return { pov: encodedSize > pvd.maxPovSize ? { kind: 'oversize', encodedSize } : { kind: 'pov', pov }, pvd };
    }
    const { prefix, length } = povHeader(fd);
    const encodedSize = prefix + length;
    const tail = st.size - encodedSize;
    if (tail <= 0) throw new ScaleError(`not enough data for the PoV: its length prefix says ${length} bytes, the file has ${st.size - prefix} after it and no PVD`);
    if (tail > PVD_FILE_LIMIT) throw new ScaleError(`${tail} bytes after the PoV, too many for a PersistedValidationData`);
    const pvd = decodePersistedValidationData(readAt(fd, tail, encodedSize));
    return { pov: povWithin(fd, encodedSize, pvd), pvd };
  } finally {
    closeSync(fd);
  }
}

/** A SCALE(PoV) file on its own, measured against `pvd` before it is read. */
export function readPovBounded(path: string, pvd: PersistedValidationData): PovRead {
  const { fd, st } = open(path);
  try {
    if (!st.isFile()) {
      const pov = decodePoV(readFileBounded(path, POV_FILE_LIMIT));
      const encodedSize = encodedPoVSize(pov);
      return encodedSize > pvd.maxPovSize ? { kind: 'oversize', encodedSize } : { kind: 'pov', pov };
    }
    const { prefix, length } = povHeader(fd);
    const encodedSize = prefix + length;
    if (encodedSize > st.size) throw new ScaleError(`not enough data for the PoV: its length prefix says ${length} bytes, the file has ${st.size - prefix}`);
    if (encodedSize < st.size) throw new ScaleError(`${st.size - encodedSize} trailing bytes after PoV`);
    return povWithin(fd, encodedSize, pvd);
  } finally {
    closeSync(fd);
  }
}
