/** Shared helpers for tests: assemble the project's own PVFs, validate on the in-process engine. */
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { assembleWatFile } from '../../build/wat.ts';
import { validateCandidate, type ValidationReport } from '../../core/candidate/validate.ts';
import { inProcessV8 } from '../../engines/v8/index.ts';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const SHARED = fileURLToPath(new URL('../../../shared/fixtures/', import.meta.url));
export const HAVE_SHARED = existsSync(SHARED);
export const SKIP_SHARED = HAVE_SHARED ? false : `../shared/fixtures absent (${SHARED}): fixture tests need the shared folder beside the repo`;

const cache = new Map<string, Promise<Uint8Array>>();
export function pvf(name: string): Promise<Uint8Array> {
  let p = cache.get(name);
  if (!p) cache.set(name, (p = assembleWatFile(fileURLToPath(new URL(`../pvfs/${name}.wat`, import.meta.url)))));
  return p;
}

export function validateParams(code: Uint8Array, params: Uint8Array): Promise<ValidationReport> {
  return validateCandidate({ kind: 'params', code, params }, inProcessV8);
}
