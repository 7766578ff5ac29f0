/**
 * Worker-engine policy with scripted workers (no build needed): revoked engines, the retry rule,
 * the death classification, the start-up deadline and the job-relative wall clock, spawn failures,
 * and timers for large timeouts. Semantics from polkadot-sdk, cited per test.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { classifyDeath, closeWorkers, workerEngine, type WorkerEngineOptions } from '../engines/worker-engine.ts';
import type { EngineEntry } from '../engines/store/manifest.ts';
import type { EngineStore } from '../engines/store/store.ts';
import { validateCandidate, DEFAULT_LIMITS, type ValidationReport } from '../core/candidate/validate.ts';
import { pvf } from './support/pvfs.ts';
import { sampleParams } from '../core/candidate/sample.ts';

// These tests script the worker itself (a node script that counts its runs in a file beside it, on
// this machine's node): they are about the fault rules, not the sandbox, which would deny the
// script its file writes and its node. The sandbox and deaths through it: tests/sandbox.test.ts.
process.env.PVF_SANDBOX = 'off';

let dir = '';
function entry(status: EngineEntry['status'], advisory?: string, command: string[] = ['node', 'worker.cjs']): EngineEntry {
  return {
    id: 'test-engine',
    family: 'v8',
    vmVersion: 'test',
    status,
    ...(advisory ? { advisory } : {}),
    section: '.pvf.test-engine',
    sha256: '',
    size: 0,
    compressedSha256: '',
    compressedSize: 0,
    files: [],
    command,
  };
}
const fakeStore = { ensureExtracted: async () => dir, engine: () => undefined } as unknown as EngineStore;

/** What the scripted worker does on its n-th run (n from 0). */
interface Script {
  /** Busy-wait this long before reading the request (a slow process start). */
  startDelayMs?: number;
  /** Write the "started" line (default true). */
  started?: boolean;
  /** Per run: die after "started" by exit code 3 ('exit'), or by sending itself this signal. */
  deaths?: Array<string | null>;
  /** Answer this long after "started". */
  answerDelayMs?: number;
  /** Answer this instead of the fixed good result. */
  answer?: object;
}

/**
 * A worker that follows `script`: it speaks the protocol (engines/protocol.ts) and answers a fixed
 * well-formed result (12 zero bytes: an empty ValidationResult) unless told to die.
 */
function scriptWorker(script: Script): void {
  writeFileSync(join(dir, 'script.json'), JSON.stringify(script));
  writeFileSync(
    join(dir, 'worker.cjs'),
    `const fs = require('fs'), path = require('path');
     const cfg = JSON.parse(fs.readFileSync(path.join(__dirname, 'script.json'), 'utf8'));
     const p = path.join(__dirname, 'count');
     const n = fs.existsSync(p) ? Number(fs.readFileSync(p, 'utf8')) : 0;
     fs.writeFileSync(p, String(n + 1));
     if (cfg.startDelayMs) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, cfg.startDelayMs);
     const job = () => {
       if (cfg.started !== false) fs.writeSync(1, '{"started":true}\\n');
       const death = (cfg.deaths || [])[n];
       if (death === 'exit') process.exit(3);
       if (death) { process.kill(process.pid, death); return; }
       setTimeout(() => process.stdout.write(JSON.stringify(cfg.answer || { ok: true, raw: '000000000000000000000000', logs: [], timings: {} }) + '\\n'), cfg.answerDelayMs || 0);
     };
     if (process.argv.includes('--serve')) process.stdin.on('data', job);
     else { process.stdin.resume(); process.stdin.on('end', job); }`,
  );
  rmSync(join(dir, 'count'), { force: true });
}

describe('worker engine policy', () => {
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'pvf-we-'));
    symlinkSync(process.execPath, join(dir, 'node'));
  });
  after(() => {
    closeWorkers();
    rmSync(dir, { recursive: true, force: true });
  });

  const run = async (
    e: EngineEntry,
    kind: 'backing' | 'approval',
    opts: WorkerEngineOptions & { timeoutMs?: number } = {},
  ): Promise<ValidationReport> =>
    validateCandidate({ kind: 'params', code: await pvf('adder'), params: sampleParams() }, workerEngine(fakeStore, e, opts), {
      limits: { ...DEFAULT_LIMITS, timeoutMs: opts.timeoutMs ?? DEFAULT_LIMITS.timeoutMs, kind },
    });
  const outcome = (r: ValidationReport): [string, string | undefined] => [r.verdict.verdict, r.verdict.verdict === 'valid' ? undefined : r.verdict.reason];
  const detail = (r: ValidationReport): string => (r.verdict.verdict === 'valid' ? '' : r.verdict.detail);

  it('a CPU budget of 0 ms is invalid timeout on a compiled engine and engine-limit on an interpreter, without running a worker', async () => {
    scriptWorker({});
    assert.deepEqual(outcome(await run(entry('active'), 'backing', { timeoutMs: 0 })), ['invalid', 'timeout']);
    assert.deepEqual(outcome(await run({ ...entry('active'), family: 'wasmi' }, 'backing', { timeoutMs: 0 })), ['abstain', 'engine-limit']);
    assert.equal(existsSync(join(dir, 'count')), false, 'no worker ran');
  });

  it('a revoked engine abstains with its advisory; --allow-revoked runs it', async () => {
    scriptWorker({});
    const r = await run(entry('revoked', 'CVE-0000: known miscompilation'), 'backing');
    assert.deepEqual(outcome(r), ['abstain', 'engine-revoked']);
    assert.match(detail(r), /CVE-0000: known miscompilation/);
    assert.equal((await run(entry('revoked'), 'backing', { allowRevoked: true })).verdict.verdict, 'valid');
    assert.equal((await run(entry('deprecated'), 'backing')).verdict.verdict, 'valid');
  });

  // Backing never retries (polkadot-sdk candidate-validation/src/lib.rs,
  // `validate_candidate_exhaustive`: retries only for PvfExecKind::Approval | Dispute); a death we
  // cannot attribute is abstain here (stricter than polkadot, which votes invalid).
  it('backing: a worker death is abstain, with no retry', async () => {
    scriptWorker({ deaths: ['exit', null] });
    const r = await run(entry('active'), 'backing');
    assert.deepEqual(outcome(r), ['abstain', 'internal-error']);
    assert.match(detail(r), /worker died without a verdict \(exit code 3\)/);
  });

  for (const signal of ['SIGKILL', 'SIGABRT', 'SIGTRAP', 'SIGSEGV']) {
    it(`backing: a worker that dies of ${signal} is abstain`, async () => {
      scriptWorker({ deaths: [signal] });
      const r = await run(entry('active'), 'backing');
      assert.deepEqual(outcome(r), ['abstain', 'internal-error']);
      assert.match(detail(r), new RegExp(`signal ${signal}`));
    });
  }

  // Approval retries a death once after a delay (`validate_candidate_with_retry`,
  // PossiblyInvalidError::AmbiguousWorkerDeath | AmbiguousJobDeath).
  it('approval: one death is retried and the retry decides', async () => {
    scriptWorker({ deaths: ['exit'] });
    assert.equal((await run(entry('active'), 'approval')).verdict.verdict, 'valid');
    scriptWorker({ deaths: ['SIGKILL'] });
    assert.equal((await run(entry('active'), 'approval')).verdict.verdict, 'valid');
  });

  // A job that died twice is ExecutionError("ambiguous job death") upstream: kept for deaths that
  // might be the candidate's (an exit without an answer, SIGSEGV: queue.rs `handle_job_finish`
  // maps WorkerError::JobDied and CommunicationErr to PossiblyInvalid).
  for (const death of ['exit', 'SIGSEGV']) {
    it(`approval: two ambiguous deaths (${death}) are invalid`, async () => {
      scriptWorker({ deaths: [death, death] });
      const r = await run(entry('active'), 'approval');
      assert.deepEqual(outcome(r), ['invalid', 'execution-error']);
      assert.match(detail(r), /ambiguous worker death, twice/);
    });
  }

  // Beyond polkadot: a death this machine caused is never the candidate's, even twice.
  for (const signal of ['SIGKILL', 'SIGABRT', 'SIGTRAP']) {
    it(`approval: two deaths by ${signal} (not sent by pvf) are abstain, not invalid`, async () => {
      scriptWorker({ deaths: [signal, signal] });
      const r = await run(entry('active'), 'approval');
      assert.deepEqual(outcome(r), ['abstain', 'internal-error']);
      assert.match(detail(r), new RegExp(`signal ${signal}`));
    });
  }

  it('approval: an ambiguous death and a death of the machine are abstain', async () => {
    scriptWorker({ deaths: ['exit', 'SIGKILL'] });
    assert.deepEqual(outcome(await run(entry('active'), 'approval')), ['abstain', 'internal-error']);
    scriptWorker({ deaths: ['SIGKILL', 'exit'] });
    assert.deepEqual(outcome(await run(entry('active'), 'approval')), ['abstain', 'internal-error']);
  });

  it('approval: a worker that dies twice before the job started is abstain', async () => {
    scriptWorker({ started: false, deaths: ['exit', 'exit'] });
    const r = await run(entry('active'), 'approval');
    assert.deepEqual(outcome(r), ['abstain', 'internal-error']);
    assert.match(detail(r), /before the job started/);
  });

  // The wall-clock hard limit counts from the job's start, not from the spawn: polkadot starts it
  // after sending the request to an already spawned worker (execute/worker_interface.rs,
  // `start_work`: `execution_timeout * JOB_TIMEOUT_WALL_CLOCK_FACTOR`), and spawning has its own
  // timeout (`spawn_with_program_path`, spawn_timeout) whose failure is never a verdict.
  it('a worker slow to start is not a timeout: the 4x wall clock starts with the job', async () => {
    scriptWorker({ startDelayMs: 1500 });
    const r = await run(entry('active'), 'backing', { timeoutMs: 100 }); // hard limit 400 ms
    assert.deepEqual(outcome(r), ['valid', undefined], detail(r));
  });

  it('a worker that does not start the job within the start-up deadline is abstain, not invalid', async () => {
    scriptWorker({ startDelayMs: 3000 });
    const t = performance.now();
    const r = await run(entry('active'), 'backing', { timeoutMs: 100, startupMs: 500 });
    assert.deepEqual(outcome(r), ['abstain', 'internal-error']);
    assert.match(detail(r), /did not start the job within 500 ms/);
    assert.ok(performance.now() - t < 2900, 'the worker is killed at the deadline');
  });

  it('a job still running after 4x its budget from its start is invalid (hard timeout)', async () => {
    scriptWorker({ answerDelayMs: 5000 });
    const r = await run(entry('active'), 'backing', { timeoutMs: 100 });
    assert.deepEqual(outcome(r), ['invalid', 'timeout']);
    assert.match(detail(r), /hard timeout: still running after 400 ms of wall-clock time since the job started/);
  });

  it('on a wasmi engine a timeout (hard limit or CPU budget) is abstain engine-limit; its other answers stay verdicts', async () => {
    const wasmi: EngineEntry = { ...entry('active'), family: 'wasmi' };
    scriptWorker({ answerDelayMs: 5000 });
    const hard = await run(wasmi, 'backing', { timeoutMs: 100 });
    assert.deepEqual(outcome(hard), ['abstain', 'engine-limit']);
    assert.match(detail(hard), /hard timeout.*interpreter cannot judge a timeout/);
    scriptWorker({ answer: { ok: false, verdict: 'invalid', reason: 'timeout', detail: 'execution used 2003 ms of CPU time, the limit is 2000 ms', logs: [] } });
    for (const kind of ['backing', 'approval'] as const) {
      const cpu = await run(wasmi, kind);
      assert.deepEqual(outcome(cpu), ['abstain', 'engine-limit'], kind);
      assert.match(detail(cpu), /used 2003 ms of CPU time.*interpreter cannot judge a timeout/);
    }
    // The same answer from a v8 engine is the candidate's timeout.
    assert.deepEqual(outcome(await run(entry('active'), 'backing')), ['invalid', 'timeout']);
    scriptWorker({ answer: { ok: false, verdict: 'invalid', reason: 'execution-error', detail: 'unreachable', logs: [] } });
    assert.deepEqual(outcome(await run(wasmi, 'backing')), ['invalid', 'execution-error']);
  });

  // A consistent PvfExecTimeout may be as large as u64 ms (executor_params.rs checks only backing
  // < approval): 4 x 2^30 ms overflows Node's timer, which then fires after 1 ms.
  it('a PvfExecTimeout of 2^30 ms: the 4x hard limit does not fire at once', async () => {
    scriptWorker({ answerDelayMs: 300 });
    const r = await run(entry('active'), 'approval', { timeoutMs: 2 ** 30 });
    assert.deepEqual(outcome(r), ['valid', undefined], detail(r));
  });

  it('a worker binary that does not exist is abstain io-error, in backing, approval and kept alive', async () => {
    const missing = entry('active', undefined, ['no-such-worker-binary']);
    for (const kind of ['backing', 'approval'] as const) {
      for (const persistent of [false, true]) {
        const r = await run(missing, kind, { persistent });
        assert.deepEqual(outcome(r), ['abstain', 'io-error'], `${kind} persistent=${persistent}: ${detail(r)}`);
        assert.match(detail(r), /cannot start worker .*no-such-worker-binary: ENOENT/);
      }
    }
  });

  it('kept-alive workers: the same rules (slow start, deaths of the machine)', async () => {
    scriptWorker({ startDelayMs: 1500 });
    assert.deepEqual(outcome(await run(entry('active'), 'backing', { timeoutMs: 100, persistent: true })), ['valid', undefined]);
    closeWorkers();
    scriptWorker({ deaths: ['SIGKILL', 'SIGKILL'] });
    assert.deepEqual(outcome(await run(entry('active'), 'approval', { persistent: true })), ['abstain', 'internal-error']);
    closeWorkers();
  });
});

describe('death classification (docs/worker-faults.md)', () => {
  it('before the job started: always the machine', () => {
    for (const signal of [null, 'SIGSEGV', 'SIGKILL']) assert.equal(classifyDeath({ started: false, code: signal ? null : 1, signal }).cls, 'host');
  });
  it('after the start: resource and outside signals are the machine, the rest ambiguous', () => {
    for (const s of ['SIGKILL', 'SIGABRT', 'SIGTRAP', 'SIGBUS', 'SIGTERM', 'SIGINT', 'SIGXCPU']) assert.equal(classifyDeath({ started: true, code: null, signal: s }).cls, 'host', s);
    for (const s of ['SIGSEGV', 'SIGILL', 'SIGFPE', 'SIGSYS']) assert.equal(classifyDeath({ started: true, code: null, signal: s }).cls, 'ambiguous', s);
    assert.equal(classifyDeath({ started: true, code: 3, signal: null }).cls, 'ambiguous');
    assert.equal(classifyDeath({ started: true, code: 0, signal: null }).cls, 'ambiguous');
  });
});
