/**
 * The relay-chain flags shared by `fetch` and `validate --rpc` (--rpc, --para, --at, --rpc-timeout),
 * and the one-line errors and exit codes of a chain that cannot be read.
 */
import { EXIT } from '../core/candidate/verdict.ts';
import { ChainError, parseEndpoint, type ChainErrorKind } from '../chain/errors.ts';
import { parseBlockHash, readChain, type ChainView } from '../chain/relay.ts';
import { UserError, usageError } from './errors.ts';

export interface ChainOptions {
  rpc?: string;
  para?: string;
  at?: string;
  rpcTimeout?: string;
}

export interface ChainRequest {
  url: string;
  para: number;
  at: string | undefined;
  timeoutMs: number;
}

export const CHAIN_EXIT: Record<ChainErrorKind, number> = {
  usage: EXIT.usage,
  unreachable: EXIT.unreachable,
  rpc: EXIT.protocol,
  'block-not-found': EXIT.noBlock,
  'para-not-found': EXIT.noPara,
  unsupported: EXIT.protocol,
  'bad-answer': EXIT.protocol,
};

/** --rpc, --para, --at and --rpc-timeout checked; every mistake a usage error naming the flag. */
export function chainRequest(o: ChainOptions): ChainRequest {
  if (!o.rpc) throw usageError('missing --rpc URL (a relay chain node: ws://, wss://, http:// or https://)');
  if (o.para === undefined) throw usageError('missing --para ID (the parachain id)');
  if (!/^\d+$/.test(o.para) || Number(o.para) > 0xffffffff) throw usageError(`--para ${o.para}: not a para id (an integer below 2^32)`);
  let timeoutMs = 30_000;
  if (o.rpcTimeout !== undefined) {
    if (!/^\d+$/.test(o.rpcTimeout) || Number(o.rpcTimeout) < 1 || Number(o.rpcTimeout) > 600_000) throw usageError(`--rpc-timeout ${o.rpcTimeout}: give milliseconds, 1 to 600000`);
    timeoutMs = Number(o.rpcTimeout);
  }
  const usage = <T>(prefix: string, f: () => T): T => {
    try {
      return f();
    } catch (e) {
      if (e instanceof ChainError) throw usageError(`${prefix}${e.message}`);
      throw e;
    }
  };
  usage('--rpc ', () => parseEndpoint(o.rpc!));
  const at = o.at === undefined ? undefined : usage('', () => parseBlockHash(o.at!));
  return { url: o.rpc, para: Number(o.para), at, timeoutMs };
}

/** Read the chain; a ChainError comes back as it is (validate turns it into abstain, fetch into an exit code). */
export async function readFromChain(req: ChainRequest, opts: Parameters<typeof readChain>[3] = {}): Promise<ChainView> {
  // The WebSocket and RPC libraries load here, only for a command that talks to a chain.
  const { connect } = await import('../chain/rpc.ts');
  const rpc = connect(req.url, { timeoutMs: req.timeoutMs });
  try {
    return await readChain(rpc, req.para, req.at, opts);
  } finally {
    rpc.close();
  }
}

export function chainUserError(e: ChainError): UserError {
  return new UserError(e.message, CHAIN_EXIT[e.kind]);
}
