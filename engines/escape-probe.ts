/**
 * An "escaped" job: JavaScript run by an engine's node inside the real worker sandbox, as if a PVF
 * had broken out of the engine, trying what an attacker would: open a TCP connection, read a file
 * outside the engine's folder, write outside its temporary folder, start a process, reserve more
 * address space than the limit. `pvf doctor` runs it to show the sandbox working; the tests run it
 * under each layer alone to show which layer stops what (tests/sandbox.test.ts).
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sandboxedArgv, type LayerName } from './sandbox.ts';

export type Attempt = 'connect' | 'read' | 'write' | 'spawn' | 'allocate';
export const ATTEMPTS: readonly Attempt[] = ['connect', 'read', 'write', 'spawn', 'allocate'];

/** What each attempt is, for reports. */
export const ATTEMPT_TEXT: Record<Attempt, string> = {
  connect: 'open a TCP connection to a server of this machine (127.0.0.1)',
  read: "read a file outside the engine's folder",
  write: 'write a file outside its temporary folder',
  spawn: "start a process (the engine's own node)",
  allocate: 'reserve 40 Wasm memories (about 400 GiB of address space)',
};

export interface AttemptResult {
  denied: boolean;
  /** The error code or message the attempt met (when denied). */
  error?: string;
}

/** The job. It gets its targets as one JSON argument and prints one JSON line. */
const ESCAPED_JOB = `
const cfg = JSON.parse(process.argv[1]);
const fs = require('fs'), net = require('net'), cp = require('child_process');
const out = {};
const fail = (e) => ({ denied: true, error: String((e && (e.code || e.message)) || e).slice(0, 200) });
const attempt = (name, f) => { try { f(); out[name] = { denied: false }; } catch (e) { out[name] = fail(e); } };
new Promise((resolve) => {
  let s, timer;
  const done = (r) => { clearTimeout(timer); try { s && s.destroy(); } catch {} resolve(r); };
  try { s = net.connect(cfg.port, '127.0.0.1'); } catch (e) { return done(fail(e)); }
  s.on('connect', () => done({ denied: false }));
  s.on('error', (e) => done(fail(e)));
  timer = setTimeout(() => done({ denied: true, error: 'ETIMEDOUT' }), 3000);
}).then((connect) => {
  out.connect = connect;
  attempt('read', () => fs.readFileSync(cfg.readPath));
  attempt('write', () => fs.writeFileSync(cfg.writePath, 'escaped'));
  attempt('spawn', () => { const r = cp.spawnSync(cfg.node, ['-e', '0']); if (r.error) throw r.error; if (r.status !== 0) throw new Error('exit ' + r.status); });
  attempt('allocate', () => { const m = []; for (let k = 0; k < 40; k++) m.push(new WebAssembly.Memory({ initial: 1, maximum: 65536 })); });
  process.stdout.write(JSON.stringify(out) + '\\n');
});
`;

export interface EscapeProbeOptions {
  /** The engine's node binary and its version. */
  node: string;
  nodeVersion: string;
  /** The engine's folder (the only one the job may read). */
  engineDir: string;
  /** Only these layers (default: every active one). */
  only?: ReadonlySet<LayerName>;
}

/**
 * Run the escaped job; for each attempt, whether it was denied. The host side checks the effects
 * too: an attempt counts as denied only if the server saw no connection and no file was written.
 */
export async function runEscapeProbe(o: EscapeProbeOptions): Promise<Record<Attempt, AttemptResult>> {
  const outside = mkdtempSync(join(tmpdir(), 'pvf-escape-'));
  const readPath = join(outside, 'secret');
  const writePath = join(outside, 'written-by-the-job');
  writeFileSync(readPath, 'a key the job must not read');
  let connections = 0;
  const server = createServer((s) => {
    connections++;
    s.destroy();
  });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
    });
    const cfg = JSON.stringify({ port, readPath, writePath, node: o.node });
    const { argv } = sandboxedArgv({ argv: [o.node, '-e', ESCAPED_JOB, cfg], nodeVersion: o.nodeVersion, readDirs: [o.engineDir] }, o.only);
    const stdout = await new Promise<string>((resolve, reject) => {
      const child = spawn(argv[0], argv.slice(1), { cwd: outside, env: {}, stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
      let text = '';
      let err = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (text += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-2000)));
      child.on('error', reject);
      child.on('close', (code) => (text.trim() ? resolve(text) : reject(new Error(`the escaped job gave no answer (exit ${code}): ${err.trim().split('\n').slice(-1)[0] ?? ''}`))));
    });
    const seen = JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<Attempt, AttemptResult>;
    // The host's own view wins: a connection it accepted or a file that appeared was not denied.
    if (connections > 0) seen.connect = { denied: false };
    if (existsSync(writePath)) seen.write = { denied: false };
    return seen;
  } finally {
    server.close();
    rmSync(outside, { recursive: true, force: true });
  }
}
