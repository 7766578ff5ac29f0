/**
 * Worker-engine policy with scripted workers (no build needed): revoked engines, and the retry
 * rule for a worker that dies without a verdict (backing: abstain; approval: one retry, then invalid).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { workerEngine } from '../engines/worker-engine.ts';
import type { EngineEntry } from '../engines/store/manifest.ts';
import type { EngineStore } from '../engines/store/store.ts';
import { validateCandidate, DEFAULT_LIMITS } from '../core/validate.ts';
import { pvf } from './support/pvfs.ts';
import { sampleParams } from '../core/sample.ts';

let dir = '';
function entry(status: EngineEntry['status'], advisory?: string): EngineEntry {
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
    command: ['node', 'worker.cjs'],
  };
}
const fakeStore = { ensureExtracted: async () => dir, engine: () => undefined } as unknown as EngineStore;

/** A worker that dies without answering on its first `deaths` runs, then answers a fixed result. */
function scriptWorker(deaths: number): void {
  writeFileSync(
    join(dir, 'worker.cjs'),
    `const fs = require('fs'), p = require('path').join(__dirname, 'count');
     const n = fs.existsSync(p) ? Number(fs.readFileSync(p, 'utf8')) : 0;
     fs.writeFileSync(p, String(n + 1));
     process.stdin.resume();
     process.stdin.on('end', () => {
       if (n < ${deaths}) process.exit(3);
       process.stdout.write(JSON.stringify({ ok: true, raw: '000000000000000000000000', logs: [], timings: {} }) + '\\n');
     });`,
  );
  rmSync(join(dir, 'count'), { force: true });
}

describe('worker engine policy', () => {
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'pvf-we-'));
    symlinkSync(process.execPath, join(dir, 'node'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const run = async (e: EngineEntry, kind: 'backing' | 'approval', allowRevoked = false) =>
    validateCandidate({ kind: 'params', code: await pvf('adder'), params: sampleParams() }, workerEngine(fakeStore, e, { allowRevoked }), {
      limits: { ...DEFAULT_LIMITS, kind },
    });

  it('a revoked engine abstains with its advisory; --allow-revoked runs it', async () => {
    scriptWorker(0);
    const r = await run(entry('revoked', 'CVE-0000: known miscompilation'), 'backing');
    assert.deepEqual([r.verdict.verdict, r.verdict.verdict === 'abstain' && r.verdict.reason], ['abstain', 'engine-revoked']);
    assert.match(r.verdict.verdict === 'abstain' ? r.verdict.detail : '', /CVE-0000: known miscompilation/);
    assert.equal((await run(entry('revoked'), 'backing', true)).verdict.verdict, 'valid');
    assert.equal((await run(entry('deprecated'), 'backing')).verdict.verdict, 'valid');
  });

  it('backing: a worker death is abstain, with no retry', async () => {
    scriptWorker(1);
    const r = await run(entry('active'), 'backing');
    assert.deepEqual([r.verdict.verdict, r.verdict.verdict === 'abstain' && r.verdict.reason], ['abstain', 'internal-error']);
    assert.match(r.verdict.verdict === 'abstain' ? r.verdict.detail : '', /worker died without a verdict \(exit code 3\)/);
  });

  it('approval: one death is retried and the retry decides', async () => {
    scriptWorker(1);
    assert.equal((await run(entry('active'), 'approval')).verdict.verdict, 'valid');
  });

  it('approval: two deaths are invalid (ambiguous worker death)', async () => {
    scriptWorker(2);
    const r = await run(entry('active'), 'approval');
    assert.deepEqual([r.verdict.verdict, r.verdict.verdict === 'invalid' && r.verdict.reason], ['invalid', 'execution-error']);
    assert.match(r.verdict.verdict === 'invalid' ? r.verdict.detail : '', /ambiguous worker death, twice/);
  });
});
