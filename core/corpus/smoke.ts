/**
 * The built-in smoke vectors: the project's own test PVFs (tests/pvfs) with what every engine must
 * say about them. The adder's expected bytes come from a model of its rules written here.
 */
import { concatBytes } from '../primitives/bytes.ts';
import { encodeValidationParams } from '../candidate/codecs.ts';
import { keccak256 } from '../primitives/hashing.ts';
import { toHex } from '../primitives/hex.ts';
import { adderBlock, adderHead } from '../candidate/sample.ts';
import type { Expectation } from './conformance.ts';
import { DEFAULT_LIMITS, type ExecutionLimits } from '../candidate/validate.ts';
import { HOST_CALL_PREFIX, hostCallInput, hostCallSpec } from './hostcall.ts';

export interface SmokeCase {
  name: string;
  pvf: string; // name under tests/pvfs, without .wat
  params: Uint8Array;
  limits?: ExecutionLimits;
  expected: Expectation;
  /** Where an engine family answers otherwise by a documented limit of its own. */
  expectedByFamily?: Partial<Record<string, Expectation>>;
}

function le(n: bigint, bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  for (let k = 0; k < bytes; k++) out[k] = Number((BigInt.asUintN(bytes * 8, n) >> BigInt(8 * k)) & 0xffn);
  return out;
}

/** The adder's ValidationResult for a block on top of `parent`: the rules of polkadot's adder. */
function adderResult(parent: Uint8Array, number: bigint, state: bigint, add: bigint, relay: number): string {
  const head = concatBytes([le(number + 1n, 8), keccak256(parent), keccak256(le(state + add, 8))]);
  return toHex(concatBytes([Uint8Array.of(0x21, 0x01), head, Uint8Array.of(0, 0, 0), le(0n, 4), le(BigInt(relay), 4)]));
}

function adderCase(name: string, number: bigint, state: bigint, add: bigint, relay: number): SmokeCase {
  const parent = adderHead(number, keccak256(le(number, 8)), state);
  const params = encodeValidationParams({ parentHead: parent, blockData: adderBlock(state, add), relayParentNumber: relay, relayParentStorageRoot: new Uint8Array(32) });
  return { name, pvf: 'adder', params, expected: { verdict: 'valid', raw: adderResult(parent, number, state, add, relay) } };
}

const EMPTY = new Uint8Array(0);
const invalid = (reason: string): Expectation => ({ verdict: 'invalid', reason });
const utf8 = (s: string) => new TextEncoder().encode(s);

/**
 * A fast subset of the host-API conformance suite (tests/hostcall-conformance.test.ts): published
 * constants (twox_128("System") is the System pallet's storage prefix; blake2-256 of nothing; the
 * empty trie's root), and a function the wasmi engines list as a known divergence, where they
 * abstain by policy.
 */
function hostCallCase(name: string, fn: string, values: Array<Uint8Array | number>, headData: string, expectedByFamily?: SmokeCase['expectedByFamily']): SmokeCase {
  return { name, pvf: HOST_CALL_PREFIX + fn, params: hostCallInput(hostCallSpec(fn), values), expected: { verdict: 'valid', headData }, expectedByFamily };
}

export function smokeCases(): SmokeCase[] {
  return [
    adderCase('adder: genesis +7', 0n, 0n, 7n, 1),
    adderCase('adder: block 1000', 1000n, 123456789n, 987654321n, 77777),
    adderCase('adder: wrapping add', 5n, 0xffffffffffffffffn, 2n, 3),
    hostCallCase('host: twox_128("System")', 'ext_hashing_twox_128_version_1', [utf8('System')], '0x26aa394eea5630e07c48ae0c9558cef7'),
    hostCallCase('host: blake2_256("")', 'ext_hashing_blake2_256_version_1', [EMPTY], '0x0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8'),
    hostCallCase('host: ordered root of no values', 'ext_trie_blake2_256_ordered_root_version_2', [Uint8Array.of(0), 1], '0x03170a2e7597b7b7e3d84c05391d139a62b157e78786d8c082f29dcf4c111314'),
    // An empty proof never proves a key: false (0) on Substrate; not implemented by smoldot: abstain by policy.
    hostCallCase('host: keccak proof, empty', 'ext_trie_keccak_256_verify_proof_version_1', [new Uint8Array(32), Uint8Array.of(0), utf8('k'), utf8('v')], '0x00000000', { wasmi: { verdict: 'abstain', reason: 'engine-unavailable' } }),
    { name: 'unreachable', pvf: 'hostile/unreachable', params: EMPTY, expected: invalid('execution-error') },
    { name: 'out-of-bounds load', pvf: 'hostile/oob_load', params: EMPTY, expected: invalid('execution-error') },
    { name: '40 MiB malloc', pvf: 'hostile/malloc_40mib', params: EMPTY, expected: invalid('execution-error') },
    { name: 'malloc bomb', pvf: 'hostile/malloc_bomb', params: EMPTY, expected: invalid('execution-error') },
    { name: 'memory.grow bomb', pvf: 'hostile/grow_bomb', params: EMPTY, expected: invalid('execution-error') },
    { name: 'page cap 2080', pvf: 'hostile/grow_probe', params: EMPTY, expected: { verdict: 'valid', headData: '0x20080000' } },
    { name: 'missing import', pvf: 'hostile/missing_import', params: EMPTY, expected: invalid('execution-error') },
    { name: 'span outside memory', pvf: 'hostile/ptr_outside', params: EMPTY, expected: invalid('bad-output') },
    { name: 'undecodable output', pvf: 'hostile/undecodable', params: EMPTY, expected: invalid('bad-output') },
    // StackLogicalMax(1024): low enough that the injected limiter, not an engine's own call stack,
    // stops the recursion on every engine.
    { name: 'unbounded recursion', pvf: 'hostile/infinite_recursion', params: EMPTY, limits: { ...DEFAULT_LIMITS, stackLogicalMax: 1024 }, expected: invalid('execution-error') },
    { name: 'depth 202 = the limit', pvf: 'hostile/depth_probe', params: Uint8Array.of(202, 0, 0, 0), limits: { ...DEFAULT_LIMITS, stackLogicalMax: 1024 }, expected: { verdict: 'valid', headData: '0xca000000' } },
    { name: 'depth 203 > the limit', pvf: 'hostile/depth_probe', params: Uint8Array.of(203, 0, 0, 0), limits: { ...DEFAULT_LIMITS, stackLogicalMax: 1024 }, expected: invalid('execution-error') },
    { name: 'canonical NaN bits', pvf: 'hostile/nan_bits', params: EMPTY, expected: { verdict: 'valid', headData: '0x0000c07f000000000000f87f0000c07f' } },
    // Pre-checking rejects it; validation of code that fails preparation is no vote (core/candidate/verdict.ts).
    { name: 'SIMD', pvf: 'hostile/uses_simd', params: EMPTY, expected: { verdict: 'abstain', reason: 'prepare-failed' } },
    // A short budget keeps the smoke run quick; the timeout itself is what is checked. An
    // interpreter's timeout is no verdict (engines/worker-engine.ts, judgesTimeouts).
    { name: 'infinite loop (500 ms)', pvf: 'hostile/infinite_loop', params: EMPTY, limits: { ...DEFAULT_LIMITS, timeoutMs: 500 }, expected: invalid('timeout'), expectedByFamily: { wasmi: { verdict: 'abstain', reason: 'engine-limit' } } },
  ];
}
