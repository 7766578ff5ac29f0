/**
 * The signed release statement at the end of dist/pvf (engines/store/release.ts): checked against
 * a key the user holds, it tells a substituted binary from the release; without one, verify says it
 * checked self-consistency only. Tampering names the part that changed. The standard-tools route
 * of the README (tail, od, openssl, sha256sum, objcopy) verifies the real build.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { appendFileSync, closeSync, copyFileSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeBinary, makeTrailer, rawPublicKeyHex, readTrailer } from '../engines/store/release.ts';
import { BIN, SKIP_BIN } from './support/binary.ts';
import { REPO } from './support/pvfs.ts';

let dir: string;
let releasePub: string;
let releaseHex: string;

function verify(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(BIN, ['engines', 'verify', ...args], { encoding: 'utf8', env: { ...process.env, PVF_CACHE_DIR: join(dir, 'cache'), PVF_RELEASE_PUBKEY: '' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A copy of dist/pvf to tamper with. */
function copyOfBinary(name: string): string {
  const p = join(dir, name);
  copyFileSync(BIN, p);
  return p;
}

function flipByteAt(path: string, offset: number): void {
  const fd = openSync(path, 'r+');
  try {
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, offset);
    b[0] ^= 0x01;
    writeSync(fd, b, 0, 1, offset);
  } finally {
    closeSync(fd);
  }
}

describe('the release statement', { skip: SKIP_BIN }, () => {
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'pvf-release-'));
    // The build signs with the committed test key (PVF_SIGNING_KEY unset): here it plays the release key.
    const key = createPrivateKey(readFileSync(join(REPO, 'build/test-signing-key.pem')));
    releasePub = join(dir, 'release-pub.pem');
    writeFileSync(releasePub, createPublicKey(key).export({ format: 'pem', type: 'spki' }));
    releaseHex = rawPublicKeyHex(key);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('verifies the built binary against the release key; without a key it says it checked self-consistency only', () => {
    const withKey = verify(['--pubkey', releasePub]);
    assert.equal(withKey.code, 0, withKey.stdout);
    assert.match(withKey.stdout, new RegExp(`^ok   release statement: the whole file and \\d+ parts, signed by ${releaseHex}$`, 'm'));
    assert.doesNotMatch(withKey.stdout, /self-consistency only/);
    const hexKey = join(dir, 'release.hex');
    writeFileSync(hexKey, releaseHex + '\n');
    assert.equal(verify(['--pubkey', hexKey]).code, 0, 'the key as 64 hex digits');
    const without = verify([]);
    assert.equal(without.code, 0, without.stdout);
    assert.match(without.stdout, /note: self-consistency only/);
    const statement = readTrailer(BIN)!.statement;
    assert.deepEqual(
      statement.parts.map((p) => p.name).filter((n) => !n.startsWith('.pvf.v8-') && !n.startsWith('.pvf.wasmi-')),
      ['.pvf.signature', '.pvf.manifest', 'cli', 'base runtime'],
      'every part that decides a verdict is listed: engines, manifest, its signature, the CLI with its schedule, the base runtime',
    );
  });

  it('a binary re-signed with another key: verify --pubkey with the release key fails, naming the signer; without a key it passes (self-consistency only)', () => {
    const copy = copyOfBinary('resigned');
    const body = readTrailer(copy)!.bodyBytes;
    truncateSync(copy, body);
    const other = generateKeyPairSync('ed25519').privateKey;
    appendFileSync(copy, makeTrailer(copy, 'x', other));
    const r = verify(['--binary', copy, '--pubkey', releasePub]);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stdout, new RegExp(`^FAIL the release statement is signed by key ${rawPublicKeyHex(other)}, not by the key given \\(${releaseHex}\\)$`, 'm'));
    const env = spawnSync(BIN, ['engines', 'verify', '--binary', copy], { encoding: 'utf8', env: { ...process.env, PVF_CACHE_DIR: join(dir, 'cache'), PVF_RELEASE_PUBKEY: releasePub } });
    assert.equal(env.status, 1, 'PVF_RELEASE_PUBKEY is the same as --pubkey');
    const selfOnly = verify(['--binary', copy]);
    assert.equal(selfOnly.code, 0, selfOnly.stdout);
    assert.match(selfOnly.stdout, /self-consistency only/);
  });

  it('a flipped byte in the CLI blob or in the base runtime is named, and the whole-file hash fails', () => {
    const parts = describeBinary(BIN, readTrailer(BIN)!.bodyBytes).parts;
    const cli = parts.find((p) => p.name === 'cli')!;
    const cliCopy = copyOfBinary('cli-flipped');
    flipByteAt(cliCopy, cli.offset! + Math.floor(cli.size / 2));
    const a = verify(['--binary', cliCopy, '--pubkey', releasePub]);
    assert.equal(a.code, 1, a.stdout);
    assert.match(a.stdout, /^FAIL cli \(the CLI and its embedded schedule \(Node single-executable blob, note NODE_SEA_BLOB\)\) does not match the statement$/m);
    assert.match(a.stdout, /^FAIL the file \(\d+ bytes before the statement\) does not match the statement's sha256/m);
    // The ELF program headers: part of the base runtime, in no section.
    const baseCopy = copyOfBinary('base-flipped');
    flipByteAt(baseCopy, 0x48);
    const b = verify(['--binary', baseCopy, '--pubkey', releasePub]);
    assert.equal(b.code, 1, b.stdout);
    assert.match(b.stdout, /^FAIL base runtime \(every byte outside the parts above/m);
    assert.doesNotMatch(b.stdout, /^FAIL cli/m);
  });

  it('a key file that is not a key, or missing: one line, exit 65', () => {
    writeFileSync(join(dir, 'junk.pem'), 'hello\n');
    const r = verify(['--pubkey', join(dir, 'junk.pem')]);
    assert.equal(r.code, 65);
    assert.match(r.stderr, /^pvf: --pubkey .*junk\.pem: not a public key \(PEM or 64 hex digits\)/);
    const m = verify(['--pubkey', join(dir, 'absent.pem')]);
    assert.equal(m.code, 65);
    assert.match(m.stderr, /^pvf: --pubkey .*absent\.pem: no such file\n$/);
  });

  it('the standard-tools route of the README verifies the real build', () => {
    const script = `
set -euo pipefail
cd "${dir}"
f="${BIN}"
L=$(tail -c 16 "$f" | head -c 4 | od -An -tu4 --endian=little | tr -d ' ')
T=$((L + 64 + 16))
tail -c "$T" "$f" | head -c "$L" > statement.json
tail -c $((64 + 16)) "$f" | head -c 64 > statement.sig
openssl pkeyutl -verify -pubin -inkey "${releasePub}" -rawin -in statement.json -sigfile statement.sig
head -c -"$T" "$f" | sha256sum | cut -d' ' -f1
objcopy --dump-section .pvf.manifest=manifest.bin "$f" /dev/null 2>/dev/null
sha256sum manifest.bin | cut -d' ' -f1
`;
    const r = spawnSync('bash', ['-c', script], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const [verified, fileSha, manifestSha] = r.stdout.trim().split('\n');
    assert.equal(verified, 'Signature Verified Successfully');
    const statement = JSON.parse(readFileSync(join(dir, 'statement.json'), 'utf8')) as { file: { sha256: string }; parts: Array<{ name: string; sha256: string }> };
    assert.equal(fileSha, statement.file.sha256);
    assert.equal(manifestSha, statement.parts.find((p) => p.name === '.pvf.manifest')!.sha256);
  });
});
