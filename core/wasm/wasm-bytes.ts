/**
 * The byte cursor every reader of Wasm binaries in core/ shares (module facts, the feature gate,
 * prepare's rewrites, the instrumentation). Each caller names the error type its failures become.
 */
export class WasmByteReader {
  pos: number;
  constructor(
    readonly b: Uint8Array,
    start: number,
    readonly end: number,
    private readonly makeError: (message: string) => Error,
  ) {
    this.pos = start;
  }
  fail(msg: string): never {
    throw this.makeError(`${msg} (at byte ${this.pos})`);
  }
  byte(): number {
    if (this.pos >= this.end) this.fail('unexpected end');
    return this.b[this.pos++];
  }
  /** Unsigned LEB128 u32 (at most 5 bytes, value < 2^32). */
  u32(): number {
    let result = 0;
    let shift = 0;
    for (let k = 0; k < 5; k++) {
      const x = this.byte();
      result += (x & 0x7f) * 2 ** shift;
      if ((x & 0x80) === 0) {
        if (result > 0xffffffff) this.fail('u32 out of range');
        return result;
      }
      shift += 7;
    }
    return this.fail('LEB128 number too long');
  }
  /** Skip a LEB128 number of at most `maxBytes` bytes. */
  skipLeb(maxBytes: number): void {
    for (let k = 0; k < maxBytes; k++) if ((this.byte() & 0x80) === 0) return;
    this.fail('LEB128 number too long');
  }
  skip(n: number): void {
    if (this.pos + n > this.end) this.fail('unexpected end');
    this.pos += n;
  }
}

/** One section of a module: its id, where its header starts, where its body starts and ends. */
export interface WasmSection {
  id: number;
  head: number;
  start: number;
  end: number;
}

/**
 * The one section walker: every section after the 8-byte header, in order, each checked to end
 * within the module. Failures become the caller's error type.
 */
export function* wasmSections(b: Uint8Array, makeError: (message: string) => Error): Generator<WasmSection> {
  const r = new WasmByteReader(b, 8, b.length, makeError);
  while (r.pos < b.length) {
    const head = r.pos;
    const id = r.byte();
    const size = r.u32();
    const start = r.pos;
    if (start + size > b.length) r.fail(`section ${id} runs past the end of the module`);
    yield { id, head, start, end: start + size };
    r.pos = start + size;
  }
}
