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
import { POV_BOMB_LIMIT, decompressOrInvalid } from './blob.ts';
import { msSince } from '../primitives/timers.ts';
import { ScaleError } from '../primitives/scale.ts';
import { preparePvf } from '../prepare/prepare.ts';
import type { PreparedCache } from '../prepare/prepared-cache.ts';
import { InvalidCandidate, verdictFromError, type Verdict } from './verdict.ts';
import type { TraceEvent } from './trace.ts';
import { policyAbstain, withHostPolicy, type HostDivergence, type PolicyModule } from '../prepare/host-policy.ts';

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

export const DEFAULT_LIMITS: ExecutionLimits = { maxPages: 32 + 2048, timeoutMs: 2000 };

/** What an engine must do: run `validate_block` of decompressed code on encoded params. */
export interface Engine {
  readonly id: string;
  readonly family: string;
  readonly vmVersion: string;
  /** Host functions this engine does not run as Substrate does: a PVF calling one abstains (core/prepare/host-policy.ts). */
  readonly hostDivergences?: readonly HostDivergence[];
  execute(
    code: Uint8Array,
    params: Uint8Array,
    opts: { onLog?: (l: LogLine) => void; limits?: ExecutionLimits; trace?: boolean },
  ): Promise<{ raw: Uint8Array; logs: LogLine[]; timings: Record<string, number>; trace?: TraceEvent[] }>;
  /**
   * Pre-checking: what the engine does with a prepared module before it can run it (compile it),
   * and nothing more, under the precheck timeout (CPU time) and PrecheckingMaxMemory. Resolves when
   * the engine could run the module; throws InvalidCandidate (prevalidation) or HostFault
   * (`prepare-timeout`, or any fault of ours).
   */
  prepare(module: Uint8Array, opts: PrepareJobLimits): Promise<{ timings: Record<string, number> }>;
}

export interface PrepareJobLimits {
  /** The precheck timeout (PvfPrepTimeout, precheck kind), in ms of CPU time. */
  timeoutMs: number;
  /** PrecheckingMaxMemory in bytes, if set. */
  maxMemoryBytes?: number;
  maxPages: number;
}

/** The three input forms of `pvf validate`: raw params, or a PoV with its PVD. */
export type CandidateInput =
  | { kind: 'params'; code: Uint8Array; params: Uint8Array }
  | { kind: 'pov'; code: Uint8Array; pov: PoV; pvd: PersistedValidationData }
  /** A PoV over its PVD's max_pov_size, measured but never read (core/candidate/input-files.ts). */
  | { kind: 'pov-oversize'; code: Uint8Array; encodedPovSize: number; pvd: PersistedValidationData };

export interface ValidationReport {
  verdict: Verdict;
  engine: string;
  logs: LogLine[];
  timings: Record<string, number>;
  /** Why `logs` is empty although the PVF may have logged (a panic message among them). */
  logsUnavailable?: string;
  /** With `trace`: the engine's events (core/candidate/trace.ts), none if it never ran the module. */
  trace?: TraceEvent[];
  /** The abstain is the policy of a known host-function divergence of the engine (core/prepare/host-policy.ts). */
  byPolicy?: true;
}

/**
 * The wasmi engines' executor (smoldot, as chopsticks-executor packages it) returns the runtime's
 * log lines with a result only: when the call traps it returns the trap alone, so a panic message,
 * which the runtime logs just before trapping, never reaches us. Measured on a tampered statemine
 * block: the v8 engines report "panicked at … Storage root must match that calculated.", the wasmi
 * engines "wasm `unreachable` instruction executed" and no log line.
 */
export const WASMI_TRAP_LOGS = 'this wasmi engine returns the PVF\'s log lines only when validate_block returns: when it traps, smoldot\'s executor (chopsticks-executor) gives the trap alone, so a panic message is not available here; a v8 engine reports it';

/** Validate one candidate on one engine. Never throws: every outcome is a verdict. */
export async function validateCandidate(
  input: CandidateInput,
  engine: Engine,
  opts: { onLog?: (l: LogLine) => void; limits?: ExecutionLimits; preparedCache?: PreparedCache; prepHash?: string; trace?: boolean } = {},
): Promise<ValidationReport> {
  const timings: Record<string, number> = {};
  let logs: LogLine[] = [];
  let trace: TraceEvent[] | undefined;
  let policy: PolicyModule | undefined;
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
    const limits = opts.limits ?? DEFAULT_LIMITS;
    // A v8 engine traces with the stack probe (a module of its own, never cached or judged otherwise).
    const traceProbe = opts.trace === true && engine.family === 'v8';
    const prepared = await preparePvf(input.code, engine.id, limits, { cache: opts.preparedCache, prepHash: opts.prepHash, traceProbe });
    Object.assign(timings, prepared.timings);
    if (input.kind === 'pov') {
      const t = performance.now();
      const blockData = await decompressOrInvalid('pov', input.pov.blockData, POV_BOMB_LIMIT);
      timings.decompressPovMs = msSince(t);
      params = encodeValidationParams({
        parentHead: input.pvd.parentHead,
        blockData,
        relayParentNumber: input.pvd.relayParentNumber,
        relayParentStorageRoot: input.pvd.relayParentStorageRoot,
      });
    } else {
      params = input.params;
    }
    // An engine's known host-function divergences: their imports renamed, so a call abstains.
    if (engine.hostDivergences?.length) policy = withHostPolicy(prepared.module, engine.hostDivergences);
    const out = await engine.execute(policy?.module ?? prepared.module, params, { onLog: opts.onLog, limits: opts.limits, trace: opts.trace });
    logs = out.logs;
    trace = out.trace;
    Object.assign(timings, out.timings);
    let result;
    try {
      result = decodeValidationResult(out.raw);
    } catch (e) {
      if (e instanceof ScaleError) throw new InvalidCandidate('bad-output', `validation result decoding failed: ${e.message}`);
      throw e;
    }
    timings.totalMs = msSince(t0);
    return { verdict: { verdict: 'valid', result, raw: out.raw }, engine: engine.id, logs, timings, ...(trace && { trace }) };
  } catch (e) {
    timings.totalMs = msSince(t0);
    const partial = e as { logs?: LogLine[]; trace?: TraceEvent[] };
    const byPolicy = policy && e instanceof InvalidCandidate && e.reason === 'execution-error' ? policyAbstain(e.detail, policy, engine.id) : undefined;
    const verdict = verdictFromError(byPolicy ?? e, 'validate');
    const report: ValidationReport = { verdict, engine: engine.id, logs: partial.logs ?? logs, timings };
    trace = partial.trace ?? trace;
    if (trace) report.trace = trace;
    if (byPolicy) report.byPolicy = true;
    if (engine.family === 'wasmi' && verdict.verdict === 'invalid' && verdict.reason === 'execution-error' && report.logs.length === 0) report.logsUnavailable = WASMI_TRAP_LOGS;
    return report;
  }
}
