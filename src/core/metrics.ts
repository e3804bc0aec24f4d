/**
 * Server counters. Updates on the message path are plain integer increments
 * on fields that exist from the start, so counting allocates nothing.
 *
 * @module
 */

import { createLabCounters, type LabCounters } from "./lab_metrics.ts";

/** Why an upgrade was refused before the handshake. */
export type RefusalReason =
  | "origin"
  | "max_connections"
  | "max_connections_per_ip"
  | "draining";

/** Message counters of one mode (`echo` without a subprotocol, `json` with `wsecho.v1`). */
export interface ModeCounters {
  /** Messages received. */
  messagesIn: number;
  /** Bytes received (UTF-8 bytes for text). */
  bytesIn: number;
  /** Messages sent. */
  messagesOut: number;
  /** Bytes sent (UTF-8 bytes for text). */
  bytesOut: number;
}

/** Every counter the server keeps. */
export interface Metrics {
  /** Upgrades accepted. */
  accepted: number;
  /** Upgrades refused, by reason. */
  refused: Record<RefusalReason, number>;
  /** Counters of raw echo connections. */
  echo: ModeCounters;
  /** Counters of `wsecho.v1` connections. */
  json: ModeCounters;
  /** Closes, by close code as the server saw it. */
  closes: Map<number, number>;
  /** Error frames sent, by error code. */
  errors: Map<string, number>;
  /** What the test lab did. */
  lab: LabCounters;
}

/**
 * Creates a zeroed set of counters.
 *
 * @returns The counters.
 */
export function createMetrics(): Metrics {
  return {
    accepted: 0,
    refused: {
      origin: 0,
      max_connections: 0,
      max_connections_per_ip: 0,
      draining: 0,
    },
    echo: { messagesIn: 0, bytesIn: 0, messagesOut: 0, bytesOut: 0 },
    json: { messagesIn: 0, bytesIn: 0, messagesOut: 0, bytesOut: 0 },
    closes: new Map(),
    errors: new Map(),
    lab: createLabCounters(),
  };
}

/**
 * Adds one to a counter in a map of counters.
 *
 * @param counters The map.
 * @param key The counter's label.
 */
export function increment<K>(counters: Map<K, number>, key: K): void {
  counters.set(key, (counters.get(key) ?? 0) + 1);
}
