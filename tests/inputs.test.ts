/**
 * Input hardening of the CLI (findings 7d and 8 of the reliability issue): file sizes checked
 * before files are read, the cache directory resolved once, candidate-controlled data never
 * making us abstain.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { REPO, pvf } from './support/pvfs.ts';
import { runCli } from './support/cli.ts';
import { encodePersistedValidationData, type PersistedValidationData } from '../core/candidate/codecs.ts';
import { toHex } from '../core/primitives/hex.ts';
import { cacheRoot } from '../engines/store/store.ts';
import { listSections } from '../engines/store/elf.ts';

const MiB = 1024 * 1024;
const TSX = import.meta.resolve('tsx');

let dir = '';
before(() => (dir = mkdtempSync(join(tmpdir(), 'pvf-inputs-'))));
after(() => rmSync(dir, { recursive: true, force: true }));

function pvd(maxPovSize: number): PersistedValidationData {
  return { parentHead: new Uint8Array(72), relayParentNumber: 1, relayParentStorageRoot: new Uint8Array(32), maxPovSize };
}

/** A sparse file: `head` at 0, `tail` at the end, `size` bytes in all (zeros between). */
function sparse(path: string, size: number, head: Uint8Array, tail: Uint8Array = new Uint8Array(0)): string {
  const fd = openSync(path, 'w');
  try {
    ftruncateSync(fd, size);
    writeSync(fd, head, 0, head.length, 0);
    if (tail.length) writeSync(fd, tail, 0, tail.length, size - tail.length);
  } finally {
    closeSync(fd);
  }
  return path;
}

/** SCALE(PoV) header for `length` bytes of block data (compact, four-byte mode). */
function povHeader(length: number): Uint8Array {
  const v = ((length << 2) | 2) >>> 0;
  return Uint8Array.of(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24);
}

/** Run the CLI from source under /usr/bin/time: exit code, output and peak RSS in KiB. */
function timed(args: string[]): { code: number | null; stdout: string; stderr: string; rssKb: number } {
  const r = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, '--import', TSX, `${REPO}cli/main.ts`, ...args], {
    encoding: 'utf8',
    env: { ...process.env, PVF_DEBUG: '', PVF_CACHE_DIR: join(dir, 'cache') },
    timeout: 120000,
  });
  // GNU time adds "Command exited with non-zero status N" before its own line.
  const lines = r.stderr.trimEnd().split('\n').filter((l) => !l.startsWith('Command exited with non-zero status'));
  return { code: r.status, stdout: r.stdout, stderr: lines.slice(0, -1).join('\n'), rssKb: Number(lines.at(-1)) };
}

const HAVE_TIME = existsSync('/usr/bin/time') ? false : '/usr/bin/time is not installed: cannot measure peak RSS';

describe('file sizes are checked before files are read (finding 8)', () => {
  let adder = '';
  before(async () => {
    adder = join(dir, 'adder.wasm');
    writeFileSync(adder, await pvf('adder'));
  });

  // Upstream: candidate-validation compares the encoded PoV size with the PVD's max_pov_size before
  // anything else and answers InvalidCandidate::ParamsTooLarge (polkadot-sdk
  // polkadot/node/core/candidate-validation/src/lib.rs, perform_basic_checks).
  it('a 200 MiB --pov-file over its max_pov_size is invalid params-too-large, read from its head and tail only', { skip: HAVE_TIME }, () => {
    const tail = encodePersistedValidationData(pvd(5 * MiB));
    const file = sparse(join(dir, 'big.pov'), 4 + 200 * MiB + tail.length, povHeader(200 * MiB), tail);
    const base = timed(['--version']);
    const r = timed(['validate', '--code', adder, '--pov-file', file, '--json']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const doc = JSON.parse(r.stdout) as { verdict: string; reason: string; detail: string };
    assert.deepEqual([doc.verdict, doc.reason], ['invalid', 'params-too-large']);
    assert.match(doc.detail, new RegExp(`PoV is ${4 + 200 * MiB} bytes encoded, max_pov_size is ${5 * MiB}`));
    assert.ok(r.rssKb - base.rssKb < 64 * 1024, `peak RSS ${r.rssKb} KiB vs ${base.rssKb} KiB for --version`);
  });

  it('the same PoV as --pov with --pvd hex: invalid params-too-large, not read', { skip: HAVE_TIME }, () => {
    const file = sparse(join(dir, 'big-alone.pov'), 4 + 200 * MiB, povHeader(200 * MiB));
    const base = timed(['--version']);
    const r = timed(['validate', '--code', adder, '--pov', file, '--pvd', toHex(encodePersistedValidationData(pvd(5 * MiB))), '--json']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.equal((JSON.parse(r.stdout) as { reason: string }).reason, 'params-too-large');
    assert.ok(r.rssKb - base.rssKb < 64 * 1024, `peak RSS ${r.rssKb} KiB vs ${base.rssKb} KiB for --version`);
  });

  it('a 200 MiB PoV that its PVD would allow (max_pov_size u32::MAX): one-line data error, exit 65, not read', { skip: HAVE_TIME }, () => {
    const tail = encodePersistedValidationData(pvd(0xffffffff));
    const file = sparse(join(dir, 'big-allowed.pov'), 4 + 200 * MiB + tail.length, povHeader(200 * MiB), tail);
    const base = timed(['--version']);
    const r = timed(['validate', '--code', adder, '--pov-file', file]);
    assert.equal(r.code, 65, r.stdout + r.stderr);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr.split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^pvf: --pov-file .*big-allowed\.pov: the PoV is \d+ bytes .* more than the 40 MiB any relay chain allows$/);
    assert.ok(r.rssKb - base.rssKb < 64 * 1024, `peak RSS ${r.rssKb} KiB vs ${base.rssKb} KiB for --version`);
  });

  it('a 200 MiB --code file (Wasm magic, then zeros) is refused from its size: exit 65', () => {
    const file = sparse(join(dir, 'big.wasm'), 200 * MiB, Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0));
    const r = runCli(['validate', '--code', file, '--params', '0x']);
    assert.equal(r.code, 65, r.stdout + r.stderr);
    assert.match(r.stderr.trim(), /^pvf: --code .*big\.wasm: 209715200 bytes \(200 MiB\), more than the 30 MiB such a file can hold$/);
  });

  it('a 200 MiB --params @file is refused from its size: exit 65', () => {
    const file = sparse(join(dir, 'big.params'), 200 * MiB, Uint8Array.of(1));
    const r = runCli(['validate', '--code', adder, '--params', `@${file}`]);
    assert.equal(r.code, 65, r.stdout + r.stderr);
    assert.match(r.stderr.trim(), /^pvf: --params .*big\.params: 209715200 bytes/);
  });

  it('a --pov-file whose length prefix runs past the file is a data error naming it', () => {
    const tail = encodePersistedValidationData(pvd(5 * MiB));
    const file = join(dir, 'short.pov');
    writeFileSync(file, Buffer.concat([povHeader(1000), Buffer.alloc(10)]));
    const r = runCli(['validate', '--code', adder, '--pov-file', file]);
    assert.equal(r.code, 65, r.stdout + r.stderr);
    assert.match(r.stderr.trim(), /^pvf: --pov-file .*short\.pov: not valid SCALE: /);
    assert.ok(tail.length > 0);
  });
});

describe('a relative PVF_CACHE_DIR (finding 7d)', () => {
  it('is resolved against the working directory of the pvf process', () => {
    assert.equal(cacheRoot({ PVF_CACHE_DIR: 'rel/cache' }, '/home/u/work'), '/home/u/work/rel/cache');
    assert.equal(cacheRoot({ PVF_CACHE_DIR: '/abs/cache' }, '/home/u/work'), '/abs/cache');
    assert.ok(isAbsolute(cacheRoot({ PVF_CACHE_DIR: 'x' })));
    // XDG Base Directory specification: a relative XDG_CACHE_HOME is invalid and ignored.
    assert.ok(cacheRoot({ XDG_CACHE_HOME: 'relative', HOME: '/home/u' }, '/home/u/work').endsWith('/.cache/pvf'));
  });

  const BIN = join(REPO, 'dist', 'pvf');
  const SKIP = existsSync(BIN) && listSections(BIN).some((s) => s.name === '.pvf.manifest') ? false : 'dist/pvf is not built (run npm run build)';
  it('dist/pvf validates the sample with PVF_CACHE_DIR=relative (the engine workers start in their own cwd)', { skip: SKIP }, () => {
    const cwd = join(dir, 'work');
    mkdirSync(cwd);
    const r = spawnSync(BIN, ['validate', '--sample', '--json'], { cwd, encoding: 'utf8', env: { ...process.env, CI: '1', PVF_CACHE_DIR: 'relcache' }, timeout: 120000 });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.equal((JSON.parse(r.stdout) as { verdict: string }).verdict, 'valid');
    assert.ok(existsSync(join(cwd, 'relcache', 'engines')));
  });
});
