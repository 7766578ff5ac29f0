// Conformance test: the Polkadot Host API conformance runtime (polkadot-spec's `hostapi` test
// runtime) executed on the v8 engine with the PVF host function set, against the fixtures of
// polkadot-spec (`../shared/fixtures/hostapi/`, outside the repo; never copied into it).
//
// How the upstream adapter drives the runtime (polkadot-spec `test/adapters/substrate/src/host_api`):
// - every fixture input is a UTF-8 string handed over as its bytes;
// - hashing: `rtm_ext_hashing_<name>_version_1` gets SCALE(Vec<u8>) of the input; the result is
//   SCALE(Vec<u8>) of the digest, printed as hex;
// - allocator: both `ext_allocator_malloc_version_1` and `ext_allocator_free_version_1` call the
//   single export `rtm_ext_allocator_malloc_version_1` with SCALE(Vec<u8>) of the input; the runtime
//   mallocs a buffer of that size, copies the value in, reads it back and frees it, and returns
//   SCALE(Vec<u8>) of what it read; the expected output is the input string itself;
// - trie roots: `rtm_ext_trie_blake2_256_root_version_1` gets SCALE(Vec<(Vec<u8>, Vec<u8>)>) of the
//   three (key, value) pairs of a case, `..._ordered_root_version_1` gets SCALE(Vec<Vec<u8>>) of the
//   three values; the result is SCALE(Vec<u8>) of the 32-byte root, printed as hex.
// Each call runs on a fresh instance, as the adapter's `call_in_wasm` does.
//
// The expected values are read from the .jl files and zipped the way `include.jl` zips them: for
// each function of a group, for each row index i, the i-th rows of every input list are
// concatenated into the argument list; outputs are listed function-major (all rows of the first
// function, then all rows of the second, ...).
//
// SCALE encoding and decoding below are written out by hand so that this test does not depend on
// the project's own codec.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { compileModule, instantiatePvf, type Instantiated, type Prepared } from '../engines/v8/execute.ts';
import { unpackSpan } from '../engines/v8/host/host.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const fixtureDir = join(repoRoot, '..', 'shared', 'fixtures', 'hostapi');
const FIXTURE_FILES = ['HostApiFunctions.jl', 'HostApiInputs.jl', 'HostApiOutputs.jl', 'include.jl', 'hostapi_runtime.compact.wasm'];
const missing = FIXTURE_FILES.filter((f) => !existsSync(join(fixtureDir, f)));

// ---------------------------------------------------------------------------------------------
// Byte helpers and hand-written SCALE

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** SCALE Compact<u32> (all lengths here are far below 2^30). */
function compactLen(n: number): Uint8Array {
  if (n < 1 << 6) return Uint8Array.of(n << 2);
  if (n < 1 << 14) return Uint8Array.of(((n << 2) | 1) & 0xff, n >> 6);
  if (n < 1 << 30) {
    const v = ((n << 2) | 2) >>> 0;
    return Uint8Array.of(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24);
  }
  throw new Error(`length ${n} too large for this test`);
}

/** SCALE Vec<u8> / &[u8]. */
const encBytes = (b: Uint8Array): Uint8Array => concat([compactLen(b.length), b]);

/** SCALE Vec<T> from already encoded elements. */
const encVec = (items: Uint8Array[]): Uint8Array => concat([compactLen(items.length), ...items]);

/** Decode a SCALE Vec<u8> that must span `raw` exactly (canonical compact, no trailing bytes). */
function decodeWholeBytes(raw: Uint8Array): Uint8Array {
  assert.ok(raw.length >= 1, 'empty result');
  const mode = raw[0]! & 3;
  let len: number;
  let head: number;
  if (mode === 0) {
    len = raw[0]! >> 2;
    head = 1;
  } else if (mode === 1) {
    assert.ok(raw.length >= 2, 'truncated compact length');
    len = (raw[0]! | (raw[1]! << 8)) >> 2;
    head = 2;
  } else if (mode === 2) {
    assert.ok(raw.length >= 4, 'truncated compact length');
    len = ((raw[0]! | (raw[1]! << 8) | (raw[2]! << 16) | (raw[3]! << 24)) >>> 0) >>> 2;
    head = 4;
  } else {
    throw new assert.AssertionError({ message: `unexpected big-integer compact prefix 0x${toHex(raw.slice(0, 1))}` });
  }
  assert.deepEqual(compactLen(len), raw.slice(0, head), 'non-canonical compact length prefix');
  assert.equal(raw.length, head + len, `result is ${raw.length} bytes, its SCALE length prefix says ${head} + ${len}`);
  return raw.slice(head);
}

// ---------------------------------------------------------------------------------------------
// A reader for the subset of Julia the fixture files use: `const name = [ ... ]` holding nested
// arrays of string literals, integers and `nothing`, with `#` comments.

type JlValue = string | number | null | JlValue[];

function tokenize(src: string): string[] {
  const tokens: string[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (c === '#') {
      while (i < src.length && src[i] !== '\n') i++;
    } else if (/\s/.test(c)) {
      i++;
    } else if (c === '[' || c === ']' || c === ',') {
      tokens.push(c);
      i++;
    } else if (c === '"') {
      let j = i + 1;
      while (j < src.length && src[j] !== '"') j += src[j] === '\\' ? 2 : 1;
      tokens.push(src.slice(i, j + 1));
      i = j + 1;
    } else {
      let j = i;
      while (j < src.length && !/[\s\[\],#"]/.test(src[j]!)) j++;
      tokens.push(src.slice(i, j));
      i = j;
    }
  }
  return tokens;
}

function parseArrayLiteral(tokens: string[], at: number): { value: JlValue[]; next: number } {
  assert.equal(tokens[at], '[', 'array literal expected');
  const out: JlValue[] = [];
  let i = at + 1;
  while (tokens[i] !== ']') {
    const t = tokens[i];
    if (t === undefined) throw new Error('unterminated array literal in fixture');
    if (t === ',') {
      i++;
    } else if (t === '[') {
      const inner = parseArrayLiteral(tokens, i);
      out.push(inner.value);
      i = inner.next;
    } else if (t.startsWith('"')) {
      out.push(JSON.parse(t) as string);
      i++;
    } else if (t === 'nothing') {
      out.push(null);
      i++;
    } else if (/^-?\d+$/.test(t)) {
      out.push(Number(t));
      i++;
    } else {
      throw new Error(`unexpected token in fixture array: ${t}`);
    }
  }
  return { value: out, next: i + 1 };
}

/** Every `const name = [ ... ]` of a Julia module file. */
function readConsts(file: string): Map<string, JlValue[]> {
  const tokens = tokenize(readFileSync(join(fixtureDir, file), 'utf8'));
  const consts = new Map<string, JlValue[]>();
  for (let i = 0; i + 3 < tokens.length; i++) {
    if (tokens[i] === 'const' && tokens[i + 2] === '=' && tokens[i + 3] === '[') {
      consts.set(tokens[i + 1]!, parseArrayLiteral(tokens, i + 3).value);
    }
  }
  return consts;
}

function get(consts: Map<string, JlValue[]>, name: string, file: string): JlValue[] {
  const v = consts.get(name);
  if (v === undefined) throw new Error(`${file}: const ${name} not found`);
  return v;
}

const asString = (v: JlValue): string => {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  throw new Error(`fixture value ${JSON.stringify(v)} is not a scalar`);
};

// ---------------------------------------------------------------------------------------------
// The datasets of include.jl: function group, input lists (zipped row by row), output list.

type Group = 'hashing' | 'allocator' | 'trie' | 'storage' | 'child storage' | 'crypto';

interface Dataset {
  functions: string;
  inputs: { name: string; rows?: number }[] | null; // rows: `value_1[1:6]` takes the first 6 rows
  outputs: string | null;
}

const DATASETS: Dataset[] = [
  { functions: 'none', inputs: null, outputs: 'none' },
  { functions: 'value', inputs: [{ name: 'value_1' }], outputs: 'value' },
  { functions: 'child_key_value', inputs: [{ name: 'child_child' }, { name: 'key_value_1' }], outputs: 'child_key_value' },
  {
    functions: 'child_key_value_offset_buffer_size',
    inputs: [{ name: 'child_child' }, { name: 'key_value_1' }, { name: 'offset' }, { name: 'buffer_size' }],
    outputs: 'key_value_offset_buffer_size',
  },
  {
    functions: 'child_prefix_key_value_key_value',
    inputs: [{ name: 'child_child' }, { name: 'prefix_key_value_key_value' }],
    outputs: 'child_prefix_key_value_key_value',
  },
  {
    functions: 'child_key_value_key_value',
    inputs: [{ name: 'child_child' }, { name: 'key_value_1' }, { name: 'key_value_2' }],
    outputs: 'child_key_value_key_value',
  },
  { functions: 'key_value', inputs: [{ name: 'key_value_1' }], outputs: 'key_value' },
  {
    functions: 'key_value_offset_buffer_size',
    inputs: [{ name: 'key_value_1' }, { name: 'offset' }, { name: 'buffer_size' }],
    outputs: 'key_value_offset_buffer_size',
  },
  { functions: 'prefix_key_value_key_value', inputs: [{ name: 'prefix_key_value_key_value' }], outputs: null },
  { functions: 'key_value_key_value', inputs: [{ name: 'key_value_1' }, { name: 'key_value_2' }], outputs: 'key_value_key_value' },
  { functions: 'seed', inputs: [{ name: 'seed_1' }], outputs: 'seed' },
  { functions: 'seed_seed', inputs: [{ name: 'seed_1' }, { name: 'seed_2' }], outputs: null },
  { functions: 'seed_msg', inputs: [{ name: 'seed_1' }, { name: 'value_1', rows: 6 }], outputs: null },
  {
    functions: 'key_value_key_value_key_value',
    inputs: [{ name: 'key_value_1' }, { name: 'key_value_2' }, { name: 'key_value_3' }],
    outputs: 'key_value_key_value_key_value',
  },
  {
    functions: 'value_value_value',
    inputs: [{ name: 'value_1' }, { name: 'value_2' }, { name: 'value_3' }],
    outputs: 'value_value_value',
  },
];

interface FixtureCase {
  fn: string;
  group: Group;
  args: string[];
  /** The adapter's printed output without its trailing newline; null: the fixture checks none. */
  expected: string | null;
}

function groupOf(fn: string): Group {
  if (fn.startsWith('ext_hashing_')) return 'hashing';
  if (fn.startsWith('ext_allocator_')) return 'allocator';
  if (fn.startsWith('ext_trie_')) return 'trie';
  if (fn.startsWith('ext_default_child_storage_')) return 'child storage';
  if (fn.startsWith('ext_storage_') || fn === 'test_storage_init') return 'storage';
  if (fn.startsWith('ext_crypto_')) return 'crypto';
  throw new Error(`fixture function ${fn} belongs to no known group`);
}

function loadCases(): FixtureCase[] {
  const fns = readConsts('HostApiFunctions.jl');
  const inputs = readConsts('HostApiInputs.jl');
  const outputs = readConsts('HostApiOutputs.jl');
  const cases: FixtureCase[] = [];
  for (const ds of DATASETS) {
    const functions = get(fns, ds.functions, 'HostApiFunctions.jl').map(asString);
    let argRows: string[][];
    if (ds.inputs === null) {
      argRows = [[]];
    } else {
      const lists = ds.inputs.map(({ name, rows }) => {
        const all = get(inputs, name, 'HostApiInputs.jl');
        return (rows === undefined ? all : all.slice(0, rows)).map((row) => {
          if (!Array.isArray(row)) throw new Error(`HostApiInputs.jl: ${name} row is not a list`);
          return row.map(asString);
        });
      });
      const n = lists[0]!.length;
      for (const l of lists) if (l.length !== n) throw new Error(`inputs of ${ds.functions} differ in row count`);
      argRows = Array.from({ length: n }, (_, i) => lists.flatMap((l) => l[i]!));
    }
    const out = ds.outputs === null ? null : get(outputs, ds.outputs, 'HostApiOutputs.jl');
    if (out !== null && out.length !== functions.length * argRows.length) {
      throw new Error(`${ds.outputs}: ${out.length} outputs for ${functions.length} functions x ${argRows.length} inputs`);
    }
    functions.forEach((fn, f) => {
      argRows.forEach((args, i) => {
        const o = out === null ? null : out[f * argRows.length + i]!;
        cases.push({ fn, group: groupOf(fn), args, expected: o === null ? null : asString(o).replace(/\n$/, '') });
      });
    });
  }
  return cases;
}

// ---------------------------------------------------------------------------------------------
// Driving the runtime

const HASH_LEN: Record<string, number> = {
  ext_hashing_keccak_256_version_1: 32,
  ext_hashing_sha2_256_version_1: 32,
  ext_hashing_blake2_128_version_1: 16,
  ext_hashing_blake2_256_version_1: 32,
  ext_hashing_twox_256_version_1: 32,
  ext_hashing_twox_128_version_1: 16,
  ext_hashing_twox_64_version_1: 8,
};

/** The runtime export the adapter calls for a fixture function and the SCALE argument it builds. */
function callPlan(c: FixtureCase): { exportName: string; arg: Uint8Array } {
  switch (c.group) {
    case 'hashing':
      assert.equal(c.args.length, 1);
      return { exportName: `rtm_${c.fn}`, arg: encBytes(utf8(c.args[0]!)) };
    case 'allocator':
      // malloc and free are exercised by the same export (it allocates, then frees).
      assert.equal(c.args.length, 1);
      return { exportName: 'rtm_ext_allocator_malloc_version_1', arg: encBytes(utf8(c.args[0]!)) };
    case 'trie':
      if (c.fn === 'ext_trie_blake2_256_root_version_1') {
        assert.equal(c.args.length, 6);
        const pairs = [0, 2, 4].map((k) => concat([encBytes(utf8(c.args[k]!)), encBytes(utf8(c.args[k + 1]!))]));
        return { exportName: `rtm_${c.fn}`, arg: encVec(pairs) };
      }
      if (c.fn === 'ext_trie_blake2_256_ordered_root_version_1') {
        assert.equal(c.args.length, 3);
        return { exportName: `rtm_${c.fn}`, arg: encVec(c.args.map((v) => encBytes(utf8(v)))) };
      }
      throw new Error(`no adapter encoding known for ${c.fn}`);
    default:
      throw new Error(`${c.fn} is not run by this test`);
  }
}

/** Fresh instance, argument allocated with the host's allocator, call, returned bytes. */
async function callRuntime(prepared: Prepared, exportName: string, arg: Uint8Array): Promise<{ raw: Uint8Array; inst: Instantiated }> {
  const inst = await instantiatePvf(prepared);
  const fn = inst.instance.exports[exportName];
  assert.equal(typeof fn, 'function', `the runtime does not export ${exportName}`);
  const ptr = inst.host.malloc(arg.length);
  inst.host.write(ptr, arg);
  const result = (fn as (p: number, l: number) => unknown)(ptr, arg.length);
  assert.equal(typeof result, 'bigint', `${exportName} must return an i64`);
  const [outPtr, outLen] = unpackSpan(result as bigint);
  return { raw: inst.host.read(outPtr, outLen), inst };
}

function skipReason(c: FixtureCase): string | false {
  switch (c.group) {
    case 'storage':
      return 'needs the ext_storage_* host functions, which PVFs do not get (not in the PVF host set)';
    case 'child storage':
      return 'needs the ext_default_child_storage_* host functions, which PVFs do not get (not in the PVF host set)';
    case 'crypto':
      return 'needs a keystore (ext_crypto_*_generate/sign/public_keys), which PVFs do not get';
    default:
      return false;
  }
}

const caseName = (c: FixtureCase): string => `${c.fn}(${c.args.map((a) => JSON.stringify(a)).join(', ')})`;

// ---------------------------------------------------------------------------------------------

describe('Polkadot Host API conformance runtime (polkadot-spec fixtures)', { skip: missing.length > 0 ? `../shared/fixtures absent: ${missing.map((f) => join(fixtureDir, f)).join(', ')} not found` : false }, () => {
  if (missing.length > 0) return;
  const cases = loadCases();
  let preparedPromise: Promise<Prepared> | undefined;
  const prepared = (): Promise<Prepared> =>
    (preparedPromise ??= compileModule(new Uint8Array(readFileSync(join(fixtureDir, 'hostapi_runtime.compact.wasm')))));

  test('fixture tables are read completely', () => {
    const count = (g: Group): number => cases.filter((c) => c.group === g).length;
    assert.equal(count('hashing'), 70);
    assert.equal(count('allocator'), 20);
    assert.equal(count('trie'), 20);
    assert.ok(cases.filter((c) => c.group === 'hashing' || c.group === 'trie').every((c) => c.expected !== null && /^[0-9a-f]+$/.test(c.expected)));
  });

  test('README example: sha2_256("static") comes back as SCALE(Vec<u8>) = 0x80 ‖ digest', async () => {
    const { raw } = await callRuntime(await prepared(), 'rtm_ext_hashing_sha2_256_version_1', encBytes(utf8('static')));
    assert.equal(toHex(raw), '80' + '2053dbbf6ec7135c4e994d3464c478db6f48d3ca21052c8f44915edc96e02c39');
  });

  for (const group of ['hashing', 'allocator', 'trie', 'storage', 'child storage', 'crypto'] as const) {
    describe(group, () => {
      const groupCases = cases.filter((x) => x.group === group);
      const groupSkip = groupCases.length > 0 ? skipReason(groupCases[0]) : false;
      if (groupSkip) {
        // Not part of the PVF host set: one skipped entry for the whole group, not one per case.
        test(`${groupCases.length} ${group} fixture cases`, { skip: groupSkip }, () => {});
        return;
      }
      for (const c of groupCases) {
        test(caseName(c), async () => {
          const { exportName, arg } = callPlan(c);
          const { raw, inst } = await callRuntime(await prepared(), exportName, arg);
          const value = decodeWholeBytes(raw);
          assert.ok(c.expected !== null, 'fixture has no expected output');
          if (group === 'allocator') {
            // The runtime returns what it read back from the buffer it malloc'ed and then freed.
            assert.equal(Buffer.from(value).toString('utf8'), c.expected);
            assert.deepEqual(value, utf8(c.args[0]!));
          } else {
            const want = group === 'trie' ? 32 : HASH_LEN[c.fn];
            assert.ok(want !== undefined, `no digest length known for ${c.fn}`);
            assert.equal(value.length, want, `digest length`);
            assert.equal(toHex(value), c.expected);
          }
          // Nothing the runtime did should have ended up in the error log (a Rust panic message).
          assert.equal(inst.host.lastErrorLog, undefined, `runtime logged an error: ${inst.host.lastErrorLog?.message}`);
        });
      }
    });
  }
});
