/**
 * A kept-alive worker's request framing (engines/protocol.ts workerMain --serve): u32 LE length,
 * then the request. However the bytes arrive (one byte at a time, several frames in one write, a
 * length prefix split across writes, a 6 MB frame in small pieces), each request is answered once,
 * in order, with exactly its own bytes.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { encodeRequest, frameRequest } from '../engines/protocol.ts';
import { REPO } from './support/pvfs.ts';

const TSX = import.meta.resolve('tsx');

describe('kept-alive worker framing', () => {
  let dir = '';
  let script = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'pvf-framing-'));
    script = join(dir, 'echo.mts');
    // Answers each request with the sha256 of its code bytes as the raw output.
    writeFileSync(
      script,
      `import { createHash } from 'node:crypto';
import { decodeRequest, workerMain } from ${JSON.stringify(`${REPO}engines/protocol.ts`)};
workerMain(async (req) => {
  const { code } = decodeRequest(req);
  return { ok: true, raw: createHash('sha256').update(code).digest('hex'), logs: [], timings: {} };
});
`,
    );
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('answers every frame once, in order, whatever the write boundaries', async () => {
    const codes = [new Uint8Array(0), Uint8Array.of(1, 2, 3), new Uint8Array(6 * 1024 * 1024).map((_, k) => k * 7), Uint8Array.of(9)];
    const frames = codes.map((c) => frameRequest(encodeRequest(c, new Uint8Array(0), { maxPages: 1, timeoutMs: 1000 })));
    const all = Buffer.concat(frames);
    // Writes: the first frame a byte at a time, then pieces of odd sizes across frame boundaries.
    const pieces: Buffer[] = [];
    let at = 0;
    for (; at < frames[0].length; at++) pieces.push(all.subarray(at, at + 1));
    for (const size of [3, 1, 4093, 65537, 7]) {
      pieces.push(all.subarray(at, at + size));
      at += size;
    }
    while (at < all.length) {
      pieces.push(all.subarray(at, at + 99991));
      at += 99991;
    }
    const child = spawn(process.execPath, ['--import', TSX, script, '--serve'], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    for (const p of pieces) {
      child.stdin.write(p);
      await new Promise((r) => setImmediate(r));
    }
    child.stdin.end();
    await new Promise((r) => child.once('close', r));
    const answers = out.trim().split('\n').map((l) => (JSON.parse(l) as { raw: string }).raw);
    assert.deepEqual(
      answers,
      codes.map((c) => createHash('sha256').update(c).digest('hex')),
    );
  });
});
