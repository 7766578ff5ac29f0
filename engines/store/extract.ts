/**
 * Streamed extraction of one engine: its section is read from the binary in 1 MiB chunks, hashed
 * as it is read, decompressed as a stream, hashed again, split into the payload's files (layout in
 * payload.ts) and written straight to a temporary directory, each file hashed and fsynced. Nothing
 * holds the whole section or payload in memory. The caller renames the directory into place only
 * when this returns, that is when every hash and size matched the manifest.
 */
import { createHash, type Hash } from 'node:crypto';
import { chmodSync, closeSync, fsyncSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, type Transform } from 'node:stream';
import zlib from 'node:zlib';
import type { ElfSection } from './elf.ts';
import type { EngineEntry, EngineFileEntry } from './manifest.ts';
import { PAYLOAD_MAGIC } from './payload.ts';

const CHUNK = 1 << 20;

/** What went wrong, for the caller to word: the section does not match, or the payload does not. */
export class ExtractError extends Error {
  override readonly name = 'ExtractError';
  constructor(
    readonly part: 'section' | 'payload',
    message: string,
  ) {
    super(message);
  }
}

/** The section's bytes in chunks, each hashed as it is read. */
function* sectionChunks(fd: number, s: ElfSection, hash: Hash): Generator<Buffer> {
  for (let at = 0; at < s.size; ) {
    const buf = Buffer.allocUnsafe(Math.min(CHUNK, s.size - at));
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, s.offset + at + got);
      if (n === 0) throw new ExtractError('section', `unexpected end of the binary in section ${s.name}`);
      got += n;
    }
    hash.update(buf);
    at += buf.length;
    yield buf;
  }
}

type StreamDecoder = { decodeStreaming(chunks: Iterable<Uint8Array>): Generator<Uint8Array> };
let zstddec: Promise<StreamDecoder> | undefined;

/** zstd as a stream: node:zlib where it has zstd (Node ≥ 22.15, the built binary), else zstddec. */
async function* zstdStream(chunks: Iterable<Buffer>): AsyncGenerator<Uint8Array> {
  const native = (zlib as unknown as { createZstdDecompress?: (o: { chunkSize: number }) => Transform }).createZstdDecompress;
  if (typeof native === 'function') {
    const z = native({ chunkSize: CHUNK });
    Readable.from(chunks).on('error', (e: Error) => z.destroy(e)).pipe(z);
    for await (const out of z) yield out as Buffer;
    return;
  }
  zstddec ??= import('zstddec/stream').then(async (m) => {
    const d = new m.ZSTDDecoder();
    await d.init();
    return d as StreamDecoder;
  });
  // zstddec does not check libzstd's error codes: an error shows as a decoder making no progress.
  let empty = 0;
  for (const out of (await zstddec).decodeStreaming(chunks)) {
    if (out.length > 0) empty = 0;
    else if (++empty > 1000) throw new Error('malformed zstd stream: the decoder makes no progress');
    yield out;
  }
}

/** One payload file being written: its descriptor, hash and how much is still to come. */
interface Open {
  entry: EngineFileEntry;
  fd: number;
  hash: Hash;
  left: number;
}

/**
 * Extract engine `e` from `section` of `binary` into the existing empty directory `dir`. Throws
 * ExtractError when the section or the payload does not match the manifest; I/O errors as they are.
 */
export async function extractEngineTo(binary: string, section: ElfSection, e: EngineEntry, dir: string): Promise<void> {
  const sectionHash = createHash('sha256');
  const payloadHash = createHash('sha256');
  const fd = openSync(binary, 'r');
  let head = Buffer.alloc(0);
  let index: EngineFileEntry[] | undefined;
  let next = 0;
  let file: Open | undefined;
  let total = 0;
  const finish = (f: Open): void => {
    fsyncSync(f.fd);
    closeSync(f.fd);
    if (f.hash.digest('hex') !== f.entry.sha256) throw new ExtractError('payload', `file ${f.entry.name} does not match the manifest`);
    chmodSync(join(dir, f.entry.name), f.entry.mode & 0o500);
  };
  try {
    try {
      for await (const out of zstdStream(sectionChunks(fd, section, sectionHash))) {
        total += out.length;
        if (total > e.size) throw new ExtractError('payload', `the payload is larger than the manifest's ${e.size} bytes`);
        payloadHash.update(out);
        let chunk = Buffer.from(out.buffer, out.byteOffset, out.byteLength);
        if (!index) {
          head = Buffer.concat([head, chunk]);
          if (head.length < 12) continue;
          if (!head.subarray(0, 8).equals(PAYLOAD_MAGIC)) throw new ExtractError('payload', 'not an engine payload');
          const len = head.readUInt32LE(8);
          if (head.length < 12 + len) continue;
          index = (JSON.parse(head.toString('utf8', 12, 12 + len)) as { files: EngineFileEntry[] }).files;
          if (JSON.stringify(index) !== JSON.stringify(e.files)) throw new ExtractError('payload', "the payload's file index differs from the manifest");
          chunk = head.subarray(12 + len);
        }
        while (chunk.length > 0) {
          if (!file) {
            const entry = index[next++];
            if (!entry) throw new ExtractError('payload', 'bytes after the last file');
            file = { entry, fd: openSync(join(dir, entry.name), 'wx', 0o600), hash: createHash('sha256'), left: entry.size };
          }
          const part = chunk.subarray(0, file.left);
          for (let at = 0; at < part.length; ) at += writeSync(file.fd, part, at, part.length - at);
          file.hash.update(part);
          file.left -= part.length;
          chunk = chunk.subarray(part.length);
          if (file.left === 0) {
            const done = file;
            file = undefined;
            finish(done);
          }
        }
      }
    } catch (err) {
      // A damaged section can break the decompressor before its hash is complete: say which it was.
      if (!(err instanceof ExtractError) || err.part === 'payload') {
        const check = createHash('sha256');
        for (const chunk of sectionChunks(fd, section, check)) void chunk;
        if (check.digest('hex') !== e.compressedSha256) throw new ExtractError('section', `section ${section.name} does not match the manifest (sha256 mismatch)`);
      }
      throw err;
    }
    if (section.size !== e.compressedSize || sectionHash.digest('hex') !== e.compressedSha256) {
      throw new ExtractError('section', `section ${section.name} does not match the manifest (sha256 mismatch)`);
    }
    // Files of size 0 never receive a chunk.
    while (index && next < index.length && index[next].size === 0) {
      const entry = index[next++];
      finish({ entry, fd: openSync(join(dir, entry.name), 'wx', 0o600), hash: createHash('sha256'), left: 0 });
    }
    if (total !== e.size || payloadHash.digest('hex') !== e.sha256 || file || !index || next !== index.length) {
      throw new ExtractError('payload', 'the payload does not match the manifest');
    }
  } finally {
    if (file) closeSync(file.fd);
    closeSync(fd);
  }
}
