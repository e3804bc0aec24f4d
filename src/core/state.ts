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
import { type Connection, newConnectionId } from "./connection.ts";
import { Cluster } from "./cluster.ts";
import { createBroker } from "./broker/create_broker.ts";
import { utf8Length } from "./utf8_length.ts";

/** The shared state of one running server. */
export interface ServerState {
  /** The validated configuration. */
  readonly config: Readonly<Config>;
  /** Open connections. */
  readonly registry: Registry;
  /** `wsecho.v1` rooms. */
  readonly rooms: Rooms;
  /**
   * The cluster this server's rooms belong to: just itself without a broker.
   * It delivers through `deliver`, set by the session layer, which owns
   * sending.
   */
  readonly cluster: Cluster<Connection>;
  /** Counters for `/metrics`. */
  readonly metrics: Metrics;
  /** Random id of this server process, to tell instances apart behind a balancer. */
  readonly instance: string;
  /** `Date.now()` when the server started. */
  readonly startedAt: number;
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
 * @param config The validated configuration.
 * @param log Where log lines go.
 * @returns The state.
 */
export function createState(
  config: Readonly<Config>,
  log: (line: string) => void = () => {},
  options: CreateStateOptions = {},
): ServerState {
  const { send = () => false } = options;
  const instance = newConnectionId();
  const broker = createBroker(instance, {
    url: config.broker,
    prefix: config.brokerPrefix,
    ttlMs: config.brokerTtl * 1000,
    log,
  });
  const registry = new Registry();
  // The closures below run only after `rooms` exists: on joins, opens and
  // broadcasts, never while the state is being built.
  const cluster = new Cluster<Connection>(broker, {
    roomMembers: (room) => rooms.members(room),
    *jsonConnections() {
      for (const target of registry.values()) {
        if (target.protocol !== "") yield target;
      }
    },
    send: (target, frame, size) => send(target, frame, size),
    measure: utf8Length,
  });
  const rooms = new Rooms({
    maxRoomsPerConnection: config.maxRoomsPerConnection,
    maxRoomMembers: config.maxRoomMembers,
    onChange: (room, members) => cluster.roomChanged(room, members),
  });
  registry.onChange = () =>
    cluster.connectionsChanged(registry.size, registry.jsonSize);
  return {
    config,
    registry,
    rooms,
    cluster,
    metrics: createMetrics(),
    instance,
    startedAt: Date.now(),
    draining: false,
    shutdown: new AbortController(),
    log,
  };
}

/** Options of {@linkcode createState}. */
export interface CreateStateOptions {
  /**
   * Queues a frame to a local connection within the slow-consumer limit:
   * how frames from other instances reach the members here.
   *
   * @default {() => false}
   */
  send?: (target: Connection, frame: string, size: number) => boolean;
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
