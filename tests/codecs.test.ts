/** SCALE layouts, maybe-compressed blobs and ExecutorParams. Expected bytes are written out by hand. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodePovFile,
  decodeValidationParams,
  decodeValidationResult,
  encodePovFile,
  encodeValidationParams,
  encodeValidationResult,
  MAX_UPWARD_MESSAGE_NUM,
} from '../core/candidate/codecs.ts';
import { BlobError, decompressAs, CODE_BOMB_LIMIT, POV_BOMB_LIMIT } from '../core/candidate/blob.ts';
import { decodeExecutorParams, encodeExecutorParams, executorParamsHash } from '../core/session/executor-params.ts';
import { parseHex, toHex } from '../core/primitives/hex.ts';
import { ScaleError } from '../core/primitives/scale.ts';

const h = parseHex;

describe('ValidationParams / ValidationResult', () => {
  it('encodes ValidationParams field by field', () => {
    const bytes = encodeValidationParams({
      parentHead: Uint8Array.of(1, 2),
      blockData: Uint8Array.of(3),
      relayParentNumber: 0x01020304,
      relayParentStorageRoot: new Uint8Array(32).fill(0xaa),
    });
    assert.equal(toHex(bytes), '0x' + '080102' + '0403' + '04030201' + 'aa'.repeat(32));
    assert.deepEqual(decodeValidationParams(bytes).blockData, Uint8Array.of(3));
  });

  it('decodes a ValidationResult with every field set', () => {
    // head_data [9], Some(code [7,7]), upward [[1]], horizontal [{2000, [5]}], 3, 4
    const raw = h('0x0409' + '01' + '080707' + '04' + '0401' + '04' + 'd0070000' + '0405' + '03000000' + '04000000');
    const r = decodeValidationResult(raw);
    assert.deepEqual(r.headData, Uint8Array.of(9));
    assert.deepEqual(r.newValidationCode, Uint8Array.of(7, 7));
    assert.deepEqual(r.upwardMessages, [Uint8Array.of(1)]);
    assert.deepEqual(r.horizontalMessages, [{ recipient: 2000, data: Uint8Array.of(5) }]);
    assert.equal(r.processedDownwardMessages, 3);
    assert.equal(r.hrmpWatermark, 4);
    assert.deepEqual(encodeValidationResult(r), raw);
  });

  it('accepts trailing bytes after a ValidationResult (Decode::decode, not decode_all)', () => {
    const raw = h('0x00' + '00' + '00' + '00' + '00000000' + '00000000' + 'ffff');
    assert.equal(decodeValidationResult(raw).hrmpWatermark, 0);
  });

  it('rejects what parity-scale-codec rejects', () => {
    const bad: Record<string, string> = {
      'Option tag 2': '0x00' + '02' + '00' + '00' + '00000000' + '00000000',
      'byte vector longer than the input': '0x08ff',
      'non-canonical compact (1 in two-byte mode)': '0x0500' + '00' + '00' + '00' + '00000000' + '00000000',
      'missing hrmp_watermark': '0x00' + '00' + '00' + '00' + '00000000',
      'empty input': '0x',
    };
    for (const [what, hex] of Object.entries(bad)) {
      assert.throws(() => decodeValidationResult(h(hex)), ScaleError, what);
    }
  });

  it('bounds upward messages at 16384 before decoding them', () => {
    const encodeCount = (n: number) => {
      const c = new Uint8Array(4);
      new DataView(c.buffer).setUint32(0, (n << 2) | 2, true);
      return c;
    };
    const body = (n: number) => {
      const out = new Uint8Array(1 + 1 + 4 + n + 1 + 8);
      out.set(encodeCount(n), 2);
      return out;
    };
    assert.equal(decodeValidationResult(body(MAX_UPWARD_MESSAGE_NUM)).upwardMessages.length, MAX_UPWARD_MESSAGE_NUM);
    assert.throws(() => decodeValidationResult(body(MAX_UPWARD_MESSAGE_NUM + 1)), /more than its bound 16384/);
  });
});

describe('.pov files', () => {
  it('round-trips SCALE(PoV) ‖ SCALE(PVD) and rejects trailing bytes', () => {
    const pvd = { parentHead: Uint8Array.of(1), relayParentNumber: 7, relayParentStorageRoot: new Uint8Array(32), maxPovSize: 5242880 };
    const file = encodePovFile({ blockData: Uint8Array.of(4, 5) }, pvd);
    assert.equal(toHex(file), '0x' + '080405' + '0401' + '07000000' + '00'.repeat(32) + '00005000');
    assert.deepEqual(decodePovFile(file).pvd, pvd);
    assert.throws(() => decodePovFile(Uint8Array.from([...file, 0])), /trailing bytes/);
  });
});

/** A zstd frame built by hand from RLE blocks (RFC 8878): no content size, 128 KiB window. */
function zstdRle(byte: number, total: number): Uint8Array {
  const parts: number[] = [0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x38];
  let left = total;
  while (left > 0) {
    const size = Math.min(left, 128 * 1024);
    left -= size;
    const header = (size << 3) | (1 << 1) | (left === 0 ? 1 : 0);
    parts.push(header & 0xff, (header >>> 8) & 0xff, (header >>> 16) & 0xff, byte);
  }
  return Uint8Array.from(parts);
}
const prefix = (tag: number) => Uint8Array.of(0x52, 0xbc, 0x53, 0x76, 0x46, 0xdb, 0x8e, tag);
const cat = (a: Uint8Array, b: Uint8Array) => Uint8Array.from([...a, ...b]);

describe('maybe-compressed blobs', () => {
  it('decompresses a legacy-prefixed frame as code and as a PoV', async () => {
    const blob = cat(prefix(0x05), zstdRle(7, 300000));
    for (const use of ['code', 'pov'] as const) {
      const out = await decompressAs(use, blob, CODE_BOMB_LIMIT);
      assert.equal(out.compressed, true);
      assert.equal(out.bytes.length, 300000);
      assert.ok(out.bytes.every((b) => b === 7));
    }
  });

  it('takes exactly the limit and refuses one byte more', async () => {
    const limit = 1 << 20;
    assert.equal((await decompressAs('pov', cat(prefix(0x06), zstdRle(1, limit)), limit)).bytes.length, limit);
    await assert.rejects(decompressAs('pov', cat(prefix(0x06), zstdRle(1, limit + 1)), limit), (e: unknown) => e instanceof BlobError && e.kind === 'bomb');
  });

  it('stops a 1 GiB bomb at the PoV limit quickly', async () => {
    const t = performance.now();
    await assert.rejects(decompressAs('pov', cat(prefix(0x06), zstdRle(0, 1 << 30)), POV_BOMB_LIMIT), /bomb limit/);
    assert.ok(performance.now() - t < 20000);
  });

  it('refuses a typed blob used for the other purpose, and a malformed frame', async () => {
    const frame = zstdRle(1, 10);
    await assert.rejects(decompressAs('code', cat(prefix(0x06), frame), 100), /typed pov, not usable as code/);
    await assert.rejects(decompressAs('pov', cat(prefix(0x07), frame), 100), /typed wasm, not usable as pov/);
    await assert.rejects(decompressAs('pov', h('0x0061736d01000000'), 100), /typed wasm/);
    await assert.rejects(decompressAs('code', cat(prefix(0x05), Uint8Array.of(1, 2, 3, 4, 5, 6)), 100), (e: unknown) => e instanceof BlobError && e.kind === 'invalid');
  });

  it('passes an untyped PoV through unchanged', async () => {
    const pov = Uint8Array.of(9, 9, 9);
    assert.deepEqual(await decompressAs('pov', pov, 1), { bytes: pov, compressed: false });
  });
});

describe('ExecutorParams', () => {
  it('hashes the empty set as blake2_256(0x00)', () => {
    assert.equal(toHex(executorParamsHash([])), '0x03170a2e7597b7b7e3d84c05391d139a62b157e78786d8c082f29dcf4c111314');
  });

  it('encodes every variant with its upstream index', () => {
    const params = [
      { type: 'MaxMemoryPages', pages: 8192 },
      { type: 'StackLogicalMax', max: 65536 },
      { type: 'StackNativeMax', bytes: 268435456 },
      { type: 'PrecheckingMaxMemory', bytes: 1073741824n },
      { type: 'PvfPrepTimeout', kind: 'prepare', ms: 360000n },
      { type: 'PvfExecTimeout', kind: 'approval', ms: 12000n },
      { type: 'WasmExtBulkMemory' },
      { type: 'EnabledHostFunction', fn: 1 },
    ] as const;
    const bytes = encodeExecutorParams(params);
    assert.equal(
      toHex(bytes),
      '0x20' +
        '01' + '00200000' +
        '02' + '00000100' +
        '03' + '00000010' +
        '04' + '0000004000000000' +
        '05' + '01' + '407e050000000000' +
        '06' + '01' + 'e02e000000000000' +
        '07' +
        '08' + '01',
    );
    assert.deepEqual(decodeExecutorParams(bytes), params);
    assert.throws(() => decodeExecutorParams(h('0x0409')), /invalid ExecutorParam variant 9/);
    assert.throws(() => decodeExecutorParams(h('0x04050200')), /invalid PvfPrepKind 2/);
    assert.throws(() => decodeExecutorParams(h('0x040800')), /invalid ExecutorHostFunction 0/);
  });
});
