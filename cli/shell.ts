/** Quoting for the command lines pvf prints for a user to paste into a POSIX shell. */

/** Characters that never need quoting in sh (no globbing, expansion, splitting or redirection). */
const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** One argument as a POSIX shell word: unchanged when safe, else in single quotes. */
export function shellQuote(arg: string): string {
  if (SAFE.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** A command line: every argument quoted. */
export function shellCommand(args: readonly string[]): string {
  return args.map(shellQuote).join(' ');
}
