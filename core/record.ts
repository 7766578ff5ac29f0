/**
 * `pvf validate … --record DIR`: append the candidate and the verdict it got to a corpus, so an
 * operator can collect what their node saw and replay it on a new engine before upgrading.
 * Code files are stored once in the corpus root under their sha256 (`<sha256>.wasm`), each
 * candidate in its own folder named after the hash of its code and PoV file.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodePovFile, type PersistedValidationData, type PoV } from './codecs.ts';
import { toHex } from './hex.ts';
import type { Verdict } from './verdict.ts';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function writeOnce(path: string, data: Uint8Array | string): void {
  if (existsSync(path)) return;
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

export function recordCandidate(root: string, code: Uint8Array, pov: PoV, pvd: PersistedValidationData, verdict: Verdict, engine: string): string {
  mkdirSync(root, { recursive: true });
  const codeName = `${sha256(code)}.wasm`;
  writeOnce(join(root, codeName), code);
  const povFile = encodePovFile(pov, pvd);
  const name = `${sha256(code).slice(0, 16)}-${sha256(povFile).slice(0, 16)}`;
  const dir = join(root, name);
  const tmp = join(root, `.tmp-${name}-${process.pid}-${randomBytes(4).toString('hex')}`);
  mkdirSync(tmp);
  try {
    writeFileSync(join(tmp, 'code.ref'), codeName + '\n');
    writeFileSync(join(tmp, 'candidate.pov'), povFile);
    const expected: Record<string, string> = { verdict: verdict.verdict === 'valid' ? 'valid' : 'invalid' };
    if (verdict.verdict === 'valid') {
      expected.headData = toHex(verdict.result.headData);
      expected.raw = toHex(verdict.raw);
    } else {
      expected.reason = verdict.reason;
    }
    expected.recordedOn = engine;
    writeFileSync(join(tmp, 'expected.json'), JSON.stringify(expected, null, 2) + '\n');
    if (existsSync(dir)) rmSync(tmp, { recursive: true, force: true });
    else renameSync(tmp, dir);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  return dir;
}
