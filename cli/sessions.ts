/** `pvf sessions [--schedule FILE] [--session N] [--json]`: the schedule, or what one session resolves to. */
import type { Command } from 'commander';
import { resolveSession, ScheduleError, type Resolved } from '../core/session/schedule.ts';
import type { ExecutorParam } from '../core/session/executor-params.ts';
import { dataError } from './errors.ts';
import { loadSchedule, parseSession } from './policy.ts';

function describeParam(p: ExecutorParam): string {
  switch (p.type) {
    case 'MaxMemoryPages':
      return `MaxMemoryPages(${p.pages})`;
    case 'StackLogicalMax':
      return `StackLogicalMax(${p.max})`;
    case 'StackNativeMax':
      return `StackNativeMax(${p.bytes})`;
    case 'PrecheckingMaxMemory':
      return `PrecheckingMaxMemory(${p.bytes})`;
    case 'PvfPrepTimeout':
      return `PvfPrepTimeout(${p.kind}, ${p.ms} ms)`;
    case 'PvfExecTimeout':
      return `PvfExecTimeout(${p.kind}, ${p.ms} ms)`;
    case 'WasmExtBulkMemory':
      return 'WasmExtBulkMemory';
    case 'EnabledHostFunction':
      return `EnabledHostFunction(${p.fn})`;
  }
}

function jsonOf(r: Resolved) {
  return {
    from: r.from,
    until: r.until ?? null,
    engine: r.engine,
    executorParams: r.executorParamsHex,
    decoded: r.executorParams.map(describeParam),
    executorParamsHash: r.executorParamsHash,
  };
}

export function registerSessions(program: Command): void {
  program
    .command('sessions')
    .description('the schedule: which engine and executor params each session uses')
    .option('--schedule <file>', 'a schedule file (JSON, version 1) instead of the embedded one (or $PVF_SCHEDULE)')
    .option('--session <n>', 'show what one session resolves to')
    .option('--json', 'print JSON')
    .action((o: { schedule?: string; session?: string; json?: boolean }) => {
      const schedule = loadSchedule(o.schedule);
      const session = parseSession(o.session);
      let rows: Resolved[];
      try {
        rows = session !== undefined ? [resolveSession(schedule, session)] : schedule.entries.map((e) => resolveSession(schedule, e.from));
      } catch (e) {
        if (e instanceof ScheduleError) throw dataError(`--session ${session}: ${e.message}`);
        throw e;
      }
      if (o.json) {
        process.stdout.write(JSON.stringify(session !== undefined ? { session, ...jsonOf(rows[0]) } : { sessions: rows.map(jsonOf) }) + '\n');
        return;
      }
      for (const r of rows) {
        const range = `${r.from}..${r.until === undefined ? '' : r.until - 1}`;
        const params = r.executorParams.length ? r.executorParams.map(describeParam).join(', ') : 'defaults';
        process.stdout.write(`${(session !== undefined ? `session ${session} (${range})` : `sessions ${range}`).padEnd(28)} ${r.engine.padEnd(28)} ${params}  hash ${r.executorParamsHash.slice(0, 18)}…\n`);
      }
    });
}
