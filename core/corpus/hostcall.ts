/**
 * Host-call PVFs: one small PVF per host function that reads the function's arguments from its
 * input, calls it once and returns what it gave as the head data of a ValidationResult. They make a
 * host function's behaviour on an engine a verdict the conformance machinery can compare
 * (tests/hostcall-conformance.test.ts runs vectors on every engine; `pvf smoke` a few).
 *
 * Input layout (the raw bytes `validate_block` receives, `--params`): the arguments in order; a
 * span as u32 LE length then its bytes, a fixed-size pointer argument as its bytes, a u32 as 4
 * bytes LE, an i64 number as 8 bytes LE. Output: a pointer result as its fixed-size bytes, a u32 as
 * 4 bytes LE, a span as its bytes, nothing for none.
 */
import { concatBytes } from '../primitives/bytes.ts';

export type ArgSpec = { kind: 'span' } | { kind: 'ptr'; size: number } | { kind: 'u32' } | { kind: 'i64' };
export type ResultSpec = { kind: 'ptr'; size: number } | { kind: 'u32' } | { kind: 'span' } | { kind: 'none' };

export interface HostCallSpec {
  fn: string;
  args: ArgSpec[];
  result: ResultSpec;
}

const span: ArgSpec = { kind: 'span' };
const u32: ArgSpec = { kind: 'u32' };
const ptr = (size: number): ArgSpec => ({ kind: 'ptr', size });
const out = (size: number): ResultSpec => ({ kind: 'ptr', size });
const status: ResultSpec = { kind: 'u32' };
const bytesOut: ResultSpec = { kind: 'span' };
const none: ResultSpec = { kind: 'none' };
const i64: ArgSpec = { kind: 'i64' };

/** Every host function the PVF host offers, each with the shape of its arguments and result. */
export const HOST_CALL_SPECS: HostCallSpec[] = [
  { fn: 'ext_allocator_malloc_version_1', args: [u32], result: status },
  { fn: 'ext_allocator_free_version_1', args: [u32], result: none },
  { fn: 'ext_logging_log_version_1', args: [u32, span, span], result: none },
  { fn: 'ext_logging_max_level_version_1', args: [], result: status },
  { fn: 'ext_misc_print_num_version_1', args: [i64], result: none },
  { fn: 'ext_misc_print_utf8_version_1', args: [span], result: none },
  { fn: 'ext_misc_print_hex_version_1', args: [span], result: none },
  { fn: 'ext_misc_runtime_version_version_1', args: [span], result: bytesOut },
  ...(
    [
      ['keccak_256', 32],
      ['keccak_512', 64],
      ['sha2_256', 32],
      ['blake2_128', 16],
      ['blake2_256', 32],
      ['twox_64', 8],
      ['twox_128', 16],
      ['twox_256', 32],
    ] as const
  ).map(([name, size]) => ({ fn: `ext_hashing_${name}_version_1`, args: [span], result: out(size) })),
  ...(['blake2', 'keccak'] as const).flatMap((h) => [
    { fn: `ext_trie_${h}_256_root_version_1`, args: [span], result: out(32) },
    { fn: `ext_trie_${h}_256_root_version_2`, args: [span, u32], result: out(32) },
    { fn: `ext_trie_${h}_256_ordered_root_version_1`, args: [span], result: out(32) },
    { fn: `ext_trie_${h}_256_ordered_root_version_2`, args: [span, u32], result: out(32) },
    { fn: `ext_trie_${h}_256_verify_proof_version_1`, args: [ptr(32), span, span, span], result: status },
    { fn: `ext_trie_${h}_256_verify_proof_version_2`, args: [ptr(32), span, span, span, u32], result: status },
  ]),
  { fn: 'ext_crypto_ed25519_verify_version_1', args: [ptr(64), span, ptr(32)], result: status },
  { fn: 'ext_crypto_sr25519_verify_version_1', args: [ptr(64), span, ptr(32)], result: status },
  { fn: 'ext_crypto_sr25519_verify_version_2', args: [ptr(64), span, ptr(32)], result: status },
  { fn: 'ext_crypto_ecdsa_verify_version_1', args: [ptr(65), span, ptr(33)], result: status },
  { fn: 'ext_crypto_ecdsa_verify_version_2', args: [ptr(65), span, ptr(33)], result: status },
  { fn: 'ext_crypto_ecdsa_verify_prehashed_version_1', args: [ptr(65), ptr(32), ptr(33)], result: status },
  { fn: 'ext_crypto_secp256k1_ecdsa_recover_version_1', args: [ptr(65), ptr(32)], result: bytesOut },
  { fn: 'ext_crypto_secp256k1_ecdsa_recover_version_2', args: [ptr(65), ptr(32)], result: bytesOut },
  { fn: 'ext_crypto_secp256k1_ecdsa_recover_compressed_version_1', args: [ptr(65), ptr(32)], result: bytesOut },
  { fn: 'ext_crypto_secp256k1_ecdsa_recover_compressed_version_2', args: [ptr(65), ptr(32)], result: bytesOut },
  { fn: 'ext_crypto_start_batch_verify_version_1', args: [], result: none },
  { fn: 'ext_crypto_finish_batch_verify_version_1', args: [], result: status },
  { fn: 'ext_crypto_ed25519_batch_verify_version_1', args: [ptr(64), span, ptr(32)], result: status },
  { fn: 'ext_crypto_sr25519_batch_verify_version_1', args: [ptr(64), span, ptr(32)], result: status },
  { fn: 'ext_crypto_ecdsa_batch_verify_version_1', args: [ptr(65), span, ptr(33)], result: status },
  // Keystore functions: PVF validation has no keystore (every call traps in Substrate).
  ...(
    [
      ['ed25519', 32],
      ['sr25519', 32],
      ['ecdsa', 33],
    ] as const
  ).flatMap(([k, pub]) => [
    { fn: `ext_crypto_${k}_public_keys_version_1`, args: [ptr(4)], result: bytesOut },
    { fn: `ext_crypto_${k}_generate_version_1`, args: [ptr(4), span], result: out(pub) },
    { fn: `ext_crypto_${k}_sign_version_1`, args: [ptr(4), ptr(pub), span], result: bytesOut },
  ]),
  { fn: 'ext_crypto_ecdsa_sign_prehashed_version_1', args: [ptr(4), ptr(33), ptr(32)], result: bytesOut },
];

/** The name of a host-call PVF among the project's test PVFs (cli/sample.ts testPvf): this prefix and the function. */
export const HOST_CALL_PREFIX = 'hostcall/';

export function hostCallSpec(fn: string): HostCallSpec {
  const s = HOST_CALL_SPECS.find((x) => x.fn === fn);
  if (!s) throw new Error(`no host-call PVF for ${fn}`);
  return s;
}

const u32le = (n: number): Uint8Array => Uint8Array.of(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff);

/** The input of a host-call PVF: one value per argument (bytes for spans and pointers, a number for u32). */
export function hostCallInput(spec: HostCallSpec, values: ReadonlyArray<Uint8Array | number>): Uint8Array {
  if (values.length !== spec.args.length) throw new Error(`${spec.fn}: ${spec.args.length} arguments, ${values.length} given`);
  return concatBytes(
    spec.args.map((a, k) => {
      const v = values[k];
      if (a.kind === 'u32' || a.kind === 'i64') {
        if (typeof v !== 'number') throw new Error(`${spec.fn}: argument ${k} is a number`);
        return a.kind === 'u32' ? u32le(v) : concatBytes([u32le(v >>> 0), u32le(Math.floor(v / 2 ** 32))]);
      }
      if (typeof v === 'number') throw new Error(`${spec.fn}: argument ${k} is bytes`);
      if (a.kind === 'ptr') {
        if (v.length !== a.size) throw new Error(`${spec.fn}: argument ${k} is ${a.size} bytes, ${v.length} given`);
        return v;
      }
      return concatBytes([u32le(v.length), v]);
    }),
  );
}

/** The ValidationResult head data the PVF returns for a host function's output bytes. */
export function hostCallOutput(spec: HostCallSpec, result: Uint8Array | number): Uint8Array {
  return typeof result === 'number' ? u32le(result) : result;
}

/** The PVF's WAT source. */
export function hostCallWat(spec: HostCallSpec): string {
  const params = spec.args.map((a) => (a.kind === 'span' || a.kind === 'i64' ? 'i64' : 'i32'));
  const result = spec.result.kind === 'span' ? 'i64' : spec.result.kind === 'none' ? undefined : 'i32';
  const load: string[] = [];
  spec.args.forEach((a, k) => {
    if (a.kind === 'span') {
      load.push(`(local.set $n (i32.load (local.get $c)))`);
      load.push(`(local.set $a${k} (i64.or (i64.extend_i32_u (i32.add (local.get $c) (i32.const 4))) (i64.shl (i64.extend_i32_u (local.get $n)) (i64.const 32))))`);
      load.push(`(local.set $c (i32.add (local.get $c) (i32.add (i32.const 4) (local.get $n))))`);
    } else if (a.kind === 'ptr') {
      load.push(`(local.set $a${k} (i64.extend_i32_u (local.get $c)))`);
      load.push(`(local.set $c (i32.add (local.get $c) (i32.const ${a.size})))`);
    } else if (a.kind === 'i64') {
      load.push(`(local.set $a${k} (i64.load (local.get $c)))`);
      load.push(`(local.set $c (i32.add (local.get $c) (i32.const 8)))`);
    } else {
      load.push(`(local.set $a${k} (i64.extend_i32_u (i32.load (local.get $c))))`);
      load.push(`(local.set $c (i32.add (local.get $c) (i32.const 4)))`);
    }
  });
  const call = `(call $f ${spec.args.map((a, k) => (a.kind === 'span' || a.kind === 'i64' ? `(local.get $a${k})` : `(i32.wrap_i64 (local.get $a${k}))`)).join(' ')})`;
  const res =
    spec.result.kind === 'none'
      ? [call, `(local.set $len (i32.const 0))`]
      : spec.result.kind === 'span'
      ? [`(local.set $r ${call})`, `(local.set $out (i32.wrap_i64 (local.get $r)))`, `(local.set $len (i32.wrap_i64 (i64.shr_u (local.get $r) (i64.const 32))))`]
      : spec.result.kind === 'ptr'
        ? [`(local.set $out ${call})`, `(local.set $len (i32.const ${spec.result.size}))`]
        : [`(local.set $out (call $malloc (i32.const 4)))`, `(i32.store (local.get $out) ${call})`, `(local.set $len (i32.const 4))`];
  return `;; Host-call PVF for ${spec.fn} (core/corpus/hostcall.ts).
(module
  (import "env" "memory" (memory 17))
  (import "env" "${spec.fn}" (func $f${params.length ? ` (param ${params.join(' ')})` : ''}${result ? ` (result ${result})` : ''}))
  (import "env" "ext_allocator_malloc_version_1" (func $malloc (param i32) (result i32)))
  (global (export "__heap_base") i32 (i32.const 1048576))
  (func (export "validate_block") (param $p i32) (param $l i32) (result i64)
    (local $c i32) (local $n i32) (local $r i64) (local $out i32) (local $len i32) (local $buf i32) (local $k i32) (local $h i32)
    ${spec.args.map((_, k) => `(local $a${k} i64)`).join(' ')}
    (local.set $c (local.get $p))
    ${load.join('\n    ')}
    ${res.join('\n    ')}
    ;; ValidationResult: Compact(len) ++ bytes, None, [], [], 0u32, 0u32
    (local.set $buf (call $malloc (i32.add (local.get $len) (i32.const 16))))
    (if (i32.lt_u (local.get $len) (i32.const 64))
      (then (i32.store8 (local.get $buf) (i32.shl (local.get $len) (i32.const 2))) (local.set $h (i32.const 1)))
      (else (if (i32.lt_u (local.get $len) (i32.const 16384))
        (then (i32.store16 (local.get $buf) (i32.or (i32.shl (local.get $len) (i32.const 2)) (i32.const 1))) (local.set $h (i32.const 2)))
        (else (i32.store (local.get $buf) (i32.or (i32.shl (local.get $len) (i32.const 2)) (i32.const 2))) (local.set $h (i32.const 4))))))
    (local.set $k (i32.const 0))
    (block $done (loop $copy
      (br_if $done (i32.ge_u (local.get $k) (local.get $len)))
      (i32.store8 (i32.add (i32.add (local.get $buf) (local.get $h)) (local.get $k)) (i32.load8_u (i32.add (local.get $out) (local.get $k))))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br $copy)))
    (local.set $k (i32.add (i32.add (local.get $buf) (local.get $h)) (local.get $len)))
    (i32.store8 (local.get $k) (i32.const 0))
    (i32.store8 offset=1 (local.get $k) (i32.const 0))
    (i32.store8 offset=2 (local.get $k) (i32.const 0))
    (i32.store offset=3 (local.get $k) (i32.const 0))
    (i32.store offset=7 (local.get $k) (i32.const 0))
    (i64.or (i64.extend_i32_u (local.get $buf)) (i64.shl (i64.extend_i32_u (i32.add (i32.add (local.get $h) (local.get $len)) (i32.const 11))) (i64.const 32)))))
`;
}
