// Tests for engines/v8/host/allocator.ts. Every expected value is derived by hand from
// the rules of Substrate's freeing-bump allocator (see the comment block at the
// top of engines/v8/host/allocator.ts); the arithmetic is written next to each assertion.
//
// Reminders used throughout:
//   block of order k = 8-byte header + (8 << k) payload bytes
//   order(size) = log2(nextPow2(max(size, 8))) - 3
//   returned pointer = header address + 8
//   occupied header = [order LE u32][01 00 00 00]
//   free header     = [next header LE u32, or ff ff ff ff][00 00 00 00]

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import {
  AllocatorError,
  FreeingBumpAllocator,
  MAX_POSSIBLE_ALLOCATION,
  PAGE_SIZE,
  wasmMemory,
  type AllocatorErrorKind,
  type HeapMemory,
  type WasmMemoryLike,
} from '../engines/v8/host/allocator.ts';

// The project's type setup has no `WebAssembly` namespace; reach the runtime's
// constructor through globalThis with just the shape these tests use.
const { WebAssembly } = globalThis as unknown as {
  WebAssembly: { Memory: new (descriptor: { initial: number; maximum?: number }) => WasmMemoryLike };
};

/** In-memory double that records every grow request. */
class FakeMemory implements HeapMemory {
  data: Uint8Array;
  readonly max: number | undefined;
  readonly growCalls: number[] = [];
  refuseGrow = false;

  constructor(pages: number, max?: number) {
    this.data = new Uint8Array(pages * PAGE_SIZE);
    this.max = max;
  }
  bytes(): Uint8Array {
    return this.data;
  }
  pages(): number {
    return this.data.length / PAGE_SIZE;
  }
  maxPages(): number | undefined {
    return this.max;
  }
  grow(deltaPages: number): boolean {
    this.growCalls.push(deltaPages);
    if (this.refuseGrow || this.pages() + deltaPages > (this.max ?? 65536)) return false;
    const next = new Uint8Array((this.pages() + deltaPages) * PAGE_SIZE);
    next.set(this.data);
    this.data = next;
    return true;
  }
  shrinkTo(pages: number): void {
    this.data = this.data.slice(0, pages * PAGE_SIZE);
  }
}

function header(mem: HeapMemory, at: number): number[] {
  return Array.from(mem.bytes().subarray(at, at + 8));
}

function setBytes(mem: HeapMemory, at: number, bytes: number[]): void {
  mem.bytes().set(bytes, at);
}

function throwsKind(fn: () => unknown, kind: AllocatorErrorKind, reason?: string): AllocatorError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof AllocatorError, `expected AllocatorError, got ${String(caught)}`);
  assert.equal(caught.kind, kind);
  if (reason !== undefined) assert.equal(caught.reason, reason);
  return caught;
}

const OCCUPIED = (order: number): number[] => [order, 0, 0, 0, 1, 0, 0, 0];
const FREE_NIL = [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0];
const FREE_TO = (link: number): number[] => [
  link & 0xff,
  (link >>> 8) & 0xff,
  (link >>> 16) & 0xff,
  (link >>> 24) & 0xff,
  0,
  0,
  0,
  0,
];

describe('heap base alignment and first address', () => {
  const cases: Array<[heapBase: number, expected: number, why: string]> = [
    [0, 8, 'base 0 -> header at 0 -> ptr 0 + 8'],
    [1, 16, 'base 1 rounds up to 8 -> ptr 8 + 8'],
    [13, 24, 'base 13 rounds up to 16 -> ptr 16 + 8'],
    [16, 24, 'base 16 already aligned -> ptr 16 + 8'],
    [17, 32, 'base 17 rounds up to 24 -> ptr 24 + 8'],
    [1024, 1032, 'base 1024 aligned -> ptr 1024 + 8'],
    [0xfffffffd, 8, 'ceil(0xfffffffd / 8) * 8 = 2^32, wraps to 0 in u32 -> ptr 8'],
  ];
  for (const [base, expected, why] of cases) {
    it(`heapBase ${base}: ${why}`, () => {
      const mem = new FakeMemory(1);
      const a = new FreeingBumpAllocator(base);
      assert.equal(a.allocate(mem, 1), expected);
    });
  }

  it('heapBase is reported aligned', () => {
    assert.equal(new FreeingBumpAllocator(13).heapBase, 16);
    assert.equal(new FreeingBumpAllocator(0xfffffff8).heapBase, 0xfffffff8);
  });
});

describe('bumping and rounding', () => {
  it('successive blocks are laid out back to back', () => {
    const mem = new FakeMemory(1);
    const a = new FreeingBumpAllocator(0);
    // 1 -> order 0 (8 B): header 0, ptr 8, bumper 0 + 16 = 16
    assert.equal(a.allocate(mem, 1), 8);
    // 9 -> 16 B, order 1: header 16, ptr 24, bumper 16 + 24 = 40
    assert.equal(a.allocate(mem, 9), 24);
    // 1 -> order 0: header 40, ptr 48, bumper 56
    assert.equal(a.allocate(mem, 1), 48);
    // 100 -> 128 B, order 4: header 56, ptr 64, bumper 56 + 136 = 192
    assert.equal(a.allocate(mem, 100), 64);
    // 128 -> exactly 128, order 4: header 192, ptr 200
    assert.equal(a.allocate(mem, 128), 200);
    // 129 -> 256, order 5: header 200 + 128 = 328, ptr 336
    assert.equal(a.allocate(mem, 129), 336);
  });

  it('zero-size allocation takes a full 8-byte block', () => {
    const mem = new FakeMemory(1);
    const a = new FreeingBumpAllocator(0);
    // 0 is clamped to 8 -> order 0; header 0, ptr 8
    assert.equal(a.allocate(mem, 0), 8);
    assert.deepEqual(header(mem, 0), OCCUPIED(0));
    // next block after 8 + 8 bytes: header 16, ptr 24
    assert.equal(a.allocate(mem, 0), 24);
    assert.equal(a.stats.bytesAllocated, 32); // 2 * (8 + 8)
  });
});

describe('header bytes', () => {
  it('occupied headers carry the order and bit 32', () => {
    const mem = new FakeMemory(1);
    const a = new FreeingBumpAllocator(0);
    a.allocate(mem, 1); // header 0, order 0
    a.allocate(mem, 100); // 100 -> 128 = 8 << 4: order 4, header 16
    a.allocate(mem, 4096); // 4096 = 8 << 9: order 9, header 16 + 8 + 128 = 152
    assert.deepEqual(header(mem, 0), [0, 0, 0, 0, 1, 0, 0, 0]);
    assert.deepEqual(header(mem, 16), [4, 0, 0, 0, 1, 0, 0, 0]);
    assert.deepEqual(header(mem, 152), [9, 0, 0, 0, 1, 0, 0, 0]);
  });

  it('freed headers hold the previous list head, nil = ff ff ff ff', () => {
    const mem = new FakeMemory(1);
    const a = new FreeingBumpAllocator(0);
    const p1 = a.allocate(mem, 8); // header 0
    const p2 = a.allocate(mem, 8); // header 16
    const p3 = a.allocate(mem, 8); // header 32
    a.deallocate(mem, p1); // list: 0 -> nil
    assert.deepEqual(header(mem, 0), FREE_NIL);
    a.deallocate(mem, p2); // list: 16 -> 0 -> nil
    assert.deepEqual(header(mem, 16), FREE_TO(0));
    a.deallocate(mem, p3); // list: 32 -> 16 -> 0
    assert.deepEqual(header(mem, 32), FREE_TO(16));
    // payload bytes untouched by free
    assert.equal(mem.bytes()[8], 0);
  });

  it('a free link above 255 is little-endian', () => {
    const mem = new FakeMemory(1);
    const a = new FreeingBumpAllocator(0x1230);
    const p1 = a.allocate(mem, 8); // header 0x1230
    const p2 = a.allocate(mem, 8); // header 0x1240
    a.deallocate(mem, p1);
    a.deallocate(mem, p2);
    assert.deepEqual(header(mem, 0x1240), [0x30, 0x12, 0, 0, 0, 0, 0, 0]);
  });
});

describe('free-list reuse', () => {
  it('reuses a freed block of the same order, LIFO', () => {
    const mem = new FakeMemory(1);
    const a = new FreeingBumpAllocator(0);
    const p1 = a.allocate(mem, 8); // 8
    const p2 = a.allocate(mem, 8); // 24
    const p3 = a.allocate(mem, 8); // 40, bumper 48
    assert.deepEqual([p1, p2, p3], [8, 24, 40]);
    a.deallocate(mem, p1);
    a.deallocate(mem, p2); // list: header 16 -> header 0
    assert.equal(a.allocate(mem, 8), 24); // pops header 16
    assert.deepEqual(header(mem, 16), OCCUPIED(0));
    assert.equal(a.allocate(mem, 1), 8); // pops header 0 (size 1 is also order 0)
    assert.equal(a.allocate(mem, 8), 56); // list empty -> bump: header 48, ptr 56
  });

  it('all sizes that round to the same order share a list', () => {
    const mem = new FakeMemory(1);
    const a = new FreeingBumpAllocator(13); // base 16
    const p = a.allocate(mem, 9); // order 1: header 16, ptr 24
    assert.equal(p, 24);
    a.deallocate(mem, p);
    assert.equal(a.allocate(mem, 16), 24); // 16 is order 1 too
  });

  it('a freed block of a different order is not reused', () => {
    const mem = new FakeMemory(1);
    const a = new FreeingBumpAllocator(0);
    const p = a.allocate(mem, 8); // order 0: header 0, bumper 16
    a.deallocate(mem, p);
    // 9 -> order 1, its list is empty: bump, header 16, ptr 24
    assert.equal(a.allocate(mem, 9), 24);
    // 4 -> order 0, reuses header 0
    assert.equal(a.allocate(mem, 4), 8);
  });

  it('freeing in reverse order gives back the same pointers', () => {
    const mem = new FakeMemory(1);
    const a = new FreeingBumpAllocator(0);
    const ptrs = [0, 1, 2, 3].map(() => a.allocate(mem, 8)); // 8, 24, 40, 56
    assert.deepEqual(ptrs, [8, 24, 40, 56]);
    for (const p of [...ptrs].reverse()) a.deallocate(mem, p); // head ends at header 0
    assert.deepEqual([0, 1, 2, 3].map(() => a.allocate(mem, 8)), [8, 24, 40, 56]);
  });
});

describe('size limits', () => {
  it('the maximum allocation succeeds and grows memory to 513 pages', () => {
    const wasm = new WebAssembly.Memory({ initial: 1, maximum: 1024 });
    const mem = wasmMemory(wasm, 1024);
    const a = new FreeingBumpAllocator(0);
    // 2^25 is order 22; block = 2^25 + 8 bytes, so bumper 0 needs 33554440 bytes
    // = 512 pages + 8 bytes -> 513 pages. Doubling 1 page gives 2 < 513, so 513.
    assert.equal(a.allocate(mem, MAX_POSSIBLE_ALLOCATION), 8);
    assert.equal(wasm.buffer.byteLength, 513 * PAGE_SIZE);
    assert.deepEqual(header(mem, 0), OCCUPIED(22)); // 22 = 0x16
  });

  it('max + 1 fails with RequestedAllocationTooLarge and poisons', () => {
    const mem = new FakeMemory(1);
    const a = new FreeingBumpAllocator(0);
    const err = throwsKind(() => a.allocate(mem, MAX_POSSIBLE_ALLOCATION + 1), 'RequestedAllocationTooLarge');
    assert.equal(err.upstream, 'RequestedAllocationTooLarge');
    assert.deepEqual(mem.growCalls, []);
    throwsKind(() => a.allocate(mem, 1), 'Poisoned');
  });

  it('a negative i32 size means a huge u32 size', () => {
    const mem = new FakeMemory(1);
    const a = new FreeingBumpAllocator(0);
    throwsKind(() => a.allocate(mem, -1), 'RequestedAllocationTooLarge'); // -1 -> 0xffffffff
  });

  it('offchain context accepts up to 2^31 bytes', () => {
    const mem = new FakeMemory(1, 1);
    const off = new FreeingBumpAllocator(0, { context: 'offchain' });
    // 2^25 + 1 is order 23 there: not too large, but does not fit one page
    throwsKind(() => off.allocate(mem, MAX_POSSIBLE_ALLOCATION + 1), 'OutOfSpace');
    const off2 = new FreeingBumpAllocator(0, { context: 'offchain' });
    throwsKind(() => off2.allocate(mem, 2 ** 31 + 1), 'RequestedAllocationTooLarge');
  });
});

describe('memory growth', () => {
  it('grows to the required page count when that exceeds doubling', () => {
    const mem = new FakeMemory(1);
    const a = new FreeingBumpAllocator(0);
    // 131072 = 2^17 -> order 14; needs 131080 bytes -> 3 pages; min(2*1, 65536) = 2 < 3
    assert.equal(a.allocate(mem, 2 * PAGE_SIZE), 8);
    assert.deepEqual(mem.growCalls, [2]);
    assert.equal(mem.pages(), 3);
  });

  it('prefers doubling the page count', () => {
    const mem = new FakeMemory(4);
    const a = new FreeingBumpAllocator(0);
    // first 2^17 block: header 0, bumper 131080 (fits in 262144)
    assert.equal(a.allocate(mem, 131072), 8);
    assert.deepEqual(mem.growCalls, []);
    // second: required 131080 + 131080 = 262160 > 262144 -> 5 pages needed;
    // target max(min(8, 65536), 5) = 8 -> grow by 4
    assert.equal(a.allocate(mem, 131072), 131088); // 131080 + 8
    assert.deepEqual(mem.growCalls, [4]);
    assert.equal(mem.pages(), 8);
  });

  it('doubling is capped by the maximum', () => {
    const mem = new FakeMemory(4, 6);
    const a = new FreeingBumpAllocator(0);
    a.allocate(mem, 131072);
    // required 5 pages; target max(min(8, 6), 5) = 6 -> grow by 2
    assert.equal(a.allocate(mem, 131072), 131088);
    assert.deepEqual(mem.growCalls, [2]);
  });

  it('a block ending exactly at the end of memory needs no growth', () => {
    const mem = new FakeMemory(1, 1);
    const b = new FreeingBumpAllocator(PAGE_SIZE - 16); // base 65520
    // order 0 block is 16 bytes: 65520 + 16 = 65536, not > 65536 -> fits
    assert.equal(b.allocate(mem, 8), 65528);
    assert.deepEqual(mem.growCalls, []);
    // next one would need 65552 -> 2 pages but max is 1 -> OutOfSpace
    throwsKind(() => b.allocate(mem, 8), 'OutOfSpace');
    assert.deepEqual(mem.growCalls, []);
  });

  it('uses memory grown by the runtime between calls (real WebAssembly.Memory)', () => {
    const wasm = new WebAssembly.Memory({ initial: 1, maximum: 16 });
    const mem = wasmMemory(wasm, 16);
    const a = new FreeingBumpAllocator(0);
    assert.equal(a.allocate(mem, 32760), 8); // order 12, bumper 32776
    wasm.grow(3); // runtime's own memory.grow: now 4 pages = 262144 bytes
    // 65536 -> order 13, block 65544: required 98320 <= 262144, no growth
    assert.equal(a.allocate(mem, 65536), 32784); // 32776 + 8
    // 131072 -> block 131080: required 229400 <= 262144, no growth
    assert.equal(a.allocate(mem, 131072), 98328); // 98320 + 8
    // 65536 again (list empty): required 229400 + 65544 = 294944 -> 5 pages;
    // doubling is computed from the current 4 pages: max(min(8, 16), 5) = 8
    assert.equal(a.allocate(mem, 65536), 229408);
    assert.equal(wasm.buffer.byteLength, 8 * PAGE_SIZE);
    assert.deepEqual(header(mem, 229400), OCCUPIED(13));
  });

  it('a shrunk memory is rejected and poisons', () => {
    const mem = new FakeMemory(2);
    const a = new FreeingBumpAllocator(0);
    a.allocate(mem, 8);
    mem.shrinkTo(1);
    const err = throwsKind(() => a.allocate(mem, 8), 'MemoryShrunk');
    assert.equal(err.upstream, 'MemoryShrinked');
    throwsKind(() => a.allocate(mem, 8), 'Poisoned');
  });
});

describe('out of space', () => {
  it('fails when memory is already at its maximum (checked before growing)', () => {
    const mem = new FakeMemory(1, 1);
    const a = new FreeingBumpAllocator(0);
    // 32760 -> order 12 block 32776: header 0, ptr 8
    assert.equal(a.allocate(mem, PAGE_SIZE / 2 - 8), 8);
    // 32768 -> block 32776: required 65552 > 65536; current 1 >= max 1
    const err = throwsKind(() => a.allocate(mem, PAGE_SIZE / 2), 'OutOfSpace');
    assert.equal(err.upstream, 'AllocatorOutOfSpace');
    assert.deepEqual(mem.growCalls, []); // never asked to grow
  });

  it('fails when the required pages exceed the maximum (no grow attempted)', () => {
    const mem = new FakeMemory(1, 2);
    const a = new FreeingBumpAllocator(0);
    // 131072 -> needs 131080 bytes = 3 pages > max 2
    throwsKind(() => a.allocate(mem, 2 * PAGE_SIZE), 'OutOfSpace');
    assert.deepEqual(mem.growCalls, []);
    assert.equal(mem.pages(), 1);
  });

  it('heap base 13 and a request of 65536 - 13 on a 1-page memory', () => {
    const mem = new FakeMemory(1, 1);
    const a = new FreeingBumpAllocator(13);
    // 65523 -> 65536, block 65544 from base 16: required 65560 > 65536, at max
    throwsKind(() => a.allocate(mem, PAGE_SIZE - 13), 'OutOfSpace');
  });

  it('fails when the memory refuses to grow', () => {
    const mem = new FakeMemory(1, 10);
    mem.refuseGrow = true;
    const a = new FreeingBumpAllocator(0);
    // needs 3 pages; target max(min(2, 10), 3) = 3 -> asks for +2, refused
    throwsKind(() => a.allocate(mem, 2 * PAGE_SIZE), 'OutOfSpace');
    assert.deepEqual(mem.growCalls, [2]);
  });

  it('real memory: engine refusal surfaces as OutOfSpace, not an exception', () => {
    const wasm = new WebAssembly.Memory({ initial: 1, maximum: 2 });
    // caller claims a maximum of 4: allocator asks for +2 (-> 3 pages), V8 refuses
    const mem = wasmMemory(wasm, 4);
    const a = new FreeingBumpAllocator(0);
    throwsKind(() => a.allocate(mem, 2 * PAGE_SIZE), 'OutOfSpace');
    assert.equal(wasm.buffer.byteLength, PAGE_SIZE);
  });

  it('freed space is never given back to the bumper', () => {
    const mem = new FakeMemory(1, 1);
    const a = new FreeingBumpAllocator(0);
    // 65536 / 40 = 1638 blocks of 32 bytes (40 with header) = 65520 bytes
    const ptrs: number[] = [];
    for (let i = 0; i < 1638; i++) ptrs.push(a.allocate(mem, 32));
    assert.equal(a.stats.bytesAllocated, 65520);
    for (const p of ptrs) a.deallocate(mem, p);
    assert.equal(a.stats.bytesAllocated, 0);
    assert.equal(a.stats.bytesAllocatedPeak, 65520);
    // 16 bytes left: one order-0 block fits exactly (bumper 65520 + 16 = 65536)
    assert.equal(a.allocate(mem, 8), 65528);
    // another order-0 block has no free entry and no room
    throwsKind(() => a.allocate(mem, 8), 'OutOfSpace');
  });
});

describe('poisoning', () => {
  it('after OutOfSpace both allocate and deallocate fail without touching memory', () => {
    const mem = new FakeMemory(1, 1);
    const a = new FreeingBumpAllocator(0);
    const p = a.allocate(mem, PAGE_SIZE / 2); // 32768, block 32776
    throwsKind(() => a.allocate(mem, PAGE_SIZE), 'OutOfSpace');
    assert.equal(a.isPoisoned, true);
    const err = throwsKind(() => a.deallocate(mem, p), 'Poisoned');
    assert.equal(err.upstream, 'Other');
    assert.deepEqual(header(mem, 0), OCCUPIED(12)); // still occupied: nothing written
    throwsKind(() => a.allocate(mem, 1), 'Poisoned');
  });

  it('a failed deallocate poisons allocate too', () => {
    const mem = new FakeMemory(1);
    const a = new FreeingBumpAllocator(0);
    a.allocate(mem, 8);
    throwsKind(() => a.deallocate(mem, 4), 'InvalidPointer', 'pointer-below-header-size');
    throwsKind(() => a.allocate(mem, 8), 'Poisoned');
  });

  it('argument validation errors do not poison', () => {
    const mem = new FakeMemory(1);
    const a = new FreeingBumpAllocator(0);
    assert.throws(() => a.allocate(mem, 1.5), RangeError);
    assert.equal(a.isPoisoned, false);
    assert.equal(a.allocate(mem, 1), 8);
  });
});

describe('deallocate checks', () => {
  it('double free is detected (header no longer occupied)', () => {
    const mem = new FakeMemory(1);
    const a = new FreeingBumpAllocator(0);
    const p = a.allocate(mem, 8);
    a.deallocate(mem, p);
    throwsKind(() => a.deallocate(mem, p), 'InvalidPointer', 'header-not-occupied');
    assert.equal(a.isPoisoned, true);
  });

  it('pointer below the heap base over zeroed memory: header reads as free', () => {
    const mem = new FakeMemory(1);
    const a = new FreeingBumpAllocator(1024);
    a.allocate(mem, 8); // 1032
    // header at 512 - 8 = 504 is all zero: free with link 0 -> not occupied
    throwsKind(() => a.deallocate(mem, 512), 'InvalidPointer', 'header-not-occupied');
  });

  it('pointers 0..7 cannot have a header', () => {
    for (const ptr of [0, 7]) {
      const a = new FreeingBumpAllocator(0);
      throwsKind(() => a.deallocate(new FakeMemory(1), ptr), 'InvalidPointer', 'pointer-below-header-size');
    }
  });

  it('pointer past the end of memory', () => {
    const a = new FreeingBumpAllocator(0);
    // header at 65536 + 8 - 8 = 65536: bytes 65536..65543 are outside 1 page
    throwsKind(() => a.deallocate(new FakeMemory(1), PAGE_SIZE + 8), 'InvalidPointer', 'header-read-out-of-bounds');
    const b = new FreeingBumpAllocator(0);
    // header at 65529: last byte 65536 is out; 65528 would be the last valid one
    throwsKind(() => b.deallocate(new FakeMemory(1), PAGE_SIZE - 7 + 8), 'InvalidPointer', 'header-read-out-of-bounds');
  });

  it('an occupied header with an order >= 23 is rejected', () => {
    const mem = new FakeMemory(1);
    const a = new FreeingBumpAllocator(0);
    a.allocate(mem, 8); // header 0
    setBytes(mem, 0, OCCUPIED(23));
    throwsKind(() => a.deallocate(mem, 8), 'InvalidPointer', 'invalid-order');
  });

  it('only bit 32 of the high word matters', () => {
    const mem = new FakeMemory(1);
    const a = new FreeingBumpAllocator(0);
    const p = a.allocate(mem, 8); // header 0 = 00 00 00 00 01 00 00 00
    setBytes(mem, 4, [0xff, 0xff, 0xff, 0xff]); // high word 0xffffffff: bit 32 set
    a.deallocate(mem, p);
    assert.deepEqual(header(mem, 0), FREE_NIL);
    // high word 2 (bit 33 set, bit 32 clear) reads as a free header
    const q = a.allocate(mem, 8); // pops header 0 again
    assert.equal(q, 8);
    setBytes(mem, 4, [2, 0, 0, 0]);
    throwsKind(() => a.deallocate(mem, q), 'InvalidPointer', 'header-not-occupied');
  });

  it('no heap-base check: a forged header below the heap base is accepted (upstream quirk)', () => {
    const mem = new FakeMemory(1);
    const a = new FreeingBumpAllocator(1024);
    assert.equal(a.allocate(mem, 8), 1032); // live bytes: 16
    setBytes(mem, 504, OCCUPIED(0)); // runtime forges an order-0 header at 504
    a.deallocate(mem, 512); // bytesAllocated 16 - 16 = 0, list 0: 504 -> nil
    assert.deepEqual(header(mem, 504), FREE_NIL);
    assert.equal(a.stats.bytesAllocated, 0);
    assert.equal(a.allocate(mem, 8), 512); // handed out below the heap base
  });

  it('counter underflow fails after the header was already rewritten', () => {
    const mem = new FakeMemory(1);
    const a = new FreeingBumpAllocator(1024);
    setBytes(mem, 504, OCCUPIED(0)); // nothing allocated yet: bytesAllocated 0 < 16
    throwsKind(() => a.deallocate(mem, 512), 'Other', 'bytes-allocated-underflow');
    assert.deepEqual(header(mem, 504), FREE_NIL);
    throwsKind(() => a.allocate(mem, 8), 'Poisoned');
  });
});

describe('corrupted free lists', () => {
  it('a free-list link pointing past memory is detected on the second pop', () => {
    const mem = new FakeMemory(1);
    const a = new FreeingBumpAllocator(0);
    const p = a.allocate(mem, 5); // header 0
    a.deallocate(mem, p);
    setBytes(mem, 0, FREE_TO(0xfffffffe)); // runtime corrupts the link
    assert.equal(a.allocate(mem, 5), 8); // pops header 0; head := 0xfffffffe
    // 0xfffffffe + 8 + 8 > 65536
    throwsKind(() => a.allocate(mem, 5), 'Other', 'free-list-pointer-out-of-bounds');
  });

  it('a free-list head that reads as occupied is detected', () => {
    const mem = new FakeMemory(1);
    const a = new FreeingBumpAllocator(0);
    const p = a.allocate(mem, 8);
    a.deallocate(mem, p);
    setBytes(mem, 0, OCCUPIED(0));
    throwsKind(() => a.allocate(mem, 8), 'Other', 'free-list-head-occupied');
  });
});

describe('stats', () => {
  it('tracks live, peak, sum and address space', () => {
    const mem = new FakeMemory(1);
    const a = new FreeingBumpAllocator(13); // base 16
    const p = a.allocate(mem, 42); // 42 -> 64, block 72
    assert.equal(p, 24);
    assert.equal(a.stats.bytesAllocated, 72);
    a.deallocate(mem, p);
    const q = a.allocate(mem, 9); // order 1: block 24, bumped: 16 + 72 = 88 -> ptr 96
    assert.equal(q, 96);
    assert.deepEqual(a.stats, {
      bytesAllocated: 24,
      bytesAllocatedPeak: 72,
      bytesAllocatedSum: 96n, // 72 + 24
      addressSpaceUsed: 96, // bumper 112 - base 16
    });
  });
});
