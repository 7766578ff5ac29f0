/**
 * The schedule: which engine and ExecutorParams are in force for each session index.
 *
 * Format (JSON, version 1): {"version": 1, "sessions": [{"from": 0, "engine": "<engine id>",
 * "executorParams": "0x…"}, …]}. Entries are sorted by `from` (strictly increasing); an entry holds
 * from its `from` up to the next entry's. `executorParams` is the SCALE hex of ExecutorParams
 * (absent: the defaults, i.e. the empty set). Unknown keys are an error, not ignored.
 */
import { decodeExecutorParams, executorParamsHash, type ExecutorParam } from './executor-params.ts';
import { HexError, parseHex, toHex } from '../primitives/hex.ts';
import { ScaleError } from '../primitives/scale.ts';

export class ScheduleError extends Error {
  override readonly name = 'ScheduleError';
}

export interface ScheduleEntry {
  from: number;
  engine: string;
  executorParams: ExecutorParam[];
  executorParamsHex: string;
}

export interface Schedule {
  version: 1;
  entries: ScheduleEntry[];
}

export interface Resolved {
  session: number;
  engine: string;
  executorParams: ExecutorParam[];
  executorParamsHex: string;
  executorParamsHash: string;
  from: number;
  until: number | undefined; // exclusive
}

const TOP_KEYS = new Set(['version', 'sessions']);
const ENTRY_KEYS = new Set(['from', 'engine', 'executorParams']);

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

export function parseSchedule(text: string): Schedule {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new ScheduleError(`not JSON: ${(e as Error).message}`);
  }
  if (!isRecord(doc)) throw new ScheduleError('the schedule must be a JSON object');
  for (const k of Object.keys(doc)) if (!TOP_KEYS.has(k)) throw new ScheduleError(`unknown key "${k}"`);
  if (doc.version !== 1) throw new ScheduleError(`unsupported version ${JSON.stringify(doc.version)} (this pvf reads version 1)`);
  if (!Array.isArray(doc.sessions) || doc.sessions.length === 0) throw new ScheduleError('"sessions" must be a non-empty array');
  const entries: ScheduleEntry[] = [];
  doc.sessions.forEach((raw: unknown, i: number) => {
    const where = `sessions[${i}]`;
    if (!isRecord(raw)) throw new ScheduleError(`${where} must be an object`);
    for (const k of Object.keys(raw)) if (!ENTRY_KEYS.has(k)) throw new ScheduleError(`${where}: unknown key "${k}"`);
    const from = raw.from;
    if (typeof from !== 'number' || !Number.isInteger(from) || from < 0 || from > 0xffffffff) {
      throw new ScheduleError(`${where}.from must be a session index (0 ≤ n < 2^32)`);
    }
    if (typeof raw.engine !== 'string' || !/^[A-Za-z0-9._-]+$/.test(raw.engine)) throw new ScheduleError(`${where}.engine must be an engine id`);
    let hex = '0x00';
    let params: ExecutorParam[] = [];
    if (raw.executorParams !== undefined) {
      if (typeof raw.executorParams !== 'string') throw new ScheduleError(`${where}.executorParams must be a hex string`);
      try {
        params = decodeExecutorParams(parseHex(raw.executorParams));
        hex = toHex(parseHex(raw.executorParams));
      } catch (e) {
        if (e instanceof HexError || e instanceof ScaleError) throw new ScheduleError(`${where}.executorParams: ${e.message}`);
        throw e;
      }
    }
    if (entries.length > 0 && from <= entries[entries.length - 1].from) {
      throw new ScheduleError(`${where}.from ${from} does not come after ${entries[entries.length - 1].from}: entries must be sorted by from`);
    }
    entries.push({ from, engine: raw.engine, executorParams: params, executorParamsHex: hex });
  });
  return { version: 1, entries };
}

export function resolveSession(s: Schedule, session: number): Resolved {
  let idx = -1;
  for (let k = 0; k < s.entries.length; k++) if (s.entries[k].from <= session) idx = k;
  if (idx < 0) throw new ScheduleError(`session ${session} comes before the first scheduled session ${s.entries[0].from}`);
  const e = s.entries[idx];
  return {
    session,
    engine: e.engine,
    executorParams: e.executorParams,
    executorParamsHex: e.executorParamsHex,
    executorParamsHash: toHex(executorParamsHash(e.executorParams)),
    from: e.from,
    until: s.entries[idx + 1]?.from,
  };
}
