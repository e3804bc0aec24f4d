/**
 * `GET /ws`: admission checks, the upgrade, and each connection's life: the
 * byte-exact echo, or `wsecho.v1` dispatch when the client asked for it.
 *
 * @module
 */
import type { Connection, Protocol } from "../src/connection.ts";
import { newConnectionId } from "../src/connection.ts";
import { LOG_PREVIEW_LENGTH } from "../src/limits.ts";
import {
  increment,
  type ModeCounters,
  type RefusalReason,
  utf8Length,
} from "../src/metrics.ts";
import { compileOriginPolicy } from "../src/origin.ts";
import { takeToken } from "../src/rate_limit.ts";
import { text } from "../src/router.ts";
import type { ServerState } from "../src/state.ts";
import { selectProtocol } from "../src/subprotocol.ts";
import { NAME, VERSION } from "../src/version.ts";
import {
  errorMessage,
  JSON_PROTOCOL,
  type MessageContext,
  type MessageId,
  parseEnvelope,
  peekId,
  ProtocolError,
  type ServerMessage,
} from "./messages.ts";
import { MESSAGE_HANDLERS } from "./message_handlers.ts";

/** Subprotocols the server speaks, in order of preference; adding one is one entry. */
export const SUPPORTED_PROTOCOLS: readonly string[] = [JSON_PROTOCOL];

/** Close codes the server sends (RFC 6455 section 7.4.1). */
export const CLOSE = {
  /** The server is shutting down. */
  GOING_AWAY: 1001,
  /** A policy was broken: slow consumer or rate limit. */
  POLICY_VIOLATION: 1008,
  /** A message was larger than `--max-message-size`. */
  MESSAGE_TOO_BIG: 1009,
  /** The server failed unexpectedly. */
  INTERNAL_ERROR: 1011,
} as const;

/**
 * Creates the `/ws` handler of one server.
 *
 * @param state The server state.
 * @returns The handler: 101 and a live connection, or an HTTP refusal.
 */
export function createWebSocketHandler(
  state: ServerState,
): (request: Request, info: Deno.ServeHandlerInfo<Deno.NetAddr>) => Response {
  const { config, registry, metrics } = state;
  const originAllowed = compileOriginPolicy(config.allowOrigin);

  function refuse(reason: RefusalReason, response: Response): Response {
    metrics.refused[reason]++;
    return response;
  }

  return function upgradeWebSocket(request, info) {
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return text(
        426,
        "Upgrade required: /ws speaks WebSocket; connect with a WebSocket client, " +
          "or open /client in a browser\n",
        { upgrade: "websocket", connection: "Upgrade" },
      );
    }
    if (state.draining) {
      return refuse(
        "draining",
        text(503, "Server shutting down\n", {
          "retry-after": "5",
          connection: "close",
        }),
      );
    }
    if (
      !originAllowed(request.headers.get("origin"), request.headers.get("host"))
    ) {
      return refuse(
        "origin",
        text(
          403,
          `Origin not allowed: "${request.headers.get("origin")}"; ` +
            "allow it with --allow-origin (or WSECHO_ALLOW_ORIGIN)\n",
        ),
      );
    }
    const ip = info.remoteAddr.hostname;
    if (config.maxConnections > 0 && registry.size >= config.maxConnections) {
      return refuse(
        "max_connections",
        text(
          503,
          `Too many connections: the limit is ${config.maxConnections}\n`,
          {
            "retry-after": "5",
          },
        ),
      );
    }
    if (
      config.maxConnectionsPerIp > 0 &&
      registry.countFor(ip) >= config.maxConnectionsPerIp
    ) {
      return refuse(
        "max_connections_per_ip",
        text(
          503,
          `Too many connections from ${ip}: the limit is ${config.maxConnectionsPerIp}\n`,
          { "retry-after": "5" },
        ),
      );
    }

    const protocol = selectProtocol(
      request.headers.get("sec-websocket-protocol"),
      SUPPORTED_PROTOCOLS,
    ) as Protocol;
    let upgrade: Deno.WebSocketUpgrade;
    try {
      upgrade = Deno.upgradeWebSocket(request, {
        idleTimeout: config.idleTimeout,
        ...(protocol === "" ? {} : { protocol }),
      });
    } catch (error) {
      return text(
        400,
        `Bad WebSocket handshake: ${(error as Error).message}\n`,
      );
    }
    const connection: Connection = {
      id: newConnectionId(),
      socket: upgrade.socket,
      ip,
      protocol,
      rooms: new Set(),
      messagesIn: 0,
      messagesOut: 0,
      tokens: config.maxMessagesPerSecond,
      refilledAt: performance.now(),
      throttled: 0,
    };
    const welcome = config.welcome && !/[?&]welcome=0(?:&|$)/.test(request.url);
    // Registered now, not on open, so that concurrent handshakes count against the caps.
    registry.add(connection);
    metrics.accepted++;
    attach(connection, state, welcome);
    return upgrade.response;
  };
}

/** Wires one connection's events. Closures are made once per connection, never per message. */
function attach(
  connection: Connection,
  state: ServerState,
  welcome: boolean,
): void {
  const { socket } = connection;
  const { config, registry, rooms, metrics, log } = state;
  const { maxMessageSize, maxBuffered, maxMessagesPerSecond, verbose } = config;
  const counters: ModeCounters = connection.protocol === JSON_PROTOCOL
    ? metrics.json
    : metrics.echo;
  socket.binaryType = "arraybuffer";

  /** Queues a frame unless the peer is gone or too far behind. */
  function deliver(
    target: Connection,
    data: string | ArrayBuffer,
    size: number,
  ): boolean {
    const { socket } = target;
    if (socket.readyState !== WebSocket.OPEN) return false;
    if (socket.bufferedAmount > maxBuffered) {
      socket.close(CLOSE.POLICY_VIOLATION, "slow consumer");
      return false;
    }
    socket.send(data);
    target.messagesOut++;
    const targetCounters = target.protocol === JSON_PROTOCOL
      ? metrics.json
      : metrics.echo;
    targetCounters.messagesOut++;
    targetCounters.bytesOut += size;
    return true;
  }

  let lastText = "";
  let lastSize = 0;
  const context: MessageContext = {
    connection,
    state,
    send(target, text) {
      // A broadcast sends one string to many members: measure it once.
      if (text !== lastText) {
        lastText = text;
        lastSize = utf8Length(text);
      }
      return deliver(target, text, lastSize);
    },
  };

  function reply(message: ServerMessage, id: MessageId | undefined): void {
    if (message.type === "error") {
      increment(metrics.errors, message.code as string);
    }
    const { type, ...fields } = message;
    const text = JSON.stringify(
      id === undefined ? message : { type, id, ...fields },
    );
    deliver(connection, text, utf8Length(text));
  }

  function dispatch(text: string): void {
    let id: MessageId | undefined;
    try {
      const envelope = parseEnvelope(text);
      id = envelope.id;
      const handler = Object.hasOwn(MESSAGE_HANDLERS, envelope.type)
        ? MESSAGE_HANDLERS[envelope.type]
        : undefined;
      if (handler === undefined) {
        throw new ProtocolError(
          "unknown_type",
          `Unknown message type: "${envelope.type}"; known types: ${
            Object.keys(MESSAGE_HANDLERS).join(", ")
          }`,
        );
      }
      const result = handler.handle(handler.parse(envelope), context);
      if (result !== undefined) reply(result, id);
    } catch (error) {
      if (error instanceof ProtocolError) {
        reply(errorMessage(error.code, error.message), id ?? peekId(text));
        return;
      }
      // A failing handler answers its own request and harms no other connection.
      log(
        `error ${connection.id}: handler failed: ${
          (error as Error)?.stack ?? error
        }`,
      );
      reply(
        errorMessage(
          "internal_error",
          "The server failed to handle this message",
        ),
        id,
      );
    }
  }

  function onMessage(event: MessageEvent<string | ArrayBuffer>): void {
    const data = event.data;
    const size = typeof data === "string" ? utf8Length(data) : data.byteLength;
    connection.messagesIn++;
    counters.messagesIn++;
    counters.bytesIn += size;
    if (verbose) logMessage(connection, data, log);
    if (size > maxMessageSize) {
      socket.close(
        CLOSE.MESSAGE_TOO_BIG,
        `message too big: the limit is ${maxMessageSize} bytes`,
      );
      return;
    }
    if (maxMessagesPerSecond > 0 && !admit(connection)) return;
    if (typeof data === "string" && connection.protocol === JSON_PROTOCOL) {
      dispatch(data);
    } else deliver(connection, data, size);
  }

  /** Applies the rate limit; only called when one is set. */
  function admit(connection: Connection): boolean {
    if (takeToken(connection, maxMessagesPerSecond, performance.now())) {
      connection.throttled = 0;
      return true;
    }
    connection.throttled++;
    // A raw echo has no error frame to send, so it closes at once; wsecho.v1
    // clients are told, and closed after a further second's worth of refusals.
    if (
      connection.protocol !== JSON_PROTOCOL ||
      connection.throttled > maxMessagesPerSecond
    ) {
      socket.close(CLOSE.POLICY_VIOLATION, "rate limit exceeded");
    } else {
      reply(
        errorMessage(
          "rate_limited",
          `Rate limit exceeded: at most ${maxMessagesPerSecond} messages a second`,
        ),
        undefined,
      );
    }
    return false;
  }

  let cleaned = false;
  function cleanup(code: number, reason: string): void {
    if (cleaned) return;
    cleaned = true;
    registry.delete(connection);
    rooms.leaveAll(connection);
    increment(metrics.closes, code);
    log(
      `close ${connection.id} ${connection.ip} code=${code}${
        reason ? ` reason="${reason}"` : ""
      } ` +
        `in=${connection.messagesIn} out=${connection.messagesOut}`,
    );
  }

  socket.addEventListener("open", () => {
    log(
      `open ${connection.id} ${connection.ip}${
        connection.protocol ? ` protocol=${connection.protocol}` : ""
      }`,
    );
    if (!welcome) return;
    const text = JSON.stringify({
      type: "welcome",
      server: NAME,
      version: VERSION,
      id: connection.id,
      protocol: connection.protocol,
      protocols: SUPPORTED_PROTOCOLS,
    });
    deliver(connection, text, text.length);
  });
  socket.addEventListener("message", onMessage);
  socket.addEventListener(
    "close",
    (event) => cleanup(event.code, event.reason),
  );
  // Deno fires error first on an abrupt end ("Unexpected EOF", then close with
  // code 0) and on a missed pong (then close twice): count it once, as 1006.
  socket.addEventListener(
    "error",
    (event) => cleanup(1006, (event as ErrorEvent).message ?? ""),
  );
}

function logMessage(
  connection: Connection,
  data: string | ArrayBuffer,
  log: (line: string) => void,
) {
  const preview = typeof data === "string"
    ? JSON.stringify(
      data.length > LOG_PREVIEW_LENGTH
        ? `${data.slice(0, LOG_PREVIEW_LENGTH)}…`
        : data,
    )
    : `<binary ${data.byteLength} bytes>`;
  log(`message ${connection.id} ${preview}`);
}
