/**
 * A server-initiated close that reaches a peer which is still sending.
 *
 * Deno 2.9.6 closes the resource of a CLOSING server socket at the peer's
 * next data frame, and closing a TCP socket with unread input sends a reset
 * that can destroy the close frame in flight. So: stop acting on the peer's
 * input (the caller's part), wait until the peer has been quiet for a moment
 * (Deno keeps reading meanwhile, so nothing is left unread), then close. A
 * peer that never stops is closed at a deadline, and may then see 1006.
 *
 * @module
 */

/** Options of {@linkcode closeWhenQuiet}. */
export interface QuietCloseOptions {
  /**
   * Milliseconds without a message from the peer before the close is sent.
   *
   * @default {QUIET_CLOSE_MS}
   */
  quietMs?: number;
  /**
   * Milliseconds after which the close is sent even if the peer is still sending.
   *
   * @default {QUIET_CLOSE_DEADLINE_MS}
   */
  deadlineMs?: number;
}

/** How long the peer must be quiet before a server close is sent, in milliseconds. */
export const QUIET_CLOSE_MS = 50;
/** How long a server close waits at most for the peer to go quiet, in milliseconds. */
export const QUIET_CLOSE_DEADLINE_MS = 2_000;

/**
 * Closes a socket once its peer stops sending; at once when it is quiet already.
 *
 * @param socket The server side of the socket.
 * @param code The close code.
 * @param reason The close reason, at most 123 UTF-8 bytes.
 * @param options How long to wait for quiet, and at most.
 */
export function closeWhenQuiet(
  socket: WebSocket,
  code: number,
  reason: string,
  options: QuietCloseOptions = {},
): void {
  const { quietMs = QUIET_CLOSE_MS, deadlineMs = QUIET_CLOSE_DEADLINE_MS } =
    options;
  if (socket.readyState !== WebSocket.OPEN) return;
  const start = performance.now();
  let last = start;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const onMessage = () => last = performance.now();
  const done = () => {
    clearTimeout(timer);
    socket.removeEventListener("message", onMessage);
    socket.removeEventListener("close", done);
  };
  const check = () => {
    const now = performance.now();
    if (now - last >= quietMs || now - start >= deadlineMs) {
      done();
      if (socket.readyState === WebSocket.OPEN) socket.close(code, reason);
      return;
    }
    timer = setTimeout(
      check,
      Math.min(quietMs - (now - last), deadlineMs - (now - start)),
    );
  };
  socket.addEventListener("message", onMessage);
  socket.addEventListener("close", done);
  timer = setTimeout(check, quietMs);
}
