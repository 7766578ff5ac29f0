/**
 * `npm run bench`: time what the execution core does, with a baseline measured in the same process.
 * - adder: one full validation (decompress, compile, instantiate, run, decode) of our adder PVF and
 *   of polkadot-sdk's adder, against a bare WebAssembly.instantiate of the same module (the floor).
 * - real Cumulus PVFs (from ../shared/fixtures when present): decompression, compile+instantiate,
 *   and a complete validation of nonsense params (invalid, with the runtime's panic).
 * - real Cumulus candidates (built by scripts/candidates): full validation of each block.
 * - the CLI end to end: `dist/pvf validate --sample` as a process, against `node -e 0`.
 * Prints medians over repeated runs; ratios are what to compare across machines.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { decodePovFile } from '../core/codecs.ts';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { assembleWatFile } from '../build/wat.ts';
import { validateCandidate } from '../core/validate.ts';
import { decompressAs, CODE_BOMB_LIMIT } from '../core/blob.ts';
import { sampleParams } from '../core/sample.ts';
import { parseHex } from '../core/hex.ts';
import { inProcessV8 } from '../engines/v8/index.ts';
import { compilePvf, instantiatePvf } from '../engines/v8/execute.ts';
import { memoryOf, parseModule } from '../core/wasm.ts';

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
    const inst = await median(9, async () => instantiatePvf(await compilePvf(code)));
    const floor = await median(9, () => bareInstantiate(code));
    const full = await median(9, () => validateCandidate({ kind: 'params', code: blob, params }, inProcessV8));
    console.log(
      `${f.split('.')[0].padEnd(28)} decompress ${fmt(dec)}   compile+instantiate ${fmt(inst)} (bare ${fmt(floor)}, ratio ${(inst / floor).toFixed(2)})   full validation ${fmt(full)}`,
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
if (existsSync(bin)) {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS; // adds ~80 ms to every node start in this sandbox
  const run = (args: string[]) => () => spawnSync(process.execPath, args, { env });
  const cli = await median(7, run([bin, 'validate', '--sample']));
  const node = await median(7, run(['-e', '0']));
  console.log(`${'dist/pvf validate --sample'.padEnd(28)} ${fmt(cli)}   node -e 0 ${fmt(node)}   ratio ${(cli / node).toFixed(2)}`);
} else {
  console.log('dist/pvf absent: run npm run build first to time the CLI');
}
