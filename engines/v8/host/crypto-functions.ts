/** sp_io::crypto host functions over engines/v8/host/crypto.ts (see docs/host-crypto.md for the semantics). */
import {
  BatchVerifier,
  HostFunctionPanic,
  NO_KEYSTORE_PANIC,
  ecdsaVerifyPrehashedV1,
  ecdsaVerifyV1,
  ecdsaVerifyV2,
  ed25519Verify,
  encodeEcdsaRecoverResult,
  secp256k1EcdsaRecover,
  secp256k1EcdsaRecoverCompressed,
  sr25519VerifyV1,
  sr25519VerifyV2,
  keystorePanicMessage,
} from './crypto.ts';
import { bytesDec, decodePrefix, optionDec, ScaleError } from '../../../core/primitives/scale.ts';
import { PvfTrap, type HostFunction, type HostFunctionTable, type HostState } from './host.ts';

type Verify = (sig: Uint8Array, msg: Uint8Array, pub: Uint8Array) => boolean;

/** A panic inside a host function becomes a trap of the call (the PVF asked for it). */
function panics<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof HostFunctionPanic) throw new PvfTrap(e.message);
    throw e;
  }
}

/** (sig: ptr<sigLen>, msg: span, pub: ptr<pubLen>) -> bool, with the verifier chosen per instance. */
function verifyWith(sigLen: number, pubLen: number, pick: (h: HostState) => Verify): HostFunction {
  return {
    sig: 'i32,i64,i32->i32',
    make: (h) => (sig: number, msg: bigint, pub: number) => {
      const s = h.read(sig >>> 0, sigLen);
      const m = h.readSpan(msg);
      const p = h.read(pub >>> 0, pubLen);
      return pick(h)(s, m, p) ? 1 : 0;
    },
  };
}

const verify = (sigLen: number, pubLen: number, f: Verify): HostFunction => verifyWith(sigLen, pubLen, () => f);

const batches = new WeakMap<HostState, BatchVerifier>();
function batchOf(h: HostState): BatchVerifier {
  let b = batches.get(h);
  if (!b) batches.set(h, (b = new BatchVerifier()));
  return b;
}

/** The deprecated *_batch_verify functions: verify now, and fold the result into an active batch. */
const batchVerify = (sigLen: number, pubLen: number, pick: (b: BatchVerifier) => Verify): HostFunction =>
  verifyWith(sigLen, pubLen, (h) => {
    const b = batchOf(h);
    return (s, m, p) => pick(b).call(b, s, m, p);
  });

function recover(version: 1 | 2, compressed: boolean): HostFunction {
  return {
    sig: 'i32,i32->i64',
    make: (h) => (sig: number, msg: number) => {
      const s = h.read(sig >>> 0, 65);
      const m = h.read(msg >>> 0, 32);
      const res = compressed ? secp256k1EcdsaRecoverCompressed(s, m, version) : secp256k1EcdsaRecover(s, m, version);
      return h.allocSpan(encodeEcdsaRecoverResult(res));
    },
  };
}

/**
 * Keystore functions: PVF validation has no keystore, so each panics once its arguments are
 * converted (an out-of-bounds argument traps first with the marshalling error).
 */
function keystore(sig: string, reads: Array<['ptr', number] | ['span'] | ['seed']>): HostFunction {
  return {
    sig,
    make: (h) => (...args: Array<number | bigint>) => {
      let seed: Uint8Array | null = null;
      reads.forEach((r, k) => {
        if (r[0] === 'ptr') h.read(Number(args[k]) >>> 0, r[1]);
        else if (r[0] === 'span') h.readSpan(BigInt(args[k]));
        else {
          const opt = h.readSpan(BigInt(args[k]));
          seed = decodeOptionSeed(opt);
        }
      });
      throw new PvfTrap(`host code panicked while being called by the runtime: ${reads.some((r) => r[0] === 'seed') ? keystorePanicMessage(seed) : NO_KEYSTORE_PANIC}`);
    },
  };
}

/** SCALE Option<Vec<u8>> of a generate call's seed (plain decode); malformed input is a marshalling trap. */
function decodeOptionSeed(bytes: Uint8Array): Uint8Array | null {
  try {
    return decodePrefix(optionDec(bytesDec), bytes).value ?? null;
  } catch (e) {
    if (e instanceof ScaleError) throw new PvfTrap(`could not SCALE-decode the seed: ${e.message}`);
    throw e;
  }
}

export const CRYPTO_FUNCTIONS: HostFunctionTable = {
  ext_crypto_ed25519_verify_version_1: verify(64, 32, ed25519Verify),
  ext_crypto_sr25519_verify_version_1: verify(64, 32, sr25519VerifyV1),
  ext_crypto_sr25519_verify_version_2: verify(64, 32, sr25519VerifyV2),
  ext_crypto_ecdsa_verify_version_1: verify(65, 33, ecdsaVerifyV1),
  ext_crypto_ecdsa_verify_version_2: verify(65, 33, ecdsaVerifyV2),
  ext_crypto_ecdsa_verify_prehashed_version_1: {
    sig: 'i32,i32,i32->i32',
    make: (h) => (sig: number, msg: number, pub: number) =>
      ecdsaVerifyPrehashedV1(h.read(sig >>> 0, 65), h.read(msg >>> 0, 32), h.read(pub >>> 0, 33)) ? 1 : 0,
  },
  ext_crypto_secp256k1_ecdsa_recover_version_1: recover(1, false),
  ext_crypto_secp256k1_ecdsa_recover_version_2: recover(2, false),
  ext_crypto_secp256k1_ecdsa_recover_compressed_version_1: recover(1, true),
  ext_crypto_secp256k1_ecdsa_recover_compressed_version_2: recover(2, true),

  ext_crypto_start_batch_verify_version_1: { sig: '->', make: (h) => () => panics(() => batchOf(h).start()) },
  ext_crypto_finish_batch_verify_version_1: {
    sig: '->i32',
    make: (h) => () => (panics(() => batchOf(h).finish()) ? 1 : 0),
  },
  ext_crypto_ed25519_batch_verify_version_1: batchVerify(64, 32, (b) => b.ed25519BatchVerify),
  ext_crypto_sr25519_batch_verify_version_1: batchVerify(64, 32, (b) => b.sr25519BatchVerify),
  ext_crypto_ecdsa_batch_verify_version_1: batchVerify(65, 33, (b) => b.ecdsaBatchVerify),

  ext_crypto_ed25519_public_keys_version_1: keystore('i32->i64', [['ptr', 4]]),
  ext_crypto_ed25519_generate_version_1: keystore('i32,i64->i32', [['ptr', 4], ['seed']]),
  ext_crypto_ed25519_sign_version_1: keystore('i32,i32,i64->i64', [['ptr', 4], ['ptr', 32], ['span']]),
  ext_crypto_sr25519_public_keys_version_1: keystore('i32->i64', [['ptr', 4]]),
  ext_crypto_sr25519_generate_version_1: keystore('i32,i64->i32', [['ptr', 4], ['seed']]),
  ext_crypto_sr25519_sign_version_1: keystore('i32,i32,i64->i64', [['ptr', 4], ['ptr', 32], ['span']]),
  ext_crypto_ecdsa_public_keys_version_1: keystore('i32->i64', [['ptr', 4]]),
  ext_crypto_ecdsa_generate_version_1: keystore('i32,i64->i32', [['ptr', 4], ['seed']]),
  ext_crypto_ecdsa_sign_version_1: keystore('i32,i32,i64->i64', [['ptr', 4], ['ptr', 33], ['span']]),
  ext_crypto_ecdsa_sign_prehashed_version_1: keystore('i32,i32,i32->i64', [['ptr', 4], ['ptr', 33], ['ptr', 32]]),
};
