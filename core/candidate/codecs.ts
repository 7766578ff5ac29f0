/**
 * SCALE layouts of the PVF interface (polkadot-parachain-primitives / polkadot-primitives).
 * Encoders come from scale-ts; decoders are the strict ones of ./scale.ts because every byte a
 * PVF returns is judged the same way by parity-scale-codec on every validator.
 */
import { Bytes, Option, Struct, Vector, u32, type Encoder } from 'scale-ts';
import { concatBytes } from '../primitives/bytes.ts';
import {
  bytesDec,
  decodeAll,
  decodePrefix,
  fixedBytesDec,
  optionDec,
  u32Dec,
  vecDec,
  ScaleError,
} from '../primitives/scale.ts';
import { createDecoder, type Decoder } from 'scale-ts';

/** Upper bounds of `ValidationResult` (polkadot-parachain-primitives: UMP and HRMP message counts). */
export const MAX_UPWARD_MESSAGE_NUM = 16384;
export const MAX_HORIZONTAL_MESSAGE_NUM = 16384;

export interface ValidationParams {
  parentHead: Uint8Array;
  blockData: Uint8Array;
  relayParentNumber: number;
  relayParentStorageRoot: Uint8Array; // H256
}

export interface OutboundHrmpMessage {
  recipient: number;
  data: Uint8Array;
}

export interface ValidationResult {
  headData: Uint8Array;
  newValidationCode: Uint8Array | undefined;
  upwardMessages: Uint8Array[];
  horizontalMessages: OutboundHrmpMessage[];
  processedDownwardMessages: number;
  hrmpWatermark: number;
}

export interface PersistedValidationData {
  parentHead: Uint8Array;
  relayParentNumber: number;
  relayParentStorageRoot: Uint8Array; // H256
  maxPovSize: number;
}

export interface PoV {
  blockData: Uint8Array;
}

const h256Enc: Encoder<Uint8Array> = Bytes.enc(32);
const bytesEnc: Encoder<Uint8Array> = Bytes.enc();

function checkH256(x: Uint8Array, what: string): Uint8Array {
  if (x.length !== 32) throw new ScaleError(`${what} must be 32 bytes, got ${x.length}`);
  return x;
}

const validationParamsEnc = Struct.enc({
  parentHead: bytesEnc,
  blockData: bytesEnc,
  relayParentNumber: u32.enc,
  relayParentStorageRoot: h256Enc,
});

const validationParamsDec: Decoder<ValidationParams> = createDecoder((c) => ({
  parentHead: bytesDec(c),
  blockData: bytesDec(c),
  relayParentNumber: u32Dec(c),
  relayParentStorageRoot: fixedBytesDec(32)(c),
}));

export function encodeValidationParams(p: ValidationParams): Uint8Array {
  checkH256(p.relayParentStorageRoot, 'relay_parent_storage_root');
  return validationParamsEnc(p);
}

export function decodeValidationParams(bytes: Uint8Array): ValidationParams {
  return decodeAll(validationParamsDec, bytes, 'ValidationParams');
}

const hrmpMessageDec: Decoder<OutboundHrmpMessage> = createDecoder((c) => ({
  recipient: u32Dec(c),
  data: bytesDec(c),
}));

const validationResultDec: Decoder<ValidationResult> = createDecoder((c) => ({
  headData: bytesDec(c),
  newValidationCode: optionDec(bytesDec)(c),
  upwardMessages: vecDec(bytesDec, { max: MAX_UPWARD_MESSAGE_NUM, what: 'upward_messages' })(c),
  horizontalMessages: vecDec(hrmpMessageDec, {
    max: MAX_HORIZONTAL_MESSAGE_NUM,
    minElemSize: 5,
    what: 'horizontal_messages',
  })(c),
  processedDownwardMessages: u32Dec(c),
  hrmpWatermark: u32Dec(c),
}));

const validationResultEnc = Struct.enc({
  headData: bytesEnc,
  newValidationCode: Option.enc(bytesEnc),
  upwardMessages: Vector.enc(bytesEnc),
  horizontalMessages: Vector.enc(Struct.enc({ recipient: u32.enc, data: bytesEnc })),
  processedDownwardMessages: u32.enc,
  hrmpWatermark: u32.enc,
});

export function encodeValidationResult(r: ValidationResult): Uint8Array {
  return validationResultEnc(r);
}

/**
 * Decode the bytes `validate_block` returned. The PVF host decodes with `Decode::decode`, which
 * reads a prefix: bytes after a complete `ValidationResult` are ignored, not an error.
 */
export function decodeValidationResult(bytes: Uint8Array): ValidationResult {
  return decodePrefix(validationResultDec, bytes).value;
}

const pvdEnc = Struct.enc({
  parentHead: bytesEnc,
  relayParentNumber: u32.enc,
  relayParentStorageRoot: h256Enc,
  maxPovSize: u32.enc,
});

const pvdDec: Decoder<PersistedValidationData> = createDecoder((c) => ({
  parentHead: bytesDec(c),
  relayParentNumber: u32Dec(c),
  relayParentStorageRoot: fixedBytesDec(32)(c),
  maxPovSize: u32Dec(c),
}));

export function encodePersistedValidationData(p: PersistedValidationData): Uint8Array {
  checkH256(p.relayParentStorageRoot, 'relay_parent_storage_root');
  return pvdEnc(p);
}

export function decodePersistedValidationData(bytes: Uint8Array): PersistedValidationData {
  return decodeAll(pvdDec, bytes, 'PersistedValidationData');
}

export function encodePoV(p: PoV): Uint8Array {
  return bytesEnc(p.blockData);
}

export function decodePoV(bytes: Uint8Array): PoV {
  return { blockData: decodeAll(bytesDec, bytes, 'PoV') };
}

/**
 * The collator's `--export-pov-to-path` file (also read by cumulus `pov-validator`):
 * SCALE(PoV) immediately followed by SCALE(PersistedValidationData), nothing after.
 */
export function decodePovFile(bytes: Uint8Array): { pov: PoV; pvd: PersistedValidationData } {
  const { value: blockData, consumed } = decodePrefix(bytesDec, bytes);
  const pvd = decodeAll(pvdDec, bytes.subarray(consumed), 'PersistedValidationData');
  return { pov: { blockData }, pvd };
}

export function encodePovFile(pov: PoV, pvd: PersistedValidationData): Uint8Array {
  return concatBytes([encodePoV(pov), encodePersistedValidationData(pvd)]);
}

/** The encoded size of a PoV, the figure the PVF host compares with `max_pov_size`. */
export function encodedPoVSize(p: PoV): number {
  return encodePoV(p).length;
}
