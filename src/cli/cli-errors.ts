/** Exit codes of `vega`: 0 ok, 1 the work failed, 2 the command line was wrong, 130 interrupted. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
export const EXIT_INTERRUPTED = 130;

/** A command line that cannot work: unknown command or option, a bad value (exit 2). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The work could not be done; the message is the whole story (exit 1, no stack trace needed). */
export class CommandFailedError extends Error {
  override readonly name = 'CommandFailedError';
}

/** The user interrupted (Ctrl-C) the work in flight (exit 130). */
export class InterruptedError extends Error {
  override readonly name = 'InterruptedError';
  constructor() {
    super('interrupted');
  }
}

/**
 * The exit code for an error. Duck-typed on purpose: this file must not load Nest or the
 * app's error classes, which stay unloaded when a command fails before booting.
 */
export function exitCodeFor(error: unknown): number {
  if (error instanceof UsageError) return EXIT_USAGE;
  if (error instanceof InterruptedError) return EXIT_INTERRUPTED;
  const named = error as { name?: string; code?: string; status?: number } | null;
  // Commander's own parse errors (unknown option, missing argument, invalid value).
  if (typeof named?.code === 'string' && named.code.startsWith('commander.')) return EXIT_USAGE;
  // The services' `InvalidInputError`: the user's value was refused (a bad search, no feedback field).
  if (named?.name === 'InvalidInputError' || named?.status === 400) return EXIT_USAGE;
  if (named?.name === 'ClientClosedError') return EXIT_INTERRUPTED;
  return EXIT_FAILURE;
}

/** One readable line: the message with whitespace folded; the stack only when asked for. */
export function describeError(error: unknown, verbose: boolean): string {
  if (verbose && error instanceof Error && error.stack) return error.stack;
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/\s*\n\s*/g, ' ').trim() || 'unknown error';
}
