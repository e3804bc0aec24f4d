/**
 * `GET /ws`: admission checks, the upgrade, and each connection's events: the
 * byte-exact echo, or `wsecho.v1` dispatch when the client asked for it.
 *
 * @module
 */
import type { Connection, Protocol } from "../src/connection.ts";
import { newConnectionId } from "../src/connection.ts";
import { CLOSE, closeConnection, deliver, release } from "../src/delivery.ts";
import { LOG_PREVIEW_LENGTH } from "../src/limits.ts";
import { increment, type RefusalReason, utf8Length } from "../src/metrics.ts";
import { compileOriginPolicy } from "../src/origin.ts";
import { takeToken } from "../src/rate_limit.ts";
import { text } from "../src/router.ts";
import type { ServerState } from "../src/state.ts";
import { selectProtocol } from "../src/subprotocol.ts";
import { NAME, VERSION } from "../src/version.ts";
import { dispatchMessage } from "./dispatch.ts";
import {
  formatLabParams,
  type LabParams,
  parseLabQuery,
} from "../src/protocol/lab_params.ts";
import { createLabSession } from "../src/session/lab_session.ts";
import { closeWhenQuiet } from "../src/session/quiet_close.ts";
import { type LabStream, startStream } from "../src/session/lab_stream.ts";
import type {
  HandshakeInfo,
  LabControls,
} from "../src/protocol/lab_controls.ts";
import {
  errorMessage,
  JSON_PROTOCOL,
  type MessageContext,
  type ServerMessage,
} from "./messages.ts";

/** Bytes queued to a peer above which a lab stream pauses (or half `--max-buffered`). */
const LAB_STREAM_HIGH_WATER = 1024 * 1024;

/** Subprotocols the server speaks, in order of preference; adding one is one entry. */
export const SUPPORTED_PROTOCOLS: readonly string[] = [JSON_PROTOCOL];

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
    const { headers } = request;
    if (headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return text(
        426,
        "Upgrade required: /ws speaks WebSocket; connect with a WebSocket client, " +
          "or open /client in a browser\n",
        { upgrade: "websocket", connection: "Upgrade" },
      );
    }
    if (headers.get("sec-websocket-version") !== "13") {
      // RFC 6455 4.4: name the version we speak; Deno would answer 101 anyway.
      return text(
        426,
        "Unsupported WebSocket version: this server speaks version 13\n",
        { "sec-websocket-version": "13" },
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
    const origin = headers.get("origin");
    // Only browsers send Origin: parse the URL for its host only then.
    if (origin !== null && !originAllowed(origin, new URL(request.url).host)) {
      return refuse(
        "origin",
        text(
          403,
          `Origin not allowed: "${headers.get("origin")}"; ` +
            "allow it with --allow-origin (or WSECHO_ALLOW_ORIGIN)\n",
        ),
      );
    }
    const lab = parseLabQuery(request.url, {
      enabled: config.lab,
      maxEmitRate: config.maxEmitRate,
      maxMessageSize: config.maxMessageSize,
    });
    if (!lab.ok) return text(lab.status, `${lab.message}\n`);
    const labParams = lab.params;
    if (labParams !== undefined && labParams.status !== 0) {
      metrics.lab.refusals++;
      return text(
        labParams.status,
        `Refused by the test lab, as asked: status=${labParams.status}\n`,
        labParams.retryAfter === undefined
          ? {}
          : { "retry-after": String(labParams.retryAfter) },
      );
    }
    // Read before the upgrade: afterwards the request is closed and
    // info.remoteAddr throws.
    const { hostname: ip, port } = info.remoteAddr;
    if (config.maxConnections > 0 && registry.size >= config.maxConnections) {
      return refuse(
        "max_connections",
        text(
          503,
          `Too many connections: the limit is ${config.maxConnections}\n`,
          { "retry-after": "5" },
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

    // subprotocol=none: complete the handshake choosing none of the offered.
    const protocol = labParams?.subprotocolNone ? "" : selectProtocol(
      headers.get("sec-websocket-protocol"),
      SUPPORTED_PROTOCOLS,
    ) as Protocol;
    // For the lab's `handshake` kind (wsecho.v1 only), copied now: once
    // upgraded, the request's headers can no longer be read.
    const handshake: HandshakeInfo | undefined = protocol === JSON_PROTOCOL
      ? {
        method: request.method,
        url: request.url,
        headers: new Headers(headers),
        remote: { address: ip, port },
        protocol,
      }
      : undefined;
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
      counters: protocol === JSON_PROTOCOL ? metrics.json : metrics.echo,
      unchecked: 0,
      released: false,
    };
    // Registered now, not on open, so that concurrent handshakes count against the caps.
    registry.add(connection);
    metrics.accepted++;
    attach(
      state,
      connection,
      config.welcome && !welcomeDeclined(request.url),
      labParams,
      handshake,
    );
    return upgrade.response;
  };
}

/** Wires one connection's events. Closures are made once per connection, never per message. */
function attach(
  state: ServerState,
  connection: Connection,
  welcome: boolean,
  labParams: LabParams | undefined,
  handshake: HandshakeInfo | undefined,
): void {
  const { socket, counters } = connection;
  const { config, metrics, log, handlers } = state;
  const { maxMessageSize, maxMessagesPerSecond, verbose } = config;
  const json = connection.protocol === JSON_PROTOCOL;
  socket.binaryType = "arraybuffer";

  let lastText = "";
  let lastSize = 0;
  // Set by the first server-initiated lab close: stops acting on the peer's
  // input by removing the listener, so the plain path needs no check.
  let listener: (event: MessageEvent<string | ArrayBuffer>) => void;
  function labClose(code: number, reason: string): void {
    socket.removeEventListener("message", listener);
    closeWhenQuiet(socket, code, reason);
    release(state, connection, code, reason);
  }
  let kindStream: LabStream | undefined;
  const labControls: LabControls | undefined = handshake && {
    enabled: config.lab,
    maxEmitRate: config.maxEmitRate,
    maxMessageSize: config.maxMessageSize,
    handshake,
    close(code, reason) {
      metrics.lab.closes++;
      labClose(code, reason);
    },
    stream(options, onEnd) {
      if (kindStream !== undefined || lab?.streaming) return false;
      kindStream = startStream({
        send(data, size) {
          if (!deliver(state, connection, data, size)) return false;
          metrics.lab.emitted++;
          return true;
        },
        bufferedAmount: () => socket.bufferedAmount,
      }, {
        ...options,
        highWater: Math.min(LAB_STREAM_HIGH_WATER, config.maxBuffered / 2),
        onPause: () => metrics.lab.streamPauses++,
        onEnd(result) {
          kindStream = undefined;
          onEnd(result);
        },
      });
      return true;
    },
  };
  const context: MessageContext = {
    connection,
    state,
    ...(labControls === undefined ? {} : { lab: labControls }),
    send(target, text) {
      // A broadcast sends one string to many members: measure it once.
      if (text !== lastText) {
        lastText = text;
        lastSize = utf8Length(text);
      }
      return deliver(state, target, text, lastSize);
    },
  };

  function reply(message: ServerMessage): void {
    if (message.type === "error") {
      increment(metrics.errors, String(message.code));
    }
    const text = JSON.stringify(message);
    deliver(state, connection, text, utf8Length(text));
  }

  /** Counts and checks one message: its size in bytes, or -1 when refused. */
  function admitMessage(data: string | ArrayBuffer): number {
    const size = typeof data === "string" ? utf8Length(data) : data.byteLength;
    connection.messagesIn++;
    counters.messagesIn++;
    counters.bytesIn += size;
    if (verbose) logMessage(connection, data, log);
    if (size > maxMessageSize) {
      closeConnection(
        state,
        connection,
        CLOSE.MESSAGE_TOO_BIG,
        `message too big: the limit is ${maxMessageSize} bytes`,
      );
      return -1;
    }
    if (maxMessagesPerSecond > 0 && !admit()) return -1;
    return size;
  }

  /** Today's answer to one message: the echo, or `wsecho.v1` dispatch. */
  function answer(data: string | ArrayBuffer, size: number): void {
    if (json && typeof data === "string") {
      const result = dispatchMessage(data, handlers, context);
      if (result !== undefined) reply(result);
    } else {
      deliver(state, connection, data, size);
    }
  }

  function onMessage(event: MessageEvent<string | ArrayBuffer>): void {
    const size = admitMessage(event.data);
    if (size >= 0) answer(event.data, size);
  }

  // The lab's listener is chosen here, once: a connection without lab
  // parameters never pays a per-message check for it.
  const lab = labParams === undefined ? undefined : createLabSession({
    params: labParams,
    peer: {
      send: (data, size) => deliver(state, connection, data, size),
      bufferedAmount: () => socket.bufferedAmount,
      close: labClose,
    },
    counters: metrics.lab,
    act: answer,
    maxDelayedBytes: config.maxDelayed,
    highWater: Math.min(LAB_STREAM_HIGH_WATER, config.maxBuffered / 2),
  });
  if (labParams !== undefined) {
    for (const name of labParams.names) {
      increment(metrics.lab.connections, name);
    }
  }

  function onLabMessage(event: MessageEvent<string | ArrayBuffer>): void {
    const size = admitMessage(event.data);
    if (size >= 0) lab!.receive(event.data, size);
  }

  /** Applies the rate limit; only called when one is set. */
  function admit(): boolean {
    if (takeToken(connection, maxMessagesPerSecond, performance.now())) {
      connection.throttled = 0;
      return true;
    }
    connection.throttled++;
    // A raw echo has no error frame to send, so it closes at once; wsecho.v1
    // clients are told, and closed after a further second's worth of refusals.
    if (!json || connection.throttled > maxMessagesPerSecond) {
      closeConnection(
        state,
        connection,
        CLOSE.POLICY_VIOLATION,
        "rate limit exceeded",
      );
    } else {
      reply(errorMessage(
        "rate_limited",
        `Rate limit exceeded: at most ${maxMessagesPerSecond} messages a second`,
      ));
    }
    return false;
  }

  socket.addEventListener("open", () => {
    log(
      `open ${connection.id} ${connection.ip}${
        json ? ` protocol=${connection.protocol}` : ""
      }${labParams === undefined ? "" : ` lab=${formatLabParams(labParams)}`}`,
    );
    lab?.open();
    if (!welcome) return;
    const text = JSON.stringify({
      type: "welcome",
      server: NAME,
      version: VERSION,
      id: connection.id,
      protocol: connection.protocol,
      protocols: SUPPORTED_PROTOCOLS,
    });
    deliver(state, connection, text, text.length);
  });
  listener = lab ? onLabMessage : onMessage;
  socket.addEventListener("message", listener);
  if (lab || labControls) {
    const stop = () => {
      lab?.stop();
      kindStream?.stop();
    };
    socket.addEventListener("close", stop);
    socket.addEventListener("error", stop);
  }
  socket.addEventListener(
    "close",
    (event) => release(state, connection, event.code, event.reason),
  );
  // Deno fires error first on an abrupt end ("Unexpected EOF", then close with
  // code 0) and on a missed pong (then close twice): count it once, as 1006.
  socket.addEventListener(
    "error",
    (event) =>
      release(
        state,
        connection,
        CLOSE.ABNORMAL,
        (event as ErrorEvent).message ?? "",
      ),
  );
}

/** Whether the query says `welcome=0`; most URLs have no query to parse. */
function welcomeDeclined(url: string): boolean {
  const query = url.indexOf("?");
  return query !== -1 &&
    new URLSearchParams(url.slice(query + 1)).get("welcome") === "0";
}

function logMessage(
  connection: Connection,
  data: string | ArrayBuffer,
  log: (line: string) => void,
): void {
  const preview = typeof data === "string"
    ? JSON.stringify(
      data.length > LOG_PREVIEW_LENGTH
        ? `${data.slice(0, LOG_PREVIEW_LENGTH)}…`
        : data,
    )
    : `<binary ${data.byteLength} bytes>`;
  log(`message ${connection.id} ${preview}`);
}
