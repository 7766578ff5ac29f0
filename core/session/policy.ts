/**
 * Which engine and which ExecutorParams judge a candidate: the schedule's entry for a session, or
 * an engine and ExecutorParams given for forensics, or the default engine with default params.
 * The CLI parses its flags into a PolicyRequest; the one thing this returns is the Policy that
 * validate and precheck both run under.
 */
import { bulkMemoryEnabled, prepHash, stackLogicalMax, checkConsistency, decodeExecutorParams, encodeExecutorParams, execTimeout, executorParamsHash, maxMemoryPagesTotal, type ExecutorParam } from './executor-params.ts';
import { HexError, parseHex, toHex } from '../primitives/hex.ts';
import { parseSchedule, resolveSession, ScheduleError, type Schedule } from './schedule.ts';
import { ScaleError } from '../primitives/scale.ts';
import type { ExecutionLimits } from '../candidate/validate.ts';
import builtInScheduleJson from '../../engines/schedule.json' with { type: 'json' };

export type Kind = 'backing' | 'approval';

/** Which input a PolicyError is about: the session, the --executor-params hex, or the params in force. */
export type PolicyInput = 'session' | 'executor-params' | 'params';

/** A session the schedule does not cover, undecodable ExecutorParams, or an inconsistent set. */
export class PolicyError extends Error {
  override readonly name = 'PolicyError';
  constructor(
    readonly input: PolicyInput,
    message: string,
  ) {
    super(message);
  }
}

export interface PolicyRequest {
  session?: number;
  /** The schedule to resolve `session` in; the built-in one when absent. */
  schedule?: Schedule;
  engine?: string;
  /** SCALE hex of ExecutorParams; overrides the session's. */
  executorParamsHex?: string;
  kind?: Kind;
}

export interface Policy {
  engineId: string | undefined; // undefined: the registry's default engine
  session: number | undefined;
  params: ExecutorParam[];
  /** blake2-256 of the SCALE ExecutorParams in force (polkadot's ExecutorParamsHash), not of any input file. */
  executorParamsHash: string;
  prepHash: string;
  limits: ExecutionLimits;
  kind: Kind;
}

/** The schedule this build carries (engines/schedule.json). */
export function builtInSchedule(): Schedule {
  return parseSchedule(JSON.stringify(builtInScheduleJson));
}

export function resolvePolicy(req: PolicyRequest): Policy {
  const kind = req.kind ?? 'backing';
  let engineId = req.engine;
  let params: ExecutorParam[] = [];
  if (req.session !== undefined) {
    try {
      const r = resolveSession(req.schedule ?? builtInSchedule(), req.session);
      engineId ??= r.engine;
      params = r.executorParams;
    } catch (e) {
      if (e instanceof ScheduleError) throw new PolicyError('session', e.message);
      throw e;
    }
  }
  if (req.executorParamsHex !== undefined) {
    try {
      params = decodeExecutorParams(parseHex(req.executorParamsHex));
    } catch (e) {
      if (e instanceof HexError || e instanceof ScaleError) throw new PolicyError('executor-params', e.message);
      throw e;
    }
  }
  const consistent = checkConsistency(params);
  if (!consistent.ok) throw new PolicyError('params', `executor params ${toHex(encodeExecutorParams(params))}: ${consistent.error}`);
  return {
    engineId,
    session: req.session,
    params,
    executorParamsHash: toHex(executorParamsHash(params)),
    prepHash: toHex(prepHash(params)),
    limits: { maxPages: maxMemoryPagesTotal(params), timeoutMs: Number(execTimeout(params, kind)), bulkMemory: bulkMemoryEnabled(params), kind, stackLogicalMax: stackLogicalMax(params) },
    kind,
  };
}
