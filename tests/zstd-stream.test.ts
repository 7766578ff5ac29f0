/**
 * zstd streams as polkadot reads them. sp-maybe-compressed-blob (substrate/primitives/
 * maybe-compressed-blob/src/lib.rs, `decompress_zstd` + `read_from_decoder`) wraps zstd-rs's
 * `stream::read::Decoder` in `take(bomb_limit + 1)` and calls `read_to_end`. zstd-rs's
 * `stream/zio/reader.rs` feeds libzstd's ZSTD_decompressStream and re-initialises it after every
 * finished frame, so:
 * - every frame is decoded in turn; skippable frames are skipped (libzstd);
 * - the input must end exactly at the end of a frame: at end of input, `finish(.., finished_frame)`
 *   of the raw Decoder fails with "incomplete frame" unless a frame just finished, so an empty
 *   stream, a truncated frame and trailing bytes that are not a frame are all `Error::Invalid`;
 * - more than `limit` bytes of output is `PossibleBomb`, and it wins over a later error (the
 *   reader stops pulling at limit + 1 bytes);
 * - libzstd's streaming decoder refuses a window above 2^27 + 1 (ZSTD_WINDOWLOG_LIMIT_DEFAULT),
 *   except in its single-pass shortcut (a frame whose declared content size fits the output room
 *   of the read, see `firstReadRoom`).
 * The vectors are made with Debian's `zstd` CLI where one is on PATH (skipped with a message
 * otherwise) and by hand (raw and RLE blocks, skippable frames, headers).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobError, decompressAs, firstReadRoom, zstdFrames } from '../core/candidate/blob.ts';
import { concatBytes } from '../core/primitives/bytes.ts';
import { adderBlock, adderHead } from '../core/candidate/sample.ts';
import { encodePovFile } from '../core/candidate/codecs.ts';
import { toHex } from '../core/primitives/hex.ts';
import { REPO, pvf } from './support/pvfs.ts';
import { listSections } from '../engines/store/elf.ts';

const HAVE_ZSTD = spawnSync('zstd', ['--version']).status === 0;
const SKIP_ZSTD = HAVE_ZSTD ? false : 'the zstd CLI is not on PATH (Debian package zstd; .ci/run installs it): the CLI-made vectors need it';

const POV_PREFIX = Uint8Array.of(0x52, 0xbc, 0x53, 0x76, 0x46, 0xdb, 0x8e, 0x06);
const le32 = (n: number) => Uint8Array.of(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24);
const le24 = (n: number) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff];
const MAGIC = le32(0xfd2fb528);

/** A frame by hand: header with the given descriptor bytes, then blocks. */
function frame(descriptor: number[], blocks: Array<{ type: 0 | 1 | 2 | 3; body: Uint8Array; size?: number }>): Uint8Array {
  const parts: Uint8Array[] = [MAGIC, Uint8Array.from(descriptor)];
  blocks.forEach((b, k) => {
    const size = b.size ?? b.body.length;
    parts.push(Uint8Array.from(le24((size << 3) | (b.type << 1) | (k === blocks.length - 1 ? 1 : 0))), b.body);
  });
  return concatBytes(parts);
}
/** One single-segment frame of raw blocks holding `data` (content size in a 4-byte field). */
function rawFrame(data: Uint8Array): Uint8Array {
  const blocks: Array<{ type: 0; body: Uint8Array }> = [];
  for (let at = 0; at < data.length || blocks.length === 0; at += 100000) blocks.push({ type: 0, body: data.subarray(at, at + 100000) });
  return frame([0xa0, ...le32(data.length)], blocks);
}
/** A frame of RLE blocks: `count` copies of `byte`, no content size (window 2^20). */
function rleFrame(byte: number, count: number, descriptor: number[] = [0x00, 10 << 3]): Uint8Array {
  const blocks: Array<{ type: 1; body: Uint8Array; size: number }> = [];
  for (let left = count; left > 0; left -= 131072) blocks.push({ type: 1, body: Uint8Array.of(byte), size: Math.min(left, 131072) });
  return frame(descriptor, blocks);
}
/** A 3-byte block header of the reserved type (not the last block), with 3 bytes after it. */
const frameBlockHeaderReserved = () => Uint8Array.from([...le24((3 << 3) | (3 << 1)), 1, 2, 3]);
const cat2 = (a: Uint8Array, b: Uint8Array) => concatBytes([a, b]);
const skippable = (payload: Uint8Array, nibble = 0) => concatBytes([le32(0x184d2a50 + nibble), le32(payload.length), payload]);
const bytesOf = (s: string) => new TextEncoder().encode(s);

function cliCompress(data: Uint8Array, args: string[] = []): Uint8Array {
  const r = spawnSync('zstd', ['-q', '-c', ...args], { input: data, maxBuffer: 1 << 28 });
  assert.equal(r.status, 0, String(r.stderr));
  return new Uint8Array(r.stdout);
}

type Expect = { ok: Uint8Array } | 'invalid' | 'bomb';
interface Vector {
  name: string;
  stream: Uint8Array;
  limit: number;
  expect: Expect;
}

/** Vectors whose good outcome is `content`; made with the zstd CLI. */
function cliVectors(content: Uint8Array, limit: number): Vector[] {
  const cut = Math.max(1, Math.floor(content.length / 3));
  const a = content.subarray(0, cut);
  const b = content.subarray(cut);
  const one = cliCompress(content);
  const fa = cliCompress(a);
  const fb = cliCompress(b);
  const v: Vector[] = [
    { name: 'one frame', stream: one, limit, expect: { ok: content } },
    { name: 'two frames (cat a.zst b.zst)', stream: concatBytes([fa, fb]), limit, expect: { ok: content } },
    { name: 'a skippable frame first', stream: concatBytes([skippable(bytesOf('metadata')), one]), limit, expect: { ok: content } },
    { name: 'a skippable frame last', stream: concatBytes([one, skippable(new Uint8Array(0), 15)]), limit, expect: { ok: content } },
    { name: 'a skippable frame between two frames', stream: concatBytes([fa, skippable(new Uint8Array(300), 7), fb]), limit, expect: { ok: content } },
    { name: 'one frame without checksum', stream: cliCompress(content, ['--no-check']), limit, expect: { ok: content } },
    { name: 'trailing byte 0x00', stream: concatBytes([one, Uint8Array.of(0)]), limit, expect: 'invalid' },
    { name: '3 trailing bytes of a frame magic', stream: concatBytes([one, MAGIC.subarray(0, 3)]), limit, expect: 'invalid' },
    { name: '4 trailing bytes that are not a magic', stream: concatBytes([one, Uint8Array.of(1, 2, 3, 4)]), limit, expect: 'invalid' },
    { name: '100 trailing garbage bytes', stream: concatBytes([one, new Uint8Array(100).fill(0x5a)]), limit, expect: 'invalid' },
    { name: 'a second frame cut short', stream: concatBytes([fa, fb.subarray(0, fb.length - 1)]), limit, expect: 'invalid' },
    { name: 'a truncated skippable frame after a frame', stream: concatBytes([one, skippable(new Uint8Array(10)).subarray(0, 12)]), limit, expect: 'invalid' },
    { name: 'a frame with its checksum flipped', stream: Uint8Array.from(one, (x, k) => (k === one.length - 1 ? x ^ 1 : x)), limit, expect: 'invalid' },
  ];
  for (const at of [1, 3, 4, 5, 6, Math.floor(one.length / 2), one.length - 4, one.length - 1]) {
    v.push({ name: `one frame truncated to ${at} bytes`, stream: one.subarray(0, at), limit, expect: 'invalid' });
  }
  return v;
}

/** Vectors made by hand: limits, headers, windows. */
function handVectors(limit = 1 << 20): Vector[] {
  const text = bytesOf('x'.repeat(300));
  const wideWindow = (28 - 10) << 3; // window descriptor of 2^28 bytes
  return [
    { name: 'an empty stream', stream: new Uint8Array(0), limit, expect: 'invalid' },
    { name: 'a skippable frame alone', stream: skippable(bytesOf('only metadata')), limit, expect: { ok: new Uint8Array(0) } },
    { name: 'a frame of exactly the limit', stream: rleFrame(1, limit), limit, expect: { ok: new Uint8Array(limit).fill(1) } },
    { name: 'two frames of exactly the limit together', stream: concatBytes([rleFrame(1, 1000), rleFrame(1, limit - 1000)]), limit, expect: { ok: new Uint8Array(limit).fill(1) } },
    { name: 'two frames one byte over the limit together', stream: concatBytes([rleFrame(1, 1000), rleFrame(1, limit - 999)]), limit, expect: 'bomb' },
    { name: 'a bomb followed by garbage (the bomb is seen first)', stream: concatBytes([rleFrame(0, limit + 1), Uint8Array.of(9, 9, 9)]), limit, expect: 'bomb' },
    // 6 header bytes, then 4-byte RLE blocks of 128 KiB: 9 whole blocks (1.125 MiB) before the cut.
    { name: 'a bomb cut short (limit + 1 bytes arrive before the cut)', stream: rleFrame(0, 4 * limit).subarray(0, 6 + 4 * 9 + 2), limit, expect: 'bomb' },
    { name: 'a frame cut short before it reaches the limit', stream: rleFrame(0, 4 * limit).subarray(0, 6 + 4 * 7 + 2), limit, expect: 'invalid' },
    { name: 'garbage then a bomb (the garbage is seen first)', stream: concatBytes([Uint8Array.of(9, 9, 9, 9), rleFrame(0, 4 * limit)]), limit, expect: 'invalid' },
    { name: 'a raw-block frame', stream: rawFrame(text), limit, expect: { ok: text } },
    { name: 'the reserved header bit', stream: Uint8Array.from(rawFrame(text), (x, k) => (k === 4 ? x | 0x08 : x)), limit, expect: 'invalid' },
    { name: 'the reserved block type', stream: frame([0xa0, ...le32(3)], [{ type: 3, body: Uint8Array.of(1, 2, 3) }]), limit, expect: 'invalid' },
    {
      // libzstd reads a block header only after the blocks before it are delivered, and the reader
      // stops at limit + 1 bytes: 10 blocks (1.25 × limit) arrive before the bad header.
      name: 'a bomb whose next block has the reserved type (the bomb is seen first)',
      stream: cat2(rleFrame(0, 11 * (limit >> 3)).subarray(0, 6 + 4 * Math.ceil((10 * (limit >> 3)) / 131072)), frameBlockHeaderReserved()),
      limit,
      expect: 'bomb',
    },
    {
      name: 'a 2^28 window, content size unknown: beyond the streaming decoder\'s limit',
      stream: frame([0x00, wideWindow], [{ type: 0, body: text }]),
      limit,
      expect: 'invalid',
    },
    {
      // FCS 300 in a 2-byte field (value - 256); the blob is 311 bytes, so the first read has 311
      // bytes of room and libzstd takes its single-pass shortcut, which has no window check.
      name: 'a 2^28 window with a content size that fits the first read: single-pass, accepted',
      stream: frame([0x40, wideWindow, 300 - 256, 0], [{ type: 0, body: text }]),
      limit,
      expect: { ok: text },
    },
    {
      // The same content as one RLE block: the blob is 12 bytes, so Rust's read_to_end probes with
      // a 32-byte buffer, too small for 300 bytes: the streaming path refuses the window.
      name: 'a 2^28 window whose content does not fit the first read: refused',
      stream: frame([0x40, wideWindow, 300 - 256, 0], [{ type: 1, body: Uint8Array.of(0x78), size: 300 }]),
      limit,
      expect: 'invalid',
    },
    // Single segment: the window is the content size. Without the window check this would be a bomb.
    { name: 'a single-segment frame of 2^27 + 2 bytes: a window beyond the limit', stream: rleFrame(1, 2 ** 27 + 2, [0xa0, ...le32(2 ** 27 + 2)]), limit, expect: 'invalid' },
    { name: 'a single-segment frame of 2^27 + 1 bytes: the largest window, then a bomb', stream: rleFrame(1, 2 ** 27 + 1, [0xa0, ...le32(2 ** 27 + 1)]), limit, expect: 'bomb' },
  ];
}

async function outcome(stream: Uint8Array, limit: number): Promise<{ ok: Uint8Array } | 'invalid' | 'bomb'> {
  try {
    return { ok: (await decompressAs('pov', concatBytes([POV_PREFIX, stream]), limit)).bytes };
  } catch (e) {
    if (e instanceof BlobError) return e.kind;
    throw e;
  }
}

function check(v: Vector, got: Expect): void {
  if (typeof v.expect === 'string') {
    assert.equal(typeof got === 'string' ? got : 'ok', v.expect, v.name);
  } else {
    assert.ok(typeof got !== 'string', `${v.name}: expected output, got ${String(got)}`);
    assert.equal(toHex(got.ok), toHex(v.expect.ok), v.name);
  }
}

describe('zstd streams as sp-maybe-compressed-blob decodes them (in process)', () => {
  it('hand-made vectors: empty, skippable-only, limits across frames, bombs before and after errors, headers, windows', async () => {
    for (const v of handVectors()) check(v, await outcome(v.stream, v.limit));
  });

  it('first-read room follows Rust read_to_end: a 32-byte probe below 32 bytes, else min(len, 8 KiB), capped at limit + 1', () => {
    assert.equal(firstReadRoom(12, 1 << 20), 32);
    assert.equal(firstReadRoom(311, 1 << 20), 311);
    assert.equal(firstReadRoom(100000, 1 << 20), 8192);
    assert.equal(firstReadRoom(100000, 100), 101);
  });

  it('frames are delimited by their headers; the walk stops at the first problem', () => {
    const s = concatBytes([skippable(bytesOf('m')), rawFrame(bytesOf('abc')), Uint8Array.of(7)]);
    const frames = [...zstdFrames(s)];
    assert.deepEqual(
      frames.map((f) => [f.kind, f.start, f.end, f.problem === undefined]),
      [
        ['skippable', 0, 9, true],
        ['zstd', 9, 9 + 4 + 1 + 4 + 3 + 3, true],
        ['zstd', 24, 25, false],
      ],
    );
  });

  it('CLI-made vectors: multi-frame, skippable, truncated at 8 points, trailing bytes, bad checksum', { skip: SKIP_ZSTD }, async () => {
    const content = bytesOf(Array.from({ length: 20000 }, (_, k) => `line ${k}\n`).join(''));
    const vectors = cliVectors(content, 1 << 24);
    assert.ok(vectors.length >= 20);
    for (const v of vectors) check(v, await outcome(v.stream, v.limit));
  });

  it('libzstd\'s own CLI agrees on every CLI-made vector (an independent decoder of the same frames)', { skip: SKIP_ZSTD }, async () => {
    // `zstd -t` tests a stream with the same libzstd rules (multi-frame, skippable, checksum,
    // truncation, trailing bytes), independent of our frame walker.
    const content = bytesOf('abcdefgh'.repeat(5000));
    const dir = mkdtempSync(join(tmpdir(), 'pvf-zstd-'));
    try {
      for (const v of cliVectors(content, 1 << 24)) {
        const f = join(dir, 'v.zst');
        writeFileSync(f, v.stream);
        const cli = spawnSync('zstd', ['-q', '-t', f]).status === 0 ? 'ok' : 'invalid';
        const ours = await outcome(v.stream, v.limit);
        assert.equal(typeof ours === 'string' ? ours : 'ok', cli, v.name);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const BIN = join(REPO, 'dist', 'pvf');
const BUILT = existsSync(BIN) && listSections(BIN).some((s) => s.name === '.pvf.manifest');
const SKIP_BIN = !BUILT ? 'dist/pvf is not built (run npm run build): the node:zlib decoder path runs in the binary' : SKIP_ZSTD;

describe('zstd streams in dist/pvf (node:zlib\'s decoder): PoVs of the adder', { skip: SKIP_BIN }, () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'pvf-zstd-bin-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('the same verdict as the rules above for every CLI vector, and the adder block decoded from several frames is valid', async () => {
    const code = join(dir, 'adder.wasm');
    writeFileSync(code, await pvf('adder'));
    const block = adderBlock(0n, 7n);
    const pvd = { parentHead: adderHead(0n, new Uint8Array(32), 0n), relayParentNumber: 1, relayParentStorageRoot: new Uint8Array(32), maxPovSize: 5 * 1024 * 1024 };
    const vectors = [...cliVectors(block, 40 * 1024 * 1024), ...handVectors(40 * 1024 * 1024).filter((v) => /empty|alone|bomb followed|reserved/.test(v.name))];
    for (const v of vectors) {
      const file = join(dir, 'c.pov');
      writeFileSync(file, encodePovFile({ blockData: concatBytes([POV_PREFIX, v.stream]) }, pvd));
      const r = spawnSync(BIN, ['validate', '--code', code, '--pov-file', file, '--json'], { encoding: 'utf8', env: { ...process.env, CI: '1', PVF_CACHE_DIR: join(dir, 'cache') } });
      const doc = JSON.parse(r.stdout) as { verdict: string; reason?: string; detail?: string };
      if (typeof v.expect === 'string') {
        assert.deepEqual([r.status, doc.verdict, doc.reason], [1, 'invalid', 'pov-decompression'], `${v.name}: ${r.stdout}`);
        assert.match(doc.detail ?? '', v.expect === 'bomb' ? /bomb limit/ : /malformed zstd stream/, v.name);
      } else if (v.expect.ok.length === block.length) {
        assert.deepEqual([r.status, doc.verdict], [0, 'valid'], `${v.name}: ${r.stdout}`);
      } else {
        // Decompressed fine, to something that is not an adder block: the PVF itself rejects it.
        assert.deepEqual([r.status, doc.verdict, doc.reason], [1, 'invalid', 'execution-error'], `${v.name}: ${r.stdout}`);
      }
    }
  });

  it('precheck refuses code with trailing bytes after its frame, and accepts the same code without them', async () => {
    const wasm = await pvf('adder');
    const good = concatBytes([Uint8Array.of(0x52, 0xbc, 0x53, 0x76, 0x46, 0xdb, 0x8e, 0x07), cliCompress(wasm)]);
    const f = join(dir, 'code.zst');
    writeFileSync(f, good);
    const ok = spawnSync(BIN, ['precheck', '--code', f, '--json'], { encoding: 'utf8', env: { ...process.env, CI: '1', PVF_CACHE_DIR: join(dir, 'cache') } });
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);
    writeFileSync(f, concatBytes([good, Uint8Array.of(0)]));
    const bad = spawnSync(BIN, ['precheck', '--code', f, '--json'], { encoding: 'utf8', env: { ...process.env, CI: '1', PVF_CACHE_DIR: join(dir, 'cache') } });
    assert.equal(bad.status, 1, bad.stdout + bad.stderr);
    assert.match(bad.stdout, /code-decompression/);
  });
});
