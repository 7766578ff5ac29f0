/**
 * Drive a Substrate runtime's block-building APIs with chopsticks' executor (smoldot's wasmi host
 * compiled to Wasm), over a storage map we own. Each call's storage diff is applied to our map, so
 * the state after a block is exactly parent state + the runtime's writes, and we compute its root
 * ourselves.
 */
import { run_task } from '@acala-network/chopsticks-executor';
import { toHex } from '../../core/primitives/hex.ts';

type Hex = `0x${string}`;

export class Storage {
  readonly map = new Map<string, Uint8Array>();
  private sorted: string[] | undefined;

  static fromRaw(top: Record<string, string>): Storage {
    const s = new Storage();
    for (const [k, v] of Object.entries(top)) s.map.set(k.toLowerCase(), Buffer.from(v.slice(2), 'hex'));
    return s;
  }

  clone(): Storage {
    const s = new Storage();
    for (const [k, v] of this.map) s.map.set(k, v);
    return s;
  }

  get(key: string): Uint8Array | undefined {
    return this.map.get(key.toLowerCase());
  }

  set(key: string, value: Uint8Array | null): void {
    if (value === null) this.map.delete(key.toLowerCase());
    else this.map.set(key.toLowerCase(), value);
    this.sorted = undefined;
  }

  keys(): string[] {
    this.sorted ??= [...this.map.keys()].sort();
    return this.sorted;
  }

  /** The first key after `key` that starts with `prefix` (hex strings compare like bytes). */
  nextKey(prefix: string, key: string): string | undefined {
    const keys = this.keys();
    let lo = 0;
    let hi = keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (keys[mid] <= key) lo = mid + 1;
      else hi = mid;
    }
    const next = keys[lo];
    return next !== undefined && next.startsWith(prefix) ? next : undefined;
  }

  entries(): Array<[Uint8Array, Uint8Array]> {
    return this.keys().map((k) => [Buffer.from(k.slice(2), 'hex'), this.map.get(k)!]);
  }
}

interface TaskResult {
  Call?: { result: Hex; storageDiff: Array<[Hex, Hex | null | undefined]>; runtimeLogs: Array<{ message: string; level?: number; target?: string }> };
  Error?: string;
}

let nextTaskId = 0;

/** Call one runtime API on `storage`, apply its writes, return the SCALE result. */
export async function callRuntime(code: Uint8Array, storage: Storage, method: string, args: Uint8Array[] = []): Promise<Uint8Array> {
  const task = {
    id: nextTaskId++,
    wasm: toHex(code),
    calls: [[method, args.map(toHex)]],
    mockSignatureHost: 0,
    allowUnresolvedImports: false,
    runtimeLogLevel: Number(process.env.PVF_RUNTIME_LOG_LEVEL ?? 0),
    storageProofSize: 0,
  };
  const res = (await run_task(task, {
    getStorage: async (key: Hex) => {
      const v = storage.get(key);
      return v ? toHex(v) : undefined;
    },
    getNextKey: async (prefix: Hex, key: Hex) => storage.nextKey(prefix.toLowerCase(), key.toLowerCase()),
    offchainGetStorage: async () => undefined,
    offchainTimestamp: async () => 0,
    offchainRandomSeed: async () => toHex(new Uint8Array(32)) as Hex,
    offchainSubmitTransaction: async () => false,
  })) as TaskResult;
  if (res.Error !== undefined || !res.Call) throw new Error(`${method} failed: ${res.Error}`);
  if (process.env.PVF_RUNTIME_LOG_LEVEL) for (const l of res.Call.runtimeLogs) process.stderr.write(`[${method}] ${l.target ?? ''} ${l.message}\n`);
  for (const [k, v] of res.Call.storageDiff) storage.set(k, v == null ? null : Buffer.from(v.slice(2), "hex"));
  return Buffer.from(res.Call.result.slice(2), 'hex');
}
