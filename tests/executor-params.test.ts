/**
 * ExecutorParams rules of polkadot-sdk `polkadot/primitives/src/v9/executor_params.rs`: defaults,
 * limits, `check_consistency`, `prep_hash` and the accessors. Expected hashes are computed here from
 * hand-written SCALE bytes with @noble/hashes, never from the code under test.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { blake2b } from '@noble/hashes/blake2.js';
import {
  DEFAULT_APPROVAL_EXECUTION_TIMEOUT_MS,
  DEFAULT_BACKING_EXECUTION_TIMEOUT_MS,
  DEFAULT_HEAP_PAGES_ESTIMATE,
  DEFAULT_LENIENT_PREPARATION_TIMEOUT_MS,
  DEFAULT_LOGICAL_STACK_MAX,
  DEFAULT_MAX_MEMORY_PAGES_TOTAL,
  DEFAULT_NATIVE_STACK_MAX,
  DEFAULT_PRECHECK_PREPARATION_TIMEOUT_MS,
  EXTRA_HEAP_PAGES,
  HOST_FUNCTION_ECC_RFC163,
  LOGICAL_MAX_HI,
  LOGICAL_MAX_LO,
  MEMORY_PAGES_MAX,
  PRECHECK_MEM_MAX_HI,
  PRECHECK_MEM_MAX_LO,
  bulkMemoryEnabled,
  checkConsistency,
  execTimeout,
  execTimeoutParam,
  executorParamsHash,
  hostFunctionEnabled,
  maxMemoryPagesTotal,
  precheckingMaxMemory,
  prepHash,
  prepTimeout,
  prepTimeoutParam,
  stackLogicalMax,
  stackNativeMax,
  type ExecutorParam,
} from '../core/session/executor-params.ts';
import { parseHex, toHex } from '../core/primitives/hex.ts';

const blake256 = (bytes: Uint8Array) => toHex(blake2b(bytes, { dkLen: 32 }));
const ascii = (s: string) => toHex(new TextEncoder().encode(s)).slice(2);
const PREP = ascii('prep'); // 70726570

describe('ExecutorParams constants', () => {
  it('has the upstream defaults and limits', () => {
    assert.equal(DEFAULT_LOGICAL_STACK_MAX, 65536);
    assert.equal(DEFAULT_NATIVE_STACK_MAX, 268435456);
    assert.equal(MEMORY_PAGES_MAX, 65536);
    assert.equal(LOGICAL_MAX_LO, 1024);
    assert.equal(LOGICAL_MAX_HI, 131072);
    assert.equal(PRECHECK_MEM_MAX_LO, 268435456n);
    assert.equal(PRECHECK_MEM_MAX_HI, 17179869184n);
    assert.equal(DEFAULT_PRECHECK_PREPARATION_TIMEOUT_MS, 60000n);
    assert.equal(DEFAULT_LENIENT_PREPARATION_TIMEOUT_MS, 360000n);
    assert.equal(DEFAULT_BACKING_EXECUTION_TIMEOUT_MS, 2000n);
    assert.equal(DEFAULT_APPROVAL_EXECUTION_TIMEOUT_MS, 12000n);
    assert.equal(DEFAULT_HEAP_PAGES_ESTIMATE, 32);
    assert.equal(EXTRA_HEAP_PAGES, 2048);
    assert.equal(DEFAULT_MAX_MEMORY_PAGES_TOTAL, 2080);
    assert.equal(HOST_FUNCTION_ECC_RFC163, 1);
  });
});

describe('ExecutorParams accessors', () => {
  it('defaults everything for the empty set', () => {
    assert.equal(prepTimeout([], 'precheck'), 60000n);
    assert.equal(prepTimeout([], 'prepare'), 360000n);
    assert.equal(execTimeout([], 'backing'), 2000n);
    assert.equal(execTimeout([], 'approval'), 12000n);
    assert.equal(prepTimeoutParam([], 'prepare'), undefined);
    assert.equal(execTimeoutParam([], 'approval'), undefined);
    assert.equal(maxMemoryPagesTotal([]), 2080);
    assert.equal(stackLogicalMax([]), 65536);
    assert.equal(stackNativeMax([]), 268435456);
    assert.equal(precheckingMaxMemory([]), undefined);
    assert.equal(bulkMemoryEnabled([]), false);
    assert.equal(hostFunctionEnabled([], HOST_FUNCTION_ECC_RFC163), false);
  });

  it('reads present values; timeouts per kind, first match', () => {
    const params: ExecutorParam[] = [
      { type: 'MaxMemoryPages', pages: 8192 },
      { type: 'StackLogicalMax', max: 2048 },
      { type: 'StackNativeMax', bytes: 1 << 20 },
      { type: 'PrecheckingMaxMemory', bytes: 1n << 30n },
      { type: 'PvfPrepTimeout', kind: 'prepare', ms: 500000n },
      { type: 'PvfExecTimeout', kind: 'backing', ms: 3000n },
      { type: 'PvfExecTimeout', kind: 'backing', ms: 4000n },
      { type: 'WasmExtBulkMemory' },
      { type: 'EnabledHostFunction', fn: HOST_FUNCTION_ECC_RFC163 },
    ];
    assert.equal(maxMemoryPagesTotal(params), 8192 + 32);
    assert.equal(stackLogicalMax(params), 2048);
    assert.equal(stackNativeMax(params), 1 << 20);
    assert.equal(precheckingMaxMemory(params), 1n << 30n);
    assert.equal(prepTimeout(params, 'prepare'), 500000n);
    assert.equal(prepTimeout(params, 'precheck'), 60000n); // other kind still defaults
    assert.equal(prepTimeoutParam(params, 'precheck'), undefined);
    assert.equal(execTimeout(params, 'backing'), 3000n); // first of the repeated kind
    assert.equal(execTimeout(params, 'approval'), 12000n);
    assert.equal(bulkMemoryEnabled(params), true);
    assert.equal(hostFunctionEnabled(params, HOST_FUNCTION_ECC_RFC163), true);
  });

  it('reads MaxMemoryPages n as n + 32, saturating at u32::MAX', () => {
    assert.equal(maxMemoryPagesTotal([{ type: 'MaxMemoryPages', pages: 1 }]), 33);
    assert.equal(maxMemoryPagesTotal([{ type: 'MaxMemoryPages', pages: 65536 }]), 65568);
    assert.equal(maxMemoryPagesTotal([{ type: 'MaxMemoryPages', pages: 0xffffffff }]), 0xffffffff);
  });
});

describe('ExecutorParams prepHash', () => {
  it('hashes the empty set as blake2_256("prep")', () => {
    assert.equal(toHex(prepHash([])), blake256(parseHex('0x' + PREP)));
    assert.equal(toHex(prepHash([])), blake256(new TextEncoder().encode('prep')));
  });

  it('hashes "prep" ++ SCALE of MaxMemoryPages, StackLogicalMax, WasmExtBulkMemory in order, no length prefix', () => {
    const params: ExecutorParam[] = [
      { type: 'PvfExecTimeout', kind: 'approval', ms: 12000n },
      { type: 'MaxMemoryPages', pages: 8192 },
      { type: 'StackNativeMax', bytes: 268435456 },
      { type: 'PvfPrepTimeout', kind: 'precheck', ms: 60000n },
      { type: 'StackLogicalMax', max: 65536 },
      { type: 'PrecheckingMaxMemory', bytes: 1073741824n },
      { type: 'EnabledHostFunction', fn: HOST_FUNCTION_ECC_RFC163 },
      { type: 'WasmExtBulkMemory' },
    ];
    const expected = blake256(parseHex('0x' + PREP + '01' + '00200000' + '02' + '00000100' + '07'));
    assert.equal(toHex(prepHash(params)), expected);
    // The full params hash covers everything, so it differs.
    assert.notEqual(toHex(executorParamsHash(params)), expected);
  });

  it('keeps the order of the included params', () => {
    const a: ExecutorParam[] = [{ type: 'StackLogicalMax', max: 2048 }, { type: 'MaxMemoryPages', pages: 1 }];
    assert.equal(toHex(prepHash(a)), blake256(parseHex('0x' + PREP + '02' + '00080000' + '01' + '01000000')));
    assert.notEqual(toHex(prepHash(a)), toHex(prepHash([...a].reverse())));
  });

  it('changes with each artifact-affecting param (as upstream ensure_prep_hash_changes)', () => {
    const pairs: [ExecutorParam[], ExecutorParam[]][] = [
      [[{ type: 'MaxMemoryPages', pages: 1 }], [{ type: 'MaxMemoryPages', pages: 2 }]],
      [[{ type: 'StackLogicalMax', max: 1 }], [{ type: 'StackLogicalMax', max: 2 }]],
      [[], [{ type: 'WasmExtBulkMemory' }]],
    ];
    for (const [x, y] of pairs) assert.notEqual(toHex(prepHash(x)), toHex(prepHash(y)));
  });

  it('ignores params that do not affect the artifact', () => {
    const empty = toHex(prepHash([]));
    const excluded: ExecutorParam[] = [
      { type: 'StackNativeMax', bytes: 1 },
      { type: 'PrecheckingMaxMemory', bytes: 1n },
      { type: 'PvfPrepTimeout', kind: 'precheck', ms: 1n },
      { type: 'PvfPrepTimeout', kind: 'prepare', ms: 2n },
      { type: 'PvfExecTimeout', kind: 'backing', ms: 1n },
      { type: 'PvfExecTimeout', kind: 'approval', ms: 2n },
      { type: 'EnabledHostFunction', fn: HOST_FUNCTION_ECC_RFC163 },
    ];
    for (const p of excluded) assert.equal(toHex(prepHash([p])), empty, p.type);
    assert.equal(toHex(prepHash(excluded)), empty);
  });

  it('the full params hash is blake2_256 of the SCALE Vec', () => {
    const params: ExecutorParam[] = [
      { type: 'MaxMemoryPages', pages: 8192 },
      { type: 'PvfExecTimeout', kind: 'backing', ms: 2500n },
    ];
    const expected = blake256(parseHex('0x08' + '01' + '00200000' + '06' + '00' + 'c409000000000000'));
    assert.equal(toHex(executorParamsHash(params)), expected);
  });
});

type Failure = Extract<ReturnType<typeof checkConsistency>, { ok: false }>;
function failure(params: ExecutorParam[]): Failure {
  const r = checkConsistency(params);
  assert.equal(r.ok, false, 'expected a consistency error');
  return r as Failure;
}
function expectError(params: ExecutorParam[], variant: string, names: string[]): void {
  const r = failure(params);
  assert.equal(r.variant, variant);
  assert.deepEqual(r.params, names);
  assert.match(r.error, new RegExp(`^${variant}\\(`));
  for (const n of names) assert.ok(r.error.includes(n), `${r.error} names ${n}`);
}
const ok = (params: ExecutorParam[]) => assert.deepEqual(checkConsistency(params), { ok: true });

describe('ExecutorParams checkConsistency', () => {
  it('accepts the empty set (defaults are consistent)', () => ok([]));

  it('accepts one of everything', () => {
    ok([
      { type: 'MaxMemoryPages', pages: 8192 },
      { type: 'StackLogicalMax', max: 65536 },
      { type: 'StackNativeMax', bytes: 268435456 },
      { type: 'PrecheckingMaxMemory', bytes: 1n << 30n },
      { type: 'PvfPrepTimeout', kind: 'precheck', ms: 60000n },
      { type: 'PvfPrepTimeout', kind: 'prepare', ms: 360000n },
      { type: 'PvfExecTimeout', kind: 'backing', ms: 2000n },
      { type: 'PvfExecTimeout', kind: 'approval', ms: 12000n },
      { type: 'WasmExtBulkMemory' },
      { type: 'EnabledHostFunction', fn: HOST_FUNCTION_ECC_RFC163 },
    ]);
  });

  describe('DuplicatedParam', () => {
    const dupes: [ExecutorParam, string][] = [
      [{ type: 'MaxMemoryPages', pages: 100 }, 'MaxMemoryPages'],
      [{ type: 'StackLogicalMax', max: 2048 }, 'StackLogicalMax'],
      [{ type: 'StackNativeMax', bytes: 268435456 }, 'StackNativeMax'],
      [{ type: 'PrecheckingMaxMemory', bytes: 1n << 30n }, 'PrecheckingMaxMemory'],
      [{ type: 'PvfPrepTimeout', kind: 'precheck', ms: 1000n }, 'PvfPrepKind::Precheck'],
      [{ type: 'PvfPrepTimeout', kind: 'prepare', ms: 1000000n }, 'PvfPrepKind::Prepare'],
      [{ type: 'PvfExecTimeout', kind: 'backing', ms: 1000n }, 'PvfExecKind::Backing'],
      [{ type: 'PvfExecTimeout', kind: 'approval', ms: 100000n }, 'PvfExecKind::Approval'],
      [{ type: 'WasmExtBulkMemory' }, 'WasmExtBulkMemory'],
      [{ type: 'EnabledHostFunction', fn: HOST_FUNCTION_ECC_RFC163 }, 'EnabledHostFunction::EccRfc163'],
    ];
    for (const [p, name] of dupes) {
      it(`rejects a repeated ${name}, accepts it once`, () => {
        ok([p]);
        expectError([p, p], 'DuplicatedParam', [name]);
      });
    }

    it('keys timeouts per kind: one of each kind is not a duplicate', () => {
      ok([
        { type: 'PvfPrepTimeout', kind: 'precheck', ms: 1000n },
        { type: 'PvfPrepTimeout', kind: 'prepare', ms: 2000n },
        { type: 'PvfExecTimeout', kind: 'backing', ms: 1000n },
        { type: 'PvfExecTimeout', kind: 'approval', ms: 2000n },
      ]);
    });

    it('reports a duplicate even when the repeat is also out of range (duplicate checked first)', () => {
      expectError(
        [{ type: 'MaxMemoryPages', pages: 100 }, { type: 'MaxMemoryPages', pages: 0 }],
        'DuplicatedParam',
        ['MaxMemoryPages'],
      );
    });

    it('reports the first error in param order', () => {
      expectError(
        [{ type: 'StackLogicalMax', max: 1 }, { type: 'WasmExtBulkMemory' }, { type: 'WasmExtBulkMemory' }],
        'OutsideLimit',
        ['StackLogicalMax'],
      );
    });
  });

  describe('OutsideLimit', () => {
    it('MaxMemoryPages lies in 1..=65536', () => {
      ok([{ type: 'MaxMemoryPages', pages: 1 }]);
      ok([{ type: 'MaxMemoryPages', pages: 65536 }]);
      expectError([{ type: 'MaxMemoryPages', pages: 0 }], 'OutsideLimit', ['MaxMemoryPages']);
      expectError([{ type: 'MaxMemoryPages', pages: 65537 }], 'OutsideLimit', ['MaxMemoryPages']);
    });

    it('StackLogicalMax lies in 1024..=131072', () => {
      ok([{ type: 'StackLogicalMax', max: 1024 }]);
      ok([{ type: 'StackLogicalMax', max: 131072 }, { type: 'StackNativeMax', bytes: 128 * 131072 }]);
      expectError([{ type: 'StackLogicalMax', max: 1023 }], 'OutsideLimit', ['StackLogicalMax']);
      expectError([{ type: 'StackLogicalMax', max: 131073 }], 'OutsideLimit', ['StackLogicalMax']);
    });

    it('PrecheckingMaxMemory lies in 256 MiB..=16 GiB', () => {
      ok([{ type: 'PrecheckingMaxMemory', bytes: 268435456n }]);
      ok([{ type: 'PrecheckingMaxMemory', bytes: 17179869184n }]);
      expectError([{ type: 'PrecheckingMaxMemory', bytes: 268435455n }], 'OutsideLimit', ['PrecheckingMaxMemory']);
      expectError([{ type: 'PrecheckingMaxMemory', bytes: 17179869185n }], 'OutsideLimit', ['PrecheckingMaxMemory']);
    });

    it('has no range for StackNativeMax, the timeouts, or the flags', () => {
      ok([{ type: 'StackNativeMax', bytes: 0xffffffff }]);
      ok([{ type: 'PvfExecTimeout', kind: 'backing', ms: 0n }]);
      ok([{ type: 'PvfPrepTimeout', kind: 'precheck', ms: 0n }]);
    });
  });

  describe('IncompatibleValues', () => {
    it('StackNativeMax >= 128 * StackLogicalMax, each defaulted when absent', () => {
      ok([{ type: 'StackLogicalMax', max: 2048 }, { type: 'StackNativeMax', bytes: 128 * 2048 }]);
      expectError(
        [{ type: 'StackLogicalMax', max: 2048 }, { type: 'StackNativeMax', bytes: 128 * 2048 - 1 }],
        'IncompatibleValues',
        ['StackLogicalMax', 'StackNativeMax'],
      );
      // absent StackLogicalMax defaults to 65536 → needs 8 MiB of native stack
      ok([{ type: 'StackNativeMax', bytes: 128 * 65536 }]);
      expectError([{ type: 'StackNativeMax', bytes: 128 * 65536 - 1 }], 'IncompatibleValues', [
        'StackLogicalMax',
        'StackNativeMax',
      ]);
      // absent StackNativeMax defaults to 256 MiB, which covers the largest allowed logical max
      ok([{ type: 'StackLogicalMax', max: LOGICAL_MAX_HI }]);
    });

    it('precheck prep timeout < prepare prep timeout, each defaulted when absent', () => {
      ok([
        { type: 'PvfPrepTimeout', kind: 'precheck', ms: 999n },
        { type: 'PvfPrepTimeout', kind: 'prepare', ms: 1000n },
      ]);
      const pair = ['PvfPrepKind::Precheck', 'PvfPrepKind::Prepare'];
      expectError(
        [
          { type: 'PvfPrepTimeout', kind: 'precheck', ms: 1000n },
          { type: 'PvfPrepTimeout', kind: 'prepare', ms: 1000n },
        ],
        'IncompatibleValues',
        pair,
      );
      // prepare absent → 360 s
      ok([{ type: 'PvfPrepTimeout', kind: 'precheck', ms: 359999n }]);
      expectError([{ type: 'PvfPrepTimeout', kind: 'precheck', ms: 360000n }], 'IncompatibleValues', pair);
      // precheck absent → 60 s
      ok([{ type: 'PvfPrepTimeout', kind: 'prepare', ms: 60001n }]);
      expectError([{ type: 'PvfPrepTimeout', kind: 'prepare', ms: 60000n }], 'IncompatibleValues', pair);
    });

    it('backing exec timeout < approval exec timeout, each defaulted when absent', () => {
      ok([
        { type: 'PvfExecTimeout', kind: 'backing', ms: 5000n },
        { type: 'PvfExecTimeout', kind: 'approval', ms: 5001n },
      ]);
      const pair = ['PvfExecKind::Backing', 'PvfExecKind::Approval'];
      expectError(
        [
          { type: 'PvfExecTimeout', kind: 'approval', ms: 5000n },
          { type: 'PvfExecTimeout', kind: 'backing', ms: 5000n },
        ],
        'IncompatibleValues',
        pair,
      );
      // approval absent → 12 s
      ok([{ type: 'PvfExecTimeout', kind: 'backing', ms: 11999n }]);
      expectError([{ type: 'PvfExecTimeout', kind: 'backing', ms: 12000n }], 'IncompatibleValues', pair);
      // backing absent → 2 s
      ok([{ type: 'PvfExecTimeout', kind: 'approval', ms: 2001n }]);
      expectError([{ type: 'PvfExecTimeout', kind: 'approval', ms: 2000n }], 'IncompatibleValues', pair);
    });

    it('checks the cross rules in order: stack, then preparation, then execution', () => {
      const badStack: ExecutorParam = { type: 'StackNativeMax', bytes: 1 };
      const badPrep: ExecutorParam = { type: 'PvfPrepTimeout', kind: 'precheck', ms: 400000n };
      const badExec: ExecutorParam = { type: 'PvfExecTimeout', kind: 'backing', ms: 20000n };
      assert.equal(failure([badExec, badPrep, badStack]).params[0], 'StackLogicalMax');
      assert.equal(failure([badExec, badPrep]).params[0], 'PvfPrepKind::Precheck');
      assert.equal(failure([badExec]).params[0], 'PvfExecKind::Backing');
    });

    it('runs cross checks only after every param passed the per-param checks', () => {
      expectError(
        [{ type: 'StackNativeMax', bytes: 1 }, { type: 'MaxMemoryPages', pages: 0 }],
        'OutsideLimit',
        ['MaxMemoryPages'],
      );
    });
  });
});
