// What can go wrong talking to MLflow, as errors callers can tell apart (a missing resource from a dead server).
import { RuntimeFailure } from '../errors.ts';

export class MlflowError extends RuntimeFailure {}

/** The server answered with an error: `errorCode` is MLflow's, e.g. RESOURCE_DOES_NOT_EXIST. */
export class MlflowApiError extends MlflowError {
  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
    readonly endpoint: string,
  ) {
    super(`${endpoint}: ${status} ${errorCode}: ${message}`);
  }
}

/** No answer at all (connection refused, DNS, timeout) after every retry. */
export class MlflowUnreachableError extends MlflowError {
  constructor(
    readonly url: string,
    cause: unknown,
  ) {
    super(`cannot reach MLflow at ${url}: ${describeCause(cause)}`, { cause });
  }
}

function describeCause(cause: unknown): string {
  if (cause instanceof Error) {
    const inner = (cause as Error & { cause?: unknown }).cause;
    if (inner instanceof Error) return `${cause.message} (${inner.message})`;
    return cause.message;
  }
  return String(cause);
}
