/**
 * The state the server keeps for one open WebSocket.
 *
 * @module
 */
import type { ModeCounters } from "./metrics.ts";

/** The subprotocol a connection speaks: `""` for the byte-exact echo. */
export type Protocol = "" | "wsecho.v1";

/** One open WebSocket and what the server knows about it. */
export interface Connection {
  /** Random id, shown to the peer in the welcome and as `from` in room messages. */
  readonly id: string;
  /** The server side of the socket. */
  readonly socket: WebSocket;
  /** The peer's IP address. */
  readonly ip: string;
  /** The negotiated subprotocol. */
  readonly protocol: Protocol;
  /** Rooms this connection has joined (`wsecho.v1` only). */
  readonly rooms: Set<string>;
  /** Messages received so far. */
  messagesIn: number;
  /** Messages sent so far. */
  messagesOut: number;
  /** Rate-limit tokens left; refilled from `refilledAt`. */
  tokens: number;
  /** `performance.now()` at the last refill. */
  refilledAt: number;
  /** Refusals in a row by the rate limiter. */
  throttled: number;
  /** The counters of this connection's mode, chosen once at the upgrade. */
  readonly counters: ModeCounters;
  /** Bytes sent since its `bufferedAmount` was last looked at. */
  unchecked: number;
  /** Set once the server has forgotten it: out of the registry and every room. */
  released: boolean;
}

/**
 * Makes a fresh connection id: 12 hex digits, random so ids reveal nothing
 * about other connections.
 *
 * @returns The new id.
 */
export function newConnectionId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
