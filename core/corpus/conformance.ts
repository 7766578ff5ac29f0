/**
 * Run a set of candidates on several engines and compare: verdict class, reason class and the
 * exact ValidationResult bytes. Used by `pvf smoke` (built-in vectors) and `pvf conformance`
 * (a recorded corpus) alike.
 */
import { toHex } from '../primitives/hex.ts';
import { validateCandidate, type CandidateInput, type Engine, type ExecutionLimits } from '../candidate/validate.ts';
import type { PreparedCache } from '../prepare/prepared-cache.ts';

export interface Expectation {
  verdict: 'valid' | 'invalid' | 'abstain';
  reason?: string;
  raw?: string;
  headData?: string;
}

export interface Job {
  name: string;
  input: CandidateInput;
  limits?: ExecutionLimits;
  expected?: Expectation;
  /** Where an engine family is expected to answer otherwise (a documented engine limit). */
  expectedByFamily?: Partial<Record<string, Expectation>>;
  /** Paths for the reproduction command, when the candidate exists as files. */
  files?: { code: string; pov?: string };
}

export interface JobResult {
  candidate: string;
  engine: string;
  verdict: string;
  reason?: string;
  detail?: string;
  raw?: string;
  headData?: string;
  ms: number;
  /** Why the result does not meet the expectation, if it does not. */
  failure?: string;
  /** The engine abstained by the policy of a known host-function divergence (core/prepare/host-policy.ts). */
  byPolicy?: true;
}

export interface Divergence {
  candidate: string;
  engines: string[];
  what: string;
  repro: string;
}

export interface MatrixReport {
  candidates: number;
  engines: string[];
  divergences: Divergence[];
  results: JobResult[];
}

export function meets(r: JobResult, e: Expectation | undefined): string | undefined {
  if (!e) return undefined;
  if (r.verdict !== e.verdict) return `expected ${e.verdict}, got ${r.verdict}${r.reason ? ` (${r.reason}: ${r.detail ?? ''})` : ''}`;
  if (e.reason && r.reason !== e.reason) return `expected reason ${e.reason}, got ${r.reason}`;
  if (e.raw && r.raw !== e.raw) return `result bytes differ from the expected ${e.raw.slice(0, 20)}…`;
  if (e.headData && r.headData !== e.headData) return `head_data differs from the expected ${e.headData.slice(0, 20)}…`;
  return undefined;
}

/**
 * Differences between engines for one candidate, most severe first. An engine that abstained on a
 * documented limit of its own (`engine-limit`) or by the policy of a known host-function divergence
 * (a call to a function it lists) has no opinion to compare.
 */
function compare(all: JobResult[]): string | undefined {
  const results = all.filter((r) => !(r.verdict === 'abstain' && (r.reason === 'engine-limit' || r.byPolicy)));
  const classes = new Set(results.map((r) => r.verdict));
  if (classes.size > 1) return `verdict: ${results.map((r) => `${r.engine}=${r.verdict}`).join(', ')}`;
  const reasons = new Set(results.map((r) => r.reason ?? ''));
  if (reasons.size > 1) return `reason: ${results.map((r) => `${r.engine}=${r.reason}`).join(', ')}`;
  const raws = new Set(results.map((r) => r.raw ?? ''));
  if (raws.size > 1) return 'result bytes differ';
  return undefined;
}

/** Run every job on every engine with at most `concurrency` executions at a time. */
export async function runMatrix(
  jobs: Job[],
  engines: Engine[],
  opts: {
    concurrency: number;
    repro: (job: Job, engines: string[]) => string;
    onDone?: (done: number, total: number) => void;
    /** Prepared artifacts are reused across candidates and runs when a cache is given. */
    preparedCache?: PreparedCache;
  },
): Promise<MatrixReport> {
  const tasks = jobs.flatMap((job) => engines.map((engine) => ({ job, engine })));
  const results = new Map<string, JobResult>();
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const { job, engine } = tasks[next++];
      const t0 = performance.now();
      const rep = await validateCandidate(job.input, engine, { limits: job.limits, preparedCache: opts.preparedCache });
      const v = rep.verdict;
      const r: JobResult = { candidate: job.name, engine: engine.id, verdict: v.verdict, ms: Math.round((performance.now() - t0) * 10) / 10 };
      if (v.verdict === 'valid') {
        r.raw = toHex(v.raw);
        r.headData = toHex(v.result.headData);
      } else {
        r.reason = v.reason;
        r.detail = v.detail;
      }
      if (rep.byPolicy) r.byPolicy = true;
      const failure = meets(r, job.expectedByFamily?.[engine.family] ?? job.expected);
      if (failure) r.failure = failure;
      results.set(`${job.name}\u0000${engine.id}`, r);
      opts.onDone?.(++done, tasks.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency, tasks.length)) }, worker));
  const ordered: JobResult[] = [];
  const divergences: Divergence[] = [];
  for (const job of jobs) {
    const row = engines.map((e) => results.get(`${job.name}\u0000${e.id}`)!);
    ordered.push(...row);
    const what = engines.length > 1 ? compare(row) : undefined;
    if (what) divergences.push({ candidate: job.name, engines: engines.map((e) => e.id), what, repro: opts.repro(job, engines.map((e) => e.id)) });
  }
  return { candidates: jobs.length, engines: engines.map((e) => e.id), divergences, results: ordered };
}
