// A lock between the processes of one machine: a file created exclusively that holds its owner's pid.
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { RuntimeFailure } from '../errors.ts';

export class LockTimeoutError extends RuntimeFailure {}

/**
 * Runs `action` while holding the lock file `path`, waiting (polling) while another process holds it. A lock whose
 * owner has died (crash, SIGKILL) is taken over, so nobody has to delete one by hand.
 */
export async function withFileLock<T>(path: string, action: () => Promise<T>, options: { timeoutMs: number; pollMs?: number }): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    try {
      writeFileSync(path, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = ownerOf(path);
    if (owner === 'gone') {
      rmSync(path, { force: true });
      continue;
    }
    if (Date.now() > deadline)
      throw new LockTimeoutError(`${path} is still held by process ${owner}; if no vae command is running, delete that file`);
    await new Promise((done) => setTimeout(done, options.pollMs ?? 100));
  }
  try {
    return await action();
  } finally {
    rmSync(path, { force: true });
  }
}

/** The owner's pid, or 'gone' when it has exited. An empty file is a lock being written, unless it has been empty for long. */
function ownerOf(path: string): number | 'gone' | 'unknown' {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch {
    return 'unknown'; // released between our attempt and this read: the next attempt will tell
  }
  const pid = Number(text);
  if (!text || !Number.isInteger(pid)) {
    try {
      return Date.now() - statSync(path).mtimeMs > 10_000 ? 'gone' : 'unknown';
    } catch {
      return 'unknown';
    }
  }
  return isAlive(pid) ? pid : 'gone';
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
