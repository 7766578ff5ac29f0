/** Run the CLI from source in a child process. */
import { spawn, spawnSync } from 'node:child_process';
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

/**
 * The same, without blocking this process: for tests that serve something (a relay chain) from
 * this process while the CLI talks to it.
 */
export function runCliAsync(args: string[], opts: { cwd?: string; timeoutMs?: number } = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', TSX, `${REPO}cli/main.ts`, ...args], {
      cwd: opts.cwd ?? REPO,
      env: { ...process.env, PVF_DEBUG: '' },
      timeout: opts.timeoutMs ?? 120_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
