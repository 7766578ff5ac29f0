/**
 * The errors of reading a relay chain, and the endpoint check: apart from the connection code
 * (rpc.ts, which loads the WebSocket and RPC libraries), so that the CLI loads those only when a
 * command talks to a chain.
 */
/**
 * What went wrong talking to the chain. `usage`: the endpoint is not a URL we can use;
 * `unreachable`: no connection or no answer in time; `rpc`: the node answered a JSON-RPC error;
 * `block-not-found`, `para-not-found`, `unsupported` (the runtime lacks an API), `bad-answer` (an
 * answer that does not decode or does not check out): from the relay queries (relay.ts).
 */
export type ChainErrorKind = 'usage' | 'unreachable' | 'rpc' | 'block-not-found' | 'para-not-found' | 'unsupported' | 'bad-answer';

export class ChainError extends Error {
  override readonly name = 'ChainError';
  constructor(
    readonly kind: ChainErrorKind,
    message: string,
  ) {
    super(message);
  }
}

/** The endpoint as given, checked: ws, wss, http or https, with a host. */
export function parseEndpoint(url: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ChainError('usage', `${url}: not a URL (give ws://, wss://, http:// or https://HOST[:PORT])`);
  }
  if (!['ws:', 'wss:', 'http:', 'https:'].includes(u.protocol)) throw new ChainError('usage', `${url}: a relay chain endpoint is ws://, wss://, http:// or https://, not ${u.protocol}`);
  if (!u.hostname) throw new ChainError('usage', `${url}: no host`);
  return u;
}

