/**
 * Freeing-bump heap allocator, behaviourally identical to Substrate's
 * `FreeingBumpHeapAllocator` (crate `sc-allocator`, polkadot-sdk
 * `substrate/client/allocator/src/freeing_bump.rs`).
 *
 * This is the allocator behind the `ext_allocator_malloc_version_1` /
 * `ext_allocator_free_version_1` host functions. Pointers it hands out can end
 * up in a PVF's output, so every detail that is observable from inside the
 * Wasm instance must match the reference implementation exactly:
 *
 *  - returned addresses for a given call sequence,
 *  - the 8 header bytes written in front of every block,
 *  - when and by how much the linear memory is grown,
 *  - which calls fail, and that every call after a failure fails too.
 *
 * Design recap (written from our reading of upstream, not copied from it):
 *
 *  Heap layout. The heap begins at `heapBase` rounded up to a multiple of 8 and
 *  only ever grows upwards through a "bumper". Every block is
 *  `HEADER_SIZE + 2^(order + 3)` bytes: an 8-byte header followed by the
 *  payload; the pointer returned is the payload address (header + 8).
 *
 *  Orders. A request of `size` bytes is clamped up to 8, rounded up to the next
 *  power of two, and its order is log2(rounded) - 3. On-chain there are 23
 *  orders (8 B .. 32 MiB); the off-chain context (not used for PVFs) has 29
 *  (8 B .. 2 GiB). A request larger than the context's maximum fails with
 *  `RequestedAllocationTooLarge`.
 *
 *  Header (little-endian u64, i.e. bytes 0..3 = low word, 4..7 = high word):
 *    occupied: low word = order, high word = 1
 *    free:     low word = header address of the next free block of the same
 *              order, or 0xFFFFFFFF ("nil") at the end of the list; high = 0
 *  When reading, only bit 32 decides occupied/free; bits 33..63 are ignored.
 *
 *  Free lists. One singly-linked LIFO list per order, threaded through the
 *  headers in Wasm memory; the allocator itself only keeps the list heads.
 *  Allocation pops the head of the list for its order if there is one, and
 *  otherwise bumps. Blocks are never split, merged or returned to the bumper.
 *
 *  Growth. When a bump would pass the end of memory, the allocator computes
 *  the pages required to hold `bumper + blockSize`; fails if memory is already
 *  at its maximum or the requirement exceeds the maximum (both checked BEFORE
 *  trying to grow); otherwise grows to max(min(2 * current, maximum), required)
 *  pages, i.e. it prefers doubling. A refused grow is also `OutOfSpace`.
 *  The memory size is read afresh on every call, so growth done by the
 *  runtime itself (`memory.grow`) is simply used.
 *
 *  Deallocation. `ptr - 8` must not underflow; the header there must read as
 *  occupied with a valid order. Nothing else is checked: in particular there
 *  is NO comparison with the heap base or the bumper, so a runtime that forges
 *  an occupied header anywhere in memory can "free" that spot and later get it
 *  back from `allocate`. We reproduce that faithfully.
 *
 *  Poisoning. Once any call into `allocate` or `deallocate` has failed for any
 *  reason (including "too large" and "shrunk memory"), every later call fails
 *  with `Poisoned`, without touching memory.
 *
 *  Integer width. Upstream does its bookkeeping in u32 and Polkadot's
 *  release/production builds have overflow checks off, so the (practically
 *  unreachable) overflows wrap. We wrap the same way (`>>> 0`).
 */

/** Size of a Wasm page in bytes. */
export const PAGE_SIZE = 65536;
/** Largest page count a 32-bit Wasm memory can have (4 GiB). */
export const MAX_WASM_PAGES = 65536;

/** Every returned pointer is a multiple of this. */
export const ALIGNMENT = 8;
/** Bytes of bookkeeping in front of every block. */
export const HEADER_SIZE = 8;
/** Smallest block payload; also the size of order 0. */
export const MIN_POSSIBLE_ALLOCATION = 8;
/** Largest on-chain request (2^25 bytes = 32 MiB), `sp_core::MAX_POSSIBLE_ALLOCATION`. */
export const MAX_POSSIBLE_ALLOCATION = 33554432;
/** Number of on-chain orders: 2^3 ..= 2^25. */
export const N_ORDERS_ONCHAIN = 23;
/** Largest off-chain request (2^31 bytes): 8 << (N_ORDERS_OFFCHAIN - 1). */
export const MAX_POSSIBLE_ALLOCATION_OFFCHAIN = 2147483648;
/** Number of off-chain orders: 2^3 ..= 2^31. */
export const N_ORDERS_OFFCHAIN = 29;
/** Free-list terminator stored in the low word of a free header. */
export const NIL_MARKER = 0xffffffff;

/** Execution context; determines the order table. PVF validation is on-chain. */
export type CallContext = 'onchain' | 'offchain';

/**
 * The linear memory the allocator operates on.
 *
 * `bytes()` must return a view of the *current* buffer (after a grow, the old
 * ArrayBuffer of a `WebAssembly.Memory` is detached, so re-fetch it).
 * `pages()` is the current size in 64 KiB pages; the allocator derives the
 * memory size from it (pages * 65536), like upstream does.
 * `maxPages()` is the declared maximum, or `undefined` when the memory has
 * none (then the 4 GiB Wasm limit, 65536 pages, applies).
 * `grow(delta)` returns false, instead of throwing, when growth is refused.
 */
export interface HeapMemory {
  bytes(): Uint8Array;
  pages(): number;
  maxPages(): number | undefined;
  grow(deltaPages: number): boolean;
}

/**
 * The part of `WebAssembly.Memory` the adapter needs. Declared structurally
 * because the project's type setup (ES2023 lib, @types/node 20) has no
 * `WebAssembly` namespace; a real `WebAssembly.Memory` satisfies it.
 */
export interface WasmMemoryLike {
  readonly buffer: ArrayBuffer;
  /** Grows by `delta` pages, returns the old page count, throws RangeError if refused. */
  grow(delta: number): number;
}

/**
 * Adapts a `WebAssembly.Memory`. JS cannot query the declared maximum of a
 * memory, so the caller passes it (`undefined` = no declared maximum). Growth
 * beyond `maxPages` is refused here as well as by the engine.
 */
export function wasmMemory(mem: WasmMemoryLike, maxPages: number | undefined): HeapMemory {
  return {
    bytes: () => new Uint8Array(mem.buffer),
    pages: () => Math.floor(mem.buffer.byteLength / PAGE_SIZE),
    maxPages: () => maxPages,
    grow: (deltaPages: number): boolean => {
      const current = Math.floor(mem.buffer.byteLength / PAGE_SIZE);
      const limit = maxPages ?? MAX_WASM_PAGES;
      if (current + deltaPages > limit) return false;
      try {
        mem.grow(deltaPages);
        return true;
      } catch {
        // RangeError: beyond the declared maximum or the engine is out of memory.
        return false;
      }
    },
  };
}

/** Our classification of a failure. */
export type AllocatorErrorKind =
  | 'RequestedAllocationTooLarge'
  | 'OutOfSpace'
  | 'MemoryShrunk'
  | 'Poisoned'
  | 'InvalidPointer'
  | 'Other';

/** The variant of upstream's `sc_allocator::Error` this failure corresponds to. */
export type UpstreamAllocatorError =
  | 'RequestedAllocationTooLarge'
  | 'AllocatorOutOfSpace'
  | 'MemoryShrinked'
  | 'Other';

/** Precise cause; every upstream failure site has its own reason. */
export type AllocatorErrorReason =
  | 'too-large'
  | 'out-of-space'
  | 'memory-shrunk'
  | 'poisoned'
  | 'pointer-below-header-size'
  | 'header-not-occupied'
  | 'invalid-order'
  | 'header-read-out-of-bounds'
  | 'header-write-out-of-bounds'
  | 'free-list-pointer-out-of-bounds'
  | 'free-list-head-occupied'
  | 'bytes-allocated-underflow';

const REASON_MESSAGES: Record<AllocatorErrorReason, string> = {
  'too-large': 'requested allocation exceeds the maximum allocation size',
  'out-of-space': 'heap exhausted: linear memory cannot grow enough',
  'memory-shrunk': 'linear memory is smaller than when last observed',
  poisoned: 'allocator is poisoned by an earlier failure',
  'pointer-below-header-size': 'pointer to free is too small to have a header',
  'header-not-occupied': 'freed pointer does not refer to an allocated block',
  'invalid-order': 'block header holds an out-of-range order',
  'header-read-out-of-bounds': 'block header lies outside linear memory (read)',
  'header-write-out-of-bounds': 'block header lies outside linear memory (write)',
  'free-list-pointer-out-of-bounds': 'free list refers to a block outside linear memory',
  'free-list-head-occupied': 'free list refers to a block marked as allocated',
  'bytes-allocated-underflow': 'allocated byte counter would go negative',
};

function upstreamOf(reason: AllocatorErrorReason): UpstreamAllocatorError {
  switch (reason) {
    case 'too-large':
      return 'RequestedAllocationTooLarge';
    case 'out-of-space':
      return 'AllocatorOutOfSpace';
    case 'memory-shrunk':
      return 'MemoryShrinked';
    default:
      return 'Other';
  }
}

export class AllocatorError extends Error {
  readonly kind: AllocatorErrorKind;
  readonly reason: AllocatorErrorReason;
  readonly upstream: UpstreamAllocatorError;

  constructor(kind: AllocatorErrorKind, reason: AllocatorErrorReason) {
    super(`allocator: ${REASON_MESSAGES[reason]}`);
    this.name = 'AllocatorError';
    this.kind = kind;
    this.reason = reason;
    this.upstream = upstreamOf(reason);
  }
}

/** Bookkeeping counters, same meaning as upstream's `AllocationStats`. */
export interface AllocationStats {
  /** Bytes (headers included) in live blocks right now. */
  readonly bytesAllocated: number;
  /** Highest value `bytesAllocated` has reached. */
  readonly bytesAllocatedPeak: number;
  /** Bytes (headers included) of every successful allocation ever made. */
  readonly bytesAllocatedSum: bigint;
  /** bumper - aligned heap base, as of the last successful allocation. */
  readonly addressSpaceUsed: number;
}

/** Optional settings. */
export interface AllocatorOptions {
  /** Default 'onchain' (23 orders, 32 MiB max), which is what PVFs use. */
  context?: CallContext;
}

/** Converts an i32 (as Wasm hands it to JS) or u32 to u32. */
function toU32(value: number, what: string): number {
  if (!Number.isInteger(value) || value < -0x80000000 || value > 0xffffffff) {
    throw new RangeError(`${what} must be a 32-bit integer, got ${value}`);
  }
  return value >>> 0;
}

/** Smallest power of two >= x, for 1 <= x <= 2^31. */
function nextPowerOfTwo(x: number): number {
  return x <= 1 ? 1 : 2 ** (32 - Math.clz32(x - 1));
}

/** Number of 64 KiB pages needed to hold `size` bytes (rounding up). */
function pagesFor(size: number): number {
  return Math.ceil(size / PAGE_SIZE);
}

/** Reads the two little-endian 32-bit words of an 8-byte header. */
function readHeaderWords(mem: HeapMemory, at: number): [low: number, high: number] | undefined {
  const bytes = mem.bytes();
  if (at + 8 > bytes.length) return undefined;
  const low = (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0;
  const high = (bytes[at + 4]! | (bytes[at + 5]! << 8) | (bytes[at + 6]! << 16) | (bytes[at + 7]! << 24)) >>> 0;
  return [low, high];
}

function writeHeaderWords(mem: HeapMemory, at: number, low: number, high: number): boolean {
  const bytes = mem.bytes();
  if (at + 8 > bytes.length) return false;
  bytes[at] = low & 0xff;
  bytes[at + 1] = (low >>> 8) & 0xff;
  bytes[at + 2] = (low >>> 16) & 0xff;
  bytes[at + 3] = (low >>> 24) & 0xff;
  bytes[at + 4] = high & 0xff;
  bytes[at + 5] = (high >>> 8) & 0xff;
  bytes[at + 6] = (high >>> 16) & 0xff;
  bytes[at + 7] = (high >>> 24) & 0xff;
  return true;
}

/** Decoded header: occupied with an order, or free with a link (NIL_MARKER = end). */
type Header = { occupied: true; order: number } | { occupied: false; next: number };

export class FreeingBumpAllocator {
  /** Heap base rounded up to ALIGNMENT (with u32 wrap-around, as upstream). */
  readonly heapBase: number;
  /** Largest request accepted in this context. */
  readonly maxAllocation: number;
  /** Number of orders (free lists) in this context. */
  readonly maxOrders: number;

  private bumper: number;
  /** Header address of the first free block per order, NIL_MARKER if none. */
  private readonly freeListHeads: number[];
  private poisoned = false;
  /** Memory size in bytes seen by the previous call (0 before the first one). */
  private lastObservedMemorySize = 0;

  private bytesAllocated = 0;
  private bytesAllocatedPeak = 0;
  private bytesAllocatedSum = 0n;
  private addressSpaceUsed = 0;

  constructor(heapBase: number, options: AllocatorOptions = {}) {
    const base = toU32(heapBase, 'heapBase');
    // Round up to a multiple of 8 in u32 arithmetic: bases within 7 bytes of
    // 2^32 wrap to 0, exactly like the Rust expression does in release builds.
    this.heapBase = (Math.ceil(base / ALIGNMENT) * ALIGNMENT) >>> 0;
    this.bumper = this.heapBase;
    const context = options.context ?? 'onchain';
    if (context === 'onchain') {
      this.maxAllocation = MAX_POSSIBLE_ALLOCATION;
      this.maxOrders = N_ORDERS_ONCHAIN;
    } else {
      this.maxAllocation = MAX_POSSIBLE_ALLOCATION_OFFCHAIN;
      this.maxOrders = N_ORDERS_OFFCHAIN;
    }
    this.freeListHeads = new Array<number>(this.maxOrders).fill(NIL_MARKER);
  }

  /** A snapshot of the counters. */
  get stats(): AllocationStats {
    return {
      bytesAllocated: this.bytesAllocated,
      bytesAllocatedPeak: this.bytesAllocatedPeak,
      bytesAllocatedSum: this.bytesAllocatedSum,
      addressSpaceUsed: this.addressSpaceUsed,
    };
  }

  /** True once any call has failed; every later call throws `Poisoned`. */
  get isPoisoned(): boolean {
    return this.poisoned;
  }

  /**
   * Allocates `size` bytes (u32; a negative i32 is reinterpreted as u32) and
   * returns the payload address. Throws `AllocatorError` on failure, after
   * which the allocator is poisoned.
   */
  allocate(mem: HeapMemory, size: number): number {
    const request = toU32(size, 'size');
    if (this.poisoned) throw new AllocatorError('Poisoned', 'poisoned');
    // From here on any failure poisons the allocator (including "too large").
    try {
      return this.allocateInner(mem, request);
    } catch (e) {
      this.poisoned = true;
      throw e;
    }
  }

  /**
   * Frees the block whose payload starts at `ptr` (u32; a negative i32 is
   * reinterpreted as u32). Throws `AllocatorError` on failure, after which the
   * allocator is poisoned.
   */
  deallocate(mem: HeapMemory, ptr: number): void {
    const address = toU32(ptr, 'ptr');
    if (this.poisoned) throw new AllocatorError('Poisoned', 'poisoned');
    try {
      this.deallocateInner(mem, address);
    } catch (e) {
      this.poisoned = true;
      throw e;
    }
  }

  private allocateInner(mem: HeapMemory, size: number): number {
    this.observeMemorySize(mem);
    const order = this.orderForSize(size);
    const blockSize = MIN_POSSIBLE_ALLOCATION * 2 ** order; // payload bytes

    let headerPtr: number;
    const head = this.freeListHeads[order]!;
    if (head !== NIL_MARKER) {
      // Reuse the most recently freed block of this order (LIFO).
      if (head + blockSize + HEADER_SIZE > memorySize(mem)) {
        throw new AllocatorError('Other', 'free-list-pointer-out-of-bounds');
      }
      const header = this.readHeader(mem, head, 'Other');
      if (header.occupied) throw new AllocatorError('Other', 'free-list-head-occupied');
      this.freeListHeads[order] = header.next;
      headerPtr = head;
    } else {
      headerPtr = this.bump(mem, blockSize + HEADER_SIZE);
    }

    if (!writeHeaderWords(mem, headerPtr, order, 1)) {
      throw new AllocatorError('Other', 'header-write-out-of-bounds');
    }

    const total = blockSize + HEADER_SIZE;
    this.bytesAllocated = (this.bytesAllocated + total) >>> 0;
    this.bytesAllocatedSum += BigInt(total);
    this.bytesAllocatedPeak = Math.max(this.bytesAllocatedPeak, this.bytesAllocated);
    this.addressSpaceUsed = (this.bumper - this.heapBase) >>> 0;

    return (headerPtr + HEADER_SIZE) >>> 0;
  }

  private deallocateInner(mem: HeapMemory, ptr: number): void {
    this.observeMemorySize(mem);
    if (ptr < HEADER_SIZE) throw new AllocatorError('InvalidPointer', 'pointer-below-header-size');
    const headerPtr = ptr - HEADER_SIZE;

    const header = this.readHeader(mem, headerPtr, 'InvalidPointer');
    if (!header.occupied) throw new AllocatorError('InvalidPointer', 'header-not-occupied');
    const order = header.order;

    // Push onto the front of this order's free list; the header now links to
    // the previous head. Both happen before the counter check below, so a
    // counter underflow leaves them applied (the allocator is poisoned anyway).
    const previousHead = this.freeListHeads[order]!;
    this.freeListHeads[order] = headerPtr;
    if (!writeHeaderWords(mem, headerPtr, previousHead, 0)) {
      throw new AllocatorError('Other', 'header-write-out-of-bounds');
    }

    const total = MIN_POSSIBLE_ALLOCATION * 2 ** order + HEADER_SIZE;
    if (this.bytesAllocated < total) throw new AllocatorError('Other', 'bytes-allocated-underflow');
    this.bytesAllocated -= total;
  }

  /** Rejects a memory that got smaller since the previous call. */
  private observeMemorySize(mem: HeapMemory): void {
    const size = memorySize(mem);
    if (size < this.lastObservedMemorySize) throw new AllocatorError('MemoryShrunk', 'memory-shrunk');
    this.lastObservedMemorySize = size;
  }

  /** Request size -> order index, clamping to 8 and rounding to a power of two. */
  private orderForSize(size: number): number {
    if (size > this.maxAllocation) throw new AllocatorError('RequestedAllocationTooLarge', 'too-large');
    const clamped = Math.max(size, MIN_POSSIBLE_ALLOCATION);
    const rounded = nextPowerOfTwo(clamped);
    return 31 - Math.clz32(rounded) - 3;
  }

  private readHeader(mem: HeapMemory, at: number, kind: AllocatorErrorKind): Header {
    const words = readHeaderWords(mem, at);
    if (words === undefined) throw new AllocatorError(kind, 'header-read-out-of-bounds');
    const [low, high] = words;
    if ((high & 1) !== 0) {
      if (low >= this.maxOrders) throw new AllocatorError(kind, 'invalid-order');
      return { occupied: true, order: low };
    }
    return { occupied: false, next: low };
  }

  /**
   * Hands out `size` fresh bytes at the bumper, growing the memory first when
   * they do not fit. Returns the address of the new block's header.
   */
  private bump(mem: HeapMemory, size: number): number {
    const required = this.bumper + size; // exact: both operands < 2^32
    if (required > memorySize(mem)) {
      const requiredPages = pagesFor(required);
      const currentPages = mem.pages();
      const maxPages = mem.maxPages() ?? MAX_WASM_PAGES;
      // Both limits are checked before attempting to grow.
      if (currentPages >= maxPages) throw new AllocatorError('OutOfSpace', 'out-of-space');
      if (requiredPages > maxPages) throw new AllocatorError('OutOfSpace', 'out-of-space');
      // Prefer doubling (capped at the maximum), but never less than needed.
      const targetPages = Math.max(Math.min(currentPages * 2, maxPages), requiredPages);
      if (!mem.grow(targetPages - currentPages)) throw new AllocatorError('OutOfSpace', 'out-of-space');
    }
    const start = this.bumper;
    this.bumper = (this.bumper + size) >>> 0;
    return start;
  }
}

/** Memory size in bytes as upstream computes it: pages * 64 KiB. */
function memorySize(mem: HeapMemory): number {
  return mem.pages() * PAGE_SIZE;
}
