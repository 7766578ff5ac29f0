/**
 * The confinement of every engine worker (README, "Worker sandbox"). A PVF is untrusted code run by
 * a JIT or an interpreter; should it escape the engine, the process it lands in must reach nothing.
 * Three layers, each used where the machine gives it and reported where it does not:
 *
 * - `permission`: Node's permission model on the engine's own node: reads of the engine's files
 *   only, no writes, no child processes, no addons, no WASI; worker threads allowed (the job thread
 *   and the watchdog). It is enforced by Node itself: it binds JavaScript, not native code.
 * - `namespaces`: bubblewrap (`bwrap`): new user, mount, PID, network, IPC and UTS namespaces, no
 *   capabilities. The worker sees a read-only view of the engine's folders and the system's
 *   libraries, an empty /tmp as its working directory, its own /proc and a minimal /dev; it has no
 *   network interface but a loopback that is down. Enforced by the kernel.
 * - `limits`: resource limits set before the worker starts (`prlimit`): address space, open files,
 *   no core dumps. Enforced by the kernel.
 *
 * Not covered: a seccomp filter (system calls are not filtered), landlock, and the number of
 * processes (RLIMIT_NPROC does not bind root and counts every thread of the user otherwise); the
 * PID namespace and the missing binaries stand in for the latter.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { cacheRoot } from './store/store.ts';
import { delimiter, join } from 'node:path';
import { constants as osConstants } from 'node:os';

export type LayerName = 'permission' | 'namespaces' | 'limits';
export const LAYERS: readonly LayerName[] = ['permission', 'namespaces', 'limits'];

/** The resource limits of a worker. */
export const WORKER_LIMITS = {
  /**
   * RLIMIT_AS. V8 reserves 8 to 10 GiB of address space for every Wasm memory (guard regions), and a
   * job has several: the PVF's, the host's own Wasm (zstd, the hashers) and, in a wasmi worker, the
   * executor's. Measured (`prlimit --as=N pvf validate` of a statemine block): the node 22 engine
   * needs more than 64 GiB and less than 96 GiB, the node 24 and wasmi engines less than 64 GiB.
   * 256 GiB leaves room for a kept-alive worker's two job threads; a flood of reservations stops.
   * A job that meets the limit abstains (a fault of this machine, never invalid).
   */
  addressSpaceBytes: 256 * 1024 ** 3,
  /** RLIMIT_NOFILE: a worker needs a few dozen. */
  openFiles: 256,
} as const;

export interface LayerStatus {
  name: LayerName;
  active: boolean;
  /** What the layer does here, or why it is not active. */
  detail: string;
  /** How to get it, when it is not active. */
  enable?: string;
}

interface Probe {
  bwrap?: string;
  prlimit?: string;
  layers: LayerStatus[];
}

let probed: Probe | undefined;

/** An executable of that name on the PATH (or in the usual places), as an absolute path. */
function findTool(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/bin', '/bin', '/usr/sbin', '/sbin'].filter(Boolean);
  for (const d of dirs) {
    const p = join(d, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // next
    }
  }
  return undefined;
}

/** The system folders a dynamically linked node needs (read-only in the namespace). */
const SYSTEM_LIBS = ['/lib', '/lib64', '/usr/lib', '/usr/lib64'];

function bwrapArgs(bwrap: string, readDirs: readonly string[]): string[] {
  // Mounts apply in order: the empty /tmp first, so that an engine folder under /tmp stays visible.
  const args = [bwrap, '--unshare-all', '--die-with-parent', '--new-session', '--cap-drop', 'ALL', '--tmpfs', '/tmp', '--proc', '/proc', '--dev', '/dev'];
  for (const d of SYSTEM_LIBS) args.push('--ro-bind-try', d, d);
  for (const d of readDirs) args.push('--ro-bind', d, d);
  args.push('--chdir', '/tmp', '--');
  return args;
}

/** This process's own limits from /proc/self/limits ("Max open files  1024  4096  files"). */
function ownLimits(): Map<string, [soft: number, hard: number]> {
  const limits = new Map<string, [number, number]>();
  let text = '';
  try {
    text = readFileSync('/proc/self/limits', 'utf8');
  } catch {
    return limits;
  }
  const num = (x: string) => (x === 'unlimited' ? Infinity : Number(x));
  for (const line of text.split('\n').slice(1)) {
    const m = /^(.+?)\s{2,}(\S+)\s+(\S+)/.exec(line);
    if (m) limits.set(m[1].trim(), [num(m[2]), num(m[3])]);
  }
  return limits;
}

/**
 * The limits only ever go down: a limit this process already has below ours stays (raising it
 * would fail for a user without privileges, and undo a limit the operator chose).
 */
function prlimitArgs(prlimit: string): string[] {
  const own = ownLimits();
  const lower = (name: string, ours: number) => {
    const [soft, hard] = own.get(name) ?? [Infinity, Infinity];
    return `${Math.min(ours, soft)}:${Math.min(ours, hard)}`;
  };
  return [prlimit, `--as=${lower('Max address space', WORKER_LIMITS.addressSpaceBytes)}`, `--nofile=${lower('Max open files', WORKER_LIMITS.openFiles)}`, '--core=0', '--'];
}

interface Trial {
  ok: boolean;
  why: string;
  /** A trial that ran (not one that could not start for want of a resource). */
  conclusive: boolean;
}

/** Run bwrap once with the worker's namespaces around `true`. */
function bwrapTrial(bwrap: string, sh: string): Trial {
  const r = spawnSync(bwrap, [...bwrapArgs(bwrap, []).slice(1, -1), '--ro-bind', sh, sh, '--', sh], { encoding: 'utf8', timeout: 10_000, env: {} });
  // A trial that could not even start (EMFILE, EAGAIN: this machine is short of something) says
  // nothing about namespaces: the worker's own start will meet the same fault and abstain.
  if (r.error !== undefined && (r.error as NodeJS.ErrnoException).code !== 'ENOENT') return { ok: true, why: '', conclusive: false };
  return { ok: r.status === 0, why: (r.stderr || r.error?.message || `exit ${r.status}`).trim().split('\n')[0], conclusive: true };
}

/**
 * The trial's outcome is remembered in the cache for this boot, this bwrap and this user (it costs
 * 5–15 ms, a tenth of a warm validation): namespaces do not come and go without a reboot or an
 * administrator, and a stale "yes" only makes workers fail to start (abstain), never a verdict.
 * `pvf doctor` runs the trial afresh and rewrites it (docs/caches.md).
 */
function trialKey(bwrap: string): string | undefined {
  try {
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    return JSON.stringify({ boot, bwrap, mtime: statSync(bwrap).mtimeMs, uid: process.getuid?.() ?? -1 });
  } catch {
    return undefined;
  }
}

const trialFile = () => join(cacheRoot(), 'sandbox-trial.json');

function rememberedTrial(bwrap: string): Trial | undefined {
  const key = trialKey(bwrap);
  if (!key) return undefined;
  try {
    const t = JSON.parse(readFileSync(trialFile(), 'utf8')) as { key?: string; ok?: unknown; why?: unknown };
    return t.key === key && typeof t.ok === 'boolean' && typeof t.why === 'string' ? { ok: t.ok, why: t.why, conclusive: true } : undefined;
  } catch {
    return undefined;
  }
}

function rememberTrial(bwrap: string, t: Trial): void {
  const key = trialKey(bwrap);
  if (!key) return;
  try {
    const tmp = `${trialFile()}.tmp-${process.pid}`;
    writeFileSync(tmp, JSON.stringify({ key, ok: t.ok, why: t.why }), { mode: 0o600 });
    renameSync(tmp, trialFile());
  } catch {
    // No cache to write to: the next process runs the trial again.
  }
}

/**
 * Which layers this machine gives, probed once per process: `bwrap` must be able to create its
 * namespaces here (a trial run, remembered for this boot: see rememberedTrial; `fresh` runs it
 * again, as `pvf doctor` does), `prlimit` must exist. `PVF_SANDBOX=off` turns every layer off (for
 * measuring their cost; `pvf doctor` reports it).
 */
export function sandboxProbe(fresh = false): Probe {
  if (probed && !fresh) return probed;
  if (process.env.PVF_SANDBOX === 'off') {
    const off = (name: LayerName): LayerStatus => ({ name, active: false, detail: 'turned off by PVF_SANDBOX=off', enable: 'unset PVF_SANDBOX' });
    return (probed = { layers: LAYERS.map(off) });
  }
  const bwrap = findTool('bwrap');
  const prlimit = findTool('prlimit');
  const sh = findTool('true');
  let nsDetail = 'bubblewrap (bwrap) is not installed';
  let nsActive = false;
  if (bwrap && sh) {
    const known = fresh ? undefined : rememberedTrial(bwrap);
    const trial = known ?? bwrapTrial(bwrap, sh);
    if (!known && trial.conclusive) rememberTrial(bwrap, trial);
    nsActive = trial.ok;
    nsDetail = nsActive
      ? `${bwrap}: new user, mount, PID, network, IPC and UTS namespaces; a read-only view of the engine's folders and system libraries; no network; no capabilities`
      : `${bwrap} cannot create namespaces here: ${trial.why}`;
  }
  const layers: LayerStatus[] = [
    { name: 'permission', active: true, detail: "Node's permission model on the engine's node: reads of the engine's files only; no writes, child processes, addons or WASI" },
    nsActive
      ? { name: 'namespaces', active: true, detail: nsDetail }
      : { name: 'namespaces', active: false, detail: nsDetail, enable: bwrap ? 'allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1, or the AppArmor/container policy that forbids them)' : 'install bubblewrap (Debian/Ubuntu: apt install bubblewrap)' },
    prlimit
      ? { name: 'limits', active: true, detail: `${prlimit}: address space ${WORKER_LIMITS.addressSpaceBytes / 1024 ** 3} GiB, ${WORKER_LIMITS.openFiles} open files, no core dumps` }
      : { name: 'limits', active: false, detail: 'prlimit is not installed', enable: 'install util-linux (Debian/Ubuntu: apt install util-linux)' },
  ];
  probed = { bwrap: nsActive ? bwrap : undefined, prlimit, layers };
  return probed;
}

/** The layers this process confines its workers with (probed once). */
export function sandboxLayers(): LayerStatus[] {
  return sandboxProbe().layers;
}

export function missingLayers(): LayerStatus[] {
  return sandboxLayers().filter((l) => !l.active);
}

/** The permission flag of a node version: stable `--permission` from 22.13 and 23.5, experimental before. */
export function permissionFlag(nodeVersion: string): string | undefined {
  const m = /^v?(\d+)\.(\d+)/.exec(nodeVersion);
  if (!m) return undefined;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  if (major >= 24 || (major === 23 && minor >= 5) || (major === 22 && minor >= 13)) return '--permission';
  if (major >= 20) return '--experimental-permission';
  return undefined;
}

export interface WorkerCommand {
  /** The node binary of the engine, then the worker script and its arguments. */
  argv: string[];
  /** The node version of that binary. */
  nodeVersion: string;
  /** The folders the worker may read: the engine's own, and the one of the node it runs on. */
  readDirs: string[];
}

/**
 * The command line that starts a worker inside every active layer (`only`: just these, for the
 * tests that show what each layer stops), and whether bubblewrap stands between us and the worker
 * (it reports a worker killed by signal N as exit code 128 + N: see signalOfExit).
 */
export function sandboxedArgv(cmd: WorkerCommand, only?: ReadonlySet<LayerName>): { argv: string[]; viaBwrap: boolean; program: string } {
  const probe = sandboxProbe();
  const use = (name: LayerName) => (only ? only.has(name) : true) && probe.layers.some((l) => l.name === name && l.active);
  const [node, ...rest] = cmd.argv;
  const flag = use('permission') ? permissionFlag(cmd.nodeVersion) : undefined;
  const nodeArgv = flag ? [node, flag, ...cmd.readDirs.map((d) => `--allow-fs-read=${d}`), '--allow-worker', ...rest] : cmd.argv;
  const ns = use('namespaces') && probe.bwrap ? bwrapArgs(probe.bwrap, cmd.readDirs) : [];
  const limits = use('limits') && probe.prlimit ? prlimitArgs(probe.prlimit) : [];
  return { argv: [...limits, ...ns, ...nodeArgv], viaBwrap: ns.length > 0, program: node };
}

/** The signal bubblewrap reports as exit code 128 + N, if that is what `code` is. */
export function signalOfExit(code: number | null): NodeJS.Signals | null {
  if (code === null || code <= 128) return null;
  const n = code - 128;
  const name = Object.entries(osConstants.signals).find(([, v]) => v === n)?.[0];
  return (name as NodeJS.Signals | undefined) ?? null;
}
