/**
 * Sending to a connection, and forgetting one: the two places where a
 * connection's bookkeeping changes outside its own events.
 *
 * @module
 */
import type { Connection } from "./connection.ts";
import { increment } from "./metrics.ts";
import type { ServerState } from "./state.ts";

/** Close codes the server sends (RFC 6455 section 7.4.1). */
export const CLOSE = {
  /** The server is shutting down. */
  GOING_AWAY: 1001,
  /** A policy was broken: slow consumer or rate limit. */
  POLICY_VIOLATION: 1008,
  /** A message was larger than `--max-message-size`. */
  MESSAGE_TOO_BIG: 1009,
  /** Counted for a connection that ended without a close frame. */
  ABNORMAL: 1006,
} as const;

/**
 * Bytes sent to a connection between two looks at its `bufferedAmount`: a slow
 * consumer is caught at most this much (plus one message) past `maxBuffered`.
 */
export const BUFFER_CHECK_BYTES = 64 * 1024;

/**
 * Queues a frame, unless the peer is gone or is a slow consumer: one with more
 * than `maxBuffered` bytes still queued is closed with 1008 instead.
 *
 * @param state The server state.
 * @param target The connection to send to.
 * @param data The frame.
 * @param size The frame's payload size in bytes, for the counters.
 * @returns `true` when the frame was queued.
 */
export function deliver(
  state: ServerState,
  target: Connection,
  data: string | ArrayBuffer,
  size: number,
): boolean {
  const { socket } = target;
  if (socket.readyState !== WebSocket.OPEN) return false;
  // bufferedAmount is a call into the runtime: asking on every send cost ~5%
  // of the small-message echo rate, so ask once per BUFFER_CHECK_BYTES sent.
  const unchecked = target.unchecked + size;
  if (unchecked < BUFFER_CHECK_BYTES) {
    target.unchecked = unchecked;
  } else {
    target.unchecked = 0;
    if (socket.bufferedAmount > state.config.maxBuffered) {
      // A peer that stopped reading will not read the close frame either:
      // forget it now rather than when the idle timeout ends the socket.
      closeConnection(state, target, CLOSE.POLICY_VIOLATION, "slow consumer");
      return false;
    }
  }
  socket.send(data);
  target.messagesOut++;
  target.counters.messagesOut++;
  target.counters.bytesOut += size;
  return true;
}

/**
 * Closes a connection from the server's side and forgets it at once.
 *
 * @param state The server state.
 * @param connection The connection.
 * @param code The close code.
 * @param reason The close reason, at most 123 bytes.
 */
export function closeConnection(
  state: ServerState,
  connection: Connection,
  code: number,
  reason: string,
): void {
  connection.socket.close(code, reason);
  release(state, connection, code, reason);
}

/**
 * Removes a connection from the registry and every room, counts its close and
 * logs it. Only the first call for a connection does anything, so the close
 * and error events and a server-side close may all call it.
 *
 * @param state The server state.
 * @param connection The connection.
 * @param code The close code to count.
 * @param reason The close reason, for the log.
 */
export function release(
  state: ServerState,
  connection: Connection,
  code: number,
  reason: string,
): void {
  if (connection.released) return;
  connection.released = true;
  state.registry.delete(connection);
  state.rooms.leaveAll(connection);
  increment(state.metrics.closes, code);
  state.log(
    `close ${connection.id} ${connection.ip} code=${code}` +
      `${reason ? ` reason=${JSON.stringify(reason)}` : ""} ` +
      `in=${connection.messagesIn} out=${connection.messagesOut}`,
  );
}
