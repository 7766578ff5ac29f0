/**
 * The release statement: a signed list of what the binary is made of, appended to its end, so a
 * release engineer can check a download against a key they hold (not the one the binary carries).
 *
 * Layout, at the very end of the file (ELF loaders and Node's single-executable lookup ignore bytes
 * after the last section and segment):
 *
 *   statement (UTF-8 JSON, L bytes) ‖ ed25519 signature of the statement (64 bytes)
 *   ‖ L (u32 little-endian) ‖ 0 (u32) ‖ "PVFREL01"
 *
 * The statement names the SHA-256 of the whole file before the trailer (the one check that covers
 * everything: base runtime, CLI, embedded schedule, engines, manifest) and, so that a mismatch can
 * be named, of each part: every `.pvf.*` section (engines, manifest, its signature), the CLI (the
 * Node single-executable blob, the note `NODE_SEA_BLOB`, which holds the CLI and its embedded
 * schedule), and the base runtime (every other byte: the node binary, ELF headers and tables).
 * Everything here can be checked with standard tools (README, Releases).
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { listSections, readAt } from './elf.ts';

export const TRAILER_MAGIC = Buffer.from('PVFREL01', 'latin1');
const FOOTER = 16; // L, reserved, magic
const SIG = 64;
export const STATEMENT_FORMAT = 'pvf-release-statement/1';

export interface Part {
  name: string;
  what: string;
  offset?: number;
  size: number;
  sha256: string;
}

export interface Statement {
  format: typeof STATEMENT_FORMAT;
  pvfVersion: string;
  /** Raw ed25519 public key (hex) of the signer, as the statement claims it; a verifier supplies its own. */
  signingKey: string;
  file: { bytes: number; sha256: string };
  parts: Part[];
}

export interface Trailer {
  statementBytes: Buffer;
  statement: Statement;
  signature: Buffer;
  /** Bytes of the file before the trailer (what the statement covers). */
  bodyBytes: number;
}

export class ReleaseError extends Error {
  override readonly name = 'ReleaseError';
}

const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex');

/** A raw 32-byte ed25519 public key (hex) as a KeyObject. */
export function publicKeyFromHex(hex: string): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_ED25519, Buffer.from(hex, 'hex')]), format: 'der', type: 'spki' });
}

/** The raw public key (hex) of a KeyObject (public or private ed25519). */
export function rawPublicKeyHex(key: KeyObject): string {
  const der = (key.type === 'public' ? key : createPublicKey(key)).export({ format: 'der', type: 'spki' });
  return der.subarray(der.length - 32).toString('hex');
}

/** A public key file as a user holds it: PEM (`openssl pkey -pubout`) or 64 hex digits. */
export function parsePublicKey(text: string): KeyObject {
  const t = text.trim();
  if (/^(0x)?[0-9a-fA-F]{64}$/.test(t)) return publicKeyFromHex(t.replace(/^0x/, ''));
  let key: KeyObject;
  try {
    key = createPublicKey(t);
  } catch (e) {
    throw new ReleaseError(`not a public key (PEM or 64 hex digits): ${(e as Error).message}`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new ReleaseError(`a ${key.asymmetricKeyType} key, not ed25519`);
  return key;
}

/** The trailer of `path`, or undefined when the file has none. */
export function readTrailer(path: string): Trailer | undefined {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size < FOOTER + SIG) return undefined;
    const footer = readAt(fd, size - FOOTER, FOOTER);
    if (!footer.subarray(8).equals(TRAILER_MAGIC)) return undefined;
    const length = footer.readUInt32LE(0);
    if (footer.readUInt32LE(4) !== 0 || length + SIG + FOOTER > size) throw new ReleaseError('the release trailer is damaged (its length does not fit the file)');
    const start = size - FOOTER - SIG - length;
    const statementBytes = readAt(fd, start, length);
    const signature = readAt(fd, start + length, SIG);
    let statement: Statement;
    try {
      statement = JSON.parse(statementBytes.toString('utf8')) as Statement;
    } catch {
      throw new ReleaseError('the release statement is not JSON');
    }
    if (statement.format !== STATEMENT_FORMAT) throw new ReleaseError(`the release statement has format ${String(statement.format)}, not ${STATEMENT_FORMAT}`);
    return { statementBytes, statement, signature, bodyBytes: start };
  } finally {
    closeSync(fd);
  }
}

/**
 * The Node single-executable blob: postject adds it as an ELF note named NODE_SEA_BLOB in a
 * PT_NOTE segment (notes: namesz, descsz, type, name padded to 4, desc padded to 4). Its range is
 * the note's descriptor.
 */
function seaBlobRange(fd: number, fileSize: number): { offset: number; size: number } | undefined {
  const eh = readAt(fd, 0, 64);
  const phoff = Number(eh.readBigUInt64LE(0x20));
  const phentsize = eh.readUInt16LE(0x36);
  const phnum = eh.readUInt16LE(0x38);
  if (phentsize !== 56 || phoff + phnum * phentsize > fileSize) return undefined;
  const table = readAt(fd, phoff, phnum * phentsize);
  const pad = (n: number) => (n + 3) & ~3;
  for (let k = 0; k < phnum; k++) {
    const at = k * phentsize;
    if (table.readUInt32LE(at) !== 4) continue; // PT_NOTE
    const offset = Number(table.readBigUInt64LE(at + 0x08));
    const size = Number(table.readBigUInt64LE(at + 0x20));
    if (offset + size > fileSize) continue;
    for (let n = offset; n + 12 <= offset + size; ) {
      const h = readAt(fd, n, 12);
      const namesz = h.readUInt32LE(0);
      const descsz = h.readUInt32LE(4);
      const name = namesz > 0 && namesz < 64 ? readAt(fd, n + 12, namesz).toString('latin1').replace(/\0+$/, '') : '';
      const desc = n + 12 + pad(namesz);
      if (name === 'NODE_SEA_BLOB' && desc + descsz <= offset + size) return { offset: desc, size: descsz };
      n = desc + pad(descsz);
    }
  }
  return undefined;
}

/** Feed [from, to) of an open file, in 1 MiB reads, to every hash given. */
function hashRange(fd: number, from: number, to: number, ...hashes: Array<ReturnType<typeof createHash>>): void {
  const buf = Buffer.alloc(1 << 20);
  for (let at = from; at < to; ) {
    const n = readSync(fd, buf, 0, Math.min(buf.length, to - at), at);
    if (n === 0) throw new ReleaseError(`unexpected end of file at ${at}`);
    for (const h of hashes) h.update(buf.subarray(0, n));
    at += n;
  }
}

/**
 * The parts of the first `bodyBytes` of `path` and the whole body's hash, as a statement lists
 * them: one pass over the file, each byte feeding the whole-file hash and its part's (or the base
 * runtime's).
 */
export function describeBinary(path: string, bodyBytes?: number): { file: Statement['file']; parts: Part[] } {
  const sections = listSections(path);
  const fd = openSync(path, 'r');
  try {
    const size = bodyBytes ?? fstatSync(fd).size;
    const ranges: Array<{ name: string; what: string; offset: number; size: number }> = [];
    for (const s of sections) {
      if (s.offset + s.size > size || !s.name.startsWith('.pvf.')) continue;
      ranges.push({ name: s.name, what: s.name === '.pvf.manifest' ? 'engine manifest' : s.name === '.pvf.signature' ? 'manifest signature' : 'engine', offset: s.offset, size: s.size });
    }
    const sea = seaBlobRange(fd, size);
    if (sea) ranges.push({ name: 'cli', what: 'the CLI and its embedded schedule (Node single-executable blob, note NODE_SEA_BLOB)', ...sea });
    ranges.sort((a, b) => a.offset - b.offset);
    const whole = createHash('sha256');
    const rest = createHash('sha256');
    const parts: Part[] = [];
    let at = 0;
    let restSize = 0;
    for (const r of ranges) {
      if (r.offset < at) throw new ReleaseError(`${r.name} overlaps the part before it`);
      hashRange(fd, at, r.offset, whole, rest);
      restSize += r.offset - at;
      const h = createHash('sha256');
      hashRange(fd, r.offset, r.offset + r.size, whole, h);
      parts.push({ ...r, sha256: h.digest('hex') });
      at = r.offset + r.size;
    }
    hashRange(fd, at, size, whole, rest);
    restSize += size - at;
    parts.push({ name: 'base runtime', what: 'every byte outside the parts above: the node binary, ELF headers and tables', size: restSize, sha256: rest.digest('hex') });
    return { file: { bytes: size, sha256: whole.digest('hex') }, parts };
  } finally {
    closeSync(fd);
  }
}

/** The trailer to append to `path` (which must not have one yet), signed with `key`. */
export function makeTrailer(path: string, pvfVersion: string, key: KeyObject): Buffer {
  const { file, parts } = describeBinary(path);
  const statement: Statement = { format: STATEMENT_FORMAT, pvfVersion, signingKey: rawPublicKeyHex(key), file, parts };
  const bytes = Buffer.from(JSON.stringify(statement, null, 1) + '\n', 'utf8');
  const footer = Buffer.alloc(FOOTER);
  footer.writeUInt32LE(bytes.length, 0);
  TRAILER_MAGIC.copy(footer, 8);
  return Buffer.concat([bytes, sign(null, bytes, key), footer]);
}

export interface ReleaseCheck {
  problems: string[];
  /** The statement's signer as verified (hex), when the signature checks out under the key used. */
  signer?: string;
  parts: number;
}

/**
 * Check `path` against its trailer: the statement's signature under `key` (a key the user holds;
 * the statement's own key when absent), then the whole file and every part. Each problem names
 * what does not match.
 */
export function checkRelease(path: string, key: KeyObject | undefined): ReleaseCheck {
  const trailer = readTrailer(path);
  if (!trailer) return { problems: ['no release statement at the end of the file (built before release statements, or stripped)'], parts: 0 };
  const { statement, statementBytes, signature, bodyBytes } = trailer;
  const problems: string[] = [];
  const claimed = typeof statement.signingKey === 'string' && /^[0-9a-f]{64}$/.test(statement.signingKey) ? statement.signingKey : undefined;
  const using = key ?? (claimed ? publicKeyFromHex(claimed) : undefined);
  const usingHex = using ? rawPublicKeyHex(using) : undefined;
  if (!using) problems.push('the release statement names no valid signing key');
  else if (!verify(null, statementBytes, using, signature)) {
    const byClaimed = claimed && claimed !== usingHex && verify(null, statementBytes, publicKeyFromHex(claimed), signature);
    problems.push(
      byClaimed
        ? `the release statement is signed by key ${claimed}, not by the key given (${usingHex})`
        : `the release statement's signature does not verify under key ${usingHex}${claimed ? ` (the statement names ${claimed})` : ''}`,
    );
  }
  const actual = describeBinary(path, bodyBytes);
  if (actual.file.bytes !== statement.file?.bytes || actual.file.sha256 !== statement.file?.sha256) {
    problems.push(`the file (${actual.file.bytes} bytes before the statement) does not match the statement's sha256 ${statement.file?.sha256}`);
  }
  const signed = new Map((statement.parts ?? []).map((p) => [p.name, p]));
  for (const p of actual.parts) {
    const s = signed.get(p.name);
    if (!s) problems.push(`${p.name} (${p.what}) is not in the statement`);
    else if (s.sha256 !== p.sha256 || s.size !== p.size) problems.push(`${p.name} (${p.what}) does not match the statement`);
    signed.delete(p.name);
  }
  for (const name of signed.keys()) problems.push(`${name}: in the statement, missing from the file`);
  return { problems, signer: problems.length === 0 ? usingHex : undefined, parts: actual.parts.length };
}
