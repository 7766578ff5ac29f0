/** `pvf validate`: parse the inputs, run the candidate on an engine, print the verdict. */
import type { Command } from 'commander';
import { validateCandidate, type CandidateInput, type Engine, type ValidationReport } from '../core/candidate/validate.ts';
import { exitCodeOf, HostFault, type AbstainReason, type Verdict } from '../core/candidate/verdict.ts';
import { encodePersistedValidationData } from '../core/candidate/codecs.ts';
import { toHex } from '../core/primitives/hex.ts';
import { blake2_256 } from '../core/primitives/hashing.ts';
import { PolicyError, resolvePolicy as resolveInCore, type Policy } from '../core/session/policy.ts';
import { resolveSession } from '../core/session/schedule.ts';
import { ChainError } from '../chain/errors.ts';
import type { ChainView } from '../chain/relay.ts';
import { chainRequest, readFromChain } from './chain.ts';
import { chainJson } from './fetch.ts';
import { sampleParams } from '../core/candidate/sample.ts';
import { loadRegistry, type Registry } from '../engines/registry.ts';
import { cacheRoot, secureDir } from '../engines/store/store.ts';
import type { PreparedCache } from '../core/prepare/prepared-cache.ts';
import { recordCandidate } from '../core/corpus/record.ts';
import { spinnerFactory } from './spinner.ts';
import { loadSchedule, parseKind, resolvePolicy } from './policy.ts';
import { usageError } from './errors.ts';
import { VERSION } from './version.ts';
import { readCode, readParams, readPov, readPovAndPvd, readPovFile } from './inputs.ts';
import { reportJson, reportText, type ReportContext } from './output.ts';
import { sampleCode } from './sample.ts';
import { checkTraceTarget, traceHeader, writeTrace } from './trace.ts';
import { warnIfUnconfined } from './doctor.ts';

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
  rpc?: string;
  para?: string;
  at?: string;
  rpcTimeout?: string;
  trace?: string;
  requireSandbox?: boolean;
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

/** Run the candidate on the policy's engine, print the verdict, record it if asked; the exit code. */
async function judge(o: ValidateOptions, policy: Policy, input: CandidateInput, context: ReportContext): Promise<number> {
  // A registry that cannot be read (the binary itself, under EMFILE or EIO) is a verdict:
  // abstain, like any other fault of this machine.
  let reg: Registry | undefined;
  let engine: Engine | Verdict;
  try {
    reg = loadRegistry({ onExtract: spinnerFactory(o.json), allowRevoked: o.allowRevoked, requireSandbox: o.requireSandbox });
    engine = engineFor(reg, policy.engineId);
    warnIfUnconfined(reg, o.requireSandbox);
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
      : await validateCandidate(input, engine, { onLog, limits: policy.limits, prepHash: policy.prepHash, preparedCache: reg && preparedCacheFor(reg), trace: o.trace !== undefined });
  printReport(o, report, context);
  if (o.trace !== undefined) {
    // Like --record: the verdict stands whatever happens to the trace; a failed write is reported.
    try {
      writeTrace(o.trace, traceHeader('verdict' in engine ? undefined : engine, input, context), report);
    } catch (e) {
      process.stderr.write(`pvf: --trace ${o.trace}: not written: ${(e as Error).message}\n`);
    }
  }
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
  return exitCodeOf(report.verdict);
}

function printReport(o: ValidateOptions, report: ValidationReport, context: ReportContext): void {
  process.stdout.write(o.json ? JSON.stringify(reportJson(report, context)) + '\n' : reportText(report, context));
}

/** A verdict reached without running anything (the chain could not be read): printed, its exit code. */
function abstainBefore(o: ValidateOptions, reason: AbstainReason, detail: string, context: ReportContext): number {
  const verdict: Verdict = { verdict: 'abstain', reason, detail };
  printReport(o, { verdict, engine: '', logs: [], timings: {} }, context);
  return exitCodeOf(verdict);
}

/**
 * `validate --rpc URL --para ID [--at HASH] (--pov FILE | --pov-file FILE)`: the code, the PVD, the
 * session and its ExecutorParams come from the relay chain at the relay parent; the engine is the
 * one the schedule names for that session (or --engine). The chain's ExecutorParams win over the
 * schedule's; `--json` says which were used and whether they differ. Whatever keeps us from
 * reading the chain is `abstain` (we could not judge), never `invalid`. A --pov-file whose PVD is
 * not the chain's at that relay parent was built on another relay parent: abstain too (a PoV judged
 * against the wrong PVD would fail for a reason that is not the candidate's).
 */
async function validateFromChain(o: ValidateOptions): Promise<number> {
  if (o.code !== undefined || o.params !== undefined || o.pvd !== undefined || o.sample) throw usageError('--rpc reads the code and the PVD from the chain: give --pov FILE or --pov-file FILE, not --code, --params, --pvd or --sample');
  if (o.session !== undefined || o.executorParams !== undefined) throw usageError('--rpc reads the session and its executor params from the chain: drop --session and --executor-params');
  if ((o.pov === undefined) === (o.povFile === undefined)) throw usageError('--rpc needs the PoV: give --pov FILE (SCALE PoV) or --pov-file FILE');
  const req = chainRequest(o);
  const kind = parseKind(o.kind);
  const schedule = loadSchedule(o.schedule);
  // The PoV file is read first: a file that cannot be read is the user's mistake, not the chain's.
  const fromFile = o.povFile !== undefined ? readPovFile(o.povFile) : undefined;
  const base: ReportContext = { kind };
  let view: ChainView;
  try {
    view = await readFromChain(req);
  } catch (e) {
    if (e instanceof ChainError) return abstainBefore(o, 'chain-unavailable', e.message, base);
    throw e;
  }
  const chain: Record<string, unknown> = { ...chainJson(view) };
  const context: ReportContext = { ...base, session: view.session, executorParamsHash: chain.executorParamsHash as string, chain };
  let policy: Policy;
  try {
    policy = resolveInCore({ session: view.session, schedule, engine: o.engine, executorParamsHex: toHex(view.executorParamsRaw), kind });
  } catch (e) {
    if (!(e instanceof PolicyError)) throw e;
    if (e.input === 'session') return abstainBefore(o, 'engine-unavailable', `session ${view.session} (from the chain): ${e.message}`, context);
    return abstainBefore(o, 'chain-unavailable', `the chain's executor params for session ${view.session}: ${e.message}`, context);
  }
  const scheduled = resolveSession(schedule, view.session);
  chain.scheduleExecutorParamsHash = scheduled.executorParamsHash;
  chain.executorParamsDifferFromSchedule = scheduled.executorParamsHash !== policy.executorParamsHash;
  if (chain.executorParamsDifferFromSchedule && !o.json) {
    process.stderr.write(`pvf: session ${view.session}: the chain's executor params (${policy.executorParamsHash}) differ from the schedule's (${scheduled.executorParamsHash}); the chain's are used\n`);
  }
  let input: CandidateInput;
  if (fromFile) {
    const filePvd = encodePersistedValidationData(fromFile.pvd);
    if (!Buffer.from(filePvd).equals(view.pvdRaw)) {
      const f = fromFile.pvd;
      const c = view.pvd;
      const differ = [
        f.relayParentNumber !== c.relayParentNumber && `relay_parent_number ${f.relayParentNumber} vs the chain's ${c.relayParentNumber}`,
        !Buffer.from(f.relayParentStorageRoot).equals(c.relayParentStorageRoot) && `relay_parent_storage_root ${toHex(f.relayParentStorageRoot)} vs ${toHex(c.relayParentStorageRoot)}`,
        !Buffer.from(f.parentHead).equals(c.parentHead) && `parent_head ${toHex(blake2_256(f.parentHead))} vs ${toHex(blake2_256(c.parentHead))} (hashes)`,
        f.maxPovSize !== c.maxPovSize && `max_pov_size ${f.maxPovSize} vs ${c.maxPovSize}`,
      ].filter(Boolean);
      return abstainBefore(
        o,
        'pvd-mismatch',
        `--pov-file ${o.povFile}: its PVD is not the chain's at relay block #${view.relayParent.number} ${view.relayParent.hash}: ${differ.join('; ')}; give --at the candidate's relay parent`,
        context,
      );
    }
    input = fromFile.pov.kind === 'pov' ? { kind: 'pov', code: view.code, pov: fromFile.pov.pov, pvd: view.pvd } : { kind: 'pov-oversize', code: view.code, encodedPovSize: fromFile.pov.encodedSize, pvd: view.pvd };
  } else {
    const pov = readPov(o.pov!, view.pvd);
    input = pov.kind === 'pov' ? { kind: 'pov', code: view.code, pov: pov.pov, pvd: view.pvd } : { kind: 'pov-oversize', code: view.code, encodedPovSize: pov.encodedSize, pvd: view.pvd };
  }
  return judge(o, policy, input, context);
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
    .option('--rpc <url>', 'read the code, PVD, session and executor params from this relay chain node (with --para; the PoV from --pov or --pov-file)')
    .option('--para <id>', 'with --rpc: the parachain id')
    .option('--at <hash>', 'with --rpc: the relay parent block hash (default: the best block)')
    .option('--rpc-timeout <ms>', 'with --rpc: per call and per connection attempt (default 30000)')
    .option('--require-sandbox', 'abstain (sandbox-unavailable) when a worker sandbox layer is missing here, instead of a warning (pvf doctor)')
    .option('--trace <file>', 'write a trace of the execution (JSON lines: host calls, allocations, memory, stack depth, logs; README, Traces)')
    .option('--sample', 'validate the built-in sample candidate (the adder PVF, block 1)')
    .option('--json', 'print the verdict as JSON')
    .option('-v, --verbose', 'print the PVF\'s log lines to stderr as they happen')
    .action(async (o: ValidateOptions) => {
      if (o.trace !== undefined) checkTraceTarget(o.trace);
      if (o.rpc !== undefined || o.para !== undefined || o.at !== undefined || o.rpcTimeout !== undefined) {
        setExit(await validateFromChain(o));
        return;
      }
      const policy = resolvePolicy(o);
      const input = await buildInput(o);
      if (o.record && input.kind === 'params') throw usageError('--record needs the candidate as a PoV (--pov-file, or --pov with --pvd)');
      setExit(await judge(o, policy, input, { session: policy.session, executorParamsHash: policy.executorParamsHash, kind: policy.kind }));
    });
}
