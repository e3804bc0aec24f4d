/**
 * The set of open connections, with a count per limit key (the client IP,
 * for those that count) for the per-IP cap.
 *
 * @module
 */
import type { Connection } from "./connection.ts";

/** Tracks open connections; removing twice is harmless, so close and error may both call it. */
export class Registry {
  #connections = new Map<string, Connection>();
  #perIp = new Map<string, number>();
  #emptied: PromiseWithResolvers<void> | undefined;
  #json = 0;
  /** Called after every add and delete, for the cluster's connection counts. */
  onChange: (() => void) | undefined;

  /** Open `wsecho.v1` connections. */
  get jsonSize(): number {
    return this.#json;
  }

  /** Open connections. */
  get size(): number {
    return this.#connections.size;
  }

  /**
   * Counts the open connections under one limit key.
   *
   * @param key The client address.
   * @returns How many are open.
   */
  countFor(key: string): number {
    return this.#perIp.get(key) ?? 0;
  }

  /**
   * Adds a connection.
   *
   * @param connection The new connection.
   */
  add(connection: Connection): void {
    if (this.#connections.has(connection.id)) return;
    this.#connections.set(connection.id, connection);
    const key = connection.limitKey;
    if (key !== null) this.#perIp.set(key, this.countFor(key) + 1);
    if (connection.protocol !== "") this.#json++;
    this.onChange?.();
  }

  /**
   * Removes a connection.
   *
   * @param connection The connection to forget.
   * @returns `true` when it was present.
   */
  delete(connection: Connection): boolean {
    if (!this.#connections.delete(connection.id)) return false;
    const key = connection.limitKey;
    if (key !== null) {
      const left = this.countFor(key) - 1;
      if (left > 0) this.#perIp.set(key, left);
      else this.#perIp.delete(key);
    }
    if (connection.protocol !== "") this.#json--;
    this.onChange?.();
    if (this.#connections.size === 0) {
      this.#emptied?.resolve();
      this.#emptied = undefined;
    }
    return true;
  }

  /**
   * Waits until no connection is open.
   *
   * @returns A promise that resolves when the registry is empty.
   */
  empty(): Promise<void> {
    if (this.#connections.size === 0) return Promise.resolve();
    this.#emptied ??= Promise.withResolvers();
    return this.#emptied.promise;
  }

  /** Iterates over the open connections. */
  values(): IterableIterator<Connection> {
    return this.#connections.values();
  }
}
