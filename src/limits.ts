/**
 * Limits and their defaults, kept in one place.
 *
 * @module
 */

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

/** The fastest test lab stream by default, in messages a second per connection (`--max-emit-rate`). */
export const DEFAULT_MAX_EMIT_RATE = 10_000;

/**
 * Bytes one connection may hold for the test lab's `delay` by default
 * (`--max-delayed`): a minute's delay of a 16 KiB/s client.
 */
export const DEFAULT_MAX_DELAYED = 1024 * 1024;
