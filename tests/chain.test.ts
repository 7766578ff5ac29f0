/**
 * `pvf fetch` and `pvf validate --rpc` end to end against a real relay chain: chopsticks serving
 * the Kusama Local relay chain from its raw genesis (../shared/fixtures/chainspecs/kusama.json) on a
 * free local port, its runtime answering the ParachainHost runtime APIs. The tests register two
 * paras in its storage, as registration and onboarding would leave them, and an ExecutorParams
 * entry for session 0 that differs from the defaults, then build a block:
 * - para 1000: Asset Hub Kusama (statemine 1000000, the `:code` of asset-hub-kusama-local.json)
 *   with its genesis head;
 * - para 2000: polkadot-sdk's adder (../shared/fixtures/adder) with a genesis head of its own.
 * fetch must return exactly what was set; validate --rpc judges adder PoVs with the chain's code,
 * PVD, session and params on every engine the binary carries (the expected head comes from an
 * independent model of the adder, scripts/fuzz/adder-model.ts); the error cases are exercised
 * against the same chain (a wrong para, an unknown block) and against the chain stopped.
 *
 * chopsticks keeps no trie of its own: without an upstream node it serves no state_getReadProof,
 * its blocks carry a zero state root, and the PVD's relay_parent_storage_root is the empty-trie
 * root. A statemine candidate, whose runtime reads the host configuration from the relay proof,
 * therefore cannot be valid against this chain's PVD; the adder reads no relay proof.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { EXIT } from '../core/candidate/verdict.ts';
import { encodePovFile, encodePoV, decodePersistedValidationData } from '../core/candidate/codecs.ts';
import { blake2_256 } from '../core/primitives/hashing.ts';
import { toHex } from '../core/primitives/hex.ts';
import { encodeExecutorParams, executorParamsHash } from '../core/session/executor-params.ts';
import { builtInSchedule } from '../core/session/policy.ts';
import { resolveSession } from '../core/session/schedule.ts';
import { genesisHeader } from '../scripts/candidates/chain.ts';
import { encodeHeader } from '../scripts/candidates/header.ts';
import { Storage } from '../scripts/candidates/runtime.ts';
import { adderModel, cat, le } from '../scripts/fuzz/adder-model.ts';
import { BIN, SKIP_BIN, carriedEngines } from './support/binary.ts';
import { SHARED, SKIP_SHARED } from './support/pvfs.ts';
import { registerParas, startRelayChain, type RelayChain } from './support/relay-chain.ts';

const SKIP = SKIP_SHARED || SKIP_BIN;

let dir: string;
let cache: string;
let chain: RelayChain;
let best: string;
let bestNumber: number;
let statemineCode: Uint8Array;
let statemineHead: Uint8Array;
let adderCode: Uint8Array;
const adderHead = cat([le(0n, 8), new Uint8Array(32), keccak_256(le(0n, 8))]);
/** Differs from the defaults and from the built-in schedule's session 0. */
const PARAMS = encodeExecutorParams([
  { type: 'MaxMemoryPages', pages: 8192 },
  { type: 'PvfExecTimeout', kind: 'backing', ms: 2500n },
]);

interface FetchDoc {
  relayParent: { hash: string; number: number; stateRoot: string };
  session: number;
  codeHash: string;
  code: string;
  pvd: { parentHead: string; relayParentNumber: number; maxPovSize: number };
  executorParams: string;
  executorParamsHash: string;
  executorParamsSource: string;
  fetchMs: number;
}

function pvf(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(BIN, args, { encoding: 'utf8', env: { ...process.env, CI: '1', PVF_CACHE_DIR: cache }, timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('a real relay chain (chopsticks, Kusama Local): fetch and validate --rpc', { skip: SKIP }, () => {
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pvf-chain-'));
    cache = join(dir, 'cache');
    const spec = JSON.parse(readFileSync(join(SHARED, 'chainspecs/asset-hub-kusama-local.json'), 'utf8')) as { genesis: { raw: { top: Record<string, string> } } };
    statemineCode = Buffer.from(spec.genesis.raw.top['0x3a636f6465'].slice(2), 'hex');
    statemineHead = encodeHeader(genesisHeader(Storage.fromRaw(spec.genesis.raw.top), 0));
    adderCode = readFileSync(join(SHARED, 'adder/test_parachain_adder.wasm'));
    chain = await startRelayChain(join(SHARED, 'chainspecs/kusama.json'));
    best = await registerParas(
      chain,
      [
        { para: 1000, code: statemineCode, head: statemineHead },
        { para: 2000, code: adderCode, head: adderHead },
      ],
      0,
      PARAMS,
    );
    bestNumber = Number.parseInt((await chain.call<{ number: string }>('chain_getHeader', [best])).number, 16);
  });
  after(async () => {
    await chain?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('fetch (ws://, best block) returns exactly the code, head and params that were set', () => {
    const out = join(dir, 'fetch-ws');
    const r = pvf(['fetch', '--rpc', chain.ws, '--para', '1000', '--out', out, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as FetchDoc;
    assert.equal(doc.relayParent.hash, best);
    assert.equal(doc.session, 0);
    assert.equal(doc.codeHash, toHex(blake2_256(statemineCode)));
    assert.ok(Buffer.from(readFileSync(join(out, doc.code))).equals(Buffer.from(statemineCode)));
    assert.equal(doc.pvd.parentHead, toHex(statemineHead));
    assert.equal(doc.relayParent.number, bestNumber);
    assert.equal(doc.pvd.relayParentNumber, bestNumber); // the runtime API runs on the state after the relay parent
    assert.equal(doc.executorParams, toHex(PARAMS));
    assert.equal(doc.executorParamsSource, 'chain');
    assert.equal(doc.executorParamsHash, toHex(executorParamsHash([{ type: 'MaxMemoryPages', pages: 8192 }, { type: 'PvfExecTimeout', kind: 'backing', ms: 2500n }])));
    // pvd.scale is the chain's PVD, the same as chain.json describes.
    const pvd = decodePersistedValidationData(readFileSync(join(out, 'pvd.scale')));
    assert.equal(toHex(pvd.parentHead), toHex(statemineHead));
    assert.equal(pvd.maxPovSize, doc.pvd.maxPovSize);
    assert.deepEqual(JSON.parse(readFileSync(join(out, 'chain.json'), 'utf8')).codeHash, doc.codeHash);
    process.stdout.write(`# fetch of para 1000 (1,012,944-byte code) from the local relay chain: ${doc.fetchMs} ms\n`);
  });

  it('fetch (http://, --at the block) gives the same; code already in the folder is kept, not rewritten', () => {
    const out = join(dir, 'fetch-http');
    const first = pvf(['fetch', '--rpc', chain.http, '--para', '1000', '--at', best, '--out', out, '--json']);
    assert.equal(first.code, 0, first.stderr);
    const doc = JSON.parse(first.stdout) as FetchDoc;
    const codeFile = join(out, doc.code);
    const before = statSync(codeFile, { bigint: true });
    const again = pvf(['fetch', '--rpc', chain.http, '--para', '1000', '--at', best, '--out', out, '--json']);
    assert.equal(again.code, 0, again.stderr);
    const after = statSync(codeFile, { bigint: true });
    assert.equal(after.ino, before.ino);
    assert.equal(after.mtimeNs, before.mtimeNs);
    assert.equal((JSON.parse(again.stdout) as FetchDoc).codeHash, doc.codeHash);
    // A code file with the right name but other bytes is replaced by the chain's.
    writeFileSync(codeFile, 'not the code');
    const fixed = pvf(['fetch', '--rpc', chain.http, '--para', '1000', '--at', best, '--out', out]);
    assert.equal(fixed.code, 0, fixed.stderr);
    assert.ok(Buffer.from(readFileSync(codeFile)).equals(Buffer.from(statemineCode)));
  });

  it('fetch of a para with no code at that block: exit 67, one line naming the para and block, nothing written', () => {
    const out = join(dir, 'fetch-no-para');
    const r = pvf(['fetch', '--rpc', chain.ws, '--para', '3000', '--at', best, '--out', out]);
    assert.equal(r.code, EXIT.noPara, r.stderr);
    assert.equal(r.stderr, `pvf: para 3000 has no validation code at relay block #${bestNumber} ${best}\n`);
    assert.equal(existsSync(out), false, 'a failed fetch leaves nothing, not even the folder');
  });

  it('validate --rpc --pov: the adder block is valid on every engine, with the head the model predicts and the chain\'s params', () => {
    const blockData = cat([le(0n, 8), le(7n, 8)]);
    const pov = join(dir, 'adder.pov');
    writeFileSync(pov, encodePoV({ blockData }));
    const schedule0 = resolveSession(builtInSchedule(), 0);
    for (const engine of carriedEngines(cache)) {
      const r = pvf(['validate', '--rpc', chain.ws, '--para', '2000', '--at', best, '--pov', pov, '--engine', engine, '--json']);
      assert.equal(r.code, EXIT.valid, `${engine}: ${r.stdout} ${r.stderr}`);
      const doc = JSON.parse(r.stdout) as { verdict: string; engine: string; session: number; executorParamsHash: string; result: { headData: string; hrmpWatermark: number }; chain: FetchDoc & { executorParamsDifferFromSchedule: boolean; scheduleExecutorParamsHash: string } };
      const expected = adderModel({ parentHead: adderHead, blockData, relayParentNumber: doc.chain.pvd.relayParentNumber, strictLengths: false });
      assert.ok(expected, 'the model accepts the block');
      assert.equal(doc.engine, engine);
      assert.equal(doc.result.headData, toHex(expected));
      assert.equal(doc.result.hrmpWatermark, doc.chain.pvd.relayParentNumber);
      assert.equal(doc.session, 0);
      assert.equal(doc.chain.relayParent.hash, best);
      assert.equal(doc.chain.codeHash, toHex(blake2_256(adderCode)));
      // The chain's params are the ones in force, and --json says they differ from the schedule's.
      assert.equal(doc.executorParamsHash, toHex(blake2_256(PARAMS)));
      assert.equal(doc.chain.executorParamsDifferFromSchedule, true);
      assert.equal(doc.chain.scheduleExecutorParamsHash, schedule0.executorParamsHash);
    }
  });

  it('validate --rpc: its tampered twin (a state that is not the parent\'s) is invalid on every engine', () => {
    const pov = join(dir, 'adder-tampered.pov');
    writeFileSync(pov, encodePoV({ blockData: cat([le(1n, 8), le(7n, 8)]) }));
    for (const engine of carriedEngines(cache)) {
      const r = pvf(['validate', '--rpc', chain.ws, '--para', '2000', '--at', best, '--pov', pov, '--engine', engine, '--json']);
      assert.equal(r.code, EXIT.invalid, `${engine}: ${r.stdout} ${r.stderr}`);
      assert.equal((JSON.parse(r.stdout) as { reason: string }).reason, 'execution-error');
    }
  });

  it('validate --rpc --pov-file: the chain\'s PVD in the file is judged; a PVD from another relay parent abstains (pvd-mismatch)', () => {
    const fetched = JSON.parse(pvf(['fetch', '--rpc', chain.ws, '--para', '2000', '--at', best, '--out', join(dir, 'fetch-adder'), '--json']).stdout) as FetchDoc;
    const pvd = decodePersistedValidationData(readFileSync(join(dir, 'fetch-adder', 'pvd.scale')));
    const blockData = cat([le(0n, 8), le(7n, 8)]);
    const good = join(dir, 'adder-good.pov');
    writeFileSync(good, encodePovFile({ blockData }, pvd));
    const ok = pvf(['validate', '--rpc', chain.ws, '--para', '2000', '--at', best, '--pov-file', good, '--json']);
    assert.equal(ok.code, EXIT.valid, ok.stdout + ok.stderr);
    const other = join(dir, 'adder-other-relay-parent.pov');
    writeFileSync(other, encodePovFile({ blockData }, { ...pvd, relayParentNumber: fetched.pvd.relayParentNumber + 5 }));
    const r = pvf(['validate', '--rpc', chain.ws, '--para', '2000', '--at', best, '--pov-file', other, '--json']);
    assert.equal(r.code, EXIT.abstain, r.stdout + r.stderr);
    const doc = JSON.parse(r.stdout) as { verdict: string; reason: string; detail: string };
    assert.equal(doc.reason, 'pvd-mismatch');
    assert.match(doc.detail, new RegExp(`: relay_parent_number ${fetched.pvd.relayParentNumber + 5} vs the chain's ${fetched.pvd.relayParentNumber}; give --at`));
  });

  it('an unknown block: fetch exits 66 naming it; validate --rpc abstains (chain-unavailable)', () => {
    // Last but one: chopsticks answers an unknown hash with its genesis header and remembers it.
    const unknown = '0x' + '42'.repeat(32);
    const f = pvf(['fetch', '--rpc', chain.ws, '--para', '1000', '--at', unknown, '--out', join(dir, 'fetch-unknown')]);
    assert.equal(f.code, EXIT.noBlock, f.stderr);
    assert.match(f.stderr, new RegExp(`^pvf: relay block ${unknown}: not known to ${chain.ws}`));
    assert.equal(f.stderr.trimEnd().split('\n').length, 1);
    const pov = join(dir, 'adder.pov');
    const v = pvf(['validate', '--rpc', chain.ws, '--para', '2000', '--at', unknown, '--pov', pov, '--json']);
    assert.equal(v.code, EXIT.abstain, v.stdout);
    assert.equal((JSON.parse(v.stdout) as { reason: string }).reason, 'chain-unavailable');
  });

  it('the chain stopped: fetch exits 69 (unreachable); validate --rpc abstains, never invalid', async () => {
    await chain.stop();
    const f = pvf(['fetch', '--rpc', chain.ws, '--para', '1000', '--out', join(dir, 'fetch-stopped'), '--rpc-timeout', '2000']);
    assert.equal(f.code, EXIT.unreachable, f.stderr);
    assert.match(f.stderr, /no connection after 3 attempts \(connect ECONNREFUSED/);
    const v = pvf(['validate', '--rpc', chain.http, '--para', '2000', '--pov', join(dir, 'adder.pov'), '--rpc-timeout', '2000', '--json']);
    assert.equal(v.code, EXIT.abstain, v.stdout);
    assert.equal((JSON.parse(v.stdout) as { reason: string }).reason, 'chain-unavailable');
  });
});
