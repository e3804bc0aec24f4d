/**
 * What one server's modules share: configuration, open connections, rooms,
 * counters and the log.
 *
 * @module
 */
import type { Config } from "../config/options.ts";
import { createMetrics, type Metrics } from "./metrics.ts";
import { Registry } from "./registry.ts";
import { Rooms } from "./rooms.ts";
import { newConnectionId } from "./connection.ts";

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
  /** Set once shutdown begins: new upgrades are refused. */
  draining: boolean;
  /** Writes one log line. */
  readonly log: (line: string) => void;
}

/**
 * Creates the state of a new server.
 *
 * @param config The validated configuration.
 * @param log Where log lines go.
 * @returns The state.
 */
export function createState(
  config: Readonly<Config>,
  log: (line: string) => void = () => {},
): ServerState {
  return {
    config,
    registry: new Registry(),
    rooms: new Rooms({
      maxRoomsPerConnection: config.maxRoomsPerConnection,
      maxRoomMembers: config.maxRoomMembers,
    }),
    metrics: createMetrics(),
    instance: newConnectionId(),
    startedAt: Date.now(),
    draining: false,
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
