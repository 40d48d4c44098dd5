// The two kinds of error a user may see. The CLI tells them apart with instanceof and prints their message alone:
// a stack trace is for bugs, and anything else that reaches the CLI is treated as one.

/** A mistake the user can fix (a spec, a file, an argument, the set-up): one line, exit code 2. */
export class UserError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A failure the message fully explains (training diverged, the disk filled up, a server is gone): one line, exit code 1. */
export class RuntimeFailure extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Exit codes of the `vae` command. */
export const EXIT_FAILURE = 1;
export const EXIT_USER_ERROR = 2;

/** The command line itself is wrong: an argument missing, or two that do not go together. */
export class UsageError extends UserError {}

/** The shell's convention for a process stopped by a signal: 128 + the signal number. */
export function exitCodeForSignal(signal: NodeJS.Signals): number {
  return signal === 'SIGINT' ? 130 : 143;
}

export function isSignalExitCode(code: number | null): boolean {
  return code === exitCodeForSignal('SIGINT') || code === exitCodeForSignal('SIGTERM');
}
