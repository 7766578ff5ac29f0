/** `pvf precheck --code FILE [--session N | --engine ID]`: would validators accept this code? */
import type { Command } from 'commander';
import { precheckingMaxMemory, prepTimeout } from '../core/session/executor-params.ts';
import { precheck } from '../core/candidate/precheck.ts';
import { EXIT, HostFault } from '../core/candidate/verdict.ts';
import { loadRegistry, type Registry } from '../engines/registry.ts';
import { readCode } from './inputs.ts';
import { resolvePolicy } from './policy.ts';
import { usageError } from './errors.ts';
import { VERSION } from './version.ts';
import { preparedCacheFor } from './validate.ts';
import { warnIfUnconfined } from './doctor.ts';

export function registerPrecheck(program: Command, setExit: (code: number) => void): void {
  program
    .command('precheck')
    .description('prepare a PVF as validation does and compile it in the session\'s engine, as pre-checking does (exit 0 accept, 1 reject, 2 abstain)')
    .option('--code <file>', 'the PVF: plain Wasm or a zstd-compressed code blob')
    .option('--session <n>', 'the session whose engine and executor params apply')
    .option('--schedule <file>', 'schedule file for --session')
    .option('--engine <id>', 'the engine (must be active)')
    .option('--executor-params <hex>', 'SCALE ExecutorParams (forensics)')
    .option('--require-sandbox', 'abstain (sandbox-unavailable) when a worker sandbox layer is missing here (pvf doctor)')
    .option('--json', 'print JSON')
    .action(async (o: { code?: string; session?: string; schedule?: string; engine?: string; executorParams?: string; json?: boolean; requireSandbox?: boolean }) => {
      if (!o.code) throw usageError('missing --code FILE');
      const policy = resolvePolicy(o);
      const maxMemory = precheckingMaxMemory(policy.params);
      const code = readCode(o.code);
      let reg: Registry | undefined;
      let unreadable: HostFault | undefined;
      try {
        reg = loadRegistry({ requireSandbox: o.requireSandbox });
        warnIfUnconfined(reg, o.requireSandbox);
      } catch (e) {
        // The binary's own engine sections cannot be read (EMFILE, EIO): abstain, not a crash.
        if (!(e instanceof HostFault)) throw e;
        unreadable = e;
      }
      const engine = reg && (policy.engineId === undefined ? reg.defaultEngine : reg.find(policy.engineId));
      const entry = reg?.store?.engine(engine?.id ?? '');
      let report;
      if (unreadable) {
        report = { verdict: 'abstain' as const, reason: unreadable.reason, detail: unreadable.detail, timings: {} };
      } else if (!engine) {
        report = { verdict: 'abstain' as const, reason: 'engine-unavailable', detail: `engine ${policy.engineId} is not carried by this binary (pvf ${VERSION})`, timings: {} };
      } else if (entry && entry.status !== 'active') {
        report = { verdict: 'abstain' as const, reason: entry.status === 'revoked' ? 'engine-revoked' : 'engine-unavailable', detail: `engine ${entry.id} is ${entry.status}: pre-checking needs an active engine${entry.advisory ? ` (${entry.advisory})` : ''}`, timings: {} };
      } else {
        report = await precheck(code, engine, {
          limits: { maxPages: policy.limits.maxPages, stackLogicalMax: policy.limits.stackLogicalMax, bulkMemory: policy.limits.bulkMemory },
          timeoutMs: Number(prepTimeout(policy.params, 'precheck')),
          maxMemoryBytes: maxMemory === undefined ? undefined : Number(maxMemory),
          prepHash: policy.prepHash,
          cache: reg && preparedCacheFor(reg),
        });
      }
      const doc = { ...report, engine: engine?.id ?? policy.engineId, session: policy.session, executorParamsHash: policy.executorParamsHash };
      if (o.json) process.stdout.write(JSON.stringify(doc) + '\n');
      else process.stdout.write(report.verdict === 'valid' ? `accepted (engine ${doc.engine})\n` : `${report.verdict === 'invalid' ? 'rejected' : 'abstain'}: ${report.reason}: ${report.detail}\n`);
      setExit(EXIT[report.verdict]);
    });
}
