/**
 * Known host-function divergences as policy (README, "Host API conformance"). An engine's manifest
 * entry lists the host functions it does not run as Substrate does (engines/engines.json,
 * tests/hostcall-conformance.test.ts shows each). Before such an engine runs a module, the
 * module's imports of those functions are renamed to a marker name the engine does not provide:
 * the import keeps its index and signature, nothing else changes, and a module that never calls
 * the function runs as before (importing is not calling: the statemine runtime imports
 * `secp256k1_ecdsa_recover_compressed_version_2` and validates without calling it). A call traps
 * as a call to a missing function; the marker in the engine's error turns that trap into
 * `abstain engine-unavailable` naming the function, never a verdict. The marker carries a nonce
 * of this process, so a PVF cannot forge it by importing such a name itself.
 */
import { randomBytes } from 'node:crypto';
import { concatBytes, leb128 } from '../primitives/bytes.ts';
import { WasmByteReader, wasmSections } from '../wasm/wasm-bytes.ts';
import { HostFault } from '../candidate/verdict.ts';

export interface HostDivergence {
  fn: string;
  /** The inputs affected, when narrower than every call. */
  inputs?: string;
  reason: string;
}

const NONCE = randomBytes(8).toString('hex');
const MARKER = `pvf-policy-${NONCE}:`;

export interface PolicyModule {
  module: Uint8Array;
  /** The divergences whose functions the module imports (their imports renamed). */
  renamed: HostDivergence[];
}

const fail = (m: string) => new Error(`host policy: ${m}`);

function skipLimits(r: WasmByteReader): void {
  const flags = r.byte();
  const wide = (flags & 4) !== 0; // memory64: u64 bounds
  r.skipLeb(wide ? 10 : 5);
  if (flags & 1) r.skipLeb(wide ? 10 : 5);
}

/** The module with its `env` imports of the listed functions renamed to the marker (unchanged if it imports none). */
export function withHostPolicy(module: Uint8Array, divergences: readonly HostDivergence[]): PolicyModule {
  const byFn = new Map(divergences.map((d) => [d.fn, d]));
  const section = [...wasmSections(module, fail)].find((s) => s.id === 2);
  if (!section || byFn.size === 0) return { module, renamed: [] };
  const r = new WasmByteReader(module, section.start, section.end, fail);
  const parts: Uint8Array[] = [];
  const renamed: HostDivergence[] = [];
  const n = r.u32();
  parts.push(leb128(n));
  const text = new TextDecoder();
  const name = (): string => {
    const len = r.u32();
    const at = r.pos;
    r.skip(len);
    return text.decode(module.subarray(at, r.pos));
  };
  for (let k = 0; k < n; k++) {
    const entryStart = r.pos;
    const mod = name();
    const fieldAt = r.pos;
    const field = name();
    const descStart = r.pos;
    const kind = r.byte();
    if (kind === 0) r.u32();
    else if (kind === 1) {
      r.byte();
      skipLimits(r);
    } else if (kind === 2) skipLimits(r);
    else if (kind === 3) r.skip(2);
    else if (kind === 4) {
      r.byte();
      r.u32();
    } else throw fail(`unknown import kind ${kind}`);
    const d = byFn.get(field);
    if (d && kind === 0 && mod === 'env') {
      const marker = new TextEncoder().encode(MARKER + field);
      parts.push(module.subarray(entryStart, fieldAt), leb128(marker.length), marker, module.subarray(descStart, r.pos));
      renamed.push(d);
    } else {
      parts.push(module.subarray(entryStart, r.pos));
    }
  }
  if (renamed.length === 0) return { module, renamed };
  const body = concatBytes(parts);
  return { module: concatBytes([module.subarray(0, section.head), Uint8Array.of(2), leb128(body.length), body, module.subarray(section.end)]), renamed };
}

/**
 * The abstain for a trap raised by a call to a renamed import (the engine's error names the
 * marker), or undefined if the error is something else.
 */
export function policyAbstain(detail: string, policy: PolicyModule, engineId: string): HostFault | undefined {
  const at = detail.indexOf(MARKER);
  if (at < 0) return undefined;
  const fn = /^[A-Za-z0-9_]+/.exec(detail.slice(at + MARKER.length))?.[0];
  const d = policy.renamed.find((x) => x.fn === fn);
  if (!d) return undefined;
  return new HostFault(
    'engine-unavailable',
    `the PVF called ${d.fn}, which ${engineId} does not run as Substrate does${d.inputs ? ` (for ${d.inputs})` : ''}: ${d.reason}; a known divergence of this engine, so no verdict here (judge with a v8 engine)`,
  );
}
