/**
 * The HTML report of `pvf smoke` and `pvf conformance` (`--html FILE`): one self-contained page, no
 * script and no external resource (its Content-Security-Policy allows none), readable without
 * JavaScript. A summary, the divergences with their reproduction commands, the candidates × engines
 * grid (divergent candidates first, then those with a failure, then the rest) and a timing chart per
 * engine in inline SVG. Every string from the report is escaped: candidate names and engine reasons
 * are untrusted.
 */
import type { JobResult, MatrixReport } from '../core/corpus/conformance.ts';
import { esc } from './junit.ts';

export interface HtmlMeta {
  /** When the report was made (ISO 8601). */
  generatedAt: string;
  /** The pvf version that made it. */
  version?: string;
}

/** At most this many bars per engine chart: the slowest candidates. */
const CHART_BARS = 40;

const CSS = `
:root { --fg: #1b1f24; --muted: #57606a; --line: #d0d7de; --bg-alt: #f6f8fa; --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700; --div: #fff1c2; --fail-bg: #ffebe9; --bar: #5b8def; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6edf3; --muted: #9198a1; --line: #3d444d; --bg-alt: #151b23; --ok: #3fb950; --bad: #f85149; --warn: #d29922; --div: #3b2e00; --fail-bg: #3c1618; --bar: #4c8ee8; }
}
body { font: 14px/1.45 system-ui, sans-serif; color: var(--fg); margin: 0 auto; padding: 1rem; max-width: 90rem; }
h1 { font-size: 1.4rem; margin: 0 0 .4rem; } h2 { font-size: 1.15rem; margin: 1.6rem 0 .6rem; }
.status { font-weight: 600; } .status.pass { color: var(--ok); } .status.fail { color: var(--bad); }
.summary { display: flex; flex-wrap: wrap; gap: .3rem 1.6rem; margin: .6rem 0; }
.summary div { display: flex; gap: .4rem; } .summary dt { color: var(--muted); } .summary dd { margin: 0; font-weight: 600; }
code, pre { font: 12.5px/1.4 ui-monospace, monospace; }
pre { background: var(--bg-alt); border: 1px solid var(--line); padding: .5rem; margin: .3rem 0 0; white-space: pre-wrap; overflow-wrap: anywhere; user-select: all; }
.divergences li { margin-bottom: .8rem; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; }
th, td { border: 1px solid var(--line); padding: .3rem .5rem; vertical-align: top; text-align: left; }
thead th { background: var(--bg-alt); position: sticky; top: 0; }
tbody th { font-weight: 500; overflow-wrap: anywhere; min-width: 10rem; max-width: 24rem; }
tr.divergent > * { background: var(--div); }
.tag { font-size: 11px; font-weight: 600; text-transform: uppercase; color: var(--warn); margin-left: .4rem; }
.what { display: block; font-size: 12px; color: var(--muted); }
td.cell span { display: block; }
.verdict { font-weight: 600; }
.verdict.valid { color: var(--ok); } .verdict.invalid { color: var(--bad); } .verdict.abstain { color: var(--warn); }
.reason { font-size: 12.5px; } .ms { font-size: 12px; color: var(--muted); }
td.failed { background: var(--fail-bg); } .failure { font-size: 12px; color: var(--bad); overflow-wrap: anywhere; max-width: 22rem; }
#charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 34rem), 1fr)); gap: 0 2rem; }
figure { margin: 0 0 1.4rem; } figcaption { font-weight: 600; margin-bottom: .3rem; } figcaption span { font-weight: 400; color: var(--muted); }
figure { overflow-x: auto; } svg { width: 100%; min-width: 600px; max-width: 760px; height: auto; display: block; }
svg text { fill: var(--fg); font: 11px system-ui, sans-serif; } svg .axis { stroke: var(--line); } svg .bar { fill: var(--bar); } svg .bar.bad { fill: var(--bad); }
@media (max-width: 600px) { body { padding: .5rem; } th, td { padding: .2rem .3rem; } tbody th { min-width: 6rem; } }
`;

const fmtMs = (ms: number) => `${Number(ms.toFixed(1))} ms`;

/** `s` cut to `n` code points in the middle (corpus names differ at their ends). */
function clip(s: string, n: number): string {
  const cs = Array.from(s);
  const head = Math.floor((n - 1) / 2);
  return cs.length <= n ? s : `${cs.slice(0, head).join('')}…${cs.slice(cs.length - (n - 1 - head)).join('')}`;
}

/** Round tick spacing (1, 2 or 5 × 10^k) giving about `count` ticks up to `max`. */
function tickStep(max: number, count: number): number {
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  return ([1, 2, 5, 10].find((m) => m * mag >= raw) ?? 10) * mag;
}

/** Horizontal bars, one per candidate (the slowest first), on an ms axis shared by every engine. */
function timingChart(engine: string, rows: JobResult[], axisMax: number, step: number, bad: (r: JobResult) => boolean): string {
  const shown = [...rows].sort((a, b) => b.ms - a.ms).slice(0, CHART_BARS);
  const [width, label, right, top, rowH] = [760, 230, 70, 6, 18];
  const plot = width - label - right;
  const height = top + shown.length * rowH + 34;
  const x = (ms: number) => label + (ms / axisMax) * plot;
  const parts: string[] = [];
  shown.forEach((r, k) => {
    const y = top + k * rowH;
    const tip = `<title>${esc(`${r.candidate}: ${fmtMs(r.ms)}`)}</title>`;
    parts.push(
      `<g>${tip}<text x="${label - 6}" y="${y + 13}" text-anchor="end">${esc(clip(r.candidate, 34))}</text>` +
        `<rect class="bar${bad(r) ? ' bad' : ''}" x="${label}" y="${y + 3}" width="${(x(r.ms) - label).toFixed(1)}" height="${rowH - 6}"/>` +
        `<text x="${(x(r.ms) + 4).toFixed(1)}" y="${y + 13}">${esc(fmtMs(r.ms))}</text></g>`,
    );
  });
  const axisY = top + shown.length * rowH + 2;
  parts.push(`<line class="axis" x1="${label}" y1="${top}" x2="${label}" y2="${axisY}"/><line class="axis" x1="${label}" y1="${axisY}" x2="${label + plot}" y2="${axisY}"/>`);
  for (let t = 0; t <= axisMax + step / 2; t += step) {
    const tx = x(t).toFixed(1);
    parts.push(`<line class="axis" x1="${tx}" y1="${axisY}" x2="${tx}" y2="${axisY + 4}"/><text x="${tx}" y="${axisY + 16}" text-anchor="middle">${Number(t.toPrecision(6))}</text>`);
  }
  parts.push(`<text x="${label + plot}" y="${axisY + 30}" text-anchor="end">ms</text>`);
  const total = rows.reduce((a, r) => a + r.ms, 0);
  const note = rows.length > shown.length ? `, the ${shown.length} slowest of ${rows.length} shown` : '';
  return (
    `<figure data-engine="${esc(engine)}"><figcaption>${esc(engine)} <span>total ${esc(fmtMs(total))}, slowest ${esc(fmtMs(shown[0]?.ms ?? 0))}${note}</span></figcaption>` +
    `<svg viewBox="0 0 ${width} ${height}" role="img" aria-label="${esc(`time per candidate on ${engine}, in ms`)}">${parts.join('')}</svg></figure>`
  );
}

export function htmlReport(title: string, report: MatrixReport, meta: HtmlMeta): string {
  const byCandidate = new Map<string, JobResult[]>();
  for (const r of report.results) {
    const list = byCandidate.get(r.candidate);
    if (list) list.push(r);
    else byCandidate.set(r.candidate, [r]);
  }
  const divergence = new Map(report.divergences.map((d) => [d.candidate, d]));
  const failures = report.results.filter((r) => r.failure);
  const rank = (name: string) => (divergence.has(name) ? 0 : byCandidate.get(name)!.some((r) => r.failure) ? 1 : 2);
  const names = [...byCandidate.keys()].map((n, k) => ({ n, k })).sort((a, b) => rank(a.n) - rank(b.n) || a.k - b.k).map((x) => x.n);
  const pass = report.divergences.length === 0 && failures.length === 0;

  const summary: Array<[string, string]> = [
    ['candidates', String(report.candidates)],
    ['engines', String(report.engines.length)],
    ['divergences', String(report.divergences.length)],
    ['failures', String(failures.length)],
    ['generated', meta.generatedAt],
    ...(meta.version ? [['pvf', meta.version] as [string, string]] : []),
  ];

  const rows = names.map((name) => {
    const d = divergence.get(name);
    const cells = report.engines.map((engine) => {
      const r = byCandidate.get(name)!.find((x) => x.engine === engine)!;
      const detail = r.detail ? ` title="${esc(clip(r.detail, 500))}"` : '';
      return (
        `<td class="cell${r.failure ? ' failed' : ''}" data-engine="${esc(engine)}"${detail}><span class="verdict ${esc(r.verdict)}">${esc(r.verdict)}</span>` +
        `${r.reason ? `<span class="reason">${esc(r.reason)}</span>` : ''}<span class="ms">${esc(fmtMs(r.ms))}</span>` +
        `${r.failure ? `<span class="failure">✗ ${esc(r.failure)}</span>` : ''}</td>`
      );
    });
    const head = `${esc(name)}${d ? `<span class="tag">diverges</span><span class="what">${esc(d.what)}</span>` : ''}`;
    return `<tr${d ? ' class="divergent"' : ''} data-candidate="${esc(name)}"><th scope="row">${head}</th>${cells.join('')}</tr>`;
  });

  const divergences = report.divergences.length
    ? `<ol class="divergences">${report.divergences
        .map((d) => `<li><strong>${esc(d.candidate)}</strong>: ${esc(d.what)}<pre><code>${esc(d.repro)}</code></pre></li>`)
        .join('')}</ol>`
    : '<p>None: every engine gave the same verdict, reason and result bytes.</p>';

  const axisTop = report.results.reduce((m, r) => Math.max(m, r.ms), 0) || 1;
  const step = tickStep(axisTop, 5);
  const axisMax = Math.ceil(axisTop / step) * step;
  const bad = (r: JobResult) => Boolean(r.failure) || divergence.has(r.candidate);
  const charts = report.engines.map((e) => timingChart(e, report.results.filter((r) => r.engine === e), axisMax, step, bad));

  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>${esc(title)}: ${pass ? 'pass' : 'FAIL'}</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>${esc(title)}</h1>
<p class="status ${pass ? 'pass' : 'fail'}">${pass ? 'Pass: no divergence, every expectation met' : `Fail: ${report.divergences.length} divergences, ${failures.length} failures`}</p>
<dl class="summary">${summary.map(([k, v]) => `<div><dt>${k}</dt><dd>${esc(v)}</dd></div>`).join('')}</dl>
</header>
<main>
<section id="divergences"><h2>Divergences</h2>${divergences}</section>
<section id="grid"><h2>Verdicts</h2>
<div class="scroll"><table class="grid">
<thead><tr><th scope="col">candidate</th>${report.engines.map((e) => `<th scope="col" data-engine="${esc(e)}">${esc(e)}</th>`).join('')}</tr></thead>
<tbody>
${rows.join('\n')}
</tbody></table></div></section>
<section id="timing"><h2>Time per candidate</h2><p>Wall-clock ms of each candidate’s validation in this run, on one scale for every engine; red: a divergence or a failure.</p>
<div id="charts">${charts.join('\n')}</div></section>
</main>
</body>
</html>
`;
}
