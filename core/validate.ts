/**
 * Candidate validation: the steps polkadot's candidate-validation takes before and after the PVF
 * runs, around an engine that executes `validate_block`.
 */
import {
  decodeValidationResult,
  encodeValidationParams,
  encodedPoVSize,
  type PersistedValidationData,
  type PoV,
} from './codecs.ts';
import { BlobError, CODE_BOMB_LIMIT, POV_BOMB_LIMIT, decompressAs } from './blob.ts';
import { ScaleError } from './scale.ts';
import { checkFeatures, PrevalidationError } from './prevalidate.ts';
import { capMemory, PrepareError } from './prepare.ts';
import { canonicalizeNans, injectStackLimiter, InstrumentError } from './instrument.ts';
import { preparedOrPrepare, type PreparedCache } from './prepared-cache.ts';
import { InvalidCandidate, verdictFromError, type Verdict } from './verdict.ts';

export interface LogLine {
  level: string;
  target: string;
  message: string;
}

/** The limits one execution runs under (from the ExecutorParams in force and the kind). */
export interface ExecutionLimits {
  /** Total Wasm pages the memory may have. */
  maxPages: number;
  /** CPU-time budget in milliseconds; the hard wall-clock limit is 4 times this. */
  timeoutMs: number;
  /** WasmExtBulkMemory is in force. */
  bulkMemory?: boolean;
  /** Backing (no retry) or approval (one retry of an ambiguous worker death). */
  kind?: 'backing' | 'approval';
  /** The deterministic stack limit (StackLogicalMax), in logical items. */
  stackLogicalMax?: number;
}

export const DEFAULT_LOGICAL_STACK_MAX = 65536;

export const DEFAULT_LIMITS: ExecutionLimits = { maxPages: 32 + 2048, timeoutMs: 2000 };

/**
 * Prepare's rewrites, in polkadot's order: the memory cap, the deterministic stack limiter
 * (wasm-instrument's algorithm, StackLogicalMax), then NaN canonicalisation. A module they cannot
 * handle is a deterministic preparation failure.
 */
export function prepareModule(code: Uint8Array, limits: ExecutionLimits): Uint8Array {
  try {
    const capped = capMemory(code, limits.maxPages);
    const limited = injectStackLimiter(capped, limits.stackLogicalMax ?? DEFAULT_LOGICAL_STACK_MAX);
    return canonicalizeNans(limited);
  } catch (e) {
    if (e instanceof PrepareError || e instanceof InstrumentError) throw new InvalidCandidate('prevalidation', e.message);
    throw e;
  }
}

/** Prevalidation, the first step of prepare: the same feature gate whatever engine runs the code. */
function prevalidate(code: Uint8Array, limits: ExecutionLimits | undefined): void {
  try {
    checkFeatures(code, { bulkMemory: limits?.bulkMemory ?? false });
  } catch (e) {
    if (e instanceof PrevalidationError) throw new InvalidCandidate('prevalidation', e.message);
    throw e;
  }
}

/** What an engine must do: run `validate_block` of decompressed code on encoded params. */
export interface Engine {
  readonly id: string;
  readonly family: string;
  readonly vmVersion: string;
  execute(
    code: Uint8Array,
    params: Uint8Array,
    opts: { onLog?: (l: LogLine) => void; limits?: ExecutionLimits },
  ): Promise<{ raw: Uint8Array; logs: LogLine[]; timings: Record<string, number> }>;
}

/** The three input forms of `pvf validate`: raw params, or a PoV with its PVD. */
export type CandidateInput =
  | { kind: 'params'; code: Uint8Array; params: Uint8Array }
  | { kind: 'pov'; code: Uint8Array; pov: PoV; pvd: PersistedValidationData }
  /** A PoV over its PVD's max_pov_size, measured but never read (core/input-files.ts). */
  | { kind: 'pov-oversize'; code: Uint8Array; encodedPovSize: number; pvd: PersistedValidationData };

export interface ValidationReport {
  verdict: Verdict;
  engine: string;
  logs: LogLine[];
  timings: Record<string, number>;
}

function ms(t0: number): number {
  return Math.round((performance.now() - t0) * 1000) / 1000;
}

async function decompressOrInvalid(use: 'code' | 'pov', blob: Uint8Array, limit: number): Promise<Uint8Array> {
  try {
    return (await decompressAs(use, blob, limit)).bytes;
  } catch (e) {
    if (e instanceof BlobError) {
      throw new InvalidCandidate(use === 'code' ? 'code-decompression' : 'pov-decompression', e.message);
    }
    throw e;
  }
}

/** Validate one candidate on one engine. Never throws: every outcome is a verdict. */
export async function validateCandidate(
  input: CandidateInput,
  engine: Engine,
  opts: { onLog?: (l: LogLine) => void; limits?: ExecutionLimits; preparedCache?: PreparedCache; prepHash?: string } = {},
): Promise<ValidationReport> {
  const timings: Record<string, number> = {};
  let logs: LogLine[] = [];
  const t0 = performance.now();
  try {
    let params: Uint8Array;
    if (input.kind === 'pov-oversize') {
      throw new InvalidCandidate('params-too-large', `PoV is ${input.encodedPovSize} bytes encoded, max_pov_size is ${input.pvd.maxPovSize}`);
    }
    if (input.kind === 'pov') {
      const size = encodedPoVSize(input.pov);
      if (size > input.pvd.maxPovSize) {
        throw new InvalidCandidate('params-too-large', `PoV is ${size} bytes encoded, max_pov_size is ${input.pvd.maxPovSize}`);
      }
    }
    let t = performance.now();
    const code = await decompressOrInvalid('code', input.code, CODE_BOMB_LIMIT);
    timings.decompressCodeMs = ms(t);
    t = performance.now();
    if (code.length < 8 || code[0] !== 0 || code[1] !== 0x61 || code[2] !== 0x73 || code[3] !== 0x6d) {
      throw new InvalidCandidate('prevalidation', 'the code is not a Wasm module');
    }
    prevalidate(code, opts.limits);
    const limits = opts.limits ?? DEFAULT_LIMITS;
    const prepKey = opts.prepHash ?? `${limits.maxPages}-${limits.stackLogicalMax ?? DEFAULT_LOGICAL_STACK_MAX}-${limits.bulkMemory ? 1 : 0}`;
    const { module: prepared, cached } = preparedOrPrepare(opts.preparedCache, engine.id, code, prepKey, (c) => prepareModule(c, limits));
    timings.prepareMs = ms(t);
    if (cached) timings.preparedFromCache = 1;
    if (input.kind === 'pov') {
      t = performance.now();
      const blockData = await decompressOrInvalid('pov', input.pov.blockData, POV_BOMB_LIMIT);
      timings.decompressPovMs = ms(t);
      params = encodeValidationParams({
        parentHead: input.pvd.parentHead,
        blockData,
        relayParentNumber: input.pvd.relayParentNumber,
        relayParentStorageRoot: input.pvd.relayParentStorageRoot,
      });
    } else {
      params = input.params;
    }
    const out = await engine.execute(prepared, params, { onLog: opts.onLog, limits: opts.limits });
    logs = out.logs;
    Object.assign(timings, out.timings);
    let result;
    try {
      result = decodeValidationResult(out.raw);
    } catch (e) {
      if (e instanceof ScaleError) throw new InvalidCandidate('bad-output', `validation result decoding failed: ${e.message}`);
      throw e;
    }
    timings.totalMs = ms(t0);
    return { verdict: { verdict: 'valid', result, raw: out.raw }, engine: engine.id, logs, timings };
  } catch (e) {
    timings.totalMs = ms(t0);
    const partial = (e as { logs?: LogLine[] }).logs;
    return { verdict: verdictFromError(e), engine: engine.id, logs: partial ?? logs, timings };
  }
}
