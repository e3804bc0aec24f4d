/**
 * `createServer()`: one wsecho server, started by `main.ts` and by the tests
 * alike, and stopped gracefully through an `AbortSignal`.
 *
 * @module
 */
import { CLOSE, STATUS } from "../config/constants.ts";
import { SHUTDOWN_GRACE_MS } from "../config/limits.ts";
import type { Config } from "../config/options.ts";
import { validateConfig } from "../config/validate_config.ts";
import { deliver, markClosing } from "../core/delivery.ts";
import { createState, type ServerState } from "../core/state.ts";
import type { MessageKind } from "../protocol/kind.ts";
import { indexKinds, MESSAGE_KINDS } from "../protocol/kinds.ts";
import { createApp } from "./routes.ts";

/** Options of {@linkcode createServer}: any config field, plus how to run. */
export interface ServerOptions extends Partial<Config> {
  /**
   * Aborting it shuts the server down gracefully.
   *
   * @default {undefined}
   */
  signal?: AbortSignal;
  /**
   * Called once the server listens.
   *
   * @default {() => {}}
   */
  onListen?: (addr: Deno.NetAddr) => void;
  /**
   * The `wsecho.v1` message kinds: extend the built-in table to add kinds
   * without editing it, as in `[...MESSAGE_KINDS, TIME_KIND]`.
   *
   * @default {MESSAGE_KINDS}
   */
  messageKinds?: readonly MessageKind[];
  /**
   * Receives one line per connection open and close (and per message with `verbose`).
   *
   * @default {() => {}}
   */
  log?: (line: string) => void;
}

/** A running server. */
export interface WsechoServer extends AsyncDisposable {
  /** The address it listens on; read the port from here after `port: 0`. */
  readonly addr: Deno.NetAddr;
  /** The shared state: registry, rooms, counters. */
  readonly state: ServerState;
  /** Resolves once the server has shut down. */
  readonly finished: Promise<void>;
  /**
   * Shuts down: refuses new upgrades, closes every socket with 1001, waits
   * for them up to five seconds, then stops the HTTP server.
   */
  shutdown(): Promise<void>;
}

/**
 * Starts a server.
 *
 * @param options The configuration and run options; `cert` and `key` are PEM text.
 * @returns The running server.
 * @throws {TypeError} When an option has the wrong type or is unknown.
 * @throws {RangeError} When an option is out of its range.
 * @throws {Deno.errors.AddrInUse} When the port is taken.
 *
 * @example Usage
 * ```ts ignore
 * import { createServer } from "./create_server.ts";
 * const controller = new AbortController();
 * const server = createServer({ port: 0, signal: controller.signal });
 * console.log(server.addr.port);
 * controller.abort();
 * await server.finished;
 * ```
 */
export function createServer(options: ServerOptions = {}): WsechoServer {
  const {
    signal,
    onListen = () => {},
    log = () => {},
    messageKinds = MESSAGE_KINDS,
    ...overrides
  } = options;
  const config = validateConfig(overrides);
  const kinds = indexKinds(messageKinds);
  const state: ServerState = createState(config, log, {
    // Frames from other instances go through the same slow-consumer check.
    send: (target, frame, size) => deliver(state, target, frame, size),
  });
  const httpServer = Deno.serve({
    port: config.port,
    hostname: config.hostname,
    // SO_REUSEPORT: Linux spreads connections over the processes sharing
    // the port; other platforms ignore it. Needs --unstable-net on Deno 2.9.
    ...(config.reusePort ? { reusePort: true } : {}),
    ...(config.cert !== "" ? { cert: config.cert, key: config.key } : {}),
    onListen: (addr) => onListen(addr as Deno.NetAddr),
    onError: (error) => {
      log(`error: request failed: ${(error as Error)?.stack ?? error}`);
      return new Response("Internal server error\n", {
        status: STATUS.InternalServerError,
      });
    },
  }, createApp(state, kinds));
  // Only once listening: a server that cannot listen joins no cluster.
  state.cluster.start();

  let stopping: Promise<void> | undefined;
  function shutdown(): Promise<void> {
    stopping ??= drain(state, httpServer);
    return stopping;
  }
  signal?.addEventListener("abort", () => void shutdown(), { once: true });
  if (signal?.aborted) void shutdown();

  return {
    addr: httpServer.addr,
    state,
    finished: httpServer.finished,
    shutdown,
    async [Symbol.asyncDispose]() {
      await shutdown();
      await httpServer.finished;
    },
  };
}

async function drain(
  state: ServerState,
  httpServer: Deno.HttpServer,
): Promise<void> {
  state.draining = true;
  state.shutdown.abort();
  // Deno's own shutdown does not close upgraded sockets, so close them
  // ourselves, and keep them registered until each peer answers.
  const reason = "server shutting down";
  for (const connection of state.registry.values()) {
    markClosing(connection, CLOSE.GoingAway, reason);
    if (connection.socket.readyState <= WebSocket.OPEN) {
      connection.socket.close(CLOSE.GoingAway, reason);
    }
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const grace = new Promise<void>((resolve) =>
    timer = setTimeout(resolve, SHUTDOWN_GRACE_MS)
  );
  await Promise.race([state.registry.empty(), grace]);
  clearTimeout(timer);
  // Withdraws this instance's presence at once instead of after the TTL.
  await state.cluster.close();
  await httpServer.shutdown();
}
