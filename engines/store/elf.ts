/**
 * Read named sections of an ELF64 little-endian file (the pvf binary carries each engine as its own
 * section `.pvf.<id>`). Only the section header table and the requested section are read, never
 * the whole file.
 */
import { closeSync, openSync, readSync } from 'node:fs';

export class ElfError extends Error {
  override readonly name = 'ElfError';
}

export interface ElfSection {
  name: string;
  offset: number;
  size: number;
}

/** Exactly `length` bytes at `offset` of an open file (ElfError at an early end). */
export function readAt(fd: number, offset: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buf, done, length - done, offset + done);
    if (n === 0) throw new ElfError(`unexpected end of file at ${offset + done}`);
    done += n;
  }
  return buf;
}

export function listSections(path: string): ElfSection[] {
  const fd = openSync(path, 'r');
  try {
    const eh = readAt(fd, 0, 64);
    if (eh.readUInt32BE(0) !== 0x7f454c46) throw new ElfError(`${path} is not an ELF file`);
    if (eh[4] !== 2 || eh[5] !== 1) throw new ElfError(`${path} is not a little-endian ELF64 file`);
    const shoff = Number(eh.readBigUInt64LE(0x28));
    const shentsize = eh.readUInt16LE(0x3a);
    const shnum = eh.readUInt16LE(0x3c);
    const shstrndx = eh.readUInt16LE(0x3e);
    if (shentsize !== 64 || shnum === 0 || shstrndx >= shnum) throw new ElfError(`${path}: unexpected section header table`);
    const table = readAt(fd, shoff, shnum * shentsize);
    const header = (k: number) => {
      const at = k * shentsize;
      return {
        nameOff: table.readUInt32LE(at),
        offset: Number(table.readBigUInt64LE(at + 0x18)),
        size: Number(table.readBigUInt64LE(at + 0x20)),
      };
    };
    const strtab = header(shstrndx);
    const names = readAt(fd, strtab.offset, strtab.size);
    const out: ElfSection[] = [];
    for (let k = 0; k < shnum; k++) {
      const h = header(k);
      const end = names.indexOf(0, h.nameOff);
      out.push({ name: names.toString('latin1', h.nameOff, end < 0 ? names.length : end), offset: h.offset, size: h.size });
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

export function readSection(path: string, section: ElfSection): Buffer {
  const fd = openSync(path, 'r');
  try {
    return readAt(fd, section.offset, section.size);
  } finally {
    closeSync(fd);
  }
}
