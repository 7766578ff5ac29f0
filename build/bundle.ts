/**
 * esbuild bundling for the CLI and the engine workers. A worker bundle is part of an engine's
 * payload, whose bytes are pinned: they must follow behaviour, not layout. esbuild marks where each
 * module starts with a `// path/to/file.ts` comment; those lines are removed, so moving or renaming
 * a source file changes no payload byte (tests/bundle.test.ts renames one and compares).
 */
import { build } from 'esbuild';
import { join } from 'node:path';

/** esbuild's module-boundary comment: a line that is only `// <relative path of a source file>`. */
const PATH_COMMENT = /^[ \t]*\/\/ [\w@./+-]+\.(?:[cm]?[jt]s|json|wasm)\n/gm;

export interface BundleOptions {
  define?: Record<string, string>;
  alias?: Record<string, string>;
  /** A worker bundle inside a pinned payload: no whitespace, no comments. */
  pinned?: boolean;
}

export async function bundle(root: string, entry: string, extra: BundleOptions = {}): Promise<Buffer> {
  const out = await build({
    entryPoints: [join(root, entry)],
    absWorkingDir: root,
    write: false,
    outfile: 'bundle.cjs',
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    legalComments: 'none',
    minifyWhitespace: extra.pinned ?? false,
    logLevel: 'warning',
    external: ['wabt', 'tsx', 'tsx/*'],
    // Only the source-checkout paths (tsx, running .ts workers) use import.meta; in a bundle they
    // never run, and these stand-ins keep the output free of esbuild's empty-import-meta warning.
    define: { 'import.meta.url': '""', 'import.meta.resolve': 'require.resolve', ...(extra.define ?? {}) },
    alias: extra.alias,
    nodePaths: [join(root, 'node_modules')],
    // Module keys esbuild writes (e.g. `__esm({"node_modules/…"})`) stay relative to the root
    // even where node_modules is a symlink (tests/bundle.test.ts bundles a copy of the tree).
    preserveSymlinks: true,
  });
  const js = out.outputFiles.find((f) => f.path.endsWith('.cjs'));
  if (!js) throw new Error(`esbuild produced no bundle for ${entry}`);
  return Buffer.from(js.text.replace(PATH_COMMENT, ''), 'utf8');
}
