/** The host crypto functions (ed25519 with ZIP-215 rules, sr25519, ecdsa and recovery) against independent vectors and edge cases. */
import { blake2_256 } from '../core/primitives/hashing.ts';
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';

import { ed25519, ristretto255, ED25519_TORSION_SUBGROUP } from '@noble/curves/ed25519.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import * as scure from '@scure/sr25519';

import {
  BatchVerifier,
  ECDSA_VERIFY_ERROR_FFI_CODE,
  ECDSA_VERIFY_ERROR_SCALE_INDEX,
  FINISH_BATCH_NOT_STARTED_PANIC,
  HostFunctionPanic,
  MerlinTranscript,
  NO_KEYSTORE_PANIC,
  START_BATCH_ALREADY_ACTIVE_PANIC,
  ecdsaRecoverResultFfiCode,
  ecdsaVerifyPrehashedV1,
  ecdsaVerifyV1,
  ecdsaVerifyV2,
  ed25519Verify,
  encodeEcdsaRecoverResult,
  keystorePanicMessage,
  rustUtf8ErrorDebug,
  secp256k1EcdsaRecover,
  secp256k1EcdsaRecoverCompressed,
  sr25519VerifyV1,
  sr25519VerifyV2,
  type EcdsaRecoverResult,
} from '../engines/v8/host/crypto.ts';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const flip = (b: Uint8Array, i: number, mask = 1): Uint8Array => {
  const c = b.slice();
  c[i] ^= mask;
  return c;
};
const leBytes = (n: bigint, len: number): Uint8Array => {
  const out = new Uint8Array(len);
  let v = n;
  for (let i = 0; i < len; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
};
const beBytes = (n: bigint, len: number): Uint8Array => leBytes(n, len).reverse();
const leToBig = (b: Uint8Array): bigint => {
  let n = 0n;
  for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i]);
  return n;
};
const cat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};

function expectOk(res: EcdsaRecoverResult): Uint8Array {
  if (!('ok' in res)) throw new assert.AssertionError({ message: `expected ok, got ${res.err}` });
  return res.ok;
}
function expectErr(res: EcdsaRecoverResult): string {
  if ('ok' in res) throw new assert.AssertionError({ message: `expected error, got ok ${toHex(res.ok)}` });
  return res.err;
}

// =============================================================================================
describe('blake2_256', () => {
  test('known digest of the empty input', () => {
    assert.equal(
      toHex(blake2_256(new Uint8Array())),
      '0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8',
    );
  });
});

// =============================================================================================
describe('ed25519 (ed25519-zebra / ZIP-215)', () => {
  const L = ed25519.Point.Fn.ORDER;
  const B = ed25519.Point.BASE;

  test('RFC 8032 vectors verify, tampering is rejected', () => {
    const vectors = [
      {
        pub: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
        msg: '',
        sig: 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
      },
      {
        pub: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
        msg: '72',
        sig: '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
      },
    ];
    for (const v of vectors) {
      const pub = hex(v.pub);
      const msg = hex(v.msg);
      const sig = hex(v.sig);
      assert.equal(ed25519Verify(sig, msg, pub), true);
      assert.equal(ed25519Verify(sig, cat(msg, Uint8Array.of(0)), pub), false, 'message changed');
      assert.equal(ed25519Verify(flip(sig, 3), msg, pub), false, 'R changed');
      assert.equal(ed25519Verify(flip(sig, 40), msg, pub), false, 's changed');
      assert.equal(ed25519Verify(sig, msg, flip(pub, 5)), false, 'key changed');
    }
  });

  test('signatures from an independent signer verify', () => {
    for (let i = 0; i < 8; i++) {
      const seed = new Uint8Array(32).fill(i + 1);
      const pub = ed25519.getPublicKey(seed);
      const msg = utf8(`message number ${i}`);
      const sig = ed25519.sign(msg, seed);
      assert.equal(ed25519Verify(sig, msg, pub), true);
      assert.equal(ed25519Verify(sig, utf8(`message number ${i + 1}`), pub), false);
    }
  });

  test('s >= L is rejected even though s + L satisfies the group equation', () => {
    const seed = new Uint8Array(32).fill(9);
    const pub = ed25519.getPublicKey(seed);
    const msg = utf8('malleability');
    const sig = ed25519.sign(msg, seed);
    const s = leToBig(sig.subarray(32));
    const mall = cat(sig.subarray(0, 32), leBytes(s + L, 32));
    assert.equal(ed25519Verify(sig, msg, pub), true);
    assert.equal(ed25519Verify(mall, msg, pub), false);
    // s = L exactly (i.e. zero mod L) is also non-canonical
    const sL = cat(sig.subarray(0, 32), leBytes(L, 32));
    assert.equal(ed25519Verify(sL, msg, pub), false);
  });

  // The ed25519-zebra "small order" conformance set: every pair (A, R) drawn from the 8 canonical
  // torsion encodings and the 6 low-order non-canonical encodings, s = 0, message "Zcash".
  // ZIP-215 says all 196 are valid.
  function nonCanonicalLowOrderEncodings(): Uint8Array[] {
    const out: Uint8Array[] = [];
    const y1Sign = new Uint8Array(32);
    y1Sign[0] = 1;
    y1Sign[31] = 0x80;
    out.push(y1Sign);
    const ym1Sign = new Uint8Array(32).fill(0xff);
    ym1Sign[0] = 0xec;
    out.push(ym1Sign);
    for (let i = 0; i < 19; i++) {
      const x = new Uint8Array(32).fill(0xff);
      x[31] = 0x7f;
      x[0] = 237 + i; // y + p for y = i
      for (const candidate of [x, flip(x, 31, 0x80)]) {
        try {
          ed25519.Point.fromBytes(candidate, true);
          out.push(candidate);
        } catch {
          // not a curve point
        }
      }
    }
    return out.slice(0, 6);
  }

  test('ZIP-215 small-order and non-canonical A / R encodings are accepted', () => {
    const torsion = ED25519_TORSION_SUBGROUP.map(hex);
    const nonCanonical = nonCanonicalLowOrderEncodings();
    assert.equal(nonCanonical.length, 6);
    const encodings = [...torsion, ...nonCanonical];
    for (const e of encodings) {
      const p = ed25519.Point.fromBytes(e, true);
      assert.equal(p.isSmallOrder(), true, `${toHex(e)} should be small order`);
    }
    for (const e of nonCanonical) {
      assert.notEqual(toHex(ed25519.Point.fromBytes(e, true).toBytes()), toHex(e), 'non-canonical');
    }
    let accepted = 0;
    for (const a of encodings) {
      for (const r of encodings) {
        const sig = cat(r, new Uint8Array(32));
        if (ed25519Verify(sig, utf8('Zcash'), a)) accepted++;
      }
    }
    assert.equal(accepted, encodings.length * encodings.length);
  });

  test('small-order key with s = 0 but a non-small-order R is rejected', () => {
    const identity = hex(ED25519_TORSION_SUBGROUP[0]);
    const r = B.multiply(12345n).toBytes();
    assert.equal(ed25519Verify(cat(r, new Uint8Array(32)), utf8('Zcash'), identity), false);
  });

  test('cofactored equation: a key with a torsion component verifies', () => {
    // A' = aB + T (T of order 8). A signature computed with the scalar a satisfies
    // [8](R + kA' - sB) = [8]kT = 0, but not the cofactorless equation when 8 ∤ k.
    const a = 0x1234567890abcdefn;
    const T = ed25519.Point.fromBytes(hex(ED25519_TORSION_SUBGROUP[1]));
    const Aprime = B.multiply(a).add(T);
    const aBytes = Aprime.toBytes();
    let found = 0;
    for (let i = 0; i < 16 && found < 3; i++) {
      const msg = utf8(`mixed order ${i}`);
      const r = 1000n + BigInt(i);
      const R = B.multiply(r);
      const rBytes = R.toBytes();
      const k = leToBig(sha512(cat(rBytes, aBytes, msg))) % L;
      if (k % 8n === 0n) continue;
      const s = (r + k * a) % L;
      const sig = cat(rBytes, leBytes(s, 32));
      // cofactorless check fails:
      assert.equal(B.multiply(s).equals(R.add(Aprime.multiply(k))), false);
      assert.equal(ed25519Verify(sig, msg, aBytes), true);
      assert.equal(ed25519Verify(sig, flip(msg, 0), aBytes), false);
      found++;
    }
    assert.equal(found, 3);
  });

  test('undecodable public key or R gives false (no throw)', () => {
    // find a y with no corresponding x
    let bad: Uint8Array | null = null;
    for (let y = 2; y < 100 && bad === null; y++) {
      const enc = new Uint8Array(32);
      enc[0] = y;
      try {
        ed25519.Point.fromBytes(enc, true);
      } catch {
        bad = enc;
      }
    }
    assert.ok(bad !== null);
    const seed = new Uint8Array(32).fill(3);
    const pub = ed25519.getPublicKey(seed);
    const msg = utf8('x');
    const sig = ed25519.sign(msg, seed);
    assert.equal(ed25519Verify(sig, msg, bad), false);
    assert.equal(ed25519Verify(cat(bad, sig.subarray(32)), msg, pub), false);
  });

  test('wrong lengths are a programming error (RangeError)', () => {
    assert.throws(() => ed25519Verify(new Uint8Array(63), new Uint8Array(), new Uint8Array(32)), RangeError);
    assert.throws(() => ed25519Verify(new Uint8Array(64), new Uint8Array(), new Uint8Array(31)), RangeError);
  });
});

// =============================================================================================
describe('Merlin transcript', () => {
  test('matches the merlin crate test vector (equivalence_simple)', () => {
    const t = new MerlinTranscript('test protocol');
    t.appendMessage('some label', 'some data');
    assert.equal(
      toHex(t.challengeBytes('challenge', 32)),
      'd5a21972d0d5fe320c0d263fac7fffb8145aa640af6e9bca177c03c7efcf0615',
    );
  });
});

// =============================================================================================
describe('sr25519 (schnorrkel)', () => {
  const L = ed25519.Point.Fn.ORDER;
  const sk = scure.secretFromSeed(new Uint8Array(32).fill(42));
  const pk = scure.getPublicKey(sk);
  const msg = utf8('sr25519 message');
  const sig = scure.sign(sk, msg);

  test('signatures from @scure/sr25519 verify with v1 and v2; tampering is rejected', () => {
    assert.equal((sig[63] & 0x80) !== 0, true, 'marker set');
    for (const verify of [sr25519VerifyV1, sr25519VerifyV2]) {
      assert.equal(verify(sig, msg, pk), true);
      assert.equal(verify(sig, utf8('sr25519 messagE'), pk), false);
      assert.equal(verify(flip(sig, 0), msg, pk), false);
      assert.equal(verify(flip(sig, 33), msg, pk), false);
      const otherPk = scure.getPublicKey(scure.secretFromSeed(new Uint8Array(32).fill(43)));
      assert.equal(verify(sig, msg, otherPk), false);
    }
  });

  test('many random signatures agree with @scure/sr25519 verify', () => {
    for (let i = 0; i < 10; i++) {
      const s = scure.secretFromSeed(new Uint8Array(32).fill(100 + i));
      const p = scure.getPublicKey(s);
      const m = utf8(`m${i}`.repeat(i * 30));
      const g = scure.sign(s, m);
      assert.equal(sr25519VerifyV2(g, m, p), scure.verify(m, g, p));
      assert.equal(sr25519VerifyV2(g, m, p), true);
    }
  });

  test('schnorrkel 0.1.1 (unmarked) signature: accepted by v1 only', () => {
    // Test vector of schnorrkel's `can_verify_know_preaudit_deprecated_message` / sp-core.
    const pub = hex('b4bfa1f7a5166695eb75299fd1c4c03ea212871c342f2c5dfea0902b2c246918');
    const dsig = hex(
      '5a9755f069939f45d96aaf125cf5ce7ba1db998686f87f2fb3cbdea922078741a73891ba265f70c31436e18a9acd14d189d73c12317ab6c313285cd938453202',
    );
    const dmsg = utf8(
      'Verifying that I am the owner of 5G9hQLdsKQswNPgB499DeA5PkFBbgkLPJWkkS6FAM6xGQ8xD. Hash: 221455a3\n',
    );
    assert.equal(dsig[63] & 0x80, 0, 'no schnorrkel marker');
    assert.equal(sr25519VerifyV1(dsig, dmsg, pub), true);
    assert.equal(sr25519VerifyV2(dsig, dmsg, pub), false);
    assert.equal(sr25519VerifyV1(dsig, flip(dmsg, 3), pub), false);
    // setting the marker makes it a "current" signature, which then fails the current transcript
    assert.equal(sr25519VerifyV1(flip(dsig, 63, 0x80), dmsg, pub), false);
  });

  test('0x80 marker bit: a current signature with the marker cleared is rejected by v1 and v2', () => {
    const unmarked = flip(sig, 63, 0x80);
    assert.equal(sr25519VerifyV2(unmarked, msg, pk), false);
    assert.equal(sr25519VerifyV1(unmarked, msg, pk), false);
  });

  test('non-canonical s (s + L) is rejected', () => {
    const sBytes = sig.slice(32, 64);
    sBytes[31] &= 0x7f;
    const s = leToBig(sBytes);
    const big = leBytes(s + L, 32);
    assert.equal(big[31] & 0x80, 0);
    big[31] |= 0x80;
    const mall = cat(sig.subarray(0, 32), big);
    assert.equal(sr25519VerifyV2(mall, msg, pk), false);
    assert.equal(sr25519VerifyV1(mall, msg, pk), false);
    // and without the marker (deprecated path) as well
    assert.equal(sr25519VerifyV1(flip(mall, 63, 0x80), msg, pk), false);
  });

  test('identity public key is accepted by schnorrkel (trivial signatures verify)', () => {
    const zeroPk = new Uint8Array(32);
    // R = identity, s = 0, marker set → [0]B - [k]·identity = identity = R for any message
    const trivial = new Uint8Array(64);
    trivial[63] = 0x80;
    assert.equal(sr25519VerifyV2(trivial, utf8('anything'), zeroPk), true);
    assert.equal(sr25519VerifyV1(trivial, utf8('anything else'), zeroPk), true);
    // R = [s]B for an arbitrary s also works for the identity key
    const s = 777n;
    const R = ed25519ToRistrettoBase(s);
    const sig2 = cat(R, leBytes(s, 32));
    sig2[63] |= 0x80;
    assert.equal(sr25519VerifyV2(sig2, utf8('x'), zeroPk), true);
    // @scure/sr25519 refuses this key, which is why it is not used for verification
    assert.equal(scure.verify(utf8('x'), sig2, zeroPk), false);
  });

  test('invalid Ristretto encodings give false without throwing', () => {
    const badPk = new Uint8Array(32).fill(0xff);
    assert.equal(sr25519VerifyV2(sig, msg, badPk), false);
    assert.equal(sr25519VerifyV1(sig, msg, badPk), false);
    const badR = cat(new Uint8Array(32).fill(0xff), sig.subarray(32));
    assert.equal(sr25519VerifyV2(badR, msg, pk), false);
    assert.equal(sr25519VerifyV1(badR, msg, pk), false);
  });
});

/** [s]·B in ristretto255 (canonical encoding). */
function ed25519ToRistrettoBase(s: bigint): Uint8Array {
  return ristretto255.Point.BASE.multiply(s).toBytes();
}

// =============================================================================================
describe('secp256k1 ECDSA', () => {
  const N = secp256k1.Point.Fn.ORDER;
  const P = secp256k1.Point.Fp.ORDER;

  /** Sign digest `h` with noble and return Substrate's r ‖ s ‖ v layout. */
  function signRsv(priv: Uint8Array, h: Uint8Array): Uint8Array {
    const rec = secp256k1.sign(h, priv, { prehash: false, format: 'recovered' });
    // noble's 'recovered' format is v ‖ r ‖ s
    return cat(rec.subarray(1, 65), rec.subarray(0, 1));
  }

  const priv = new Uint8Array(32).fill(0x11);
  const pubC = secp256k1.getPublicKey(priv, true);
  const pubU = secp256k1.getPublicKey(priv, false);
  const msg = utf8('ecdsa message');
  const h = blake2_256(msg);
  const sig = signRsv(priv, h);

  test('sp-core known vector (seed 9d61.., empty message)', () => {
    const sigV = hex(
      '3dde91174bd9359027be59a428b8146513df80a2a3c7eda2194f64de04a69ab97b753169e94db6ffd50921a2668a48b94ca11e3d32c1ff19cfe88890aa7e8f3c00',
    );
    const full = hex(
      '8db55b05db86c0b1786ca49f095d76344c9e6056b2f02701a7e7f3c20aabfd913ebbe148dd17c56551a52952371071a6c604b3f3abe8f2c8fa742158ea6dd7d4',
    );
    const compressed = secp256k1.Point.fromBytes(cat(Uint8Array.of(4), full)).toBytes(true);
    const empty = new Uint8Array();
    assert.equal(ecdsaVerifyV2(sigV, empty, compressed), true);
    assert.equal(ecdsaVerifyV1(sigV, empty, compressed), true);
    assert.equal(ecdsaVerifyPrehashedV1(sigV, blake2_256(empty), compressed), true);
    for (const v of [1, 2, 3] as const) {
      assert.equal(toHex(expectOk(secp256k1EcdsaRecover(sigV, blake2_256(empty), v))), toHex(full));
      assert.equal(
        toHex(expectOk(secp256k1EcdsaRecoverCompressed(sigV, blake2_256(empty), v))),
        toHex(compressed),
      );
    }
    // the secret seed of that vector reproduces the key with noble
    const seed = hex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60');
    assert.equal(toHex(secp256k1.getPublicKey(seed, true)), toHex(compressed));
  });

  test('verify v1 / v2 / prehashed accept a good signature, reject tampering', () => {
    for (const ok of [ecdsaVerifyV1(sig, msg, pubC), ecdsaVerifyV2(sig, msg, pubC), ecdsaVerifyPrehashedV1(sig, h, pubC)]) {
      assert.equal(ok, true);
    }
    const otherPub = secp256k1.getPublicKey(new Uint8Array(32).fill(0x12), true);
    for (const verify of [ecdsaVerifyV1, ecdsaVerifyV2]) {
      assert.equal(verify(sig, utf8('ecdsa messagE'), pubC), false);
      assert.equal(verify(flip(sig, 5), msg, pubC), false);
      assert.equal(verify(flip(sig, 40), msg, pubC), false);
      assert.equal(verify(sig, msg, otherPub), false);
      assert.equal(verify(flip(sig, 64), msg, pubC), false, 'other parity recovers another key');
    }
    assert.equal(ecdsaVerifyPrehashedV1(sig, blake2_256(utf8('other')), pubC), false);
    // the digest is blake2_256 of the message: a signature over sha256(msg) does not verify
    const shaSig = signRsv(priv, sha256(msg));
    assert.equal(ecdsaVerifyV2(shaSig, msg, pubC), false);
    assert.equal(ecdsaVerifyV1(shaSig, msg, pubC), false);
    assert.equal(ecdsaVerifyPrehashedV1(shaSig, sha256(msg), pubC), true);
  });

  test('recover returns raw 64-byte and 33-byte compressed keys for every version', () => {
    for (const v of [1, 2, 3] as const) {
      const raw = expectOk(secp256k1EcdsaRecover(sig, h, v));
      assert.equal(raw.length, 64);
      assert.equal(toHex(raw), toHex(pubU.subarray(1)));
      const comp = expectOk(secp256k1EcdsaRecoverCompressed(sig, h, v));
      assert.equal(comp.length, 33);
      assert.equal(toHex(comp), toHex(pubC));
    }
  });

  test('recovery agrees with noble recoverPublicKey on random signatures', () => {
    for (let i = 0; i < 10; i++) {
      const k = new Uint8Array(32).fill(0x20 + i);
      const digest = blake2_256(utf8(`digest ${i}`));
      const rsv = signRsv(k, digest);
      const nobleFmt = cat(rsv.subarray(64), rsv.subarray(0, 64));
      const expected = secp256k1.recoverPublicKey(nobleFmt, digest, { prehash: false });
      assert.equal(toHex(expectOk(secp256k1EcdsaRecoverCompressed(rsv, digest, 2))), toHex(expected));
    }
  });

  test('v = 27/28 accepted by recover (all versions) but not by ecdsa_verify', () => {
    const v27 = sig.slice();
    v27[64] += 27;
    for (const v of [1, 2, 3] as const) {
      assert.equal(toHex(expectOk(secp256k1EcdsaRecoverCompressed(v27, h, v))), toHex(pubC));
    }
    assert.equal(ecdsaVerifyV1(v27, msg, pubC), false);
    assert.equal(ecdsaVerifyV2(v27, msg, pubC), false);
    assert.equal(ecdsaVerifyPrehashedV1(v27, h, pubC), false);
  });

  test('BadV for v in 4..=26 and >= 31, checked before r/s', () => {
    for (const vb of [4, 5, 26, 31, 32, 100, 255]) {
      const s2 = sig.slice();
      s2[64] = vb;
      for (const v of [1, 2, 3] as const) {
        assert.equal(expectErr(secp256k1EcdsaRecover(s2, h, v)), 'BadV', `v=${vb} version ${v}`);
      }
      assert.equal(ecdsaVerifyV1(s2, msg, pubC), false);
    }
    // overflowing r AND bad v → BadV wins
    const both = cat(beBytes(N + 1n, 32), sig.subarray(32, 64), Uint8Array.of(9));
    assert.equal(expectErr(secp256k1EcdsaRecover(both, h, 2)), 'BadV');
  });

  test('high-s signatures are accepted by every version', () => {
    const s = BigInt('0x' + toHex(sig.subarray(32, 64)));
    const high = cat(sig.subarray(0, 32), beBytes(N - s, 32), Uint8Array.of(sig[64] ^ 1));
    const highS = BigInt('0x' + toHex(high.subarray(32, 64)));
    // exactly one of the pair is high-s
    assert.notEqual(s > N / 2n, highS > N / 2n);
    for (const candidate of [sig, high]) {
      assert.equal(ecdsaVerifyV1(candidate, msg, pubC), true);
      assert.equal(ecdsaVerifyV2(candidate, msg, pubC), true);
      assert.equal(ecdsaVerifyPrehashedV1(candidate, h, pubC), true);
      for (const v of [1, 2, 3] as const) {
        assert.equal(toHex(expectOk(secp256k1EcdsaRecoverCompressed(candidate, h, v))), toHex(pubC));
      }
    }
  });

  // Build signatures with small r and s (any (r, s, v) whose R lifts is a valid signature for the
  // key it recovers), so that r + n and s + n still fit in 32 bytes.
  function smallX(start: bigint, needOverflowLift: boolean): bigint {
    for (let x = start; ; x++) {
      try {
        secp256k1.Point.fromBytes(cat(Uint8Array.of(2), beBytes(needOverflowLift ? x + N : x, 32)));
        return x;
      } catch {
        // not on the curve
      }
    }
  }

  test('overflowing r / s: accepted (reduced mod n) by version 1, BadRS for versions 2 and 3', () => {
    const r = smallX(1n, false);
    const s = 5n;
    const base = cat(beBytes(r, 32), beBytes(s, 32), Uint8Array.of(0));
    const key = expectOk(secp256k1EcdsaRecoverCompressed(base, h, 2));
    const overS = cat(beBytes(r, 32), beBytes(s + N, 32), Uint8Array.of(0));
    const overR = cat(beBytes(r + N, 32), beBytes(s, 32), Uint8Array.of(0));
    for (const over of [overS, overR]) {
      assert.equal(toHex(expectOk(secp256k1EcdsaRecoverCompressed(over, h, 1))), toHex(key));
      assert.equal(expectErr(secp256k1EcdsaRecoverCompressed(over, h, 2)), 'BadRS');
      assert.equal(expectErr(secp256k1EcdsaRecover(over, h, 3)), 'BadRS');
      // ecdsa_verify v1 (libsecp256k1 overflowing parse) accepts, v2 and prehashed do not
      assert.equal(ecdsaVerifyV1(over, msg, key), true);
      assert.equal(ecdsaVerifyV2(over, msg, key), false);
      assert.equal(ecdsaVerifyPrehashedV1(over, h, key), false);
    }
    assert.equal(ecdsaVerifyV1(base, msg, key), true);
    assert.equal(ecdsaVerifyV2(base, msg, key), true);
    // r = n exactly is an overflow in v2, reduces to zero (→ BadSignature) in v1
    const rIsN = cat(beBytes(N, 32), beBytes(s, 32), Uint8Array.of(0));
    assert.equal(expectErr(secp256k1EcdsaRecover(rIsN, h, 1)), 'BadSignature');
    assert.equal(expectErr(secp256k1EcdsaRecover(rIsN, h, 2)), 'BadRS');
  });

  test('r = 0 or s = 0 is BadSignature (not BadRS)', () => {
    const zeroR = cat(new Uint8Array(32), sig.subarray(32, 64), sig.subarray(64));
    const zeroS = cat(sig.subarray(0, 32), new Uint8Array(32), sig.subarray(64));
    for (const v of [1, 2, 3] as const) {
      assert.equal(expectErr(secp256k1EcdsaRecover(zeroR, h, v)), 'BadSignature');
      assert.equal(expectErr(secp256k1EcdsaRecover(zeroS, h, v)), 'BadSignature');
    }
  });

  test('r that is not an x coordinate is BadSignature', () => {
    let x = 1n;
    for (;; x++) {
      try {
        secp256k1.Point.fromBytes(cat(Uint8Array.of(2), beBytes(x, 32)));
      } catch {
        break;
      }
    }
    const bad = cat(beBytes(x, 32), beBytes(7n, 32), Uint8Array.of(1));
    assert.equal(expectErr(secp256k1EcdsaRecover(bad, h, 2)), 'BadSignature');
    assert.equal(ecdsaVerifyV2(bad, msg, pubC), false);
  });

  test('recovery ids 2 and 3 (x = r + n) work when r < p - n and fail otherwise', () => {
    const r = smallX(1n, true);
    const s = 9n;
    for (const recid of [2, 3]) {
      const sg = cat(beBytes(r, 32), beBytes(s, 32), Uint8Array.of(recid));
      const key = expectOk(secp256k1EcdsaRecoverCompressed(sg, h, 2));
      assert.equal(toHex(expectOk(secp256k1EcdsaRecoverCompressed(sg, h, 1))), toHex(key));
      // noble agrees on the key
      const nobleFmt = cat(Uint8Array.of(recid), sg.subarray(0, 64));
      assert.equal(toHex(secp256k1.recoverPublicKey(nobleFmt, h, { prehash: false })), toHex(key));
      assert.equal(ecdsaVerifyPrehashedV1(sg, h, key), true);
      // 29/30 are mapped to 2/3 by recover
      const sg27 = sg.slice();
      sg27[64] = recid + 27;
      assert.equal(toHex(expectOk(secp256k1EcdsaRecoverCompressed(sg27, h, 3))), toHex(key));
    }
    const rTooBig = P - N; // first r for which r + n >= p
    const sg = cat(beBytes(rTooBig, 32), beBytes(s, 32), Uint8Array.of(2));
    assert.equal(expectErr(secp256k1EcdsaRecover(sg, h, 2)), 'BadSignature');
  });

  test('SCALE encoding and FFI codes of the recover result', () => {
    const ok = secp256k1EcdsaRecover(sig, h, 2);
    const enc = encodeEcdsaRecoverResult(ok);
    assert.equal(enc.length, 65);
    assert.equal(enc[0], 0);
    assert.equal(toHex(enc.subarray(1)), toHex(pubU.subarray(1)));
    const encC = encodeEcdsaRecoverResult(secp256k1EcdsaRecoverCompressed(sig, h, 2));
    assert.equal(encC.length, 34);
    assert.deepEqual([...encodeEcdsaRecoverResult({ err: 'BadRS' })], [1, 0]);
    assert.deepEqual([...encodeEcdsaRecoverResult({ err: 'BadV' })], [1, 1]);
    assert.deepEqual([...encodeEcdsaRecoverResult({ err: 'BadSignature' })], [1, 2]);
    assert.deepEqual(ECDSA_VERIFY_ERROR_SCALE_INDEX, { BadRS: 0, BadV: 1, BadSignature: 2 });
    assert.deepEqual(ECDSA_VERIFY_ERROR_FFI_CODE, { BadRS: -1, BadV: -2, BadSignature: -3 });
    assert.equal(ecdsaRecoverResultFfiCode(ok), 0);
    assert.equal(ecdsaRecoverResultFfiCode({ err: 'BadV' }), -2);
  });
});

// =============================================================================================
describe('batch verification (register_only emulation)', () => {
  const seed = new Uint8Array(32).fill(5);
  const pub = ed25519.getPublicKey(seed);
  const msg = utf8('batch');
  const good = ed25519.sign(msg, seed);
  const bad = flip(good, 10);

  test('without an active batch, *_batch_verify just verifies', () => {
    const b = new BatchVerifier();
    assert.equal(b.ed25519BatchVerify(good, msg, pub), true);
    assert.equal(b.ed25519BatchVerify(bad, msg, pub), false);
    assert.equal(b.active, false);
  });

  test('finish without start panics with the upstream message', () => {
    const b = new BatchVerifier();
    assert.throws(
      () => b.finish(),
      (e: unknown) => e instanceof HostFunctionPanic && e.panicMessage === FINISH_BATCH_NOT_STARTED_PANIC,
    );
  });

  test('start twice panics', () => {
    const b = new BatchVerifier();
    b.start();
    assert.throws(
      () => b.start(),
      (e: unknown) =>
        e instanceof HostFunctionPanic &&
        e.panicMessage === START_BATCH_ALREADY_ACTIVE_PANIC &&
        e.message === `host code panicked while being called by the runtime: ${START_BATCH_ALREADY_ACTIVE_PANIC}`,
    );
  });

  test('results are returned immediately and AND-ed into the batch', () => {
    const b = new BatchVerifier();
    b.start();
    assert.equal(b.finish(), true, 'empty batch');
    b.start();
    assert.equal(b.ed25519BatchVerify(good, msg, pub), true);
    assert.equal(b.ed25519BatchVerify(bad, msg, pub), false, 'immediate result, not deferred');
    assert.equal(b.ed25519BatchVerify(good, msg, pub), true);
    assert.equal(b.finish(), false);
    assert.equal(b.active, false);
    b.start();
    assert.equal(b.ed25519BatchVerify(good, msg, pub), true);
    assert.equal(b.finish(), true);
  });

  test('sr25519 / ecdsa batch verification use the latest (v2) rules', () => {
    const b = new BatchVerifier();
    const pubSr = hex('b4bfa1f7a5166695eb75299fd1c4c03ea212871c342f2c5dfea0902b2c246918');
    const oldSig = hex(
      '5a9755f069939f45d96aaf125cf5ce7ba1db998686f87f2fb3cbdea922078741a73891ba265f70c31436e18a9acd14d189d73c12317ab6c313285cd938453202',
    );
    const oldMsg = utf8('Verifying that I am the owner of 5G9hQLdsKQswNPgB499DeA5PkFBbgkLPJWkkS6FAM6xGQ8xD. Hash: 221455a3\n');
    assert.equal(sr25519VerifyV1(oldSig, oldMsg, pubSr), true);
    assert.equal(b.sr25519BatchVerify(oldSig, oldMsg, pubSr), false);
    const sk = scure.secretFromSeed(new Uint8Array(32).fill(1));
    const m = utf8('m');
    assert.equal(b.sr25519BatchVerify(scure.sign(sk, m), m, scure.getPublicKey(sk)), true);

    // ecdsa: an overflowing-s signature passes ecdsa_verify v1 but not the batch function
    const N = secp256k1.Point.Fn.ORDER;
    let r = 1n;
    for (;; r++) {
      try {
        secp256k1.Point.fromBytes(cat(Uint8Array.of(2), beBytes(r, 32)));
        break;
      } catch {
        // keep searching
      }
    }
    const base = cat(beBytes(r, 32), beBytes(3n, 32), Uint8Array.of(1));
    const key = expectOk(secp256k1EcdsaRecoverCompressed(base, blake2_256(m), 2));
    const over = cat(beBytes(r, 32), beBytes(3n + N, 32), Uint8Array.of(1));
    assert.equal(ecdsaVerifyV1(over, m, key), true);
    assert.equal(b.ecdsaBatchVerify(over, m, key), false);
    assert.equal(b.ecdsaBatchVerify(base, m, key), true);
  });
});

// =============================================================================================
describe('keystore functions (no keystore in PVF validation)', () => {
  test('panic messages', () => {
    assert.equal(keystorePanicMessage(), NO_KEYSTORE_PANIC);
    assert.equal(keystorePanicMessage(null), NO_KEYSTORE_PANIC);
    assert.equal(keystorePanicMessage(utf8('//Alice')), NO_KEYSTORE_PANIC);
    assert.equal(
      keystorePanicMessage(Uint8Array.of(0xff)),
      'Seed is valid utf8!: Utf8Error { valid_up_to: 0, error_len: Some(1) }',
    );
  });

  test('Rust Utf8Error rendering', () => {
    assert.equal(rustUtf8ErrorDebug(utf8('héllo ✓ 𝄞')), null);
    assert.equal(rustUtf8ErrorDebug(Uint8Array.of(0x61, 0xe2, 0x82)), 'Utf8Error { valid_up_to: 1, error_len: None }');
    assert.equal(rustUtf8ErrorDebug(Uint8Array.of(0x61, 0x62, 0xe2, 0x28, 0xa1)), 'Utf8Error { valid_up_to: 2, error_len: Some(1) }');
    assert.equal(rustUtf8ErrorDebug(Uint8Array.of(0xe2, 0x82, 0x28)), 'Utf8Error { valid_up_to: 0, error_len: Some(2) }');
    assert.equal(rustUtf8ErrorDebug(Uint8Array.of(0xf0, 0x9f, 0x98, 0x41)), 'Utf8Error { valid_up_to: 0, error_len: Some(3) }');
    assert.equal(rustUtf8ErrorDebug(Uint8Array.of(0xed, 0xa0, 0x80)), 'Utf8Error { valid_up_to: 0, error_len: Some(1) }', 'surrogate');
    assert.equal(rustUtf8ErrorDebug(Uint8Array.of(0xc0, 0x80)), 'Utf8Error { valid_up_to: 0, error_len: Some(1) }', 'overlong');
  });
});
