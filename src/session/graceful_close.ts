/**
 * A server-initiated close that reaches a peer that is still sending.
 *
 * Deno 2.9.6 closes the resource of a CLOSING server socket as soon as the
 * next data frame arrives, and closing a TCP socket with unread input sends a
 * reset, which can destroy the close frame in flight: the peer then sees 1006
 * instead of the code. So the close waits until the peer's input has been
 * quiet for a moment (a burst is over), with a deadline for a peer that never
 * stops.
 *
 * @module
 */
import { CLOSE_DEADLINE_MS, CLOSE_QUIET_MS } from "../config/limits.ts";

/** Options of {@linkcode closeWhenQuiet}. */
export interface CloseWhenQuietOptions {
  /**
   * How long the peer must send nothing before the close frame goes out, in milliseconds.
   *
   * @default {CLOSE_QUIET_MS}
   */
  quietMs?: number;
  /**
   * The longest to wait for quiet, in milliseconds.
   *
   * @default {CLOSE_DEADLINE_MS}
   */
  deadlineMs?: number;
}

/**
 * Sends a close frame once the peer has stopped sending. The caller stops
 * acting on the peer's messages itself; this only watches that they stop.
 *
 * @param socket The server side of the socket.
 * @param code The close code.
 * @param reason The close reason, at most 123 bytes.
 * @param options How long to wait.
 */
export function closeWhenQuiet(
  socket: WebSocket,
  code: number,
  reason: string,
  options: CloseWhenQuietOptions = {},
): void {
  const { quietMs = CLOSE_QUIET_MS, deadlineMs = CLOSE_DEADLINE_MS } = options;
  if (socket.readyState !== WebSocket.OPEN) return;
  let quiet = setTimeout(finish, quietMs);
  const deadline = setTimeout(finish, deadlineMs);

  function onInput(): void {
    clearTimeout(quiet);
    quiet = setTimeout(finish, quietMs);
  }
  function stop(): void {
    clearTimeout(quiet);
    clearTimeout(deadline);
    socket.removeEventListener("message", onInput);
    socket.removeEventListener("close", stop);
  }
  function finish(): void {
    stop();
    if (socket.readyState === WebSocket.OPEN) socket.close(code, reason);
  }
  socket.addEventListener("message", onInput);
  socket.addEventListener("close", stop);
}
