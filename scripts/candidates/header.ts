/** Substrate block headers and digests (sp-runtime generic Header<u32, BlakeTwo256>). */
import { Bytes, Vector, compact, u8 } from 'scale-ts';
import { createDecoder } from 'scale-ts';
import { bytesDec, compactU32, decodePrefix, fixedBytesDec, u8Dec, vecDec, ScaleError } from '../../core/primitives/scale.ts';
import { concatBytes } from '../../core/primitives/bytes.ts';
import { blake2_256 } from '../../core/primitives/hashing.ts';

export type DigestItem =
  | { kind: 'PreRuntime' | 'Consensus' | 'Seal'; engine: string; data: Uint8Array }
  | { kind: 'Other'; data: Uint8Array }
  | { kind: 'RuntimeEnvironmentUpdated' };

export interface Header {
  parentHash: Uint8Array;
  number: number;
  stateRoot: Uint8Array;
  extrinsicsRoot: Uint8Array;
  digest: DigestItem[];
}

const ENGINE_ITEMS = { Consensus: 4, Seal: 5, PreRuntime: 6 } as const;
const bytes = Bytes.enc();
const engineId = (s: string) => new TextEncoder().encode(s);

function encodeDigestItem(d: DigestItem): Uint8Array {
  switch (d.kind) {
    case 'Other':
      return concatBytes([u8.enc(0), bytes(d.data)]);
    case 'RuntimeEnvironmentUpdated':
      return u8.enc(8);
    default:
      return concatBytes([u8.enc(ENGINE_ITEMS[d.kind]), engineId(d.engine), bytes(d.data)]);
  }
}

export function encodeHeader(h: Header): Uint8Array {
  return concatBytes([
    h.parentHash,
    compact.enc(h.number),
    h.stateRoot,
    h.extrinsicsRoot,
    Vector.enc((x: Uint8Array) => x)(h.digest.map(encodeDigestItem)),
  ]);
}

const digestItemDec = createDecoder((c): DigestItem => {
  const tag = u8Dec(c);
  const engine = () => new TextDecoder().decode(fixedBytesDec(4)(c));
  switch (tag) {
    case 0:
      return { kind: 'Other', data: bytesDec(c) };
    case 4:
      return { kind: 'Consensus', engine: engine(), data: bytesDec(c) };
    case 5:
      return { kind: 'Seal', engine: engine(), data: bytesDec(c) };
    case 6:
      return { kind: 'PreRuntime', engine: engine(), data: bytesDec(c) };
    case 8:
      return { kind: 'RuntimeEnvironmentUpdated' };
    default:
      throw new ScaleError(`unknown digest item ${tag}`);
  }
});

const headerDec = createDecoder((c): Header => ({
  parentHash: fixedBytesDec(32)(c),
  number: compactU32(c),
  stateRoot: fixedBytesDec(32)(c),
  extrinsicsRoot: fixedBytesDec(32)(c),
  digest: vecDec(digestItemDec, { what: 'digest' })(c),
}));

export function decodeHeader(b: Uint8Array): Header {
  return decodePrefix(headerDec, b).value;
}

export function headerHash(h: Header): Uint8Array {
  return blake2_256(encodeHeader(h));
}

export const u64le = (n: bigint): Uint8Array => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, n, true);
  return b;
};
