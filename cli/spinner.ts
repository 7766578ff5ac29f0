/** A spinner on stderr for engine extraction: on a real terminal only, never on a pipe, in CI or with --json. */
export function spinnerFactory(json: boolean | undefined): ((id: string) => () => void) | undefined {
  const tty = process.stderr.isTTY && (process.stderr.columns ?? 0) > 0 && !process.env.CI && !json;
  if (!tty) return undefined;
  return (id: string) => {
    let stop: (() => void) | undefined;
    let cancelled = false;
    void import('yocto-spinner').then(({ default: yoctoSpinner }) => {
      if (cancelled) return;
      const s = yoctoSpinner({ text: `extracting engine ${id}`, stream: process.stderr }).start();
      stop = () => s.success(`extracted engine ${id}`);
    });
    return () => {
      cancelled = true;
      stop?.();
    };
  };
}
