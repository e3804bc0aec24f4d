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
import type { Connection } from "./connection.ts";
import { Cluster } from "./core/cluster.ts";
import { createBroker } from "./core/broker/create_broker.ts";
import { deliver } from "./delivery.ts";
import { utf8Length } from "./metrics.ts";

/** The shared state of one running server. */
export interface ServerState {
  /** The validated configuration. */
  readonly config: Readonly<Config>;
  /** Open connections. */
  readonly registry: Registry;
  /** `wsecho.v1` rooms. */
  readonly rooms: Rooms;
  /** The cluster this server's rooms belong to: just itself without `--broker`. */
  readonly cluster: Cluster<Connection>;
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
  const instance = newConnectionId();
  const broker = createBroker(instance, {
    url: config.broker,
    prefix: config.brokerPrefix,
    ttlMs: config.brokerTtl * 1000,
    log,
  });
  const registry = new Registry();
  // The closures below run only after `state` exists: on joins, opens and
  // broadcasts, never while it is being built.
  const cluster = new Cluster<Connection>(broker, {
    roomMembers: (room) => rooms.members(room),
    *jsonConnections() {
      for (const target of registry.values()) {
        if (target.protocol !== "") yield target;
      }
    },
    send: (target, frame, size) => deliver(state, target, frame, size),
    measure: utf8Length,
  });
  const rooms = new Rooms({
    maxRoomsPerConnection: config.maxRoomsPerConnection,
    maxRoomMembers: config.maxRoomMembers,
    onChange: (room, members) => cluster.roomChanged(room, members),
  });
  registry.onChange = () =>
    cluster.connectionsChanged(registry.size, registry.jsonSize);
  const state: ServerState = {
    config,
    registry,
    rooms,
    cluster,
    handlers,
    metrics: createMetrics(),
    instance,
    startedAt: Date.now(),
    draining: false,
    log,
  };
  return state;
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
