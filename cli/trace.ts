/**
 * `pvf validate --trace FILE` writes a trace (JSON lines; the schema is in core/candidate/trace.ts
 * and the README, "Traces"); `pvf trace diff A B` prints the first event where two traces differ.
 *
 * A trace file: a header line (`"ev":"trace"`: schema, pvf version, engine, what the engine cannot
 * record), the engine's events, and a verdict line (`"ev":"verdict"`, with the phase timings). Times
 * appear only in the header and verdict lines, which the diff compares apart from the events.
 */
import type { Command } from 'commander';
import { renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { TRACE_SCHEMA, WASMI_TRACE_LACKS, parseTraceEvent, type TraceEvent } from '../core/candidate/trace.ts';
import type { Engine, ValidationReport } from '../core/candidate/validate.ts';
import type { CandidateInput } from '../core/candidate/validate.ts';
import { blake2_256 } from '../core/primitives/hashing.ts';
import { toHex } from '../core/primitives/hex.ts';
import { dataError, outputError } from './errors.ts';
import { readInputFile } from './inputs.ts';
import { VERSION } from './version.ts';

/** The largest trace file `trace diff` reads (MAX_TRACE_EVENTS events of a few hundred bytes). */
const MAX_TRACE_FILE_BYTES = 512 * 1024 * 1024;

/** `--trace FILE` must be writable where it is asked for: checked before anything runs. */
export function checkTraceTarget(path: string): void {
  const dir = dirname(resolve(path));
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    isDir = false;
  }
  if (!isDir) throw outputError(`--trace ${path}: no such folder ${dir}`);
  try {
    if (statSync(path).isDirectory()) throw outputError(`--trace ${path}: is a folder; give a file name`);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

export interface TraceHeader {
  ev: 'trace';
  schema: string;
  pvf: string;
  engine: string;
  family: string;
  /** Event kinds and fields this engine cannot record. */
  lacks: string[];
  /** blake2-256 of the code blob as given (the validation code hash). */
  codeHash: string;
  input: CandidateInput['kind'];
  session?: number;
  executorParamsHash?: string;
}

export function traceHeader(engine: Pick<Engine, 'id' | 'family'> | undefined, input: CandidateInput, context: { session?: number; executorParamsHash?: string }): TraceHeader {
  const family = engine?.family ?? 'none';
  const header: TraceHeader = {
    ev: 'trace',
    schema: TRACE_SCHEMA,
    pvf: VERSION,
    engine: engine?.id ?? 'none',
    family,
    lacks: family === 'v8' ? [] : [...WASMI_TRACE_LACKS],
    codeHash: toHex(blake2_256(input.code)),
    input: input.kind,
  };
  if (context.session !== undefined) header.session = context.session;
  if (context.executorParamsHash !== undefined) header.executorParamsHash = context.executorParamsHash;
  return header;
}

/** The closing line: the verdict, a hash of the output, and the phase timings. */
function verdictLine(report: ValidationReport): Record<string, unknown> {
  const v = report.verdict;
  const line: Record<string, unknown> = { ev: 'verdict', verdict: v.verdict };
  if (v.verdict === 'valid') line.outputHash = toHex(blake2_256(v.raw));
  else {
    line.reason = v.reason;
    line.detail = v.detail;
  }
  line.timings = report.timings;
  return line;
}

/** Write the trace whole or not at all (a temporary file renamed into place). */
export function writeTrace(path: string, header: TraceHeader, report: ValidationReport): void {
  const lines = [JSON.stringify(header), ...(report.trace ?? []).map((e) => JSON.stringify(e)), JSON.stringify(verdictLine(report))];
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, lines.join('\n') + '\n');
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

interface ParsedTrace {
  header: TraceHeader;
  events: TraceEvent[];
  /** 1-based line number of each event. */
  lineOf: number[];
  verdict: Record<string, unknown>;
}

/** Read a trace file; every line checked (a data error names the file and line). */
export function readTrace(flag: string, path: string): ParsedTrace {
  const text = Buffer.from(readInputFile(flag, path, MAX_TRACE_FILE_BYTES)).toString('utf8');
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const bad = (n: number, what: string) => dataError(`${flag} ${path}: line ${n}: ${what}`);
  const parse = (n: number): Record<string, unknown> => {
    try {
      const v: unknown = JSON.parse(lines[n - 1]);
      if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
    } catch {
      // reported below
    }
    throw bad(n, 'not a JSON object');
  };
  if (lines.length < 2) throw dataError(`${flag} ${path}: not a pvf trace (a header line, events and a verdict line)`);
  const header = parse(1);
  if (header.ev !== 'trace' || header.schema !== TRACE_SCHEMA) throw bad(1, `not a ${TRACE_SCHEMA} header`);
  if (!Array.isArray(header.lacks) || !header.lacks.every((x) => typeof x === 'string') || typeof header.engine !== 'string') throw bad(1, 'the header lacks its engine or lacks fields');
  const verdict = parse(lines.length);
  if (verdict.ev !== 'verdict') throw bad(lines.length, 'the last line is not the verdict line (a trace cut short?)');
  const events: TraceEvent[] = [];
  const lineOf: number[] = [];
  for (let n = 2; n < lines.length; n++) {
    const e = parseTraceEvent(parse(n));
    if (!e) throw bad(n, 'not a trace event of this schema');
    events.push(e);
    lineOf.push(n);
  }
  return { header: header as unknown as TraceHeader, events, lineOf, verdict };
}

/** Stable text of a value: object keys sorted, so two writers' key orders never differ. */
function canonical(x: unknown): string {
  if (Array.isArray(x)) return `[${x.map(canonical).join(',')}]`;
  if (typeof x === 'object' && x !== null) {
    const o = x as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .filter((k) => o[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(x);
}

/** An event as compared: without the fields either engine cannot record. */
function comparable(e: TraceEvent, lacks: ReadonlySet<string>): string {
  const o: Record<string, unknown> = { ...e };
  for (const k of lacks) delete o[k];
  return canonical(o);
}

export interface TraceDiff {
  same: boolean;
  /** The lines to print. */
  text: string[];
}

const CONTEXT = 3;

/** Compare two traces: the events both engines can record, then the verdicts (timings aside). */
export function diffTraces(a: ParsedTrace, b: ParsedTrace, names: [string, string]): TraceDiff {
  const lacks = new Set([...a.header.lacks, ...b.header.lacks]);
  const keep = (t: ParsedTrace) => t.events.map((e, k) => ({ e, line: t.lineOf[k] })).filter((x) => !lacks.has(x.e.ev));
  const ea = keep(a);
  const eb = keep(b);
  const text = [`A ${names[0]}: ${a.header.engine}, ${ea.length} events`, `B ${names[1]}: ${b.header.engine}, ${eb.length} events`];
  if (lacks.size > 0) text.push(`not compared (an engine cannot record them): ${[...lacks].join(', ')}`);
  const n = Math.min(ea.length, eb.length);
  let k = 0;
  while (k < n && comparable(ea[k].e, lacks) === comparable(eb[k].e, lacks)) k++;
  if (k < ea.length || k < eb.length) {
    text.push(`first difference at event ${k + 1}:`);
    for (let c = Math.max(0, k - CONTEXT); c < k; c++) text.push(`  ${JSON.stringify(ea[c].e)}`);
    text.push(k < ea.length ? `- A line ${ea[k].line}: ${JSON.stringify(ea[k].e)}` : `- A: no more events (it ended after ${ea.length})`);
    text.push(k < eb.length ? `+ B line ${eb[k].line}: ${JSON.stringify(eb[k].e)}` : `+ B: no more events (it ended after ${eb.length})`);
    return { same: false, text };
  }
  // The verdicts: verdict, reason and output. Trap texts differ between VM families (a v8 engine
  // has the panic message, a wasmi engine the trap): shown, not counted as a difference.
  const va = canonical({ ...a.verdict, timings: undefined, detail: undefined });
  const vb = canonical({ ...b.verdict, timings: undefined, detail: undefined });
  if (va !== vb) {
    text.push(`the events agree (${n}); the verdicts differ:`, `- A: ${va}`, `+ B: ${vb}`);
    return { same: false, text };
  }
  if (a.verdict.detail !== b.verdict.detail) text.push(`the details differ:`, `  A: ${String(a.verdict.detail)}`, `  B: ${String(b.verdict.detail)}`);
  text.push(`the traces agree: ${n} events and the verdict (${String(a.verdict.verdict)})`);
  return { same: true, text };
}

export function registerTrace(program: Command, setExit: (code: number) => void): void {
  const trace = program.command('trace').description('work with traces written by `pvf validate --trace FILE`');
  trace
    .command('diff')
    .description('print the first event where two traces differ (exit 0 the same, 1 they differ)')
    .argument('<a>', 'a trace file')
    .argument('<b>', 'another trace file')
    .action((a: string, b: string) => {
      const d = diffTraces(readTrace('trace diff', a), readTrace('trace diff', b), [a, b]);
      process.stdout.write(d.text.join('\n') + '\n');
      setExit(d.same ? 0 : 1);
    });
}
