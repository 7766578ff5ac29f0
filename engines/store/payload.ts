/**
 * An engine's raw bytes: a small archive of the files it needs (a node binary and a worker script,
 * or an interpreter and its glue). Layout: "PVFENG1\n", u32 LE length of a JSON index, the index
 * ({files: [{name, size, sha256, mode}]}), then the files back to back.
 */
import { createHash } from 'node:crypto';

const MAGIC = Buffer.from('PVFENG1\n', 'latin1');

export interface PayloadFile {
  name: string;
  size: number;
  sha256: string;
  mode: number;
}

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export function packPayload(files: Array<{ name: string; data: Uint8Array; mode: number }>): Buffer {
  const index = {
    files: files.map((f) => ({ name: f.name, size: f.data.length, sha256: sha256Hex(f.data), mode: f.mode })),
  };
  const json = Buffer.from(JSON.stringify(index), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(json.length);
  return Buffer.concat([MAGIC, len, json, ...files.map((f) => Buffer.from(f.data.buffer, f.data.byteOffset, f.data.byteLength))]);
}

export function unpackPayload(payload: Buffer): Array<PayloadFile & { data: Buffer }> {
  if (payload.length < 12 || !payload.subarray(0, 8).equals(MAGIC)) throw new Error('not an engine payload');
  const len = payload.readUInt32LE(8);
  const index = JSON.parse(payload.toString('utf8', 12, 12 + len)) as { files: PayloadFile[] };
  let at = 12 + len;
  return index.files.map((f) => {
    const data = payload.subarray(at, at + f.size);
    at += f.size;
    if (data.length !== f.size || sha256Hex(data) !== f.sha256) throw new Error(`engine payload file ${f.name} is corrupt`);
    if (!/^[A-Za-z0-9._-]+$/.test(f.name)) throw new Error(`engine payload file name ${JSON.stringify(f.name)} is not allowed`);
    return { ...f, data };
  });
}
