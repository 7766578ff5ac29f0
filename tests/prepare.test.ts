/**
 * Prepare's module rewrites on inputs a candidate controls: huge names, and the memory cap at the
 * top of the MaxMemoryPages range. Findings 7a and 7c of the reliability issue.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { assembleWat } from '../build/wat.ts';
import { capMemory, WASM32_MAX_PAGES } from '../core/prepare.ts';
import { maxMemoryPagesTotal, MEMORY_PAGES_MAX } from '../core/executor-params.ts';
import { memoryOf, parseModule } from '../core/wasm.ts';
import { sampleParams } from '../core/sample.ts';
import { validateCandidate, type Engine } from '../core/validate.ts';
import { inProcessV8 } from '../engines/v8/index.ts';
import { REPO } from './support/pvfs.ts';

const ADDER_WAT = readFileSync(`${REPO}tests/pvfs/adder.wat`, 'utf8');

/** The adder with one more function import whose name is `nameLength` bytes long (never called). */
function adderWithLongImport(nameLength: number): Promise<Uint8Array> {
  const name = 'x'.repeat(nameLength);
  const wat = ADDER_WAT.replace('(import "env" "memory" (memory 17))', `(import "env" "memory" (memory 17))\n  (import "env" "${name}" (func $unused))`);
  assert.notEqual(wat, ADDER_WAT, 'the adder source changed: the import anchor is gone');
  return assembleWat(wat, 'adder-long-import.wat');
}

describe('a 300 KB import name (finding 7a)', () => {
  // polkadot: RuntimeBlob::new (parity-wasm) and wasmtime accept any name length; a function import
  // the host does not offer is bound to a stub that traps only when called
  // (polkadot-sdk substrate/client/executor/wasmtime/src/imports.rs, prepare_imports with
  // allow_missing_func_imports = true, set in polkadot/node/core/pvf/common/src/executor_interface.rs
  // DEFAULT_CONFIG). So the adder with such an unused import is still valid.
  it('prepare handles it and the candidate is valid, as polkadot judges it', async () => {
    const code = await adderWithLongImport(300 * 1024);
    const rep = await validateCandidate({ kind: 'params', code, params: sampleParams() }, inProcessV8);
    assert.equal(rep.verdict.verdict, 'valid', JSON.stringify(rep.verdict));
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
