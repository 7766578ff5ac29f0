/** Assemble the project's own WAT sources (test PVFs, the built-in sample) with wabt. */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import wabtInit from 'wabt';

type Wabt = Awaited<ReturnType<typeof wabtInit>>;
let wabt: Promise<Wabt> | undefined;

/** Assemble WAT; `features` enables post-MVP proposals (for tests of the feature gate). */
export async function assembleWat(source: string, name = 'module.wat', features: Record<string, boolean> = {}): Promise<Uint8Array> {
  wabt ??= wabtInit();
  const w = await wabt;
  const mod = w.parseWat(name, source, { sign_extension: true, mutable_globals: true, ...features });
  try {
    mod.resolveNames();
    mod.validate();
    return new Uint8Array(mod.toBinary({ log: false, write_debug_names: false }).buffer);
  } finally {
    mod.destroy();
  }
}

export async function assembleWatFile(path: string): Promise<Uint8Array> {
  return assembleWat(readFileSync(path, 'utf8'), basename(path));
}
