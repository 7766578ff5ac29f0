/**
 * A local relay chain for the tests: chopsticks serving a raw genesis chain spec (no network, no
 * endpoint to fork) on a free local port, blocks built only when asked (dev_newBlock). Run as a
 * child process by relay-chain.ts; prints `LISTENING <port>` once the server answers.
 */
import { setupWithServer } from '@acala-network/chopsticks';
import { BuildBlockMode } from '@acala-network/chopsticks-core';

const genesis = process.argv[2];
if (!genesis) throw new Error('usage: relay-chain-server.ts GENESIS_CHAIN_SPEC');
const ctx = await setupWithServer({ genesis, port: 0, host: '127.0.0.1', 'build-block-mode': BuildBlockMode.Manual });
process.stdout.write(`LISTENING ${ctx.addr.split(':').at(-1)}\n`);
// The parent holds our stdin open and never writes: when it goes away, however it dies, so do we.
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
