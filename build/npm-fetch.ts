/** Fetch a pinned npm package tarball (registry only) into the build cache and unpack it. */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export function fetchPackage(name: string, version: string, cacheDir: string): string {
  const safe = `${name.replace(/^@/, '').replace(/\//g, '-')}-${version}`;
  const dir = join(cacheDir, 'npm', safe);
  if (existsSync(join(dir, 'package', 'package.json'))) return join(dir, 'package');
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  execFileSync('npm', ['pack', `${name}@${version}`, '--pack-destination', tmp, '--silent'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const tgz = readdirSync(tmp).find((f) => f.endsWith('.tgz'));
  if (!tgz) throw new Error(`npm pack ${name}@${version} produced no tarball`);
  execFileSync('tar', ['xzf', join(tmp, tgz), '-C', tmp]);
  rmSync(join(tmp, tgz));
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return join(dir, 'package');
}
