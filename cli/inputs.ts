/** Reading the inputs of `pvf validate`, each failure naming the input and what is wrong. */
import { decodePersistedValidationData, type PersistedValidationData } from '../core/candidate/codecs.ts';
import { blobType } from '../core/candidate/blob.ts';
import { HexError, parseHex } from '../core/primitives/hex.ts';
import { ScaleError } from '../core/primitives/scale.ts';
import {
  CODE_FILE_LIMIT,
  InputFileError,
  PARAMS_FILE_LIMIT,
  PVD_FILE_LIMIT,
  readFileBounded,
  readPovBounded,
  readPovFileBounded,
  type PovRead,
} from '../core/candidate/input-files.ts';
import { dataError } from './errors.ts';

/** Hex text of `n` bytes: 0x, two digits a byte, some whitespace. */
const hexLimit = (n: number): number => 2 * n + 64;

/** Read a whole input file of at most `limit` bytes (its size is checked before it is read). */
export function readInputFile(flag: string, path: string, limit: number): Uint8Array {
  try {
    return readFileBounded(path, limit);
  } catch (e) {
    if (e instanceof InputFileError) throw dataError(`${flag} ${path}: ${e.message}`);
    throw e;
  }
}

function looksLikeHexText(bytes: Uint8Array): boolean {
  const head = Buffer.from(bytes.subarray(0, 2)).toString('latin1');
  return head === '0x' || head === '0X';
}

/** `HEX` or `@FILE`; a file may hold hex text (starting with 0x) or raw bytes. */
export function readHexOrFile(flag: string, value: string, limit: number): Uint8Array {
  if (value.startsWith('@')) {
    const path = value.slice(1);
    const bytes = readInputFile(flag, path, hexLimit(limit));
    if (!looksLikeHexText(bytes) && bytes.length > limit) throw dataError(`${flag} ${path}: ${bytes.length} bytes, more than the ${limit} such a file can hold`);
    if (!looksLikeHexText(bytes)) return bytes;
    try {
      return parseHex(Buffer.from(bytes).toString('utf8'));
    } catch (e) {
      throw dataError(`${flag} ${path}: ${(e as HexError).message}`);
    }
  }
  try {
    return parseHex(value);
  } catch (e) {
    throw dataError(`${flag}: ${(e as HexError).message}`);
  }
}

/** A value that is a file path, or hex if it starts with 0x. */
export function readFileOrHex(flag: string, value: string, limit: number): Uint8Array {
  if (value.startsWith('0x') || value.startsWith('0X')) return readHexOrFile(flag, value, limit);
  const bytes = readInputFile(flag, value, hexLimit(limit));
  if (!looksLikeHexText(bytes) && bytes.length > limit) throw dataError(`${flag} ${value}: ${bytes.length} bytes, more than the ${limit} such a file can hold`);
  if (!looksLikeHexText(bytes)) return bytes;
  try {
    return parseHex(Buffer.from(bytes).toString('utf8'));
  } catch (e) {
    throw dataError(`${flag} ${value}: ${(e as HexError).message}`);
  }
}

/** The code file must be Wasm or a maybe-compressed code blob; anything else is a user mistake. */
export function readCode(path: string): Uint8Array {
  const code = readInputFile('--code', path, CODE_FILE_LIMIT);
  const type = blobType(code);
  if (type === undefined) {
    throw dataError(`--code ${path}: not a Wasm module or a compressed code blob (starts with ${Buffer.from(code.subarray(0, 8)).toString('hex') || 'nothing'})`);
  }
  if (type === 'pov') throw dataError(`--code ${path}: this is a compressed PoV blob, not code`);
  if (type === 'pvm') throw dataError(`--code ${path}: PolkaVM code is not supported by the Wasm engines`);
  return code;
}

function scaleOrDataError<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof ScaleError) throw dataError(`${what}: not valid SCALE: ${e.message}`);
    throw e;
  }
}

/** The `--params` value: hex, or @FILE of hex text or raw bytes. */
export function readParams(value: string): Uint8Array {
  return readHexOrFile('--params', value, PARAMS_FILE_LIMIT);
}

function povOrDataError<T>(flag: string, path: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof InputFileError) throw dataError(`${flag} ${path}: ${e.message}`);
    if (e instanceof ScaleError) throw dataError(`${flag} ${path}: not valid SCALE: ${e.message}`);
    throw e;
  }
}

/** A PoV over its PVD's max_pov_size is measured, not read: the candidate is then invalid unread. */
export function readPovFile(path: string): { pov: PovRead; pvd: PersistedValidationData } {
  return povOrDataError('--pov-file', path, () => readPovFileBounded(path));
}

/** `--pov FILE` judged against a PVD from elsewhere (the chain's, with `validate --rpc`). */
export function readPov(path: string, pvd: PersistedValidationData): PovRead {
  return povOrDataError('--pov', path, () => readPovBounded(path, pvd));
}

export function readPovAndPvd(povPath: string, pvdValue: string): { pov: PovRead; pvd: PersistedValidationData } {
  const pvdBytes = readFileOrHex('--pvd', pvdValue, PVD_FILE_LIMIT);
  const pvd = scaleOrDataError(`--pvd ${pvdValue.length > 40 ? pvdValue.slice(0, 40) + '…' : pvdValue}`, () =>
    decodePersistedValidationData(pvdBytes),
  );
  return { pov: readPov(povPath, pvd), pvd };
}
