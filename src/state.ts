/**
 * What every handler of one server shares: configuration, open connections,
 * rooms and counters.
 *
 * @module
 */
import type { Config } from "./config.ts";
import { createMetrics, type Metrics } from "./metrics.ts";
import { Registry } from "./registry.ts";
import { Rooms } from "./rooms.ts";
import { newConnectionId } from "./connection.ts";
import type { MessageHandler } from "../handlers/messages.ts";

/** The shared state of one running server. */
export interface ServerState {
  /** The validated configuration. */
  readonly config: Readonly<Config>;
  /** Open connections. */
  readonly registry: Registry;
  /** `wsecho.v1` rooms. */
  readonly rooms: Rooms;
  /** Counters for `/metrics`. */
  readonly metrics: Metrics;
  /** Random id of this server process, to tell instances apart behind a balancer. */
  readonly instance: string;
  /** `Date.now()` when the server started. */
  readonly startedAt: number;
  /** The `wsecho.v1` message kinds, by `type`. */
  readonly handlers: Readonly<Record<string, MessageHandler>>;
  /** Set once shutdown begins: new upgrades are refused. */
  draining: boolean;
  /** Aborted when shutdown begins: pending `/echo` delays answer, `/sse` streams end. */
  readonly shutdown: AbortController;
  /** Writes one log line. */
  readonly log: (line: string) => void;
}

/**
 * Creates the state of a new server.
 *
 * @param config The configuration.
 * @param log Where log lines go.
 * @param handlers The `wsecho.v1` message kinds.
 * @returns The state.
 */
export function createState(
  config: Readonly<Config>,
  log: (line: string) => void,
  handlers: Readonly<Record<string, MessageHandler>>,
): ServerState {
  return {
    config,
    registry: new Registry(),
    rooms: new Rooms({
      maxRoomsPerConnection: config.maxRoomsPerConnection,
      maxRoomMembers: config.maxRoomMembers,
    }),
    handlers,
    metrics: createMetrics(),
    instance: newConnectionId(),
    startedAt: Date.now(),
    draining: false,
    shutdown: new AbortController(),
    log,
  };
}

/**
 * Seconds since the server started.
 *
 * @param state The server state.
 * @returns Whole seconds of uptime.
 */
export function uptimeSeconds(state: ServerState): number {
  return Math.floor((Date.now() - state.startedAt) / 1000);
}
