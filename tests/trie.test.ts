/** The host trie root and proof functions (both state versions, blake2 and keccak) against an independent model and fixtures. */
import assert from 'node:assert/strict';
import { describe, it, test } from 'node:test';

import { blake2b } from '@noble/hashes/blake2.js';
import { keccak_256 } from '@noble/hashes/sha3.js';

import {
  decodeNode,
  emptyTrieRoot,
  encodeNode,
  generateProof,
  orderedTrieRoot,
  TrieDecodeError,
  trieRoot,
  trieRootUnhashed,
  verifyProof,
  verifyTrieProof,
  type ChildHandle,
  type StateVersion,
  type TrieHasher,
  type TrieNode,
} from '../engines/v8/host/trie.ts';
import {
  hostApiFixtureDir,
  hostApiFixturesPresent,
  loadShellGenesis,
  loadTrieFixtureCases,
  shellGenesisFixturePresent,
} from './support/trieFixtures.ts';

// ---------------------------------------------------------------------------------------------
// helpers (independent of the code under test)

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const cat = (...parts: (Uint8Array | number[])[]): Uint8Array => {
  const arrays = parts.map((p) => (p instanceof Uint8Array ? p : Uint8Array.from(p)));
  const out = new Uint8Array(arrays.reduce((n, a) => n + a.length, 0));
  let at = 0;
  for (const a of arrays) {
    out.set(a, at);
    at += a.length;
  }
  return out;
};
const blake = (b: Uint8Array): Uint8Array => blake2b(b, { dkLen: 32 });
const H = (hasher: TrieHasher, b: Uint8Array): Uint8Array => (hasher === 'blake2_256' ? blake(b) : keccak_256(b));
const filled = (n: number, byte: number): Uint8Array => new Uint8Array(n).fill(byte);
const hashers: TrieHasher[] = ['blake2_256', 'keccak_256'];
const versions: StateVersion[] = [0, 1];

// ---------------------------------------------------------------------------------------------
// Conformance fixtures (outside the repo)

describe('host API conformance fixtures', () => {
  const present = hostApiFixturesPresent();
  const skip = present ? false : `../shared/fixtures absent: ${hostApiFixtureDir} not found`;

  test('ext_trie_blake2_256_root_version_1 (state version 0) matches every fixture', { skip }, () => {
    const { root } = loadTrieFixtureCases();
    assert.equal(root.length, 10);
    for (const c of root) {
      assert.equal(c.fn, 'ext_trie_blake2_256_root_version_1');
      const got = trieRoot(
        c.pairs.map(([k, v]) => [utf8(k), utf8(v)] as const),
        0,
        'blake2_256',
      );
      assert.equal(hex(got), c.expectedHex, JSON.stringify(c.pairs));
    }
  });

  test('fixtures repeat a key; the pair given last wins', { skip }, () => {
    const { root } = loadTrieFixtureCases();
    for (const c of root) {
      // every case lists its first key again as the third pair
      assert.equal(c.pairs[0]![0], c.pairs[2]![0]);
      const firstWins = trieRoot(
        [c.pairs[0]!, c.pairs[1]!].map(([k, v]) => [utf8(k), utf8(v)] as const),
        0,
        'blake2_256',
      );
      const lastWins = trieRoot(
        [c.pairs[1]!, c.pairs[2]!].map(([k, v]) => [utf8(k), utf8(v)] as const),
        0,
        'blake2_256',
      );
      assert.notEqual(hex(firstWins), c.expectedHex);
      assert.equal(hex(lastWins), c.expectedHex);
    }
  });

  test('ext_trie_blake2_256_ordered_root_version_1 (state version 0) matches every fixture', { skip }, () => {
    const { ordered } = loadTrieFixtureCases();
    assert.equal(ordered.length, 10);
    for (const c of ordered) {
      assert.equal(c.fn, 'ext_trie_blake2_256_ordered_root_version_1');
      assert.equal(hex(orderedTrieRoot(c.values.map(utf8), 0, 'blake2_256')), c.expectedHex, JSON.stringify(c.values));
    }
  });
});

describe('real chain data', () => {
  const skip = shellGenesisFixturePresent() ? false : '../shared/fixtures absent: pvf/shell.raw-chainspec.json or pvf/shell-genesis-head-data.hex not found';

  test('Cumulus Shell genesis: state-version-0 root of the raw genesis storage is the state root in its genesis head', { skip }, () => {
    const { top, childTries, stateRoot } = loadShellGenesis();
    assert.equal(childTries, 0);
    assert.ok(top.some(([k, v]) => hex(k) === hex(utf8(':code')) && v.length > 33));
    assert.equal(hex(trieRoot(top, 0, 'blake2_256')), hex(stateRoot));
    // :code is far above the threshold, so the v1 root of the same storage differs
    assert.notEqual(hex(trieRoot(top, 1, 'blake2_256')), hex(stateRoot));
    // and every key of the real trie proves against that root
    for (const [k, v] of top) {
      assert.equal(verifyProof(stateRoot, generateProof(top, [k], 0, 'blake2_256'), k, v, 0, 'blake2_256'), true, hex(k));
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Hand-derived roots

describe('trie roots from hand-encoded nodes', () => {
  test('empty trie: hash of the single byte 0x00', () => {
    assert.equal(hex(emptyTrieRoot('blake2_256')), '03170a2e7597b7b7e3d84c05391d139a62b157e78786d8c082f29dcf4c111314');
    assert.equal(hex(emptyTrieRoot('blake2_256')), hex(blake(Uint8Array.of(0))));
    assert.equal(hex(emptyTrieRoot('keccak_256')), 'bc36789e7a1e281436464229828f817d6612f7b477d66591ff96a9e064bcc98a');
    assert.equal(hex(emptyTrieRoot('keccak_256')), hex(keccak_256(Uint8Array.of(0))));
    for (const v of versions) {
      for (const h of hashers) {
        assert.deepEqual(trieRoot([], v, h), H(h, Uint8Array.of(0)));
        assert.deepEqual(orderedTrieRoot([], v, h), H(h, Uint8Array.of(0)));
      }
    }
  });

  test('single leaf: 01 header + nibble count, packed key, compact length, value', () => {
    // key ab (2 nibbles), value "hi": 0x40|2, ab, compact(2)=08, 68 69
    const node = unhex('42 ab 08 6869');
    for (const h of hashers) {
      for (const v of versions) {
        assert.deepEqual(trieRootUnhashed([[Uint8Array.of(0xab), utf8('hi')]], v, h), node);
        assert.deepEqual(trieRoot([[Uint8Array.of(0xab), utf8('hi')]], v, h), H(h, node));
      }
    }
  });

  test('branch with an odd partial key and two inline leaf children', () => {
    // keys 12 -> "a", 13 -> "b": common nibble "1"; branch 0x80|1, partial 01 (padded),
    // bitmap bits 2 and 3 = 0c 00, children: leaf 40 04 61 (3 bytes, so inline: 0c ++ node)
    const root = unhex('81 01 0c00 0c 400461 0c 400462');
    const entries = [
      [Uint8Array.of(0x13), utf8('b')],
      [Uint8Array.of(0x12), utf8('a')],
    ] as const;
    assert.deepEqual(trieRootUnhashed(entries, 0, 'blake2_256'), root);
    assert.deepEqual(trieRoot(entries, 0, 'blake2_256'), blake(root));
    assert.deepEqual(trieRoot(entries, 1, 'keccak_256'), keccak_256(root));
  });

  test('branch holding a value: header 11, bitmap before value, then children', () => {
    // 12 -> "x", 1234 -> "y": branch 0xc0|2, partial 12, bitmap bit 3 = 08 00, value 04 78,
    // child leaf (partial "4"): 41 04 04 79 -> inline 10 41040479
    const root = unhex('c2 12 0800 0478 10 41040479');
    const entries = [
      [Uint8Array.of(0x12), utf8('x')],
      [Uint8Array.of(0x12, 0x34), utf8('y')],
    ] as const;
    assert.deepEqual(trieRoot(entries, 0, 'blake2_256'), blake(root));
  });

  test('a child encoding of 32 bytes or more is referenced by its hash', () => {
    // 10 -> 29 x "a": leaf 41 00 74 + 29 bytes = 32 bytes -> hashed
    // 20 -> 28 x "b": leaf 41 00 70 + 28 bytes = 31 bytes -> inline
    const leafA = cat([0x41, 0x00, 29 << 2], filled(29, 0x61));
    const leafB = cat([0x41, 0x00, 28 << 2], filled(28, 0x62));
    assert.equal(leafA.length, 32);
    assert.equal(leafB.length, 31);
    const root = cat([0x80, 0x06, 0x00], [0x80], blake(leafA), [31 << 2], leafB);
    const entries = [
      [Uint8Array.of(0x10), filled(29, 0x61)],
      [Uint8Array.of(0x20), filled(28, 0x62)],
    ] as const;
    assert.deepEqual(trieRoot(entries, 0, 'blake2_256'), blake(root));
  });

  test('long partial keys use continuation bytes in the header', () => {
    // 40-byte key = 80 nibbles: 0x40|63 then 80-63 = 17
    const key = filled(40, 0x5a);
    const node = cat([0x7f, 17], key, [0x04, 0x7a]);
    assert.deepEqual(trieRoot([[key, utf8('z')]], 0, 'blake2_256'), blake(node));
    // 159-byte key = 318 nibbles = 63 + 255 + 0: 7f ff 00
    const key2 = filled(159, 0x11);
    const node2 = cat([0x7f, 0xff, 0x00], key2, [0x00]);
    assert.deepEqual(trieRoot([[key2, new Uint8Array(0)]], 0, 'blake2_256'), blake(node2));
  });

  test('state version 1 hashes values of 33 bytes or more; below that v0 and v1 agree', () => {
    const key = Uint8Array.of(0xab);
    for (const h of hashers) {
      const v32 = filled(32, 7);
      const v0node32 = cat([0x42, 0xab, 32 << 2], v32);
      assert.deepEqual(trieRoot([[key, v32]], 0, h), H(h, v0node32));
      assert.deepEqual(trieRoot([[key, v32]], 1, h), H(h, v0node32));

      const v33 = filled(33, 7);
      // v0: inline; 33 < 64 so compact(33) is the single byte 33 << 2 = 0x84
      const v0node33 = cat([0x42, 0xab, 0x84], v33);
      // v1: header 001 + nibble count (0x20|2), key, then the 32-byte hash of the value
      const v1node33 = cat([0x22, 0xab], H(h, v33));
      assert.deepEqual(trieRoot([[key, v33]], 0, h), H(h, v0node33));
      assert.deepEqual(trieRoot([[key, v33]], 1, h), H(h, v1node33));
      assert.notDeepEqual(trieRoot([[key, v33]], 0, h), trieRoot([[key, v33]], 1, h));
    }
  });

  test('state version 1 hashed value on a branch: header 0001', () => {
    const big = filled(40, 0x33);
    const entries = [
      [Uint8Array.of(0x12), big],
      [Uint8Array.of(0x12, 0x34), utf8('y')],
    ] as const;
    const v1root = cat([0x12, 0x12, 0x08, 0x00], blake(big), [0x10, 0x41, 0x04, 0x04, 0x79]);
    const v0root = cat([0xc2, 0x12, 0x08, 0x00, 40 << 2], big, [0x10, 0x41, 0x04, 0x04, 0x79]);
    assert.deepEqual(trieRoot(entries, 1, 'blake2_256'), blake(v1root));
    assert.deepEqual(trieRoot(entries, 0, 'blake2_256'), blake(v0root));
  });

  test('ordered root: keys are SCALE compact indices', () => {
    // compact(0) = 00, compact(1) = 04: nibbles 0,0 and 0,4 share "0"
    // branch 81 00, bitmap bits 0 and 4 = 11 00, children leaves 40 04 61 / 40 04 62
    const root = unhex('81 00 1100 0c 400461 0c 400462');
    for (const h of hashers) {
      for (const v of versions) assert.deepEqual(orderedTrieRoot([utf8('a'), utf8('b')], v, h), H(h, root));
    }
    // index 64 needs the two-byte compact form 01 01
    const values = Array.from({ length: 65 }, (_, i) => Uint8Array.of(i));
    const pairs = values.map((v, i) => [i < 64 ? Uint8Array.of(i << 2) : Uint8Array.of(0x01, 0x01), v] as const);
    assert.deepEqual(orderedTrieRoot(values, 0, 'blake2_256'), trieRoot(pairs, 0, 'blake2_256'));
  });

  test('duplicate keys: the last pair wins, order of distinct keys does not matter', () => {
    const k = utf8('key');
    const last = trieRoot([[k, utf8('second')]], 0, 'blake2_256');
    assert.deepEqual(trieRoot([[k, utf8('first')], [k, utf8('second')]], 0, 'blake2_256'), last);
    assert.notDeepEqual(trieRoot([[k, utf8('second')], [k, utf8('first')]], 0, 'blake2_256'), last);
    const a = [utf8('a'), utf8('1')] as const;
    const b = [utf8('b'), utf8('2')] as const;
    assert.deepEqual(trieRoot([a, b], 1, 'keccak_256'), trieRoot([b, a], 1, 'keccak_256'));
  });
});

// ---------------------------------------------------------------------------------------------
// Node codec

describe('node decoding', () => {
  test('decodes the hand-encoded node kinds', () => {
    assert.deepEqual(decodeNode(Uint8Array.of(0)), { type: 'empty' });
    const leaf = decodeNode(unhex('43 05 ab 08 6869'));
    assert.equal(leaf.type, 'leaf');
    if (leaf.type === 'leaf') {
      assert.deepEqual([...leaf.partial], [5, 0xa, 0xb]);
      assert.deepEqual(leaf.value, { kind: 'inline', data: utf8('hi') });
    }
    const hashedLeaf = decodeNode(cat([0x21, 0x07], filled(32, 9)));
    assert.equal(hashedLeaf.type, 'leaf');
    if (hashedLeaf.type === 'leaf') assert.deepEqual(hashedLeaf.value, { kind: 'hashed', hash: filled(32, 9) });
    const branch = decodeNode(cat([0x10, 0x01, 0x80], filled(32, 1), [0x80], filled(32, 2), [0x0c, 0x40, 0x04, 0x61]));
    assert.equal(branch.type, 'branch');
    if (branch.type === 'branch') {
      assert.deepEqual(branch.value, { kind: 'hashed', hash: filled(32, 1) });
      assert.deepEqual(branch.children[0], { kind: 'hash', hash: filled(32, 2) });
      assert.deepEqual(branch.children[15], { kind: 'inline', data: unhex('400461') });
      assert.equal(branch.children.filter((c) => c !== null).length, 2);
    }
  });

  test('rejects malformed nodes like sp-trie', () => {
    const bad = [
      '01', // escape header
      '0f', // 0000xxxx
      '41', // nothing after the header
      '41 10 04 61', // odd partial with non-zero padding nibble
      '80 0000', // branch without children
      '40 01 00', // non-canonical compact length (0 in two bytes)
      '40 08 61', // value shorter than its length
      '7f', // continuation byte missing
    ];
    for (const b of bad) assert.throws(() => decodeNode(unhex(b)), TrieDecodeError, b);
  });

  test('trailing bytes after a node are ignored (as upstream)', () => {
    const node = decodeNode(unhex('42 ab 08 6869 ffff'));
    assert.deepEqual(encodeNode(node), unhex('42 ab 08 6869'));
  });

  test('encodeNode inverts decodeNode for header length boundaries', () => {
    for (const n of [0, 1, 2, 30, 31, 32, 62, 63, 64, 317, 318, 319, 600]) {
      const partial = Uint8Array.from({ length: n }, (_, i) => (i * 7) % 16);
      const inlineChild: ChildHandle = { kind: 'inline', data: unhex('400461') };
      const hashChild: ChildHandle = { kind: 'hash', hash: filled(32, 5) };
      const nodes: TrieNode[] = [
        { type: 'leaf', partial, value: { kind: 'inline', data: utf8('v') } },
        { type: 'leaf', partial, value: { kind: 'hashed', hash: filled(32, 4) } },
        { type: 'branch', partial, value: null, children: Array.from({ length: 16 }, (_, i) => (i === 3 ? inlineChild : null)) },
        { type: 'branch', partial, value: { kind: 'hashed', hash: filled(32, 4) }, children: Array.from({ length: 16 }, (_, i) => (i === 9 ? hashChild : null)) },
      ];
      for (const node of nodes) {
        const enc = encodeNode(node);
        assert.deepEqual(encodeNode(decodeNode(enc)), enc);
        const dec = decodeNode(enc);
        assert.equal(dec.type, node.type);
        if (dec.type !== 'empty') assert.deepEqual([...dec.partial], [...partial]);
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Proofs

const proofEntries: ReadonlyArray<readonly [Uint8Array, Uint8Array]> = [
  [utf8('alpha'), utf8('1')],
  [utf8('alphabet'), filled(40, 0xaa)], // hashed under v1
  [utf8('beta'), utf8('two')],
  [utf8('gamma'), filled(100, 0x47)],
  [utf8('gammb'), filled(33, 0x01)], // exactly the threshold
  [utf8('gammc'), filled(32, 0x02)], // just below it
  [Uint8Array.of(0x12), utf8('a')], // small inline children
  [Uint8Array.of(0x13), utf8('b')],
  [Uint8Array.of(0x13, 0x00), new Uint8Array(0)], // empty value
];

describe('proof generation', () => {
  test('proof layout for a tiny trie with only inline children (hand-derived)', () => {
    const entries = [
      [Uint8Array.of(0x12), utf8('a')],
      [Uint8Array.of(0x13), utf8('b')],
    ] as const;
    // The root is the only hashed node; the looked-up leaf stays inline with its value omitted
    // (empty inline value: 40 00, referenced as 08 40 00).
    const proof = generateProof(entries, [Uint8Array.of(0x12)], 0, 'blake2_256');
    assert.deepEqual(proof.map(hex), ['81010c00' + '084000' + '0c400462']);
  });

  test('hash-referenced children on the path become empty references and follow in pre-order', () => {
    const entries = [
      [Uint8Array.of(0x10), filled(29, 0x61)],
      [Uint8Array.of(0x20), filled(28, 0x62)],
    ] as const;
    const proof = generateProof(entries, [Uint8Array.of(0x10)], 0, 'blake2_256');
    const leafB = cat([0x41, 0x00, 28 << 2], filled(28, 0x62));
    assert.deepEqual(proof, [cat([0x80, 0x06, 0x00], [0x00], [31 << 2], leafB), unhex('41 00 00')]);
  });

  test('no keys: empty proof; empty trie: the empty node', () => {
    assert.deepEqual(generateProof(proofEntries, [], 1, 'blake2_256'), []);
    assert.deepEqual(generateProof([], [utf8('x')], 1, 'blake2_256'), [Uint8Array.of(0)]);
  });
});

describe('verifyProof', () => {
  for (const hasher of hashers) {
    for (const version of versions) {
      describe(`${hasher} state version ${version}`, () => {
        const root = trieRoot(proofEntries, version, hasher);

        it('accepts a valid proof for every key', () => {
          for (const [k, v] of proofEntries) {
            const proof = generateProof(proofEntries, [k], version, hasher);
            assert.equal(verifyProof(root, proof, k, v, version, hasher), true, hex(k));
          }
        });

        it('a proof for all keys verifies for all items at once, not for a single key', () => {
          const keys = proofEntries.map(([k]) => k);
          const proof = generateProof(proofEntries, keys, version, hasher);
          assert.deepEqual(verifyTrieProof(root, proof, proofEntries, version, hasher), { ok: true });
          // The single-key host function must reject it: nodes for the other keys are left over
          // (or hold values that were omitted for keys it is not checking).
          assert.equal(verifyProof(root, proof, utf8('beta'), utf8('two'), version, hasher), false);
        });

        it('rejects a wrong value', () => {
          const [k] = proofEntries[2]!;
          const proof = generateProof(proofEntries, [k], version, hasher);
          assert.equal(verifyProof(root, proof, k, utf8('tw0'), version, hasher), false);
          assert.equal(verifyProof(root, proof, k, new Uint8Array(0), version, hasher), false);
        });

        it('rejects a proof with a missing node', () => {
          const k = utf8('alphabet');
          const proof = generateProof(proofEntries, [k], version, hasher);
          assert.ok(proof.length >= 2);
          for (let i = 0; i < proof.length; i++) {
            const partial = proof.filter((_, j) => j !== i);
            assert.equal(verifyProof(root, partial, k, proofEntries[1]![1], version, hasher), false, `without node ${i}`);
          }
          assert.equal(verifyProof(root, [], k, proofEntries[1]![1], version, hasher), false);
        });

        it('rejects extra, duplicated or reordered nodes (trie-db consumes the proof strictly in order)', () => {
          const k = utf8('gamma');
          const v = proofEntries[3]![1];
          const proof = generateProof(proofEntries, [k], version, hasher);
          const unrelated = generateProof(proofEntries, [utf8('beta')], version, hasher).at(-1)!;
          assert.equal(verifyProof(root, [...proof, unrelated], k, v, version, hasher), false);
          assert.deepEqual(verifyTrieProof(root, [...proof, unrelated], [[k, v]], version, hasher).ok, false);
          const r = verifyTrieProof(root, [...proof, unrelated], [[k, v]], version, hasher);
          assert.equal(r.ok ? 'ok' : r.error, 'ExtraneousNode');
          assert.equal(verifyProof(root, [unrelated, ...proof], k, v, version, hasher), false);
          assert.equal(verifyProof(root, [...proof, proof[0]!], k, v, version, hasher), false);
          assert.equal(verifyProof(root, [...proof, proof.at(-1)!], k, v, version, hasher), false);
          if (proof.length > 2) assert.equal(verifyProof(root, [proof[0]!, ...proof.slice(1).reverse()], k, v, version, hasher), false);
        });

        it('rejects a wrong root', () => {
          const [k, v] = proofEntries[0]!;
          const proof = generateProof(proofEntries, [k], version, hasher);
          const wrong = root.slice();
          wrong[0] ^= 1;
          assert.equal(verifyProof(wrong, proof, k, v, version, hasher), false);
          assert.equal(verifyProof(trieRoot(proofEntries, version === 0 ? 1 : 0, hasher), proof, k, v, version, hasher), false);
        });

        it('rejects a value for a key absent from the trie; the absence proof itself verifies', () => {
          for (const absent of [utf8('alph'), utf8('alphabetic'), utf8('delta'), Uint8Array.of(0x14), Uint8Array.of(0x13, 0x00, 0x01)]) {
            const proof = generateProof(proofEntries, [absent], version, hasher);
            assert.equal(verifyProof(root, proof, absent, utf8('1'), version, hasher), false, hex(absent));
            assert.equal(verifyProof(root, proof, absent, new Uint8Array(0), version, hasher), false, hex(absent));
            assert.deepEqual(verifyTrieProof(root, proof, [[absent, null]], version, hasher), { ok: true }, hex(absent));
          }
        });

        it('rejects a proof that still contains the value (values must be omitted)', () => {
          // A single-leaf trie: its own encoding is a valid node set, but not a trie-db proof.
          const single = [[utf8('k'), utf8('value')]] as const;
          const r = trieRoot(single, version, hasher);
          const raw = trieRootUnhashed(single, version, hasher);
          assert.equal(verifyProof(r, [raw], utf8('k'), utf8('value'), version, hasher), false);
          const res = verifyTrieProof(r, [raw], [[utf8('k'), utf8('value')]], version, hasher);
          assert.equal(res.ok ? 'ok' : res.error, 'ExtraneousValue');
          assert.equal(verifyProof(r, generateProof(single, [utf8('k')], version, hasher), utf8('k'), utf8('value'), version, hasher), true);
        });

        it('rejects a proof that gives a child on the path by hash', () => {
          const entries = [
            [Uint8Array.of(0x10), filled(29, 0x61)],
            [Uint8Array.of(0x20), filled(28, 0x62)],
          ] as const;
          const r = trieRoot(entries, version, hasher);
          const rawRoot = trieRootUnhashed(entries, version, hasher);
          const leafA = generateProof(entries, [Uint8Array.of(0x10)], version, hasher)[1]!;
          const res = verifyTrieProof(r, [rawRoot, leafA], [[Uint8Array.of(0x10), filled(29, 0x61)]], version, hasher);
          assert.equal(res.ok ? 'ok' : res.error, 'ExtraneousHashReference');
        });

        it('ignores trailing bytes on a proof node, as trie-db does (the root is rebuilt from canonical encodings)', () => {
          const [k, v] = proofEntries[2]!;
          const proof = generateProof(proofEntries, [k], version, hasher);
          const padded = proof.map((n, i) => (i === proof.length - 1 ? cat(n, [0xde, 0xad]) : n));
          assert.equal(verifyProof(root, padded, k, v, version, hasher), true);
        });

        it('rejects undecodable nodes and a value against the empty trie', () => {
          const [k, v] = proofEntries[2]!;
          const proof = generateProof(proofEntries, [k], version, hasher);
          assert.equal(verifyProof(root, [Uint8Array.of(0x01), ...proof.slice(1)], k, v, version, hasher), false);
          const empty = H(hasher, Uint8Array.of(0));
          assert.equal(verifyProof(empty, [Uint8Array.of(0)], k, v, version, hasher), false);
          assert.deepEqual(verifyTrieProof(empty, [Uint8Array.of(0)], [[k, null]], version, hasher), { ok: true });
        });
      });
    }
  }

  test('v1 proof of a hashed value: the value node is not in the proof; verification hashes the given value', () => {
    const k = utf8('alphabet');
    const v = proofEntries[1]![1];
    assert.ok(v.length >= 33);
    const root1 = trieRoot(proofEntries, 1, 'blake2_256');
    const proof = generateProof(proofEntries, [k], 1, 'blake2_256');
    assert.equal(
      proof.some((n) => hex(n).includes(hex(v))),
      false,
    );
    assert.equal(verifyProof(root1, proof, k, v, 1, 'blake2_256'), true);
    // the same proof checked as state version 0 stores the value inline, so the root differs
    assert.equal(verifyProof(root1, proof, k, v, 0, 'blake2_256'), false);
    // and a v0 trie's proof does not verify as v1
    const root0 = trieRoot(proofEntries, 0, 'blake2_256');
    assert.equal(verifyProof(root0, generateProof(proofEntries, [k], 0, 'blake2_256'), k, v, 1, 'blake2_256'), false);
    // a value of exactly 32 bytes is inline in both versions, so the proof verifies either way
    const k32 = utf8('gammc');
    const v32 = proofEntries[5]![1];
    // (the state version only decides how the checked value is re-encoded: other nodes are taken
    // as the proof gives them, so a v0 trie's proof for a short value verifies as v1 too)
    assert.equal(verifyProof(root0, generateProof(proofEntries, [k32], 0, 'blake2_256'), k32, v32, 1, 'blake2_256'), true);
    assert.equal(verifyProof(root1, generateProof(proofEntries, [k32], 1, 'blake2_256'), k32, v32, 0, 'blake2_256'), true);
    const small = proofEntries.filter(([, val]) => val.length < 33);
    assert.deepEqual(trieRoot(small, 0, 'blake2_256'), trieRoot(small, 1, 'blake2_256'));
  });

  test('a checked value too long for the inline leaf it sits in: InvalidChildReference', () => {
    // 12 -> "a" is an inline leaf (40 04 61) inside the root branch
    const entries = [
      [Uint8Array.of(0x12), utf8('a')],
      [Uint8Array.of(0x13), utf8('b')],
    ] as const;
    for (const version of versions) {
      const root = trieRoot(entries, version, 'blake2_256');
      const proof = generateProof(entries, [Uint8Array.of(0x12)], version, 'blake2_256');
      assert.equal(verifyProof(root, proof, Uint8Array.of(0x12), utf8('a'), version, 'blake2_256'), true);
      // leaf 40 + compact + 32 bytes (v0) or 20 + 32-byte hash (v1, for 33 bytes): longer than 32
      const r = verifyTrieProof(root, proof, [[Uint8Array.of(0x12), filled(33, 0)]], version, 'blake2_256');
      assert.equal(r.ok ? 'ok' : r.error, 'InvalidChildReference');
    }
  });

  test('a proof for two keys checked for one: the unused node is extraneous', () => {
    const entries = [
      [Uint8Array.of(0x10), filled(40, 1)],
      [Uint8Array.of(0x20), filled(40, 2)],
    ] as const;
    const root = trieRoot(entries, 0, 'keccak_256');
    const proof = generateProof(entries, [Uint8Array.of(0x10), Uint8Array.of(0x20)], 0, 'keccak_256');
    assert.equal(proof.length, 3);
    const both = verifyTrieProof(root, proof, entries, 0, 'keccak_256');
    assert.deepEqual(both, { ok: true });
    const one = verifyTrieProof(root, proof, [entries[0]], 0, 'keccak_256');
    assert.equal(one.ok ? 'ok' : one.error, 'ExtraneousNode');
    assert.equal(verifyProof(root, proof, Uint8Array.of(0x10), filled(40, 1), 0, 'keccak_256'), false);
    // a key absent from the proof's items but whose node is omitted: checking with null fails too
    const withAbsent = verifyTrieProof(root, proof, [entries[0], [Uint8Array.of(0x20), null]], 0, 'keccak_256');
    assert.equal(withAbsent.ok, false);
  });

  test('the multi-item verifier rejects duplicate keys and an empty item list with a proof', () => {
    const root = trieRoot(proofEntries, 0, 'blake2_256');
    const k = utf8('beta');
    const proof = generateProof(proofEntries, [k], 0, 'blake2_256');
    const dup = verifyTrieProof(root, proof, [[k, utf8('two')], [k, utf8('two')]], 0, 'blake2_256');
    assert.equal(dup.ok ? 'ok' : dup.error, 'DuplicateKey');
    assert.equal(verifyTrieProof(root, proof, [], 0, 'blake2_256').ok, false);
    assert.equal(verifyTrieProof(root, [], [], 0, 'blake2_256').ok, true);
  });

  test('randomised tries: every key proves, tampered proofs fail', () => {
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed % n;
    };
    for (let round = 0; round < 30; round++) {
      const hasher = hashers[round % 2]!;
      const version = versions[(round >> 1) % 2]!;
      const entries: (readonly [Uint8Array, Uint8Array])[] = [];
      const count = 1 + rnd(40);
      for (let i = 0; i < count; i++) {
        const key = Uint8Array.from({ length: 1 + rnd(4) }, () => rnd(3) * 0x11 + rnd(2));
        const value = Uint8Array.from({ length: rnd(3) === 0 ? 30 + rnd(10) : rnd(5) }, () => rnd(256));
        entries.push([key, value]);
      }
      const root = trieRoot(entries, version, hasher);
      const latest = new Map(entries.map(([k, v]) => [hex(k), v]));
      for (const [kh, v] of latest) {
        const k = unhex(kh);
        const proof = generateProof(entries, [k], version, hasher);
        assert.equal(verifyProof(root, proof, k, v, version, hasher), true);
        const wrongValue = cat(v, [1]);
        assert.equal(verifyProof(root, proof, k, wrongValue, version, hasher), false);
        for (const node of proof) assert.deepEqual(encodeNode(decodeNode(node)), node);
      }
    }
  });
});
