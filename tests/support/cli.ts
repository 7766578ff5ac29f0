/** Run the CLI from source in a child process. */
import { spawnSync } from 'node:child_process';
import { REPO } from './pvfs.ts';

/** tsx resolved from the repo, so the CLI can run with any working directory. */
const TSX = import.meta.resolve('tsx');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], opts: { cwd?: string } = {}): CliRun {
  const r = spawnSync(process.execPath, ['--import', TSX, `${REPO}cli/main.ts`, ...args], {
    cwd: opts.cwd ?? REPO,
    encoding: 'utf8',
    env: { ...process.env, PVF_DEBUG: '' },
    timeout: 60000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
