/**
 * The worker sandbox (engines/sandbox.ts): an "escaped" job (engines/escape-probe.ts: code run by
 * an engine's node inside the real sandbox, as if a PVF had broken out of the engine) tries to open a
 * TCP connection, read and write outside its folders, start a process and reserve address space past
 * the limit. Run with no layer, every attempt succeeds (so the test can fail); with each layer alone,
 * the attempts that layer stops are denied, with the error that layer gives; with all of them, every
 * attempt is denied. Then `pvf doctor`, `--require-sandbox`, and verdicts with and without the sandbox.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { ATTEMPTS, runEscapeProbe, type Attempt } from '../engines/escape-probe.ts';
import { permissionFlag, sandboxLayers, sandboxedArgv, signalOfExit, type LayerName } from '../engines/sandbox.ts';
import { EngineStore } from '../engines/store/store.ts';
import { newestActiveV8 } from '../engines/registry.ts';
import { BIN, SKIP_BIN } from './support/binary.ts';

describe('sandbox flags', () => {
  it('the permission flag follows the node version (stable from 22.13 and 23.5)', () => {
    assert.equal(permissionFlag('v24.21.0'), '--permission');
    assert.equal(permissionFlag('22.23.3'), '--permission');
    assert.equal(permissionFlag('22.12.0'), '--experimental-permission');
    assert.equal(permissionFlag('23.4.0'), '--experimental-permission');
    assert.equal(permissionFlag('23.5.0'), '--permission');
    assert.equal(permissionFlag('20.19.0'), '--experimental-permission');
    assert.equal(permissionFlag('18.0.0'), undefined);
  });

  it('a worker killed by a signal inside bubblewrap is seen as that signal (bwrap exits 128 + N)', () => {
    assert.equal(signalOfExit(139), 'SIGSEGV');
    assert.equal(signalOfExit(137), 'SIGKILL');
    assert.equal(signalOfExit(128), null);
    assert.equal(signalOfExit(3), null);
    assert.equal(signalOfExit(null), null);
    const ns = sandboxLayers().find((l) => l.name === 'namespaces');
    if (!ns?.active) return;
    const { argv, viaBwrap } = sandboxedArgv({ argv: [process.execPath, '-e', 'process.kill(process.pid, "SIGSEGV")'], nodeVersion: process.version, readDirs: [dirname(process.execPath)] }, new Set<LayerName>(['namespaces']));
    assert.equal(viaBwrap, true);
    const r = spawnSync(argv[0], argv.slice(1), { env: {} });
    assert.equal(signalOfExit(r.status), 'SIGSEGV', `exit ${r.status} ${r.stderr}`);
  });

  it('only the layers asked for wrap the command; the node flags come before the script', () => {
    const cmd = { argv: ['/e/node', '/e/worker.cjs'], nodeVersion: '24.21.0', readDirs: ['/e', '/f'] };
    assert.deepEqual(sandboxedArgv(cmd, new Set()).argv, cmd.argv);
    const perm = sandboxedArgv(cmd, new Set<LayerName>(['permission'])).argv;
    assert.deepEqual(perm, ['/e/node', '--permission', '--allow-fs-read=/e', '--allow-fs-read=/f', '--allow-worker', '/e/worker.cjs']);
    const all = sandboxedArgv(cmd).argv;
    for (const l of sandboxLayers()) {
      const present = l.name === 'permission' ? all.includes('--permission') : l.name === 'namespaces' ? all.some((a) => a.endsWith('/bwrap')) : all.some((a) => a.endsWith('/prlimit'));
      assert.equal(present, l.active, l.name);
    }
  });
});

/** Which layer stops which attempt, and the error it gives. */
const STOPS: Record<LayerName, Partial<Record<Attempt, RegExp>>> = {
  permission: { read: /ERR_ACCESS_DENIED/, write: /ERR_ACCESS_DENIED/, spawn: /ERR_ACCESS_DENIED/ },
  // No route to the host's loopback, the host's files are not in the mount namespace at all.
  namespaces: { connect: /ECONNREFUSED|ENETUNREACH|EHOSTUNREACH/, read: /ENOENT/, write: /ENOENT|EROFS/ },
  limits: { allocate: /could not allocate memory|Out of memory/i },
};

describe('an escaped job inside the real worker sandbox', { skip: SKIP_BIN }, () => {
  let dir = '';
  let engine: { node: string; nodeVersion: string; engineDir: string };
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pvf-sandbox-'));
    const store = EngineStore.open(BIN)!;
    const v8 = newestActiveV8(store.manifest.engines)!;
    const engineDir = await store.ensureExtracted(v8, { to: join(dir, 'engine') });
    engine = { node: join(engineDir, 'node'), nodeVersion: /node(\d+\.\d+\.\d+)/.exec(v8.id)![1], engineDir };
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('with no layer, every attempt succeeds (the attempts are real)', async () => {
    const r = await runEscapeProbe({ ...engine, only: new Set() });
    for (const a of ATTEMPTS) assert.equal(r[a].denied, false, `${a}: ${r[a].error}`);
  });

  for (const layer of ['permission', 'namespaces', 'limits'] as LayerName[]) {
    it(`the ${layer} layer alone stops ${Object.keys(STOPS[layer]).join(', ')}`, async (t) => {
      const status = sandboxLayers().find((l) => l.name === layer)!;
      if (!status.active) return t.skip(`the ${layer} layer is not active on this machine: ${status.detail}`);
      const r = await runEscapeProbe({ ...engine, only: new Set([layer]) });
      for (const a of ATTEMPTS) {
        const expected = STOPS[layer][a];
        if (expected) {
          assert.equal(r[a].denied, true, `${a} under ${layer}`);
          assert.match(r[a].error ?? '', expected, `${a} under ${layer}`);
        } else {
          assert.equal(r[a].denied, false, `${a} is not ${layer}'s to stop: ${r[a].error}`);
        }
      }
      t.diagnostic(`${layer}: ${ATTEMPTS.map((a) => `${a} ${r[a].denied ? `denied (${r[a].error})` : 'allowed'}`).join('; ')}`);
    });
  }

  it('with every layer this machine gives, each attempt is denied by the layers that stop it', async (t) => {
    const active = sandboxLayers().filter((l) => l.active).map((l) => l.name);
    const r = await runEscapeProbe(engine);
    for (const a of ATTEMPTS) {
      const stoppers = active.filter((l) => STOPS[l][a]);
      assert.equal(r[a].denied, stoppers.length > 0, `${a}: stopped by ${stoppers.join(', ') || 'no active layer'}`);
    }
    const missing = sandboxLayers().filter((l) => !l.active);
    if (missing.length) t.diagnostic(`not active here: ${missing.map((l) => `${l.name} (${l.detail})`).join('; ')}`);
  });
});

describe('pvf doctor and --require-sandbox (dist/pvf)', { skip: SKIP_BIN }, () => {
  let cache = '';
  before(() => {
    cache = mkdtempSync(join(tmpdir(), 'pvf-doctor-'));
  });
  after(() => rmSync(cache, { recursive: true, force: true }));
  const run = (args: string[], env: NodeJS.ProcessEnv = {}) => spawnSync(BIN, args, { encoding: 'utf8', env: { ...process.env, CI: '1', PVF_CACHE_DIR: cache, ...env } });

  it('doctor: exit 0 exactly when every layer is active and the escaped job was stopped at every attempt', () => {
    const r = run(['doctor', '--json']);
    const doc = JSON.parse(r.stdout) as { ok: boolean; layers: Array<{ name: string; active: boolean }>; escapedJob: { attempts: Record<string, { denied: boolean }> }; cache: { ok: boolean } };
    const allActive = doc.layers.every((l) => l.active);
    assert.deepEqual(doc.layers.map((l) => l.name), ['permission', 'namespaces', 'limits']);
    assert.equal(doc.ok, allActive && Object.values(doc.escapedJob.attempts).every((a) => a.denied) && doc.cache.ok);
    assert.equal(r.status, doc.ok ? 0 : 1);
    if (allActive) assert.equal(doc.ok, true, 'every layer is active here, so the escaped job must be stopped');
  });

  it('doctor with the sandbox turned off: exit 1, one line per missing layer with how to enable it, the escaped job allowed', () => {
    const r = run(['doctor'], { PVF_SANDBOX: 'off' });
    assert.equal(r.status, 1);
    for (const l of ['permission', 'namespaces', 'limits']) assert.match(r.stdout, new RegExp(`^  MISSING ${l} +turned off by PVF_SANDBOX=off — to enable: unset PVF_SANDBOX$`, 'm'));
    assert.match(r.stdout, /^ {2}ALLOWED open a TCP connection/m);
  });

  it('--require-sandbox on a machine without the layers: abstain sandbox-unavailable (exit 2), never a verdict; without it, a warning', () => {
    const strict = run(['validate', '--sample', '--require-sandbox', '--json'], { PVF_SANDBOX: 'off' });
    assert.equal(strict.status, 2);
    const doc = JSON.parse(strict.stdout) as { verdict: string; reason: string; detail: string };
    assert.equal(doc.verdict, 'abstain');
    assert.equal(doc.reason, 'sandbox-unavailable');
    assert.match(doc.detail, /namespaces/);
    const lax = run(['validate', '--sample', '--json'], { PVF_SANDBOX: 'off' });
    assert.equal(lax.status, 0);
    assert.match(lax.stderr, /^pvf: warning: the engine workers run without the sandbox layers permission, namespaces, limits; `pvf doctor`/);
  });

  it('verdicts and outputs are the same with and without the sandbox, on every engine', () => {
    const engines = (JSON.parse(run(['engines', 'list', '--json']).stdout) as { engines: Array<{ id: string; status: string }> }).engines.filter((e) => e.status === 'active');
    for (const e of engines) {
      const on = run(['validate', '--sample', '--engine', e.id, '--json']);
      const off = run(['validate', '--sample', '--engine', e.id, '--json'], { PVF_SANDBOX: 'off' });
      assert.equal(on.status, 0, `${e.id}: ${on.stdout} ${on.stderr}`);
      const strip = (s: string) => {
        const d = JSON.parse(s) as Record<string, unknown>;
        delete d.timings;
        return d;
      };
      assert.deepEqual(strip(on.stdout), strip(off.stdout), e.id);
    }
  });
});
