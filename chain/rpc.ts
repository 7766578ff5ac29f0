/**
 * A JSON-RPC connection to a relay chain node, for the few legacy methods `pvf fetch` and
 * `validate --rpc` need (chain_getBlockHash, chain_getHeader, state_getRuntimeVersion, state_call).
 *
 * `ws://` and `wss://` go through polkadot-api's WebSocket provider and substrate client (made for
 * Substrate nodes: request ids, JSON-RPC errors, reconnection). Plain `http(s)://` endpoints have no
 * polkadot-api provider; each call is one POST of a JSON-RPC request, written here (a few lines over
 * `fetch`). Both bound every call by a timeout and give up on an endpoint after a few failed
 * connection attempts, so a dead endpoint is an error naming it, never a hang.
 */
import { createClient, RpcError, type JsonRpcProvider } from '@polkadot-api/substrate-client';
import { getWsProvider } from '@polkadot-api/ws-provider';
import { WebSocket as WsWebSocket } from 'ws';
import { ChainError, parseEndpoint } from './errors.ts';

export { ChainError, parseEndpoint, type ChainErrorKind } from './errors.ts';

export interface RpcOptions {
  /** Per call, and per connection attempt. */
  timeoutMs?: number;
  /** Connection attempts before the endpoint is reported unreachable. */
  attempts?: number;
}

export interface Rpc {
  readonly url: string;
  call<T>(method: string, params: unknown[]): Promise<T>;
  close(): void;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_ATTEMPTS = 3;

/** Open a connection (WebSocket endpoints connect lazily, on the first call). */
export function connect(url: string, opts: RpcOptions = {}): Rpc {
  const u = parseEndpoint(url);
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const attempts = opts.attempts ?? DEFAULT_ATTEMPTS;
  return u.protocol === 'ws:' || u.protocol === 'wss:' ? wsRpc(url, timeoutMs, attempts) : httpRpc(url, timeoutMs, attempts);
}

function rpcFailure(url: string, method: string, e: unknown): ChainError {
  if (e instanceof ChainError) return e;
  if (e instanceof RpcError) return new ChainError('rpc', `${url}: ${method}: ${e.message}${e.data !== undefined ? ` (${typeof e.data === 'string' ? e.data : JSON.stringify(e.data)})` : ''}`);
  return new ChainError('unreachable', `${url}: ${method}: ${e instanceof Error ? e.message : String(e)}`);
}

function wsRpc(url: string, timeoutMs: number, attempts: number): Rpc {
  // Connection failures are counted here; after `attempts` of them every call fails at once.
  let failures = 0;
  let lastError = '';
  let dead: ChainError | undefined;
  const onDead = new Set<(e: ChainError) => void>();
  // The `ws` package's WebSocket on every Node (20 has no global one; 22's names no cause when a
  // connection fails, where ws says ECONNREFUSED, ENOTFOUND, …).
  const websocketClass = WsWebSocket as unknown as typeof WebSocket;
  const provider = getWsProvider(url, {
    websocketClass,
    timeout: timeoutMs,
    // The provider's status events carry no cause; its logger does.
    logger: (ev: { type: string; error?: { message?: string } }) => {
      if (ev.type === 'ERROR') lastError = ev.error?.message ?? lastError;
      if (ev.type === 'TIMEOUT') lastError = `no WebSocket handshake within ${timeoutMs} ms`;
    },
    onStatusChanged: (s) => {
      if (s.type === 'CONNECTED') failures = 0;
      if (s.type !== 'ERROR' && s.type !== 'CLOSE') return;
      if (++failures < attempts || dead) return;
      dead = new ChainError('unreachable', `${url}: no connection after ${attempts} attempts${lastError ? ` (${lastError})` : ''}`);
      for (const f of onDead) f(dead);
      client.destroy();
    },
  });
  const client = createClient(provider as JsonRpcProvider);
  return {
    url,
    async call<T>(method: string, params: unknown[]): Promise<T> {
      if (dead) throw dead;
      let fail: (e: ChainError) => void = () => {};
      const died = new Promise<never>((_, reject) => (fail = reject));
      onDead.add(fail);
      const timer = setTimeout(() => fail(new ChainError('unreachable', `${url}: ${method}: no answer within ${timeoutMs} ms`)), timeoutMs);
      try {
        return await Promise.race([client.request<T>(method, params), died]);
      } catch (e) {
        throw rpcFailure(url, method, e);
      } finally {
        clearTimeout(timer);
        onDead.delete(fail);
      }
    },
    close() {
      dead ??= new ChainError('unreachable', `${url}: closed`);
      try {
        client.destroy();
      } catch {
        // already destroyed
      }
    },
  };
}

/**
 * The most an answer may hold: a relay chain's largest answer is validation code (at most
 * max_code_size, a few MiB, twice that as hex). The same bound the `ws` package puts on a
 * WebSocket message (100 MiB): a node that sends more is not answering as a relay chain does.
 */
export const MAX_ANSWER_BYTES = 100 * 1024 * 1024;

async function boundedText(res: Response, url: string, method: string): Promise<string> {
  const tooLarge = () => new ChainError('bad-answer', `${url}: ${method}: an answer larger than ${MAX_ANSWER_BYTES} bytes`);
  if (Number(res.headers.get('content-length') ?? 0) > MAX_ANSWER_BYTES) {
    await res.body?.cancel();
    throw tooLarge();
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (res.body) {
    const reader = res.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > MAX_ANSWER_BYTES) {
        await reader.cancel();
        throw tooLarge();
      }
      chunks.push(value);
    }
  }
  return Buffer.concat(chunks).toString('utf8');
}

interface JsonRpcAnswer {
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
}

function httpRpc(url: string, timeoutMs: number, attempts: number): Rpc {
  let id = 0;
  const closed = new AbortController();
  return {
    url,
    async call<T>(method: string, params: unknown[]): Promise<T> {
      const body = JSON.stringify({ jsonrpc: '2.0', id: ++id, method, params });
      let last = '';
      for (let attempt = 1; attempt <= attempts; attempt++) {
        let res: Response;
        try {
          res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.any([closed.signal, AbortSignal.timeout(timeoutMs)]) });
        } catch (e) {
          // A refused or reset connection, a DNS failure, a timeout: try again after a short pause.
          const cause = (e as { cause?: { code?: string; message?: string } }).cause;
          last = cause?.code ?? cause?.message ?? (e as Error).message;
          if (closed.signal.aborted) break;
          await new Promise((r) => setTimeout(r, 250 * attempt));
          continue;
        }
        if (!res.ok && res.status >= 500 && attempt < attempts) {
          last = `HTTP ${res.status}`;
          continue;
        }
        const text = await boundedText(res, url, method);
        let answer: JsonRpcAnswer;
        try {
          answer = JSON.parse(text) as JsonRpcAnswer;
        } catch {
          throw new ChainError('bad-answer', `${url}: ${method}: HTTP ${res.status}, not a JSON-RPC answer`);
        }
        if (answer.error) throw rpcFailure(url, method, new RpcError(answer.error));
        if (!('result' in answer)) throw new ChainError('bad-answer', `${url}: ${method}: HTTP ${res.status}, a JSON-RPC answer with neither result nor error`);
        return answer.result as T;
      }
      throw new ChainError('unreachable', `${url}: ${method}: no answer after ${attempts} attempts (${last})`);
    },
    close() {
      closed.abort();
    },
  };
}
