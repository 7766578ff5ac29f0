/**
 * The performance table of the per-candidate overhead (issue 11), every row a ratio measured in
 * this one run against its baseline, the two commands alternated and medians taken, because these
 * machines are noisy. Called by `npm run bench` (scripts/bench.ts) when dist/pvf is built and
 * ../shared/fixtures is present.
 *
 * Rows: warm `validate` of polkadot-sdk's adder vs a bare node script on the same bytes; a real
 * statemine block, whole process, v8 vs wasmi; `conformance` per statemine candidate vs the
 * worker's own instantiate + execute; peak memory and time of a cold process that extracts an
 * engine; cold extraction per family.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { EngineStore } from '../engines/store/store.ts';
import { DEFAULT_LIMITS } from '../core/candidate/validate.ts';
import { prepareModule } from '../core/prepare/prepare.ts';
import { parseHex } from '../core/primitives/hex.ts';
import { inProcessV8 } from '../engines/v8/index.ts';

const RUNS = 10;

function medianOf(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv): { ms: number; stdout: string; status: number | null } {
  const t = performance.now();
  const r = spawnSync(cmd, args, { env, encoding: 'utf8', maxBuffer: 64 << 20 });
  return { ms: performance.now() - t, stdout: r.stdout, status: r.status };
}

/** Run `a` and `b` alternately RUNS times; the medians of each. */
function alternate(a: () => number, b: () => number): [number, number] {
  const xs: number[] = [];
  const ys: number[] = [];
  for (let k = 0; k < RUNS; k++) {
    xs.push(a());
    ys.push(b());
  }
  return [medianOf(xs), medianOf(ys)];
}

/** Peak RSS (KiB) of a process, by /usr/bin/time when the machine has it. */
function peakKb(cmd: string, args: string[], env: NodeJS.ProcessEnv): number | undefined {
  if (!existsSync('/usr/bin/time')) return undefined;
  const r = spawnSync('/usr/bin/time', ['-f', 'PEAK %M', cmd, ...args], { env, encoding: 'utf8', maxBuffer: 64 << 20 });
  const m = /PEAK (\d+)/.exec(r.stderr);
  return m ? Number(m[1]) : undefined;
}

const BARE_SCRIPT = `
import { readFileSync } from 'node:fs';
const [wasm, hex] = process.argv.slice(2);
const params = Buffer.from(hex.replace(/^0x/, ''), 'hex');
const module = await WebAssembly.compile(readFileSync(wasm));
const imports = { env: {} };
for (const i of WebAssembly.Module.imports(module)) {
  imports[i.module] ??= {};
  imports[i.module][i.name] = i.kind === 'memory' ? new WebAssembly.Memory({ initial: 32, maximum: 2080 }) : () => 0;
}
const { exports } = await WebAssembly.instantiate(module, imports);
const at = exports.__heap_base.value;
new Uint8Array(exports.memory.buffer).set(params, at);
const r = exports.validate_block(at, params.length);
const ptr = Number(r & 0xffffffffn), len = Number(r >> 32n);
process.stdout.write(Buffer.from(exports.memory.buffer, ptr, len).toString('hex') + '\\n');
`;

/**
 * The floor of the isolation design, each part timed on its own: what a job costs before any of our
 * code runs. A job thread as the v8 worker starts one (256 MiB stack, the payload's job.cjs loaded),
 * timed from `new Worker` to the thread's first message.
 */
const THREAD_SCRIPT = `
const { Worker } = require('node:worker_threads');
const t = performance.now();
const w = new Worker('require(' + JSON.stringify(process.argv[2]) + '); require("node:worker_threads").parentPort.postMessage(0);', { eval: true, resourceLimits: { stackSizeMb: 256 } });
w.once('message', () => { process.stdout.write(String(performance.now() - t)); process.exit(0); });
`;

export async function benchTable(bin: string, store: EngineStore, shared: string, env: NodeJS.ProcessEnv): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), 'pvf-bench-table-'));
  const cache = join(tmp, 'cache');
  const e = { ...env, PVF_CACHE_DIR: cache };
  const v8 = store.manifest.engines.filter((x) => x.family === 'v8').at(-1)!;
  const wasmi = store.manifest.engines.filter((x) => x.family === 'wasmi').at(-1)!;
  const rows: string[] = [];
  const floors: string[] = [];
  let floorMs = 0;
  let jobFloorMs = 0;
  const row = (what: string, measured: string, goal: string) => rows.push(`| ${what} | ${measured} | ${goal} |`);
  try {
    // 1. Warm validate of the real adder vs a bare node script (the engine's own node) on the same bytes.
    const adder = join(shared, 'adder/test_parachain_adder.wasm');
    const vectors = JSON.parse(readFileSync(join(shared, 'adder/adder_vectors.json'), 'utf8')) as { valid: Array<{ validation_params: string }> };
    const params = vectors.valid[0].validation_params;
    const validate = ['validate', '--code', adder, '--params', params, '--engine', v8.id];
    if (timed(bin, validate, e).status !== 0) throw new Error('pvf validate of the adder failed');
    const node = join(cache, 'engines', readdirSync(join(cache, 'engines')).find((d) => d.startsWith(v8.id))!, 'node');
    const script = join(tmp, 'bare.mjs');
    writeFileSync(script, BARE_SCRIPT);
    const bare = timed(node, [script, adder, params], e);
    if (bare.status !== 0) throw new Error('the bare adder script failed');
    const [pvfMs, bareMs] = alternate(() => timed(bin, validate, e).ms, () => timed(node, [script, adder, params], e).ms);
    row(`warm \`pvf validate\` of the real adder vs a bare \`node\` script (${v8.id}'s node)`, `${pvfMs.toFixed(0)} ms vs ${bareMs.toFixed(0)} ms: **${(pvfMs / bareMs).toFixed(2)}x**`, '≤ 1.5x');
    // The worker sandbox's cost (README, Worker sandbox): the same command with every layer and with none.
    const unconfined = { ...e, PVF_SANDBOX: 'off' };
    const [sandboxedMs, unconfinedMs] = alternate(() => timed(bin, validate, e).ms, () => timed(bin, validate, unconfined).ms);
    row('warm `pvf validate` of the real adder: worker sandbox (every layer) vs none (`PVF_SANDBOX=off`)', `${sandboxedMs.toFixed(0)} ms vs ${unconfinedMs.toFixed(0)} ms: **${(sandboxedMs / unconfinedMs).toFixed(2)}x**`, '≤ 1.10x');
    // Its floor: the CLI's own start (`pvf --version`), the engine's node starting (`node -e 0`), and a
    // job thread with job.cjs: a validation pays all three before any of its work, one after another.
    const threadScript = join(tmp, 'thread.cjs');
    writeFileSync(threadScript, THREAD_SCRIPT);
    const jobCjs = join(dirname(node), 'job.cjs');
    const threadMs = medianOf(Array.from({ length: RUNS }, () => Number(timed(node, [threadScript, jobCjs], e).stdout)));
    const [cliStart, nodeStart] = alternate(() => timed(bin, ['--version'], e).ms, () => timed(node, ['-e', '0'], e).ms);
    floorMs = cliStart + nodeStart + threadMs;
    jobFloorMs = threadMs;
    floors.push(
      `isolation floor of one validation: \`pvf --version\` ${cliStart.toFixed(0)} ms + the engine's \`node -e 0\` ${nodeStart.toFixed(0)} ms + a job thread loading job.cjs ${threadMs.toFixed(0)} ms = ${floorMs.toFixed(0)} ms: ${(floorMs / bareMs).toFixed(2)}x the bare script before any work`,
    );
    // The in-process ceiling of conformance on the adder: the same prepared module executed in a loop.
    const prepared = prepareModule(readFileSync(adder), DEFAULT_LIMITS);
    const raw = parseHex(params);
    const inProcess: number[] = [];
    for (let k = 0; k < 50; k++) {
      const t = performance.now();
      await inProcessV8.execute(prepared, raw, {});
      inProcess.push(performance.now() - t);
    }
    const perInProcess = medianOf(inProcess);
    floors.push(
      `conformance on the adder: ${perInProcess.toFixed(2)} ms per candidate in process, a fresh job thread ${threadMs.toFixed(0)} ms per job: a kept-alive worker reaches at most ${(perInProcess / (perInProcess + threadMs)).toFixed(3)} of the in-process ceiling`,
    );

    // 2.–3. Real statemine blocks.
    const { buildCorpus } = await import('./candidates/build-corpus.ts');
    const corpus = join(tmp, 'corpus');
    await buildCorpus({ out: corpus, shared, blocks: 5, log: () => {} });
    for (const n of readdirSync(corpus)) if (!/^statemine-1000000-block-\d+$/.test(n) && n !== 'statemine-1000000.wasm') rmSync(join(corpus, n), { recursive: true, force: true });
    const blocks = readdirSync(corpus).filter((n) => n.startsWith('statemine-1000000-block-'));
    const code = join(corpus, 'statemine-1000000.wasm');
    const pov = join(corpus, blocks[0], 'candidate.pov');
    const onEngine = (id: string) => ['validate', '--code', code, '--pov-file', pov, '--engine', id, '--json'];
    for (const id of [v8.id, wasmi.id]) if (timed(bin, onEngine(id), e).status !== 0) throw new Error(`statemine block on ${id} is not valid`);
    const [v8Ms, wasmiMs] = alternate(() => timed(bin, onEngine(v8.id), e).ms, () => timed(bin, onEngine(wasmi.id), e).ms);
    row(`a real statemine block, whole \`pvf validate\` process, ${v8.id} vs ${wasmi.id}`, `${(v8Ms / 1000).toFixed(2)} s vs ${(wasmiMs / 1000).toFixed(2)} s: **${(wasmiMs / v8Ms).toFixed(1)}x**`, '≥ 6x whole process');

    const timingsOn = (id: string) => (JSON.parse(timed(bin, onEngine(id), e).stdout) as { timings: Record<string, number> }).timings;
    const instExec = medianOf(
      Array.from({ length: RUNS }, () => {
        const t = timingsOn(v8.id);
        return t.instantiateMs + t.executeMs;
      }),
    );
    const wasmiInstExec = medianOf(
      Array.from({ length: RUNS }, () => {
        // smoldot compiles, instantiates and calls in one: its executeMs covers all three.
        const t = timingsOn(wasmi.id);
        return (t.instantiateMs ?? 0) + t.executeMs;
      }),
    );
    floors.push(
      `statemine, the engines alone (instantiate + execute from \`--json\`; wasmi's executeMs, which includes its compile): ${v8.id} ${instExec.toFixed(0)} ms vs ${wasmi.id} ${wasmiInstExec.toFixed(0)} ms: ${(wasmiInstExec / instExec).toFixed(1)}x; ` +
        `whole-process ${v8.id} at 6x would have to finish in ${(wasmiMs / 6).toFixed(0)} ms, its instantiate + execute and the isolation floor alone take ${(instExec + floorMs).toFixed(0)} ms`,
    );
    const conformance = ['conformance', '--corpus', corpus, '--engines', v8.id, '--jobs', '1'];
    if (timed(bin, conformance, e).status !== 0) throw new Error('conformance over the statemine blocks failed');
    const perCandidate = medianOf(Array.from({ length: 5 }, () => timed(bin, conformance, e).ms)) / blocks.length;
    row(`\`pvf conformance\`, ${blocks.length} statemine blocks, one engine, one job: per candidate vs the worker's instantiate + execute`, `${perCandidate.toFixed(0)} ms vs ${instExec.toFixed(0)} ms: **${(perCandidate / instExec).toFixed(2)}x**`, '≤ 1.25x');
    const [confSandboxed, confUnconfined] = alternate(() => timed(bin, conformance, e).ms, () => timed(bin, conformance, { ...e, PVF_SANDBOX: 'off' }).ms);
    row(`\`pvf conformance\`, ${blocks.length} statemine blocks, one engine, one job: worker sandbox vs none`, `${confSandboxed.toFixed(0)} ms vs ${confUnconfined.toFixed(0)} ms: **${(confSandboxed / confUnconfined).toFixed(2)}x**`, '≤ 1.10x');
    floors.push(`conformance per statemine candidate, its floor: instantiate + execute + a fresh job thread = ${(instExec + jobFloorMs).toFixed(0)} ms: ${((instExec + jobFloorMs) / instExec).toFixed(2)}x`);

    // 5.–6. Cold processes: a fresh cache each time.
    const cold = (id: string, k: number): number => {
      const c = join(tmp, `cold-${id}-${k}`);
      const ms = timed(bin, ['engines', 'extract', id, '--to', join(c, 'out')], { ...env, PVF_CACHE_DIR: c }).ms;
      rmSync(c, { recursive: true, force: true });
      return ms;
    };
    let run = 0;
    const [v8Cold, wasmiCold] = alternate(() => cold(v8.id, run++), () => cold(wasmi.id, run++));
    row('cold extraction (`pvf engines extract ID --to DIR`, whole process) of a v8 engine / a wasmi engine', `${(v8Cold / 1000).toFixed(2)} s / ${(wasmiCold / 1000).toFixed(2)} s`, 'keep ≤ 2 s / ≤ 0.2 s');
    const peaks = Array.from({ length: 3 }, (_, k) => {
      const c = join(tmp, `peak-${k}`);
      const kb = peakKb(bin, ['validate', '--sample', '--engine', v8.id], { ...env, PVF_CACHE_DIR: c });
      rmSync(c, { recursive: true, force: true });
      return kb;
    });
    const known = peaks.filter((x): x is number => x !== undefined);
    row(`peak memory of a cold \`pvf validate --sample\` that extracts ${v8.id}`, known.length ? `${(medianOf(known) / 1024).toFixed(0)} MiB` : 'n/a (no /usr/bin/time)', '≤ 150 MiB');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  console.log('\n| what | measured | goal |\n|---|---|---|');
  for (const r of rows) console.log(r);
  console.log('(conformance on small candidates vs the in-process ceiling: the "conformance adder" lines of the full `npm run bench`)');
  for (const f of floors) console.log(`- ${f}`);
}
