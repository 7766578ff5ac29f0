/**
 * Engine pins follow behaviour, not layout: a worker bundle (part of a pinned payload) must not
 * change when a source file is moved or renamed, or when a comment is edited. The v8 and wasmi
 * workers are bundled from this tree and from a copy in which engines/logs.ts (imported by both) is
 * moved into a new folder under a new name (every import rewritten) and a comment of core/wasm/wasm.ts
 * is edited; the bytes must be identical.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { bundle } from '../build/bundle.ts';
import { REPO } from './support/pvfs.ts';

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? tsFiles(p) : n.endsWith('.ts') ? [p] : [];
  });
}

describe('worker bundles do not depend on the source layout', () => {
  let copy = '';
  before(() => {
    copy = mkdtempSync(join(tmpdir(), 'pvf-layout-'));
    for (const d of ['core', 'engines', 'build']) cpSync(join(REPO, d), join(copy, d), { recursive: true });
    for (const f of ['package.json', 'tsconfig.json']) cpSync(join(REPO, f), join(copy, f));
    symlinkSync(join(REPO, 'node_modules'), join(copy, 'node_modules'));
    // Move engines/logs.ts into a new folder under a new name and rewrite every import of it.
    const from = join(copy, 'engines', 'logs.ts');
    const to = join(copy, 'engines', 'output', 'log-bounds.ts');
    mkdirSync(dirname(to));
    renameSync(from, to);
    let rewritten = 0;
    for (const f of tsFiles(copy)) {
      const s = readFileSync(f, 'utf8');
      const t = s.replace(/(['"])(\.\.?\/[^'"]*\.ts)\1/g, (m, q: string, spec: string) => {
        if (resolve(dirname(f), spec) !== from) return m;
        const rel = relative(dirname(f), to);
        return `${q}${rel.startsWith('.') ? rel : `./${rel}`}${q}`;
      });
      if (t !== s) {
        writeFileSync(f, t);
        rewritten++;
      }
    }
    assert.ok(rewritten >= 3, `${rewritten} importers rewritten`);
    const wasm = join(copy, 'core', 'wasm', 'wasm.ts');
    writeFileSync(wasm, readFileSync(wasm, 'utf8').replace('/**', '/** A comment edited for this test.\n *'));
  });
  after(() => rmSync(copy, { recursive: true, force: true }));

  for (const worker of ['engines/v8/worker.ts', 'engines/v8/job.ts', 'engines/wasmi/worker.ts']) {
    it(`${worker}: the same bytes after a rename, a move and a comment edit`, async () => {
      const a = await bundle(REPO, worker, { pinned: true });
      const b = await bundle(copy, worker, { pinned: true });
      assert.ok(a.length > 1_000, `${a.length} bytes: not a bundle`);
      assert.ok(!/\b(core|engines)\/[\w/-]+\.ts\b/.test(a.toString('utf8')), 'a source path is in the bundle');
      assert.ok(a.equals(b), `the bundles differ (${a.length} vs ${b.length} bytes)`);
    });
  }
});
