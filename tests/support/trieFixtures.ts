// Reads the trie-root cases of the Polkadot Host API conformance fixtures
// (`../shared/fixtures/hostapi/*.jl`, outside the repo). The .jl files are Julia modules holding
// plain constant arrays of strings; only the small subset of syntax they use is understood here.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const hostApiFixtureDir = join(repoRoot, '..', 'shared', 'fixtures', 'hostapi');

export function hostApiFixturesPresent(): boolean {
  return ['HostApiFunctions.jl', 'HostApiInputs.jl', 'HostApiOutputs.jl', 'include.jl'].every((f) => existsSync(join(hostApiFixtureDir, f)));
}

/** Text of `const <name> = [ ... ]` (the outer brackets included), or throws. */
function constBlock(source: string, name: string): string {
  const m = new RegExp(`const\\s+${name}\\s*=\\s*\\[`).exec(source);
  if (m === null) throw new Error(`fixture constant ${name} not found`);
  let depth = 0;
  let inString = false;
  for (let i = m.index + m[0].length - 1; i < source.length; i++) {
    const c = source[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '#') {
      // comment to end of line
      while (i < source.length && source[i] !== '\n') i++;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '[') depth++;
    else if (c === ']' && --depth === 0) return source.slice(m.index + m[0].length - 1, i + 1);
  }
  throw new Error(`fixture constant ${name} is not closed`);
}

function stringsIn(text: string): string[] {
  const out: string[] = [];
  const withoutComments = text.replace(/#[^\n]*/g, '');
  for (const m of withoutComments.matchAll(/"((?:[^"\\]|\\.)*)"/g)) out.push(JSON.parse(`"${m[1]}"`) as string);
  return out;
}

/** A list of rows (`[[a, b], [c, d], ...]`), each row a list of strings. */
function rows(source: string, name: string): string[][] {
  const block = constBlock(source, name);
  const inner = block.slice(1, -1);
  const out: string[][] = [];
  for (const m of inner.replace(/#[^\n]*/g, '').matchAll(/\[([^\[\]]*)\]/g)) out.push(stringsIn(m[1]!));
  return out;
}

function flat(source: string, name: string): string[] {
  return stringsIn(constBlock(source, name));
}

export interface TrieRootCase {
  readonly fn: string;
  readonly pairs: ReadonlyArray<readonly [string, string]>;
  readonly expectedHex: string;
}

export interface OrderedRootCase {
  readonly fn: string;
  readonly values: ReadonlyArray<string>;
  readonly expectedHex: string;
}

export interface TrieFixtureCases {
  readonly root: TrieRootCase[];
  readonly ordered: OrderedRootCase[];
}

/**
 * The cases exactly as `include.jl` zips them: for each row index, the rows of every input list
 * are concatenated (`flatzip`), and the function gets that flat argument list.
 */
export function loadTrieFixtureCases(): TrieFixtureCases {
  const fns = readFileSync(join(hostApiFixtureDir, 'HostApiFunctions.jl'), 'utf8');
  const inputs = readFileSync(join(hostApiFixtureDir, 'HostApiInputs.jl'), 'utf8');
  const outputs = readFileSync(join(hostApiFixtureDir, 'HostApiOutputs.jl'), 'utf8');

  const zip = (lists: string[][][]): string[][] => {
    const n = lists[0]!.length;
    for (const l of lists) if (l.length !== n) throw new Error('fixture input lists differ in length');
    return Array.from({ length: n }, (_, i) => lists.flatMap((l) => l[i]!));
  };

  const root: TrieRootCase[] = [];
  const rootFns = flat(fns, 'key_value_key_value_key_value');
  const rootArgs = zip([rows(inputs, 'key_value_1'), rows(inputs, 'key_value_2'), rows(inputs, 'key_value_3')]);
  const rootOut = flat(outputs, 'key_value_key_value_key_value');
  for (const fn of rootFns) {
    rootArgs.forEach((args, i) => {
      if (args.length !== 6) throw new Error('expected three key/value pairs per trie-root case');
      root.push({
        fn,
        pairs: [
          [args[0]!, args[1]!],
          [args[2]!, args[3]!],
          [args[4]!, args[5]!],
        ],
        expectedHex: rootOut[i]!,
      });
    });
  }

  const ordered: OrderedRootCase[] = [];
  const orderedFns = flat(fns, 'value_value_value');
  const orderedArgs = zip([rows(inputs, 'value_1'), rows(inputs, 'value_2'), rows(inputs, 'value_3')]);
  const orderedOut = flat(outputs, 'value_value_value');
  for (const fn of orderedFns) {
    orderedArgs.forEach((values, i) => ordered.push({ fn, values, expectedHex: orderedOut[i]! }));
  }
  return { root, ordered };
}

const pvfFixtureDir = join(repoRoot, '..', 'shared', 'fixtures', 'pvf');
const shellSpecPath = join(pvfFixtureDir, 'shell.raw-chainspec.json');
const shellHeadPath = join(pvfFixtureDir, 'shell-genesis-head-data.hex');

export function shellGenesisFixturePresent(): boolean {
  return existsSync(shellSpecPath) && existsSync(shellHeadPath);
}

const fromHex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.trim().replace(/^0x/, ''), 'hex'));

/**
 * The raw genesis storage of the Cumulus Shell chain spec together with the state root that its
 * registered genesis head (a SCALE block header: parent hash, compact number, state root, ...)
 * commits to.
 */
export function loadShellGenesis(): { top: (readonly [Uint8Array, Uint8Array])[]; childTries: number; stateRoot: Uint8Array } {
  const spec = JSON.parse(readFileSync(shellSpecPath, 'utf8')) as {
    genesis: { raw: { top: Record<string, string>; childrenDefault?: Record<string, unknown> } };
  };
  const top = Object.entries(spec.genesis.raw.top).map(([k, v]) => [fromHex(k), fromHex(v)] as const);
  const head = fromHex(readFileSync(shellHeadPath, 'utf8'));
  // skip parent hash (32) and the compact block number
  const mode = head[32]! & 3;
  const numberLen = mode === 0 ? 1 : mode === 1 ? 2 : mode === 2 ? 4 : (head[32]! >> 2) + 5;
  const at = 32 + numberLen;
  return { top, childTries: Object.keys(spec.genesis.raw.childrenDefault ?? {}).length, stateRoot: head.slice(at, at + 32) };
}
