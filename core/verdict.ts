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
 */
export type AbstainReason = 'engine-unavailable' | 'engine-limit' | 'engine-revoked' | 'internal-error' | 'io-error';

export type Verdict =
  | { verdict: 'valid'; result: ValidationResult; raw: Uint8Array }
  | { verdict: 'invalid'; reason: InvalidReason; detail: string }
  | { verdict: 'abstain'; reason: AbstainReason; detail: string };

/** Thrown for candidate faults: the PVF, its code blob or its PoV is at fault. */
export class InvalidCandidate extends Error {
  override readonly name = 'InvalidCandidate';
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

/** The single mapping from a thrown value to a verdict. */
export function verdictFromError(e: unknown): Verdict & { verdict: 'invalid' | 'abstain' } {
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
  software: 70,
} as const;

export function exitCodeOf(v: Verdict): number {
  return EXIT[v.verdict];
}
