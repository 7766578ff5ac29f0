/**
 * The verification stamp of an extracted engine: after a process hashed every file of a cached
 * engine and found it equal to the manifest, it records each file's identity and change times
 * (device, inode, size, mode, mtime and ctime in ns) in `.verified` beside them. A later process
 * that finds every file's stat equal to the stamp uses the engine without reading it again.
 *
 * Why a stat can stand for a hash here: any write, truncation, chmod or rename of a file sets its
 * ctime to the current time, and no unprivileged call sets ctime back (utimes sets atime and mtime
 * only); replacing the file changes its inode. A file is stamped only when its ctime lies at least
 * STAMP_MARGIN_NS before the moment its hash began and its stat did not change while it was hashed,
 * so a change made during or after hashing always lands on a later ctime (file times come from a
 * coarse clock, one tick ≤ 10 ms). Threat model and limits: docs/caches.md.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EngineEntry } from './manifest.ts';

export const STAMP_FILE = '.verified';

/** How much older than the start of hashing a file's ctime must be to be stamped. */
export const STAMP_MARGIN_NS = 100_000_000n;

interface FileIdentity {
  name: string;
  dev: string;
  ino: string;
  size: string;
  mode: string;
  mtimeNs: string;
  ctimeNs: string;
}

interface Stamp {
  version: 1;
  /** The manifest's hash of the payload these files came from. */
  payloadSha256: string;
  files: FileIdentity[];
}

export function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

/** The identity of every file of `e` in `dir`; throws when one is missing. */
export function identities(dir: string, e: EngineEntry): FileIdentity[] {
  return e.files.map((f) => {
    const s = statSync(join(dir, f.name), { bigint: true });
    return { name: f.name, dev: String(s.dev), ino: String(s.ino), size: String(s.size), mode: String(s.mode), mtimeNs: String(s.mtimeNs), ctimeNs: String(s.ctimeNs) };
  });
}

function same(a: FileIdentity[], b: FileIdentity[]): boolean {
  return a.length === b.length && a.every((x, k) => JSON.stringify(x) === JSON.stringify(b[k]));
}

/** True when `dir` holds a stamp for this payload and every file's stat equals it. */
export function stampHolds(dir: string, e: EngineEntry): boolean {
  try {
    const stamp = JSON.parse(readFileSync(join(dir, STAMP_FILE), 'utf8')) as Stamp;
    return stamp.version === 1 && stamp.payloadSha256 === e.sha256 && same(stamp.files, identities(dir, e));
  } catch {
    return false;
  }
}

/**
 * Record the stamp after a full hash that began at `hashStartNs` with the files' identities
 * `before`: only when nothing changed while hashing and every ctime is old enough (else the next
 * process hashes again and stamps). Best effort: a stamp that cannot be written costs a hash later.
 */
export function recordStamp(dir: string, e: EngineEntry, before: FileIdentity[], hashStartNs: bigint): boolean {
  try {
    const after = identities(dir, e);
    if (!same(before, after) || after.some((f) => BigInt(f.ctimeNs) > hashStartNs - STAMP_MARGIN_NS)) return false;
    const tmp = join(dir, `${STAMP_FILE}.${process.pid}-${randomBytes(4).toString('hex')}`);
    const stamp: Stamp = { version: 1, payloadSha256: e.sha256, files: after };
    try {
      writeFileSync(tmp, JSON.stringify(stamp), { mode: 0o600, flag: 'wx' });
      renameSync(tmp, join(dir, STAMP_FILE));
    } finally {
      rmSync(tmp, { force: true });
    }
    return true;
  } catch {
    return false;
  }
}
