/**
 * ExecutorParams (polkadot-primitives): SCALE `Vec<ExecutorParam>`, hashed with blake2_256.
 * Variant indices are explicit upstream (`#[codec(index = n)]`) and start at 1.
 */
import { Enum, Tuple, Vector, _void, u32, u64, u8, type CodecType } from 'scale-ts';
import { createDecoder } from 'scale-ts';
import { blake2_256 } from '../primitives/hashing.ts';
import { decodeAll, u32Dec, u64Dec, u8Dec, vecDec, ScaleError } from '../primitives/scale.ts';

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
    case 8: {
      // ExecutorHostFunction has one variant so far: EccRfc163 at index 1.
      const fn = u8Dec(c);
      if (fn !== 1) throw new ScaleError(`invalid ExecutorHostFunction ${fn}`);
      return { type: 'EnabledHostFunction', fn };
    }
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

// ---------------------------------------------------------------------------------------------
// Defaults, limits, consistency rules, prep hash and accessors.
//
// Upstream: polkadot-sdk `polkadot/primitives/src/v9/executor_params.rs` (constants,
// `check_consistency`, `prep_hash`, `pvf_prep_timeout`, `pvf_exec_timeout`,
// `prechecking_max_memory`), `polkadot/node/core/pvf/common/src/executor_interface.rs`
// (`DEFAULT_HEAP_PAGES_ESTIMATE`, `EXTRA_HEAP_PAGES`, `params_to_wasmtime_semantics`, the ECC
// host-function switch) and `polkadot/node/core/candidate-validation/src/lib.rs` (timeout
// defaults applied when a timeout param is absent).
// ---------------------------------------------------------------------------------------------

/** Default logical stack limit (max. number of wasm values on the stack). */
export const DEFAULT_LOGICAL_STACK_MAX = 65536;
/** Default native stack limit in bytes (256 MiB). */
export const DEFAULT_NATIVE_STACK_MAX = 256 * 1024 * 1024;

/** Upper bound of `MaxMemoryPages`; valid values are 1..=MEMORY_PAGES_MAX. */
export const MEMORY_PAGES_MAX = 65536;
/** Lower bound (inclusive) of `StackLogicalMax`. */
export const LOGICAL_MAX_LO = 1024;
/** Upper bound (inclusive) of `StackLogicalMax`. */
export const LOGICAL_MAX_HI = 2 * 65536;
/** Lower bound (inclusive) of `PrecheckingMaxMemory`, bytes (256 MiB). */
export const PRECHECK_MEM_MAX_LO = 256n * 1024n * 1024n;
/** Upper bound (inclusive) of `PrecheckingMaxMemory`, bytes (16 GiB). */
export const PRECHECK_MEM_MAX_HI = 16n * 1024n * 1024n * 1024n;

/** Native stack bytes required per logical stack item: StackNativeMax >= 128 * StackLogicalMax. */
export const NATIVE_STACK_BYTES_PER_LOGICAL_ITEM = 128;

/** Default preparation timeout for pre-checking, ms (60 s). */
export const DEFAULT_PRECHECK_PREPARATION_TIMEOUT_MS = 60_000n;
/** Default ("lenient") preparation timeout for preparing before execution, ms (360 s). */
export const DEFAULT_LENIENT_PREPARATION_TIMEOUT_MS = 360_000n;
/** Default execution timeout in backing, ms (2 s). */
export const DEFAULT_BACKING_EXECUTION_TIMEOUT_MS = 2_000n;
/** Default execution timeout in approval checking and disputes, ms (12 s). */
export const DEFAULT_APPROVAL_EXECUTION_TIMEOUT_MS = 12_000n;

/** Pages assumed for the blob's own data section and shadow stack, added on top of the heap pages. */
export const DEFAULT_HEAP_PAGES_ESTIMATE = 32;
/** Heap pages granted when `MaxMemoryPages` is absent. */
export const EXTRA_HEAP_PAGES = 2048;
/** Maximum linear-memory pages when `MaxMemoryPages` is absent (2048 + 32). */
export const DEFAULT_MAX_MEMORY_PAGES_TOTAL = EXTRA_HEAP_PAGES + DEFAULT_HEAP_PAGES_ESTIMATE;

/**
 * `ExecutorHostFunction::EccRfc163` (SCALE index 1; index 0 is unused upstream): enables
 * `sp_crypto_ec_utils::HostFunctionsRfc163` (BLS12-381, Ed-on-BLS12-381-Bandersnatch, Pallas, Vesta).
 */
export const HOST_FUNCTION_ECC_RFC163 = 1;

const HOST_FUNCTION_NAMES: Record<number, string> = { [HOST_FUNCTION_ECC_RFC163]: 'EccRfc163' };

const PREP_DEFAULT_MS: Record<PvfPrepKind, bigint> = {
  precheck: DEFAULT_PRECHECK_PREPARATION_TIMEOUT_MS,
  prepare: DEFAULT_LENIENT_PREPARATION_TIMEOUT_MS,
};
const EXEC_DEFAULT_MS: Record<PvfExecKind, bigint> = {
  backing: DEFAULT_BACKING_EXECUTION_TIMEOUT_MS,
  approval: DEFAULT_APPROVAL_EXECUTION_TIMEOUT_MS,
};

export type ExecutorParamErrorVariant = 'DuplicatedParam' | 'OutsideLimit' | 'IncompatibleValues';

export type ConsistencyResult =
  | { ok: true }
  | {
      ok: false;
      error: string;
      /** Upstream `ExecutorParamError` variant. */
      variant: ExecutorParamErrorVariant;
      /** Upstream parameter identifier(s) the error names: one, or two for IncompatibleValues. */
      params: string[];
    };

/**
 * The identifier upstream uses for a param in `check_consistency`. Timeouts are keyed per kind
 * (`PvfPrepKind::Precheck`, …), so one timeout of each kind is allowed.
 */
function paramIdent(p: ExecutorParam): string {
  switch (p.type) {
    case 'PvfPrepTimeout':
      return p.kind === 'precheck' ? 'PvfPrepKind::Precheck' : 'PvfPrepKind::Prepare';
    case 'PvfExecTimeout':
      return p.kind === 'backing' ? 'PvfExecKind::Backing' : 'PvfExecKind::Approval';
    case 'EnabledHostFunction':
      return `EnabledHostFunction::${HOST_FUNCTION_NAMES[p.fn] ?? String(p.fn)}`;
    default:
      return p.type;
  }
}

/** The value recorded for a param (as u64), and whether it is outside its allowed range. */
function valueAndLimit(p: ExecutorParam): { value: bigint; outside: boolean } {
  switch (p.type) {
    case 'MaxMemoryPages':
      return { value: BigInt(p.pages), outside: p.pages === 0 || p.pages > MEMORY_PAGES_MAX };
    case 'StackLogicalMax':
      return { value: BigInt(p.max), outside: p.max < LOGICAL_MAX_LO || p.max > LOGICAL_MAX_HI };
    case 'StackNativeMax':
      return { value: BigInt(p.bytes), outside: false };
    case 'PrecheckingMaxMemory':
      return { value: p.bytes, outside: p.bytes < PRECHECK_MEM_MAX_LO || p.bytes > PRECHECK_MEM_MAX_HI };
    case 'PvfPrepTimeout':
    case 'PvfExecTimeout':
      return { value: p.ms, outside: false };
    case 'WasmExtBulkMemory':
    case 'EnabledHostFunction':
      return { value: 1n, outside: false };
  }
}

function fail(variant: ExecutorParamErrorVariant, params: string[], why: string): ConsistencyResult {
  return { ok: false, error: `${variant}(${params.join(', ')}): ${why}`, variant, params };
}

/**
 * `ExecutorParams::check_consistency`. Walks the params in order; for each one, a repeat of an
 * identifier already seen is DuplicatedParam, otherwise a value out of range is OutsideLimit
 * (the duplicate test comes first). Then, with absent values replaced by their defaults:
 * StackNativeMax >= 128 * StackLogicalMax, precheck prep timeout < prepare prep timeout, backing
 * exec timeout < approval exec timeout, each failing as IncompatibleValues. First error wins.
 */
export function checkConsistency(params: readonly ExecutorParam[]): ConsistencyResult {
  const seen = new Map<string, bigint>();
  for (const p of params) {
    const ident = paramIdent(p);
    if (seen.has(ident)) return fail('DuplicatedParam', [ident], 'parameter given more than once');
    const { value, outside } = valueAndLimit(p);
    if (outside) return fail('OutsideLimit', [ident], `value ${value} is outside the allowed range`);
    seen.set(ident, value);
  }

  const logical = seen.get('StackLogicalMax') ?? BigInt(DEFAULT_LOGICAL_STACK_MAX);
  const native = seen.get('StackNativeMax') ?? BigInt(DEFAULT_NATIVE_STACK_MAX);
  if (native < BigInt(NATIVE_STACK_BYTES_PER_LOGICAL_ITEM) * logical) {
    return fail(
      'IncompatibleValues',
      ['StackLogicalMax', 'StackNativeMax'],
      `native stack ${native} bytes is below ${NATIVE_STACK_BYTES_PER_LOGICAL_ITEM} bytes per logical item (${logical} items)`,
    );
  }

  const precheck = seen.get('PvfPrepKind::Precheck') ?? DEFAULT_PRECHECK_PREPARATION_TIMEOUT_MS;
  const prepare = seen.get('PvfPrepKind::Prepare') ?? DEFAULT_LENIENT_PREPARATION_TIMEOUT_MS;
  if (precheck >= prepare) {
    return fail(
      'IncompatibleValues',
      ['PvfPrepKind::Precheck', 'PvfPrepKind::Prepare'],
      `precheck preparation timeout ${precheck} ms must be below the prepare timeout ${prepare} ms`,
    );
  }

  const backing = seen.get('PvfExecKind::Backing') ?? DEFAULT_BACKING_EXECUTION_TIMEOUT_MS;
  const approval = seen.get('PvfExecKind::Approval') ?? DEFAULT_APPROVAL_EXECUTION_TIMEOUT_MS;
  if (backing >= approval) {
    return fail(
      'IncompatibleValues',
      ['PvfExecKind::Backing', 'PvfExecKind::Approval'],
      `backing execution timeout ${backing} ms must be below the approval timeout ${approval} ms`,
    );
  }

  return { ok: true };
}

/**
 * Whether a param affects the artifact produced by preparation (and so enters `prep_hash`).
 * MaxMemoryPages, StackLogicalMax and WasmExtBulkMemory are compiled into the artifact; the
 * native stack size, prechecking memory cap and all timeouts are not.
 *
 * EnabledHostFunction: the host functions are bound when the runtime is built from the artifact
 * (`create_runtime_from_artifact_bytes`), and `prepare` ignores the param, so it is treated as not
 * affecting the artifact. The upstream `prep_hash` text that covers this variant was not available
 * to check this against.
 */
export function affectsArtifact(p: ExecutorParam): boolean {
  switch (p.type) {
    case 'MaxMemoryPages':
    case 'StackLogicalMax':
    case 'WasmExtBulkMemory':
      return true;
    case 'StackNativeMax':
    case 'PrecheckingMaxMemory':
    case 'PvfPrepTimeout':
    case 'PvfExecTimeout':
    case 'EnabledHostFunction':
      return false;
  }
}

const PREP_HASH_PREFIX = new TextEncoder().encode('prep');

/**
 * `ExecutorParams::prep_hash`: blake2_256 of the ASCII bytes `prep` followed by the SCALE encoding
 * of each artifact-affecting param (see `affectsArtifact`), in the order given, concatenated with
 * no length prefix.
 */
export function prepHash(params: readonly ExecutorParam[]): Uint8Array {
  const parts = params.filter(affectsArtifact).map((p) => wire.enc(toWire(p)));
  const out = new Uint8Array(PREP_HASH_PREFIX.length + parts.reduce((n, b) => n + b.length, 0));
  out.set(PREP_HASH_PREFIX, 0);
  let at = PREP_HASH_PREFIX.length;
  for (const b of parts) {
    out.set(b, at);
    at += b.length;
  }
  return blake2_256(out);
}

/** The first PvfPrepTimeout of this kind, in ms, or undefined (`pvf_prep_timeout`). */
export function prepTimeoutParam(params: readonly ExecutorParam[], kind: PvfPrepKind): bigint | undefined {
  for (const p of params) if (p.type === 'PvfPrepTimeout' && p.kind === kind) return p.ms;
  return undefined;
}

/** Preparation timeout in ms: the param if present, else 60 s (precheck) / 360 s (prepare). */
export function prepTimeout(params: readonly ExecutorParam[], kind: PvfPrepKind): bigint {
  return prepTimeoutParam(params, kind) ?? PREP_DEFAULT_MS[kind];
}

/** The first PvfExecTimeout of this kind, in ms, or undefined (`pvf_exec_timeout`). */
export function execTimeoutParam(params: readonly ExecutorParam[], kind: PvfExecKind): bigint | undefined {
  for (const p of params) if (p.type === 'PvfExecTimeout' && p.kind === kind) return p.ms;
  return undefined;
}

/** Execution timeout in ms: the param if present, else 2 s (backing) / 12 s (approval). */
export function execTimeout(params: readonly ExecutorParam[], kind: PvfExecKind): bigint {
  return execTimeoutParam(params, kind) ?? EXEC_DEFAULT_MS[kind];
}

/** The first PrecheckingMaxMemory in bytes, or undefined: there is no default cap. */
export function precheckingMaxMemory(params: readonly ExecutorParam[]): bigint | undefined {
  for (const p of params) if (p.type === 'PrecheckingMaxMemory') return p.bytes;
  return undefined;
}

// The following mirror `params_to_wasmtime_semantics`, which applies params in order, so with a
// (inconsistent) repeated param the last one wins.

function lastOf<T extends ExecutorParam['type']>(
  params: readonly ExecutorParam[],
  type: T,
): Extract<ExecutorParam, { type: T }> | undefined {
  let found: Extract<ExecutorParam, { type: T }> | undefined;
  for (const p of params) if (p.type === type) found = p as Extract<ExecutorParam, { type: T }>;
  return found;
}

/**
 * Maximum linear-memory pages of an instance: MaxMemoryPages(n) gives n + 32 (u32 saturating),
 * absent gives 2048 + 32 = 2080.
 */
export function maxMemoryPagesTotal(params: readonly ExecutorParam[]): number {
  const p = lastOf(params, 'MaxMemoryPages');
  if (!p) return DEFAULT_MAX_MEMORY_PAGES_TOTAL;
  return Math.min(p.pages + DEFAULT_HEAP_PAGES_ESTIMATE, 0xffffffff);
}

/** Deterministic logical stack limit: StackLogicalMax, else 65536. */
export function stackLogicalMax(params: readonly ExecutorParam[]): number {
  return lastOf(params, 'StackLogicalMax')?.max ?? DEFAULT_LOGICAL_STACK_MAX;
}

/** Native stack limit in bytes: StackNativeMax, else 256 MiB. */
export function stackNativeMax(params: readonly ExecutorParam[]): number {
  return lastOf(params, 'StackNativeMax')?.bytes ?? DEFAULT_NATIVE_STACK_MAX;
}

/** Whether the wasm bulk-memory extension is enabled (off by default: wasm MVP). */
export function bulkMemoryEnabled(params: readonly ExecutorParam[]): boolean {
  return params.some((p) => p.type === 'WasmExtBulkMemory');
}

/** Whether the optional host-function set `fn` (e.g. HOST_FUNCTION_ECC_RFC163) is enabled. */
export function hostFunctionEnabled(params: readonly ExecutorParam[], fn: number): boolean {
  return params.some((p) => p.type === 'EnabledHostFunction' && p.fn === fn);
}
