/**
 * Reading a candidate corpus (DESIGN.md): a folder per candidate with `code.wasm` or `code.ref`
 * (the name, or the sha256, of a code file in the corpus root), `candidate.pov` and optionally
 * `expected.json`; also plain folders holding one code file and any number of `.pov` files.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { decodePovFile } from './codecs.ts';
import type { Expectation, Job } from './conformance.ts';

export class CorpusError extends Error {
  override readonly name = 'CorpusError';
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function resolveRef(root: string, ref: string, where: string): string {
  if (/^[0-9a-f]{64}$/i.test(ref)) {
    for (const f of readdirSync(root)) {
      const p = join(root, f);
      if (statSync(p).isFile() && sha256(readFileSync(p)) === ref.toLowerCase()) return p;
    }
    throw new CorpusError(`${where}: no code file in ${root} has sha256 ${ref}`);
  }
  if (ref.includes('/') || ref.includes('\\') || ref.startsWith('.')) throw new CorpusError(`${where}: code.ref must name a file in the corpus root`);
  const p = join(root, ref);
  if (!existsSync(p)) throw new CorpusError(`${where}: code.ref names ${ref}, which is not in ${root}`);
  return p;
}

function povJob(name: string, code: string, pov: string, expected?: Expectation): Job {
  const bytes = new Uint8Array(readFileSync(pov));
  let decoded;
  try {
    decoded = decodePovFile(bytes);
  } catch (e) {
    throw new CorpusError(`${pov}: not a .pov file (SCALE(PoV) ‖ SCALE(PVD)): ${(e as Error).message}`);
  }
  return { name, input: { kind: 'pov', code: new Uint8Array(readFileSync(code)), pov: decoded.pov, pvd: decoded.pvd }, expected, files: { code, pov } };
}

export function readCorpus(root: string): Job[] {
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new CorpusError(`${root}: not a directory`);
  const jobs: Job[] = [];
  for (const entry of readdirSync(root).sort()) {
    const dir = join(root, entry);
    if (!statSync(dir).isDirectory()) continue;
    const files = readdirSync(dir);
    if (files.includes('candidate.pov')) {
      const code = files.includes('code.wasm') ? join(dir, 'code.wasm') : files.includes('code.ref') ? resolveRef(root, readFileSync(join(dir, 'code.ref'), 'utf8').trim(), dir) : undefined;
      if (!code) throw new CorpusError(`${dir}: has candidate.pov but neither code.wasm nor code.ref`);
      let expected: Expectation | undefined;
      if (files.includes('expected.json')) {
        try {
          expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Expectation;
        } catch (e) {
          throw new CorpusError(`${dir}/expected.json: ${(e as Error).message}`);
        }
        if (expected.verdict !== 'valid' && expected.verdict !== 'invalid') throw new CorpusError(`${dir}/expected.json: verdict must be valid or invalid`);
        // A runtime's panic text is informative; the comparable fields are verdict, headData, raw.
        expected = {
          verdict: expected.verdict,
          ...(expected.headData ? { headData: expected.headData } : {}),
          ...(expected.raw ? { raw: expected.raw } : {}),
          ...(expected.verdict === 'invalid' && expected.reason ? { reason: expected.reason } : {}),
        };
      }
      jobs.push(povJob(entry, code, join(dir, 'candidate.pov'), expected));
      continue;
    }
    const wasm = files.filter((f) => f.endsWith('.wasm'));
    const povs = files.filter((f) => f.endsWith('.pov')).sort();
    if (wasm.length === 1 && povs.length > 0) {
      for (const p of povs) jobs.push(povJob(`${entry}/${p}`, join(dir, wasm[0]), join(dir, p)));
    }
  }
  if (jobs.length === 0) throw new CorpusError(`${root}: no candidates found`);
  return jobs;
}

/** Shard I of N (1-based): every job lands in exactly one shard. */
export function shard<T>(items: T[], index: number, count: number): T[] {
  return items.filter((_, k) => k % count === index - 1);
}
