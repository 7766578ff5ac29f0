/**
 * The policy flags shared by validate, precheck and sessions (--session, --schedule, --engine,
 * --executor-params, --kind): parsed here, resolved by core/session/policy.ts, its errors turned
 * into one-line user errors naming the flag.
 */
import { readFileSync } from 'node:fs';
import { parseSchedule, ScheduleError, type Schedule } from '../core/session/schedule.ts';
import { builtInSchedule, PolicyError, resolvePolicy as resolveInCore, type Kind, type Policy } from '../core/session/policy.ts';
import { dataError, usageError } from './errors.ts';

export function loadSchedule(file: string | undefined): Schedule {
  const path = file ?? process.env.PVF_SCHEDULE;
  const flag = file ? '--schedule' : 'PVF_SCHEDULE';
  if (!path) return builtInSchedule();
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
  if (session === undefined && o.schedule !== undefined) throw usageError('--schedule needs --session N');
  const schedule = session !== undefined ? loadSchedule(o.schedule) : undefined;
  try {
    return resolveInCore({ session, schedule, engine: o.engine, executorParamsHex: o.executorParams, kind });
  } catch (e) {
    if (!(e instanceof PolicyError)) throw e;
    if (e.input === 'session') throw dataError(`--session ${session}: ${e.message}`);
    if (e.input === 'executor-params') throw dataError(`--executor-params: ${e.message}`);
    throw dataError(e.message);
  }
}
