// Catches a process at a point it announces in its log, whatever the machine's speed: it runs in slices of a few
// milliseconds, stopped (SIGSTOP) between them while the log is read, and is left stopped once the line is there.
import { existsSync, readdirSync, readFileSync } from 'node:fs';

const SLICE_MS = 20;
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** The first live process whose command line has every one of `words` among its arguments. */
export function findProcess(words: string[]): number | undefined {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    let args: string[];
    try {
      args = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (words.every((w) => args.includes(w))) return Number(name);
  }
  return undefined;
}

/** Waits for the process, then stops it as soon as `logFile` matches `pattern`; its pid (stopped: SIGCONT it). */
export function pauseWhenLogged(words: string[], logFile: string, pattern: RegExp, timeoutMs: number): Promise<number> {
  const logged = () => existsSync(logFile) && pattern.test(readFileSync(logFile, 'utf8'));
  return pauseWhen(words, logged, `${pattern} in ${logFile}`, () => tail(logFile), timeoutMs);
}

/** Waits for the process, then stops it as soon as `ready()` holds, checked while it is stopped; its pid. */
export async function pauseWhen(
  words: string[],
  ready: () => boolean,
  what: string,
  context: () => string,
  timeoutMs: number,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  const timedOut = (waitingFor: string) => new Error(`gave up after ${timeoutMs / 1000} s waiting for ${waitingFor}`);
  let pid: number | undefined;
  while ((pid = findProcess(words)) === undefined) {
    if (Date.now() > deadline) throw timedOut(`a process with ${words.join(' ')}`);
    await sleep(SLICE_MS);
  }
  for (;;) {
    try {
      process.kill(pid, 'SIGSTOP');
    } catch {
      throw new Error(`process ${pid} (${words.join(' ')}) ended before ${what}:\n${context()}`);
    }
    if (ready()) return pid;
    process.kill(pid, 'SIGCONT');
    if (Date.now() > deadline) throw timedOut(`${what}:\n${context()}`);
    await sleep(SLICE_MS);
  }
}

function tail(file: string): string {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').slice(-15).join('\n') : `(no ${file})`;
}
