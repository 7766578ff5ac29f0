/**
 * Which engine and which ExecutorParams judge a candidate: the schedule's entry for --session N
 * (from --schedule FILE, $PVF_SCHEDULE, or the schedule the binary embeds), or --engine and
 * --executor-params for forensics, or the default engine with default params.
 */
import { readFileSync } from 'node:fs';
import { bulkMemoryEnabled, prepHash, stackLogicalMax, checkConsistency, decodeExecutorParams, encodeExecutorParams, execTimeout, executorParamsHash, maxMemoryPagesTotal, type ExecutorParam } from '../core/session/executor-params.ts';
import { HexError, parseHex, toHex } from '../core/primitives/hex.ts';
import { parseSchedule, resolveSession, ScheduleError, type Schedule } from '../core/session/schedule.ts';
import { ScaleError } from '../core/primitives/scale.ts';
import type { ExecutionLimits } from '../core/candidate/validate.ts';
import defaultScheduleJson from '../engines/schedule.json' with { type: 'json' };
import { dataError, usageError } from './errors.ts';

export type Kind = 'backing' | 'approval';

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

export function loadSchedule(file: string | undefined): Schedule {
  const path = file ?? process.env.PVF_SCHEDULE;
  const flag = file ? '--schedule' : 'PVF_SCHEDULE';
  if (!path) return parseSchedule(JSON.stringify(defaultScheduleJson));
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw dataError(`${flag} ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  try {
    return parseSchedule(text);
  } catch (e) {
    if (e instanceof ScheduleError) throw dataError(`${flag} ${path}: ${e.message}`);
    throw e;
  }
}

export function parseSession(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) > 0xffffffff) throw usageError(`--session ${text}: not a session index`);
  return Number(text);
}

export function parseKind(text: string | undefined): Kind {
  if (text === undefined) return 'backing';
  if (text === 'backing' || text === 'approval') return text;
  throw usageError(`--kind ${text}: give backing or approval`);
}

export function resolvePolicy(o: { session?: string; schedule?: string; engine?: string; executorParams?: string; kind?: string }): Policy {
  const kind = parseKind(o.kind);
  const session = parseSession(o.session);
  let engineId = o.engine;
  let params: ExecutorParam[] = [];
  if (session !== undefined) {
    const schedule = loadSchedule(o.schedule);
    try {
      const r = resolveSession(schedule, session);
      engineId ??= r.engine;
      params = r.executorParams;
    } catch (e) {
      if (e instanceof ScheduleError) throw dataError(`--session ${session}: ${e.message}`);
      throw e;
    }
  } else if (o.schedule !== undefined) {
    throw usageError('--schedule needs --session N');
  }
  if (o.executorParams !== undefined) {
    try {
      params = decodeExecutorParams(parseHex(o.executorParams));
    } catch (e) {
      if (e instanceof HexError || e instanceof ScaleError) throw dataError(`--executor-params: ${e.message}`);
      throw e;
    }
  }
  const consistent = checkConsistency(params);
  if (!consistent.ok) throw dataError(`executor params ${toHex(encodeExecutorParams(params))}: ${consistent.error}`);
  return {
    engineId,
    session,
    params,
    executorParamsHash: toHex(executorParamsHash(params)),
    prepHash: toHex(prepHash(params)),
    limits: { maxPages: maxMemoryPagesTotal(params), timeoutMs: Number(execTimeout(params, kind)), bulkMemory: bulkMemoryEnabled(params), kind, stackLogicalMax: stackLogicalMax(params) },
    kind,
  };
}
