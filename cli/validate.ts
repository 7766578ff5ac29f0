/** `pvf validate`: parse the inputs, run the candidate on an engine, print the verdict. */
import type { Command } from 'commander';
import { validateCandidate, type CandidateInput, type Engine } from '../core/candidate/validate.ts';
import { exitCodeOf, HostFault, type Verdict } from '../core/candidate/verdict.ts';
import { sampleParams } from '../core/candidate/sample.ts';
import { loadRegistry, type Registry } from '../engines/registry.ts';
import { cacheRoot, secureDir } from '../engines/store/store.ts';
import type { PreparedCache } from '../core/prepare/prepared-cache.ts';
import { recordCandidate } from '../core/corpus/record.ts';
import { spinnerFactory } from './spinner.ts';
import { resolvePolicy } from './policy.ts';
import { usageError } from './errors.ts';
import { VERSION } from './version.ts';
import { readCode, readParams, readPovAndPvd, readPovFile } from './inputs.ts';
import { reportJson, reportText } from './output.ts';
import { sampleCode } from './sample.ts';

interface ValidateOptions {
  code?: string;
  params?: string;
  povFile?: string;
  pov?: string;
  pvd?: string;
  engine?: string;
  session?: string;
  schedule?: string;
  executorParams?: string;
  kind?: string;
  allowRevoked?: boolean;
  record?: string;
  sample?: boolean;
  json?: boolean;
  verbose?: boolean;
}

async function buildInput(o: ValidateOptions): Promise<CandidateInput> {
  const forms = [o.params !== undefined, o.povFile !== undefined, o.pov !== undefined || o.pvd !== undefined].filter(Boolean).length;
  if (o.sample) {
    if (o.code || forms > 0) throw usageError('--sample takes no --code, --params, --pov-file, --pov or --pvd');
    return { kind: 'params', code: await sampleCode(), params: sampleParams() };
  }
  if (!o.code) throw usageError('missing --code FILE (or use --sample for the built-in sample)');
  if (forms === 0) throw usageError('missing the candidate: give --params HEX|@FILE, --pov-file FILE, or --pov FILE --pvd FILE|HEX');
  if (forms > 1) throw usageError('give only one of --params, --pov-file, or --pov with --pvd');
  if ((o.pov === undefined) !== (o.pvd === undefined)) throw usageError('--pov and --pvd go together');
  const code = readCode(o.code);
  if (o.params !== undefined) return { kind: 'params', code, params: readParams(o.params) };
  const { pov, pvd } = o.povFile !== undefined ? readPovFile(o.povFile) : readPovAndPvd(o.pov!, o.pvd!);
  return pov.kind === 'pov' ? { kind: 'pov', code, pov: pov.pov, pvd } : { kind: 'pov-oversize', code, encodedPovSize: pov.encodedSize, pvd };
}

function engineFor(reg: Registry, id: string | undefined): Engine | Verdict {
  if (id === undefined) return reg.defaultEngine;
  const found = reg.find(id);
  if (found) return found;
  return {
    verdict: 'abstain',
    reason: 'engine-unavailable',
    detail: `engine ${id} is not carried by this binary (pvf ${VERSION}; it carries: ${reg.engines.map((e) => e.id).join(', ')})`,
  };
}

/** Prepared artifacts are cached beside the engines, by the binary only (not from source). */
export function preparedCacheFor(reg: Registry): PreparedCache | undefined {
  if (!reg.store) return undefined;
  try {
    secureDir(cacheRoot());
    return { root: cacheRoot() };
  } catch {
    return undefined;
  }
}

export function registerValidate(program: Command, setExit: (code: number) => void): void {
  program
    .command('validate')
    .description('execute a candidate\'s validate_block and print the verdict (exit 0 valid, 1 invalid, 2 abstain)')
    .option('--code <file>', 'the PVF: plain Wasm or a zstd-compressed code blob')
    .option('--params <hex|@file>', 'raw SCALE ValidationParams, as hex or @file')
    .option('--pov-file <file>', "a collator's --export-pov-to-path file: SCALE(PoV) ‖ SCALE(PersistedValidationData)")
    .option('--pov <file>', 'SCALE(PoV) file (with --pvd)')
    .option('--pvd <file|hex>', 'SCALE(PersistedValidationData) as a file or hex (with --pov)')
    .option('--session <n>', 'judge as in session N: engine and executor params from the schedule')
    .option('--schedule <file>', 'schedule file (JSON, version 1) for --session (default: $PVF_SCHEDULE, else the embedded one)')
    .option('--engine <id>', 'run on this engine (overrides the schedule; forensics)')
    .option('--executor-params <hex>', 'SCALE ExecutorParams (overrides the schedule; forensics)')
    .option('--kind <kind>', 'backing (2 s default timeout) or approval (12 s)', 'backing')
    .option('--allow-revoked', 'run on a revoked engine anyway (forensics only)')
    .option('--record <dir>', 'append the candidate and its verdict to a corpus (needs --pov-file or --pov/--pvd)')
    .option('--sample', 'validate the built-in sample candidate (the adder PVF, block 1)')
    .option('--json', 'print the verdict as JSON')
    .option('-v, --verbose', 'print the PVF\'s log lines to stderr as they happen')
    .action(async (o: ValidateOptions) => {
      const policy = resolvePolicy(o);
      const input = await buildInput(o);
      if (o.record && input.kind === 'params') throw usageError('--record needs the candidate as a PoV (--pov-file, or --pov with --pvd)');
      // A registry that cannot be read (the binary itself, under EMFILE or EIO) is a verdict:
      // abstain, like any other fault of this machine.
      let reg: Registry | undefined;
      let engine: Engine | Verdict;
      try {
        reg = loadRegistry({ onExtract: spinnerFactory(o.json), allowRevoked: o.allowRevoked });
        engine = engineFor(reg, policy.engineId);
      } catch (e) {
        if (!(e instanceof HostFault)) throw e;
        engine = { verdict: 'abstain', reason: e.reason, detail: e.detail };
      }
      const onLog = o.verbose
        ? (l: { level: string; target: string; message: string }) => process.stderr.write(`[${l.level} ${l.target}] ${l.message}\n`)
        : undefined;
      const report =
        'verdict' in engine
          ? { verdict: engine, engine: policy.engineId ?? '', logs: [], timings: {} }
          : await validateCandidate(input, engine, { onLog, limits: policy.limits, prepHash: policy.prepHash, preparedCache: reg && preparedCacheFor(reg) });
      const context = { session: policy.session, executorParamsHash: policy.executorParamsHash, kind: policy.kind };
      process.stdout.write(o.json ? JSON.stringify(reportJson(report, context)) + '\n' : reportText(report, context));
      if (o.record && input.kind === 'pov-oversize') {
        process.stderr.write(`pvf: --record ${o.record}: not recorded: the PoV is over max_pov_size and was not read\n`);
      }
      if (o.record && report.verdict.verdict !== 'abstain' && input.kind === 'pov') {
        // The verdict stands whatever happens to the corpus; a failed record is reported, not fatal.
        try {
          recordCandidate(o.record, input.code, input.pov, input.pvd, report.verdict, report.engine);
        } catch (e) {
          process.stderr.write(`pvf: --record ${o.record}: not recorded: ${(e as Error).message}\n`);
        }
      }
      setExit(exitCodeOf(report.verdict));
    });
}
