/**
 * Prepared artifacts (the module after prepare's rewrites), cached under (engine id, sha256 of the
 * code blob as given, prep hash) with a checksum. A cached artifact whose checksum does not match is prepared again,
 * never executed. Writes go to a temporary name and are renamed into place. The checksum protects
 * against corruption, not against someone with the user's rights (docs/caches.md).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Bumped whenever prepare's output for the same inputs changes. */
export const PREPARE_VERSION = 2; // 2: keyed by the code blob, not the decompressed code

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

export interface PreparedCache {
  root: string;
}

function paths(cache: PreparedCache, engine: string, code: Uint8Array, prepHash: string) {
  const dir = join(cache.root, 'prepared', `v${PREPARE_VERSION}`, engine.replace(/[^A-Za-z0-9._-]/g, '_'));
  const base = `${sha256(code)}-${prepHash.replace(/^0x/, '')}`;
  return { dir, artifact: join(dir, `${base}.wasm`), checksum: join(dir, `${base}.sha256`) };
}

/** A temporary name of this cache: `<artifact or checksum>.<pid>-<8 hex>`. */
const TEMP = /\.(?:wasm|sha256)\.\d+-[0-9a-f]{8}$/;
/** Older than this, a temporary file's writer is gone (killed between write and rename). */
const STALE_MS = 10 * 60 * 1000;

/** Remove the temporary files that writers killed mid-write left behind in `dir`. */
function sweepStale(dir: string): void {
  const now = Date.now();
  for (const name of readdirSync(dir)) {
    if (!TEMP.test(name)) continue;
    const p = join(dir, name);
    try {
      if (now - statSync(p).mtimeMs > STALE_MS) rmSync(p, { force: true });
    } catch {
      /* gone already */
    }
  }
}

/** The prepared module from the cache if it is intact, else `prepare(code)` (and cache it). `code` is what the key hashes: the code blob as given. */
export function preparedOrPrepare(
  cache: PreparedCache | undefined,
  engine: string,
  code: Uint8Array,
  prepHash: string,
  prepare: (code: Uint8Array) => Uint8Array,
): { module: Uint8Array; cached: boolean } {
  if (!cache) return { module: prepare(code), cached: false };
  const p = paths(cache, engine, code, prepHash);
  try {
    const bytes = new Uint8Array(readFileSync(p.artifact));
    if (readFileSync(p.checksum, 'utf8').trim() === sha256(bytes)) return { module: bytes, cached: true };
  } catch {
    /* not cached */
  }
  const module = prepare(code);
  const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    mkdirSync(p.dir, { recursive: true, mode: 0o700 });
    sweepStale(p.dir);
    writeFileSync(`${p.artifact}.${tag}`, module);
    writeFileSync(`${p.checksum}.${tag}`, sha256(module) + '\n');
    renameSync(`${p.artifact}.${tag}`, p.artifact);
    renameSync(`${p.checksum}.${tag}`, p.checksum);
  } catch {
    // A cache we cannot write is not a reason to fail validation: the prepared bytes are in hand.
    // Nothing half-written stays behind.
    rmSync(`${p.artifact}.${tag}`, { force: true });
    rmSync(`${p.checksum}.${tag}`, { force: true });
  }
  return { module, cached: false };
}
