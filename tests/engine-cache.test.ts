/**
 * The engine cache's fast path and its extraction: the verification stamp (engines/store/stamp.ts)
 * must stop holding after any change to a file, however it is made, and streamed extraction
 * (engines/store/extract.ts) must refuse every section or payload that does not match the
 * manifest, leaving nothing a caller could run. The extraction tests read real engine sections of
 * dist/pvf and are skipped with a message when it is not built.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { identities, recordStamp, stampHolds, STAMP_FILE, STAMP_MARGIN_NS, nowNs } from '../engines/store/stamp.ts';
import { extractEngineTo, ExtractError } from '../engines/store/extract.ts';
import { EngineStore } from '../engines/store/store.ts';
import { sha256Hex } from '../engines/store/payload.ts';
import type { EngineEntry } from '../engines/store/manifest.ts';
import type { ElfSection } from '../engines/store/elf.ts';
import { BIN, SKIP_BIN } from './support/binary.ts';

function fakeEngine(dir: string, files: Record<string, string>): EngineEntry {
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return {
    id: 'test-engine',
    family: 'v8',
    vmVersion: '0',
    status: 'active',
    section: '.pvf.test-engine',
    sha256: 'ab'.repeat(32),
    size: 0,
    compressedSha256: '',
    compressedSize: 0,
    files: Object.entries(files).map(([name, text]) => ({ name, size: text.length, sha256: sha256Hex(Buffer.from(text)), mode: 0o644 })),
    command: [],
  };
}

describe('engine verification stamp', () => {
  let tmp = '';
  before(() => (tmp = mkdtempSync(join(tmpdir(), 'pvf-stamp-'))));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  const stamped = (name: string) => {
    const dir = join(tmp, name);
    const e = fakeEngine(dir, { node: 'binary bytes', 'worker.cjs': 'worker bytes' });
    // ctime cannot be set back, so the hash is said to have begun more than the margin after the
    // files were written, as for an engine extracted a while ago.
    const before = identities(dir, e);
    assert.equal(recordStamp(dir, e, before, nowNs() + STAMP_MARGIN_NS + 1_000_000n), true);
    assert.equal(stampHolds(dir, e), true);
    return { dir, e };
  };

  it('is not recorded for files changed less than the margin before the hash began (a later change could keep their ctime)', () => {
    const dir = join(tmp, 'fresh');
    const e = fakeEngine(dir, { node: 'x' });
    assert.equal(recordStamp(dir, e, identities(dir, e), nowNs()), false);
    assert.equal(stampHolds(dir, e), false);
  });

  it('is not recorded when a file changed while it was hashed', () => {
    const dir = join(tmp, 'during');
    const e = fakeEngine(dir, { node: 'x' });
    const before = identities(dir, e);
    writeFileSync(join(dir, 'node'), 'y');
    assert.equal(recordStamp(dir, e, before, nowNs() + STAMP_MARGIN_NS + 1_000_000n), false);
  });

  it('stops holding after a same-size rewrite whose mtime is set back', () => {
    const { dir, e } = stamped('rewrite');
    const p = join(dir, 'node');
    const st = statSync(p);
    writeFileSync(p, 'BINARY bytes');
    utimesSync(p, st.atime, st.mtime);
    assert.equal(statSync(p).size, st.size);
    assert.equal(stampHolds(dir, e), false);
  });

  it('stops holding after a chmod, a replacement by rename, a truncation or a removal', () => {
    const a = stamped('chmod');
    chmodSync(join(a.dir, 'node'), 0o700);
    assert.equal(stampHolds(a.dir, a.e), false);

    const b = stamped('rename');
    writeFileSync(join(b.dir, 'other'), 'binary bytes');
    renameSync(join(b.dir, 'other'), join(b.dir, 'node'));
    assert.equal(stampHolds(b.dir, b.e), false);

    const c = stamped('truncate');
    writeFileSync(join(c.dir, 'worker.cjs'), '');
    assert.equal(stampHolds(c.dir, c.e), false);

    const d = stamped('remove');
    rmSync(join(d.dir, 'worker.cjs'));
    assert.equal(stampHolds(d.dir, d.e), false);
  });

  it('holds only for the payload it was made for, and not when the stamp is damaged', () => {
    const { dir, e } = stamped('other-payload');
    assert.equal(stampHolds(dir, { ...e, sha256: 'cd'.repeat(32) }), false);
    writeFileSync(join(dir, STAMP_FILE), '{"version":1,');
    assert.equal(stampHolds(dir, e), false);
  });
});

describe('streamed engine extraction (real sections of dist/pvf)', { skip: SKIP_BIN }, () => {
  let tmp = '';
  let store: EngineStore;
  let e: EngineEntry;
  let section: ElfSection;
  let bytes: Buffer;
  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'pvf-extract-'));
    store = EngineStore.open(BIN)!;
    // The smallest engine keeps the test quick; the v8 engines take the same path in engines.test.ts.
    e = [...store.manifest.engines].sort((x, y) => x.compressedSize - y.compressedSize)[0];
    section = store.sections.find((s) => s.name === e.section)!;
    bytes = store.readCompressed(e);
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  /** A file holding `data` after some padding, and the section that points at it. */
  const binaryWith = (name: string, data: Buffer): { path: string; s: ElfSection } => {
    const path = join(tmp, name);
    writeFileSync(path, Buffer.concat([Buffer.alloc(4096, 0xee), data, Buffer.alloc(100, 0xee)]));
    return { path, s: { name: section.name, offset: 4096, size: data.length } };
  };

  const extractInto = async (name: string, path: string, s: ElfSection, entry: EngineEntry = e): Promise<{ dir: string; err: unknown }> => {
    const dir = join(tmp, `out-${name}`);
    mkdirSync(dir);
    try {
      await extractEngineTo(path, s, entry, dir);
      return { dir, err: undefined };
    } catch (err) {
      return { dir, err };
    }
  };

  it('writes every file of the manifest, with its hash and a read-only mode', async () => {
    const { dir, err } = await extractInto('good', BIN, section);
    assert.equal(err, undefined);
    assert.deepEqual(readdirSync(dir).sort(), e.files.map((f) => f.name).sort());
    for (const f of e.files) {
      assert.equal(sha256Hex(readFileSync(join(dir, f.name))), f.sha256, f.name);
      assert.equal(statSync(join(dir, f.name)).mode & 0o222, 0, `${f.name} is writable`);
    }
  });

  it('refuses a section with one flipped byte, anywhere, naming the section', async () => {
    for (const at of [0, 7, Math.floor(bytes.length / 2), bytes.length - 1]) {
      const bad = Buffer.from(bytes);
      bad[at] ^= 0x40;
      const { path, s } = binaryWith(`flip-${at}`, bad);
      const { err } = await extractInto(`flip-${at}`, path, s);
      assert.ok(err instanceof ExtractError && err.part === 'section', `byte ${at}: ${String(err)}`);
    }
  });

  it('refuses a truncated section and one with bytes appended', async () => {
    const cut = binaryWith('cut', bytes.subarray(0, bytes.length - 1000));
    const r1 = await extractInto('cut', cut.path, cut.s);
    assert.ok(r1.err instanceof ExtractError && r1.err.part === 'section', String(r1.err));
    const long = binaryWith('long', Buffer.concat([bytes, Buffer.from([0, 0, 0, 0])]));
    const r2 = await extractInto('long', long.path, long.s);
    assert.ok(r2.err instanceof Error, 'appended bytes accepted');
  });

  it('refuses a payload that does not match the manifest even when the section does', async () => {
    const wrongFile = { ...e, files: e.files.map((f, k) => (k === 0 ? { ...f, sha256: '00'.repeat(32) } : f)) };
    const r = await extractInto('wrong-file', BIN, section, wrongFile);
    assert.ok(r.err instanceof ExtractError && r.err.part === 'payload', String(r.err));
    const wrongSize = { ...e, size: e.size - 1 };
    const r2 = await extractInto('wrong-size', BIN, section, wrongSize);
    assert.ok(r2.err instanceof ExtractError && r2.err.part === 'payload', String(r2.err));
  });

  it('fails with the I/O error when a file cannot be created (nothing is followed or overwritten)', async () => {
    const dir = join(tmp, 'out-in-the-way');
    mkdirSync(dir);
    writeFileSync(join(dir, e.files[0].name), 'in the way');
    let err: unknown;
    try {
      await extractEngineTo(BIN, section, e, dir);
    } catch (x) {
      err = x;
    }
    assert.equal((err as NodeJS.ErrnoException).code, 'EEXIST', String(err));
    assert.equal(readFileSync(join(dir, e.files[0].name), 'utf8'), 'in the way');
  });
});
