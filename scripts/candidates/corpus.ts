/**
 * The candidate corpus format (README): a folder per candidate holding `code.wasm` or
 * `code.ref` (the name of a code file in the corpus root), `candidate.pov` (SCALE(PoV) ‖ SCALE(PVD))
 * and `expected.json` ({"verdict", "headData"?, "raw"?} plus informative fields).
 * Files are written to a temporary name and renamed, so a reader never sees half a file.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Expected {
  verdict: 'valid' | 'invalid';
  headData?: string;
  raw?: string;
  /** Informative: blake2_256 of the block header, which must equal blake2_256(headData). */
  blockHash?: string;
  /** Informative: a substring of the runtime's panic message for invalid candidates. */
  panic?: string;
  /** Informative: the reason class of an invalid verdict decided before execution. */
  reason?: string;
  /** Informative: what the candidate is. */
  note?: string;
}

export function writeAtomic(path: string, data: Uint8Array | string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

export function writeCodeFile(root: string, name: string, code: Uint8Array): void {
  mkdirSync(root, { recursive: true });
  writeAtomic(join(root, name), code);
}

export function writeCandidate(root: string, name: string, c: { codeRef: string; pov: Uint8Array; expected: Expected }): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  writeAtomic(join(dir, 'code.ref'), c.codeRef + '\n');
  writeAtomic(join(dir, 'candidate.pov'), c.pov);
  writeAtomic(join(dir, 'expected.json'), JSON.stringify(c.expected, null, 2) + '\n');
  return dir;
}
