/**
 * Picks the broker for a server: in-process without a URL, Redis with one.
 * The Redis client ({@linkcode REDIS_CLIENT_PACKAGE}) is imported here,
 * dynamically, when a Redis broker first connects: a server without
 * `--broker` neither loads nor fetches it.
 *
 * @module
 */
import type { Broker } from "./broker.ts";
import { parseBrokerUrl } from "../../config/broker_url.ts";
import { REDIS_CLIENT_PACKAGE } from "../../config/constants.ts";
import { MemoryBroker, type MemoryHub } from "./memory_broker.ts";
import { type CreateRedisClient, RedisBroker } from "./redis_broker.ts";

/** Options of {@linkcode createBroker}. */
export interface CreateBrokerOptions {
  /**
   * `redis://…` or `rediss://…`; without it the broker is in-process.
   *
   * @default {undefined}
   */
  url?: string | undefined;
  /**
   * Key and channel prefix.
   *
   * @default {"wsecho"}
   */
  prefix?: string;
  /**
   * Presence TTL in milliseconds.
   *
   * @default {15_000}
   */
  ttlMs?: number;
  /**
   * For the in-process broker: the hub of in-process instances to join.
   *
   * @default {undefined}
   */
  hub?: MemoryHub | undefined;
  /**
   * Writes one log line.
   *
   * @default {() => {}}
   */
  log?: (line: string) => void;
}

/**
 * Creates a broker, not yet started.
 *
 * @param instance This instance's id.
 * @param options The URL and its settings.
 * @returns The broker.
 * @throws {TypeError} When the URL is not a broker URL.
 */
export function createBroker(
  instance: string,
  options: CreateBrokerOptions = {},
): Broker {
  const { url, prefix, ttlMs, hub, log } = options;
  // An empty prefix (as an empty WSECHO_BROKER_PREFIX) means the default.
  if (url === undefined || url === "") {
    return new MemoryBroker(instance, hub === undefined ? {} : { hub });
  }
  const checked = parseBrokerUrl(url);
  return new RedisBroker(checked, instance, {
    loadClient: loadRedisClient,
    ...(prefix === undefined || prefix === "" ? {} : { prefix }),
    ...(ttlMs === undefined ? {} : { ttlMs }),
    ...(log === undefined ? {} : { log }),
  });
}

async function loadRedisClient(): Promise<CreateRedisClient> {
  // A variable, not a literal: Deno would fetch a literal's package at every
  // start, broker or not.
  const specifier: string = REDIS_CLIENT_PACKAGE;
  const { createClient } = await import(specifier);
  // node-redis' generic client types do not fit exactOptionalPropertyTypes;
  // the broker names the few methods it calls.
  return createClient as unknown as CreateRedisClient;
}
