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

/**
 * Seconds a cluster instance's presence outlives its last heartbeat (which
 * runs every third of it): a dead instance's members vanish from the counts
 * within 4/3 of this.
 */
export const BROKER_TTL_S = 15;

/**
 * The longest `--broker-ttl`: a dead instance's members vanish within 4/3 of
 * the TTL, so within 30 s even at this setting.
 */
export const MAX_BROKER_TTL_S = 22;

/** Longest wait between two attempts to reach the broker, in milliseconds. */
export const BROKER_MAX_BACKOFF_MS = 5_000;

/** Commands one broker connection may queue before more fail at once. */
export const BROKER_MAX_QUEUED_COMMANDS = 10_000;

/**
 * The fastest test lab stream by default, in messages a second per
 * connection (`--max-emit-rate`): 10,000 small messages a second cost a
 * fraction of one core, and a stream pauses for a peer that does not read.
 */
export const MAX_EMIT_RATE = 10_000;

/**
 * Bytes one connection may hold for the test lab's `delay` by default
 * (`--max-delayed`): a minute's delay of a 16 KiB/s client.
 */
export const MAX_DELAYED = 1 * MiB;

/**
 * Bytes queued to a peer above which a lab stream pauses (or half of
 * `--max-buffered` when that is smaller), so that a stream never trips the
 * slow-consumer close on its own.
 */
export const LAB_STREAM_HIGH_WATER = 1 * MiB;

/** The longest `delay` and `jitter`, in milliseconds. */
export const MAX_LAB_DELAY_MS = 60_000;
/** The longest `close_in`, in milliseconds (a day: timers go no further usefully). */
export const MAX_LAB_CLOSE_IN_MS = 86_400_000;
/** The most messages one `emit` asks for. */
export const MAX_LAB_EMIT = 100_000_000;
/** The largest `close_after`. */
export const MAX_LAB_CLOSE_AFTER = 1_000_000_000;
/** The largest `retry_after`, in seconds. */
export const MAX_LAB_RETRY_AFTER_S = 86_400;
/** The smallest emitted message: room for the binary header and some padding. */
export const MIN_LAB_SIZE = 32;
/** `rate` when `emit` is given without it, in messages a second. */
export const DEFAULT_LAB_RATE = 10;
/** `size` when `emit` is given without it, in bytes. */
export const DEFAULT_LAB_SIZE = 64;

/** The shortest `interval`, in milliseconds. */
export const MIN_SSE_INTERVAL_MS = 10;
/** The longest `interval`, in milliseconds. */
export const MAX_SSE_INTERVAL_MS = 60_000;
/** `interval` when none is given, in milliseconds. */
export const DEFAULT_SSE_INTERVAL_MS = 1_000;
/** The largest `count`. */
export const MAX_SSE_COUNT = 1_000_000_000;
/**
 * Events queued to a client that is not reading before the stream waits for
 * it: a stalled reader holds a few kilobytes, never an unbounded queue.
 */
export const SSE_QUEUED_EVENTS = 16;
