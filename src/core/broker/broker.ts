/**
 * The broker that joins several wsecho instances into one cluster: a small
 * interface that the rooms layer talks to, so Redis today and NATS tomorrow
 * plug in without touching it. A broker carries three things:
 *
 * - broadcasts, on one channel per room (and one for room-less broadcasts),
 *   so an instance hears only the rooms it has members in;
 * - presence: how many connections and room members each instance has,
 *   kept alive by a heartbeat with a TTL, so a dead instance's members
 *   disappear on their own;
 * - its status, `up` or `down`, with the time it last changed.
 *
 * @module
 */

/** Whether the broker can carry messages now. */
export type BrokerStatus = "up" | "down";

/** A broadcast that arrived from another instance. */
export interface BrokerMessage {
  /** The room, or `null` for a broadcast to every `wsecho.v1` connection. */
  readonly room: string | null;
  /** The text frame to hand to local members as it is. */
  readonly frame: string;
  /** The publishing instance's id. */
  readonly origin: string;
  /** Milliseconds since the epoch when it was published, on the publisher's clock. */
  readonly sentAt: number;
}

/** What another instance last reported about itself. */
export interface InstancePresence {
  /** Its open connections, of every protocol. */
  readonly connections: number;
  /** Its `wsecho.v1` connections. */
  readonly json: number;
  /** Its members per room; rooms without members are absent. */
  readonly rooms: ReadonlyMap<string, number>;
}

/** What a broker tells the rooms layer. */
export interface BrokerEvents {
  /** A broadcast from another instance, to deliver to the local members. */
  message(message: BrokerMessage): void;
  /** The status changed. */
  status(status: BrokerStatus): void;
}

/** Counters a broker keeps for `/metrics`. */
export interface BrokerStats {
  /** Broadcasts handed to the broker. */
  published: number;
  /** Broadcasts that could not be published (broker down or the command failed). */
  lost: number;
  /** Broadcasts received from other instances. */
  received: number;
  /** Times the broker came back after being lost. */
  reconnects: number;
  /** Publish-to-receive latency of received broadcasts. */
  readonly latency: Histogram;
}

/** The cluster transport one server uses. */
export interface Broker {
  /** `memory` (this process only) or `redis`. */
  readonly kind: string;
  /** Where it connects, without the password; `""` for the in-process broker. */
  readonly url: string;
  /** This instance's id on the broker. */
  readonly instance: string;
  /** Whether it can carry messages now. */
  readonly status: BrokerStatus;
  /** `Date.now()` when the status last changed. */
  readonly since: number;
  /** Counters for `/metrics`. */
  readonly stats: BrokerStats;
  /**
   * Starts connecting; never throws and never rejects: a broker that cannot
   * be reached is `down` and keeps trying.
   *
   * @param events Where messages and status changes go.
   */
  start(events: BrokerEvents): void;
  /**
   * Publishes a broadcast to the other instances, at most once.
   *
   * @param room The room, or `null` for every `wsecho.v1` connection.
   * @param frame The text frame the members receive.
   * @returns `false` when it was not published because the broker is down.
   */
  publish(room: string | null, frame: string): boolean;
  /**
   * Starts receiving a room's broadcasts: call when its first local member joins.
   *
   * @param room The room.
   */
  subscribe(room: string): void;
  /**
   * Stops receiving a room's broadcasts: call when its last local member leaves.
   *
   * @param room The room.
   */
  unsubscribe(room: string): void;
  /**
   * Reports this instance's member count of a room (`0` when it has none).
   *
   * @param room The room.
   * @param members Local members.
   */
  setRoomMembers(room: string, members: number): void;
  /**
   * Reports this instance's open connections.
   *
   * @param connections Connections of every protocol.
   * @param json `wsecho.v1` connections.
   */
  setConnections(connections: number, json: number): void;
  /**
   * The other live instances, as last seen; empty while the broker is down.
   *
   * @returns Presence by instance id.
   */
  others(): ReadonlyMap<string, InstancePresence>;
  /** Withdraws this instance's presence and disconnects. */
  close(): Promise<void>;
}

/** Upper bounds, in milliseconds, of the latency histogram's buckets. */
export const LATENCY_BUCKETS_MS: readonly number[] = [
  0.25,
  0.5,
  1,
  2,
  5,
  10,
  25,
  50,
  100,
  250,
  1000,
];

/** A cumulative histogram in the Prometheus style, in milliseconds. */
export interface Histogram {
  /** Observations at or below each of {@linkcode LATENCY_BUCKETS_MS}. */
  readonly buckets: number[];
  /** Every observation. */
  count: number;
  /** Their sum in milliseconds. */
  sum: number;
}

/**
 * Creates zeroed broker counters.
 *
 * @returns The counters.
 */
export function createBrokerStats(): BrokerStats {
  return {
    published: 0,
    lost: 0,
    received: 0,
    reconnects: 0,
    latency: { buckets: LATENCY_BUCKETS_MS.map(() => 0), count: 0, sum: 0 },
  };
}

/**
 * Records one observation in a histogram.
 *
 * @param histogram The histogram.
 * @param ms The observed value in milliseconds.
 */
export function observe(histogram: Histogram, ms: number): void {
  const value = Math.max(0, ms);
  histogram.count++;
  histogram.sum += value;
  for (let i = 0; i < LATENCY_BUCKETS_MS.length; i++) {
    if (value <= LATENCY_BUCKETS_MS[i]!) histogram.buckets[i]!++;
  }
}

/**
 * The wall clock with sub-millisecond precision, comparable between the
 * processes of one machine (for the publish-to-receive latency).
 *
 * @returns Milliseconds since the epoch.
 */
export function preciseNow(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * Encodes a broadcast for the wire: `origin \n sentAt \n frame`, so the
 * frame, already serialised once for the local members, is not wrapped in a
 * second layer of JSON.
 *
 * @param origin The publishing instance.
 * @param sentAt {@linkcode preciseNow} at publishing.
 * @param frame The text frame.
 * @returns The payload.
 */
export function encodePayload(
  origin: string,
  sentAt: number,
  frame: string,
): string {
  return `${origin}\n${sentAt}\n${frame}`;
}

/**
 * Decodes a payload made by {@linkcode encodePayload}.
 *
 * @param room The room of the channel it came on, or `null`.
 * @param payload The payload.
 * @returns The message, or `undefined` when it is not one of ours.
 */
export function decodePayload(
  room: string | null,
  payload: string,
): BrokerMessage | undefined {
  const first = payload.indexOf("\n");
  const second = first < 0 ? -1 : payload.indexOf("\n", first + 1);
  if (second < 0) return undefined;
  const sentAt = Number(payload.slice(first + 1, second));
  if (!Number.isFinite(sentAt)) return undefined;
  return {
    room,
    origin: payload.slice(0, first),
    sentAt,
    frame: payload.slice(second + 1),
  };
}
