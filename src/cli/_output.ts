/**
 * Output of the client commands: whole writes to stdout, one-line errors to
 * stderr.
 *
 * @module
 */

const encoder = new TextEncoder();

/**
 * Writes text to stdout, all of it, even when the pipe takes it in parts.
 *
 * @param text The text.
 */
export function writeOut(text: string): void {
  const bytes = encoder.encode(text);
  let written = 0;
  while (written < bytes.length) {
    written += Deno.stdout.writeSync(bytes.subarray(written));
  }
}

/**
 * Prints one line on stderr.
 *
 * @param line The line.
 */
export function printError(line: string): void {
  // deno-lint-ignore no-console
  console.error(line);
}
