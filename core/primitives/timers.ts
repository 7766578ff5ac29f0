/**
 * Timers for limits that come from untrusted or large parameters. Node's setTimeout holds a delay
 * of at most 2^31 - 1 ms; a longer one is replaced by 1 ms (with a TimeoutOverflowWarning), so a
 * consistent but large PvfExecTimeout would fire at once. Every limit timer goes through here.
 */

/** The longest delay Node's setTimeout honours (about 24.8 days). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Milliseconds since `t0` (a performance.now() reading), to the microsecond: the unit of every `timings` field. */
export function msSince(t0: number): number {
  return Math.round((performance.now() - t0) * 1000) / 1000;
}

/** A delay Node's setTimeout honours as given: NaN and negatives are 0, the rest at most MAX_TIMER_MS. */
export function clampTimerMs(ms: number): number {
  if (!(ms > 0)) return 0;
  return Math.min(ms, MAX_TIMER_MS);
}

export interface LongTimer {
  clear(): void;
}

/**
 * setTimeout for any delay: longer than MAX_TIMER_MS is waited in steps of at most `step` ms, so
 * the callback runs after `ms` (never early); an infinite delay never fires. `step` is for tests.
 */
export function setLongTimeout(fn: () => void, ms: number, step: number = MAX_TIMER_MS): LongTimer {
  const deadline = performance.now() + Math.max(0, Number.isNaN(ms) ? 0 : ms);
  const limit = clampTimerMs(step) || 1;
  let timer: NodeJS.Timeout | undefined;
  let cleared = false;
  const arm = (): void => {
    if (cleared) return;
    const left = deadline - performance.now();
    if (left <= limit) timer = setTimeout(fn, Math.max(0, Math.ceil(left)));
    else timer = setTimeout(arm, limit);
  };
  arm();
  return {
    clear: () => {
      cleared = true;
      clearTimeout(timer);
    },
  };
}

/** A promise that resolves after `ms`, any size. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setLongTimeout(resolve, ms));
}
