/**
 * `sp_io::misc::runtime_version` as the PVF host implements it: read the version a Wasm blob
 * declares in its `runtime_version` / `runtime_apis` custom sections, never by running the blob.
 * The result is SCALE `Option<Vec<u8>>`: `None` on any failure.
 */
import { Bytes, Option, Struct, Tuple, Vector, str, u32, u8 } from 'scale-ts';
import { createDecoder } from 'scale-ts';
import { bytesDec, decodePrefix, fixedBytesDec, u32Dec, u8Dec, vecDec, ScaleError } from '../../../core/primitives/scale.ts';
import { decompressAsSync } from '../../../core/candidate/blob.ts';
import { parseModule } from '../../../core/wasm/wasm.ts';
import { blake2b } from '@noble/hashes/blake2.js';

/** Decompression limit of `RuntimeBlob::uncompress_if_needed` (sp-maybe-compressed-blob). */
const CODE_BLOB_BOMB_LIMIT = 50 * 1024 * 1024;

/** The API id of `Core`: blake2_64("Core"). */
const CORE_API_ID = blake2b(new TextEncoder().encode('Core'), { dkLen: 8 });

export interface RuntimeVersion {
  specName: string;
  implName: string;
  authoringVersion: number;
  specVersion: number;
  implVersion: number;
  apis: Array<[Uint8Array, number]>;
  transactionVersion: number;
  systemVersion: number;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const strDec = createDecoder((c) => {
  try {
    return strictUtf8.decode(bytesDec(c));
  } catch (e) {
    if (e instanceof ScaleError) throw e;
    throw new ScaleError('string is not UTF-8');
  }
});
const apiDec = createDecoder((c) => [fixedBytesDec(8)(c), u32Dec(c)] as [Uint8Array, number]);

const runtimeVersionEnc = Struct.enc({
  specName: str.enc,
  implName: str.enc,
  authoringVersion: u32.enc,
  specVersion: u32.enc,
  implVersion: u32.enc,
  apis: Vector.enc(Tuple.enc(Bytes.enc(8), u32.enc)),
  transactionVersion: u32.enc,
  systemVersion: u8.enc,
});

function coreVersionOf(apis: Array<[Uint8Array, number]>): number | undefined {
  const core = apis.find(([id]) => id.every((b, k) => b === CORE_API_ID[k]));
  return core?.[1];
}

/** Parse the `runtime_apis` section: back-to-back 12-byte records (id, u32 LE version). */
function decodeRuntimeApis(section: Uint8Array): Array<[Uint8Array, number]> {
  if (section.length % 12 !== 0) throw new ScaleError('a clipped runtime api info declaration');
  const out: Array<[Uint8Array, number]> = [];
  const view = new DataView(section.buffer, section.byteOffset, section.byteLength);
  for (let at = 0; at < section.length; at += 12) out.push([section.slice(at, at + 8), view.getUint32(at + 8, true)]);
  return out;
}

/** Decode a `runtime_version` section; which trailing fields exist depends on the Core API version. */
export function decodeRuntimeVersion(section: Uint8Array, coreHint: number | undefined): RuntimeVersion {
  return decodePrefix(
    createDecoder((c) => {
      const specName = strDec(c);
      const implName = strDec(c);
      const authoringVersion = u32Dec(c);
      const specVersion = u32Dec(c);
      const implVersion = u32Dec(c);
      const apis = vecDec(apiDec, { minElemSize: 12, what: 'apis' })(c);
      const core = coreHint ?? coreVersionOf(apis);
      const transactionVersion = core !== undefined && core >= 3 ? u32Dec(c) : 1;
      const systemVersion = core !== undefined && core >= 4 ? u8Dec(c) : 0;
      return { specName, implName, authoringVersion, specVersion, implVersion, apis, transactionVersion, systemVersion };
    }),
    section,
  ).value;
}

export function encodeRuntimeVersion(v: RuntimeVersion): Uint8Array {
  return runtimeVersionEnc(v);
}

/**
 * The version a blob declares, or undefined when it declares none or cannot be read. Synchronous:
 * it runs inside the `ext_misc_runtime_version_version_1` host call (call `initZstd()` first).
 */
export function readEmbeddedVersion(blob: Uint8Array): RuntimeVersion | undefined {
  try {
    const code = decompressAsSync('code', blob, CODE_BLOB_BOMB_LIMIT).bytes;
    const info = parseModule(code);
    const section = info.customSections.get('runtime_version')?.[0];
    if (!section) return undefined;
    const apisSection = info.customSections.get('runtime_apis')?.[0];
    const apis = apisSection ? decodeRuntimeApis(apisSection) : undefined;
    const version = decodeRuntimeVersion(section, apis ? coreVersionOf(apis) : undefined);
    if (apis) version.apis = apis;
    return version;
  } catch {
    return undefined;
  }
}

const optionBytesEnc = Option.enc(Bytes.enc());

/** SCALE `Option<Vec<u8>>` of the re-encoded version: what the host function returns. */
export function runtimeVersionOption(blob: Uint8Array): Uint8Array {
  const version = readEmbeddedVersion(blob);
  return optionBytesEnc(version ? encodeRuntimeVersion(version) : undefined);
}
