import { RuntimeFailure, UserError } from '../errors.ts';

/** What a file-system error code means, in words. */
function fileSystemReason(cause: NodeJS.ErrnoException): string {
  const why: Record<string, string> = {
    EROFS: 'read-only file system',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    ENOSPC: 'no space left on device',
    EDQUOT: 'disk quota exceeded',
    ENOTDIR: 'a part of the path is a file, not a folder',
    EEXIST: 'a file of that name is in the way',
    EIO: 'input/output error',
  };
  const code = cause.code ?? 'unknown error';
  return `${why[code] ?? cause.message.split('\n')[0]} (${code})`;
}

/** The runs folder cannot hold a new run record (read-only, full, not a folder). */
export class RunRecordError extends UserError {
  constructor(dir: string, cause: NodeJS.ErrnoException) {
    super(`cannot create the run record in ${dir}: ${fileSystemReason(cause)}; choose another place with --runs-dir`);
  }
}

/** The disk under a run's record failed while it trained (filled up, went read-only). */
export class RunWriteError extends RuntimeFailure {
  constructor(runDir: string, cause: NodeJS.ErrnoException, checkpointEpoch: number | undefined) {
    const kept =
      checkpointEpoch === undefined
        ? 'no epoch had completed, so there is no checkpoint: free some space and start it again'
        : `the checkpoint of epoch ${checkpointEpoch} is kept: free some space and go on with: npx vae run --resume ${runDir}`;
    super(`cannot write to the run record ${runDir}: ${fileSystemReason(cause)}. The run is FAILED; ${kept}`);
  }

  /** File-system errors that are the disk's doing rather than a bug. */
  static isDiskError(e: unknown): e is NodeJS.ErrnoException {
    return ['ENOSPC', 'EDQUOT', 'EROFS', 'EIO', 'EACCES', 'EPERM'].includes((e as NodeJS.ErrnoException)?.code ?? '');
  }
}

/** A folder that is not the run record a command needs. */
export class NotARunRecordError extends UserError {}
