/** `pvf engines list | verify | extract | gc`. */
import type { Command } from 'commander';
import { rmSync } from 'node:fs';
import type { KeyObject } from 'node:crypto';
import { resolve } from 'node:path';
import { EngineStore, cacheRoot } from '../engines/store/store.ts';
import { sha256Hex } from '../engines/store/payload.ts';
import { ElfError, readSection } from '../engines/store/elf.ts';
import { SIGNATURE_SECTION } from '../engines/store/manifest.ts';
import { checkRelease, parsePublicKey, rawPublicKeyHex, ReleaseError } from '../engines/store/release.ts';
import { HostFault } from '../core/candidate/verdict.ts';
import { dataError, usageError } from './errors.ts';
import { readInputFile } from './inputs.ts';

/** A public key file (PEM or hex) is a few hundred bytes. */
const KEY_FILE_LIMIT = 64 * 1024;
import { SIGNING_KEY } from './version.ts';
import { spinnerFactory } from './spinner.ts';

function openStore(binary?: string): EngineStore {
  const path = binary ?? process.execPath;
  const store = EngineStore.open(path);
  if (!store) {
    throw binary
      ? dataError(`--binary ${binary}: not a pvf binary (no ${'.pvf.manifest'} section)`)
      : usageError('this pvf carries no engine sections (running from source: build dist/pvf with npm run build)');
  }
  return store;
}

function mib(n: number): string {
  return `${(n / 1048576).toFixed(1)} MiB`;
}

export function registerEngines(program: Command, setExit: (code: number) => void): void {
  const engines = program.command('engines').description('the engines this binary carries');

  engines
    .command('list')
    .description('id, family, VM version, sizes, sha256, status, whether extracted, and the host functions it does not run as Substrate does')
    .option('--json', 'print JSON')
    .action((o: { json?: boolean }) => {
      const store = openStore();
      const rows = store.manifest.engines.map((e) => ({
        id: e.id,
        family: e.family,
        vmVersion: e.vmVersion,
        sha256: e.sha256,
        size: e.size,
        compressedSize: e.compressedSize,
        status: e.status,
        extracted: store.isExtracted(e),
        hostDivergences: e.hostDivergences ?? [],
      }));
      if (o.json) {
        process.stdout.write(JSON.stringify({ engines: rows }) + '\n');
        return;
      }
      for (const r of rows) {
        process.stdout.write(
          `${r.id.padEnd(28)} ${r.family.padEnd(6)} ${r.vmVersion.padEnd(26)} ${mib(r.size).padStart(10)} (${mib(r.compressedSize)} compressed)  ${r.status.padEnd(10)} ${r.extracted ? 'extracted' : '-'}  ${r.sha256.slice(0, 16)}…\n`,
        );
        // Known host-function divergences: a PVF calling one abstains on this engine (README, Host API conformance).
        for (const d of r.hostDivergences) process.stdout.write(`    not as Substrate: ${d.fn}${d.inputs ? ` (${d.inputs})` : ''}: ${d.reason.replace(/: tests\/.*$/, '')}\n`);
      }
    });

  engines
    .command('verify')
    .description('check the signed release statement (whole file and each part), every engine section against the manifest, and the cache')
    .option('--binary <path>', 'verify another pvf binary (e.g. a download) instead of this one')
    .option('--pubkey <file>', 'the release public key you hold (PEM, or 64 hex digits); default $PVF_RELEASE_PUBKEY')
    .action((o: { binary?: string; pubkey?: string }) => {
      const path = o.binary ? resolve(o.binary) : process.execPath;
      const store = openStore(o.binary ? resolve(o.binary) : undefined);
      const keyFile = o.pubkey ?? (process.env.PVF_RELEASE_PUBKEY || undefined);
      const keyFlag = o.pubkey !== undefined ? '--pubkey' : 'PVF_RELEASE_PUBKEY';
      let releaseKey: KeyObject | undefined;
      if (keyFile !== undefined) {
        const text = Buffer.from(readInputFile(keyFlag, keyFile, KEY_FILE_LIMIT)).toString('utf8');
        try {
          releaseKey = parsePublicKey(text);
        } catch (e) {
          if (e instanceof ReleaseError) throw dataError(`${keyFlag} ${keyFile}: ${e.message}`);
          throw e;
        }
      }
      const problems: string[] = [];
      let release: ReturnType<typeof checkRelease>;
      try {
        release = checkRelease(path, releaseKey);
      } catch (e) {
        if (!(e instanceof ReleaseError || e instanceof ElfError)) throw e;
        release = { problems: [`release statement: ${e.message}`], parts: 0 };
      }
      problems.push(...release.problems);
      if (release.problems.length === 0) process.stdout.write(`ok   release statement: the whole file and ${release.parts} parts, signed by ${release.signer}\n`);
      if (!store.sections.some((s) => s.name === SIGNATURE_SECTION)) problems.push('the manifest has no signature section');
      else if (!store.signatureValid(SIGNING_KEY ?? store.manifest.signingKey)) problems.push('the manifest signature does not verify');
      if (SIGNING_KEY && store.manifest.signingKey !== SIGNING_KEY) problems.push(`the manifest names signing key ${store.manifest.signingKey}, this pvf trusts ${SIGNING_KEY}`);
      if (releaseKey && store.manifest.signingKey !== rawPublicKeyHex(releaseKey)) problems.push(`the manifest names signing key ${store.manifest.signingKey}, not the key given (${rawPublicKeyHex(releaseKey)})`);
      for (const e of store.manifest.engines) {
        const s = store.sections.find((x) => x.name === e.section);
        if (!s) {
          problems.push(`section ${e.section} (engine ${e.id}) is missing`);
          continue;
        }
        const bytes = readSection(store.binary, s);
        if (bytes.length !== e.compressedSize || sha256Hex(bytes) !== e.compressedSha256) problems.push(`section ${e.section} (engine ${e.id}) does not match the manifest`);
        else process.stdout.write(`ok   ${e.section}\n`);
        if (store.isExtracted(e) && !store.cachedIntact(e)) problems.push(`cached copy of ${e.id} in ${store.dirOf(e)} is damaged (it will be re-extracted on next use)`);
      }
      for (const p of problems) process.stdout.write(`FAIL ${p}\n`);
      if (problems.length === 0) {
        process.stdout.write(`verified: ${store.manifest.engines.length} engines, signature by ${store.manifest.signingKey.slice(0, 16)}…\n`);
        if (!releaseKey) {
          process.stdout.write(`note: self-consistency only: the statement is signed by the key it names itself. Give --pubkey FILE (or set PVF_RELEASE_PUBKEY) with the release key you hold to check who signed it.\n`);
        }
      }
      setExit(problems.length === 0 ? 0 : 1);
    });

  engines
    .command('extract <id>')
    .description('extract one engine to the cache, or to --to DIR')
    .option('--to <dir>', 'extract into this directory instead of the cache')
    .action(async (id: string, o: { to?: string }) => {
      const store = openStore();
      const e = store.engine(id);
      if (!e) throw usageError(`unknown engine ${id} (this binary carries: ${store.manifest.engines.map((x) => x.id).join(', ')})`);
      try {
        const dir = await store.ensureExtracted(e, { to: o.to ? resolve(o.to) : undefined, onExtract: spinnerFactory(false)?.(id) });
        process.stdout.write(`${dir}\n`);
      } catch (err) {
        if (err instanceof HostFault) {
          process.stderr.write(`pvf: ${err.detail}\n`);
          setExit(2);
          return;
        }
        throw err;
      }
    });

  engines
    .command('gc')
    .description(`remove cache entries of engines this binary does not carry (cache: ${cacheRoot()})`)
    .option('--all', 'remove every cached engine')
    .action((o: { all?: boolean }) => {
      const store = openStore();
      for (const p of store.garbage(Boolean(o.all))) {
        rmSync(p, { recursive: true, force: true });
        process.stdout.write(`removed ${p}\n`);
      }
    });
}
