/**
 * Reading a candidate corpus (the format in the README): a folder per candidate with `code.wasm` or `code.ref`
 * (the name, or the sha256, of a code file in the corpus root), `candidate.pov` and optionally
 * `expected.json`; also plain folders holding one code file and any number of `.pov` files.
 */
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, realpathSync, statSync, type Stats } from 'node:fs';
import { join, sep } from 'node:path';
import type { Expectation, Job } from './conformance.ts';
import { CODE_FILE_LIMIT, InputFileError, readFileBounded, readPovFileBounded } from '../candidate/input-files.ts';
import { ScaleError } from '../primitives/scale.ts';

export class CorpusError extends Error {
  override readonly name = 'CorpusError';
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** expected.json and code.ref are small; anything larger is not one of them. */
const SMALL_FILE_LIMIT = 1024 * 1024;

function kindOf(st: Stats): string {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isDirectory()) return 'a directory';
  return 'not a regular file';
}

/**
 * The corpus root, resolved once. Every path read below it is checked with lstat (and realpath for
 * a symlink) before it is opened: a symlink out of the root is refused, and so is anything that is
 * not a regular file or a directory (opening a FIFO would block forever).
 */
class Root {
  readonly real: string;
  constructor(readonly path: string) {
    let st: Stats;
    try {
      st = statSync(path);
      this.real = realpathSync(path);
    } catch {
      throw new CorpusError(`${path}: not a directory`);
    }
    if (!st.isDirectory()) throw new CorpusError(`${path}: not a directory`);
  }

  /** What `p` is (following a symlink that stays inside the root), without opening it. */
  kind(p: string): 'file' | 'dir' | Stats {
    let st: Stats;
    try {
      st = lstatSync(p);
      if (st.isSymbolicLink()) {
        const real = realpathSync(p);
        if (real !== this.real && !real.startsWith(this.real + sep)) throw new CorpusError(`${p}: a symlink out of the corpus root (to ${real})`);
        st = statSync(real);
      }
    } catch (e) {
      if (e instanceof CorpusError) throw e;
      throw new CorpusError(`${p}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'a dangling symlink' : (e as Error).message}`);
    }
    return st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st;
  }

  isDir(p: string): boolean {
    return this.kind(p) === 'dir';
  }

  /** A regular file inside the root, read whole if it holds at most `limit` bytes. */
  read(p: string, limit: number): Uint8Array {
    this.requireFile(p);
    try {
      return readFileBounded(p, limit);
    } catch (e) {
      if (e instanceof InputFileError) throw new CorpusError(`${p}: ${e.message}`);
      throw e;
    }
  }

  requireFile(p: string): void {
    const k = this.kind(p);
    if (k !== 'file') throw new CorpusError(`${p}: ${k === 'dir' ? 'a directory' : kindOf(k)}, not a regular file`);
  }
}

function resolveRef(root: Root, ref: string, where: string): string {
  if (/^[0-9a-f]{64}$/i.test(ref)) {
    for (const f of readdirSync(root.path).sort()) {
      const p = join(root.path, f);
      if (root.kind(p) !== 'file') continue;
      if (sha256(root.read(p, CODE_FILE_LIMIT)) === ref.toLowerCase()) return p;
    }
    throw new CorpusError(`${where}: no code file in ${root.path} has sha256 ${ref}`);
  }
  if (ref.includes('/') || ref.includes('\\') || ref.startsWith('.')) throw new CorpusError(`${where}: code.ref must name a file in the corpus root`);
  const p = join(root.path, ref);
  try {
    lstatSync(p);
  } catch {
    throw new CorpusError(`${where}: code.ref names ${ref}, which is not in ${root.path}`);
  }
  root.requireFile(p);
  return p;
}

function povJob(root: Root, name: string, code: string, pov: string, expected?: Expectation): Job {
  root.requireFile(pov);
  let read;
  try {
    read = readPovFileBounded(pov);
  } catch (e) {
    if (e instanceof InputFileError) throw new CorpusError(`${pov}: ${e.message}`);
    if (e instanceof ScaleError) throw new CorpusError(`${pov}: not a .pov file (SCALE(PoV) ‖ SCALE(PVD)): ${e.message}`);
    throw e;
  }
  const bytes = root.read(code, CODE_FILE_LIMIT);
  const input: Job['input'] =
    read.pov.kind === 'pov'
      ? { kind: 'pov', code: bytes, pov: read.pov.pov, pvd: read.pvd }
      : { kind: 'pov-oversize', code: bytes, encodedPovSize: read.pov.encodedSize, pvd: read.pvd };
  return { name, input, expected, files: { code, pov } };
}

/**
 * expected.json (the `ExpectedFile` document that format.ts writes): an object with `verdict` "valid"
 * or "invalid" and optionally `headData`/`raw` (hex)
 * and `reason` (a string); other keys (a block hash, a panic text) are informative and ignored. The
 * comparable fields are verdict, headData, raw and, for invalid, reason.
 */
export function parseExpectation(json: string, where: string): Expectation {
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch (e) {
    throw new CorpusError(`${where}: ${(e as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new CorpusError(`${where}: not a JSON object`);
  const o = doc as Record<string, unknown>;
  if (o.verdict !== 'valid' && o.verdict !== 'invalid') throw new CorpusError(`${where}: verdict must be valid or invalid`);
  for (const k of ['headData', 'raw'] as const) {
    if (o[k] !== undefined && (typeof o[k] !== 'string' || !/^0x([0-9a-fA-F]{2})*$/.test(o[k]))) throw new CorpusError(`${where}: ${k} must be a 0x-prefixed hex string`);
  }
  if (o.reason !== undefined && typeof o.reason !== 'string') throw new CorpusError(`${where}: reason must be a string`);
  return {
    verdict: o.verdict,
    ...(typeof o.headData === 'string' ? { headData: o.headData.toLowerCase() } : {}),
    ...(typeof o.raw === 'string' ? { raw: o.raw.toLowerCase() } : {}),
    ...(o.verdict === 'invalid' && typeof o.reason === 'string' ? { reason: o.reason } : {}),
  };
}

export function readCorpus(path: string): Job[] {
  const root = new Root(path);
  const jobs: Job[] = [];
  for (const entry of readdirSync(path).sort()) {
    const dir = join(path, entry);
    if (!root.isDir(dir)) continue;
    const files = readdirSync(dir);
    const text = (f: string): string => Buffer.from(root.read(join(dir, f), SMALL_FILE_LIMIT)).toString('utf8');
    if (files.includes('candidate.pov')) {
      const code = files.includes('code.wasm') ? join(dir, 'code.wasm') : files.includes('code.ref') ? resolveRef(root, text('code.ref').trim(), dir) : undefined;
      if (!code) throw new CorpusError(`${dir}: has candidate.pov but neither code.wasm nor code.ref`);
      let expected: Expectation | undefined;
      if (files.includes('expected.json')) {
        expected = parseExpectation(text('expected.json'), `${dir}/expected.json`);
      }
      jobs.push(povJob(root, entry, code, join(dir, 'candidate.pov'), expected));
      continue;
    }
    const wasm = files.filter((f) => f.endsWith('.wasm'));
    const povs = files.filter((f) => f.endsWith('.pov')).sort();
    if (wasm.length === 1 && povs.length > 0) {
      for (const p of povs) jobs.push(povJob(root, `${entry}/${p}`, join(dir, wasm[0]), join(dir, p)));
    }
  }
  if (jobs.length === 0) throw new CorpusError(`${path}: no candidates found`);
  return jobs;
}

/** Shard I of N (1-based): every job lands in exactly one shard. */
export function shard<T>(items: T[], index: number, count: number): T[] {
  return items.filter((_, k) => k % count === index - 1);
}
