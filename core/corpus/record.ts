/**
 * `pvf validate … --record DIR`: append the candidate and the verdict it got to a corpus, so an
 * operator can collect what their node saw and replay it on a new engine before upgrading.
 * Code files are stored once in the corpus root under their sha256 (`<sha256>.wasm`), each
 * candidate in its own folder named after the hash of its code and PoV file.
 */
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodePovFile, type PersistedValidationData, type PoV } from '../candidate/codecs.ts';
import { toHex } from '../primitives/hex.ts';
import type { Verdict } from '../candidate/verdict.ts';
import { writeAtomic, writeCandidateFolder, type ExpectedFile } from './format.ts';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/**
 * Store a code file under its content hash. An existing file of that name is trusted only when it
 * is a regular file whose sha256 is its name; anything else there (a damaged or foreign file, a
 * symlink, a FIFO) is replaced atomically. It is checked with lstat before it is opened.
 */
function storeByHash(path: string, hash: string, data: Uint8Array): void {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    st = undefined;
  }
  if (st?.isFile() && st.size === data.length && sha256(readFileSync(path)) === hash) return;
  writeAtomic(path, data);
}

export function recordCandidate(root: string, code: Uint8Array, pov: PoV, pvd: PersistedValidationData, verdict: Verdict, engine: string): string {
  mkdirSync(root, { recursive: true });
  const codeHash = sha256(code);
  const codeName = `${codeHash}.wasm`;
  storeByHash(join(root, codeName), codeHash, code);
  const povFile = encodePovFile(pov, pvd);
  const name = `${sha256(code).slice(0, 16)}-${sha256(povFile).slice(0, 16)}`;
  const expected: ExpectedFile =
    verdict.verdict === 'valid'
      ? { verdict: 'valid', headData: toHex(verdict.result.headData), raw: toHex(verdict.raw), recordedOn: engine }
      : { verdict: 'invalid', reason: verdict.reason, recordedOn: engine };
  return writeCandidateFolder(root, name, { codeRef: codeName, pov: povFile, expected }, 'keep');
}
