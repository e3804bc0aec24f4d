/**
 * The state the server keeps for one open WebSocket.
 *
 * @module
 */
import type { Protocol } from "../config/constants.ts";
import type { ModeCounters } from "./metrics.ts";

/** One open WebSocket and what the server knows about it. */
export interface Connection {
  /** Random id, shown to the peer in the welcome and as `from` in room messages. */
  readonly id: string;
  /** The server side of the socket. */
  readonly socket: WebSocket;
  /** The client's IP address: the peer's, or the one a trusted proxy named. */
  readonly ip: string;
  /** The key this connection counts under for the per-IP cap; `null` when not counted. */
  readonly limitKey: string | null;
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
  /** The close code the server sent or decided on; `0` while it has not closed. */
  closeCode: number;
  /** The reason that went with {@linkcode Connection.closeCode}. */
  closeReason: string;
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
  if (idOffset === idPool.length) {
    crypto.getRandomValues(idPool);
    idOffset = 0;
  }
  let id = "";
  for (let i = idOffset; i < idOffset + ID_BYTES; i++) id += HEX[idPool[i]!];
  idOffset += ID_BYTES;
  return id;
}

const ID_BYTES = 6;
/** Random bytes for the next 1,024 ids: one call into the runtime per 1,024 connections. */
const idPool = new Uint8Array(ID_BYTES * 1024);
let idOffset = idPool.length;
const HEX = Array.from(
  { length: 256 },
  (_, byte) => byte.toString(16).padStart(2, "0"),
);
