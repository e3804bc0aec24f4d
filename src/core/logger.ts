/**
 * A line logger that batches writes: `console.error` per connection open and
 * close cost ~30 µs each under churn, a string push costs next to nothing.
 *
 * @module
 */

/** Writes lines, flushing them together shortly after. */
export interface Logger {
  /** Queues one line. */
  log(line: string): void;
  /** Writes every queued line now; call before exiting. */
  flush(): void;
}

/** Options of {@linkcode createLogger}. */
export interface LoggerOptions {
  /**
   * How long lines may wait before they are written, in milliseconds.
   *
   * @default {20}
   */
  delayMs?: number;
}

/**
 * Creates a batching logger.
 *
 * @param writer Where lines go, such as `Deno.stderr`.
 * @param options The delay.
 * @returns The logger.
 *
 * @example Usage
 * ```ts ignore
 * const logger = createLogger(Deno.stderr);
 * logger.log("open abc 127.0.0.1");
 * logger.flush();
 * ```
 */
export function createLogger(
  writer: { writeSync(bytes: Uint8Array): number },
  options: LoggerOptions = {},
): Logger {
  const { delayMs = 20 } = options;
  const encoder = new TextEncoder();
  let pending = "";
  let timer: ReturnType<typeof setTimeout> | undefined;

  function flush(): void {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    let bytes = encoder.encode(pending);
    pending = "";
    while (bytes.length > 0) bytes = bytes.subarray(writer.writeSync(bytes));
  }

  return {
    log(line) {
      pending += `${line}\n`;
      if (timer !== undefined) return;
      timer = setTimeout(flush, delayMs);
      // Waiting lines must not keep a finished process alive.
      Deno.unrefTimer(timer);
    },
    flush,
  };
}
