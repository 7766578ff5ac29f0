/**
 * Prepare's module rewrites on inputs a candidate controls: huge names, and the memory cap at the
 * top of the MaxMemoryPages range. Findings 7a and 7c of the reliability issue.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { assembleWat } from '../build/wat.ts';
import { capMemory, WASM32_MAX_PAGES } from '../core/prepare/prepare.ts';
import { checkFeatures } from '../core/prepare/prevalidate.ts';
import { leb128 } from '../core/primitives/bytes.ts';
import { maxMemoryPagesTotal, MEMORY_PAGES_MAX } from '../core/session/executor-params.ts';
import { memoryOf, parseModule } from '../core/wasm/wasm.ts';
import { sampleParams } from '../core/candidate/sample.ts';
import { validateCandidate, type Engine } from '../core/candidate/validate.ts';
import { inProcessV8 } from '../engines/v8/index.ts';
import { REPO } from './support/pvfs.ts';

const ADDER_WAT = readFileSync(`${REPO}tests/pvfs/adder.wat`, 'utf8');

/** The adder with one more function import `module`.`name` (never called). */
function adderWithImport(module: string, name: string): Promise<Uint8Array> {
  const wat = ADDER_WAT.replace('(import "env" "memory" (memory 17))', `(import "env" "memory" (memory 17))\n  (import "${module}" "${name}" (func $unused))`);
  assert.notEqual(wat, ADDER_WAT, 'the adder source changed: the import anchor is gone');
  return assembleWat(wat, 'adder-long-import.wat');
}
const adderWithLongImport = (nameLength: number) => adderWithImport('env', 'x'.repeat(nameLength));

async function verdictOf(code: Uint8Array) {
  return (await validateCandidate({ kind: 'params', code, params: sampleParams() }, inProcessV8)).verdict;
}

describe('long import names (finding 7a)', () => {
  // polkadot: wasmtime parses the module with wasmparser, which refuses any name longer than its
  // MAX_WASM_STRING_SIZE of 100_000 bytes (bytecodealliance/wasm-tools crates/wasmparser/src/limits.rs;
  // BinaryReader::read_string, "string size out of bounds"), so preparation fails
  // (polkadot/node/core/pvf/prepare-worker/src/lib.rs, prepare_artifact → PrepareError::Preparation)
  // and pre-checking rejects it (validation: no vote, `prepare-failed`, never internal-error). V8 has no
  // such limit: the feature gate applies it for every engine.
  it('a 300 KB import name fails preparation (prevalidation), never internal-error', async () => {
    const v = await verdictOf(await adderWithLongImport(300 * 1024));
    assert.deepEqual([v.verdict, v.verdict !== 'valid' && v.reason], ['abstain', 'prepare-failed'], JSON.stringify(v));
    assert.match(v.verdict !== 'valid' ? v.detail : '', /^prevalidation: import name of 307200 bytes: wasmparser accepts at most 100000/);
  });

  it('a 100_000-byte import name, the longest wasmparser reads, is valid', async () => {
    // Below the limit a function import the host does not offer is bound to a stub that traps only
    // when called (substrate/client/executor/wasmtime/src/imports.rs, prepare_imports, with
    // allow_missing_func_imports = true from executor_interface.rs DEFAULT_CONFIG).
    const v = await verdictOf(await adderWithLongImport(100_000));
    assert.equal(v.verdict, 'valid', JSON.stringify(v));
  });

  it('an import with a 100_000-byte module name and field name: prepare survives, and the verdict is the host\'s', async () => {
    // 200 KB in one import entry: prepare used to spread it into push() and exhaust the call
    // stack (abstain). Upstream imports from a module other than "env" fail runtime construction
    // (imports.rs, prepare_imports), as the v8 engines' linker does: invalid, not abstain.
    const v = await verdictOf(await adderWithImport('m'.repeat(100_000), 'f'.repeat(100_000)));
    assert.deepEqual([v.verdict, v.verdict === 'invalid' && v.reason], ['invalid', 'execution-error'], JSON.stringify(v));
  });

  it('export names and custom section names have the same 100_000-byte limit', async () => {
    const adder = await assembleWat(ADDER_WAT, 'adder.wat');
    const custom = (len: number) => {
      const body = [...leb128(len), ...new Uint8Array(len).fill(0x61)];
      return Uint8Array.from([...adder, 0, ...leb128(body.length), ...body]);
    };
    assert.doesNotThrow(() => checkFeatures(custom(100_000), { bulkMemory: false }));
    assert.throws(() => checkFeatures(custom(100_001), { bulkMemory: false }), /custom section name of 100001 bytes/);
    const exported = await assembleWat(ADDER_WAT.replace('(export "__heap_base"', `(export "${'e'.repeat(100_001)}" (global $__heap_base))\n  (export "__heap_base"`), 'e.wat');
    assert.throws(() => checkFeatures(exported, { bulkMemory: false }), /export name of 100001 bytes/);
  });

  it('capMemory keeps the long import byte for byte and still caps the memory', async () => {
    const code = await adderWithLongImport(300 * 1024);
    const capped = capMemory(code, 100);
    const info = parseModule(capped);
    assert.equal(info.imports.find((i) => i.desc.kind === 'function' && i.name.length === 300 * 1024)?.name.length, 300 * 1024);
    assert.deepEqual(memoryOf(info)?.limits.max, 100);
    assert.ok(WebAssembly.validate(capped));
  });

  it('a stack overflow inside our own code is abstain (internal-error), never invalid', async () => {
    const overflowing: Engine = {
      id: 'overflowing-host',
      family: 'v8',
      vmVersion: 'test',
      execute() {
        const recurse = (n: number): number => recurse(n + 1) + 1;
        recurse(0);
        throw new Error('unreachable');
      },
      prepare() {
        throw new Error('not used');
      },
    };
    const rep = await validateCandidate({ kind: 'params', code: await adderWithLongImport(10), params: sampleParams() }, overflowing);
    assert.equal(rep.verdict.verdict, 'abstain');
    assert.equal(rep.verdict.verdict === 'abstain' && rep.verdict.reason, 'internal-error');
  });
});

describe('MaxMemoryPages near the top of its range (finding 7c)', () => {
  // Upstream: params_to_wasmtime_semantics (polkadot/node/core/pvf/common/src/executor_interface.rs)
  // turns MaxMemoryPages(n) into HeapAllocStrategy::Dynamic { maximum_pages: n.saturating_add(32) },
  // with n allowed up to MEMORY_PAGES_MAX = 65536 (polkadot/primitives executor_params.rs,
  // check_consistency). sc-executor-wasmtime applies it as a store limit in bytes
  // (substrate/client/executor/wasmtime/src/instance_wrapper.rs, InstanceWrapper::build_store_limits),
  // not as a module the validator must accept, so the memory simply cannot grow past the 65536 pages
  // a 32-bit memory has: every candidate is judged as with a 65536-page limit.
  it('the cap written into the module never exceeds 65536 pages', async () => {
    const adder = await assembleWat(ADDER_WAT, 'adder.wat');
    for (const pages of [65504, 65505, MEMORY_PAGES_MAX]) {
      const total = maxMemoryPagesTotal([{ type: 'MaxMemoryPages', pages }]);
      const capped = capMemory(adder, total);
      const max = memoryOf(parseModule(capped))?.limits.max;
      assert.equal(max, Math.min(pages + 32, WASM32_MAX_PAGES), `MaxMemoryPages ${pages}`);
      assert.ok(WebAssembly.validate(capped), `MaxMemoryPages ${pages}: the prepared module must be valid Wasm`);
    }
  });

  it('the sample stays valid with MaxMemoryPages 65505 and 65536', async () => {
    const adder = await assembleWat(ADDER_WAT, 'adder.wat');
    for (const pages of [65505, MEMORY_PAGES_MAX]) {
      const limits = { maxPages: maxMemoryPagesTotal([{ type: 'MaxMemoryPages', pages }]), timeoutMs: 2000 };
      const rep = await validateCandidate({ kind: 'params', code: adder, params: sampleParams() }, inProcessV8, { limits });
      assert.equal(rep.verdict.verdict, 'valid', `MaxMemoryPages ${pages}: ${JSON.stringify(rep.verdict)}`);
    }
  });
});

/** A zstd frame of raw blocks (RFC 8878 §3.1.1: single segment, 4-byte content size), behind the legacy code prefix. */
function compressedBlob(code: Uint8Array): Uint8Array {
  const parts: number[] = [0x52, 0xbc, 0x53, 0x76, 0x46, 0xdb, 0x8e, 0x05, 0x28, 0xb5, 0x2f, 0xfd, 0xa0];
  parts.push(code.length & 0xff, (code.length >>> 8) & 0xff, (code.length >>> 16) & 0xff, code.length >>> 24);
  const max = 128 * 1024;
  for (let at = 0; at < code.length || at === 0; at += max) {
    const block = code.subarray(at, at + max);
    const header = (block.length << 3) | (at + max >= code.length ? 1 : 0);
    parts.push(header & 0xff, (header >>> 8) & 0xff, (header >>> 16) & 0xff, ...block);
    if (code.length === 0) break;
  }
  return Uint8Array.from(parts);
}

describe('the prepared-artifact cache is keyed by the code blob as given', () => {
  it('a hit skips decompression; raw and compressed forms of one module are separate entries of the same bytes; a bad blob is never cached', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { preparePvf } = await import('../core/prepare/prepare.ts');
    const { DEFAULT_LIMITS } = await import('../core/candidate/validate.ts');
    const root = mkdtempSync(join(tmpdir(), 'pvf-prep-key-'));
    try {
      const cache = { root };
      const raw = await assembleWat(ADDER_WAT, 'adder.wat');
      const blob = compressedBlob(raw);
      const first = await preparePvf(blob, 'engine-k', DEFAULT_LIMITS, { cache });
      assert.equal(first.fromCache, false);
      assert.equal(typeof first.timings.decompressCodeMs, 'number');
      const second = await preparePvf(blob, 'engine-k', DEFAULT_LIMITS, { cache });
      assert.equal(second.fromCache, true);
      assert.equal(second.timings.decompressCodeMs, undefined, 'a hit decompressed the code again');
      assert.deepEqual(second.module, first.module);
      const plain = await preparePvf(raw, 'engine-k', DEFAULT_LIMITS, { cache });
      assert.equal(plain.fromCache, false, 'the raw module shared the compressed blob entry');
      assert.deepEqual(plain.module, first.module);
      // A blob whose stream breaks: refused every time, never cached.
      const broken = blob.subarray(0, blob.length - 10);
      for (let k = 0; k < 2; k++) {
        await assert.rejects(preparePvf(broken, 'engine-k', DEFAULT_LIMITS, { cache }), (e: unknown) => e instanceof Error && 'reason' in e && (e as { reason: string }).reason === 'code-decompression');
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
