/**
 * `npm run candidates -- --out DIR [--blocks N] [--shared DIR]`: build real Cumulus candidates
 * (blocks #1..#N of Kusama Asset Hub "statemine" 1000000 and of Shell v2, from their raw genesis
 * chain specs in ../shared/fixtures) and write them, with negative candidates derived from them,
 * in the corpus format of the README.
 *
 * The blocks are built by driving each runtime's block-building API with chopsticks' executor over
 * storage we hold ourselves; we compute the real state roots, seal Aura blocks with the slot
 * author's dev key, pin slots and timestamps, and give set_validation_data a relay-chain proof
 * whose Paras.Heads entry holds the real parent header. The PoV's block data is the single-block
 * ParachainBlockData "v0" layout — (header, extrinsics, CompactProof of the whole parent state) —
 * which both runtimes' validate_block decode.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildCorpus } from './candidates/build-corpus.ts';

const { values } = parseArgs({
  options: {
    out: { type: 'string' },
    blocks: { type: 'string', default: '5' },
    shared: { type: 'string' },
  },
});
if (!values.out) {
  process.stderr.write('usage: npm run candidates -- --out DIR [--blocks N] [--shared DIR]\n');
  process.exit(64);
}
const blocks = Number(values.blocks);
if (!Number.isInteger(blocks) || blocks < 1 || blocks > 50) {
  process.stderr.write(`--blocks ${values.blocks}: give a whole number from 1 to 50\n`);
  process.exit(64);
}
const shared = resolve(values.shared ?? join(fileURLToPath(new URL('..', import.meta.url)), '../shared/fixtures'));
try {
  readFileSync(join(shared, 'chainspecs/asset-hub-kusama-local.json'));
} catch {
  process.stderr.write(`${shared}: the shared fixtures (chain specs) are not there; pass --shared DIR\n`);
  process.exit(66);
}
const summary = await buildCorpus({ out: resolve(values.out), shared, blocks, log: (s) => process.stderr.write(s + '\n') });
process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
process.exit(0); // the executor's worker keeps the event loop alive
