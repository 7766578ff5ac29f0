/**
 * `pvf doctor [--json]`: what this machine gives the engine workers. The sandbox layers
 * (engines/sandbox.ts), shown at work by the escaped job (engines/escape-probe.ts) run with the
 * default engine's node inside them; the cache's owner and mode; each engine's extraction state.
 * Exit 0 when every layer is active and the escaped job was stopped at every attempt, 1 otherwise,
 * with one line per missing layer and how to get it. Also the warning the other commands print when
 * a layer is missing (`--require-sandbox` makes that an abstain instead).
 */
import type { Command } from 'commander';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { EngineStore, cacheRoot } from '../engines/store/store.ts';
import { newestActiveV8, type Registry } from '../engines/registry.ts';
import { missingLayers, sandboxProbe, WORKER_LIMITS, type LayerStatus } from '../engines/sandbox.ts';
import { nodeVersionIn } from '../engines/worker-engine.ts';
import { ATTEMPTS, ATTEMPT_TEXT, runEscapeProbe, type Attempt, type AttemptResult } from '../engines/escape-probe.ts';

let warned = false;

/**
 * Once per process, for commands that run the binary's engines: the layers the workers run
 * without. A source checkout's engine (development only) is never confined, and not warned about.
 */
export function warnIfUnconfined(reg: Registry | undefined, requireSandbox: boolean | undefined): void {
  if (warned || requireSandbox || !reg?.store) return;
  const missing = missingLayers();
  if (missing.length === 0) return;
  warned = true;
  process.stderr.write(`pvf: warning: the engine workers run without the sandbox layer${missing.length > 1 ? 's' : ''} ${missing.map((l) => l.name).join(', ')}; \`pvf doctor\` says how to get ${missing.length > 1 ? 'them' : 'it'} (--require-sandbox makes this abstain)\n`);
}

interface CacheState {
  path: string;
  exists: boolean;
  ownedByYou?: boolean;
  mode?: string;
  ok: boolean;
  problem?: string;
}

function cacheState(): CacheState {
  const path = cacheRoot();
  let st;
  try {
    st = statSync(path);
  } catch {
    return { path, exists: false, ok: true };
  }
  const mode = (st.mode & 0o777).toString(8);
  const ownedByYou = typeof process.getuid !== 'function' || st.uid === process.getuid();
  const problem = !st.isDirectory() ? 'not a directory' : !ownedByYou ? `owned by uid ${st.uid}, not you` : (st.mode & 0o022) !== 0 ? `writable by group or others (mode ${mode})` : undefined;
  return { path, exists: true, ownedByYou, mode, ok: problem === undefined, ...(problem && { problem }) };
}

interface DoctorReport {
  layers: LayerStatus[];
  limits: typeof WORKER_LIMITS;
  escapedJob?: { engine: string; attempts: Record<Attempt, AttemptResult> } | { engine: string; error: string };
  cache: CacheState;
  engines: Array<{ id: string; status: string; extracted: boolean; dir: string }>;
  ok: boolean;
}

async function examine(): Promise<DoctorReport> {
  const layers = sandboxProbe(true).layers; // a fresh trial, not the one remembered for this boot
  const store = EngineStore.open();
  const cache = cacheState();
  const engines = store ? store.manifest.engines.map((e) => ({ id: e.id, status: e.status, extracted: store.isExtracted(e), dir: store.dirOf(e) })) : [];
  const report: DoctorReport = { layers, limits: WORKER_LIMITS, cache, engines, ok: false };
  const v8 = store && newestActiveV8(store.manifest.engines);
  if (store && v8) {
    try {
      const dir = await store.ensureExtracted(v8);
      report.escapedJob = { engine: v8.id, attempts: await runEscapeProbe({ node: join(dir, 'node'), nodeVersion: nodeVersionIn(v8.id), engineDir: dir }) };
      const entry = report.engines.find((e) => e.id === v8.id);
      if (entry) entry.extracted = true;
    } catch (e) {
      report.escapedJob = { engine: v8.id, error: (e as Error).message };
    }
  }
  const stopped = report.escapedJob && 'attempts' in report.escapedJob && ATTEMPTS.every((a) => (report.escapedJob as { attempts: Record<Attempt, AttemptResult> }).attempts[a].denied);
  report.ok = layers.every((l) => l.active) && cache.ok && stopped === true;
  return report;
}

function printText(r: DoctorReport): void {
  const out: string[] = ['worker sandbox:'];
  for (const l of r.layers) out.push(`  ${l.active ? 'ok     ' : 'MISSING'} ${l.name.padEnd(11)} ${l.detail}${l.enable ? ` — to enable: ${l.enable}` : ''}`);
  const job = r.escapedJob;
  if (!job) out.push('escaped job: not run (no engine in this binary: a source checkout)');
  else if ('error' in job) out.push(`escaped job on ${job.engine}: could not run: ${job.error}`);
  else {
    out.push(`escaped job on ${job.engine} (code run inside the sandbox as if it had broken out of the engine):`);
    for (const a of ATTEMPTS) out.push(`  ${job.attempts[a].denied ? 'denied ' : 'ALLOWED'} ${ATTEMPT_TEXT[a]}${job.attempts[a].error ? ` (${job.attempts[a].error})` : ''}`);
  }
  const c = r.cache;
  out.push(`cache: ${c.path}: ${!c.exists ? 'not created yet' : c.ok ? `yours, mode ${c.mode}` : `PROBLEM: ${c.problem}`}`);
  if (r.engines.length) {
    out.push('engines:');
    for (const e of r.engines) out.push(`  ${e.id.padEnd(28)} ${e.status.padEnd(10)} ${e.extracted ? `extracted in ${e.dir}` : 'not extracted yet (extracted on first use)'}`);
  }
  out.push(r.ok ? 'every layer a validator should have is active' : 'not every layer a validator should have is active (lines above)');
  process.stdout.write(out.join('\n') + '\n');
}

export function registerDoctor(program: Command, setExit: (code: number) => void): void {
  program
    .command('doctor')
    .description('check what this machine gives the engine workers: sandbox layers, cache, engines (exit 0 all there, 1 not)')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      const r = await examine();
      if (o.json) process.stdout.write(JSON.stringify(r) + '\n');
      else printText(r);
      setExit(r.ok ? 0 : 1);
    });
}
