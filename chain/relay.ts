/**
 * What a validator reads from the relay chain to judge a candidate of a para at a relay parent,
 * read the way polkadot's node reads it: the runtime APIs of `ParachainHost` through `state_call`
 * at that block.
 * - the code: `validation_code_hash(para, Included)`, then `validation_code_by_hash` (the code is
 *   checked against its hash);
 * - the PersistedValidationData: `persisted_validation_data(para, Included)`;
 * - the session: `session_index_for_child` (the session a child of the block is in, the one its
 *   candidates are judged in);
 * - the ExecutorParams: `session_executor_params(session)`; a runtime whose ParachainHost API is
 *   older than version 4 has none, and polkadot then runs with the defaults
 *   (`executor_params_at_relay_parent` in polkadot-sdk's subsystem-util), as this does. A runtime
 *   that has the API but no params for the session is an error (polkadot: DataNotAvailable).
 * Answers are decoded with the project's strict codecs; anything that does not decode, or code
 * whose hash is not the hash the chain named, is a `bad-answer`.
 */
import { compact, u32, u8, Tuple, type Codec } from 'scale-ts';
import { concatBytes } from '../core/primitives/bytes.ts';
import { decodePersistedValidationData, type PersistedValidationData } from '../core/candidate/codecs.ts';
import { decodeExecutorParams, type ExecutorParam } from '../core/session/executor-params.ts';
import { blake2_256 } from '../core/primitives/hashing.ts';
import { HexError, parseHex, toHex } from '../core/primitives/hex.ts';
import { bytesDec, decodeAll, fixedBytesDec, optionDec, u32Dec, ScaleError } from '../core/primitives/scale.ts';
import { ChainError } from './errors.ts';
import type { Rpc } from './rpc.ts';

/** blake2b-64 of "ParachainHost": its id in a runtime version's API list. */
const PARACHAIN_HOST_API = '0xaf2c0297a23e6d3d';
/** The ParachainHost version that added `session_executor_params`. */
const EXECUTOR_PARAMS_SINCE = 4;
/** OccupiedCoreAssumption::Included (Included = 0, TimedOut = 1, Free = 2). */
const INCLUDED = 0;

export interface RelayBlock {
  hash: string;
  number: number;
  stateRoot: string;
}

export interface ChainView {
  endpoint: string;
  para: number;
  relayParent: RelayBlock;
  /** The version of the runtime's ParachainHost API at the relay parent. */
  parachainHostVersion: number;
  session: number;
  codeHash: string;
  /** The validation code as the chain stores it (usually a zstd-compressed blob). */
  code: Uint8Array;
  pvd: PersistedValidationData;
  pvdRaw: Uint8Array;
  executorParams: ExecutorParam[];
  /** SCALE ExecutorParams as the chain returned them (the defaults, empty, when it has no API). */
  executorParamsRaw: Uint8Array;
  /** `chain`: from session_executor_params; `default`: the runtime predates that API. */
  executorParamsSource: 'chain' | 'default';
}

const HASH = /^0x[0-9a-fA-F]{64}$/;

export function parseBlockHash(text: string): string {
  if (!HASH.test(text)) throw new ChainError('usage', `--at ${text}: not a block hash (0x and 64 hex digits)`);
  return text.toLowerCase();
}

interface Header {
  parentHash: string;
  number: string;
  stateRoot: string;
  extrinsicsRoot: string;
  digest: { logs: string[] };
}

/** blake2-256 of the SCALE header (each digest log arrives as the hex of its SCALE DigestItem). */
function headerHash(h: Header): string {
  const logs = h.digest.logs.map((l) => parseHex(l));
  return toHex(blake2_256(concatBytes([parseHex(h.parentHash), compact.enc(Number.parseInt(h.number, 16)), parseHex(h.stateRoot), parseHex(h.extrinsicsRoot), compact.enc(logs.length), ...logs])));
}

interface RuntimeVersion {
  specName?: string;
  specVersion?: number;
  apis?: Array<[string, number]>;
}

function decoded<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof ScaleError || e instanceof HexError) throw new ChainError('bad-answer', `${what}: ${e.message}`);
    throw e;
  }
}

/** One runtime API call at `at`, its SCALE answer as bytes. */
async function runtimeCall(rpc: Rpc, method: string, args: Uint8Array, at: string): Promise<Uint8Array> {
  const hex = await rpc.call<unknown>('state_call', [method, toHex(args), at]);
  if (typeof hex !== 'string') throw new ChainError('bad-answer', `${rpc.url}: state_call ${method}: not a hex string`);
  return decoded(`${rpc.url}: state_call ${method}`, () => parseHex(hex));
}

/** The encoding of T inside a SCALE Option<T> (decoded afterwards, strictly); undefined for None. */
function optionPayload(what: string, answer: Uint8Array): Uint8Array | undefined {
  if (answer.length === 1 && answer[0] === 0) return undefined;
  if (answer.length < 2 || answer[0] !== 1) throw new ChainError('bad-answer', `${what}: ${answer.length} bytes, not an Option`);
  return answer.subarray(1);
}

const paraAssumption: Codec<[number, number]> = Tuple(u32, u8);

export async function resolveBlock(rpc: Rpc, at: string | undefined): Promise<RelayBlock> {
  let hash = at;
  if (hash === undefined) {
    const best = await rpc.call<unknown>('chain_getBlockHash', []);
    if (typeof best !== 'string' || !HASH.test(best)) throw new ChainError('bad-answer', `${rpc.url}: chain_getBlockHash: not a block hash`);
    hash = best.toLowerCase();
  }
  let header: Header | null;
  try {
    header = await rpc.call<Header | null>('chain_getHeader', [hash]);
  } catch (e) {
    // Some nodes answer an unknown block with an error instead of null.
    if (e instanceof ChainError && e.kind === 'rpc') throw new ChainError('block-not-found', `relay block ${hash}: not known to ${rpc.url} (${e.message})`);
    throw e;
  }
  if (header === null) throw new ChainError('block-not-found', `relay block ${hash}: not known to ${rpc.url}`);
  const wellFormed =
    typeof header === 'object' &&
    [header.parentHash, header.stateRoot, header.extrinsicsRoot].every((x) => typeof x === 'string' && HASH.test(x)) &&
    typeof header.number === 'string' &&
    /^0x[0-9a-fA-F]{1,8}$/.test(header.number) &&
    Array.isArray(header.digest?.logs) &&
    header.digest.logs.every((l) => typeof l === 'string' && /^0x(?:[0-9a-fA-F]{2})*$/.test(l));
  if (!wellFormed) throw new ChainError('bad-answer', `${rpc.url}: chain_getHeader ${hash}: not a header`);
  // A node may answer an unknown hash with another block's header (chopsticks answers with its
  // genesis): the header must hash to the hash asked for.
  const actual = headerHash(header);
  if (actual !== hash) throw new ChainError('block-not-found', `relay block ${hash}: not known to ${rpc.url} (it answered the header of block ${actual})`);
  return { hash, number: Number.parseInt(header.number, 16), stateRoot: header.stateRoot.toLowerCase() };
}

async function parachainHostVersion(rpc: Rpc, block: RelayBlock): Promise<number> {
  const v = await rpc.call<RuntimeVersion>('state_getRuntimeVersion', [block.hash]);
  const api = Array.isArray(v?.apis) ? v.apis.find((a) => Array.isArray(a) && String(a[0]).toLowerCase() === PARACHAIN_HOST_API) : undefined;
  if (!api || typeof api[1] !== 'number') {
    throw new ChainError('unsupported', `the runtime at relay block #${block.number} (${v?.specName ?? 'unknown'} ${v?.specVersion ?? ''}) has no ParachainHost API: not a relay chain`);
  }
  return api[1];
}

/** The value of a settled promise, or its error thrown: the checks below keep their order. */
function settled<T>(r: PromiseSettledResult<T>): T {
  if (r.status === 'rejected') throw r.reason;
  return r.value;
}

/**
 * Everything a validator reads from the chain for a candidate of `para` at the relay parent `at`
 * (the best block when absent). The calls that do not depend on each other go out together (two
 * round trips after the header instead of six); their answers are checked in a fixed order, so the
 * error reported is the same whatever answers first (no ParachainHost API wins over the rest).
 */
export async function readChain(rpc: Rpc, para: number, at: string | undefined, opts: { knownCode?: (codeHash: string) => Uint8Array | undefined } = {}): Promise<ChainView> {
  const block = await resolveBlock(rpc, at);
  const where = `relay block #${block.number} ${block.hash}`;
  const paraArgs = paraAssumption.enc([para, INCLUDED]);
  const first = await Promise.allSettled([
    parachainHostVersion(rpc, block),
    runtimeCall(rpc, 'ParachainHost_validation_code_hash', paraArgs, block.hash),
    runtimeCall(rpc, 'ParachainHost_persisted_validation_data', paraArgs, block.hash),
    runtimeCall(rpc, 'ParachainHost_session_index_for_child', new Uint8Array(), block.hash),
  ]);
  const version = settled(first[0]);

  const codeHashBytes = decoded('ParachainHost_validation_code_hash', () => decodeAll(optionDec(fixedBytesDec(32)), settled(first[1]), 'Option<ValidationCodeHash>'));
  if (!codeHashBytes) throw new ChainError('para-not-found', `para ${para} has no validation code at ${where}`);
  const codeHash = toHex(codeHashBytes);
  const pvdRaw = optionPayload('ParachainHost_persisted_validation_data', settled(first[2]));
  if (!pvdRaw) throw new ChainError('para-not-found', `para ${para} has no persisted validation data at ${where}`);
  const pvd = decoded('PersistedValidationData', () => decodePersistedValidationData(pvdRaw));
  const session = decoded('ParachainHost_session_index_for_child', () => decodeAll(u32Dec, settled(first[3]), 'SessionIndex'));

  // Code already at hand (`fetch` into a folder that has it) is used when it hashes to the chain's hash.
  const known = opts.knownCode?.(codeHash);
  const haveCode = known !== undefined && toHex(blake2_256(known)) === codeHash;
  const second = await Promise.allSettled([
    haveCode ? Promise.resolve(undefined) : runtimeCall(rpc, 'ParachainHost_validation_code_by_hash', codeHashBytes, block.hash),
    version >= EXECUTOR_PARAMS_SINCE ? runtimeCall(rpc, 'ParachainHost_session_executor_params', u32.enc(session), block.hash) : Promise.resolve(undefined),
  ]);

  const codeAnswer = settled(second[0]);
  const code = codeAnswer === undefined ? known : decoded('ParachainHost_validation_code_by_hash', () => decodeAll(optionDec(bytesDec), codeAnswer, 'Option<ValidationCode>'));
  if (!code) throw new ChainError('para-not-found', `para ${para}: the chain names code ${codeHash} at ${where} but does not hold it`);
  const actual = toHex(blake2_256(code));
  if (actual !== codeHash) throw new ChainError('bad-answer', `para ${para}: the code ${rpc.url} returned hashes to ${actual}, not to the ${codeHash} the chain names`);

  // A runtime older than the API: the defaults, as polkadot does; an API without params for the
  // session: an error, as polkadot's DataNotAvailable.
  let executorParamsRaw: Uint8Array = new Uint8Array([0]);
  let executorParamsSource: ChainView['executorParamsSource'] = 'default';
  const paramsAnswer = settled(second[1]);
  if (paramsAnswer !== undefined) {
    const raw = optionPayload('ParachainHost_session_executor_params', paramsAnswer);
    if (!raw) throw new ChainError('para-not-found', `the chain holds no executor params for session ${session} at ${where}`);
    executorParamsRaw = raw;
    executorParamsSource = 'chain';
  }
  const executorParams = decoded('ExecutorParams', () => decodeExecutorParams(executorParamsRaw));

  return { endpoint: rpc.url, para, relayParent: block, parachainHostVersion: version, session, codeHash, code, pvd, pvdRaw, executorParams, executorParamsRaw, executorParamsSource };
}
