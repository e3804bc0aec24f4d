/**
 * Broker URLs: `redis://[user:password@]host[:port][/db]` or `rediss://…`,
 * checked the same way for `--broker`, `WSECHO_BROKER` and `createServer()`,
 * and shown without their password.
 *
 * @module
 */

/** A broker URL, checked. */
export interface BrokerUrl {
  /** `redis:` or `rediss:` (TLS). */
  readonly protocol: "redis:" | "rediss:";
  /** The URL as given, for the client. */
  readonly href: string;
  /** The URL without its password, to show in logs and `/healthz`. */
  readonly redacted: string;
}

/** Highest database number accepted in a broker URL (Redis' default is 16 databases). */
export const MAX_BROKER_DB = 15;

/**
 * Checks a `--broker` URL: `redis://[user:password@]host[:port][/db]` or
 * `rediss://…`.
 *
 * @param value The URL.
 * @returns The checked URL.
 * @throws {TypeError} When it is not such a URL; the message names the value.
 */
export function parseBrokerUrl(value: string): BrokerUrl {
  const fail = (why: string): never => {
    throw new TypeError(
      `"${
        redactText(value)
      }" is not a broker URL (${why}); expected redis://[user:password@]host[:port][/db] or rediss://…`,
    );
  };
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return fail("not a URL");
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") {
    fail(`unsupported scheme "${url.protocol}"`);
  }
  if (url.hostname === "") fail("no host");
  if (url.search !== "" || url.hash !== "") {
    fail("no query or fragment allowed");
  }
  const path = url.pathname;
  if (path !== "" && path !== "/") {
    const db = path.slice(1);
    if (!/^\d{1,2}$/.test(db) || Number(db) > MAX_BROKER_DB) {
      fail(`the database must be a number from 0 to ${MAX_BROKER_DB}`);
    }
  }
  return {
    protocol: url.protocol as "redis:" | "rediss:",
    href: value,
    redacted: redactUrl(url),
  };
}

/**
 * Removes the password from a URL.
 *
 * @param url The URL.
 * @returns Its text with the password left out.
 */
export function redactUrl(url: URL): string {
  const copy = new URL(url.href);
  copy.password = "";
  return copy.href;
}

function redactText(value: string): string {
  try {
    const url = new URL(value);
    return url.password === "" ? value : redactUrl(url);
  } catch {
    // Not a URL: a password cannot be told apart, so show the scheme only.
    return value.includes("@") ? `${value.split(":")[0]}:…` : value;
  }
}

/**
 * Checks a `--broker` value for the option table.
 *
 * @param entry The URL.
 * @returns What is wrong with it, or `undefined` when it is a broker URL.
 */
export function checkBrokerUrl(entry: string): string | undefined {
  try {
    parseBrokerUrl(entry);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/** Prefixes accepted: they become part of Redis key and channel names. */
const BROKER_PREFIX_PATTERN = /^[A-Za-z0-9._:-]{1,64}$/;

/**
 * Checks a `--broker-prefix` value.
 *
 * @param entry The prefix.
 * @returns What is wrong with it, or `undefined`.
 */
export function checkBrokerPrefix(entry: string): string | undefined {
  return BROKER_PREFIX_PATTERN.test(entry)
    ? undefined
    : `"${entry}" must be 1 to 64 of A-Z a-z 0-9 . _ : -`;
}
