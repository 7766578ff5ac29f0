/**
 * Verdicts and the one place where errors become verdicts.
 *
 * Untrusted PVF behaviour (a trap, a timeout, undecodable output, a bad blob) is `invalid`; a fault
 * of ours (a bug, a missing engine, an I/O failure) is `abstain`. An `invalid` from a broken host
 * would get an honest validator slashed, so anything unexpected is `abstain`.
 */
import type { ValidationResult } from './codecs.ts';

export type InvalidReason =
  | 'execution-error' // the PVF trapped (unreachable, out-of-bounds access, stack overflow, host call refused)
  | 'timeout'
  | 'pov-decompression'
  | 'code-decompression'
  | 'bad-output' // validate_block returned a span outside memory, or bytes that are not a ValidationResult
  | 'params-too-large'
  | 'hash-mismatch'
  | 'prevalidation'; // the code is not an acceptable Wasm module for this engine

/**
 * `engine-limit`: the engine runs, but a documented limit of it keeps it from judging this candidate
 * the way polkadot would (the wasmi engines' own call stack, reserved heap, UTF-8 and sign-extension
 * refusals, and any timeout: an interpreter under a budget set for compiled code). Neither the
 * candidate's fault nor a fault of this machine: no opinion, and never a divergence between engines.
 * `prepare-timeout`: pre-checking did not finish compiling within the precheck timeout; polkadot
 * casts no vote then (PrepareError::TimedOut is not deterministic).
 * `prepare-failed`: validation of code that pre-checking rejects (see verdictFromError).
 */
export type AbstainReason =
  | 'engine-unavailable'
  | 'engine-limit'
  | 'engine-revoked'
  | 'internal-error'
  | 'io-error'
  | 'prepare-timeout'
  | 'prepare-failed'
  | 'chain-unavailable' // `validate --rpc`: the code, PVD, session or params could not be read from the relay chain
  | 'pvd-mismatch' // `validate --rpc --pov-file`: the file's PVD is not the chain's at that relay parent
  | 'sandbox-unavailable'; // `--require-sandbox`: a worker sandbox layer is missing on this machine (pvf doctor)

export type Verdict =
  | { verdict: 'valid'; result: ValidationResult; raw: Uint8Array }
  | { verdict: 'invalid'; reason: InvalidReason; detail: string }
  | { verdict: 'abstain'; reason: AbstainReason; detail: string };

/**
 * Thrown for candidate faults: the PVF, its code blob or its PoV is at fault. The errors of our
 * own stages extend it and carry their reason (prepare's gate and rewrites: `prevalidation`), so
 * no caller re-wraps them; foreign exceptions (V8's CompileError and traps, the module reader's
 * format errors, SCALE errors of the PVF's output) are translated once, where they are raised.
 */
export class InvalidCandidate extends Error {
  override readonly name: string = 'InvalidCandidate';
  constructor(
    readonly reason: InvalidReason,
    readonly detail: string,
  ) {
    super(`${reason}: ${detail}`);
  }
}

/** Thrown for host faults: we cannot judge this candidate. */
export class HostFault extends Error {
  override readonly name = 'HostFault';
  constructor(
    readonly reason: AbstainReason,
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${reason}: ${detail}`, options);
  }
}

/** The reasons a code blob fails preparation (pre-checking's rejections). */
export const PREPARE_REJECTS: ReadonlySet<InvalidReason> = new Set(['code-decompression', 'prevalidation']);

/**
 * The single mapping from a thrown value to a verdict. `stage` is what is being judged: pre-checking
 * votes against code that fails preparation; validation does not. polkadot's candidate-validation
 * answers a deterministic preparation error at execution with `ValidationFailed`, no vote ("should
 * have been ruled out by pre-checking phase": on chain the code passed pre-checking, so the failure
 * is local), so `validate` abstains (`prepare-failed`, naming the class) where `precheck` rejects.
 */
export function verdictFromError(e: unknown, stage: 'precheck' | 'validate' = 'precheck'): Verdict & { verdict: 'invalid' | 'abstain' } {
  if (e instanceof InvalidCandidate && stage === 'validate' && PREPARE_REJECTS.has(e.reason)) {
    return { verdict: 'abstain', reason: 'prepare-failed', detail: `${e.reason}: ${e.detail} (pre-checking rejects this code; polkadot casts no vote when code that passed pre-checking fails to prepare)` };
  }
  if (e instanceof InvalidCandidate) return { verdict: 'invalid', reason: e.reason, detail: e.detail };
  if (e instanceof HostFault) return { verdict: 'abstain', reason: e.reason, detail: e.detail };
  const message = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return { verdict: 'abstain', reason: 'internal-error', detail: message };
}

export const EXIT = {
  valid: 0,
  invalid: 1,
  abstain: 2,
  usage: 64,
  data: 65,
  /** `fetch`: the relay block does not exist on the endpoint. */
  noBlock: 66,
  /** `fetch`: the para has no code, PVD or session params at that block. */
  noPara: 67,
  /** `fetch`: the endpoint cannot be reached or does not answer in time. */
  unreachable: 69,
  software: 70,
  /** `fetch`: the runtime lacks the ParachainHost API, or the node's answer does not check out. */
  protocol: 76,
} as const;

export function exitCodeOf(v: Verdict): number {
  return EXIT[v.verdict];
}
