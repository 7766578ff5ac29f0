/**
 * `pvf fetch --rpc URL --para ID [--at HASH] --out DIR`: what a validator reads from the relay
 * chain for a candidate of the para at that relay parent, written to DIR: the code (named by its
 * hash, kept when already there), the PersistedValidationData, and `chain.json` describing both
 * with the session and its ExecutorParams. Every file is written whole or not at all.
 */
import type { Command } from 'commander';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT } from '../core/candidate/verdict.ts';
import { writeAtomic } from '../core/corpus/format.ts';
import { toHex } from '../core/primitives/hex.ts';
import { blake2_256 } from '../core/primitives/hashing.ts';
import { executorParamsHash } from '../core/session/executor-params.ts';
import { ChainError } from '../chain/errors.ts';
import type { ChainView } from '../chain/relay.ts';
import { chainRequest, chainUserError, readFromChain, type ChainOptions } from './chain.ts';
import { dataError, usageError } from './errors.ts';

interface FetchOptions extends ChainOptions {
  out?: string;
  json?: boolean;
}

export const CHAIN_JSON = 'chain.json';
export const PVD_FILE = 'pvd.scale';
export const codeFileName = (codeHash: string): string => `${codeHash}.code`;

/** The description of a chain read: chain.json, and `validate --rpc --json`'s `chain` field. */
export function chainJson(v: ChainView) {
  return {
    endpoint: v.endpoint,
    para: v.para,
    relayParent: v.relayParent,
    session: v.session,
    parachainHostVersion: v.parachainHostVersion,
    codeHash: v.codeHash,
    codeBytes: v.code.length,
    pvd: {
      parentHead: toHex(v.pvd.parentHead),
      relayParentNumber: v.pvd.relayParentNumber,
      relayParentStorageRoot: toHex(v.pvd.relayParentStorageRoot),
      maxPovSize: v.pvd.maxPovSize,
    },
    executorParams: toHex(v.executorParamsRaw),
    executorParamsHash: toHex(executorParamsHash(v.executorParams)),
    executorParamsSource: v.executorParamsSource,
  };
}

function readIfThere(path: string): Uint8Array | undefined {
  try {
    return readFileSync(path);
  } catch {
    return undefined;
  }
}

export function registerFetch(program: Command, setExit: (code: number) => void): void {
  program
    .command('fetch')
    .description('read a para\'s code, persisted validation data, session and executor params from a relay chain node into a folder')
    .option('--rpc <url>', 'relay chain node: ws://, wss://, http:// or https://')
    .option('--para <id>', 'the parachain id')
    .option('--at <hash>', 'relay parent block hash (default: the best block)')
    .option('--out <dir>', 'folder to write the code, pvd.scale and chain.json into (created if missing)')
    .option('--rpc-timeout <ms>', 'per call and per connection attempt (default 30000)')
    .option('--json', 'print chain.json to stdout as well')
    .action(async (o: FetchOptions) => {
      const req = chainRequest(o);
      if (!o.out) throw usageError('missing --out DIR');
      const out = o.out;
      const t0 = performance.now();
      let view: ChainView;
      let knownCode = false;
      try {
        view = await readFromChain(req, {
          knownCode: (hash) => {
            const have = readIfThere(join(out, codeFileName(hash)));
            knownCode = have !== undefined && toHex(blake2_256(have)) === hash;
            return have;
          },
        });
      } catch (e) {
        if (e instanceof ChainError) throw chainUserError(e);
        throw e;
      }
      const ms = performance.now() - t0;
      const doc = { ...chainJson(view), code: codeFileName(view.codeHash), pvdFile: PVD_FILE, pvdHex: toHex(view.pvdRaw) };
      try {
        // The folder is made only now: a fetch that fails leaves nothing behind.
        mkdirSync(out, { recursive: true });
        // Code already there under its hash (checked when read) is kept as it is.
        if (!knownCode) writeAtomic(join(out, codeFileName(view.codeHash)), view.code);
        writeAtomic(join(out, PVD_FILE), view.pvdRaw);
        writeAtomic(join(out, CHAIN_JSON), JSON.stringify(doc, null, 2) + '\n');
      } catch (e) {
        throw dataError(`--out ${out}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      if (o.json) process.stdout.write(JSON.stringify({ ...doc, fetchMs: Math.round(ms) }) + '\n');
      else {
        process.stdout.write(
          `para ${view.para} at relay block #${view.relayParent.number} ${view.relayParent.hash}: session ${view.session}, code ${view.codeHash} (${view.code.length} bytes), ` +
            `executor params ${doc.executorParamsHash}${view.executorParamsSource === 'default' ? ' (defaults: the runtime predates session_executor_params)' : ''}; written to ${out} in ${(ms / 1000).toFixed(2)} s\n`,
        );
      }
      setExit(EXIT.valid);
    });
}
