/**
 * A per-connection token bucket: `rate` tokens a second, bursts of up to
 * `rate` messages.
 *
 * @module
 */
import type { Connection } from "./connection.ts";

/**
 * Takes one token from a connection's bucket.
 *
 * @param connection The connection, whose `tokens` and `refilledAt` are updated.
 * @param rate Tokens per second; also the bucket size.
 * @param now The current time in milliseconds, from `performance.now()`.
 * @returns `true` when the message may pass.
 */
export function takeToken(
  connection: Pick<Connection, "tokens" | "refilledAt">,
  rate: number,
  now: number,
): boolean {
  const refill = ((now - connection.refilledAt) / 1000) * rate;
  connection.tokens = Math.min(rate, connection.tokens + refill);
  connection.refilledAt = now;
  if (connection.tokens < 1) return false;
  connection.tokens -= 1;
  return true;
}
