/**
 * `npm run build`: bundle the CLI with esbuild into one executable CommonJS file, dist/pvf, with the sample
 * PVF (assembled from tests/pvfs/adder.wat) embedded. (A later step turns it into the single-file
 * SEA binary carrying engine sections.)
 */
import { build } from 'esbuild';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { assembleWatFile } from './wat.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };

const sample = await assembleWatFile(join(root, 'tests/pvfs/adder.wat'));
mkdirSync(join(root, 'dist'), { recursive: true });
const outfile = join(root, 'dist/pvf');
await build({
  entryPoints: [join(root, 'cli/main.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['wabt'],
  define: {
    __PVF_SAMPLE_WASM_BASE64__: JSON.stringify(Buffer.from(sample).toString('base64')),
    __PVF_VERSION__: JSON.stringify(pkg.version),
    // Only the from-source path of cli/sample.ts reads import.meta.url; the bundle embeds the sample.
    'import.meta.url': '""',
  },
  legalComments: 'none',
  logLevel: 'warning',
});
chmodSync(outfile, 0o755);
// dist/pvf is CommonJS; this keeps Node from reading it as ESM under the repo's "type": "module".
writeFileSync(join(root, 'dist/package.json'), JSON.stringify({ type: 'commonjs' }) + '\n');
process.stdout.write(`built ${outfile}\n`);
