/**
 * Independent models of Substrate's host functions, for the host-API conformance suite
 * (tests/hostcall-conformance.test.ts). Written from the upstream rules (sp-io, sp-trie's
 * LayoutV0/V1 node codec, trie-db's proof verification, sp-core's crypto; summarised with sources in
 * docs/host-functions.md and docs/host-crypto.md), not from the v8 host's code: the hashes come from
 * @noble/hashes and a BigInt xxHash64 written here, the trie from a radix-16 builder written here,
 * the curve rules on @noble/curves' point arithmetic.
 */
import { blake2b } from '@noble/hashes/blake2.js';
import { keccak_256, keccak_512 } from '@noble/hashes/sha3.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import * as sr25519 from '@scure/sr25519';
import { concatBytes as cat } from '../../core/primitives/bytes.ts';

// ---------------------------------------------------------------------------------------------
// xxHash64 (twox): the reference algorithm, in BigInt.

const M64 = (1n << 64n) - 1n;
const P1 = 11400714785074694791n;
const P2 = 14029467366897019727n;
const P3 = 1609587929392839161n;
const P4 = 9650029242287828579n;
const P5 = 2870177450012600261n;
const rotl = (x: bigint, r: bigint) => ((x << r) | (x >> (64n - r))) & M64;
const u64 = (b: Uint8Array, at: number) => {
  let v = 0n;
  for (let k = 7; k >= 0; k--) v = (v << 8n) | BigInt(b[at + k]);
  return v;
};
const u32 = (b: Uint8Array, at: number) => BigInt((b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0);
const round = (acc: bigint, lane: bigint) => (rotl((acc + lane * P2) & M64, 31n) * P1) & M64;
const merge = (acc: bigint, v: bigint) => (((acc ^ round(0n, v)) * P1 + P4) & M64);

export function xxh64(data: Uint8Array, seed: bigint): bigint {
  const n = data.length;
  let at = 0;
  let h: bigint;
  if (n >= 32) {
    let v1 = (seed + P1 + P2) & M64;
    let v2 = (seed + P2) & M64;
    let v3 = seed;
    let v4 = (seed - P1) & M64;
    for (; at + 32 <= n; at += 32) {
      v1 = round(v1, u64(data, at));
      v2 = round(v2, u64(data, at + 8));
      v3 = round(v3, u64(data, at + 16));
      v4 = round(v4, u64(data, at + 24));
    }
    h = (rotl(v1, 1n) + rotl(v2, 7n) + rotl(v3, 12n) + rotl(v4, 18n)) & M64;
    h = merge(merge(merge(merge(h, v1), v2), v3), v4);
  } else {
    h = (seed + P5) & M64;
  }
  h = (h + BigInt(n)) & M64;
  for (; at + 8 <= n; at += 8) h = (rotl(h ^ round(0n, u64(data, at)), 27n) * P1 + P4) & M64;
  if (at + 4 <= n) {
    h = (rotl(h ^ ((u32(data, at) * P1) & M64), 23n) * P2 + P3) & M64;
    at += 4;
  }
  for (; at < n; at++) h = (rotl(h ^ ((BigInt(data[at]) * P5) & M64), 11n) * P1) & M64;
  h ^= h >> 33n;
  h = (h * P2) & M64;
  h ^= h >> 29n;
  h = (h * P3) & M64;
  return h ^ (h >> 32n);
}

/** Substrate's twox_{64,128,256}: xxHash64 with seeds 0, 1, 2, 3, each little endian, concatenated. */
export function twox(data: Uint8Array, bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  for (let s = 0; s < bytes / 8; s++) {
    const h = xxh64(data, BigInt(s));
    for (let k = 0; k < 8; k++) out[s * 8 + k] = Number((h >> BigInt(8 * k)) & 0xffn);
  }
  return out;
}

export const HASHES: Record<string, (d: Uint8Array) => Uint8Array> = {
  ext_hashing_keccak_256_version_1: (d) => keccak_256(d),
  ext_hashing_keccak_512_version_1: (d) => keccak_512(d),
  ext_hashing_sha2_256_version_1: (d) => sha256(d),
  ext_hashing_blake2_128_version_1: (d) => blake2b(d, { dkLen: 16 }),
  ext_hashing_blake2_256_version_1: (d) => blake2b(d, { dkLen: 32 }),
  ext_hashing_twox_64_version_1: (d) => twox(d, 8),
  ext_hashing_twox_128_version_1: (d) => twox(d, 16),
  ext_hashing_twox_256_version_1: (d) => twox(d, 32),
};

// ---------------------------------------------------------------------------------------------
// SCALE, as far as the suite needs it.

export function compact(n: number): Uint8Array {
  if (n < 64) return Uint8Array.of(n << 2);
  if (n < 1 << 14) return Uint8Array.of(((n << 2) | 1) & 0xff, n >> 6);
  if (n < 1 << 30) return Uint8Array.of(((n << 2) | 2) & 0xff, (n >> 6) & 0xff, (n >> 14) & 0xff, (n >> 22) & 0xff);
  throw new Error('compact: too large for this model');
}
export const vecBytes = (b: Uint8Array): Uint8Array => cat([compact(b.length), b]);
export const vecOf = (items: Uint8Array[]): Uint8Array => cat([compact(items.length), ...items]);

// ---------------------------------------------------------------------------------------------
// The trie: sp-trie's LayoutV0 / LayoutV1 (a value of 33 bytes or more is hashed into its node in V1).

export type TrieHash = 'blake2' | 'keccak';
const hasher = (h: TrieHash) => (d: Uint8Array) => (h === 'blake2' ? blake2b(d, { dkLen: 32 }) : keccak_256(d));

const nibblesOf = (key: Uint8Array): number[] => [...key].flatMap((b) => [b >> 4, b & 15]);

/** Header: a 2-, 3- or 4-bit kind prefix, then the nibble count in the rest of the byte and in following bytes. */
function header(prefix: number, prefixBits: number, nibbles: number): number[] {
  const max = 255 >> prefixBits;
  if (nibbles < max) return [prefix | nibbles];
  const out = [prefix | max];
  let rem = nibbles - max;
  for (;;) {
    if (rem < 255) {
      out.push(rem);
      return out;
    }
    out.push(255);
    rem -= 255;
  }
}

function partial(n: number[]): number[] {
  const out: number[] = [];
  let k = 0;
  if (n.length % 2 === 1) out.push(n[k++]);
  for (; k < n.length; k += 2) out.push((n[k] << 4) | n[k + 1]);
  return out;
}

/** A trie node: its partial key, its value if any, and for a branch its 16 child slots. */
interface TNode {
  partial: number[];
  value?: Uint8Array;
  children?: Array<TNode | undefined>;
}

/** The trie of sorted, unique entries below nibble `d`. */
function build(items: Array<[number[], Uint8Array]>, d: number): TNode {
  if (items.length === 1) return { partial: items[0][0].slice(d), value: items[0][1] };
  let c = 0;
  for (;;) {
    const at = d + c;
    if (items.some(([k]) => k.length <= at)) break;
    const nib = items[0][0][at];
    if (!items.every(([k]) => k[at] === nib)) break;
    c++;
  }
  const at = d + c;
  const children: Array<TNode | undefined> = [];
  for (let i = 0; i < 16; i++) {
    const group = items.filter(([k]) => k.length > at && k[at] === i);
    children.push(group.length ? build(group, at + 1) : undefined);
  }
  return { partial: items[0][0].slice(d, at), value: items.find(([k]) => k.length === at)?.[1], children };
}

interface Codec {
  version: 0 | 1;
  H: (b: Uint8Array) => Uint8Array;
}

/**
 * A node's encoding. `omitValue`: without its value (a proof leaves out the values of the keys it
 * proves); `childRef(i, child)`: the bytes standing for child i (default: its
 * encoding if under 32 bytes, else its hash), SCALE length-prefixed by the caller.
 */
function encode(n: TNode, c: Codec, omitValue = false, childRef?: (i: number, child: TNode) => Uint8Array): Uint8Array {
  // Left out of a proof, a leaf's value is an empty inline one, a branch's is none at all (trie-db's
  // generate.rs encodes a proof branch without its value).
  const v = omitValue ? (n.children ? undefined : new Uint8Array(0)) : n.value;
  const hashedValue = v !== undefined && c.version === 1 && v.length >= 33;
  const valueBytes = v === undefined ? new Uint8Array(0) : hashedValue ? c.H(v) : vecBytes(v);
  const key = partial(n.partial);
  if (!n.children) {
    const head = hashedValue ? header(0b001 << 5, 3, n.partial.length) : header(0b01 << 6, 2, n.partial.length);
    return cat([Uint8Array.from([...head, ...key]), valueBytes]);
  }
  const head = v === undefined ? header(0b10 << 6, 2, n.partial.length) : hashedValue ? header(0b0001 << 4, 4, n.partial.length) : header(0b11 << 6, 2, n.partial.length);
  let bitmap = 0;
  const refs: Uint8Array[] = [];
  n.children.forEach((child, i) => {
    if (!child) return;
    bitmap |= 1 << i;
    refs.push(vecBytes(childRef ? childRef(i, child) : reference(child, c)));
  });
  return cat([Uint8Array.from([...head, ...key]), Uint8Array.of(bitmap & 0xff, bitmap >> 8), valueBytes, ...refs]);
}

/** How a parent refers to a child: its encoding if under 32 bytes, else its hash. */
function reference(n: TNode, c: Codec): Uint8Array {
  const e = encode(n, c);
  return e.length < 32 ? e : c.H(e);
}

function entriesOf(pairs: ReadonlyArray<readonly [Uint8Array, Uint8Array]>): Array<[number[], Uint8Array]> {
  // The pair given last wins (sp-io's trie_root builds a BTreeMap from the list).
  const map = new Map<string, Uint8Array>();
  for (const [k, v] of pairs) map.set(Buffer.from(k).toString('hex'), v);
  return [...map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => [nibblesOf(Buffer.from(k, 'hex')), v]);
}

export interface TrieModel {
  root: Uint8Array;
  top: TNode | undefined;
  codec: Codec;
}

export function trieModel(pairs: ReadonlyArray<readonly [Uint8Array, Uint8Array]>, version: 0 | 1, h: TrieHash): TrieModel {
  const codec = { version, H: hasher(h) };
  const items = entriesOf(pairs);
  if (items.length === 0) return { root: codec.H(Uint8Array.of(0)), top: undefined, codec };
  const top = build(items, 0);
  return { root: codec.H(encode(top, codec)), top, codec };
}

export const orderedPairs = (values: Uint8Array[]): Array<[Uint8Array, Uint8Array]> => values.map((v, i) => [compact(i), v]);

/**
 * trie-db's proof of one key that the trie holds (trie_db::proof::generate_proof): the nodes on the
 * key's path that are referenced by hash, in pre-order, the root first; in them the key's value is
 * left out (an empty inline value) and so is the reference to the next node of the proof (an empty
 * inline reference); inline nodes on the path are embedded with the same omissions.
 */
export function proofOf(model: TrieModel, key: Uint8Array): Uint8Array[] {
  const want = nibblesOf(key);
  const c = model.codec;
  // The proof encoding of n (whose partial key starts at nibble d), and the proof nodes after it.
  const visit = (n: TNode, d: number): { enc: Uint8Array; after: Uint8Array[] } => {
    const at = d + n.partial.length;
    if (at === want.length || !n.children) return { enc: encode(n, c, true), after: [] };
    const next = want[at];
    let after: Uint8Array[] = [];
    const enc = encode(n, c, false, (i, child) => {
      if (i !== next) return reference(child, c);
      const inner = visit(child, at + 1);
      if (encode(child, c).length < 32) {
        after = inner.after;
        return inner.enc;
      }
      after = [inner.enc, ...inner.after];
      return new Uint8Array(0);
    });
    return { enc, after };
  };
  if (!model.top) return [];
  const root = visit(model.top, 0);
  return [root.enc, ...root.after];
}

// ---------------------------------------------------------------------------------------------
// Crypto (docs/host-crypto.md).

const N = secp256k1.Point.CURVE().n;
const Pp = secp256k1.Point.CURVE().p;
const big = (b: Uint8Array) => BigInt('0x' + (Buffer.from(b).toString('hex') || '0'));
const mod = (a: bigint, m: bigint) => ((a % m) + m) % m;
function powmod(b: bigint, e: bigint, m: bigint): bigint {
  let r = 1n;
  b = mod(b, m);
  for (; e > 0n; e >>= 1n, b = (b * b) % m) if (e & 1n) r = (r * b) % m;
  return r;
}

/** secp256k1 recovery from scalars r, s and a recovery id 0..3 (§4); undefined if it fails. */
function recoverPoint(r: bigint, s: bigint, id: number, z: bigint) {
  if (r === 0n || s === 0n) return undefined;
  const x = id & 2 ? r + N : r;
  if (x >= Pp) return undefined;
  const y2 = mod(x ** 3n + 7n, Pp);
  let y = powmod(y2, (Pp + 1n) / 4n, Pp);
  if ((y * y) % Pp !== y2) return undefined;
  if ((y & 1n) !== BigInt(id & 1)) y = Pp - y;
  const R = secp256k1.Point.fromAffine({ x, y });
  const rInv = powmod(r, N - 2n, N);
  const zz = mod(z, N);
  const sR = R.multiply(mod(s * rInv, N));
  const zG = zz === 0n ? secp256k1.Point.ZERO : secp256k1.Point.BASE.multiply(mod(zz * rInv, N));
  const Q = sR.subtract(zG);
  return Q.equals(secp256k1.Point.ZERO) ? undefined : Q;
}

/** `secp256k1_ecdsa_recover{,_compressed}_version_{1,2}`: the SCALE Result bytes. */
export function recoverModel(sig: Uint8Array, msg: Uint8Array, version: 1 | 2, compressed: boolean): Uint8Array {
  const err = (i: number) => Uint8Array.of(1, i); // BadRS 0, BadV 1, BadSignature 2
  let v = sig[64];
  if (v > 26) v = (v - 27) & 0xff;
  if (v > 3) return err(1);
  let r = big(sig.subarray(0, 32));
  let s = big(sig.subarray(32, 64));
  if (version === 1) {
    r = mod(r, N);
    s = mod(s, N);
  } else if (r >= N || s >= N) return err(0);
  const Q = recoverPoint(r, s, v, big(msg));
  if (!Q) return err(2);
  const key = compressed ? Q.toBytes(true) : Q.toBytes(false).subarray(1);
  return cat([Uint8Array.of(0), key]);
}

/** `ecdsa_verify_version_{1,2}` / `ecdsa_verify_prehashed_version_1` (digest given). */
export function ecdsaVerifyModel(sig: Uint8Array, digest: Uint8Array, pub: Uint8Array, version: 1 | 2): number {
  const v = sig[64];
  if (v > 3) return 0;
  let r = big(sig.subarray(0, 32));
  let s = big(sig.subarray(32, 64));
  if (version === 1) {
    r = mod(r, N);
    s = mod(s, N);
  } else if (r >= N || s >= N) return 0;
  const Q = recoverPoint(r, s, v, big(digest));
  return Q && Buffer.from(Q.toBytes(true)).equals(Buffer.from(pub)) ? 1 : 0;
}

/** ed25519-zebra (ZIP-215): noble's verify with zip215, and s < L. */
export function ed25519Model(sig: Uint8Array, msg: Uint8Array, pub: Uint8Array): number {
  try {
    return ed25519.verify(sig, msg, pub, { zip215: true }) ? 1 : 0;
  } catch {
    return 0;
  }
}

/** sr25519 for signatures in the current format (marker set, s < L): v1 and v2 agree there. */
export function sr25519Model(sig: Uint8Array, msg: Uint8Array, pub: Uint8Array): number {
  try {
    return sr25519.verify(msg, sig, pub) ? 1 : 0;
  } catch {
    return 0;
  }
}

export const blake2_256 = (d: Uint8Array): Uint8Array => blake2b(d, { dkLen: 32 });
export { cat };
