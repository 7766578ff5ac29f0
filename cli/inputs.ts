/** Reading the inputs of `pvf validate`, each failure naming the input and what is wrong. */
import { readFileSync } from 'node:fs';
import { decodePersistedValidationData, decodePoV, decodePovFile, type PersistedValidationData, type PoV } from '../core/codecs.ts';
import { blobType } from '../core/blob.ts';
import { HexError, parseHex } from '../core/hex.ts';
import { ScaleError } from '../core/scale.ts';
import { dataError } from './errors.ts';

export function readInputFile(flag: string, path: string): Uint8Array {
  try {
    const b = readFileSync(path);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (e as Error).message;
    throw dataError(`${flag} ${path}: ${why}`);
  }
}

function looksLikeHexText(bytes: Uint8Array): boolean {
  const head = Buffer.from(bytes.subarray(0, 2)).toString('latin1');
  return head === '0x' || head === '0X';
}

/** `HEX` or `@FILE`; a file may hold hex text (starting with 0x) or raw bytes. */
export function readHexOrFile(flag: string, value: string): Uint8Array {
  if (value.startsWith('@')) {
    const path = value.slice(1);
    const bytes = readInputFile(flag, path);
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
export function readFileOrHex(flag: string, value: string): Uint8Array {
  if (value.startsWith('0x') || value.startsWith('0X')) return readHexOrFile(flag, value);
  const bytes = readInputFile(flag, value);
  if (!looksLikeHexText(bytes)) return bytes;
  try {
    return parseHex(Buffer.from(bytes).toString('utf8'));
  } catch (e) {
    throw dataError(`${flag} ${value}: ${(e as HexError).message}`);
  }
}

/** The code file must be Wasm or a maybe-compressed code blob; anything else is a user mistake. */
export function readCode(path: string): Uint8Array {
  const code = readInputFile('--code', path);
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

export function readPovFile(path: string): { pov: PoV; pvd: PersistedValidationData } {
  const bytes = readInputFile('--pov-file', path);
  return scaleOrDataError(`--pov-file ${path}`, () => decodePovFile(bytes));
}

export function readPovAndPvd(povPath: string, pvdValue: string): { pov: PoV; pvd: PersistedValidationData } {
  const povBytes = readInputFile('--pov', povPath);
  const pov = scaleOrDataError(`--pov ${povPath}`, () => decodePoV(povBytes));
  const pvdBytes = readFileOrHex('--pvd', pvdValue);
  const pvd = scaleOrDataError(`--pvd ${pvdValue.length > 40 ? pvdValue.slice(0, 40) + '…' : pvdValue}`, () =>
    decodePersistedValidationData(pvdBytes),
  );
  return { pov, pvd };
}
