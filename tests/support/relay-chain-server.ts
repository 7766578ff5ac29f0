/**
 * A local relay chain for the tests: chopsticks serving a raw genesis chain spec (no network, no
 * endpoint to fork) on a free local port, blocks built only when asked (dev_newBlock). Run as a
 * child process by relay-chain.ts; prints `LISTENING <port>` once the server answers.
 *
 * Timestamp.Now is pinned in the genesis storage: chopsticks otherwise reads the wall clock twice
 * while building block #1, and when the two readings fall in different slots the runtime panics
 * ("Timestamp slot must match `CurrentSlot`") and the block is silently not built. Pinned, every
 * run builds the same blocks.
 */
import { readFileSync } from 'node:fs';
import { setupWithServer } from '@acala-network/chopsticks';
import { BuildBlockMode, type Genesis } from '@acala-network/chopsticks-core';
import { u64 } from 'scale-ts';
import { toHex } from '../../core/primitives/hex.ts';
import { storageKey } from '../../scripts/candidates/relay.ts';

const GENESIS_TIMESTAMP_MS = 1_764_547_200_000n; // 2025-12-01T00:00:00Z

const path = process.argv[2];
if (!path) throw new Error('usage: relay-chain-server.ts GENESIS_CHAIN_SPEC');
const spec = JSON.parse(readFileSync(path, 'utf8')) as Genesis;
spec.genesis.raw.top[toHex(storageKey('Timestamp', 'Now'))] = toHex(u64.enc(GENESIS_TIMESTAMP_MS));
const ctx = await setupWithServer({ genesis: spec, port: 0, host: '127.0.0.1', 'build-block-mode': BuildBlockMode.Manual });
process.stdout.write(`LISTENING ${ctx.addr.split(':').at(-1)}\n`);
// The parent holds our stdin open and never writes: when it goes away, however it dies, so do we.
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
