/**
 * An engine's raw bytes: a small archive of the files it needs (a node binary and a worker script,
 * or an interpreter and its glue). Layout: "PVFENG1\n", u32 LE length of a JSON index, the index
 * ({files: [{name, size, sha256, mode}]}), then the files back to back.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';

export const PAYLOAD_MAGIC = Buffer.from('PVFENG1\n', 'latin1');

export interface PayloadFile {
  name: string;
  size: number;
  sha256: string;
  mode: number;
}

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** sha256 of a file read in 1 MiB chunks (an engine's node binary is 125 MB: never read it whole). */
export function sha256OfFile(path: string): string {
  const h = createHash('sha256');
  const buf = Buffer.allocUnsafe(1 << 20);
  const fd = openSync(path, 'r');
  try {
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) h.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}

export function packPayload(files: Array<{ name: string; data: Uint8Array; mode: number }>): Buffer {
  const index = {
    files: files.map((f) => ({ name: f.name, size: f.data.length, sha256: sha256Hex(f.data), mode: f.mode })),
  };
  const json = Buffer.from(JSON.stringify(index), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(json.length);
  return Buffer.concat([PAYLOAD_MAGIC, len, json, ...files.map((f) => Buffer.from(f.data.buffer, f.data.byteOffset, f.data.byteLength))]);
}
