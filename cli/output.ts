/** Rendering verdicts as text or as the --json document (its fields are listed in the README). */
import { toHex } from '../core/primitives/hex.ts';
import type { ValidationReport } from '../core/candidate/validate.ts';
import type { ValidationResult } from '../core/candidate/codecs.ts';

export function resultJson(r: ValidationResult, raw: Uint8Array) {
  return {
    headData: toHex(r.headData),
    newValidationCode: r.newValidationCode ? toHex(r.newValidationCode) : null,
    upwardMessages: r.upwardMessages.map(toHex),
    horizontalMessages: r.horizontalMessages.map((m) => ({ recipient: m.recipient, data: toHex(m.data) })),
    processedDownwardMessages: r.processedDownwardMessages,
    hrmpWatermark: r.hrmpWatermark,
    raw: toHex(raw),
  };
}

export interface ReportContext {
  session?: number;
  executorParamsHash?: string;
  kind?: string;
  /** `validate --rpc`: what was read from the relay chain (see cli/fetch.ts chainJson). */
  chain?: Record<string, unknown>;
}

export function reportJson(rep: ValidationReport, ctx: ReportContext = {}): Record<string, unknown> {
  const v = rep.verdict;
  const doc: Record<string, unknown> = { verdict: v.verdict };
  if (v.verdict !== 'valid') {
    doc.reason = v.reason;
    doc.detail = v.detail;
  }
  doc.engine = rep.engine;
  if (ctx.session !== undefined) doc.session = ctx.session;
  if (ctx.executorParamsHash !== undefined) doc.executorParamsHash = ctx.executorParamsHash;
  if (ctx.kind !== undefined) doc.kind = ctx.kind;
  if (ctx.chain !== undefined) doc.chain = ctx.chain;
  if (v.verdict === 'valid') doc.result = resultJson(v.result, v.raw);
  doc.timings = rep.timings;
  doc.logs = rep.logs;
  if (rep.logsUnavailable) doc.logsUnavailable = rep.logsUnavailable;
  if (rep.byPolicy) doc.byPolicy = true;
  return doc;
}

function short(hex: string): string {
  return hex.length > 74 ? `${hex.slice(0, 34)}…${hex.slice(-32)}` : hex;
}

export function reportText(rep: ValidationReport, ctx: ReportContext = {}): string {
  const v = rep.verdict;
  const total = rep.timings.totalMs !== undefined ? `, ${rep.timings.totalMs.toFixed(1)} ms` : '';
  const where = `engine ${rep.engine}${ctx.session !== undefined ? `, session ${ctx.session}` : ''}${ctx.kind ? `, ${ctx.kind}` : ''}${total}`;
  if (v.verdict !== 'valid') return `${v.verdict}: ${v.reason}: ${v.detail}\n  ${where}\n${rep.logsUnavailable ? `  note: ${rep.logsUnavailable}\n` : ''}`;
  const r = v.result;
  const lines = [
    `valid (${where})`,
    `  head_data                    ${short(toHex(r.headData))} (${r.headData.length} bytes)`,
    `  new_validation_code          ${r.newValidationCode ? `${r.newValidationCode.length} bytes` : 'none'}`,
    `  upward_messages              ${r.upwardMessages.length}`,
    `  horizontal_messages          ${r.horizontalMessages.length}`,
    `  processed_downward_messages  ${r.processedDownwardMessages}`,
    `  hrmp_watermark               ${r.hrmpWatermark}`,
  ];
  return lines.join('\n') + '\n';
}
