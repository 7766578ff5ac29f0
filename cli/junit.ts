/** JUnit XML (the common testsuites/testsuite/testcase/failure shape CI systems read). */
import type { MatrixReport } from '../core/corpus/conformance.ts';

/** Text for XML or HTML, in element content or a double-quoted attribute; control characters dropped. */
export const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '');

export function junitXml(title: string, report: MatrixReport): string {
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>'];
  const failures = (engine?: string) =>
    report.results.filter((r) => (engine === undefined || r.engine === engine) && (r.failure || report.divergences.some((d) => d.candidate === r.candidate))).length;
  const seconds = (ms: number) => (ms / 1000).toFixed(3);
  const total = report.results.reduce((a, r) => a + r.ms, 0);
  lines.push(`<testsuites name="${esc(title)}" tests="${report.results.length}" failures="${failures()}" errors="0" time="${seconds(total)}">`);
  for (const engine of report.engines) {
    const rows = report.results.filter((r) => r.engine === engine);
    lines.push(`  <testsuite name="${esc(engine)}" tests="${rows.length}" failures="${failures(engine)}" errors="0" skipped="0" time="${seconds(rows.reduce((a, r) => a + r.ms, 0))}">`);
    for (const r of rows) {
      const div = report.divergences.find((d) => d.candidate === r.candidate);
      const problem = r.failure ?? (div ? `engines diverge: ${div.what}` : undefined);
      lines.push(`    <testcase classname="${esc(engine)}" name="${esc(r.candidate)}" time="${seconds(r.ms)}"${problem ? '>' : '/>'}`);
      if (problem) {
        lines.push(`      <failure message="${esc(problem)}" type="${div && !r.failure ? 'divergence' : 'verdict'}">${esc(`${r.verdict}${r.reason ? ` ${r.reason}: ${r.detail ?? ''}` : ''}${div ? `\nrepro: ${div.repro}` : ''}`)}</failure>`);
        lines.push('    </testcase>');
      }
    }
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>');
  return lines.join('\n') + '\n';
}
