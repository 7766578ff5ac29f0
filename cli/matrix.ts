/** `pvf smoke` and `pvf conformance`: the same candidates on several engines, diffed. */
import type { Command } from 'commander';
import { cpus } from 'node:os';
import { statSync } from 'node:fs';
import { dirname } from 'node:path';
import { runMatrix, type Job, type MatrixReport } from '../core/corpus/conformance.ts';
import { CorpusError, readCorpus, shard } from '../core/corpus/corpus.ts';
import { writeAtomic } from '../core/corpus/format.ts';
import { smokeCases } from '../core/corpus/smoke.ts';
import type { Engine } from '../core/candidate/validate.ts';
import { loadRegistry } from '../engines/registry.ts';
import { warnIfUnconfined } from './doctor.ts';
import { closeWorkers } from '../engines/worker-engine.ts';
import { dataError, outputError, usageError } from './errors.ts';
import { junitXml } from './junit.ts';
import { htmlReport } from './html-report.ts';
import { VERSION } from './version.ts';
import { testPvf } from './sample.ts';
import { preparedCacheFor } from './validate.ts';
import { shellCommand } from './shell.ts';

/** The files a run can also write (--junit, --html), each rendered from the finished report. */
const REPORT_FILES: ReadonlyArray<{ option: string; key: 'junit' | 'html'; render: (title: string, report: MatrixReport) => string }> = [
  { option: '--junit', key: 'junit', render: junitXml },
  { option: '--html', key: 'html', render: (title, report) => htmlReport(title, report, { generatedAt: new Date().toISOString(), version: VERSION }) },
];
type ReportPaths = Partial<Record<'junit' | 'html', string>>;

/** Before the run, which may be long: each report file's folder must exist. */
function checkReportFiles(o: ReportPaths): void {
  for (const { option, key } of REPORT_FILES) {
    const path = o[key];
    if (path !== undefined && !statSync(dirname(path), { throwIfNoEntry: false })?.isDirectory()) throw outputError(`${option} ${path}: no such folder ${dirname(path)}`);
  }
}

/** Each report file asked for, written whole or not at all. */
function writeReportFiles(o: ReportPaths, title: string, report: MatrixReport): void {
  for (const { option, key, render } of REPORT_FILES) {
    const path = o[key];
    if (path === undefined) continue;
    try {
      writeAtomic(path, render(title, report));
    } catch (e) {
      throw outputError(`${option} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
}

function progress(json: boolean | undefined): ((done: number, total: number) => void) | undefined {
  if (json || !process.stderr.isTTY || !((process.stderr.columns ?? 0) > 0) || process.env.CI) return undefined;
  const t0 = performance.now();
  return (done, total) => {
    const eta = ((performance.now() - t0) / done) * (total - done);
    process.stderr.write(`\r${done}/${total} (${Math.round((done / total) * 100)} %, ETA ${(eta / 1000).toFixed(0)} s)   ${done === total ? '\n' : ''}`);
  };
}

function printTable(report: MatrixReport): void {
  const names = [...new Set(report.results.map((r) => r.candidate))];
  const width = names.reduce((w, n) => Math.max(w, n.length), 9) + 2;
  process.stdout.write(''.padEnd(width) + report.engines.map((e) => e.padEnd(26)).join('') + '\n');
  for (const n of names) {
    const cells = report.engines.map((e) => {
      const r = report.results.find((x) => x.candidate === n && x.engine === e)!;
      const mark = r.failure ? '✗' : '✓';
      return `${mark} ${r.verdict}${r.reason ? ` ${r.reason}` : ''}`.slice(0, 25).padEnd(26);
    });
    process.stdout.write(n.padEnd(width) + cells.join('') + '\n');
  }
}

function finish(report: MatrixReport, o: { json?: boolean }, setExit: (c: number) => void): void {
  const failures = report.results.filter((r) => r.failure);
  if (o.json) process.stdout.write(JSON.stringify(report) + '\n');
  else {
    for (const d of report.divergences) process.stdout.write(`DIVERGENCE ${d.candidate}: ${d.what}\n  repro: ${d.repro}\n`);
    printTable(report);
    for (const f of failures) process.stdout.write(`FAIL ${f.candidate} on ${f.engine}: ${f.failure}\n`);
    process.stdout.write(`${report.candidates} candidates × ${report.engines.length} engines: ${report.divergences.length} divergences, ${failures.length} failures\n`);
  }
  setExit(report.divergences.length === 0 && failures.length === 0 ? 0 : 1);
}

function selectEngines(all: Engine[], list: string | undefined): Engine[] {
  if (!list) return all;
  return list.split(',').map((id) => {
    const e = all.find((x) => x.id === id.trim());
    if (!e) throw usageError(`--engines: unknown engine ${id} (this binary carries: ${all.map((x) => x.id).join(', ')})`);
    return e;
  });
}

function parseJobs(text: string | undefined): number {
  if (text === undefined) return cpus().length;
  if (!/^\d+$/.test(text) || Number(text) < 1) throw usageError(`--jobs ${text}: give a positive number`);
  return Number(text);
}

/** The commands that reproduce one candidate on each engine, every argument shell-quoted. */
export function conformanceRepro(job: Job, engineIds: readonly string[]): string {
  return engineIds.map((id) => shellCommand(['pvf', 'validate', '--code', job.files?.code ?? '', '--pov-file', job.files?.pov ?? '', '--engine', id, '--json'])).join(' ; ');
}

export function registerMatrix(program: Command, setExit: (code: number) => void): void {
  program
    .command('smoke')
    .description('run the built-in vectors (own and hostile PVFs) on every engine this binary carries')
    .option('--json', 'print JSON')
    .option('--junit <file>', 'also write JUnit XML')
    .option('--html <file>', 'also write a self-contained HTML report')
    .option('--jobs <n>', 'parallel executions (default: cores)')
    .option('--require-sandbox', 'abstain on every job when a worker sandbox layer is missing here (pvf doctor)')
    .action(async (o: { json?: boolean; junit?: string; html?: string; jobs?: string; requireSandbox?: boolean }) => {
      checkReportFiles(o);
      const reg = loadRegistry({ persistent: true, requireSandbox: o.requireSandbox });
      warnIfUnconfined(reg, o.requireSandbox);
      const jobs: Job[] = [];
      for (const c of smokeCases()) {
        jobs.push({ name: c.name, input: { kind: 'params', code: await testPvf(c.pvf), params: c.params }, limits: c.limits, expected: c.expected, expectedByFamily: c.expectedByFamily });
      }
      const report = await runMatrix(jobs, reg.engines, {
        concurrency: parseJobs(o.jobs),
        repro: (job) => `pvf smoke --json   # case "${job.name}"`,
        onDone: progress(o.json),
        preparedCache: preparedCacheFor(reg),
      });
      closeWorkers();
      writeReportFiles(o, 'pvf smoke', report);
      finish(report, o, setExit);
    });

  program
    .command('conformance')
    .description('run a corpus of candidates on several engines and report every difference')
    .requiredOption('--corpus <dir>', 'a candidate corpus (the format in the README) or folders of code + .pov files')
    .option('--engines <ids>', 'comma-separated engine ids (default: all)')
    .option('--all', 'every engine this binary carries (the default)')
    .option('--jobs <n>', 'parallel executions (default: cores)')
    .option('--require-sandbox', 'abstain on every job when a worker sandbox layer is missing here (pvf doctor)')
    .option('--shard <i/n>', 'run only shard i of n (1-based), for a CI matrix')
    .option('--json', 'print JSON')
    .option('--junit <file>', 'also write JUnit XML')
    .option('--html <file>', 'also write a self-contained HTML report')
    .action(async (o: { corpus: string; engines?: string; all?: boolean; jobs?: string; shard?: string; json?: boolean; junit?: string; html?: string; requireSandbox?: boolean }) => {
      if (o.all && o.engines) throw usageError('give --engines or --all, not both');
      checkReportFiles(o);
      let jobs: Job[];
      try {
        jobs = readCorpus(o.corpus);
      } catch (e) {
        if (e instanceof CorpusError) throw dataError(`--corpus ${e.message}`);
        throw e;
      }
      if (o.shard) {
        const m = /^(\d+)\/(\d+)$/.exec(o.shard);
        if (!m || Number(m[1]) < 1 || Number(m[1]) > Number(m[2])) throw usageError(`--shard ${o.shard}: give i/n with 1 ≤ i ≤ n`);
        jobs = shard(jobs, Number(m[1]), Number(m[2]));
      }
      const reg = loadRegistry({ persistent: true, requireSandbox: o.requireSandbox });
      warnIfUnconfined(reg, o.requireSandbox);
      const engines = selectEngines(reg.engines, o.engines);
      const report = await runMatrix(jobs, engines, {
        concurrency: parseJobs(o.jobs),
        repro: conformanceRepro,
        onDone: progress(o.json),
        preparedCache: preparedCacheFor(reg),
      });
      closeWorkers();
      writeReportFiles(o, 'pvf conformance', report);
      finish(report, o, setExit);
    });
}
