/**
 * Signature verification and key recovery with the exact acceptance rules of the
 * Polkadot/Substrate host (`sp_io::crypto`, as offered to PVFs by
 * `polkadot-node-core-pvf-common`).
 *
 * Everything here is pure: byte arrays in, booleans / byte arrays / tagged results out.
 * The Wasm glue (reading pointers, allocating return buffers, SCALE-encoding) lives elsewhere;
 * `docs/host-crypto.md` describes, function by function, how the glue must use these helpers.
 *
 * Upstream reference points (what each helper reproduces):
 *  - ed25519: `sp_core::ed25519::Pair::verify` → ed25519-zebra 4.x (ZIP-215 rules).
 *    The PVF host never registers `UseDalekExt`, so the dalek branch of `ed25519_verify` is
 *    unreachable for PVFs.
 *  - sr25519 v1: `sp_core::sr25519::Pair::verify_deprecated` →
 *    `schnorrkel::PublicKey::verify_simple_preaudit_deprecated` (still accepts schnorrkel 0.1.1
 *    signatures, i.e. signatures without the 0x80 marker, using the old transcript).
 *  - sr25519 v2: `sp_core::sr25519::Pair::verify` → `schnorrkel::PublicKey::verify_simple`.
 *  - ecdsa v1: `sp_core::ecdsa::Pair::verify_deprecated` (libsecp256k1, overflowing r/s).
 *  - ecdsa v2 / prehashed: `sp_core::ecdsa::Pair::verify{,_prehashed}` (secp256k1 / libsecp256k1-C
 *    semantics, r and s must be < n).
 *  - secp256k1_ecdsa_recover{,_compressed}: v1 libsecp256k1 (overflowing r/s), v2/v3 secp256k1.
 *
 * Library choices: `@noble/curves` supplies the group arithmetic (edwards25519, ristretto255,
 * secp256k1 points and scalar fields), `@noble/hashes` supplies BLAKE2b, SHA-512 (inside noble's
 * ed25519) and the Keccak-f[1600] permutation used by the Merlin transcript implemented below.
 * `@scure/sr25519` is deliberately NOT used for verification because its `verify` differs from
 * schnorrkel in edge cases (it rejects the identity public key, throws instead of returning
 * false, cannot do the deprecated 0.1.1 transcript, and its scalar multiplication rejects s = 0).
 * It is used by the tests as an independent signer.
 */

import { concatBytes } from '../../../core/primitives/bytes.ts';
import { ed25519, ristretto255 } from '@noble/curves/ed25519.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { blake2_256 } from '../../../core/primitives/hashing.ts';
import { keccakP } from '@noble/hashes/sha3.js';
import { isLE, byteSwap32 } from '@noble/hashes/utils.js';

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

function requireLength(what: string, bytes: Uint8Array, len: number): void {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`${what}: expected Uint8Array`);
  if (bytes.length !== len) {
    throw new RangeError(`${what}: expected ${len} bytes, got ${bytes.length}`);
  }
}

function bytesToBigIntLE(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]);
  return n;
}

function bytesToBigIntBE(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = 0; i < bytes.length; i++) n = (n << 8n) | BigInt(bytes[i]);
  return n;
}

function bigIntToBytesBE(n: bigint, len: number): Uint8Array {
  const out = new Uint8Array(len);
  let v = n;
  for (let i = len - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

const UTF8 = new TextEncoder();

// ---------------------------------------------------------------------------------------------
// ed25519 (ed25519-zebra / ZIP-215)
// ---------------------------------------------------------------------------------------------

/**
 * `sp_core::ed25519::Pair::verify`, i.e. ed25519-zebra `VerificationKey::verify` (ZIP-215):
 *  - A (public key) and R may be any encoding that decompresses to a curve point: y may be
 *    non-canonical (y ≥ p, reduced mod p), x = 0 with the sign bit set is accepted, points of
 *    small order (including the identity) are accepted.
 *  - s must be canonical (s < L), otherwise the signature is rejected.
 *  - k = SHA-512(R_bytes ‖ A_bytes ‖ msg) mod L, hashing the bytes exactly as given.
 *  - accept iff [8](R + [k]A − [s]B) is the identity (cofactored equation).
 *
 * `@noble/curves` ed25519.verify with `zip215: true` implements exactly these rules (checked
 * against the ed25519-zebra small-order / non-canonical vectors in the tests): `Point.fromBytes`
 * in zip215 mode accepts y < 2^255 and x = 0 with sign bit 1, `multiplyUnsafe(s)` rejects s ≥ L,
 * the challenge hashes the raw input bytes and the check is `clearCofactor().is0()`.
 * We only add the length checks and make sure nothing throws.
 */
export function ed25519Verify(sig: Uint8Array, msg: Uint8Array, pub: Uint8Array): boolean {
  requireLength('ed25519 signature', sig, 64);
  requireLength('ed25519 public key', pub, 32);
  try {
    return ed25519.verify(sig, msg, pub, { zip215: true });
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Strobe-128 / Merlin transcripts (needed for schnorrkel)
// ---------------------------------------------------------------------------------------------

const STROBE_R = 166;
const FLAG_I = 1;
const FLAG_A = 1 << 1;
const FLAG_C = 1 << 2;
const FLAG_T = 1 << 3;
const FLAG_M = 1 << 4;
const FLAG_K = 1 << 5;

/** The subset of Strobe-128 (v1.0.2) that Merlin uses: meta-AD, AD and PRF. */
class Strobe128 {
  private readonly state = new Uint8Array(200);
  private readonly words = new Uint32Array(this.state.buffer, this.state.byteOffset, 50);
  private pos = 0;
  private posBegin = 0;
  private curFlags = 0;

  constructor(protocolLabel: Uint8Array) {
    this.state.set([1, STROBE_R + 2, 1, 0, 1, 96], 0);
    this.state.set(UTF8.encode('STROBEv1.0.2'), 6);
    this.permute();
    this.metaAd(protocolLabel, false);
  }

  private permute(): void {
    // keccakP works on 32-bit little-endian lanes.
    if (!isLE) byteSwap32(this.words);
    keccakP(this.words);
    if (!isLE) byteSwap32(this.words);
  }

  private runF(): void {
    this.state[this.pos] ^= this.posBegin;
    this.state[this.pos + 1] ^= 0x04;
    this.state[STROBE_R + 1] ^= 0x80;
    this.permute();
    this.pos = 0;
    this.posBegin = 0;
  }

  private absorb(data: Uint8Array): void {
    for (const byte of data) {
      this.state[this.pos] ^= byte;
      this.pos += 1;
      if (this.pos === STROBE_R) this.runF();
    }
  }

  private squeeze(out: Uint8Array): void {
    for (let i = 0; i < out.length; i++) {
      out[i] = this.state[this.pos];
      this.state[this.pos] = 0;
      this.pos += 1;
      if (this.pos === STROBE_R) this.runF();
    }
  }

  private beginOp(flags: number, more: boolean): void {
    if (more) {
      if (this.curFlags !== flags) throw new Error('strobe: continued op with different flags');
      return;
    }
    if ((flags & FLAG_T) !== 0) throw new Error('strobe: transport ops are not supported');
    const oldBegin = this.posBegin;
    this.posBegin = this.pos + 1;
    this.curFlags = flags;
    this.absorb(Uint8Array.of(oldBegin, flags));
    const forceF = (flags & (FLAG_C | FLAG_K)) !== 0;
    if (forceF && this.pos !== 0) this.runF();
  }

  metaAd(data: Uint8Array, more: boolean): void {
    this.beginOp(FLAG_M | FLAG_A, more);
    this.absorb(data);
  }

  ad(data: Uint8Array, more: boolean): void {
    this.beginOp(FLAG_A, more);
    this.absorb(data);
  }

  prf(out: Uint8Array, more: boolean): void {
    this.beginOp(FLAG_I | FLAG_A | FLAG_C, more);
    this.squeeze(out);
  }
}

function u32le(n: number): Uint8Array {
  return Uint8Array.of(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff);
}

/** Merlin transcript (merlin 3.x): `Transcript::new`, `append_message`, `challenge_bytes`. */
export class MerlinTranscript {
  private readonly strobe = new Strobe128(UTF8.encode('Merlin v1.0'));

  constructor(label: Uint8Array | string) {
    this.appendMessage('dom-sep', label);
  }

  appendMessage(label: Uint8Array | string, message: Uint8Array | string): void {
    const l = typeof label === 'string' ? UTF8.encode(label) : label;
    const m = typeof message === 'string' ? UTF8.encode(message) : message;
    this.strobe.metaAd(l, false);
    this.strobe.metaAd(u32le(m.length), true);
    this.strobe.ad(m, false);
  }

  challengeBytes(label: Uint8Array | string, length: number): Uint8Array {
    const l = typeof label === 'string' ? UTF8.encode(label) : label;
    const out = new Uint8Array(length);
    this.strobe.metaAd(l, false);
    this.strobe.metaAd(u32le(length), true);
    this.strobe.prf(out, false);
    return out;
  }

  /** schnorrkel `challenge_scalar`: 64 challenge bytes reduced mod L (little endian). */
  challengeScalar(label: Uint8Array | string): bigint {
    return bytesToBigIntLE(this.challengeBytes(label, 64)) % ED25519_L;
  }
}

// ---------------------------------------------------------------------------------------------
// sr25519 (schnorrkel)
// ---------------------------------------------------------------------------------------------

const ED25519_L = 2n ** 252n + 27742317777372353535851937790883648493n;
const RistrettoPoint = ristretto255.Point;
type Ristretto = InstanceType<typeof RistrettoPoint>;

/** The signing context Substrate uses for sr25519 (`sp_core::sr25519::SIGNING_CTX`). */
export const SR25519_SIGNING_CONTEXT: Uint8Array = UTF8.encode('substrate');

/** Ristretto255 decoding as curve25519-dalek's `CompressedRistretto::decompress` (RFC 9496). */
function decodeRistretto(bytes: Uint8Array): Ristretto | null {
  try {
    return RistrettoPoint.fromBytes(bytes);
  } catch {
    return null;
  }
}

/**
 * schnorrkel `check_scalar`: the scalar must be canonical (< L). (schnorrkel skips the full check
 * when the top 4 bits are clear, but such values are < 2^252 < L anyway, so this is identical.)
 */
function canonicalScalar(bytes: Uint8Array): bigint | null {
  const s = bytesToBigIntLE(bytes);
  return s < ED25519_L ? s : null;
}

/**
 * Common tail of schnorrkel's verification: R' = [s]B − [k]A, accept iff
 * compress(R') equals the 32 R bytes of the signature (byte comparison, so a non-canonical or
 * undecodable R can never match).
 */
function schnorrkelEquation(k: bigint, a: Ristretto, s: bigint, rBytes: Uint8Array): boolean {
  // multiplyUnsafe accepts 0 (unlike multiply); both k and s are already reduced.
  const rPrime = RistrettoPoint.BASE.multiplyUnsafe(s).subtract(a.multiplyUnsafe(k));
  return equalBytes(rPrime.toBytes(), rBytes);
}

/** A signing transcript as built by `SigningContext::new(ctx).bytes(msg)`. */
function signingTranscript(ctx: Uint8Array, msg: Uint8Array): MerlinTranscript {
  const t = new MerlinTranscript('SigningContext');
  t.appendMessage('', ctx);
  t.appendMessage('sign-bytes', msg);
  return t;
}

/**
 * schnorrkel `PublicKey::verify` on a signature whose scalar was already parsed and whose
 * public key is the decoded point `a` with (canonical) encoding `pubBytes`.
 */
function schnorrkelVerifyCurrent(
  msg: Uint8Array,
  pubBytes: Uint8Array,
  a: Ristretto,
  rBytes: Uint8Array,
  s: bigint,
): boolean {
  const t = signingTranscript(SR25519_SIGNING_CONTEXT, msg);
  t.appendMessage('proto-name', 'Schnorr-sig');
  t.appendMessage('sign:pk', pubBytes);
  t.appendMessage('sign:R', rBytes);
  const k = t.challengeScalar('sign:c');
  return schnorrkelEquation(k, a, s, rBytes);
}

/**
 * `Signature::from_bytes` of schnorrkel: the 0x80 bit of byte 63 must be set (the "schnorrkel
 * marker"); it is cleared and the remaining 32 bytes must be a canonical scalar.
 * Returns the scalar or a failure reason.
 */
function parseMarkedSignature(sig: Uint8Array): { r: Uint8Array; s: bigint } | 'unmarked' | 'bad-scalar' {
  if ((sig[63] & 0x80) === 0) return 'unmarked';
  const upper = sig.slice(32, 64);
  upper[31] &= 0x7f;
  const s = canonicalScalar(upper);
  if (s === null) return 'bad-scalar';
  return { r: sig.subarray(0, 32), s };
}

/**
 * `ext_crypto_sr25519_verify_version_2` = `sp_core::sr25519::Pair::verify` =
 * schnorrkel `verify_simple(b"substrate", msg, sig)`:
 *  - signature must carry the 0x80 marker in byte 63, s (marker cleared) must be < L;
 *  - public key must be a valid canonical Ristretto encoding (the identity IS accepted);
 *  - R is not decoded, only compared bytewise with the recomputed [s]B − [k]A.
 */
export function sr25519VerifyV2(sig: Uint8Array, msg: Uint8Array, pub: Uint8Array): boolean {
  requireLength('sr25519 signature', sig, 64);
  requireLength('sr25519 public key', pub, 32);
  const parsed = parseMarkedSignature(sig);
  if (typeof parsed === 'string') return false;
  const a = decodeRistretto(pub);
  if (a === null) return false;
  return schnorrkelVerifyCurrent(msg, pub, a, parsed.r, parsed.s);
}

/**
 * `ext_crypto_sr25519_verify_version_1` = `sp_core::sr25519::Pair::verify_deprecated` =
 * schnorrkel `verify_simple_preaudit_deprecated(b"substrate", msg, sig)`:
 *  1. public key must decode (else false);
 *  2. if the signature parses as a current (marked, canonical) signature, the result is the
 *     current verification and nothing else (no fallback when that equation fails);
 *  3. otherwise the marker bit is forced on and the signature parsed again (a marked signature
 *     with a non-canonical s therefore still fails); the old schnorrkel 0.1.1 transcript is used:
 *     Transcript::new(ctx); append("sign-bytes", msg); append("proto-name", "Schnorr-sig");
 *     append("pk", A); append("no", R); k = challenge_scalar("").
 */
export function sr25519VerifyV1(sig: Uint8Array, msg: Uint8Array, pub: Uint8Array): boolean {
  requireLength('sr25519 signature', sig, 64);
  requireLength('sr25519 public key', pub, 32);
  const a = decodeRistretto(pub);
  if (a === null) return false;
  const parsed = parseMarkedSignature(sig);
  if (typeof parsed !== 'string') return schnorrkelVerifyCurrent(msg, pub, a, parsed.r, parsed.s);
  // Fallback: "not distinguished from ed25519" parsing. Setting the marker and re-parsing
  // only leaves the canonical-scalar check, which fails in the same way for both cases.
  const upper = sig.slice(32, 64);
  upper[31] &= 0x7f;
  const s = canonicalScalar(upper);
  if (s === null) return false;
  const rBytes = sig.subarray(0, 32);
  const t = new MerlinTranscript(SR25519_SIGNING_CONTEXT);
  t.appendMessage('sign-bytes', msg);
  t.appendMessage('proto-name', 'Schnorr-sig');
  t.appendMessage('pk', pub);
  t.appendMessage('no', rBytes);
  const k = t.challengeScalar('');
  return schnorrkelEquation(k, a, s, rBytes);
}

// ---------------------------------------------------------------------------------------------
// secp256k1 ECDSA
// ---------------------------------------------------------------------------------------------

const Secp = secp256k1.Point;
type SecpPoint = InstanceType<typeof Secp>;
const SECP_N = Secp.Fn.ORDER;
const SECP_P = Secp.Fp.ORDER;

function modN(x: bigint): bigint {
  const r = x % SECP_N;
  return r < 0n ? r + SECP_N : r;
}

/** Modular inverse mod n (n prime, x ≠ 0). */
function invN(x: bigint): bigint {
  return Secp.Fn.inv(modN(x));
}

/**
 * Public key recovery exactly as libsecp256k1 (both the C library behind the `secp256k1` crate,
 * `secp256k1_ecdsa_sig_recover`, and paritytech's pure-Rust `libsecp256k1::recover_raw`):
 *  - r = 0 or s = 0 → failure;
 *  - recid bit 1 set: x = r + n, which must be < p (i.e. r < p − n), else failure;
 *  - R = the point with that x and y parity = recid bit 0; failure if x is not on the curve;
 *  - Q = r⁻¹(sR − zG) with z = msg mod n; failure if Q is the point at infinity.
 * High s is accepted (no low-s rule in recovery). `r`, `s` must already be < n.
 */
function recoverPoint(r: bigint, s: bigint, recid: number, msg32: Uint8Array): SecpPoint | null {
  if (r === 0n || s === 0n) return null;
  let x = r;
  if ((recid & 2) !== 0) {
    if (r >= SECP_P - SECP_N) return null;
    x = r + SECP_N;
  }
  let bigR: SecpPoint;
  try {
    const prefix = (recid & 1) !== 0 ? 0x03 : 0x02;
    bigR = Secp.fromBytes(concatBytes([Uint8Array.of(prefix), bigIntToBytesBE(x, 32)]));
  } catch {
    return null;
  }
  const z = modN(bytesToBigIntBE(msg32));
  const rInv = invN(r);
  const u1 = modN(-z * rInv);
  const u2 = modN(s * rInv);
  const q = Secp.BASE.multiplyUnsafe(u1).add(bigR.multiplyUnsafe(u2));
  if (q.is0()) return null;
  return q;
}

/** The three errors of `sp_io::EcdsaVerifyError`, in SCALE declaration order. */
export type EcdsaVerifyError = 'BadRS' | 'BadV' | 'BadSignature';

/** SCALE variant index of each `EcdsaVerifyError` (used by versions 1 and 2 of the recover fns). */
export const ECDSA_VERIFY_ERROR_SCALE_INDEX: Readonly<Record<EcdsaVerifyError, number>> = {
  BadRS: 0,
  BadV: 1,
  BadSignature: 2,
};

/** The i32 error code of each `EcdsaVerifyError` returned by version 3 of the recover fns. */
export const ECDSA_VERIFY_ERROR_FFI_CODE: Readonly<Record<EcdsaVerifyError, number>> = {
  BadRS: -1,
  BadV: -2,
  BadSignature: -3,
};

export type EcdsaRecoverResult = { ok: Uint8Array } | { err: EcdsaVerifyError };

/** Host-function version of `secp256k1_ecdsa_recover{,_compressed}`. */
export type RecoverVersion = 1 | 2 | 3;

/**
 * Shared body of `secp256k1_ecdsa_recover*`. Order of checks is the upstream one:
 * V first (BadV), then R/S parsing (BadRS), then recovery (BadSignature).
 *  - V: byte 64; values > 26 have 27 subtracted (u8 arithmetic), the result must be 0..=3.
 *    So 0,1,2,3,27,28,29,30 are accepted; 4..=26 and 31..=255 give BadV.
 *  - version 1 (libsecp256k1 `parse_overflowing_slice`): r and s are reduced mod n, never BadRS.
 *  - versions 2 and 3 (secp256k1 `RecoverableSignature::from_compact`): r ≥ n or s ≥ n → BadRS.
 *    r = 0 or s = 0 parse fine and then fail recovery → BadSignature.
 */
function recoverInner(sig: Uint8Array, msg32: Uint8Array, version: RecoverVersion): SecpPoint | EcdsaVerifyError {
  requireLength('secp256k1 signature', sig, 65);
  requireLength('secp256k1 message hash', msg32, 32);
  if (version !== 1 && version !== 2 && version !== 3) throw new RangeError(`unknown recover version ${String(version)}`);
  const vByte = sig[64];
  const recid = vByte > 26 ? vByte - 27 : vByte;
  if (recid > 3) return 'BadV';
  let r = bytesToBigIntBE(sig.subarray(0, 32));
  let s = bytesToBigIntBE(sig.subarray(32, 64));
  if (version === 1) {
    r = modN(r);
    s = modN(s);
  } else if (r >= SECP_N || s >= SECP_N) {
    return 'BadRS';
  }
  const q = recoverPoint(r, s, recid, msg32);
  return q === null ? 'BadSignature' : q;
}

/**
 * `ext_crypto_secp256k1_ecdsa_recover_version_{1,2,3}`: on success the 64-byte uncompressed
 * public key without the 0x04 prefix (x ‖ y, big endian).
 */
export function secp256k1EcdsaRecover(sig: Uint8Array, msg32: Uint8Array, version: RecoverVersion): EcdsaRecoverResult {
  const res = recoverInner(sig, msg32, version);
  if (typeof res === 'string') return { err: res };
  return { ok: res.toBytes(false).slice(1) };
}

/**
 * `ext_crypto_secp256k1_ecdsa_recover_compressed_version_{1,2,3}`: on success the 33-byte
 * SEC1-compressed public key.
 */
export function secp256k1EcdsaRecoverCompressed(
  sig: Uint8Array,
  msg32: Uint8Array,
  version: RecoverVersion,
): EcdsaRecoverResult {
  const res = recoverInner(sig, msg32, version);
  if (typeof res === 'string') return { err: res };
  return { ok: res.toBytes(true) };
}

/**
 * SCALE encoding of `Result<[u8; N], EcdsaVerifyError>` as returned (allocated in Wasm memory,
 * pointer-size) by versions 1 and 2 of the recover functions:
 * Ok → `0x00 ‖ N bytes`; Err → `0x01 ‖ variant index` (BadRS 0, BadV 1, BadSignature 2).
 */
export function encodeEcdsaRecoverResult(res: EcdsaRecoverResult): Uint8Array {
  if ('ok' in res) return concatBytes([Uint8Array.of(0), res.ok]);
  return Uint8Array.of(1, ECDSA_VERIFY_ERROR_SCALE_INDEX[res.err]);
}

/** i32 returned by version 3 of the recover functions: 0 on success, −1/−2/−3 on error. */
export function ecdsaRecoverResultFfiCode(res: EcdsaRecoverResult): number {
  return 'ok' in res ? 0 : ECDSA_VERIFY_ERROR_FFI_CODE[res.err];
}

/**
 * `ext_crypto_ecdsa_verify_version_1` = `sp_core::ecdsa::Pair::verify_deprecated`:
 * z = blake2_256(msg); signature parsed with libsecp256k1 `parse_overflowing_slice` (r, s reduced
 * mod n) and `RecoveryId::parse(sig[64])` (only 0..=3: NO 27/28 mapping here); recover and compare
 * the 33-byte compressed encoding of the recovered key with `pub` bytewise. High s accepted.
 */
export function ecdsaVerifyV1(sig: Uint8Array, msg: Uint8Array, pub: Uint8Array): boolean {
  requireLength('ecdsa signature', sig, 65);
  requireLength('ecdsa public key', pub, 33);
  const recid = sig[64];
  if (recid > 3) return false;
  const r = modN(bytesToBigIntBE(sig.subarray(0, 32)));
  const s = modN(bytesToBigIntBE(sig.subarray(32, 64)));
  const q = recoverPoint(r, s, recid, blake2_256(msg));
  return q !== null && equalBytes(q.toBytes(true), pub);
}

/**
 * `sp_core::ecdsa::Signature::recover_prehashed` + compare (secp256k1 crate):
 * `RecoveryId::from_i32(sig[64])` (0..=3 only, no 27/28 mapping), `from_compact` (r, s < n),
 * recover, compare the compressed key bytewise with `pub`. High s accepted.
 */
function ecdsaVerifyStrictPrehashed(sig: Uint8Array, msg32: Uint8Array, pub: Uint8Array): boolean {
  const recid = sig[64];
  if (recid > 3) return false;
  const r = bytesToBigIntBE(sig.subarray(0, 32));
  const s = bytesToBigIntBE(sig.subarray(32, 64));
  if (r >= SECP_N || s >= SECP_N) return false;
  const q = recoverPoint(r, s, recid, msg32);
  return q !== null && equalBytes(q.toBytes(true), pub);
}

/** `ext_crypto_ecdsa_verify_version_2` = `sp_core::ecdsa::Pair::verify` (blake2_256 of msg). */
export function ecdsaVerifyV2(sig: Uint8Array, msg: Uint8Array, pub: Uint8Array): boolean {
  requireLength('ecdsa signature', sig, 65);
  requireLength('ecdsa public key', pub, 33);
  return ecdsaVerifyStrictPrehashed(sig, blake2_256(msg), pub);
}

/**
 * `ext_crypto_ecdsa_verify_prehashed_version_1` = `sp_core::ecdsa::Pair::verify_prehashed`:
 * same rules as version 2 of `ecdsa_verify` but `msg32` is used directly as the digest.
 * (There is no version 2 of this host function.)
 */
export function ecdsaVerifyPrehashedV1(sig: Uint8Array, msg32: Uint8Array, pub: Uint8Array): boolean {
  requireLength('ecdsa signature', sig, 65);
  requireLength('ecdsa message hash', msg32, 32);
  requireLength('ecdsa public key', pub, 33);
  return ecdsaVerifyStrictPrehashed(sig, msg32, pub);
}

// ---------------------------------------------------------------------------------------------
// Host panics (traps) and the deprecated batch-verification state machine
// ---------------------------------------------------------------------------------------------

/**
 * A Rust panic inside a host function. Upstream (sp-runtime-interface's wasmtime glue) catches it
 * and turns it into a trap whose message is
 * `host code panicked while being called by the runtime: <panicMessage>`.
 */
export class HostFunctionPanic extends Error {
  readonly panicMessage: string;
  constructor(panicMessage: string) {
    super(`host code panicked while being called by the runtime: ${panicMessage}`);
    this.name = 'HostFunctionPanic';
    this.panicMessage = panicMessage;
  }
}

/** Panic message of `start_batch_verify` when a batch is already active (Result::expect). */
export const START_BATCH_ALREADY_ACTIVE_PANIC =
  'Failed to register required extension: `VerificationExt`: ExtensionAlreadyRegistered';
/** Panic message of `finish_batch_verify` without an active batch (Option::expect). */
export const FINISH_BATCH_NOT_STARTED_PANIC =
  '`finish_batch_verify` should only be called after `start_batch_verify`';

/**
 * Emulation of the `VerificationExtDeprecated(bool)` extension that the `register_only`
 * batch-verification host functions still use. One instance per PVF execution.
 *
 * No signature is ever deferred: every `*_batch_verify` call verifies immediately and returns
 * the result; if a batch is active the result is also AND-ed into the batch flag.
 * `*_batch_verify` without an active batch is NOT an error upstream (it just verifies).
 */
export class BatchVerifier {
  private state: boolean | null = null;

  /** True between `start_batch_verify` and `finish_batch_verify`. */
  get active(): boolean {
    return this.state !== null;
  }

  /** `ext_crypto_start_batch_verify_version_1`. Throws HostFunctionPanic if already active. */
  start(): void {
    if (this.state !== null) throw new HostFunctionPanic(START_BATCH_ALREADY_ACTIVE_PANIC);
    this.state = true;
  }

  /**
   * `ext_crypto_finish_batch_verify_version_1`: returns the AND of all results recorded since
   * `start` (true if none) and deactivates the batch. Throws HostFunctionPanic if not active.
   */
  finish(): boolean {
    if (this.state === null) throw new HostFunctionPanic(FINISH_BATCH_NOT_STARTED_PANIC);
    const result = this.state;
    this.state = null;
    return result;
  }

  /** Record an already computed verification result; returns it unchanged. */
  record(valid: boolean): boolean {
    if (this.state !== null) this.state = this.state && valid;
    return valid;
  }

  /** `ext_crypto_ed25519_batch_verify_version_1` (ed25519-zebra rules). */
  ed25519BatchVerify(sig: Uint8Array, msg: Uint8Array, pub: Uint8Array): boolean {
    return this.record(ed25519Verify(sig, msg, pub));
  }

  /** `ext_crypto_sr25519_batch_verify_version_1`: uses the LATEST sr25519_verify, i.e. v2 rules. */
  sr25519BatchVerify(sig: Uint8Array, msg: Uint8Array, pub: Uint8Array): boolean {
    return this.record(sr25519VerifyV2(sig, msg, pub));
  }

  /** `ext_crypto_ecdsa_batch_verify_version_1`: uses the LATEST ecdsa_verify, i.e. v2 rules. */
  ecdsaBatchVerify(sig: Uint8Array, msg: Uint8Array, pub: Uint8Array): boolean {
    return this.record(ecdsaVerifyV2(sig, msg, pub));
  }
}

// ---------------------------------------------------------------------------------------------
// Keystore functions (no keystore in PVF validation)
// ---------------------------------------------------------------------------------------------

/** `Option::expect` message when `KeystoreExt` is absent, as it always is for PVFs. */
export const NO_KEYSTORE_PANIC = 'No `keystore` associated for the current context!';

/**
 * Debug rendering of Rust's `core::str::Utf8Error` for `bytes`, or null if `bytes` is valid
 * UTF-8. Matches `Utf8Error { valid_up_to: N, error_len: Some(k) | None }`.
 */
export function rustUtf8ErrorDebug(bytes: Uint8Array): string | null {
  let i = 0;
  const n = bytes.length;
  const fail = (len: number | null): string =>
    `Utf8Error { valid_up_to: ${i}, error_len: ${len === null ? 'None' : `Some(${len})`} }`;
  while (i < n) {
    const b0 = bytes[i];
    if (b0 < 0x80) {
      i += 1;
      continue;
    }
    let width: number;
    if (b0 >= 0xc2 && b0 <= 0xdf) width = 2;
    else if (b0 >= 0xe0 && b0 <= 0xef) width = 3;
    else if (b0 >= 0xf0 && b0 <= 0xf4) width = 4;
    else return fail(1);
    // Allowed range of the second byte depends on the first one (no overlongs, no surrogates,
    // nothing above U+10FFFF).
    let lo = 0x80;
    let hi = 0xbf;
    if (b0 === 0xe0) lo = 0xa0;
    else if (b0 === 0xed) hi = 0x9f;
    else if (b0 === 0xf0) lo = 0x90;
    else if (b0 === 0xf4) hi = 0x8f;
    if (i + 1 >= n) return fail(null);
    const b1 = bytes[i + 1];
    if (b1 < lo || b1 > hi) return fail(1);
    if (width >= 3) {
      if (i + 2 >= n) return fail(null);
      const b2 = bytes[i + 2];
      if (b2 < 0x80 || b2 > 0xbf) return fail(2);
    }
    if (width === 4) {
      if (i + 3 >= n) return fail(null);
      const b3 = bytes[i + 3];
      if (b3 < 0x80 || b3 > 0xbf) return fail(3);
    }
    i += width;
  }
  return null;
}

/**
 * Panic message produced upstream when a PVF calls a keystore host function
 * (`*_public_keys`, `*_num_public_keys`, `*_public_key`, `*_generate`, `*_sign`,
 * `*_sign_prehashed`, `*_generate_proof_of_possession`, `*_sign_with_keccak256`).
 *
 * For the `*_generate` functions pass the already SCALE-decoded seed (`Option<Vec<u8>>`):
 * a `Some` seed that is not valid UTF-8 panics with `Seed is valid utf8!: Utf8Error {..}`
 * BEFORE the keystore is looked up. Everything else panics with {@link NO_KEYSTORE_PANIC}.
 * (Argument marshalling errors, e.g. an undecodable seed, happen even earlier and are traps of
 * the glue, not panics.)
 */
export function keystorePanicMessage(seed?: Uint8Array | null): string {
  if (seed !== undefined && seed !== null) {
    const err = rustUtf8ErrorDebug(seed);
    if (err !== null) return `Seed is valid utf8!: ${err}`;
  }
  return NO_KEYSTORE_PANIC;
}
