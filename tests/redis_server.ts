/**
 * Runs a real `redis-server` (Debian's package) for the cluster tests, on a
 * free loopback port, with no persistence, stopped by its PID. Not a test
 * file (no `_test` suffix).
 *
 * @module
 */
import { freePort } from "./wsecho_process.ts";

/** The one line a test that needs Redis shows when it is ignored. */
export const REDIS_MISSING =
  "redis-server is not installed: apt-get install redis-server";

/** Whether `redis-server` can be run here. */
export const HAVE_REDIS: boolean = await (async () => {
  try {
    const { success } = await new Deno.Command("redis-server", {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    }).output();
    return success;
  } catch {
    return false;
  }
})();

/**
 * `true` when the Redis tests are to be ignored: no `redis-server` and not in
 * CI (`CI=true`), where a missing one must fail the tests instead.
 */
export const IGNORE_REDIS: boolean = (() => {
  if (HAVE_REDIS || Deno.env.get("CI") === "true") return false;
  // deno-lint-ignore no-console
  console.warn(`Ignoring the cluster tests: ${REDIS_MISSING}`);
  return true;
})();

/** Options of {@linkcode startRedis}. */
export interface RedisOptions {
  /**
   * The port; a free one when absent (restart on the same port by passing it).
   *
   * @default {freePort()}
   */
  port?: number;
  /**
   * A password (`--requirepass`).
   *
   * @default {undefined}
   */
  password?: string;
  /**
   * Milliseconds to wait for it to accept connections.
   *
   * @default {10_000}
   */
  timeoutMs?: number;
}

/** A running `redis-server`. */
export class RedisServer implements AsyncDisposable {
  /** Its port on 127.0.0.1. */
  readonly port: number;
  /** Its password, if any. */
  readonly password: string | undefined;
  readonly #child: Deno.ChildProcess;
  #stopped: Promise<void> | undefined;

  /**
   * Wraps a started child; use {@linkcode startRedis}.
   *
   * @param child The process.
   * @param port Its port.
   * @param password Its password.
   */
  constructor(
    child: Deno.ChildProcess,
    port: number,
    password: string | undefined,
  ) {
    this.#child = child;
    this.port = port;
    this.password = password;
  }

  /** Its PID. */
  get pid(): number {
    return this.#child.pid;
  }

  /** `redis://[:password@]127.0.0.1:PORT`. */
  get url(): string {
    const auth = this.password === undefined
      ? ""
      : `:${encodeURIComponent(this.password)}@`;
    return `redis://${auth}127.0.0.1:${this.port}`;
  }

  /**
   * Stops it by its PID (SIGKILL: nothing is to be saved) and waits for it
   * to exit. Safe to call twice.
   */
  stop(): Promise<void> {
    this.#stopped ??= (async () => {
      try {
        this.#child.kill("SIGKILL");
      } catch {
        // Already exited.
      }
      await this.#child.status;
    })();
    return this.#stopped;
  }

  /** Stops it. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/**
 * Starts `redis-server` on 127.0.0.1 without persistence and waits until it
 * answers `PING`.
 *
 * @param options Port, password and timeout.
 * @returns The running server.
 * @throws {Error} When it cannot be started or does not answer in time.
 */
export async function startRedis(
  options: RedisOptions = {},
): Promise<RedisServer> {
  const { port = freePort(), password, timeoutMs = 10_000 } = options;
  const args = [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    "no",
    "--protected-mode",
    "no",
    "--loglevel",
    "warning",
    ...(password === undefined ? [] : ["--requirepass", password]),
  ];
  const child = new Deno.Command("redis-server", {
    args,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const server = new RedisServer(child, port, password);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await answersPing(port, password)) return server;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await server.stop();
  throw new Error(
    `redis-server on port ${port} did not answer within ${timeoutMs} ms`,
  );
}

/**
 * Sends one RESP command to a Redis and returns its raw reply, for tests that
 * look at keys behind the broker's back.
 *
 * @param port The port on 127.0.0.1.
 * @param command The command and its arguments.
 * @param password The password, if any.
 * @returns The raw reply text.
 */
export async function redisCommand(
  port: number,
  command: readonly string[],
  password?: string,
): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const encode = (parts: readonly string[]) =>
      `*${parts.length}\r\n` +
      parts.map((p) => `$${new TextEncoder().encode(p).length}\r\n${p}\r\n`)
        .join("");
    const wire = (password === undefined ? "" : encode(["AUTH", password])) +
      encode(command);
    await conn.write(new TextEncoder().encode(wire));
    const expected = password === undefined ? 1 : 2;
    let text = "";
    const buffer = new Uint8Array(65536);
    const deadline = Date.now() + 5_000;
    while (Date.now() < deadline) {
      const n = await conn.read(buffer);
      if (n === null) break;
      text += new TextDecoder().decode(buffer.subarray(0, n));
      if (text.split("\r\n").length > expected && text.endsWith("\r\n")) {
        break;
      }
    }
    return password === undefined ? text : text.slice(text.indexOf("\r\n") + 2);
  } finally {
    conn.close();
  }
}

async function answersPing(
  port: number,
  password: string | undefined,
): Promise<boolean> {
  try {
    return (await redisCommand(port, ["PING"], password)).startsWith("+PONG");
  } catch {
    return false;
  }
}
