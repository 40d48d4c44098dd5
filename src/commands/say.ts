/** What a command tells the user goes to stderr, so stdout stays clean for what a script may read. */
export function say(line: string): void {
  process.stderr.write(`${line}\n`);
}
