/**
 * Real Cumulus candidates (needs ../shared/fixtures): blocks #1..#5 of Kusama Asset Hub (statemine
 * 1000000) and of Shell v2, built by scripts/candidates into a temporary corpus, each validated with
 * `pvf validate --pov-file … --code … --json`; negative candidates derived from them must be invalid
 * with the runtime's own panic message.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { listSections } from '../engines/store/elf.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO, SHARED, SKIP_SHARED } from './support/pvfs.ts';
import { runCli } from './support/cli.ts';
import { blake2_256 } from '../core/primitives/hashing.ts';
import { parseHex, toHex } from '../core/primitives/hex.ts';
import { decodePovFile } from '../core/candidate/codecs.ts';
import type { ExpectedFile as Expected } from '../core/corpus/format.ts';
import type { MatrixReport } from '../core/corpus/conformance.ts';
import { SKIP_BROWSER, attributeOfAll, visitFile } from './support/browser.ts';

const BLOCKS = 5;

describe('real Cumulus candidates built from genesis', { skip: SKIP_SHARED }, () => {
  let out = '';
  let names: string[] = [];
  let reports = '';
  /** The JSON and the --html page of the conformance run, once it has run. */
  let conformance: { doc: MatrixReport; html: string } | undefined;
  before(async () => {
    out = mkdtempSync(join(tmpdir(), 'pvf-candidates-'));
    reports = mkdtempSync(join(tmpdir(), 'pvf-candidates-html-'));
    const { buildCorpus } = await import('../scripts/candidates/build-corpus.ts');
    await buildCorpus({ out, shared: SHARED, blocks: BLOCKS, log: () => {} });
    names = readdirSync(out).filter((n) => statSync(join(out, n)).isDirectory()).sort();
  });
  after(() => {
    rmSync(out, { recursive: true, force: true });
    rmSync(reports, { recursive: true, force: true });
  });

  it('the corpus holds 5 blocks and 5 negatives per chain, in the corpus layout of the README', () => {
    for (const chain of ['statemine-1000000', 'shell-2']) {
      assert.equal(names.filter((n) => n.startsWith(`${chain}-block-`) && /-block-\d+$/.test(n)).length, BLOCKS, chain);
      assert.equal(names.filter((n) => n.startsWith(`${chain}-block-`) && !/-block-\d+$/.test(n)).length, 5, chain);
    }
    for (const n of names) {
      assert.deepEqual(readdirSync(join(out, n)).sort(), ['candidate.pov', 'code.ref', 'expected.json'], n);
      const ref = readFileSync(join(out, n, 'code.ref'), 'utf8').trim();
      assert.ok(statSync(join(out, ref)).isFile(), `${n}: code.ref names ${ref}`);
    }
  });

  it('every block is valid; head_data is the block header and hashes to the block hash', () => {
    const blocks = names.filter((n) => /-block-\d+$/.test(n));
    assert.equal(blocks.length, 2 * BLOCKS);
    for (const n of blocks) {
      const dir = join(out, n);
      const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Expected;
      const code = join(out, readFileSync(join(dir, 'code.ref'), 'utf8').trim());
      const r = runCli(['validate', '--code', code, '--pov-file', join(dir, 'candidate.pov'), '--json']);
      assert.equal(r.code, 0, `${n}: ${r.stdout.slice(0, 600)}${r.stderr}`);
      const doc = JSON.parse(r.stdout) as { verdict: string; result: { headData: string; hrmpWatermark: number } };
      assert.equal(doc.verdict, 'valid', n);
      assert.equal(doc.result.headData, expected.headData, n);
      assert.equal(toHex(blake2_256(parseHex(doc.result.headData))), expected.blockHash, n);
      // The watermark is the relay parent the candidate was built on.
      const { pvd } = decodePovFile(new Uint8Array(readFileSync(join(dir, 'candidate.pov'))));
      assert.equal(doc.result.hrmpWatermark, pvd.relayParentNumber, n);
    }
  });

  it('every candidate gives the same verdict and reason class on every engine of dist/pvf', (t) => {
    const bin = join(REPO, 'dist', 'pvf');
    if (!existsSync(bin) || !listSections(bin).some((x) => x.name === '.pvf.manifest')) {
      t.skip('dist/pvf is not built (npm run build); only the in-process engine was checked');
      return;
    }
    const cache = mkdtempSync(join(tmpdir(), 'pvf-cand-cache-'));
    try {
      const env = { ...process.env, CI: '1', PVF_CACHE_DIR: cache };
      const ids = (JSON.parse(spawnSync(bin, ['engines', 'list', '--json'], { encoding: 'utf8', env }).stdout) as { engines: Array<{ id: string }> }).engines.map((e) => e.id);
      for (const n of names) {
        const dir = join(out, n);
        const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Expected;
        const code = join(out, readFileSync(join(dir, 'code.ref'), 'utf8').trim());
        for (const id of ids) {
          const r = spawnSync(bin, ['validate', '--code', code, '--pov-file', join(dir, 'candidate.pov'), '--engine', id, '--json'], { encoding: 'utf8', env });
          const doc = JSON.parse(r.stdout) as { verdict: string; reason?: string; result?: { headData: string } };
          assert.equal(doc.verdict, expected.verdict, `${n} on ${id}: ${r.stdout.slice(0, 300)}`);
          if (expected.verdict === 'valid') assert.equal(doc.result?.headData, expected.headData, `${n} on ${id}`);
          else assert.equal(doc.reason, expected.panic ? 'execution-error' : expected.reason, `${n} on ${id}`);
        }
      }
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });

  it('pvf conformance over the corpus: zero divergences across the engines of dist/pvf, every expectation met', (t) => {
    const bin = join(REPO, 'dist', 'pvf');
    if (!existsSync(bin) || !listSections(bin).some((x) => x.name === '.pvf.manifest')) {
      t.skip('dist/pvf is not built (npm run build)');
      return;
    }
    const cache = mkdtempSync(join(tmpdir(), 'pvf-cand-conf-'));
    try {
      const html = join(reports, 'conformance.html');
      const r = spawnSync(bin, ['conformance', '--corpus', out, '--all', '--json', '--jobs', '2', '--html', html], { encoding: 'utf8', env: { ...process.env, CI: '1', PVF_CACHE_DIR: cache } });
      const doc = JSON.parse(r.stdout) as MatrixReport;
      conformance = { doc, html };
      assert.equal(doc.candidates, 20);
      assert.ok(doc.engines.length >= 4);
      // Negatives: v8 engines say execution-error with the panic; wasmi engines too (without text).
      assert.deepEqual(doc.divergences, []);
      assert.deepEqual(doc.results.filter((x) => x.failure).map((x) => `${x.candidate} on ${x.engine}: ${x.failure}`), []);
      assert.equal(r.status, 0);
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });

  it('the HTML report of that run opens in chromium: no console error, no request but the file, the 20 × engines grid as in the JSON', async (t) => {
    if (!conformance) {
      t.skip('no conformance run to look at (dist/pvf is not built: npm run build)');
      return;
    }
    if (SKIP_BROWSER) {
      t.skip(SKIP_BROWSER);
      return;
    }
    const { doc, html } = conformance;
    const visit = await visitFile(html, async (page) => {
      const rows = page.locator('table.grid tbody tr');
      const grid: Array<{ candidate: string | null; engines: Array<string | null>; verdicts: string[] }> = [];
      for (let k = 0; k < (await rows.count()); k++) {
        const cells = rows.nth(k).locator('td');
        grid.push({ candidate: await rows.nth(k).getAttribute('data-candidate'), engines: await attributeOfAll(cells, 'data-engine'), verdicts: await cells.locator('.verdict').allTextContents() });
      }
      return { columns: await attributeOfAll(page.locator('table.grid thead th[data-engine]'), 'data-engine'), grid, charts: await page.locator('#timing figure svg').count() };
    });
    assert.deepEqual(visit.problems, []);
    assert.deepEqual(visit.requests, [pathToFileURL(html).href]);
    assert.deepEqual(visit.result.columns, doc.engines);
    assert.equal(visit.result.charts, doc.engines.length);
    assert.equal(visit.result.grid.length, 20);
    assert.deepEqual(visit.result.grid.map((g) => g.candidate).sort(), names);
    for (const g of visit.result.grid) {
      assert.deepEqual(g.engines, doc.engines, `${g.candidate}`);
      assert.deepEqual(g.verdicts, doc.engines.map((e) => doc.results.find((x) => x.candidate === g.candidate && x.engine === e)?.verdict), `${g.candidate}`);
    }
  });

  it('every negative candidate is invalid with the runtime’s own panic (or the host reason)', () => {
    const negatives = names.filter((n) => !/-block-\d+$/.test(n));
    assert.equal(negatives.length, 10);
    for (const n of negatives) {
      const dir = join(out, n);
      const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Expected;
      const code = join(out, readFileSync(join(dir, 'code.ref'), 'utf8').trim());
      const r = runCli(['validate', '--code', code, '--pov-file', join(dir, 'candidate.pov'), '--json']);
      assert.equal(r.code, 1, `${n}: ${r.stdout.slice(0, 600)}${r.stderr}`);
      const doc = JSON.parse(r.stdout) as { verdict: string; reason: string; detail: string };
      assert.equal(doc.verdict, 'invalid', n);
      if (expected.panic) {
        assert.equal(doc.reason, 'execution-error', n);
        assert.ok(doc.detail.includes(expected.panic), `${n}: "${doc.detail}" lacks "${expected.panic}"`);
      } else {
        assert.equal(doc.reason, expected.reason, n);
      }
    }
  });
});
