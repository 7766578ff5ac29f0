/** ext_misc_runtime_version: the version a blob declares in its custom sections, never by running it. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readEmbeddedVersion, runtimeVersionOption } from '../engines/v8/host/runtime-version.ts';
import { initZstd } from '../core/candidate/blob.ts';
import { parseHex, toHex } from '../core/primitives/hex.ts';
import { SHARED, SKIP_SHARED, pvf } from './support/pvfs.ts';

const CORE_ID = 'df6acb689907609b'; // blake2_64("Core"), the Core API id

function customSection(name: string, payload: Uint8Array): Uint8Array {
  const n = new TextEncoder().encode(name);
  const body = Uint8Array.from([n.length, ...n, ...payload]);
  const size: number[] = [];
  let v = body.length;
  do {
    size.push((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
    v >>>= 7;
  } while (v > 0);
  return Uint8Array.from([0, ...size, ...body]);
}
const cat = (...xs: Uint8Array[]) => Uint8Array.from(xs.flatMap((x) => [...x]));

/** A zstd frame of raw (stored) blocks: any bytes, no compression. */
function zstdRaw(data: Uint8Array): Uint8Array {
  const out: number[] = [0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x38];
  for (let at = 0; at < data.length || at === 0; at += 128 * 1024) {
    const chunk = data.subarray(at, at + 128 * 1024);
    const last = at + 128 * 1024 >= data.length ? 1 : 0;
    const header = (chunk.length << 3) | last;
    out.push(header & 0xff, (header >>> 8) & 0xff, (header >>> 16) & 0xff, ...chunk);
    if (data.length === 0) break;
  }
  return Uint8Array.from(out);
}

// spec_name "test", impl_name "t", authoring 1, spec 2, impl 3
const HEAD = '10' + '74657374' + '04' + '74' + '01000000' + '02000000' + '03000000';

describe('runtime_version', () => {
  it('re-encodes a Core v4 version section unchanged', async () => {
    const section = parseHex('0x' + HEAD + '04' + CORE_ID + '04000000' + '05000000' + '01');
    const code = cat(await pvf('adder'), customSection('runtime_version', section));
    assert.equal(toHex(runtimeVersionOption(code)), '0x01' + '94' + toHex(section).slice(2)); // Some(Vec of 37 bytes)
  });

  it('fills the fields an older Core version lacks (transaction_version 1, system_version 0)', async () => {
    const section = parseHex('0x' + HEAD + '04' + CORE_ID + '02000000');
    const v = readEmbeddedVersion(cat(await pvf('adder'), customSection('runtime_version', section)));
    assert.deepEqual([v?.specName, v?.specVersion, v?.transactionVersion, v?.systemVersion], ['test', 2, 1, 0]);
  });

  it('takes the apis from the runtime_apis section when present', async () => {
    const section = parseHex('0x' + HEAD + '00' + '05000000' + '01');
    const apis = parseHex('0x' + CORE_ID + '04000000' + 'aabbccddeeff0011' + '07000000');
    const v = readEmbeddedVersion(cat(await pvf('adder'), customSection('runtime_version', section), customSection('runtime_apis', apis)));
    assert.equal(v?.apis.length, 2);
    assert.equal(v?.transactionVersion, 5);
    assert.equal(v?.systemVersion, 1);
  });

  it('reads through a compressed code blob', async () => {
    await initZstd();
    const section = parseHex('0x' + HEAD + '04' + CORE_ID + '04000000' + '05000000' + '01');
    const code = cat(await pvf('adder'), customSection('runtime_version', section));
    const blob = cat(parseHex('0x52bc537646db8e05'), zstdRaw(code));
    assert.deepEqual(runtimeVersionOption(blob), runtimeVersionOption(code));
    assert.equal(runtimeVersionOption(blob)[0], 1);
  });

  it('answers None without a section, for garbage, and for a clipped runtime_apis section', async () => {
    assert.equal(toHex(runtimeVersionOption(await pvf('adder'))), '0x00');
    assert.equal(toHex(runtimeVersionOption(Uint8Array.of(1, 2, 3))), '0x00');
    const section = parseHex('0x' + HEAD + '00');
    const clipped = cat(await pvf('adder'), customSection('runtime_version', section), customSection('runtime_apis', Uint8Array.of(1, 2, 3)));
    assert.equal(toHex(runtimeVersionOption(clipped)), '0x00');
  });
});

describe('runtime_version of real Cumulus runtimes', { skip: SKIP_SHARED }, () => {
  const cases: Array<[string, string, number]> = [
    ['statemine-1000000.asset-hub-kusama-local.compact.compressed.wasm', 'statemine', 1000000],
    ['coretime-polkadot-1003000.compact.compressed.wasm', 'coretime-polkadot', 1003000],
  ];
  for (const [file, name, spec] of cases) {
    it(`${file} declares ${name} ${spec}`, async () => {
      await initZstd();
      const v = readEmbeddedVersion(readFileSync(join(SHARED, 'pvf', file)));
      assert.equal(v?.specName, name);
      assert.equal(v?.specVersion, spec);
    });
  }
});
