/**
 * Traces (`pvf validate --trace FILE`, `pvf trace diff`): what the v8 engines record, that tracing
 * never changes a verdict, that the stack probe reports the deepest logical stack (the smallest
 * StackLogicalMax the call passes under), that a divergent engine is caught at the first differing
 * event, the bounds, and the CLI's errors. With ../shared: a real statemine block traced on both v8
 * engines of dist/pvf diffs as identical.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { validateCandidate, type CandidateInput, type Engine, type ValidationReport } from '../core/candidate/validate.ts';
import { sampleParams } from '../core/candidate/sample.ts';
import { MAX_TRACE_EVENTS, type TraceEvent } from '../core/candidate/trace.ts';
import { inProcessV8, inProcessV8With } from '../engines/v8/index.ts';
import { PVF_HOST_FUNCTIONS } from '../engines/v8/host/functions.ts';
import type { HostFunctionTable } from '../engines/v8/host/host.ts';
import { parseResponse } from '../engines/protocol.ts';
import { assembleWat } from '../build/wat.ts';
import { diffTraces, readTrace, traceHeader, writeTrace } from '../cli/trace.ts';
import { pvf, SHARED, SKIP_SHARED } from './support/pvfs.ts';
import { runCli } from './support/cli.ts';
import { BIN, SKIP_BIN } from './support/binary.ts';

type HostEvent = Extract<TraceEvent, { ev: 'host' }>;
type EndEvent = Extract<TraceEvent, { ev: 'end' }>;

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const hostEvents = (r: ValidationReport) => (r.trace ?? []).filter((e): e is HostEvent => e.ev === 'host');
const endOf = (r: ValidationReport) => r.trace?.at(-1) as EndEvent;

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'pvf-trace-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function adderInput(): Promise<CandidateInput> {
  return { kind: 'params', code: await pvf('adder'), params: sampleParams() };
}

/** A trace file as the CLI writes it, read back as `trace diff` reads it. */
function roundTrip(name: string, engine: Engine, input: CandidateInput, report: ValidationReport) {
  const path = join(dir, name);
  writeTrace(path, traceHeader(engine, input, {}), report);
  return readTrace('test', path);
}

describe('traces on the v8 engine', () => {
  it('records every host call with its arguments and results, the allocations, the memory and the end', async () => {
    const r = await validateCandidate(await adderInput(), inProcessV8, { trace: true });
    assert.equal(r.verdict.verdict, 'valid');
    const calls = hostEvents(r);
    // The adder hashes the parent's state, mallocs its output, hashes the parent head and the new state.
    assert.deepEqual(calls.map((c) => c.fn), ['ext_hashing_keccak_256_version_1', 'ext_allocator_malloc_version_1', 'ext_hashing_keccak_256_version_1', 'ext_hashing_keccak_256_version_1']);
    assert.deepEqual(calls.map((c) => c.n), [1, 2, 3, 4]);
    for (const c of calls.filter((x) => x.fn.startsWith('ext_hashing_keccak'))) {
      const arg = c.args[0];
      const res = c.result;
      assert.ok(res && 'hex' in res && 'len' in arg, JSON.stringify(c));
      if ('hex' in arg) assert.equal(res.hex, hex(keccak_256(Buffer.from(arg.hex, 'hex'))), 'the result is keccak-256 of the argument (@noble/hashes)');
      else assert.ok('blake2_256' in arg && arg.len === 72, 'the 72-byte parent head is shown by its hash');
    }
    assert.deepEqual(calls[1].args, [{ i32: 85 }]);
    // Every malloc the PVF made appears as an allocation of the size it asked for, at the pointer it got.
    const allocs = (r.trace ?? []).filter((e) => e.ev === 'alloc');
    const mallocResult = calls[1].result as { i32: number };
    assert.ok(allocs.some((a) => a.ev === 'alloc' && a.size === 85 && a.ptr === mallocResult.i32));
    assert.ok((r.trace ?? []).some((e) => e.ev === 'memory' && e.pages === 17), 'the imported memory has 17 pages');
    const end = endOf(r);
    assert.equal(end.outcome, 'returned');
    assert.equal(end.hostCalls, 4);
    assert.equal(end.dropped, 0);
    assert.ok(end.maxDepth! > 0 && calls.every((c) => c.depth! > 0 && c.depth! <= end.maxDepth!));
  });

  it('maxDepth is the deepest logical stack: the call passes under StackLogicalMax = maxDepth and traps under maxDepth - 1', async () => {
    const input = await adderInput();
    const maxDepth = endOf(await validateCandidate(input, inProcessV8, { trace: true })).maxDepth!;
    const limits = (stackLogicalMax: number) => ({ maxPages: 2080, timeoutMs: 2000, stackLogicalMax });
    const at = await validateCandidate(input, inProcessV8, { limits: limits(maxDepth) });
    const below = await validateCandidate(input, inProcessV8, { limits: limits(maxDepth - 1) });
    assert.equal(at.verdict.verdict, 'valid');
    assert.equal(below.verdict.verdict, 'invalid');
  });

  it('tracing never changes a verdict or its bytes (valid, trapping, bad input)', async () => {
    const code = await pvf('adder');
    const cases: CandidateInput[] = [await adderInput(), { kind: 'params', code, params: new Uint8Array(3) }, { kind: 'params', code: new Uint8Array([0, 1, 2]), params: new Uint8Array(0) }];
    for (const input of cases) {
      const plain = await validateCandidate(input, inProcessV8);
      const traced = await validateCandidate(input, inProcessV8, { trace: true });
      assert.deepEqual({ ...traced.verdict }, { ...plain.verdict });
      assert.equal(plain.trace, undefined);
    }
    const trapped = await validateCandidate(cases[1], inProcessV8, { trace: true });
    const end = endOf(trapped);
    assert.equal(end.outcome, 'trapped');
    assert.match(end.detail ?? '', /input too short/);
    assert.ok((trapped.trace ?? []).some((e) => e.ev === 'log' && e.level === 'error' && /input too short/.test(e.message)), 'the panic message is an event');
    // Code that is not Wasm never reaches the engine: no events at all.
    assert.equal((await validateCandidate(cases[2], inProcessV8, { trace: true })).trace, undefined);
  });

  it('a deliberately divergent engine is caught at the first event that differs, with the events before it', async () => {
    // The divergent engine: its keccak-256 gives a wrong hash on its second call only.
    let calls = 0;
    const keccak = PVF_HOST_FUNCTIONS.ext_hashing_keccak_256_version_1;
    const table: HostFunctionTable = {
      ...PVF_HOST_FUNCTIONS,
      ext_hashing_keccak_256_version_1: {
        sig: keccak.sig,
        make: (h) => {
          const right = keccak.make(h) as (span: bigint) => number;
          return ((span: bigint) => {
            const ptr = right(span);
            if (++calls === 2) h.write(ptr, new Uint8Array(32).fill(0xee));
            return ptr;
          }) as (...args: never[]) => number;
        },
      },
    };
    const divergent = inProcessV8With(table, 'test-divergent-keccak');
    const input = await adderInput();
    const a = await validateCandidate(input, inProcessV8, { trace: true });
    const b = await validateCandidate(input, divergent, { trace: true });
    const d = diffTraces(roundTrip('a.jsonl', inProcessV8, input, a), roundTrip('b.jsonl', divergent, input, b), ['a.jsonl', 'b.jsonl']);
    assert.equal(d.same, false);
    const first = d.text.findIndex((l) => l.startsWith('first difference at event'));
    assert.ok(first > 0, d.text.join('\n'));
    const minus = d.text.find((l) => l.startsWith('- A line'))!;
    const plus = d.text.find((l) => l.startsWith('+ B line'))!;
    // The third host call is the engine's second keccak: same argument, different result.
    assert.match(minus, /"n":3,"fn":"ext_hashing_keccak_256_version_1"/);
    assert.match(plus, /"n":3,"fn":"ext_hashing_keccak_256_version_1".*"hex":"(ee){32}"/);
    assert.ok(d.text.slice(first + 1).filter((l) => l.startsWith('  ')).length >= 1, 'context before the difference');
  });

  it('the same candidate on the same engine diffs as identical (times aside)', async () => {
    const input = await adderInput();
    const a = roundTrip('same-a.jsonl', inProcessV8, input, await validateCandidate(input, inProcessV8, { trace: true }));
    const b = roundTrip('same-b.jsonl', inProcessV8, input, await validateCandidate(input, inProcessV8, { trace: true }));
    const d = diffTraces(a, b, ['a', 'b']);
    assert.equal(d.same, true, d.text.join('\n'));
    assert.match(d.text.at(-1)!, /the traces agree: 11 events and the verdict \(valid\)/);
  });

  it('a flood of host calls is bounded: MAX_TRACE_EVENTS events, the rest counted, the end event always last', async () => {
    // 400,000 malloc/free pairs: four events each.
    const code = await assembleWat(`(module
      (import "env" "memory" (memory 17))
      (import "env" "ext_allocator_malloc_version_1" (func $malloc (param i32) (result i32)))
      (import "env" "ext_allocator_free_version_1" (func $free (param i32)))
      (global (export "__heap_base") i32 (i32.const 1048576))
      (func (export "validate_block") (param i32 i32) (result i64) (local $k i32)
        (loop $l
          (call $free (call $malloc (i32.const 8)))
          (local.set $k (i32.add (local.get $k) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $k) (i32.const 400000))))
        (unreachable)))`);
    const r = await validateCandidate({ kind: 'params', code, params: new Uint8Array(0) }, inProcessV8, { trace: true });
    assert.equal(r.verdict.verdict, 'invalid');
    assert.equal(r.trace!.length, MAX_TRACE_EVENTS + 1);
    const end = endOf(r);
    assert.equal(end.hostCalls, 800_000);
    // The params' allocation and the memory's size, then 4 events per pair: kept or dropped in all.
    assert.equal(MAX_TRACE_EVENTS + end.dropped, 2 + 4 * 400_000);
    // What the worker would send is accepted by the host's protocol check.
    const parsed = parseResponse(JSON.parse(JSON.stringify({ ok: false, verdict: 'invalid', reason: 'execution-error', detail: 'x', logs: [], trace: r.trace })));
    assert.equal(parsed?.trace?.length, MAX_TRACE_EVENTS + 1);
  });

  it('the host refuses a worker answer whose trace is not of the schema', () => {
    const answer = { ok: true, raw: '', logs: [], timings: {} };
    assert.ok(parseResponse({ ...answer, trace: [] }));
    for (const trace of [
      {},
      [{ ev: 'host', n: 1, args: [] }],
      [{ ev: 'host', n: 1, fn: 'f', args: [{ ptr: 1, len: 2 }] }],
      [{ ev: 'alloc', size: '8', ptr: 1 }],
      [{ ev: 'end', outcome: 'exploded', pages: 1, hostCalls: 0, dropped: 0 }],
      [{ ev: 'nonsense' }],
      new Array(MAX_TRACE_EVENTS + 2).fill({ ev: 'free', ptr: 8 }),
    ]) {
      assert.equal(parseResponse({ ...answer, trace }), undefined, JSON.stringify(trace).slice(0, 80));
    }
  });
});

describe('pvf validate --trace and pvf trace diff (CLI)', () => {
  it('--trace into a folder that does not exist: exit 73, one line, nothing written, nothing run', () => {
    const r = runCli(['validate', '--sample', '--trace', join(dir, 'missing', 't.jsonl')]);
    assert.equal(r.code, 73);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^pvf: --trace .*t\.jsonl: no such folder .*missing\n$/);
  });

  it('trace diff on files that are not traces: exit 65 naming the file and line', () => {
    const good = join(dir, 'good.jsonl');
    const input = { kind: 'params' as const, code: new Uint8Array(8), params: new Uint8Array(0) };
    writeTrace(good, traceHeader(inProcessV8, input, {}), { verdict: { verdict: 'invalid', reason: 'prevalidation', detail: 'x' }, engine: 'e', logs: [], timings: {} });
    const bad = join(dir, 'bad.jsonl');
    const lines = readFileSync(good, 'utf8').split('\n');
    writeFileSync(bad, [lines[0], '{"ev":"host","n":1}', lines[1]].join('\n'));
    const r = runCli(['trace', 'diff', good, bad]);
    assert.equal(r.code, 65);
    assert.match(r.stderr, /^pvf: trace diff .*bad\.jsonl: line 2: not a trace event of this schema\n$/);
    const cut = join(dir, 'cut.jsonl');
    writeFileSync(cut, lines[0] + '\n');
    assert.match(runCli(['trace', 'diff', good, cut]).stderr, /cut\.jsonl: not a pvf trace/);
    assert.equal(runCli(['trace', 'diff', good, join(dir, 'nope.jsonl')]).code, 65);
    assert.equal(runCli(['trace', 'diff', good]).code, 64);
    assert.equal(runCli(['trace', 'diff', good, good]).code, 0);
  });
});

describe('a real statemine block traced on both v8 engines of dist/pvf', { skip: SKIP_SHARED || SKIP_BIN }, () => {
  let corpus = '';
  let cache = '';
  before(async () => {
    corpus = join(dir, 'corpus');
    cache = join(dir, 'cache');
    const { buildCorpus } = await import('../scripts/candidates/build-corpus.ts');
    await buildCorpus({ out: corpus, shared: SHARED, blocks: 1, log: () => {}, only: 'statemine-1000000' });
  });

  const run = (engine: string, candidate: string, out: string) =>
    spawnSync(BIN, ['validate', '--code', join(corpus, 'statemine-1000000.wasm'), '--pov-file', join(corpus, candidate, 'candidate.pov'), '--engine', engine, '--trace', out], {
      encoding: 'utf8',
      env: { ...process.env, CI: '1', PVF_CACHE_DIR: cache },
    });
  const engines = () => {
    const list = spawnSync(BIN, ['engines', 'list', '--json'], { encoding: 'utf8', env: { ...process.env, PVF_CACHE_DIR: cache } });
    return (JSON.parse(list.stdout) as { engines: Array<{ id: string; family: string; status: string }> }).engines.filter((e) => e.status === 'active');
  };

  it('the two traces agree event for event, and record the work of a real block', () => {
    const v8 = engines().filter((e) => e.family === 'v8');
    assert.ok(v8.length >= 2, 'the binary carries two v8 engines');
    const files = v8.map((e) => join(dir, `${e.id}.jsonl`));
    v8.forEach((e, k) => assert.equal(run(e.id, 'statemine-1000000-block-1', files[k]).status, 0, e.id));
    const d = spawnSync(BIN, ['trace', 'diff', files[0], files[1]], { encoding: 'utf8' });
    assert.equal(d.status, 0, d.stdout);
    assert.match(d.stdout, /the traces agree: \d+ events and the verdict \(valid\)/);
    const t = readTrace('test', files[0]);
    const fns = new Set(t.events.flatMap((e) => (e.ev === 'host' ? [e.fn] : [])));
    for (const fn of ['ext_allocator_malloc_version_1', 'ext_hashing_twox_128_version_1', 'ext_hashing_blake2_256_version_1']) assert.ok(fns.has(fn), fn);
    const end = t.events.at(-1) as EndEvent;
    assert.equal(end.outcome, 'returned');
    assert.ok(end.hostCalls > 1000 && end.maxDepth! > 100 && end.heapPeakBytes! > 1_000_000, JSON.stringify(end));
    assert.equal(t.header.lacks.length, 0);
  });

  it('a tampered block: the traces of the two v8 engines agree up to the same trap; the wasmi trace says what it lacks', () => {
    const all = engines();
    const files = all.map((e) => join(dir, `tampered-${e.id}.jsonl`));
    all.forEach((e, k) => assert.equal(run(e.id, 'statemine-1000000-block-1-tampered-extrinsic', files[k]).status, 1, e.id));
    const v8 = all.flatMap((e, k) => (e.family === 'v8' ? [files[k]] : []));
    assert.equal(spawnSync(BIN, ['trace', 'diff', v8[0], v8[1]], { encoding: 'utf8' }).status, 0);
    const end = readTrace('test', v8[0]).events.at(-1) as EndEvent;
    assert.equal(end.outcome, 'trapped');
    const wasmi = all.findIndex((e) => e.family === 'wasmi');
    const w = readTrace('test', files[wasmi]);
    assert.equal(w.events.length, 0);
    assert.ok(w.header.lacks.includes('host'));
    const vs = spawnSync(BIN, ['trace', 'diff', v8[0], files[wasmi]], { encoding: 'utf8' });
    assert.equal(vs.status, 0, vs.stdout);
    assert.match(vs.stdout, /not compared \(an engine cannot record them\): host/);
    assert.ok(existsSync(files[wasmi]) && readdirSync(dir).every((n) => !n.includes('.tmp-')), 'no temporary file left');
  });
});
