/** The engines available to this process: those the binary carries, or the in-process V8 from source. */
import type { Engine } from '../core/candidate/validate.ts';
import { EngineStore } from './store/store.ts';
import { sourceV8Engine, workerEngine, type WorkerEngineOptions } from './worker-engine.ts';
import type { EngineEntry } from './store/manifest.ts';

export interface Registry {
  store: EngineStore | undefined;
  engines: Engine[];
  defaultEngine: Engine;
  find(id: string): Engine | undefined;
}

function nodeVersionOf(e: EngineEntry): number[] {
  const m = /node(\d+)\.(\d+)\.(\d+)/.exec(e.id);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [0, 0, 0];
}

/** The newest active v8 engine (by the node version in its id). */
export function newestActiveV8(entries: EngineEntry[]): EngineEntry | undefined {
  return entries
    .filter((e) => e.family === 'v8' && e.status === 'active')
    .sort((a, b) => {
      const x = nodeVersionOf(a);
      const y = nodeVersionOf(b);
      return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
    })
    .at(-1);
}

export function loadRegistry(opts: WorkerEngineOptions = {}): Registry {
  const store = EngineStore.open();
  if (!store) {
    // Running from source: the v8 worker of this checkout, on the running node (via tsx), so the
    // CLI has the same isolation and timeouts as the engines a build carries.
    const source = sourceV8Engine();
    return { store, engines: [source], defaultEngine: source, find: (id) => (id === source.id ? source : undefined) };
  }
  const engines = store.manifest.engines.map((e) => workerEngine(store, e, opts));
  const newest = newestActiveV8(store.manifest.engines);
  const defaultEngine = engines.find((e) => e.id === newest?.id) ?? engines[0];
  return { store, engines, defaultEngine, find: (id) => engines.find((e) => e.id === id) };
}
