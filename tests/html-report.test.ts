/**
 * The HTML report (`--html FILE` of smoke and conformance): divergent candidates first, then
 * failures, then the rest; every report string escaped; nothing external; and, where chromium is
 * installed, a page that opens with no console error and no request but its own file.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runMatrix, type Job, type MatrixReport } from '../core/corpus/conformance.ts';
import { smokeCases } from '../core/corpus/smoke.ts';
import { writeCandidateFolder } from '../core/corpus/format.ts';
import { encodePovFile } from '../core/candidate/codecs.ts';
import { sampleParams } from '../core/candidate/sample.ts';
import { inProcessV8 } from '../engines/v8/index.ts';
import { htmlReport } from '../cli/html-report.ts';
import { pvf } from './support/pvfs.ts';
import { runCli } from './support/cli.ts';
import { divergentEngine } from './support/divergent.ts';
import { SKIP_BROWSER, attributeOfAll, visitFile } from './support/browser.ts';

const HOSTILE = '<script>alert(1)</script> & "quoted"';

let dir = '';
let report: MatrixReport;
let html = '';
let file = '';
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pvf-html-'));
  const cases = new Map(smokeCases().map((c) => [c.name, c]));
  const job = async (name: string, as = name, expected = cases.get(name)!.expected): Promise<Job> => {
    const c = cases.get(name)!;
    return { name: as, input: { kind: 'params', code: await pvf(c.pvf), params: c.params }, expected };
  };
  // In the order given: a plain pass, a failure on every engine (a hostile name), a pass with a
  // reason, and last the one candidate the test engine diverges on.
  const jobs = [await job('adder: genesis +7'), await job('adder: genesis +7', HOSTILE, { verdict: 'invalid' }), await job('unreachable'), await job('adder: block 1000')];
  const flipOn = Buffer.from(cases.get('adder: block 1000')!.params);
  report = await runMatrix(jobs, [inProcessV8, divergentEngine((p) => flipOn.equals(p))], { concurrency: 2, repro: (j) => `pvf smoke --json   # case "${j.name}"` });
  html = htmlReport('pvf smoke', report, { generatedAt: '2026-01-02T03:04:05.000Z', version: '9.9.9' });
  file = join(dir, 'report.html');
  writeFileSync(file, html);
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** The attribute values of the tbody rows' data-candidate, in page order. */
const rowNames = (page: string) => [...page.matchAll(/<tr[^>]* data-candidate="([^"]*)"/g)].map((m) => m[1]);

describe('htmlReport', () => {
  it('the matrix has one divergence, and failures where the test set them and on the divergent engine’s bytes', () => {
    assert.deepEqual(report.divergences.map((d) => [d.candidate, d.what]), [['adder: block 1000', 'result bytes differ']]);
    assert.deepEqual(report.results.filter((r) => r.failure).map((r) => [r.candidate, r.engine]), [
      [HOSTILE, inProcessV8.id],
      [HOSTILE, 'test-divergent'],
      ['adder: block 1000', 'test-divergent'],
    ]);
  });

  it('lists the divergent candidate first (highlighted), then the failure, then the rest in order', () => {
    assert.deepEqual(rowNames(html), ['adder: block 1000', '&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quoted&quot;', 'adder: genesis +7', 'unreachable']);
    assert.match(html, /<tr class="divergent" data-candidate="adder: block 1000"><th scope="row">adder: block 1000<span class="tag">diverges<\/span><span class="what">result bytes differ<\/span><\/th>/);
    assert.equal((html.match(/<tr class="divergent"/g) ?? []).length, 1);
    assert.match(html, /<li><strong>adder: block 1000<\/strong>: result bytes differ<pre><code>pvf smoke --json   # case &quot;adder: block 1000&quot;<\/code><\/pre><\/li>/);
  });

  it('every cell: verdict, reason if any, time in ms; the failure under it', () => {
    const row = (name: string) => html.split('\n').find((l) => l.includes(`data-candidate="${name}"`)) ?? '';
    assert.equal((row('unreachable').match(/<td class="cell" data-engine="[^"]+" title="[^"]*"><span class="verdict invalid">invalid<\/span><span class="reason">execution-error<\/span><span class="ms">[\d.]+ ms<\/span><\/td>/g) ?? []).length, 2);
    assert.equal((row('adder: genesis +7').match(/<td class="cell" data-engine="[^"]+"><span class="verdict valid">valid<\/span><span class="ms">[\d.]+ ms<\/span><\/td>/g) ?? []).length, 2);
    assert.equal((html.match(/<td class="cell failed" data-engine="[^"]+"><span class="verdict valid">valid<\/span><span class="ms">[\d.]+ ms<\/span><span class="failure">✗ expected invalid, got valid<\/span><\/td>/g) ?? []).length, 2);
  });

  it('a summary of the counts, the time it was made and the version', () => {
    for (const [k, v] of [['candidates', '4'], ['engines', '2'], ['divergences', '1'], ['failures', '3'], ['generated', '2026-01-02T03:04:05.000Z'], ['pvf', '9.9.9']]) {
      assert.ok(html.includes(`<div><dt>${k}</dt><dd>${v}</dd></div>`), k);
    }
    assert.match(html, /<p class="status fail">Fail: 1 divergences, 3 failures<\/p>/);
    assert.match(html, /<meta name="color-scheme" content="light dark">/);
  });

  it('a timing chart per engine: one bar per candidate, an axis labelled in ms', () => {
    const figures = html.split('<figure ').slice(1);
    assert.deepEqual(figures.map((f) => /^data-engine="([^"]+)"/.exec(f)?.[1]), [inProcessV8.id, 'test-divergent']);
    for (const f of figures) {
      assert.equal((f.match(/<rect class="bar( bad)?"/g) ?? []).length, 4);
      assert.equal((f.match(/<rect class="bar bad"/g) ?? []).length, 2, 'the divergent and the failing candidate');
      assert.match(f, /<text x="[\d.]+" y="[\d.]+" text-anchor="middle">0<\/text>/);
      assert.match(f, />ms<\/text><\/svg>/);
    }
  });

  it('escapes every report string and refers to nothing outside the page', () => {
    assert.doesNotMatch(html, /<script/i);
    assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quoted&quot;'));
    const refs = [...html.matchAll(/\s(?:src|href|xlink:href|action|srcset)\s*=\s*"([^"]*)"/gi)].map((m) => m[1]);
    assert.deepEqual(refs.filter((r) => /^\s*(?:[a-z][a-z0-9+.-]*:|\/\/)/i.test(r)), []);
    assert.doesNotMatch(html, /url\(|@import|https?:\/\//i);
    assert.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">/);
  });

  it('opens in chromium: no console error, no request but the file, the divergence first, the hostile name as text', async (t) => {
    if (SKIP_BROWSER) {
      t.skip(SKIP_BROWSER);
      return;
    }
    const visit = await visitFile(file, async (page) => ({
      rows: await attributeOfAll(page.locator('table.grid tbody tr'), 'data-candidate'),
      divergent: await page.locator('tr.divergent').getAttribute('data-candidate'),
      hostile: await page.locator('table.grid tbody tr').nth(1).locator('th').textContent(),
      scripts: await page.locator('script').count(),
      verdicts: await page.locator('tr.divergent td .verdict').allTextContents(),
      firstCellColour: await page.evaluate<string>(`getComputedStyle(document.querySelector('tr.divergent th')).backgroundColor`),
    }));
    assert.deepEqual(visit.problems, []);
    assert.deepEqual(visit.requests, [pathToFileURL(file).href]);
    assert.deepEqual(visit.result.rows, ['adder: block 1000', HOSTILE, 'adder: genesis +7', 'unreachable']);
    assert.equal(visit.result.divergent, 'adder: block 1000');
    assert.equal(visit.result.hostile, HOSTILE);
    assert.equal(visit.result.scripts, 0);
    assert.deepEqual(visit.result.verdicts, ['valid', 'valid']);
    assert.notEqual(visit.result.firstCellColour, 'rgba(0, 0, 0, 0)', 'the divergent row is highlighted');
  });

  it('at a phone’s width the page does not scroll sideways (the grid scrolls in its box)', async (t) => {
    if (SKIP_BROWSER) {
      t.skip(SKIP_BROWSER);
      return;
    }
    const visit = await visitFile(file, (page) => page.evaluate<[number, number]>('[document.documentElement.scrollWidth, window.innerWidth]'), { width: 360, height: 740 });
    assert.deepEqual(visit.problems, []);
    const [scrollWidth, innerWidth] = visit.result;
    assert.ok(scrollWidth <= innerWidth, `page is ${scrollWidth} px wide in a ${innerWidth} px window`);
  });
});

describe('--html on the command line', () => {
  it('conformance --html writes the page whole (no temporary file left); a missing folder is a one-line error before the run', async () => {
    const corpus = join(dir, 'corpus');
    const params = sampleParams();
    const pov = encodePovFile({ blockData: params.subarray(75, 91) }, { parentHead: params.subarray(2, 74), relayParentNumber: 1, relayParentStorageRoot: new Uint8Array(32), maxPovSize: 1000 });
    writeCandidateFolder(corpus, 'cand-<b>', { codeRef: 'adder.wasm', pov, expected: { verdict: 'valid' } }, 'replace');
    writeFileSync(join(corpus, 'adder.wasm'), await pvf('adder'));
    const out = join(dir, 'out');
    rmSync(out, { recursive: true, force: true });
    const missing = runCli(['conformance', '--corpus', corpus, '--html', join(out, 'r.html')]);
    assert.deepEqual([missing.code, missing.stdout, missing.stderr], [73, '', `pvf: --html ${join(out, 'r.html')}: no such folder ${out}\n`]);
    const smoke = runCli(['smoke', '--junit', join(out, 'r.xml'), '--html', join(dir, 'smoke.html')]);
    assert.deepEqual([smoke.code, smoke.stdout, smoke.stderr], [73, '', `pvf: --junit ${join(out, 'r.xml')}: no such folder ${out}\n`]);

    const page = join(dir, 'conformance.html');
    const r = runCli(['conformance', '--corpus', corpus, '--html', page, '--jobs', '1']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const text = readFileSync(page, 'utf8');
    assert.match(text, /^<!DOCTYPE html>\n[^]*<title>pvf conformance: pass<\/title>[^]*<\/html>\n$/);
    assert.deepEqual(rowNames(text), ['cand-&lt;b&gt;']);
    assert.deepEqual(readdirSync(dir).filter((n) => n.includes('.tmp')), []);
  });
});
