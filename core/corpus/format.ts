/**
 * The candidate corpus on disk, written in one place: a folder per candidate holding `code.ref` (the
 * name of a code file in the corpus root) or `code.wasm`, `candidate.pov` (SCALE(PoV) ‖ SCALE(PVD))
 * and `expected.json` (`ExpectedFile`). `pvf validate --record` and `npm run candidates` both write
 * with these functions; `corpus.ts` reads (and checks) the same format. Every file and every folder
 * appears whole or not at all: written under a temporary name, then renamed.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The expected.json document. Readers compare verdict, headData, raw and, for invalid, reason. */
export interface ExpectedFile {
  verdict: 'valid' | 'invalid';
  headData?: string;
  raw?: string;
  /** The reason class of an invalid verdict. */
  reason?: string;
  /** Informative: blake2_256 of the block header, which must equal blake2_256(headData). */
  blockHash?: string;
  /** Informative: a substring of the runtime's panic message for invalid candidates. */
  panic?: string;
  /** Informative: what the candidate is. */
  note?: string;
  /** Informative: the engine whose verdict `--record` wrote. */
  recordedOn?: string;
}

const tempName = (path: string) => `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;

/** Write `data` under a temporary name and rename it over `path` (never half-written). */
export function writeAtomic(path: string, data: Uint8Array | string): void {
  const tmp = tempName(path);
  try {
    writeFileSync(tmp, data, { flag: 'wx' });
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/**
 * Write one candidate folder `root/name` whole: its files go into a temporary folder that is then
 * renamed into place. An existing folder is kept (`keep`, for --record: the same name is the same
 * code and PoV) or replaced.
 */
export function writeCandidateFolder(root: string, name: string, c: { codeRef: string; pov: Uint8Array; expected: ExpectedFile }, existing: 'keep' | 'replace'): string {
  mkdirSync(root, { recursive: true });
  const dir = join(root, name);
  const tmp = join(root, `.tmp-${name}-${process.pid}-${randomBytes(4).toString('hex')}`);
  mkdirSync(tmp);
  try {
    writeFileSync(join(tmp, 'code.ref'), c.codeRef + '\n');
    writeFileSync(join(tmp, 'candidate.pov'), c.pov);
    writeFileSync(join(tmp, 'expected.json'), JSON.stringify(c.expected, null, 2) + '\n');
    if (existsSync(dir)) {
      if (existing === 'keep') {
        rmSync(tmp, { recursive: true, force: true });
        return dir;
      }
      rmSync(dir, { recursive: true, force: true });
    }
    renameSync(tmp, dir);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  return dir;
}
