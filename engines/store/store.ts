/**
 * The engines a pvf binary carries, read from its own ELF sections, and the cache they are
 * extracted to. Only the section of the engine a request needs is read; it is verified against the
 * manifest, decompressed, verified again, written to a temporary directory (files fsynced) and
 * renamed into place, so no process ever runs a partial engine; all of it streamed (extract.ts).
 * A process uses a cached engine only after hashing it in full, or when its verification stamp
 * (stamp.ts) shows no file changed since a full hash; one that no longer matches is replaced.
 */
import { createPublicKey, verify as verifySignature } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { HostFault } from '../../core/candidate/verdict.ts';
import { ElfError, listSections, readSection, type ElfSection } from './elf.ts';
import { MANIFEST_SECTION, SIGNATURE_SECTION, parseBinaryManifest, type BinaryManifest, type EngineEntry } from './manifest.ts';
import { sha256Hex, sha256OfFile } from './payload.ts';
import { extractEngineTo, ExtractError } from './extract.ts';
import { identities, nowNs, recordStamp, stampHolds } from './stamp.ts';

/**
 * The cache directory, always absolute: engines run as workers in their own empty working
 * directory, so a relative path must never reach them. A relative `$PVF_CACHE_DIR` is resolved
 * against the working directory of the pvf process (the one the user typed it in); a relative
 * `$XDG_CACHE_HOME` is ignored, as the XDG Base Directory specification requires.
 */
export function cacheRoot(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): string {
  if (env.PVF_CACHE_DIR) return resolve(cwd, env.PVF_CACHE_DIR);
  if (env.XDG_CACHE_HOME && isAbsolute(env.XDG_CACHE_HOME)) return join(env.XDG_CACHE_HOME, 'pvf');
  return join(homedir(), '.cache', 'pvf');
}

/** Create the cache directory (0700) and refuse one owned by someone else or writable by others. */
export function secureDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw ioFault(`cannot create cache directory ${dir}`, e);
  }
  const st = statSync(dir);
  if (!st.isDirectory()) throw new HostFault('io-error', `cache path ${dir} is not a directory`);
  if (typeof process.getuid === 'function' && st.uid !== process.getuid()) {
    throw new HostFault('io-error', `cache directory ${dir} is owned by another user (uid ${st.uid})`);
  }
  if ((st.mode & 0o022) !== 0) {
    throw new HostFault('io-error', `cache directory ${dir} is writable by group or others (mode ${(st.mode & 0o777).toString(8)})`);
  }
}

function ioFault(what: string, e: unknown): HostFault {
  const code = (e as NodeJS.ErrnoException).code;
  const why = code === 'ENOSPC' ? 'no space left on device' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
  return new HostFault('io-error', `${what}: ${why}`, { cause: e });
}

export class EngineStore {
  private readonly verified = new Set<string>();

  private constructor(
    readonly binary: string,
    readonly manifestBytes: Buffer,
    readonly manifest: BinaryManifest,
    readonly sections: ElfSection[],
  ) {}

  /** The store of a binary, or undefined when it carries no engines (running from source). */
  static open(binary = process.execPath): EngineStore | undefined {
    let sections: ElfSection[];
    try {
      sections = listSections(binary);
    } catch (e) {
      // Only "this is not an ELF binary" means no engines (a source checkout on another format);
      // failing to read it (EMFILE, EIO, ...) is an I/O fault, never a silent fallback.
      if (e instanceof ElfError) return undefined;
      throw new HostFault('io-error', `cannot read ${binary}: ${(e as Error).message}`);
    }
    const ms = sections.find((s) => s.name === MANIFEST_SECTION);
    if (!ms) return undefined;
    const bytes = readSection(binary, ms);
    return new EngineStore(binary, bytes, parseBinaryManifest(bytes), sections);
  }

  engine(id: string): EngineEntry | undefined {
    return this.manifest.engines.find((e) => e.id === id);
  }

  /** Check the detached signature of the manifest bytes against the key the manifest names. */
  signatureValid(publicKeyHex: string = this.manifest.signingKey): boolean {
    const sig = this.sections.find((s) => s.name === SIGNATURE_SECTION);
    if (!sig) return false;
    const key = createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(publicKeyHex, 'hex')]), format: 'der', type: 'spki' });
    return verifySignature(null, this.manifestBytes, key, readSection(this.binary, sig));
  }

  /** Read and check one engine section; a mismatch means this binary is damaged. */
  readCompressed(e: EngineEntry): Buffer {
    const s = this.sections.find((x) => x.name === e.section);
    if (!s) throw new HostFault('engine-unavailable', `engine ${e.id}: section ${e.section} is missing from ${this.binary}`);
    const bytes = readSection(this.binary, s);
    if (bytes.length !== e.compressedSize || sha256Hex(bytes) !== e.compressedSha256) {
      throw new HostFault('engine-unavailable', `engine ${e.id}: section ${e.section} does not match the manifest (sha256 mismatch)`);
    }
    return bytes;
  }

  dirOf(e: EngineEntry, root = cacheRoot()): string {
    return join(root, 'engines', `${e.id}-${e.sha256.slice(0, 16)}`);
  }

  /** True when the cached copy exists and every file matches the manifest (hashes every file, in chunks). */
  cachedIntact(e: EngineEntry, dir = this.dirOf(e)): boolean {
    try {
      for (const f of e.files) {
        const p = join(dir, f.name);
        if (statSync(p).size !== f.size) return false;
        if (sha256OfFile(p) !== f.sha256) return false;
      }
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Whether a cached copy can be used: its stamp holds (stamp.ts: every file's stat unchanged since
   * a full hash), or a full hash now matches, after which it is stamped for the next process.
   */
  private cachedUsable(e: EngineEntry, dir: string, stamped: boolean): boolean {
    if (stamped && stampHolds(dir, e)) return true;
    let before;
    try {
      before = identities(dir, e);
    } catch {
      return false;
    }
    const start = nowNs();
    if (!this.cachedIntact(e, dir)) return false;
    if (stamped) recordStamp(dir, e, before, start);
    return true;
  }

  isExtracted(e: EngineEntry): boolean {
    try {
      return statSync(this.dirOf(e)).isDirectory();
    } catch {
      return false;
    }
  }

  /**
   * The directory of the extracted engine, extracting it on first use. Verified once per process.
   * `to` extracts to another directory instead (pvf engines extract --to).
   */
  async ensureExtracted(e: EngineEntry, opts: { to?: string; onExtract?: () => void } = {}): Promise<string> {
    const root = opts.to ?? cacheRoot();
    const dir = opts.to ? opts.to : this.dirOf(e, root);
    if (this.verified.has(dir)) return dir;
    if (!opts.to) secureDir(root);
    // Only the cache gets stamps; a directory given with --to is always hashed in full.
    const stamped = !opts.to;
    if (this.cachedUsable(e, dir, stamped)) {
      this.verified.add(dir);
      return dir;
    }
    opts.onExtract?.();
    const parent = opts.to ? join(dir, '..') : join(root, 'engines');
    try {
      mkdirSync(parent, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw ioFault(`cannot create ${parent}`, err);
    }
    // A damaged copy is moved aside first, so nothing ever runs it.
    try {
      statSync(dir);
      const aside = join(parent, `.bad-${e.id}-${randomBytes(6).toString('hex')}`);
      renameSync(dir, aside);
      rmSync(aside, { recursive: true, force: true });
    } catch {
      /* nothing there */
    }
    const s = this.sections.find((x) => x.name === e.section);
    if (!s) throw new HostFault('engine-unavailable', `engine ${e.id}: section ${e.section} is missing from ${this.binary}`);
    const tmp = join(parent, `.tmp-${e.id}-${process.pid}-${randomBytes(6).toString('hex')}`);
    try {
      mkdirSync(tmp, { mode: 0o700 });
      await extractEngineTo(this.binary, s, e, tmp);
      const dfd = openSync(tmp, 'r');
      fsyncSync(dfd);
      closeSync(dfd);
    } catch (err) {
      rmSync(tmp, { recursive: true, force: true });
      if (err instanceof ExtractError) throw new HostFault('engine-unavailable', `engine ${e.id}: ${err.message}`);
      // A failed system call (ENOSPC, EACCES, EIO…) is this machine; anything else broke decompression.
      if ((err as NodeJS.ErrnoException).syscall !== undefined) throw ioFault(`cannot extract engine ${e.id} to ${parent}`, err);
      throw new HostFault('engine-unavailable', `engine ${e.id}: cannot decompress its section: ${(err as Error).message}`);
    }
    try {
      renameSync(tmp, dir);
    } catch (err) {
      rmSync(tmp, { recursive: true, force: true });
      const code = (err as NodeJS.ErrnoException).code;
      // Another process finished first: use its copy if it is intact.
      if (!(code === 'ENOTEMPTY' || code === 'EEXIST') || !this.cachedUsable(e, dir, stamped)) throw ioFault(`cannot install engine ${e.id}`, err);
    }
    // The files were hashed as they were written; read back once, they are stamped (when old enough).
    if (!this.cachedUsable(e, dir, stamped)) throw new HostFault('io-error', `engine ${e.id}: the extracted copy does not verify`);
    this.verified.add(dir);
    return dir;
  }

  /** Cache entries of engines this binary does not carry (all entries with `all`). */
  garbage(all: boolean, root = cacheRoot()): string[] {
    const dir = join(root, 'engines');
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return [];
    }
    const keep = new Set(all ? [] : this.manifest.engines.map((e) => `${e.id}-${e.sha256.slice(0, 16)}`));
    return names.filter((n) => !keep.has(n)).map((n) => join(dir, n));
  }
}
