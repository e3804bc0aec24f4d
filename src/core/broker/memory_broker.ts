/**
 * The in-process broker, the default: rooms live in this process, as they
 * always have. Several servers in one process may share a
 * {@linkcode MemoryHub} to form a cluster without any service, which is how
 * the rooms layer's cluster logic is tested without Redis.
 *
 * @module
 */
import {
  type Broker,
  type BrokerEvents,
  type BrokerStats,
  type BrokerStatus,
  createBrokerStats,
  type InstancePresence,
  observe,
  preciseNow,
} from "./broker.ts";

/** The instances of one in-process cluster. */
export class MemoryHub {
  readonly #members = new Map<string, MemoryBroker>();

  /**
   * Adds a broker to the hub.
   *
   * @param broker The broker.
   */
  add(broker: MemoryBroker): void {
    this.#members.set(broker.instance, broker);
  }

  /**
   * Removes a broker from the hub.
   *
   * @param broker The broker.
   */
  remove(broker: MemoryBroker): void {
    this.#members.delete(broker.instance);
  }

  /**
   * The brokers on the hub, in the order they joined.
   *
   * @returns The brokers.
   */
  brokers(): IterableIterator<MemoryBroker> {
    return this.#members.values();
  }

  /** How many brokers are on the hub. */
  get size(): number {
    return this.#members.size;
  }
}

/** Options of {@linkcode MemoryBroker}. */
export interface MemoryBrokerOptions {
  /**
   * The cluster to join.
   *
   * @default {new MemoryHub()}
   */
  hub?: MemoryHub;
}

/** A broker whose other instances are servers in this same process. */
export class MemoryBroker implements Broker {
  /** Always `"memory"`. */
  readonly kind = "memory";
  /** Always `""`: there is nothing to connect to. */
  readonly url = "";
  /** This instance's id. */
  readonly instance: string;
  /** Always `"up"`. */
  readonly status: BrokerStatus = "up";
  /** When the broker was created. */
  readonly since: number = Date.now();
  /** Counters for `/metrics`. */
  readonly stats: BrokerStats = createBrokerStats();
  readonly #hub: MemoryHub;
  readonly #subscribed = new Set<string>();
  readonly #rooms = new Map<string, number>();
  #connections = 0;
  #json = 0;
  #events: BrokerEvents | undefined;

  /**
   * Creates an in-process broker.
   *
   * @param instance This instance's id.
   * @param options The hub to join.
   */
  constructor(instance: string, options: MemoryBrokerOptions = {}) {
    const { hub = new MemoryHub() } = options;
    this.instance = instance;
    this.#hub = hub;
  }

  /**
   * Joins the hub.
   *
   * @param events Where messages go.
   */
  start(events: BrokerEvents): void {
    this.#events = events;
    this.#hub.add(this);
  }

  /**
   * Hands a broadcast to every other instance on the hub that listens to
   * the room, on a later task, as a network broker would.
   *
   * @param room The room, or `null` for everyone.
   * @param frame The frame.
   * @returns Always `true`.
   */
  publish(room: string | null, frame: string): boolean {
    this.stats.published++;
    if (this.#hub.size <= 1) return true; // alone, the default: nobody to reach
    const sentAt = preciseNow();
    for (const other of this.#hub.brokers()) {
      if (other === this) continue;
      if (room !== null && !other.#subscribed.has(room)) continue;
      setTimeout(() => other.#receive(room, frame, this.instance, sentAt), 0);
    }
    return true;
  }

  /**
   * Listens to a room.
   *
   * @param room The room.
   */
  subscribe(room: string): void {
    this.#subscribed.add(room);
  }

  /**
   * Stops listening to a room.
   *
   * @param room The room.
   */
  unsubscribe(room: string): void {
    this.#subscribed.delete(room);
  }

  /**
   * Records this instance's members of a room.
   *
   * @param room The room.
   * @param members Local members.
   */
  setRoomMembers(room: string, members: number): void {
    if (members > 0) this.#rooms.set(room, members);
    else this.#rooms.delete(room);
  }

  /**
   * Records this instance's connections.
   *
   * @param connections All connections.
   * @param json `wsecho.v1` connections.
   */
  setConnections(connections: number, json: number): void {
    this.#connections = connections;
    this.#json = json;
  }

  /**
   * The other instances on the hub, read live.
   *
   * @returns Presence by instance id.
   */
  others(): ReadonlyMap<string, InstancePresence> {
    // Alone (the default): no allocation on every broadcast and join.
    if (this.#hub.size <= 1) return NOBODY;
    const view = new Map<string, InstancePresence>();
    for (const other of this.#hub.brokers()) {
      if (other === this) continue;
      view.set(other.instance, {
        connections: other.#connections,
        json: other.#json,
        rooms: other.#rooms,
      });
    }
    return view;
  }

  /** Leaves the hub. */
  close(): Promise<void> {
    this.#hub.remove(this);
    this.#events = undefined;
    return Promise.resolve();
  }

  #receive(
    room: string | null,
    frame: string,
    origin: string,
    sentAt: number,
  ): void {
    if (this.#events === undefined) return;
    if (room !== null && !this.#subscribed.has(room)) return;
    this.stats.received++;
    observe(this.stats.latency, preciseNow() - sentAt);
    this.#events.message({ room, frame, origin, sentAt });
  }
}

const NOBODY: ReadonlyMap<string, InstancePresence> = new Map();
