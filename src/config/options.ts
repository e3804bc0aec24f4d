/**
 * The option table: one entry per setting drives the command-line parser, the
 * environment lookup, `--help`, the permission list and the validation of
 * `createServer()`'s options alike.
 *
 * @module
 */
import { checkBrokerPrefix, checkBrokerUrl } from "./broker_url.ts";
import { BROKER_PREFIX } from "./constants.ts";
import {
  BROKER_TTL_S,
  IDLE_TIMEOUT_S,
  MAX_BROKER_TTL_S,
  MAX_BUFFERED,
  MAX_CONNECTIONS,
  MAX_CONNECTIONS_PER_IP,
  MAX_DELAYED,
  MAX_EMIT_RATE,
  MAX_MEMBERS_PER_ROOM,
  MAX_MESSAGE_SIZE,
  MAX_ROOMS_PER_CONNECTION,
  RUNTIME_MAX_MESSAGE_SIZE,
} from "./limits.ts";
import { checkIp, checkOrigin } from "./values.ts";

/** The server configuration after parsing and validation. */
export interface Config {
  /** TCP port to listen on; `0` picks a free port. */
  port: number;
  /** Interface to bind. */
  hostname: string;
  /** Seconds without a pong before a peer is dropped; `0` disables pings. */
  idleTimeout: number;
  /** Send a welcome message on open. */
  welcome: boolean;
  /** Log every message (cut to 200 characters). */
  verbose: boolean;
  /** Extra origins (or `*`, or `https://*.example.com` patterns) allowed to upgrade. */
  allowOrigin: string[];
  /** Largest accepted message in bytes; larger ones close the socket with 1009. */
  maxMessageSize: number;
  /** Open connections at most; `0` means no limit. */
  maxConnections: number;
  /** Open connections per client IP at most; `0` means no limit. */
  maxConnectionsPerIp: number;
  /** Count loopback peers against `maxConnectionsPerIp` too. */
  limitLoopback: boolean;
  /** Proxies whose `Forwarded` / `X-Forwarded-For` header names the client. */
  trustedProxy: string[];
  /** Bytes queued to one slow peer before it is closed with 1008. */
  maxBuffered: number;
  /** Messages per second per connection; `0` means no limit. */
  maxMessagesPerSecond: number;
  /** Rooms one `wsecho.v1` connection may be in at once. */
  maxRoomsPerConnection: number;
  /** Members one room may hold at once. */
  maxRoomMembers: number;
  /** PEM certificate (a path on the command line); with `key`, serves https and wss. */
  cert: string;
  /** PEM private key (a path on the command line). */
  key: string;
  /** Serve Prometheus metrics at `/metrics`. */
  metrics: boolean;
  /** `redis://…` or `rediss://…` joining a cluster; `""`: rooms in this process only. */
  broker: string;
  /** Key and channel prefix on the broker, so several clusters can share one Redis. */
  brokerPrefix: string;
  /** Seconds a dead instance's presence outlives its last heartbeat. */
  brokerTtl: number;
  /** Listen with `SO_REUSEPORT` so several processes share the port (Linux only). */
  reusePort: boolean;
  /** The test lab: `/ws` and `/echo` query parameters that make the server misbehave. */
  lab: boolean;
  /** The fastest lab stream (`emit`, the `stream` kind), in messages a second per connection. */
  maxEmitRate: number;
  /** Bytes one connection may have waiting for a lab `delay` before it is closed with 1008. */
  maxDelayed: number;
}

/** How an option's text is read. */
export type OptionKind = "boolean" | "integer" | "size" | "string" | "list";

/** One row of the option table. */
export interface OptionSpec {
  /** The {@linkcode Config} field. */
  readonly key: keyof Config;
  /** The long flag, without `--`. */
  readonly flag: string;
  /** The one-letter flag, without `-`. */
  readonly short?: string;
  /** Environment variables, first one wins. */
  readonly env: readonly string[];
  /** How the text is read. */
  readonly kind: OptionKind;
  /** The default. */
  readonly default: Config[keyof Config];
  /** The smallest number accepted. */
  readonly min?: number;
  /** The largest number accepted. */
  readonly max?: number;
  /** Checks one string or list entry; returns what is wrong with it. */
  readonly check?: (entry: string) => string | undefined;
  /** The value's placeholder in `--help`. */
  readonly value?: string;
  /** One line for `--help`. */
  readonly help: string;
}

/** Every option, in `--help` order. */
export const OPTIONS: readonly OptionSpec[] = Object.freeze(
  [
    {
      key: "port",
      flag: "port",
      short: "p",
      env: ["WSECHO_PORT", "PORT"],
      kind: "integer",
      default: 8080,
      min: 0,
      max: 65535,
      value: "N",
      help: "TCP port to listen on (0 picks a free one)",
    },
    {
      key: "hostname",
      flag: "hostname",
      env: ["WSECHO_HOSTNAME"],
      kind: "string",
      default: "0.0.0.0",
      value: "HOST",
      help: "interface to bind",
    },
    {
      key: "idleTimeout",
      flag: "idle-timeout",
      env: ["WSECHO_IDLE_TIMEOUT"],
      kind: "integer",
      default: IDLE_TIMEOUT_S,
      min: 0,
      max: 86_400,
      value: "SECONDS",
      help: "drop peers that miss a pong for this long (0: off)",
    },
    {
      key: "welcome",
      flag: "welcome",
      env: ["WSECHO_WELCOME"],
      kind: "boolean",
      default: true,
      help: "send a welcome message on open (--no-welcome: pure echo)",
    },
    {
      key: "verbose",
      flag: "verbose",
      short: "v",
      env: ["WSECHO_VERBOSE"],
      kind: "boolean",
      default: false,
      help: "log every message, cut to 200 characters",
    },
    {
      key: "allowOrigin",
      flag: "allow-origin",
      env: ["WSECHO_ALLOW_ORIGIN"],
      kind: "list",
      default: [],
      check: checkOrigin,
      value: "LIST",
      help: "origins allowed besides same-origin and none: comma list, " +
        "patterns like https://*.example.com, or *",
    },
    {
      key: "maxMessageSize",
      flag: "max-message-size",
      env: ["WSECHO_MAX_MESSAGE_SIZE"],
      kind: "size",
      default: MAX_MESSAGE_SIZE,
      min: 1,
      max: RUNTIME_MAX_MESSAGE_SIZE,
      value: "BYTES",
      help: "larger messages close the connection with 1009",
    },
    {
      key: "maxConnections",
      flag: "max-connections",
      env: ["WSECHO_MAX_CONNECTIONS"],
      kind: "integer",
      default: MAX_CONNECTIONS,
      min: 0,
      max: 10_000_000,
      value: "N",
      help: "open connections at most, then 503 (0: no limit)",
    },
    {
      key: "maxConnectionsPerIp",
      flag: "max-connections-per-ip",
      env: ["WSECHO_MAX_CONNECTIONS_PER_IP"],
      kind: "integer",
      default: MAX_CONNECTIONS_PER_IP,
      min: 0,
      max: 10_000_000,
      value: "N",
      help: "open connections per client IP at most, then 503 (0: no limit); " +
        "loopback peers are not counted unless --limit-loopback",
    },
    {
      key: "limitLoopback",
      flag: "limit-loopback",
      env: ["WSECHO_LIMIT_LOOPBACK"],
      kind: "boolean",
      default: false,
      help:
        "count loopback peers (127.0.0.0/8, ::1) against --max-connections-per-ip",
    },
    {
      key: "trustedProxy",
      flag: "trusted-proxy",
      env: ["WSECHO_TRUSTED_PROXY"],
      kind: "list",
      default: [],
      check: checkIp,
      value: "LIST",
      help:
        "proxy addresses whose Forwarded / X-Forwarded-For header names the " +
        "client, for the per-IP limit and the log (comma list)",
    },
    {
      key: "maxBuffered",
      flag: "max-buffered",
      env: ["WSECHO_MAX_BUFFERED"],
      kind: "size",
      default: MAX_BUFFERED,
      min: 1,
      max: 1024 * 1024 * 1024,
      value: "BYTES",
      help: "bytes queued to a slow peer before it is closed with 1008",
    },
    {
      key: "maxMessagesPerSecond",
      flag: "max-messages-per-second",
      env: ["WSECHO_MAX_MESSAGES_PER_SECOND"],
      kind: "integer",
      default: 0,
      min: 0,
      max: 10_000_000,
      value: "N",
      help: "per-connection message rate, then errors and 1008 (0: no limit)",
    },
    {
      key: "maxRoomsPerConnection",
      flag: "max-rooms-per-connection",
      env: ["WSECHO_MAX_ROOMS_PER_CONNECTION"],
      kind: "integer",
      default: MAX_ROOMS_PER_CONNECTION,
      min: 1,
      max: 100_000,
      value: "N",
      help: "rooms one wsecho.v1 connection may join, then too_many_rooms",
    },
    {
      key: "maxRoomMembers",
      flag: "max-room-members",
      env: ["WSECHO_MAX_ROOM_MEMBERS"],
      kind: "integer",
      default: MAX_MEMBERS_PER_ROOM,
      min: 1,
      max: 10_000_000,
      value: "N",
      help: "members one room may hold, then room_full",
    },
    {
      key: "cert",
      flag: "cert",
      env: ["WSECHO_CERT"],
      kind: "string",
      default: "",
      value: "PEM|FILE",
      help: "TLS certificate chain (PEM text or a file path); needs --key",
    },
    {
      key: "key",
      flag: "key",
      env: ["WSECHO_KEY"],
      kind: "string",
      default: "",
      value: "PEM|FILE",
      help: "TLS private key (PEM text or a file path); needs --cert",
    },
    {
      key: "metrics",
      flag: "metrics",
      env: ["WSECHO_METRICS"],
      kind: "boolean",
      default: true,
      help: "serve Prometheus metrics at /metrics (--no-metrics: off)",
    },
    {
      key: "broker",
      flag: "broker",
      env: ["WSECHO_BROKER"],
      kind: "string",
      default: "",
      check: checkBrokerUrl,
      value: "URL",
      help:
        "join a cluster: redis://[user:password@]host[:port][/db] or rediss://…",
    },
    {
      key: "brokerPrefix",
      flag: "broker-prefix",
      env: ["WSECHO_BROKER_PREFIX"],
      kind: "string",
      default: BROKER_PREFIX,
      check: checkBrokerPrefix,
      value: "PREFIX",
      help: "key and channel prefix on the broker (one per cluster)",
    },
    {
      key: "brokerTtl",
      flag: "broker-ttl",
      env: ["WSECHO_BROKER_TTL"],
      kind: "integer",
      default: BROKER_TTL_S,
      min: 1,
      max: MAX_BROKER_TTL_S,
      value: "SECONDS",
      help:
        "a dead instance's members vanish within 4/3 of this after its last heartbeat",
    },
    {
      key: "reusePort",
      flag: "reuse-port",
      env: ["WSECHO_REUSE_PORT"],
      kind: "boolean",
      default: false,
      help:
        "share the port with other wsecho processes (SO_REUSEPORT; Linux only, needs --unstable-net)",
    },
    {
      key: "lab",
      flag: "lab",
      env: ["WSECHO_LAB"],
      kind: "boolean",
      default: true,
      help: "the test lab's query parameters and kinds (--no-lab: refused)",
    },
    {
      key: "maxEmitRate",
      flag: "max-emit-rate",
      env: ["WSECHO_MAX_EMIT_RATE"],
      kind: "integer",
      default: MAX_EMIT_RATE,
      min: 1,
      max: 1_000_000,
      value: "N",
      help: "fastest lab stream, in messages a second per connection",
    },
    {
      key: "maxDelayed",
      flag: "max-delayed",
      env: ["WSECHO_MAX_DELAYED"],
      kind: "size",
      default: MAX_DELAYED,
      min: 1,
      max: 1024 * 1024 * 1024,
      value: "BYTES",
      help: "bytes held for a lab delay per connection, then closed with 1008",
    },
  ] satisfies OptionSpec[],
);

/** Defaults for every option, from the table. */
export const DEFAULT_CONFIG: Readonly<Config> = Object.freeze(
  Object.fromEntries(
    OPTIONS.map((o) => [o.key, o.default]),
  ) as unknown as Config,
);

/** Every environment variable the server may read, for `--allow-env`. */
export const ENV_VARS: readonly string[] = Object.freeze(
  OPTIONS.flatMap((o) => o.env),
);

/**
 * Describes the values an option accepts, for error messages.
 *
 * @param option The option.
 * @returns Such as `0 to 65535`, `true or false` or `a list`.
 */
export function acceptedRange(option: OptionSpec): string {
  switch (option.kind) {
    case "boolean":
      return "true or false";
    case "string":
      return "a string";
    case "list":
      return "a list of strings";
    default:
      return `${option.min ?? 0} to ${option.max ?? Number.MAX_SAFE_INTEGER}`;
  }
}
