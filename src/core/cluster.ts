/**
 * Rooms across instances: what the rooms layer adds on top of its local
 * membership when a broker joins several instances. It never looks inside a
 * connection; the host tells it who the local members are and how to send.
 *
 * Semantics (the README's cluster section says the same):
 * - a broadcast is delivered at once to the local members (the sender
 *   excluded) and published once on the room's channel; every other
 *   instance with members there delivers it to its own, so each member gets
 *   it exactly once, at most once if the broker loses it;
 * - counts are this instance's own, exact, plus the other instances' as last
 *   read from the broker (refreshed on each of their changes, within a few
 *   milliseconds, and at every heartbeat); while the broker is down they are
 *   this instance's only.
 *
 * @module
 */
import type { Broker, BrokerMessage, BrokerStatus } from "./broker/broker.ts";

/** What the cluster needs from the rooms layer. */
export interface ClusterHost<T> {
  /**
   * The local members of a room.
   *
   * @param room The room.
   * @returns The members.
   */
  roomMembers(room: string): Iterable<T>;
  /**
   * Every local `wsecho.v1` connection.
   *
   * @returns The connections.
   */
  jsonConnections(): Iterable<T>;
  /**
   * Sends a text frame to a local connection, within the slow-consumer limit.
   *
   * @param target The connection.
   * @param frame The frame.
   * @param size The frame's size in UTF-8 bytes, from {@linkcode ClusterHost.measure}.
   * @returns `true` when it was queued.
   */
  send(target: T, frame: string, size: number): boolean;
  /**
   * Measures a frame once for all its deliveries.
   *
   * @param frame The frame.
   * @returns Its size in UTF-8 bytes.
   */
  measure(frame: string): number;
  /**
   * Called when the broker's status changes.
   *
   * @param status The new status.
   */
  status?(status: BrokerStatus): void;
}

/** What a broadcast reached. */
export interface BroadcastResult {
  /** Local connections it was queued to, the sender excluded. */
  delivered: number;
  /**
   * Other instances it was published to: those that had members in the room
   * (or, without a room, `wsecho.v1` connections) as last seen.
   */
  instances: number;
  /** `true` when the broker was down: no other instance gets it. */
  lost: boolean;
}

/** One server's view of the cluster it is part of. */
export class Cluster<T> {
  /** The broker. */
  readonly broker: Broker;
  readonly #host: ClusterHost<T>;

  /**
   * Creates the cluster view of one server; call {@linkcode start} next.
   *
   * @param broker The broker.
   * @param host The local rooms and connections.
   */
  constructor(broker: Broker, host: ClusterHost<T>) {
    this.broker = broker;
    this.#host = host;
  }

  /** Starts the broker; never throws. */
  start(): void {
    this.broker.start({
      message: (message) => this.#receive(message),
      status: (status) => this.#host.status?.(status),
    });
  }

  /**
   * Records a local room's new member count, after a join or a leave.
   *
   * @param room The room.
   * @param members Its local members now.
   */
  roomChanged(room: string, members: number): void {
    if (members === 0) this.broker.unsubscribe(room);
    else this.broker.subscribe(room);
    this.broker.setRoomMembers(room, members);
  }

  /**
   * Records the local connection counts, after an open or a close.
   *
   * @param connections Connections of every protocol.
   * @param json `wsecho.v1` connections.
   */
  connectionsChanged(connections: number, json: number): void {
    this.broker.setConnections(connections, json);
  }

  /**
   * Delivers a broadcast to the local members and publishes it to the rest
   * of the cluster.
   *
   * @param room The room, or `null` for every `wsecho.v1` connection.
   * @param frame The serialised `message` frame.
   * @param sender The sending connection, which does not get it.
   * @param send Queues the frame to a local member (the session's own
   * sender); without it, the host's.
   * @returns What it reached.
   */
  broadcast(
    room: string | null,
    frame: string,
    sender: T,
    send?: (target: T, frame: string) => boolean,
  ): BroadcastResult {
    let delivered = 0;
    const targets = room === null
      ? this.#host.jsonConnections()
      : this.#host.roomMembers(room);
    if (send === undefined) {
      const size = this.#host.measure(frame);
      for (const target of targets) {
        if (target !== sender && this.#host.send(target, frame, size)) {
          delivered++;
        }
      }
    } else {
      for (const target of targets) {
        if (target !== sender && send(target, frame)) delivered++;
      }
    }
    const published = this.broker.publish(room, frame);
    let instances = 0;
    if (published) {
      for (const presence of this.broker.others().values()) {
        if (room === null ? presence.json > 0 : presence.rooms.has(room)) {
          instances++;
        }
      }
    }
    return { delivered, instances, lost: !published };
  }

  /**
   * Members of a room in the whole cluster.
   *
   * @param room The room.
   * @param local Its local members.
   * @returns The count.
   */
  members(room: string, local: number): number {
    let total = local;
    for (const presence of this.broker.others().values()) {
      total += presence.rooms.get(room) ?? 0;
    }
    return total;
  }

  /**
   * Rooms with at least one member anywhere in the cluster.
   *
   * @param local The names of the rooms with local members.
   * @returns The count.
   */
  rooms(local: Iterable<string>): number {
    const names = new Set(local);
    for (const presence of this.broker.others().values()) {
      for (const room of presence.rooms.keys()) names.add(room);
    }
    return names.size;
  }

  /**
   * Open connections in the whole cluster.
   *
   * @param local This instance's.
   * @returns The count.
   */
  connections(local: number): number {
    let total = local;
    for (const presence of this.broker.others().values()) {
      total += presence.connections;
    }
    return total;
  }

  /** Withdraws this instance from the cluster. */
  close(): Promise<void> {
    return this.broker.close();
  }

  #receive(message: BrokerMessage): void {
    const targets = message.room === null
      ? this.#host.jsonConnections()
      : this.#host.roomMembers(message.room);
    const size = this.#host.measure(message.frame);
    for (const target of targets) this.#host.send(target, message.frame, size);
  }
}
