/**
 * A real relay chain for the tests (chopsticks, a devDependency, in a child process, so that a test
 * can stop it like a node going away), and the few JSON-RPC calls that set it up: chopsticks'
 * `dev_setStorage` and `dev_newBlock`, and standard reads. The setup talks JSON-RPC through the
 * `ws` package directly, not through the code under test (chain/rpc.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { Bytes, u32 } from 'scale-ts';
import { WebSocket } from 'ws';
import { concatBytes } from '../../core/primitives/bytes.ts';
import { blake2_256 } from '../../core/primitives/hashing.ts';
import { storageKey, twox64Concat } from '../../scripts/candidates/relay.ts';
import { toHex } from '../../core/primitives/hex.ts';
import { REPO } from './pvfs.ts';

const TSX = import.meta.resolve('tsx');

export interface RelayChain {
  port: number;
  ws: string;
  http: string;
  call<T>(method: string, params: unknown[]): Promise<T>;
  stop(): Promise<void>;
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Start chopsticks on `genesis` (a raw chain spec); resolves once it answers JSON-RPC. */
export async function startRelayChain(genesis: string): Promise<RelayChain> {
  const child: ChildProcess = spawn(process.execPath, ['--import', TSX, `${REPO}tests/support/relay-chain-server.ts`, genesis], {
    env: { ...process.env, LOG_LEVEL: 'error' },
    stdio: ['pipe', 'pipe', 'pipe'], // stdin open: the server exits when this process goes away
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`chopsticks did not start within 120 s: ${stderr.slice(-2000)}`)), 120_000);
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = /LISTENING (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`chopsticks exited (${code}) before listening: ${stderr.slice(-2000)}`));
    });
  });
  for (let k = 0; k < 200 && !(await portOpen(port)); k++) await new Promise((r) => setTimeout(r, 50));
  const socket = new WebSocket(`ws://127.0.0.1:${port}`);
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  let id = 0;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  socket.on('message', (data) => {
    const msg = JSON.parse(String(data)) as { id?: number; result?: unknown; error?: { message: string } };
    const p = msg.id !== undefined ? pending.get(msg.id) : undefined;
    if (!p) return;
    pending.delete(msg.id!);
    if (msg.error) p.reject(new Error(msg.error.message));
    else p.resolve(msg.result);
  });
  return {
    port,
    ws: `ws://127.0.0.1:${port}`,
    http: `http://127.0.0.1:${port}`,
    call<T>(method: string, params: unknown[]): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const n = ++id;
        pending.set(n, { resolve: resolve as (v: unknown) => void, reject });
        socket.send(JSON.stringify({ jsonrpc: '2.0', id: n, method, params }));
      });
    },
    async stop() {
      socket.close();
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}

const paraKey = (item: string, para: number) => concatBytes([storageKey('Paras', item), twox64Concat(u32.enc(para))]);
const vecU8 = Bytes.enc();

export interface ParaRegistration {
  para: number;
  code: Uint8Array;
  head: Uint8Array;
}

/**
 * The relay storage that makes each para a parachain with its code and head (what registration
 * and onboarding would leave), and ExecutorParams for `session` in ParaSessionInfo. dev_setStorage
 * writes each value as given: Vec<u8> values carry their SCALE length prefix.
 */
export function paraStorage(paras: ParaRegistration[], session: number, executorParams: Uint8Array): Array<[string, string]> {
  const entries: Array<[string, string]> = [];
  for (const r of paras) {
    const codeHash = blake2_256(r.code);
    entries.push(
      [toHex(paraKey('Heads', r.para)), toHex(vecU8(r.head))],
      [toHex(paraKey('CurrentCodeHash', r.para)), toHex(codeHash)],
      [toHex(concatBytes([storageKey('Paras', 'CodeByHash'), codeHash])), toHex(vecU8(r.code))],
      [toHex(concatBytes([storageKey('Paras', 'CodeByHashRefs'), codeHash])), toHex(u32.enc(1))],
      [toHex(paraKey('ParaLifecycles', r.para)), '0x02'], // ParaLifecycle::Parachain
    );
  }
  const ids = paras.map((r) => r.para).sort((a, b) => a - b);
  entries.push([toHex(storageKey('Paras', 'Parachains')), toHex(concatBytes([Uint8Array.of(ids.length * 4), ...ids.map((id) => u32.enc(id))]))]);
  // SessionExecutorParams is an Identity-hashed map (its genesis entry for session 0 is keyed so).
  entries.push([toHex(concatBytes([storageKey('ParaSessionInfo', 'SessionExecutorParams'), u32.enc(session)])), toHex(executorParams)]);
  return entries;
}

/** Register the paras and the session's params, build a block on top; the new best block's hash. */
export async function registerParas(chain: RelayChain, paras: ParaRegistration[], session: number, executorParams: Uint8Array): Promise<string> {
  const number = async (hash?: string) => Number.parseInt((await chain.call<{ number: string }>('chain_getHeader', hash ? [hash] : [])).number, 16);
  const before = await number();
  await chain.call('dev_setStorage', [paraStorage(paras, session, executorParams)]);
  const head = await chain.call<string>('dev_newBlock', [{ count: 1 }]);
  // chopsticks only logs a block it failed to build, and answers with the old head.
  if ((await number(head)) !== before + 1) throw new Error(`chopsticks did not build block #${before + 1} (head ${head})`);
  return head;
}
