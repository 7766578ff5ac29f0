/**
 * ExecutorParams (polkadot-primitives): SCALE `Vec<ExecutorParam>`, hashed with blake2_256.
 * Variant indices are explicit upstream (`#[codec(index = n)]`) and start at 1.
 */
import { Enum, Tuple, Vector, _void, u32, u64, u8, type CodecType } from 'scale-ts';
import { createDecoder } from 'scale-ts';
import { blake2_256 } from './hashing.ts';
import { decodeAll, u32Dec, u64Dec, u8Dec, vecDec, ScaleError } from './scale.ts';

export type PvfPrepKind = 'precheck' | 'prepare';
export type PvfExecKind = 'backing' | 'approval';

export type ExecutorParam =
  | { type: 'MaxMemoryPages'; pages: number }
  | { type: 'StackLogicalMax'; max: number }
  | { type: 'StackNativeMax'; bytes: number }
  | { type: 'PrecheckingMaxMemory'; bytes: bigint }
  | { type: 'PvfPrepTimeout'; kind: PvfPrepKind; ms: bigint }
  | { type: 'PvfExecTimeout'; kind: PvfExecKind; ms: bigint }
  | { type: 'WasmExtBulkMemory' }
  | { type: 'EnabledHostFunction'; fn: number };

const wire = Enum(
  {
    MaxMemoryPages: u32,
    StackLogicalMax: u32,
    StackNativeMax: u32,
    PrecheckingMaxMemory: u64,
    PvfPrepTimeout: Tuple(Enum({ Precheck: _void, Prepare: _void }), u64),
    PvfExecTimeout: Tuple(Enum({ Backing: _void, Approval: _void }), u64),
    WasmExtBulkMemory: _void,
    EnabledHostFunction: u8,
  },
  [1, 2, 3, 4, 5, 6, 7, 8],
);
type Wire = CodecType<typeof wire>;

const PREP_KINDS: PvfPrepKind[] = ['precheck', 'prepare'];
const EXEC_KINDS: PvfExecKind[] = ['backing', 'approval'];

function toWire(p: ExecutorParam): Wire {
  switch (p.type) {
    case 'MaxMemoryPages':
      return { tag: 'MaxMemoryPages', value: p.pages };
    case 'StackLogicalMax':
      return { tag: 'StackLogicalMax', value: p.max };
    case 'StackNativeMax':
      return { tag: 'StackNativeMax', value: p.bytes };
    case 'PrecheckingMaxMemory':
      return { tag: 'PrecheckingMaxMemory', value: p.bytes };
    case 'PvfPrepTimeout':
      return { tag: 'PvfPrepTimeout', value: [{ tag: p.kind === 'precheck' ? 'Precheck' : 'Prepare', value: undefined }, p.ms] };
    case 'PvfExecTimeout':
      return { tag: 'PvfExecTimeout', value: [{ tag: p.kind === 'backing' ? 'Backing' : 'Approval', value: undefined }, p.ms] };
    case 'WasmExtBulkMemory':
      return { tag: 'WasmExtBulkMemory', value: undefined };
    case 'EnabledHostFunction':
      return { tag: 'EnabledHostFunction', value: p.fn };
  }
}

export function encodeExecutorParams(params: readonly ExecutorParam[]): Uint8Array {
  return Vector.enc(wire.enc)(params.map(toWire));
}

const paramDec = createDecoder((c): ExecutorParam => {
  const tag = u8Dec(c);
  switch (tag) {
    case 1:
      return { type: 'MaxMemoryPages', pages: u32Dec(c) };
    case 2:
      return { type: 'StackLogicalMax', max: u32Dec(c) };
    case 3:
      return { type: 'StackNativeMax', bytes: u32Dec(c) };
    case 4:
      return { type: 'PrecheckingMaxMemory', bytes: u64Dec(c) };
    case 5: {
      const k = u8Dec(c);
      if (k >= PREP_KINDS.length) throw new ScaleError(`invalid PvfPrepKind ${k}`);
      return { type: 'PvfPrepTimeout', kind: PREP_KINDS[k], ms: u64Dec(c) };
    }
    case 6: {
      const k = u8Dec(c);
      if (k >= EXEC_KINDS.length) throw new ScaleError(`invalid PvfExecKind ${k}`);
      return { type: 'PvfExecTimeout', kind: EXEC_KINDS[k], ms: u64Dec(c) };
    }
    case 7:
      return { type: 'WasmExtBulkMemory' };
    case 8:
      return { type: 'EnabledHostFunction', fn: u8Dec(c) };
    default:
      throw new ScaleError(`invalid ExecutorParam variant ${tag}`);
  }
});

export function decodeExecutorParams(bytes: Uint8Array): ExecutorParam[] {
  return decodeAll(vecDec(paramDec, { what: 'ExecutorParams' }), bytes, 'ExecutorParams');
}

/** `ExecutorParamsHash`: blake2_256 of the SCALE encoding. */
export function executorParamsHash(params: readonly ExecutorParam[]): Uint8Array {
  return blake2_256(encodeExecutorParams(params));
}
