/**
 * Sending to a connection, and forgetting one: the two places where a
 * connection's bookkeeping changes outside its own events.
 *
 * @module
 */
import { BUFFER_CHECK_BYTES } from "../config/limits.ts";
import { CLOSE } from "../config/constants.ts";
import type { Connection } from "./connection.ts";
import { increment } from "./metrics.ts";
import type { ServerState } from "./state.ts";

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
  data: string | ArrayBuffer | Uint8Array<ArrayBuffer>,
  size: number,
): boolean {
  const { socket } = target;
  if (socket.readyState !== WebSocket.OPEN || target.closeCode !== 0) {
    return false;
  }
  // bufferedAmount is a call into the runtime: asking on every send cost ~5%
  // of the small-message echo rate, so ask once per BUFFER_CHECK_BYTES sent.
  const unchecked = target.unchecked + size;
  if (unchecked < BUFFER_CHECK_BYTES) {
    target.unchecked = unchecked;
  } else {
    target.unchecked = 0;
    if (socket.bufferedAmount > state.config.maxBuffered) {
      // A peer that stopped reading will not read the close frame either, so
      // there is nothing to wait for: close and forget it now rather than
      // when the idle timeout ends the socket.
      closeNow(state, target, CLOSE.PolicyViolation, "slow consumer");
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
 * Closes a connection from the server's side at once, and forgets it.
 *
 * @param state The server state.
 * @param connection The connection.
 * @param code The close code.
 * @param reason The close reason, at most 123 bytes.
 */
export function closeNow(
  state: ServerState,
  connection: Connection,
  code: number,
  reason: string,
): void {
  markClosing(connection, code, reason);
  if (connection.socket.readyState <= WebSocket.OPEN) {
    connection.socket.close(code, reason);
  }
  forget(state, connection, code);
}

/**
 * Records that the server is closing a connection with a code, so that nothing
 * more is sent to it and its log line names the server as the closing side.
 * Only the first code counts.
 *
 * @param connection The connection.
 * @param code The close code.
 * @param reason The close reason.
 */
export function markClosing(
  connection: Connection,
  code: number,
  reason: string,
): void {
  if (connection.closeCode !== 0) return;
  connection.closeCode = code;
  connection.closeReason = reason;
}

/**
 * Removes a connection from the registry and every room and counts its close.
 * Only the first call for a connection does anything, so a server-side close
 * and the socket's own events may all call it.
 *
 * @param state The server state.
 * @param connection The connection.
 * @param code The close code to count: the one of the side that closed first.
 */
export function forget(
  state: ServerState,
  connection: Connection,
  code: number,
): void {
  if (connection.released) return;
  connection.released = true;
  state.registry.delete(connection);
  state.rooms.leaveAll(connection);
  increment(state.metrics.closes, code);
}
