/**
 * The fuzz campaign's adder oracle (scripts/fuzz/adder-model.ts) must itself be right: it is
 * checked here against the real adder vectors of ../shared/fixtures (inputs and the new head data
 * that polkadot-sdk's adder produced), and against the rules on edge cases.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { adderModel, cat, le } from '../scripts/fuzz/adder-model.ts';
import { SHARED, SKIP_SHARED } from './support/pvfs.ts';

const bytes = (h: string) => new Uint8Array(Buffer.from(h.replace(/^0x/, ''), 'hex'));

/** Split SCALE ValidationParams by hand (compact lengths below 2^14 only, as in the vectors). */
function splitParams(p: Uint8Array): { parentHead: Uint8Array; blockData: Uint8Array; relay: number } {
  let at = 0;
  const vec = () => {
    const b = p[at];
    const len = (b & 3) === 0 ? b >> 2 : (b | (p[at + 1] << 8)) >> 2;
    at += (b & 3) === 0 ? 1 : 2;
    const out = p.subarray(at, at + len);
    at += len;
    return out;
  };
  const parentHead = vec();
  const blockData = vec();
  return { parentHead, blockData, relay: p[at] | (p[at + 1] << 8) | (p[at + 2] << 16) | (p[at + 3] * 2 ** 24) };
}

describe('the fuzz oracle: an independent model of the adder', () => {
  it('gives the new head of every real adder vector', { skip: SKIP_SHARED }, () => {
    const doc = JSON.parse(readFileSync(join(SHARED, 'adder/adder_vectors.json'), 'utf8')) as { valid: Array<{ name: string; validation_params: string; expected_new_head_data: string }> };
    assert.ok(doc.valid.length >= 3);
    for (const v of doc.valid) {
      const { parentHead, blockData, relay } = splitParams(bytes(v.validation_params));
      const head = adderModel({ parentHead, blockData, relayParentNumber: relay, strictLengths: false });
      assert.ok(head, v.name);
      assert.equal(Buffer.from(head).toString('hex'), v.expected_new_head_data.replace(/^0x/, ''), v.name);
    }
  });

  it('panics on a state mismatch and on short inputs; trailing bytes only matter to the strict adder', () => {
    const head = cat([le(5n, 8), new Uint8Array(32), keccak_256(le(9n, 8))]);
    const block = cat([le(9n, 8), le(1n, 8)]);
    const ok = adderModel({ parentHead: head, blockData: block, relayParentNumber: 0, strictLengths: true });
    assert.deepEqual(ok, cat([le(6n, 8), keccak_256(head), keccak_256(le(10n, 8))]));
    assert.equal(adderModel({ parentHead: head, blockData: cat([le(8n, 8), le(1n, 8)]), relayParentNumber: 0, strictLengths: false }), undefined);
    assert.equal(adderModel({ parentHead: head.subarray(0, 71), blockData: block, relayParentNumber: 0, strictLengths: false }), undefined);
    const longer = cat([block, Uint8Array.of(0)]);
    assert.equal(adderModel({ parentHead: head, blockData: longer, relayParentNumber: 0, strictLengths: true }), undefined);
    assert.deepEqual(adderModel({ parentHead: head, blockData: longer, relayParentNumber: 0, strictLengths: false }), ok);
    // The real adder asserts that the parent head re-encodes to its own bytes (found by the fuzz
    // campaign: a 99-byte parent head panicked in polkadot-sdk's adder, lib.rs `execute`).
    assert.equal(adderModel({ parentHead: cat([head, Uint8Array.of(0)]), blockData: block, relayParentNumber: 0, strictLengths: false }), undefined);
    // u64 wrap-around of the number and the state, as the release-built adder does.
    const top = cat([le(0xffffffffffffffffn, 8), new Uint8Array(32), keccak_256(le(0xffffffffffffffffn, 8))]);
    const wrapped = adderModel({ parentHead: top, blockData: cat([le(0xffffffffffffffffn, 8), le(2n, 8)]), relayParentNumber: 0, strictLengths: true });
    assert.deepEqual(wrapped, cat([le(0n, 8), keccak_256(top), keccak_256(le(1n, 8))]));
  });
});
