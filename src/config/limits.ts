/**
 * Every limit's default, in one place: the option table, the rooms, the
 * session and the docs' tests all read them from here.
 *
 * @module
 */

const MiB = 1024 * 1024;

/**
 * The largest message Deno's WebSocket accepts: from 64 MiB on it drops the
 * TCP connection without a close frame, so our own limit must stay below.
 */
export const RUNTIME_MAX_MESSAGE_SIZE = 64 * MiB - 1;

/** Largest accepted message by default (`--max-message-size`), in bytes. */
export const MAX_MESSAGE_SIZE = 16 * MiB;

/** Open connections at most by default (`--max-connections`). */
export const MAX_CONNECTIONS = 10_000;

/** Open connections per client IP at most by default (`--max-connections-per-ip`). */
export const MAX_CONNECTIONS_PER_IP = 256;

/** Bytes queued to a slow reader before it is closed, by default (`--max-buffered`). */
export const MAX_BUFFERED = 4 * MiB;

/** Seconds without a pong before a peer is dropped, by default (`--idle-timeout`). */
export const IDLE_TIMEOUT_S = 30;

/** Rooms one connection may be in at once, by default (`--max-rooms-per-connection`). */
export const MAX_ROOMS_PER_CONNECTION = 32;

/** Members one room may hold at once, by default (`--max-room-members`). */
export const MAX_MEMBERS_PER_ROOM = 10_000;

/** Room names: 1 to 64 characters of letters, digits, dot, underscore and dash. */
export const ROOM_NAME_PATTERN: RegExp = /^[A-Za-z0-9._-]{1,64}$/;

/** Characters of a message shown in a `--verbose` log line. */
export const LOG_PREVIEW_LENGTH = 200;

/** How long shutdown waits for peers to answer the 1001 close, in milliseconds. */
export const SHUTDOWN_GRACE_MS = 5_000;

/** `Retry-After` seconds on a 503 refusal. */
export const RETRY_AFTER_S = 5;

/**
 * Bytes sent to a connection between two looks at its `bufferedAmount`: a slow
 * consumer is caught at most this much (plus one message) past `maxBuffered`.
 */
export const BUFFER_CHECK_BYTES = 64 * 1024;

/**
 * How long a server-initiated close waits for the peer's input to stop before
 * sending the close frame: Deno 2.9.6 resets the TCP connection when data
 * arrives on a CLOSING socket, which can destroy the close frame in flight.
 */
export const CLOSE_QUIET_MS = 50;

/** The longest a server-initiated close waits for quiet before closing anyway. */
export const CLOSE_DEADLINE_MS = 1_000;

/** The longest close reason RFC 6455 allows, in UTF-8 bytes. */
export const MAX_CLOSE_REASON_BYTES = 123;
