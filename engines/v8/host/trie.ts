// Substrate's base-16 Merkle-Patricia trie, as used by the `ext_trie_*` host functions.
//
// This is an independent TypeScript model of what Substrate computes with
// `sp_trie::LayoutV0<H>` / `sp_trie::LayoutV1<H>`:
//   * the closed-form root computation of the `trie-root` crate driven by sp-trie's
//     node stream (no extension nodes: every branch carries its own partial key),
//   * sp-trie's node codec (header byte(s), nibble-packed partial key, 16-bit child bitmap,
//     SCALE-compact lengths),
//   * trie-db's proof format (`trie_db::proof::generate_proof` / `verify_proof`), which is what
//     `sp_trie::verify_trie_proof` and the `*_verify_proof` host functions accept.
//
// Everything here is a pure function over `Uint8Array`s.

import { concatBytes } from '../../../core/primitives/bytes.ts';
import { blake2_256 } from '../../../core/primitives/hashing.ts';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { compact } from 'scale-ts';

export type TrieHasher = 'blake2_256' | 'keccak_256';
export type StateVersion = 0 | 1;

/** Both supported hashers produce 32-byte digests; a child reference of exactly this many bytes is a hash. */
export const HASH_LENGTH = 32;

/**
 * State version 1 stores a value out of line (only its hash is in the node) when the value is
 * at least this many bytes long. Values of 32 bytes or fewer stay inline. Version 0 never hashes.
 */
export const TRIE_VALUE_NODE_THRESHOLD = 33;

// ---------------------------------------------------------------------------------------------
// Small byte helpers

export function trieHash(hasher: TrieHasher, data: Uint8Array): Uint8Array {
  return hasher === 'blake2_256' ? blake2_256(data) : keccak_256(data);
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Lexicographic byte order, a strict prefix sorting first (the order of Rust's `[u8]`/`Vec<u8>`). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

function toHex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

/** SCALE compact encoding of a non-negative integer (lengths, ordered-trie keys). */
export function encodeCompact(n: number): Uint8Array {
  return compact.enc(n);
}

/** Splits bytes into nibbles, high nibble first. */
export function bytesToNibbles(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length * 2);
  for (let i = 0; i < bytes.length; i++) {
    out[2 * i] = bytes[i]! >> 4;
    out[2 * i + 1] = bytes[i]! & 0x0f;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Node representation and codec

/** A value as found in a node: the bytes themselves, or (state version 1, long values) their hash. */
export type NodeValue =
  | { readonly kind: 'inline'; readonly data: Uint8Array }
  | { readonly kind: 'hashed'; readonly hash: Uint8Array };

/**
 * How a branch refers to a child. The codec does not mark the kind: a reference whose length is
 * exactly 32 is a hash, any other length is the child's encoding embedded in place (normally
 * shorter than 32 bytes; a zero-length reference is what a proof uses for "this child follows
 * as the next proof node").
 */
export type ChildHandle =
  | { readonly kind: 'hash'; readonly hash: Uint8Array }
  | { readonly kind: 'inline'; readonly data: Uint8Array };

/** One decoded trie node. `partial` holds nibbles (values 0..15), one per array element. */
export type TrieNode =
  | { readonly type: 'empty' }
  | { readonly type: 'leaf'; readonly partial: Uint8Array; readonly value: NodeValue }
  | {
      readonly type: 'branch';
      readonly partial: Uint8Array;
      readonly value: NodeValue | null;
      /** Always 16 entries, index = nibble. */
      readonly children: ReadonlyArray<ChildHandle | null>;
    };

export class TrieDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrieDecodeError';
  }
}

// Header layouts (first byte), most specific last:
//   00000000            empty trie
//   01nnnnnn            leaf, inline value
//   10nnnnnn            branch without value
//   11nnnnnn            branch with inline value
//   001nnnnn            leaf whose value is stored by hash
//   0001nnnn            branch whose value is stored by hash
//   0000xxxx (x != 0)   not a valid node (0x01 is reserved as an escape in compact proofs)
// The n bits start the partial-key nibble count: if they are all ones, further bytes follow,
// each adding its value; a byte of 255 means "add 255 and keep reading".
type HeaderKind = 'leaf' | 'branchNoValue' | 'branchWithValue' | 'hashedLeaf' | 'hashedBranch';

const HEADER_PREFIX: Record<HeaderKind, { readonly bits: number; readonly prefixBits: number }> = {
  leaf: { bits: 0b01 << 6, prefixBits: 2 },
  branchNoValue: { bits: 0b10 << 6, prefixBits: 2 },
  branchWithValue: { bits: 0b11 << 6, prefixBits: 2 },
  hashedLeaf: { bits: 0b001 << 5, prefixBits: 3 },
  hashedBranch: { bits: 0b0001 << 4, prefixBits: 4 },
};

const EMPTY_NODE = new Uint8Array([0]);

function encodeHeader(kind: HeaderKind, nibbleCount: number): number[] {
  const { bits, prefixBits } = HEADER_PREFIX[kind];
  const max = 0xff >> prefixBits; // all-ones pattern in the size field
  if (nibbleCount < max) return [bits | nibbleCount];
  const out = [bits | max];
  // What remains after the first byte: `max` is implied, every following byte adds itself,
  // and 255 means "more follows".
  let rest = nibbleCount - max;
  while (rest >= 255) {
    out.push(255);
    rest -= 255;
  }
  out.push(rest);
  return out;
}

/** Packs nibbles into bytes; an odd count puts the first nibble alone in the low half of byte 0. */
function packNibbles(nibbles: Uint8Array): Uint8Array {
  const odd = nibbles.length % 2;
  const out = new Uint8Array((nibbles.length + 1) >> 1);
  let o = 0;
  if (odd) out[o++] = nibbles[0]!;
  for (let i = odd; i < nibbles.length; i += 2) out[o++] = (nibbles[i]! << 4) | nibbles[i + 1]!;
  return out;
}

function encodeValue(value: NodeValue): Uint8Array {
  return value.kind === 'inline' ? concatBytes([encodeCompact(value.data.length), value.data]) : value.hash;
}

/** Encoding of a child reference inside a branch: SCALE length followed by the bytes. */
function encodeChildRef(ref: Uint8Array): Uint8Array {
  return concatBytes([encodeCompact(ref.length), ref]);
}

function encodeLeaf(partial: Uint8Array, value: NodeValue): Uint8Array {
  const header = encodeHeader(value.kind === 'inline' ? 'leaf' : 'hashedLeaf', partial.length);
  return concatBytes([Uint8Array.from(header), packNibbles(partial), encodeValue(value)]);
}

/** `childRefs[i]` is the raw reference (hash or inline node bytes) of child i, or null. */
function encodeBranch(
  partial: Uint8Array,
  value: NodeValue | null,
  childRefs: ReadonlyArray<Uint8Array | null>,
): Uint8Array {
  const kind: HeaderKind = value === null ? 'branchNoValue' : value.kind === 'inline' ? 'branchWithValue' : 'hashedBranch';
  let bitmap = 0;
  const parts: Uint8Array[] = [Uint8Array.from(encodeHeader(kind, partial.length)), packNibbles(partial), new Uint8Array(2)];
  if (value !== null) parts.push(encodeValue(value));
  for (let i = 0; i < 16; i++) {
    const ref = childRefs[i];
    if (ref == null) continue;
    bitmap |= 1 << i;
    parts.push(encodeChildRef(ref));
  }
  // Bitmap is a little-endian u16, bit i set when child i exists.
  parts[2] = new Uint8Array([bitmap & 0xff, bitmap >> 8]);
  return concatBytes(parts);
}

/** Encodes a node in canonical form (the inverse of `decodeNode` for canonical input). */
export function encodeNode(node: TrieNode): Uint8Array {
  switch (node.type) {
    case 'empty':
      return EMPTY_NODE.slice();
    case 'leaf':
      return encodeLeaf(node.partial, node.value);
    case 'branch':
      return encodeBranch(
        node.partial,
        node.value,
        node.children.map((c) => (c === null ? null : c.kind === 'hash' ? c.hash : c.data)),
      );
  }
}

/** Reading cursor over one encoded node. Every read that runs past the end throws. */
class NodeReader {
  offset = 0;
  constructor(readonly data: Uint8Array) {}

  byte(): number {
    if (this.offset >= this.data.length) throw new TrieDecodeError('node ends early');
    return this.data[this.offset++]!;
  }

  take(count: number): Uint8Array {
    if (this.offset + count > this.data.length) throw new TrieDecodeError('node ends early');
    const out = this.data.subarray(this.offset, this.offset + count);
    this.offset += count;
    return out;
  }

  /**
   * A SCALE compact u32, with the strictness of parity-scale-codec: each width must be the
   * shortest one able to hold the number, and nothing beyond 32 bits is accepted.
   */
  compactU32(): number {
    const first = this.byte();
    switch (first & 3) {
      case 0:
        return first >> 2;
      case 1: {
        const v = (first | (this.byte() << 8)) >>> 2;
        if (v <= 0x3f) throw new TrieDecodeError('non-canonical compact integer');
        return v;
      }
      case 2: {
        const v = ((first | (this.byte() << 8) | (this.byte() << 16) | (this.byte() << 24)) >>> 0) >>> 2;
        if (v <= 0x3fff) throw new TrieDecodeError('non-canonical compact integer');
        return v;
      }
      default: {
        // Big-integer mode: for a u32 only the 4-byte form exists, and only above 2^30 - 1.
        if (first >> 2 !== 0) throw new TrieDecodeError('compact integer out of u32 range');
        const v = (this.byte() | (this.byte() << 8) | (this.byte() << 16) | (this.byte() << 24)) >>> 0;
        if (v <= 0x3fffffff) throw new TrieDecodeError('non-canonical compact integer');
        return v;
      }
    }
  }
}

function readNibbleCount(first: number, prefixBits: number, r: NodeReader): number {
  const max = 0xff >> prefixBits;
  let count = first & max;
  if (count < max) return count;
  for (;;) {
    const b = r.byte();
    count += b;
    if (b < 255) return count;
  }
}

function readPartial(r: NodeReader, nibbleCount: number): Uint8Array {
  // At least one byte must follow the header, even for an empty partial key.
  if (r.offset >= r.data.length) throw new TrieDecodeError('node ends early');
  const odd = nibbleCount % 2 === 1;
  // With an odd count the unused high half of the first byte must be zero.
  if (odd && (r.data[r.offset]! & 0xf0) !== 0) throw new TrieDecodeError('bad partial key padding');
  const packed = r.take((nibbleCount + 1) >> 1);
  const nibbles = bytesToNibbles(packed);
  return odd ? nibbles.subarray(1) : nibbles;
}

/**
 * Decodes one node exactly as sp-trie's `NodeCodec::decode_plan` does. Bytes after the node's
 * last field are ignored (upstream does not check for them). A child reference of exactly 32
 * bytes is a hash; any other length, including 0 or more than 32, is an inline reference.
 * Throws `TrieDecodeError` on malformed input.
 */
export function decodeNode(data: Uint8Array): TrieNode {
  const r = new NodeReader(data);
  const first = r.byte();
  if (first === 0) return { type: 'empty' };

  let kind: HeaderKind;
  switch (first >> 6) {
    case 0b01:
      kind = 'leaf';
      break;
    case 0b10:
      kind = 'branchNoValue';
      break;
    case 0b11:
      kind = 'branchWithValue';
      break;
    default:
      if (first >> 5 === 0b001) kind = 'hashedLeaf';
      else if (first >> 4 === 0b0001) kind = 'hashedBranch';
      else throw new TrieDecodeError(`invalid node header 0x${first.toString(16).padStart(2, '0')}`);
  }
  const nibbleCount = readNibbleCount(first, HEADER_PREFIX[kind].prefixBits, r);
  const partial = readPartial(r, nibbleCount);

  const readValue = (hashed: boolean): NodeValue =>
    hashed ? { kind: 'hashed', hash: r.take(HASH_LENGTH) } : { kind: 'inline', data: r.take(r.compactU32()) };

  if (kind === 'leaf' || kind === 'hashedLeaf') {
    return { type: 'leaf', partial, value: readValue(kind === 'hashedLeaf') };
  }

  const bitmapBytes = r.take(2);
  const bitmap = bitmapBytes[0]! | (bitmapBytes[1]! << 8);
  if (bitmap === 0) throw new TrieDecodeError('branch without children');
  const value = kind === 'branchNoValue' ? null : readValue(kind === 'hashedBranch');
  const children: (ChildHandle | null)[] = [];
  for (let i = 0; i < 16; i++) {
    if ((bitmap & (1 << i)) === 0) {
      children.push(null);
      continue;
    }
    const len = r.compactU32();
    const bytes = r.take(len);
    children.push(len === HASH_LENGTH ? { kind: 'hash', hash: bytes } : { kind: 'inline', data: bytes });
  }
  return { type: 'branch', partial, value, children };
}

// ---------------------------------------------------------------------------------------------
// Building a trie from key/value pairs

type Entry = readonly [Uint8Array, Uint8Array];

function valueThreshold(version: StateVersion): number | null {
  return version === 1 ? TRIE_VALUE_NODE_THRESHOLD : null;
}

function nodeValueFor(value: Uint8Array, version: StateVersion, hasher: TrieHasher): NodeValue {
  const threshold = valueThreshold(version);
  return threshold !== null && value.length >= threshold
    ? { kind: 'hashed', hash: trieHash(hasher, value) }
    : { kind: 'inline', data: value };
}

/**
 * Deduplicates and sorts the input the way upstream does: the pairs go through an ordered map
 * keyed by the key bytes, so for a repeated key the pair given LAST wins, and the result is in
 * byte-lexicographic key order.
 */
function normalizeEntries(entries: ReadonlyArray<Entry>): { nibbles: Uint8Array; value: Uint8Array; key: Uint8Array }[] {
  const byKey = new Map<string, Entry>();
  for (const e of entries) byKey.set(toHex(e[0]), e);
  return [...byKey.values()]
    .sort((a, b) => compareBytes(a[0], b[0]))
    .map(([key, value]) => ({ key, value, nibbles: bytesToNibbles(key) }));
}

/** An in-memory trie node with its canonical encoding, kept for proof generation. */
interface BuiltNode {
  readonly partial: Uint8Array;
  /** The raw stored value at this node (before any hashing), or null. */
  readonly value: Uint8Array | null;
  /** null for a leaf; 16 slots for a branch. */
  readonly children: ReadonlyArray<BuiltNode | null> | null;
  readonly encoded: Uint8Array;
  /** How the parent refers to this node: the hash if the encoding is 32 bytes or more, else the encoding. */
  readonly ref: Uint8Array;
  readonly inline: boolean;
}

function commonPrefixLength(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

type SortedEntry = { readonly nibbles: Uint8Array; readonly value: Uint8Array };

/**
 * Builds the sub-trie of `items` (sorted, distinct, all sharing their first `cursor` nibbles).
 * One item gives a leaf holding the rest of its key. Several items give a branch whose partial
 * key is everything they still have in common; an item ending exactly there becomes the branch
 * value and the others are grouped by their next nibble into the 16 child slots.
 */
function buildNode(items: ReadonlyArray<SortedEntry>, cursor: number, version: StateVersion, hasher: TrieHasher): BuiltNode {
  const finish = (partial: Uint8Array, value: Uint8Array | null, children: (BuiltNode | null)[] | null, encoded: Uint8Array): BuiltNode => {
    // A child encoding of fewer than 32 bytes is embedded in its parent; otherwise it is hashed.
    const inline = encoded.length < HASH_LENGTH;
    return { partial, value, children, encoded, inline, ref: inline ? encoded : trieHash(hasher, encoded) };
  };

  const first = items[0]!;
  if (items.length === 1) {
    const partial = first.nibbles.subarray(cursor);
    return finish(partial, first.value, null, encodeLeaf(partial, nodeValueFor(first.value, version, hasher)));
  }

  let shared = first.nibbles.length;
  for (let i = 1; i < items.length; i++) shared = Math.min(shared, commonPrefixLength(first.nibbles, items[i]!.nibbles));
  const branchEnd = Math.max(shared, cursor);
  const partial = first.nibbles.subarray(cursor, branchEnd);

  // Sorted input: if some key ends at the branch, it is the first one.
  const hasValue = first.nibbles.length === branchEnd;
  const value = hasValue ? first.value : null;
  const groups: SortedEntry[][] = Array.from({ length: 16 }, () => []);
  for (let i = hasValue ? 1 : 0; i < items.length; i++) groups[items[i]!.nibbles[branchEnd]!]!.push(items[i]!);

  const children = groups.map((g) => (g.length === 0 ? null : buildNode(g, branchEnd + 1, version, hasher)));
  const encoded = encodeBranch(
    partial,
    value === null ? null : nodeValueFor(value, version, hasher),
    children.map((c) => (c === null ? null : c.ref)),
  );
  return finish(partial, value, children, encoded);
}

/** Root node of the trie, or null when the trie is empty. */
function buildTrie(entries: ReadonlyArray<Entry>, version: StateVersion, hasher: TrieHasher): BuiltNode | null {
  const items = normalizeEntries(entries);
  return items.length === 0 ? null : buildNode(items, 0, version, hasher);
}

/** The root of the empty trie: the hash of the one-byte empty node `0x00`. */
export function emptyTrieRoot(hasher: TrieHasher): Uint8Array {
  return trieHash(hasher, EMPTY_NODE);
}

/**
 * Root hash of the trie holding `entries`, as `LayoutV0/V1::<H>::trie_root`.
 * Repeated keys: the last pair for a key wins. The root node is always hashed, even when short.
 */
export function trieRoot(entries: ReadonlyArray<readonly [Uint8Array, Uint8Array]>, version: StateVersion, hasher: TrieHasher): Uint8Array {
  const root = buildTrie(entries, version, hasher);
  return trieHash(hasher, root === null ? EMPTY_NODE : root.encoded);
}

/** The encoded root node (unhashed), as `trie_root_unhashed`. Useful for debugging and tests. */
export function trieRootUnhashed(entries: ReadonlyArray<readonly [Uint8Array, Uint8Array]>, version: StateVersion, hasher: TrieHasher): Uint8Array {
  const root = buildTrie(entries, version, hasher);
  return root === null ? EMPTY_NODE.slice() : root.encoded;
}

/**
 * Every node a database holding this trie stores, depth first (parent before children, children in
 * nibble order): the root, each node referenced by hash (inline nodes live inside their parent),
 * and, in state version 1, each value stored as a separate hashed value node. Together they are a
 * storage proof of the whole trie.
 */
export function trieNodes(entries: ReadonlyArray<readonly [Uint8Array, Uint8Array]>, version: StateVersion, hasher: TrieHasher): Uint8Array[] {
  const root = buildTrie(entries, version, hasher);
  if (root === null) return [EMPTY_NODE.slice()];
  const threshold = valueThreshold(version);
  const out: Uint8Array[] = [];
  const walk = (n: BuiltNode, isRoot: boolean): void => {
    if (isRoot || !n.inline) out.push(n.encoded);
    if (n.value !== null && threshold !== null && n.value.length >= threshold) out.push(n.value);
    for (const c of n.children ?? []) if (c !== null) walk(c, false);
  };
  walk(root, true);
  return out;
}

/** Root of the trie mapping SCALE-compact(i) to values[i], as `ordered_trie_root`. */
export function orderedTrieRoot(values: ReadonlyArray<Uint8Array>, version: StateVersion, hasher: TrieHasher): Uint8Array {
  return trieRoot(
    values.map((v, i) => [encodeCompact(i), v] as const),
    version,
    hasher,
  );
}

// ---------------------------------------------------------------------------------------------
// Proof generation (trie-db's format)

function startsWithNibbles(key: Uint8Array, prefix: Uint8Array): boolean {
  return key.length >= prefix.length && commonPrefixLength(key, prefix) === prefix.length;
}

/**
 * Builds a proof for `keys` (present or absent) in the format `verifyProof` / trie-db's
 * `verify_proof` expects, mirroring `trie_db::proof::generate_proof`:
 *  - the nodes met while looking each key up, each hash-referenced node once, in depth-first
 *    pre-order (parent before children, children by ascending nibble); inline nodes stay inside
 *    their parent;
 *  - a reference to a child that itself is in the proof is replaced by an empty inline reference
 *    (the verifier takes the next proof node instead); inline children are re-encoded in place;
 *  - the value of every looked-up key that is present is left out: a leaf keeps an empty inline
 *    value, a branch drops its value. Hashed value nodes are never included.
 * Returns an empty array for an empty key set.
 */
export function generateProof(
  entries: ReadonlyArray<readonly [Uint8Array, Uint8Array]>,
  keys: ReadonlyArray<Uint8Array>,
  version: StateVersion,
  hasher: TrieHasher,
): Uint8Array[] {
  const distinct = new Map<string, Uint8Array>();
  for (const k of keys) distinct.set(toHex(k), bytesToNibbles(k));
  if (distinct.size === 0) return [];
  const root = buildTrie(entries, version, hasher);
  if (root === null) return [EMPTY_NODE.slice()];

  const out: Uint8Array[] = [];
  // `remaining`: the looked-up keys that reach this node, with the nibbles above it removed.
  const visit = (node: BuiltNode, remaining: ReadonlyArray<Uint8Array>): Uint8Array => {
    const here = remaining.filter((k) => startsWithNibbles(k, node.partial));
    if (node.children === null) {
      const hit = here.some((k) => k.length === node.partial.length);
      return hit ? encodeLeaf(node.partial, { kind: 'inline', data: new Uint8Array(0) }) : node.encoded;
    }
    const omitValue = node.value !== null && here.some((k) => k.length === node.partial.length);
    const below: Uint8Array[][] = Array.from({ length: 16 }, () => []);
    for (const k of here) if (k.length > node.partial.length) below[k[node.partial.length]!]!.push(k.subarray(node.partial.length + 1));
    const refs: (Uint8Array | null)[] = [];
    for (let i = 0; i < 16; i++) {
      const child = node.children[i] ?? null;
      if (child === null) {
        refs.push(null);
      } else if (below[i]!.length === 0) {
        refs.push(child.ref);
      } else if (child.inline) {
        refs.push(visit(child, below[i]!));
      } else {
        const slot = out.push(new Uint8Array(0)) - 1;
        out[slot] = visit(child, below[i]!);
        refs.push(new Uint8Array(0));
      }
    }
    const value = node.value === null || omitValue ? null : nodeValueFor(node.value, version, hasher);
    return encodeBranch(node.partial, value, refs);
  };
  out.push(new Uint8Array(0));
  out[0] = visit(root, [...distinct.values()]);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Proof verification (trie-db's `verify_proof`)

/** The reason a proof was rejected, named after trie-db's `VerifyError` variants. */
export type ProofError =
  | 'DuplicateKey'
  | 'ExtraneousNode'
  | 'ExtraneousValue'
  | 'ExtraneousHashReference'
  | 'InvalidChildReference'
  | 'ValueMismatch'
  | 'IncompleteProof'
  | 'RootMismatch'
  | 'DecodeError';

export type ProofVerification = { readonly ok: true } | { readonly ok: false; readonly error: ProofError; readonly detail?: string };

class ProofFailure extends Error {
  constructor(
    readonly kind: ProofError,
    detail?: string,
  ) {
    super(detail === undefined ? kind : `${kind}: ${detail}`);
  }
}

/** A key as nibbles, possibly cut short: the first `len` nibbles of `nibbles`. */
interface NibblePath {
  readonly nibbles: Uint8Array;
  readonly len: number;
}

function pathAt(p: NibblePath, i: number): number | undefined {
  return i < p.len ? p.nibbles[i] : undefined;
}

function truncatePath(p: NibblePath, len: number): NibblePath {
  return { nibbles: p.nibbles, len: Math.min(len, p.len) };
}

function pathStartsWith(p: NibblePath, prefix: NibblePath): boolean {
  if (p.len < prefix.len) return false;
  for (let i = 0; i < prefix.len; i++) if (p.nibbles[i] !== prefix.nibbles[i]) return false;
  return true;
}

/** Whether `partial` appears in `key` starting at nibble `offset` (fully inside the key). */
function pathContains(key: NibblePath, partial: Uint8Array, offset: number): boolean {
  for (let i = 0; i < partial.length; i++) if (pathAt(key, offset + i) !== partial[i]) return false;
  return true;
}

/** A child reference ready to be written into a re-encoded parent. */
function childRefFromHandle(handle: ChildHandle): Uint8Array {
  if (handle.kind === 'hash') return handle.hash; // always HASH_LENGTH bytes after decoding
  if (handle.data.length > HASH_LENGTH) throw new ProofFailure('InvalidChildReference', 'inline child longer than a hash');
  return handle.data;
}

/** One node on the verifier's path from the root. */
class VerifyFrame {
  readonly node: TrieNode;
  /** The value to put back when re-encoding (the proof's own, or the one being checked). */
  value: NodeValue | null;
  /** Next child slot to fill; slots below it are final. */
  childIndex = 0;
  readonly childRefs: (Uint8Array | null)[];

  constructor(
    encoded: Uint8Array,
    readonly prefix: NibblePath,
    readonly isInline: boolean,
  ) {
    try {
      this.node = decodeNode(encoded);
    } catch (e) {
      throw new ProofFailure('DecodeError', e instanceof Error ? e.message : String(e));
    }
    this.value = this.node.type === 'empty' ? null : this.node.value;
    this.childRefs = this.node.type === 'branch' ? new Array<Uint8Array | null>(16).fill(null) : [];
  }

  /** Copies the proof's own references for every slot from `childIndex` up to (excluding) `end`. */
  copyChildrenUpTo(end: number): void {
    if (this.node.type !== 'branch') return;
    for (; this.childIndex < end; this.childIndex++) {
      const h = this.node.children[this.childIndex];
      if (h != null) this.childRefs[this.childIndex] = childRefFromHandle(h);
    }
  }

  /** Canonical encoding with the checked values and the recomputed child references. */
  reencode(): Uint8Array {
    const node = this.node;
    switch (node.type) {
      case 'empty':
        return EMPTY_NODE.slice();
      case 'leaf':
        // A leaf's value is never cleared: only a matching item (which always has a value) touches it.
        return encodeLeaf(node.partial, this.value!);
      case 'branch':
        this.copyChildrenUpTo(16);
        return encodeBranch(node.partial, this.value, this.childRefs);
    }
  }
}

type KeyMatch =
  | { readonly kind: 'leafValue' } // the key is this leaf's key; the proof must have omitted the value
  | { readonly kind: 'branchValue' } // the key ends at this branch, whose value was omitted (or absent)
  | { readonly kind: 'notFound' } // the key is not in this sub-trie
  | { readonly kind: 'notOmitted' } // the key's value is in the proof although it should be left out
  | { readonly kind: 'child'; readonly childPrefixLen: number }; // continue in a child

function matchKey(key: NibblePath, prefixLen: number, node: TrieNode): KeyMatch {
  switch (node.type) {
    case 'empty':
      return { kind: 'notFound' };
    case 'leaf':
      if (!pathContains(key, node.partial, prefixLen) || key.len !== prefixLen + node.partial.length) return { kind: 'notFound' };
      // Only an empty inline value counts as "omitted".
      return node.value.kind === 'inline' && node.value.data.length === 0 ? { kind: 'leafValue' } : { kind: 'notOmitted' };
    case 'branch': {
      if (!pathContains(key, node.partial, prefixLen)) return { kind: 'notFound' };
      const end = prefixLen + node.partial.length;
      if (key.len === end) return node.value === null ? { kind: 'branchValue' } : { kind: 'notOmitted' };
      return node.children[pathAt(key, end)!] != null ? { kind: 'child', childPrefixLen: end + 1 } : { kind: 'notFound' };
    }
  }
}

/**
 * Full trie-db verification of `items` (key with expected value, or null to assert absence)
 * against `root`. The items are sorted and must have distinct keys. The proof is consumed
 * strictly in order: each omitted child reference takes the next node; nodes left over at the
 * end, a hash reference where the path continues, or a value present where it should have been
 * omitted all fail. The root is recomputed from canonical re-encodings of the proof nodes.
 */
export function verifyTrieProof(
  root: Uint8Array,
  proof: ReadonlyArray<Uint8Array>,
  items: ReadonlyArray<readonly [Uint8Array, Uint8Array | null]>,
  version: StateVersion,
  hasher: TrieHasher,
): ProofVerification {
  try {
    runVerification(root, proof, items, version, hasher);
    return { ok: true };
  } catch (e) {
    if (e instanceof ProofFailure) return { ok: false, error: e.kind, detail: e.message };
    throw e;
  }
}

function runVerification(
  root: Uint8Array,
  proof: ReadonlyArray<Uint8Array>,
  items: ReadonlyArray<readonly [Uint8Array, Uint8Array | null]>,
  version: StateVersion,
  hasher: TrieHasher,
): void {
  // Sorted by key, then absent-before-present, then value bytes (Rust's tuple order).
  const sorted = [...items].sort((a, b) => {
    const k = compareBytes(a[0], b[0]);
    if (k !== 0) return k;
    if (a[1] === null || b[1] === null) return (a[1] === null ? 0 : 1) - (b[1] === null ? 0 : 1);
    return compareBytes(a[1], b[1]);
  });
  if (sorted.length === 0) {
    if (proof.length !== 0) throw new ProofFailure('ExtraneousNode');
    return;
  }
  for (let i = 1; i < sorted.length; i++) {
    if (bytesEqual(sorted[i]![0], sorted[i - 1]![0])) throw new ProofFailure('DuplicateKey', toHex(sorted[i]![0]));
  }

  const threshold = valueThreshold(version);
  let nextProofNode = 0;
  const takeProofNode = (): Uint8Array => {
    if (nextProofNode >= proof.length) throw new ProofFailure('IncompleteProof');
    return proof[nextProofNode++]!;
  };

  const keys = sorted.map(([k, v]) => ({ path: { nibbles: bytesToNibbles(k), len: k.length * 2 } as NibblePath, key: k, value: v }));
  let itemIndex = 0;

  const stack: VerifyFrame[] = [];
  let top = new VerifyFrame(takeProofNode(), { nibbles: new Uint8Array(0), len: 0 }, false);

  for (;;) {
    // Consume every item that belongs to the current node; stop at the first one that needs a child.
    let descendTo: NibblePath | null = null;
    while (itemIndex < keys.length) {
      const item = keys[itemIndex]!;
      if (!pathStartsWith(item.path, top.prefix)) break;
      const m = matchKey(item.path, top.prefix.len, top.node);
      if (m.kind === 'child') {
        descendTo = truncatePath(item.path, m.childPrefixLen);
        break;
      }
      switch (m.kind) {
        case 'leafValue':
          if (item.value === null) throw new ProofFailure('ValueMismatch', toHex(item.key));
          top.value = nodeValueOfChecked(item.value, threshold, hasher);
          break;
        case 'branchValue':
          top.value = item.value === null ? null : nodeValueOfChecked(item.value, threshold, hasher);
          break;
        case 'notFound':
          if (item.value !== null) throw new ProofFailure('ValueMismatch', toHex(item.key));
          break;
        case 'notOmitted':
          throw new ProofFailure('ExtraneousValue', toHex(item.key));
      }
      itemIndex++;
    }

    if (descendTo !== null) {
      // Only branches produce a 'child' match; the slot is the last nibble of the child prefix.
      const node = top.node as Extract<TrieNode, { type: 'branch' }>;
      const slot = descendTo.nibbles[descendTo.len - 1]!;
      top.copyChildrenUpTo(slot);
      const handle = node.children[slot]!;
      let child: VerifyFrame;
      if (handle.kind === 'hash') {
        // A child on the path must be given as the next proof node, not by its hash.
        throw new ProofFailure('ExtraneousHashReference', toHex(handle.hash));
      } else if (handle.data.length === 0) {
        child = new VerifyFrame(takeProofNode(), descendTo, false);
      } else {
        child = new VerifyFrame(handle.data, descendTo, true);
      }
      stack.push(top);
      top = child;
      continue;
    }

    // Nothing more below this node: rebuild it and hand its reference to the parent.
    const encoded = top.reencode();
    let ref: Uint8Array;
    if (top.isInline) {
      if (encoded.length > HASH_LENGTH) throw new ProofFailure('InvalidChildReference', 'rebuilt inline node longer than a hash');
      ref = encoded;
    } else {
      ref = trieHash(hasher, encoded);
    }
    const parent = stack.pop();
    if (parent === undefined) {
      if (nextProofNode < proof.length) throw new ProofFailure('ExtraneousNode');
      if (!bytesEqual(ref, root)) throw new ProofFailure('RootMismatch', toHex(ref));
      return;
    }
    parent.childRefs[parent.childIndex] = ref;
    parent.childIndex++;
    top = parent;
  }
}

/** How the verifier stores a checked value: inline below the threshold, else by hash. */
function nodeValueOfChecked(value: Uint8Array, threshold: number | null, hasher: TrieHasher): NodeValue {
  return threshold !== null && value.length >= threshold ? { kind: 'hashed', hash: trieHash(hasher, value) } : { kind: 'inline', data: value };
}

/**
 * `sp_trie::verify_trie_proof::<LayoutV0/V1<H>>(root, proof, &[(key, Some(value))]).is_ok()`,
 * i.e. the `ext_trie_{blake2,keccak}_256_verify_proof` host functions (version 1 = state
 * version 0; version 2 takes the state version).
 */
export function verifyProof(
  root: Uint8Array,
  proof: ReadonlyArray<Uint8Array>,
  key: Uint8Array,
  value: Uint8Array,
  version: StateVersion,
  hasher: TrieHasher,
): boolean {
  return verifyTrieProof(root, proof, [[key, value]], version, hasher).ok;
}
