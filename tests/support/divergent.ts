/** A test-only engine that disagrees with the in-process V8 engine on purpose. */
import type { Engine } from '../../core/candidate/validate.ts';
import { inProcessV8 } from '../../engines/v8/index.ts';

/** The in-process V8 with the last output byte flipped: for every candidate, or where `flips(params)`. */
export function divergentEngine(flips: (params: Uint8Array) => boolean = () => true): Engine {
  return {
    id: 'test-divergent',
    family: 'v8',
    vmVersion: 'test',
    async execute(code, params, opts) {
      const out = await inProcessV8.execute(code, params, opts);
      if (!flips(params)) return out;
      const raw = out.raw.slice();
      raw[raw.length - 1] ^= 0x01;
      return { ...out, raw };
    },
    prepare: (module, opts) => inProcessV8.prepare(module, opts),
  };
}
