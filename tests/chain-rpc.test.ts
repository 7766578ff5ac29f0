/**
 * `pvf fetch` and `validate --rpc` against endpoints that do not work: a mistyped flag is a usage
 * error (64); a port nobody listens on, or a server that accepts and never answers, is
 * `unreachable` (69) within the timeout, never a hang, and leaves nothing in --out; `validate
 * --rpc` answers `abstain` (chain-unavailable), never `invalid`. No relay chain is needed here
 * (tests/chain.test.ts runs a real one).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { compact, u32 } from 'scale-ts';
import { concatBytes } from '../core/primitives/bytes.ts';
import { blake2_256 } from '../core/primitives/hashing.ts';
import { toHex } from '../core/primitives/hex.ts';
import { encodePersistedValidationData } from '../core/candidate/codecs.ts';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCliAsync } from './support/cli.ts';
import { encodePovFile } from '../core/candidate/codecs.ts';
import { EXIT } from '../core/candidate/verdict.ts';

let dir: string;
let closedPort: number;
let silent: Server;
let silentPort: number;
const sockets = new Set<Socket>();

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pvf-chain-rpc-'));
  writeFileSync(join(dir, 'candidate.pov'), encodePovFile({ blockData: new Uint8Array(16) }, { parentHead: new Uint8Array(8), relayParentNumber: 1, relayParentStorageRoot: new Uint8Array(32), maxPovSize: 1 << 20 }));
  // A port that was free a moment ago and is closed now: connections are refused.
  const probe = createServer();
  closedPort = await listen(probe);
  await new Promise((r) => probe.close(r));
  // A server that accepts connections and never says a word (no WebSocket handshake, no HTTP answer).
  silent = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  silentPort = await listen(silent);
});
after(() => {
  for (const s of sockets) s.destroy();
  silent.close();
  rmSync(dir, { recursive: true, force: true });
});

function assertOneLine(r: { code: number | null; stdout: string; stderr: string }, code: number, pattern: RegExp): void {
  assert.equal(r.code, code, r.stderr);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, pattern);
}

describe('fetch and validate --rpc: usage errors name the flag (exit 64)', () => {
  const out = () => join(dir, 'out-usage');
  const cases: Array<[string, string[], RegExp]> = [
    ['no --rpc', ['fetch', '--para', '1000', '--out', 'x'], /missing --rpc URL/],
    ['no --para', ['fetch', '--rpc', 'ws://127.0.0.1:1', '--out', 'x'], /missing --para ID/],
    ['no --out', ['fetch', '--rpc', 'ws://127.0.0.1:1', '--para', '1000'], /missing --out DIR/],
    ['a scheme that is not ws or http', ['fetch', '--rpc', 'ftp://node.example', '--para', '1000', '--out', 'x'], /--rpc ftp:\/\/node\.example: a relay chain endpoint is ws:\/\/, wss:\/\/, http:\/\/ or https:\/\/, not ftp:/],
    ['not a URL', ['fetch', '--rpc', 'localhost:9944', '--para', '1000', '--out', 'x'], /--rpc localhost:9944: /],
    ['a para id that is not a number', ['fetch', '--rpc', 'ws://127.0.0.1:1', '--para', 'asset-hub', '--out', 'x'], /--para asset-hub: not a para id/],
    ['a para id of 2^32', ['fetch', '--rpc', 'ws://127.0.0.1:1', '--para', '4294967296', '--out', 'x'], /--para 4294967296: not a para id/],
    ['a block hash too short', ['fetch', '--rpc', 'ws://127.0.0.1:1', '--para', '1000', '--at', '0x1234', '--out', 'x'], /^pvf: --at 0x1234: not a block hash \(0x and 64 hex digits\)$/m],
    ['a zero timeout', ['fetch', '--rpc', 'ws://127.0.0.1:1', '--para', '1000', '--rpc-timeout', '0', '--out', 'x'], /--rpc-timeout 0: give milliseconds/],
    ['validate --rpc with --code', ['validate', '--rpc', 'ws://127.0.0.1:1', '--para', '1000', '--code', 'x.wasm', '--pov', 'x'], /--rpc reads the code and the PVD from the chain/],
    ['validate --rpc with --session', ['validate', '--rpc', 'ws://127.0.0.1:1', '--para', '1000', '--session', '3', '--pov', 'x'], /drop --session and --executor-params/],
    ['validate --rpc without a PoV', ['validate', '--rpc', 'ws://127.0.0.1:1', '--para', '1000'], /--rpc needs the PoV/],
    ['validate --para without --rpc', ['validate', '--para', '1000', '--pov', 'x'], /missing --rpc URL/],
  ];
  for (const [what, args, pattern] of cases) {
    it(what, async () => {
      const r = await runCliAsync(args.map((a) => (a === 'x' ? out() : a)));
      assertOneLine(r, EXIT.usage, pattern);
    });
  }
});

describe('an endpoint that does not work: unreachable (exit 69) within the timeout, nothing written', () => {
  for (const scheme of ['ws', 'http']) {
    it(`${scheme}://: connection refused`, async () => {
      const out = join(dir, `out-refused-${scheme}`);
      const t = performance.now();
      const r = await runCliAsync(['fetch', '--rpc', `${scheme}://127.0.0.1:${closedPort}`, '--para', '1000', '--out', out, '--rpc-timeout', '2000']);
      assertOneLine(r, EXIT.unreachable, new RegExp(`^pvf: ${scheme}://127\\.0\\.0\\.1:${closedPort}: .*(no connection after 3 attempts|no answer after 3 attempts)`));
      assert.ok(performance.now() - t < 30_000, 'gave up in reasonable time');
      assert.equal(existsSync(out), false, 'a failed fetch leaves nothing, not even the folder');
    });
    it(`${scheme}://: a server that accepts and never answers`, async () => {
      const out = join(dir, `out-silent-${scheme}`);
      const t = performance.now();
      const r = await runCliAsync(['fetch', '--rpc', `${scheme}://127.0.0.1:${silentPort}`, '--para', '1000', '--out', out, '--rpc-timeout', '1500']);
      assertOneLine(r, EXIT.unreachable, new RegExp(`^pvf: ${scheme}://127\\.0\\.0\\.1:${silentPort}: `));
      assert.ok(performance.now() - t < 30_000, 'gave up in reasonable time');
      assert.equal(existsSync(out), false, 'a failed fetch leaves nothing, not even the folder');
    });
  }
  it('validate --rpc: abstain (chain-unavailable, exit 2), never invalid', async () => {
    const r = await runCliAsync(['validate', '--rpc', `ws://127.0.0.1:${closedPort}`, '--para', '1000', '--pov-file', join(dir, 'candidate.pov'), '--rpc-timeout', '2000', '--json']);
    assert.equal(r.code, EXIT.abstain, r.stderr);
    const doc = JSON.parse(r.stdout) as { verdict: string; reason: string; detail: string };
    assert.equal(doc.verdict, 'abstain');
    assert.equal(doc.reason, 'chain-unavailable');
    assert.match(doc.detail, new RegExp(`ws://127\\.0\\.0\\.1:${closedPort}`));
  });
});

/**
 * A node that answers, but not as a relay chain should: its runtime has no ParachainHost API, or
 * it hands out code that does not hash to the code hash it names. Served over HTTP by this test.
 */
describe('a node whose answers do not check out: exit 76, one line saying what is wrong', () => {
  let node: HttpServer;
  let url: string;
  let mode: 'no-parachain-host' | 'wrong-code' | 'huge' = 'wrong-code';
  const header = { parentHash: toHex(new Uint8Array(32)), number: '0x5', stateRoot: toHex(new Uint8Array(32).fill(1)), extrinsicsRoot: toHex(new Uint8Array(32).fill(2)), digest: { logs: [] as string[] } };
  const hash = toHex(blake2_256(concatBytes([new Uint8Array(32), compact.enc(5), new Uint8Array(32).fill(1), new Uint8Array(32).fill(2), compact.enc(0)])));
  const code = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);
  const some = (b: Uint8Array) => toHex(concatBytes([Uint8Array.of(1), b]));
  const answer = (method: string, params: unknown[]): unknown => {
    if (method === 'chain_getBlockHash') return hash;
    if (method === 'chain_getHeader') return header;
    if (method === 'state_getRuntimeVersion') return { specName: 'not-a-relay', specVersion: 1, apis: mode === 'no-parachain-host' ? [['0xdf6acb689907609b', 4]] : [['0xaf2c0297a23e6d3d', 5]] };
    const call = params[0] as string;
    if (call === 'ParachainHost_validation_code_hash') return some(blake2_256(code));
    if (call === 'ParachainHost_validation_code_by_hash') return some(concatBytes([compact.enc(4), new Uint8Array([9, 9, 9, 9])]));
    if (call === 'ParachainHost_persisted_validation_data') return some(encodePersistedValidationData({ parentHead: new Uint8Array(8), relayParentNumber: 5, relayParentStorageRoot: new Uint8Array(32), maxPovSize: 1 << 20 }));
    if (call === 'ParachainHost_session_index_for_child') return toHex(u32.enc(0));
    if (call === 'ParachainHost_session_executor_params') return some(Uint8Array.of(0));
    throw new Error(`unexpected ${method} ${call}`);
  };
  before(async () => {
    node = createHttpServer((req, res) => {
      if (mode === 'huge') {
        // An answer that never ends: 1 MiB chunks, as long as the client reads.
        const chunk = Buffer.alloc(1 << 20, 0x20);
        const pump = () => {
          while (res.write(chunk)) if (res.destroyed) return;
        };
        res.on('drain', pump);
        res.on('close', () => res.off('drain', pump));
        pump();
        return;
      }
      let body = '';
      req.on('data', (d: Buffer) => (body += d));
      req.on('end', () => {
        const msg = JSON.parse(body) as { id: number; method: string; params: unknown[] };
        let reply: object;
        try {
          reply = { jsonrpc: '2.0', id: msg.id, result: answer(msg.method, msg.params) };
        } catch (e) {
          reply = { jsonrpc: '2.0', id: msg.id, error: { code: 4003, message: (e as Error).message } };
        }
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(reply));
      });
    });
    await new Promise<void>((r) => node.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(node.address() as { port: number }).port}`;
  });
  after(() => node.close());

  it('code that does not hash to the hash the chain names', async () => {
    mode = 'wrong-code';
    const out = join(dir, 'out-wrong-code');
    const r = await runCliAsync(['fetch', '--rpc', url, '--para', '1000', '--out', out]);
    assertOneLine(r, EXIT.protocol, new RegExp(`^pvf: para 1000: the code ${url} returned hashes to 0x[0-9a-f]{64}, not to the ${toHex(blake2_256(code))} the chain names`));
    assert.equal(existsSync(out), false);
    const v = await runCliAsync(['validate', '--rpc', url, '--para', '1000', '--pov-file', join(dir, 'candidate.pov'), '--json']);
    assert.equal(v.code, EXIT.abstain, v.stderr);
    assert.equal((JSON.parse(v.stdout) as { reason: string }).reason, 'chain-unavailable');
  });
  it('an answer that does not end: refused past 100 MiB, never read whole into memory', async () => {
    mode = 'huge';
    const r = await runCliAsync(['fetch', '--rpc', url, '--para', '1000', '--out', join(dir, 'out-huge')]);
    assertOneLine(r, EXIT.protocol, new RegExp(`^pvf: ${url}: chain_getBlockHash: an answer larger than 104857600 bytes`));
  });
  it('a runtime without the ParachainHost API', async () => {
    mode = 'no-parachain-host';
    const r = await runCliAsync(['fetch', '--rpc', url, '--para', '1000', '--out', join(dir, 'out-no-api')]);
    assertOneLine(r, EXIT.protocol, /^pvf: the runtime at relay block #5 \(not-a-relay 1\) has no ParachainHost API: not a relay chain/);
  });
});
