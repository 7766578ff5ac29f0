/**
 * Conformance and smoke: the matrix runner catches a divergent engine, JUnit output has the shape
 * CI systems read, and shards cover every candidate exactly once.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runMatrix, type Job } from '../core/corpus/conformance.ts';
import { readCorpus, shard } from '../core/corpus/corpus.ts';
import { smokeCases } from '../core/corpus/smoke.ts';
import { encodePovFile } from '../core/candidate/codecs.ts';
import { inProcessV8 } from '../engines/v8/index.ts';
import { junitXml } from '../cli/junit.ts';
import { sampleParams } from '../core/candidate/sample.ts';
import { pvf } from './support/pvfs.ts';
import { divergentEngine } from './support/divergent.ts';
import { runCli } from './support/cli.ts';

const divergent = divergentEngine();

let dir = '';
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pvf-conf-'));
  // A small corpus: 6 candidates of the adder (a shared code file) with expected.json.
  writeFileSync(join(dir, 'adder.wasm'), await pvf('adder'));
  const params = sampleParams();
  const parentHead = params.subarray(2, 74);
  for (let k = 0; k < 6; k++) {
    const c = join(dir, `cand-${k}`);
    mkdirSync(c);
    writeFileSync(join(c, 'code.ref'), 'adder.wasm\n');
    writeFileSync(join(c, 'candidate.pov'), encodePovFile({ blockData: params.subarray(75, 91) }, { parentHead, relayParentNumber: 1 + k, relayParentStorageRoot: new Uint8Array(32), maxPovSize: 1000 }));
    writeFileSync(join(c, 'expected.json'), JSON.stringify({ verdict: 'valid' }));
  }
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('matrix runner', () => {
  it('catches a divergent engine with a reproduction line, and JUnit reports it', async () => {
    const jobs = readCorpus(dir);
    const report = await runMatrix(jobs, [inProcessV8, divergent], { concurrency: 2, repro: (j, ids) => `pvf validate --code ${j.files?.code} --pov-file ${j.files?.pov} --engine ${ids.join(',')}` });
    assert.equal(report.candidates, 6);
    assert.equal(report.divergences.length, 6);
    assert.equal(report.divergences[0].what, 'result bytes differ');
    assert.match(report.divergences[0].repro, /^pvf validate --code .*adder\.wasm --pov-file .*cand-0\/candidate\.pov/);
    const xml = junitXml('pvf conformance', report);
    assert.match(xml, /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<testsuites name="pvf conformance" tests="12" failures="12" errors="0" time="[\d.]+">/);
    assert.equal((xml.match(/<testsuite /g) ?? []).length, 2);
    assert.equal((xml.match(/<testcase /g) ?? []).length, 12);
    assert.equal((xml.match(/<failure message="engines diverge: result bytes differ" type="divergence">/g) ?? []).length, 12);
    assert.equal((xml.match(/<\/testsuite>/g) ?? []).length, 2);
  });

  it('no divergence and every expectation met on one honest engine', async () => {
    const report = await runMatrix(readCorpus(dir), [inProcessV8], { concurrency: 1, repro: () => '' });
    assert.deepEqual([report.divergences.length, report.results.filter((r) => r.failure).length], [0, 0]);
  });

  it('smoke vectors fail on the divergent engine (the adder bytes)', async () => {
    const cases = smokeCases().filter((c) => c.pvf === 'adder');
    const jobs: Job[] = [];
    for (const c of cases) jobs.push({ name: c.name, input: { kind: 'params', code: await pvf(c.pvf), params: c.params }, expected: c.expected });
    const report = await runMatrix(jobs, [inProcessV8, divergent], { concurrency: 2, repro: () => '' });
    assert.equal(report.divergences.length, cases.length);
    assert.deepEqual(report.results.filter((r) => r.failure).map((r) => r.engine), cases.map(() => 'test-divergent'));
  });

  it('shards 1/3, 2/3, 3/3 cover every candidate exactly once', () => {
    const names = readCorpus(dir).map((j) => j.name);
    const parts = [1, 2, 3].map((i) => shard(names, i, 3));
    assert.deepEqual(parts.flat().sort(), [...names].sort());
    assert.equal(new Set(parts.flat()).size, names.length);
    assert.ok(parts.every((p) => p.length === 2));
  });
});

describe('pvf conformance and pvf smoke (CLI)', () => {
  it('conformance over the corpus: exit 0, JSON and a JUnit file; shards via the CLI', () => {
    const junit = join(dir, 'report.xml');
    const r = runCli(['conformance', '--corpus', dir, '--json', '--junit', junit, '--jobs', '2']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const doc = JSON.parse(r.stdout) as { candidates: number; engines: string[]; divergences: unknown[]; results: Array<{ verdict: string }> };
    assert.equal(doc.candidates, 6);
    assert.deepEqual(doc.divergences, []);
    assert.ok(doc.results.every((x) => x.verdict === 'valid'));
    assert.match(readFileSync(junit, 'utf8'), /<testsuites name="pvf conformance" tests="6" failures="0"/);
    const s2 = runCli(['conformance', '--corpus', dir, '--json', '--shard', '2/3']);
    assert.equal((JSON.parse(s2.stdout) as { candidates: number }).candidates, 2);
    const bad = runCli(['conformance', '--corpus', join(dir, 'nope')]);
    assert.equal(bad.code, 65);
    assert.match(bad.stderr, /^pvf: --corpus .*nope: not a directory\n$/);
  });

  it('an unmet expected.json fails conformance (exit 1)', () => {
    const c = join(dir, 'cand-0', 'expected.json');
    const saved = readFileSync(c, 'utf8');
    writeFileSync(c, JSON.stringify({ verdict: 'invalid' }));
    try {
      const r = runCli(['conformance', '--corpus', dir]);
      assert.equal(r.code, 1);
      assert.match(r.stdout, /FAIL cand-0 on .*: expected invalid, got valid/);
    } finally {
      writeFileSync(c, saved);
    }
  });
});

describe('validate --record', () => {
  it('appends candidates with their verdicts to a corpus that conformance replays', () => {
    const rec = join(dir, 'recorded');
    const code = join(dir, 'adder.wasm');
    for (const k of [0, 1, 1]) {
      const r = runCli(['validate', '--code', code, '--pov-file', join(dir, `cand-${k}`, 'candidate.pov'), '--record', rec]);
      assert.equal(r.code, 0, r.stderr);
    }
    const jobs = readCorpus(rec);
    assert.equal(jobs.length, 2, 'the same candidate twice is recorded once');
    assert.ok(jobs.every((j) => j.expected?.verdict === 'valid' && j.expected.headData && j.expected.raw));
    const replay = runCli(['conformance', '--corpus', rec, '--json']);
    assert.equal(replay.code, 0, replay.stdout);
    const params = runCli(['validate', '--sample', '--record', rec]);
    assert.equal(params.code, 64);
  });
});
