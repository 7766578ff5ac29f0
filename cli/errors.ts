/** User-facing errors: one line, a distinct exit code, never a stack trace. */
import { EXIT } from '../core/candidate/verdict.ts';

export class UserError extends Error {
  override readonly name = 'UserError';
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/** A mistake in how the command was invoked (exit 64). */
export function usageError(message: string): UserError {
  return new UserError(message, EXIT.usage);
}

/** Input data that cannot be read or is malformed (exit 65). */
export function dataError(message: string): UserError {
  return new UserError(message, EXIT.data);
}

/** An output file asked for cannot be created where it is asked for (exit 73, sysexits EX_CANTCREAT). */
export function outputError(message: string): UserError {
  return new UserError(message, 73);
}
