/**
 * The Redis broker: one pub/sub channel per room, presence in one hash per
 * instance kept alive by a heartbeat with a TTL, and a supervisor that owns
 * reconnection, so that every room is re-subscribed and presence re-written
 * by this code after any loss (node-redis' own resubscribe has had bugs:
 * redis/node-redis#1764, #2823).
 *
 * Keys and channels, all under the prefix `P` (`--broker-prefix`):
 *
 * | Name                | Kind    | What                                                        |
 * | ------------------- | ------- | ----------------------------------------------------------- |
 * | `P:room:ROOM`       | channel | broadcasts to ROOM                                          |
 * | `P:all`             | channel | room-less broadcasts                                        |
 * | `P:presence`        | channel | an instance id whose presence changed                       |
 * | `P:instances`       | zset    | live instance ids, scored by expiry (Redis' clock)          |
 * | `P:presence:ID`     | hash    | `c` connections, `j` wsecho.v1 connections, `r:ROOM` members |
 *
 * The client library is loaded through {@linkcode RedisBrokerOptions.loadClient}
 * on the first connection attempt, so that it is loaded only when a broker
 * URL is given, and a failure to load it is one more reason to be `down`.
 *
 * @module
 */
import {
  type Broker,
  type BrokerEvents,
  type BrokerStats,
  type BrokerStatus,
  createBrokerStats,
  decodePayload,
  encodePayload,
  type InstancePresence,
  observe,
  preciseNow,
} from "./broker.ts";
import type { BrokerUrl } from "../../config/broker_url.ts";
import { BROKER_PREFIX } from "../../config/constants.ts";
import {
  BROKER_MAX_BACKOFF_MS,
  BROKER_MAX_QUEUED_COMMANDS,
  BROKER_TTL_S,
} from "../../config/limits.ts";

/** The broker's default key and channel prefix. */
export const DEFAULT_BROKER_PREFIX: string = BROKER_PREFIX;

/** Default presence TTL: a dead instance's members vanish within 4/3 of it. */
export const DEFAULT_PRESENCE_TTL_MS: number = BROKER_TTL_S * 1000;

/** Longest wait between two reconnection attempts. */
export const MAX_BACKOFF_MS: number = BROKER_MAX_BACKOFF_MS;

/** Commands one client may queue before further ones fail at once. */
export const MAX_QUEUED_COMMANDS: number = BROKER_MAX_QUEUED_COMMANDS;

/** How long changes to local presence are gathered before one write. */
const PRESENCE_FLUSH_MS = 10;

/** A MULTI transaction: the commands this broker queues in one. */
export interface RedisMulti {
  /** `DEL key` */
  del(key: string): RedisMulti;
  /** `HSET key field value …` */
  hSet(key: string, fields: Record<string, number>): RedisMulti;
  /** `HDEL key field …` */
  hDel(key: string, fields: string[]): RedisMulti;
  /** `ZREM key member` */
  zRem(key: string, member: string): RedisMulti;
  /** `PEXPIRE key ms` */
  pExpire(key: string, ms: number): RedisMulti;
  /** `PUBLISH channel message` */
  publish(channel: string, message: string): RedisMulti;
  /** `EVAL script numkeys key … arg …` */
  eval(script: string, options: RedisEvalOptions): RedisMulti;
  /** Sends the transaction. */
  exec(): Promise<unknown>;
}

/** Keys and arguments of a script. */
export interface RedisEvalOptions {
  /** `KEYS` */
  keys: string[];
  /** `ARGV` */
  arguments: string[];
}

/** A pub/sub listener: the message, then its channel. */
export type RedisListener = (message: string, channel: string) => void;

/**
 * The part of a node-redis (`@redis/client`) client this broker uses, so a
 * test or another library with the same shape can stand in.
 */
export interface RedisClient {
  /** Connects. */
  connect(): Promise<unknown>;
  /** Closes the socket at once, failing pending commands. */
  destroy(): void;
  /** Listens to `error` and `end`. */
  on(event: "error" | "end", listener: (error?: unknown) => void): unknown;
  /** `PUBLISH`: resolves with the subscribers reached. */
  publish(channel: string, message: string): Promise<number>;
  /** `SUBSCRIBE` */
  subscribe(
    channels: string | string[],
    listener: RedisListener,
  ): Promise<void>;
  /** `UNSUBSCRIBE` */
  unsubscribe(
    channels: string | string[],
    listener: RedisListener,
  ): Promise<void>;
  /** `EVAL` */
  eval(script: string, options: RedisEvalOptions): Promise<unknown>;
  /** Starts a MULTI transaction. */
  multi(): RedisMulti;
}

/** Options given to the client factory (those of node-redis' `createClient`). */
export interface RedisClientOptions {
  /** The server's URL, password included. */
  url: string;
  /** Socket settings. */
  socket: { reconnectStrategy: false; connectTimeout: number };
  /** Fail commands at once while disconnected instead of queueing them. */
  disableOfflineQueue: boolean;
  /** Commands queued before further ones fail at once. */
  commandsQueueMaxLength: number;
  /** Milliseconds between PINGs that detect a dead connection. */
  pingInterval: number;
  /** Redis Enterprise maintenance notifications. */
  maintNotifications: "disabled";
}

/** Makes a client: `createClient` of `@redis/client`. */
export type CreateRedisClient = (options: RedisClientOptions) => RedisClient;

/** Options of {@linkcode RedisBroker}. */
export interface RedisBrokerOptions {
  /** Loads `createClient` of `@redis/client`. */
  loadClient: () => Promise<CreateRedisClient>;
  /**
   * Prefix of every key and channel, so several clusters can share one Redis.
   *
   * @default {DEFAULT_BROKER_PREFIX}
   */
  prefix?: string;
  /**
   * Milliseconds a presence lives without a heartbeat; the heartbeat runs
   * every third of it.
   *
   * @default {DEFAULT_PRESENCE_TTL_MS}
   */
  ttlMs?: number;
  /**
   * Writes one log line (status changes only, never per message).
   *
   * @default {() => {}}
   */
  log?: (line: string) => void;
}

// Redis' own clock decides expiry, so instances on machines whose clocks
// disagree still agree on who is alive.
const HEARTBEAT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return now`;

const VIEW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], now, '+inf')
local out = {}
for _, id in ipairs(ids) do
  if id ~= ARGV[2] then
    out[#out + 1] = id
    out[#out + 1] = redis.call('HGETALL', ARGV[1] .. id)
  end
end
return out`;

/** A broker on Redis pub/sub. */
export class RedisBroker implements Broker {
  /** Always `"redis"`. */
  readonly kind = "redis";
  /** The URL without its password. */
  readonly url: string;
  /** This instance's id. */
  readonly instance: string;
  /** Counters for `/metrics`. */
  readonly stats: BrokerStats = createBrokerStats();
  readonly #href: string;
  readonly #loadClient: () => Promise<CreateRedisClient>;
  #createClient: CreateRedisClient | undefined;
  readonly #ttlMs: number;
  readonly #log: (line: string) => void;
  readonly #channelAll: string;
  readonly #channelPresence: string;
  readonly #roomPrefix: string;
  readonly #keyInstances: string;
  readonly #keyPresencePrefix: string;
  readonly #keyPresence: string;

  #status: BrokerStatus = "down";
  #since = Date.now();
  #events: BrokerEvents | undefined;
  #closed = false;
  /** Bumped on every (re)connection, so events of old clients are ignored. */
  #generation = 0;
  #cmd: RedisClient | undefined;
  #sub: RedisClient | undefined;
  #attempts = 0;
  #everUp = false;
  #lastError = "";
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  #flushTimer: ReturnType<typeof setTimeout> | undefined;
  #viewTimer: ReturnType<typeof setTimeout> | undefined;
  #flushing = false;
  #viewing = false;
  #viewAgain = false;

  readonly #subscribed = new Set<string>();
  readonly #rooms = new Map<string, number>();
  readonly #dirtyRooms = new Set<string>();
  #dirtyConnections = false;
  #connections = 0;
  #json = 0;
  #view = new Map<string, InstancePresence>();

  /**
   * Creates a Redis broker; nothing connects before {@linkcode start}.
   *
   * @param url The checked URL.
   * @param instance This instance's id.
   * @param options The client library, prefix, TTL and log.
   */
  constructor(url: BrokerUrl, instance: string, options: RedisBrokerOptions) {
    const {
      loadClient,
      prefix = DEFAULT_BROKER_PREFIX,
      ttlMs = DEFAULT_PRESENCE_TTL_MS,
      log = () => {},
    } = options;
    this.url = url.redacted;
    this.#href = url.href;
    this.instance = instance;
    this.#loadClient = loadClient;
    this.#ttlMs = ttlMs;
    this.#log = log;
    this.#channelAll = `${prefix}:all`;
    this.#channelPresence = `${prefix}:presence`;
    this.#roomPrefix = `${prefix}:room:`;
    this.#keyInstances = `${prefix}:instances`;
    this.#keyPresencePrefix = `${prefix}:presence:`;
    this.#keyPresence = `${prefix}:presence:${instance}`;
  }

  /** Whether it can carry messages now. */
  get status(): BrokerStatus {
    return this.#status;
  }

  /** `Date.now()` when the status last changed. */
  get since(): number {
    return this.#since;
  }

  /**
   * Starts connecting in the background.
   *
   * @param events Where messages and status changes go.
   */
  start(events: BrokerEvents): void {
    this.#events = events;
    this.#connect();
  }

  /**
   * Publishes a broadcast, unless the broker is down.
   *
   * @param room The room, or `null`.
   * @param frame The frame.
   * @returns `false` when it was not published.
   */
  publish(room: string | null, frame: string): boolean {
    const cmd = this.#cmd;
    if (this.#status !== "up" || cmd === undefined) {
      this.stats.lost++;
      return false;
    }
    this.stats.published++;
    const channel = room === null ? this.#channelAll : this.#roomPrefix + room;
    cmd.publish(channel, encodePayload(this.instance, preciseNow(), frame))
      .catch(() => this.stats.lost++);
    return true;
  }

  /**
   * Subscribes to a room's channel (again after every reconnection).
   *
   * @param room The room.
   */
  subscribe(room: string): void {
    if (this.#subscribed.has(room)) return;
    this.#subscribed.add(room);
    if (this.#status === "up") {
      this.#sub?.subscribe(this.#roomPrefix + room, this.#onMessage)
        .catch(() => {});
    }
  }

  /**
   * Unsubscribes from a room's channel.
   *
   * @param room The room.
   */
  unsubscribe(room: string): void {
    if (!this.#subscribed.delete(room)) return;
    if (this.#status === "up") {
      this.#sub?.unsubscribe(this.#roomPrefix + room, this.#onMessage)
        .catch(() => {});
    }
  }

  /**
   * Records this instance's members of a room; written to Redis shortly,
   * several changes in one write.
   *
   * @param room The room.
   * @param members Local members.
   */
  setRoomMembers(room: string, members: number): void {
    if (members > 0) this.#rooms.set(room, members);
    else this.#rooms.delete(room);
    this.#dirtyRooms.add(room);
    this.#scheduleFlush();
  }

  /**
   * Records this instance's connections; written to Redis shortly.
   *
   * @param connections All connections.
   * @param json `wsecho.v1` connections.
   */
  setConnections(connections: number, json: number): void {
    if (connections === this.#connections && json === this.#json) return;
    this.#connections = connections;
    this.#json = json;
    this.#dirtyConnections = true;
    this.#scheduleFlush();
  }

  /**
   * The other live instances as last read from Redis.
   *
   * @returns Presence by instance id; empty while down.
   */
  others(): ReadonlyMap<string, InstancePresence> {
    return this.#view;
  }

  /** Withdraws this instance's presence (when Redis is up) and disconnects. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopTimers();
    const cmd = this.#cmd;
    if (this.#status === "up" && cmd !== undefined) {
      try {
        await withTimeout(
          cmd.multi()
            .del(this.#keyPresence)
            .zRem(this.#keyInstances, this.instance)
            .publish(this.#channelPresence, this.instance)
            .exec(),
          1_000,
        );
      } catch {
        // Redis went away meanwhile: the TTL removes the presence instead.
      }
    }
    this.#drop();
    this.#events = undefined;
  }

  // --- connection supervisor ---

  #connect(): void {
    if (this.#closed) return;
    const generation = ++this.#generation;
    if (this.#createClient === undefined) {
      this.#loadClient().then((createClient) => {
        this.#createClient = createClient;
        if (generation === this.#generation) this.#connect();
      }, (error) => this.#lost(generation, error));
      return;
    }
    const options: RedisClientOptions = {
      url: this.#href,
      // The supervisor reconnects: a lost client is dropped whole, and a
      // fresh pair re-subscribes every room.
      socket: { reconnectStrategy: false, connectTimeout: 2_000 },
      disableOfflineQueue: true,
      commandsQueueMaxLength: MAX_QUEUED_COMMANDS,
      pingInterval: Math.max(1_000, Math.floor(this.#ttlMs / 3)),
      // Maintenance notifications read REDIS_DEBUG_MAINTENANCE from the
      // environment: off, the client reads no variable at all.
      maintNotifications: "disabled",
    };
    const cmd = this.#createClient(options);
    const sub = this.#createClient(options);
    this.#cmd = cmd;
    this.#sub = sub;
    const lost = (error?: unknown) => this.#lost(generation, error);
    cmd.on("error", lost);
    sub.on("error", lost);
    cmd.on("end", () => lost());
    sub.on("end", () => lost());
    this.#open(generation, cmd, sub).catch(lost);
  }

  async #open(
    generation: number,
    cmd: RedisClient,
    sub: RedisClient,
  ): Promise<void> {
    await cmd.connect();
    await sub.connect();
    const initial = new Set(this.#subscribed);
    const channels = [
      this.#channelAll,
      ...[...initial].map((room) => this.#roomPrefix + room),
    ];
    await sub.subscribe(channels, this.#onMessage);
    await sub.subscribe(this.#channelPresence, this.#onPresence);
    if (generation !== this.#generation) return;
    await this.#writeAllPresence(cmd);
    if (generation !== this.#generation) return;
    this.#attempts = 0;
    this.#lastError = "";
    if (this.#everUp) this.stats.reconnects++;
    this.#everUp = true;
    this.#setStatus("up");
    // Rooms joined or left while connecting were not in the first SUBSCRIBE.
    const joined = [...this.#subscribed].filter((room) => !initial.has(room));
    const left = [...initial].filter((room) => !this.#subscribed.has(room));
    if (joined.length > 0) {
      sub.subscribe(
        joined.map((room) => this.#roomPrefix + room),
        this.#onMessage,
      )
        .catch(() => {});
    }
    if (left.length > 0) {
      sub.unsubscribe(
        left.map((room) => this.#roomPrefix + room),
        this.#onMessage,
      )
        .catch(() => {});
    }
    // Changes made while connecting were not written with the rest.
    if (this.#dirtyRooms.size > 0 || this.#dirtyConnections) {
      this.#scheduleFlush();
    }
    this.#heartbeatTimer = setInterval(
      () => this.#heartbeat(),
      Math.max(100, Math.floor(this.#ttlMs / 3)),
    );
    this.#refreshView();
  }

  #lost(generation: number, error?: unknown): void {
    if (generation !== this.#generation || this.#closed) return;
    // One loss per generation: later events of these clients are ignored.
    this.#generation++;
    this.#drop();
    const message = error instanceof Error
      ? error.message
      : String(error ?? "connection closed");
    if (this.#status === "up") {
      this.#setStatus("down", message);
    } else if (message !== this.#lastError) {
      this.#log(
        `broker ${this.url} unreachable: ${oneLine(message)}; retrying`,
      );
    }
    this.#lastError = message;
    const delay = backoff(this.#attempts++);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#connect();
    }, delay);
  }

  /** Forgets the clients and the view; destroying never throws or rejects. */
  #drop(): void {
    this.#stopTimers();
    for (const client of [this.#cmd, this.#sub]) {
      if (client === undefined) continue;
      try {
        client.destroy();
      } catch {
        // Already closed.
      }
    }
    this.#cmd = undefined;
    this.#sub = undefined;
    this.#view = new Map();
    this.#flushing = false;
    this.#viewing = false;
  }

  #stopTimers(): void {
    clearTimeout(this.#retryTimer);
    clearInterval(this.#heartbeatTimer);
    clearTimeout(this.#flushTimer);
    clearTimeout(this.#viewTimer);
    this.#retryTimer = undefined;
    this.#heartbeatTimer = undefined;
    this.#flushTimer = undefined;
    this.#viewTimer = undefined;
  }

  #setStatus(status: BrokerStatus, why = ""): void {
    this.#status = status;
    this.#since = Date.now();
    this.#log(
      status === "up"
        ? `broker ${this.url} up`
        : `broker ${this.url} down: ${oneLine(why)}; retrying`,
    );
    this.#events?.status(status);
  }

  // --- messages ---

  readonly #onMessage = (payload: string, channel: string): void => {
    const room = channel === this.#channelAll
      ? null
      : channel.slice(this.#roomPrefix.length);
    const message = decodePayload(room, payload);
    if (message === undefined || message.origin === this.instance) return;
    if (room !== null && !this.#subscribed.has(room)) return;
    this.stats.received++;
    observe(this.stats.latency, preciseNow() - message.sentAt);
    this.#events?.message(message);
  };

  readonly #onPresence = (id: string): void => {
    if (id !== this.instance) this.#scheduleView();
  };

  // --- presence ---

  async #writeAllPresence(cmd: RedisClient): Promise<void> {
    const fields: Record<string, number> = {
      c: this.#connections,
      j: this.#json,
    };
    for (const [room, members] of this.#rooms) fields[`r:${room}`] = members;
    this.#dirtyRooms.clear();
    this.#dirtyConnections = false;
    await cmd.multi()
      .del(this.#keyPresence)
      .hSet(this.#keyPresence, fields)
      .eval(HEARTBEAT, {
        keys: [this.#keyInstances, this.#keyPresence],
        arguments: [this.instance, String(this.#ttlMs)],
      })
      .publish(this.#channelPresence, this.instance)
      .exec();
  }

  #scheduleFlush(): void {
    if (this.#flushTimer !== undefined || this.#status !== "up") return;
    this.#flushTimer = setTimeout(() => {
      this.#flushTimer = undefined;
      this.#flush();
    }, PRESENCE_FLUSH_MS);
  }

  #flush(): void {
    const cmd = this.#cmd;
    if (cmd === undefined || this.#status !== "up") return;
    if (this.#flushing) {
      // One write at a time: the next one picks up what changed meanwhile.
      this.#scheduleFlush();
      return;
    }
    if (this.#dirtyRooms.size === 0 && !this.#dirtyConnections) return;
    const set: Record<string, number> = {};
    const gone: string[] = [];
    if (this.#dirtyConnections) {
      set.c = this.#connections;
      set.j = this.#json;
    }
    for (const room of this.#dirtyRooms) {
      const members = this.#rooms.get(room);
      if (members === undefined) gone.push(`r:${room}`);
      else set[`r:${room}`] = members;
    }
    this.#dirtyRooms.clear();
    this.#dirtyConnections = false;
    let multi = cmd.multi();
    if (Object.keys(set).length > 0) multi = multi.hSet(this.#keyPresence, set);
    if (gone.length > 0) multi = multi.hDel(this.#keyPresence, gone);
    const generation = this.#generation;
    this.#flushing = true;
    multi
      .pExpire(this.#keyPresence, this.#ttlMs)
      .publish(this.#channelPresence, this.instance)
      .exec()
      .catch(() => {
        // The loss handler rewrites the whole presence after reconnecting.
      })
      .finally(() => {
        if (generation === this.#generation) this.#flushing = false;
      });
  }

  #heartbeat(): void {
    const cmd = this.#cmd;
    if (cmd === undefined || this.#status !== "up") return;
    cmd.eval(HEARTBEAT, {
      keys: [this.#keyInstances, this.#keyPresence],
      arguments: [this.instance, String(this.#ttlMs)],
    }).catch(() => {});
    this.#refreshView();
  }

  #scheduleView(): void {
    if (this.#viewTimer !== undefined) return;
    this.#viewTimer = setTimeout(() => {
      this.#viewTimer = undefined;
      this.#refreshView();
    }, PRESENCE_FLUSH_MS);
  }

  #refreshView(): void {
    const cmd = this.#cmd;
    if (cmd === undefined || this.#status !== "up") return;
    if (this.#viewing) {
      this.#viewAgain = true;
      return;
    }
    this.#viewing = true;
    const generation = this.#generation;
    cmd.eval(VIEW, {
      keys: [this.#keyInstances],
      arguments: [this.#keyPresencePrefix, this.instance],
    }).then((reply) => {
      if (generation !== this.#generation) return;
      this.#view = parseView(reply);
    }, () => {}).finally(() => {
      if (generation !== this.#generation) return;
      this.#viewing = false;
      if (this.#viewAgain) {
        this.#viewAgain = false;
        this.#refreshView();
      }
    });
  }
}

/**
 * Reads the reply of the view script: `[id, [field, value, …], …]`.
 *
 * @param reply The script's reply.
 * @returns Presence by instance id.
 */
export function parseView(reply: unknown): Map<string, InstancePresence> {
  const view = new Map<string, InstancePresence>();
  if (!Array.isArray(reply)) return view;
  for (let i = 0; i + 1 < reply.length; i += 2) {
    const id = String(reply[i]);
    const fields = reply[i + 1];
    if (!Array.isArray(fields)) continue;
    let connections = 0;
    let json = 0;
    const rooms = new Map<string, number>();
    for (let f = 0; f + 1 < fields.length; f += 2) {
      const name = String(fields[f]);
      const value = Number(String(fields[f + 1]));
      if (!Number.isFinite(value) || value <= 0) continue;
      if (name === "c") connections = value;
      else if (name === "j") json = value;
      else if (name.startsWith("r:")) rooms.set(name.slice(2), value);
    }
    view.set(id, { connections, json, rooms });
  }
  return view;
}

/**
 * The wait before a reconnection attempt: doubling from 100 ms, capped at
 * {@linkcode MAX_BACKOFF_MS}, with ±20% jitter so a cluster does not
 * reconnect in lockstep.
 *
 * @param attempt Failed attempts so far.
 * @returns Milliseconds.
 */
export function backoff(attempt: number): number {
  const base = Math.min(MAX_BACKOFF_MS, 100 * 2 ** Math.min(attempt, 16));
  return Math.round(base * (0.8 + Math.random() * 0.4));
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").slice(0, 200);
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("timed out")), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
