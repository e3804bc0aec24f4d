/**
 * `createServer()`: one wsecho server, started by `main.ts` and by the tests
 * alike, and stopped gracefully through an `AbortSignal`.
 *
 * @module
 */
import { type Config, DEFAULT_CONFIG } from "./config.ts";
import { createApp } from "./app.ts";
import { CLOSE } from "./delivery.ts";
import { SHUTDOWN_GRACE_MS } from "./limits.ts";
import { createState, type ServerState } from "./state.ts";
import type { MessageHandler } from "../handlers/messages.ts";
import { MESSAGE_HANDLERS } from "../handlers/message_handlers.ts";

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
   * The `wsecho.v1` message kinds, by `type`: extend the built-in table to add
   * kinds without editing it, as in
   * `{ ...MESSAGE_HANDLERS, time: TIME_HANDLER }`.
   *
   * @default {MESSAGE_HANDLERS}
   */
  messageHandlers?: Readonly<Record<string, MessageHandler>>;
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
 * @throws {Deno.errors.AddrInUse} When the port is taken.
 *
 * @example Usage
 * ```ts ignore
 * import { createServer } from "./server.ts";
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
    messageHandlers = MESSAGE_HANDLERS,
    ...overrides
  } = options;
  const config: Config = { ...DEFAULT_CONFIG, ...overrides };
  const state = createState(config, log, messageHandlers);
  const httpServer = Deno.serve({
    port: config.port,
    hostname: config.hostname,
    ...(config.cert !== "" ? { cert: config.cert, key: config.key } : {}),
    onListen: (addr) => onListen(addr as Deno.NetAddr),
    onError: (error) => {
      log(`error: request failed: ${(error as Error)?.stack ?? error}`);
      return new Response("Internal server error\n", { status: 500 });
    },
  }, createApp(state));

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
  // Deno's own shutdown does not close upgraded sockets, so close them ourselves.
  for (const { socket } of state.registry.values()) {
    if (socket.readyState <= WebSocket.OPEN) {
      socket.close(CLOSE.GOING_AWAY, "server shutting down");
    }
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const grace = new Promise<void>((resolve) =>
    timer = setTimeout(resolve, SHUTDOWN_GRACE_MS)
  );
  await Promise.race([state.registry.empty(), grace]);
  clearTimeout(timer);
  await httpServer.shutdown();
}
