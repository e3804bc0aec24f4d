/**
 * Names the wire protocol fixes: subprotocols, close codes (RFC 6455 section
 * 7.4.1) and HTTP statuses, each defined here once and used by name elsewhere.
 *
 * @module
 */

/** The subprotocol a client offers to speak the JSON protocol. */
export const JSON_PROTOCOL = "wsecho.v1";

/** Subprotocols the server speaks, in order of preference; adding one is one entry. */
export const SUPPORTED_PROTOCOLS: readonly string[] = Object.freeze([
  JSON_PROTOCOL,
]);

/** What a connection speaks: `""` for the byte-exact echo, else a subprotocol. */
export type Protocol = "" | typeof JSON_PROTOCOL;

/** WebSocket close codes, by name. */
export const CLOSE = {
  /** The purpose of the connection was fulfilled. */
  Normal: 1000,
  /** The server is shutting down, or the peer missed its pongs. */
  GoingAway: 1001,
  /** The peer broke the protocol. */
  ProtocolError: 1002,
  /** The peer sent a kind of data the endpoint cannot accept. */
  UnsupportedData: 1003,
  /** Reported when the close frame carried no code; never sent. */
  NoStatus: 1005,
  /** Reported when the connection ended without a close frame; never sent. */
  Abnormal: 1006,
  /** A text message was not valid UTF-8. */
  InvalidPayload: 1007,
  /** A policy was broken: slow consumer or rate limit. */
  PolicyViolation: 1008,
  /** A message was larger than `--max-message-size`. */
  MessageTooBig: 1009,
  /** The client expected an extension the server did not offer. */
  MandatoryExtension: 1010,
  /** The server hit an unexpected condition. */
  InternalError: 1011,
  /** The service is restarting. */
  ServiceRestart: 1012,
  /** Try again later. */
  TryAgainLater: 1013,
  /** A gateway got a bad answer upstream. */
  BadGateway: 1014,
} as const;

/** HTTP statuses the server answers with, by name (as std's `STATUS_CODE`). */
export const STATUS = {
  OK: 200,
  SwitchingProtocols: 101,
  Found: 302,
  BadRequest: 400,
  Forbidden: 403,
  NotFound: 404,
  MethodNotAllowed: 405,
  ContentTooLarge: 413,
  UpgradeRequired: 426,
  InternalServerError: 500,
  ServiceUnavailable: 503,
} as const;

/** The HTTP routes, with what each is for: drives `--help`, the 404 hint and the route table's test. */
export const ROUTES: Readonly<Record<string, string>> = Object.freeze({
  "/": "redirects to /client",
  "/client": "the playground page",
  "/ws": "the WebSocket",
  "/echo": "HTTP echo, also /echo/…: the request as JSON, any method",
  "/sse": "server-sent events",
  "/healthz": "liveness and counts (JSON)",
  "/metrics": "Prometheus metrics",
});

/** The default key and channel prefix on a cluster broker (`--broker-prefix`). */
export const BROKER_PREFIX = "wsecho";

/**
 * The Redis client `--broker` loads, pinned. It is not in `deno.json`
 * "imports" (`deno task` would install it before every task, `start`
 * included), and it is imported through a variable, so `deno run` fetches it
 * only when a broker URL is given; `deno compile` embeds it with `--include`.
 */
export const REDIS_CLIENT_PACKAGE = "npm:@redis/client@6.3.1";

/**
 * The HdrHistogram `wsecho bench` records latencies in, pinned, loaded the
 * same way as {@linkcode REDIS_CLIENT_PACKAGE}: only when `bench` runs.
 */
export const HDR_HISTOGRAM_PACKAGE = "npm:hdr-histogram-js@3.0.1";
