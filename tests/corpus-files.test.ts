/**
 * Finding 8, files on disk: corpus reading stays inside the corpus root and never opens what is not
 * a regular file; reproduction lines are shell-quoted; --record verifies a stored code file.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CorpusError, readCorpus } from '../core/corpus/corpus.ts';
import { encodePovFile } from '../core/candidate/codecs.ts';
import { recordCandidate } from '../core/corpus/record.ts';
import { sampleParams } from '../core/candidate/sample.ts';
import { shellCommand, shellQuote } from '../cli/shell.ts';
import { conformanceRepro } from '../cli/matrix.ts';
import { pvf } from './support/pvfs.ts';
import { runCli } from './support/cli.ts';

let dir = '';
let adder: Uint8Array;
let pov: Uint8Array;
const pvdOf = () => ({ parentHead: sampleParams().subarray(2, 74), relayParentNumber: 1, relayParentStorageRoot: new Uint8Array(32), maxPovSize: 1000 });

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pvf-corpus-files-'));
  adder = await pvf('adder');
  pov = encodePovFile({ blockData: sampleParams().subarray(75, 91) }, pvdOf());
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A fresh corpus with one good candidate `ok` (code.ref to adder.wasm); returns its root. */
function corpus(name: string): string {
  const root = join(dir, name);
  mkdirSync(join(root, 'ok'), { recursive: true });
  writeFileSync(join(root, 'adder.wasm'), adder);
  writeFileSync(join(root, 'ok', 'code.ref'), 'adder.wasm\n');
  writeFileSync(join(root, 'ok', 'candidate.pov'), pov);
  return root;
}

function mkfifo(path: string): void {
  const r = spawnSync('mkfifo', [path]);
  assert.equal(r.status, 0, `mkfifo: ${r.stderr}`);
}

describe('corpus reading', () => {
  it('a symlink inside the root is followed (control)', () => {
    const root = corpus('inside');
    mkdirSync(join(root, 'linked'));
    symlinkSync(join(root, 'ok', 'candidate.pov'), join(root, 'linked', 'candidate.pov'));
    writeFileSync(join(root, 'linked', 'code.ref'), 'adder.wasm\n');
    assert.deepEqual(readCorpus(root).map((j) => j.name), ['linked', 'ok']);
  });

  it('a candidate file that is a symlink out of the root is refused, naming it', () => {
    const root = corpus('out-file');
    const secret = join(dir, 'outside.pov');
    writeFileSync(secret, pov);
    mkdirSync(join(root, 'evil'));
    writeFileSync(join(root, 'evil', 'code.ref'), 'adder.wasm\n');
    symlinkSync(secret, join(root, 'evil', 'candidate.pov'));
    assert.throws(() => readCorpus(root), (e: unknown) => e instanceof CorpusError && /evil\/candidate\.pov: a symlink out of the corpus root/.test(e.message));
  });

  it('a candidate folder that is a symlink out of the root is refused', () => {
    const root = corpus('out-dir');
    const outside = join(dir, 'outside-dir');
    mkdirSync(outside);
    writeFileSync(join(outside, 'code.wasm'), adder);
    writeFileSync(join(outside, 'candidate.pov'), pov);
    symlinkSync(outside, join(root, 'evil'));
    assert.throws(() => readCorpus(root), (e: unknown) => e instanceof CorpusError && /evil: a symlink out of the corpus root/.test(e.message));
  });

  it('a code file referenced by its sha256 is not searched for outside the root', () => {
    const root = corpus('out-hash');
    const hash = createHash('sha256').update(adder).digest('hex');
    rmSync(join(root, 'adder.wasm'));
    writeFileSync(join(dir, 'outside.wasm'), adder);
    symlinkSync(join(dir, 'outside.wasm'), join(root, 'adder.wasm'));
    writeFileSync(join(root, 'ok', 'code.ref'), `${hash}\n`);
    assert.throws(() => readCorpus(root), (e: unknown) => e instanceof CorpusError && /adder\.wasm: a symlink out of the corpus root/.test(e.message));
  });

  it('a FIFO as candidate.pov or code.wasm: a one-line data error naming it, without blocking', () => {
    const root = corpus('fifo');
    mkdirSync(join(root, 'pipe'));
    writeFileSync(join(root, 'pipe', 'code.ref'), 'adder.wasm\n');
    mkfifo(join(root, 'pipe', 'candidate.pov'));
    const r = spawnSync(process.execPath, ['--import', import.meta.resolve('tsx'), new URL('../cli/main.ts', import.meta.url).pathname, 'conformance', '--corpus', root], {
      encoding: 'utf8',
      timeout: 30000,
      env: { ...process.env, PVF_DEBUG: '' },
    });
    assert.equal(r.signal, null, 'pvf blocked on the FIFO and was killed');
    assert.equal(r.status, 65, r.stdout + r.stderr);
    assert.match(r.stderr, /^pvf: --corpus .*pipe\/candidate\.pov: a FIFO, not a regular file\n$/);

    rmSync(join(root, 'pipe'), { recursive: true });
    mkdirSync(join(root, 'pipe2'));
    mkfifo(join(root, 'pipe2', 'code.wasm'));
    writeFileSync(join(root, 'pipe2', 'candidate.pov'), pov);
    assert.throws(() => readCorpus(root), (e: unknown) => e instanceof CorpusError && /pipe2\/code\.wasm: a FIFO, not a regular file/.test(e.message));
  });
});

describe('reproduction lines are shell-quoted', () => {
  const nasty = ["plain/path.wasm", 'with space', "it's", 'a"b', '$(touch pwned)', '`id`', 'semi;colon', 'star*', 'new\nline', '', '-dash', "''", 'tab\there', 'back\\slash'];

  it('shellQuote: sh reads every argument back unchanged', () => {
    const line = shellCommand(['printf', '%s\\0', ...nasty]);
    const r = spawnSync('sh', ['-c', line], { cwd: dir, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.split('\0').slice(0, -1), nasty);
    assert.equal(shellQuote('plain/path.wasm'), 'plain/path.wasm');
  });

  it('conformance repro lines survive a corpus path with spaces and quotes', () => {
    const code = join(dir, "my corpus's", 'code.wasm');
    const povFile = join(dir, "my corpus's", 'c $1', 'candidate.pov');
    const line = conformanceRepro({ name: 'x', input: { kind: 'params', code: adder, params: sampleParams() }, files: { code, pov: povFile } }, ['v8-a', 'wasmi-b']);
    const echoed = spawnSync('sh', ['-c', line.replace(/\bpvf validate\b/g, "printf '%s\\n'")], { encoding: 'utf8' });
    assert.equal(echoed.status, 0, echoed.stderr);
    const args = echoed.stdout.trimEnd().split('\n');
    assert.deepEqual(args.slice(0, 7), ['--code', code, '--pov-file', povFile, '--engine', 'v8-a', '--json']);
    assert.deepEqual(args.slice(7, 14), ['--code', code, '--pov-file', povFile, '--engine', 'wasmi-b', '--json']);
  });
});

describe('validate --record and an existing <sha256>.wasm', () => {
  const verdict = { verdict: 'invalid' as const, reason: 'execution-error' as const, detail: 'x' };

  it('a stored code file whose content does not hash to its name is replaced', () => {
    const root = join(dir, 'rec-tampered');
    const name = `${createHash('sha256').update(adder).digest('hex')}.wasm`;
    mkdirSync(root);
    writeFileSync(join(root, name), Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0)); // someone else's bytes
    recordCandidate(root, adder, { blockData: sampleParams().subarray(75, 91) }, pvdOf(), verdict, 'test');
    assert.deepEqual(new Uint8Array(readFileSync(join(root, name))), adder);
    assert.equal(readCorpus(root).length, 1);
  });

  it('a FIFO under that name is replaced without being opened', () => {
    const root = join(dir, 'rec-fifo');
    const name = `${createHash('sha256').update(adder).digest('hex')}.wasm`;
    mkdirSync(root);
    mkfifo(join(root, name));
    writeFileSync(join(dir, 'rec-adder.wasm'), adder);
    writeFileSync(join(dir, 'rec.pov'), pov);
    const ok = runCli(['validate', '--code', join(dir, 'rec-adder.wasm'), '--pov-file', join(dir, 'rec.pov'), '--record', root]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.ok(lstatSync(join(root, name)).isFile());
    assert.deepEqual(new Uint8Array(readFileSync(join(root, name))), adder);
  });

  it('an intact stored code file is kept as it is (same inode)', () => {
    const root = join(dir, 'rec-intact');
    recordCandidate(root, adder, { blockData: sampleParams().subarray(75, 91) }, pvdOf(), verdict, 'test');
    const name = `${createHash('sha256').update(adder).digest('hex')}.wasm`;
    const ino = lstatSync(join(root, name)).ino;
    recordCandidate(root, adder, { blockData: sampleParams().subarray(75, 90) }, pvdOf(), verdict, 'test');
    assert.equal(lstatSync(join(root, name)).ino, ino);
  });
});

describe('prepared artifact cache writes', () => {
  it('a cache entry that cannot be written leaves no temporary file behind, and validation goes on', async () => {
    const { preparedOrPrepare, PREPARE_VERSION } = await import('../core/prepare/prepared-cache.ts');
    const { readdirSync } = await import('node:fs');
    const root = join(dir, 'prep-cache');
    const code = adder;
    const first = preparedOrPrepare({ root }, 'engine-z', code, '0x01', (c) => c);
    const entryDir = join(root, 'prepared', `v${PREPARE_VERSION}`, 'engine-z');
    const wasm = readdirSync(entryDir).find((f) => f.endsWith('.wasm'))!;
    // Make the rename into place fail: the artifact's name is now a non-empty directory.
    rmSync(join(entryDir, wasm));
    mkdirSync(join(entryDir, wasm, 'blocker'), { recursive: true });
    const again = preparedOrPrepare({ root }, 'engine-z', code, '0x01', (c) => c);
    assert.deepEqual([first.cached, again.cached], [false, false]);
    assert.deepEqual(again.module, code);
    assert.deepEqual(readdirSync(entryDir).filter((f) => !f.endsWith('.wasm') && !f.endsWith('.sha256')), []);
  });
});
