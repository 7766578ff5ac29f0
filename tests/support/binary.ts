/** The built single executable, for tests that run every engine it carries. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './pvfs.ts';
import { listSections } from '../../engines/store/elf.ts';

export const BIN = join(REPO, 'dist', 'pvf');
export const BUILT = existsSync(BIN) && listSections(BIN).some((s) => s.name === '.pvf.manifest');
export const SKIP_BIN = BUILT ? false : 'dist/pvf is not built (run npm run build)';

export interface VerdictRun {
  code: number | null;
  doc: { verdict: string; reason?: string; detail?: string; result?: { headData: string } };
}

/** `pvf validate … --json` with its own engine cache; the verdict document and the exit code. */
export function validateJson(args: string[], cache: string): VerdictRun {
  const r = spawnSync(BIN, ['validate', ...args, '--json'], { encoding: 'utf8', env: { ...process.env, CI: '1', PVF_CACHE_DIR: cache } });
  return { code: r.status, doc: JSON.parse(r.stdout) as VerdictRun['doc'] };
}

/** The ids of every engine the binary carries. */
export function carriedEngines(cache: string): string[] {
  const list = spawnSync(BIN, ['engines', 'list', '--json'], { encoding: 'utf8', env: { ...process.env, PVF_CACHE_DIR: cache } });
  return (JSON.parse(list.stdout) as { engines: Array<{ id: string }> }).engines.map((e) => e.id);
}
