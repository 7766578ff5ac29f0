/**
 * SCALE layouts of the PVF interface (polkadot-parachain-primitives / polkadot-primitives), each
 * defined once as a codec value: scale-ts `Struct` over the strict codecs of ../primitives/scale.ts,
 * because every byte a PVF returns is judged the same way by parity-scale-codec on every validator.
 * The TypeScript types are derived from the codecs.
 */
import { Struct, type CodecType } from 'scale-ts';
import { concatBytes } from '../primitives/bytes.ts';
import { bytes, decodeAll, decodePrefix, fixedBytes, option, u32Codec, vec } from '../primitives/scale.ts';

/** Upper bounds of `ValidationResult` (polkadot-parachain-primitives: UMP and HRMP message counts). */
export const MAX_UPWARD_MESSAGE_NUM = 16384;
export const MAX_HORIZONTAL_MESSAGE_NUM = 16384;

const h256 = fixedBytes(32);

/** What `validate_block` receives. */
export const ValidationParamsCodec = Struct({
  parentHead: bytes,
  blockData: bytes,
  relayParentNumber: u32Codec,
  relayParentStorageRoot: h256,
});
export type ValidationParams = CodecType<typeof ValidationParamsCodec>;

export const OutboundHrmpMessageCodec = Struct({ recipient: u32Codec, data: bytes });
export type OutboundHrmpMessage = CodecType<typeof OutboundHrmpMessageCodec>;

/** What `validate_block` returns. */
export const ValidationResultCodec = Struct({
  headData: bytes,
  newValidationCode: option(bytes),
  upwardMessages: vec(bytes, { max: MAX_UPWARD_MESSAGE_NUM, what: 'upward_messages' }),
  horizontalMessages: vec(OutboundHrmpMessageCodec, { max: MAX_HORIZONTAL_MESSAGE_NUM, minElemSize: 5, what: 'horizontal_messages' }),
  processedDownwardMessages: u32Codec,
  hrmpWatermark: u32Codec,
});
export type ValidationResult = CodecType<typeof ValidationResultCodec>;

export const PersistedValidationDataCodec = Struct({
  parentHead: bytes,
  relayParentNumber: u32Codec,
  relayParentStorageRoot: h256,
  maxPovSize: u32Codec,
});
export type PersistedValidationData = CodecType<typeof PersistedValidationDataCodec>;

export const PoVCodec = Struct({ blockData: bytes });
export type PoV = CodecType<typeof PoVCodec>;

export function encodeValidationParams(p: ValidationParams): Uint8Array {
  return ValidationParamsCodec.enc(p);
}

export function decodeValidationParams(b: Uint8Array): ValidationParams {
  return decodeAll(ValidationParamsCodec.dec, b, 'ValidationParams');
}

export function encodeValidationResult(r: ValidationResult): Uint8Array {
  return ValidationResultCodec.enc(r);
}

/**
 * Decode the bytes `validate_block` returned. The PVF host decodes with `Decode::decode`, which
 * reads a prefix: bytes after a complete `ValidationResult` are ignored, not an error.
 */
export function decodeValidationResult(b: Uint8Array): ValidationResult {
  return decodePrefix(ValidationResultCodec.dec, b).value;
}

export function encodePersistedValidationData(p: PersistedValidationData): Uint8Array {
  return PersistedValidationDataCodec.enc(p);
}

export function decodePersistedValidationData(b: Uint8Array): PersistedValidationData {
  return decodeAll(PersistedValidationDataCodec.dec, b, 'PersistedValidationData');
}

export function encodePoV(p: PoV): Uint8Array {
  return PoVCodec.enc(p);
}

export function decodePoV(b: Uint8Array): PoV {
  return decodeAll(PoVCodec.dec, b, 'PoV');
}

/**
 * The collator's `--export-pov-to-path` file (also read by cumulus `pov-validator`):
 * SCALE(PoV) immediately followed by SCALE(PersistedValidationData), nothing after.
 */
export function decodePovFile(b: Uint8Array): { pov: PoV; pvd: PersistedValidationData } {
  const { value: pov, consumed } = decodePrefix(PoVCodec.dec, b);
  return { pov, pvd: decodePersistedValidationData(b.subarray(consumed)) };
}

export function encodePovFile(pov: PoV, pvd: PersistedValidationData): Uint8Array {
  return concatBytes([encodePoV(pov), encodePersistedValidationData(pvd)]);
}

/** The encoded size of a PoV, the figure the PVF host compares with `max_pov_size`. */
export function encodedPoVSize(p: PoV): number {
  return encodePoV(p).length;
}
