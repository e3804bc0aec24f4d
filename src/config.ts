/**
 * Command-line and environment configuration: one table of options drives the
 * parser, the environment lookup, validation and the `--help` text.
 *
 * Precedence is flag, then environment variable, then default.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { NAME, VERSION } from "./version.ts";
import {
  DEFAULT_MAX_DELAYED,
  DEFAULT_MAX_EMIT_RATE,
  MAX_MEMBERS_PER_ROOM,
  MAX_ROOMS_PER_CONNECTION,
} from "./limits.ts";

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
  /** Bytes queued to one slow peer before it is closed with 1008. */
  maxBuffered: number;
  /** Messages per second per connection; `0` means no limit. */
  maxMessagesPerSecond: number;
  /** Rooms one `wsecho.v1` connection may be in at once. */
  maxRoomsPerConnection: number;
  /** Members one room may hold at once. */
  maxRoomMembers: number;
  /** PEM certificate, or a path to one; with `key`, serves https and wss. */
  cert: string;
  /** PEM private key, or a path to one. */
  key: string;
  /** Serve Prometheus metrics at `/metrics`. */
  metrics: boolean;
  /** The test lab: `/ws` and `/echo` query parameters that make the server misbehave. */
  lab: boolean;
  /** The fastest lab stream (`emit`, the `stream` kind), in messages a second per connection. */
  maxEmitRate: number;
  /** Bytes one connection may have waiting for `delay` before it is closed with 1008. */
  maxDelayed: number;
}

/** What the command line asked for: run a server, or print help or the version. */
export type Command =
  | { kind: "serve"; config: Config }
  | { kind: "help" }
  | { kind: "version" };

/** Thrown for a bad flag, flag value or environment value; the CLI exits 2. */
export class UsageError extends Error {
  /**
   * Creates a usage error.
   *
   * @param message One line that says what is wrong.
   * @param options The usual error options.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "UsageError";
  }
}

type Kind = "boolean" | "integer" | "size" | "string" | "list";

interface OptionSpec {
  key: keyof Config;
  flag: string;
  short?: string;
  env: readonly string[];
  kind: Kind;
  min?: number;
  max?: number;
  value?: string;
  help: string;
}

const MiB = 1024 * 1024;

/**
 * The largest message Deno's WebSocket accepts: from 64 MiB on it drops the
 * TCP connection without a close frame, so our own limit must stay below.
 */
export const RUNTIME_MAX_MESSAGE_SIZE = 64 * MiB - 1;

/** Defaults for every option. */
export const DEFAULT_CONFIG: Readonly<Config> = Object.freeze({
  port: 8080,
  hostname: "0.0.0.0",
  idleTimeout: 30,
  welcome: true,
  verbose: false,
  allowOrigin: [],
  maxMessageSize: 16 * MiB,
  maxConnections: 10_000,
  maxConnectionsPerIp: 256,
  maxBuffered: 4 * MiB,
  maxMessagesPerSecond: 0,
  maxRoomsPerConnection: MAX_ROOMS_PER_CONNECTION,
  maxRoomMembers: MAX_MEMBERS_PER_ROOM,
  cert: "",
  key: "",
  metrics: true,
  lab: true,
  maxEmitRate: DEFAULT_MAX_EMIT_RATE,
  maxDelayed: DEFAULT_MAX_DELAYED,
});

const OPTIONS: readonly OptionSpec[] = [
  {
    key: "port",
    flag: "port",
    short: "p",
    env: ["WSECHO_PORT", "PORT"],
    kind: "integer",
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
    value: "HOST",
    help: "interface to bind",
  },
  {
    key: "idleTimeout",
    flag: "idle-timeout",
    env: ["WSECHO_IDLE_TIMEOUT"],
    kind: "integer",
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
    help: "send a welcome message on open (--no-welcome: pure echo)",
  },
  {
    key: "verbose",
    flag: "verbose",
    short: "v",
    env: ["WSECHO_VERBOSE"],
    kind: "boolean",
    help: "log every message, cut to 200 characters",
  },
  {
    key: "allowOrigin",
    flag: "allow-origin",
    env: ["WSECHO_ALLOW_ORIGIN"],
    kind: "list",
    value: "LIST",
    help: "origins allowed besides same-origin and none: comma list, " +
      "patterns like https://*.example.com, or *",
  },
  {
    key: "maxMessageSize",
    flag: "max-message-size",
    env: ["WSECHO_MAX_MESSAGE_SIZE"],
    kind: "size",
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
    min: 0,
    max: 10_000_000,
    value: "N",
    help: "open connections per client IP at most, then 503 (0: no limit)",
  },
  {
    key: "maxBuffered",
    flag: "max-buffered",
    env: ["WSECHO_MAX_BUFFERED"],
    kind: "size",
    min: 1,
    max: 1024 * MiB,
    value: "BYTES",
    help: "bytes queued to a slow peer before it is closed with 1008",
  },
  {
    key: "maxMessagesPerSecond",
    flag: "max-messages-per-second",
    env: ["WSECHO_MAX_MESSAGES_PER_SECOND"],
    kind: "integer",
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
    value: "PEM|FILE",
    help: "TLS certificate chain (PEM text or a file path); needs --key",
  },
  {
    key: "key",
    flag: "key",
    env: ["WSECHO_KEY"],
    kind: "string",
    value: "PEM|FILE",
    help: "TLS private key (PEM text or a file path); needs --cert",
  },
  {
    key: "metrics",
    flag: "metrics",
    env: ["WSECHO_METRICS"],
    kind: "boolean",
    help: "serve Prometheus metrics at /metrics (--no-metrics: off)",
  },
  {
    key: "lab",
    flag: "lab",
    env: ["WSECHO_LAB"],
    kind: "boolean",
    help: "the test lab's query parameters (--no-lab: refused with 403)",
  },
  {
    key: "maxEmitRate",
    flag: "max-emit-rate",
    env: ["WSECHO_MAX_EMIT_RATE"],
    kind: "integer",
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
    min: 1,
    max: 1024 * MiB,
    value: "BYTES",
    help: "bytes held for a lab delay per connection, then closed with 1008",
  },
];

/** Every environment variable the server may read, for `--allow-env`. */
export const ENV_VARS: readonly string[] = OPTIONS.flatMap((o) => o.env);

/**
 * Parses command-line arguments and environment variables into a command.
 *
 * @param args The arguments after the program name.
 * @param getEnv Looks up one environment variable; only {@linkcode ENV_VARS} are asked for.
 * @returns What to do: serve with a config, or print help or the version.
 * @throws {UsageError} For an unknown flag or a value out of range.
 *
 * @example Usage
 * ```ts
 * import { parseCommand } from "./config.ts";
 * const command = parseCommand(["--port", "9000"], () => undefined);
 * ```
 */
export function parseCommand(
  args: readonly string[],
  getEnv: (name: string) => string | undefined,
): Command {
  let parsed;
  try {
    parsed = parseArgs({
      args: normalizeArgs(args),
      options: {
        help: { type: "boolean", short: "h" },
        version: { type: "boolean", short: "V" },
        ...Object.fromEntries(OPTIONS.map((o) => [o.flag, {
          type: o.kind === "boolean" ? "boolean" as const : "string" as const,
          ...(o.short === undefined ? {} : { short: o.short }),
        }])),
      },
      allowNegative: true,
      allowPositionals: false,
      strict: true,
    });
  } catch (error) {
    throw new UsageError(cleanParseError(error), { cause: error });
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  if (values.help === true) return { kind: "help" };
  if (values.version === true) return { kind: "version" };

  const config: Config = { ...DEFAULT_CONFIG, allowOrigin: [] };
  for (const option of OPTIONS) {
    const flagValue = values[option.flag];
    if (flagValue !== undefined) {
      assign(config, option, flagValue, `--${option.flag}`);
      continue;
    }
    for (const name of option.env) {
      const envValue = getEnv(name);
      if (envValue === undefined || envValue === "") continue;
      assign(config, option, envValue, name);
      break;
    }
  }
  if ((config.cert === "") !== (config.key === "")) {
    throw new UsageError("--cert and --key must be given together");
  }
  return { kind: "serve", config };
}

/** Renders the `--help` text from the option table. */
export function helpText(): string {
  const rows = OPTIONS.map((o) => {
    const short = o.short === undefined ? "    " : `-${o.short}, `;
    const flag = `${short}--${o.flag}${
      o.value === undefined ? "" : ` ${o.value}`
    }`;
    const fallback = DEFAULT_CONFIG[o.key];
    const shown = Array.isArray(fallback) || fallback === ""
      ? "none"
      : o.kind === "size"
      ? formatSize(Number(fallback))
      : String(fallback);
    return `  ${flag.padEnd(38)}${o.help}\n${" ".repeat(40)}[${
      o.env.join(", ")
    }; default: ${shown}]`;
  });
  return [
    `${NAME} ${VERSION}: a WebSocket echo server with a JSON message router`,
    "",
    `Usage: ${NAME} [options]`,
    "",
    "Options (flag beats environment beats default):",
    ...rows,
    `  ${"-h, --help".padEnd(38)}print this help and exit`,
    `  ${"-V, --version".padEnd(38)}print the version and exit`,
    "",
    "Sizes take a plain byte count or a KiB/MiB suffix, such as 16MiB.",
    "Routes: /client (playground), /ws (WebSocket), /echo (HTTP echo), /sse (server-sent events), /healthz, /metrics.",
  ].join("\n");
}

/**
 * Parses a byte size such as `1048576`, `512KiB` or `16MiB`.
 *
 * @param text The size to parse.
 * @returns The size in bytes, or `NaN` when the text is not a size.
 */
export function parseSize(text: string): number {
  const match = /^(\d+)\s*(B|KiB|MiB|GiB|K|M|G)?$/i.exec(text.trim());
  if (match === null) return NaN;
  const unit = (match[2] ?? "B").toUpperCase()[0];
  const scale = unit === "K"
    ? 1024
    : unit === "M"
    ? MiB
    : unit === "G"
    ? 1024 * MiB
    : 1;
  return Number(match[1]) * scale;
}

function formatSize(bytes: number): string {
  if (bytes % MiB === 0) return `${bytes / MiB}MiB`;
  if (bytes % 1024 === 0) return `${bytes / 1024}KiB`;
  return String(bytes);
}

function assign(
  config: Config,
  option: OptionSpec,
  raw: string | boolean,
  source: string,
): void {
  const target = config as unknown as Record<string, unknown>;
  switch (option.kind) {
    case "boolean":
      target[option.key] = typeof raw === "boolean"
        ? raw
        : parseBoolean(raw, source);
      return;
    case "string":
      target[option.key] = String(raw);
      return;
    case "list":
      target[option.key] = String(raw).split(",").map((s) => s.trim()).filter((
        s,
      ) => s !== "");
      return;
    case "integer":
    case "size": {
      const text = String(raw);
      const value = option.kind === "size"
        ? parseSize(text)
        : /^\d+$/.test(text.trim())
        ? Number(text)
        : NaN;
      if (!Number.isSafeInteger(value)) {
        throw new UsageError(
          `Invalid value for ${source}: "${text}" is not a ${
            option.kind === "size" ? "size" : "whole number"
          }`,
        );
      }
      const { min = 0, max = Number.MAX_SAFE_INTEGER } = option;
      if (value < min || value > max) {
        throw new UsageError(
          `Invalid value for ${source}: "${text}" is out of range (${min} to ${max})`,
        );
      }
      target[option.key] = value;
    }
  }
}

function parseBoolean(text: string, source: string): boolean {
  const value = text.trim().toLowerCase();
  if (["1", "true", "yes", "on"].includes(value)) return true;
  if (["0", "false", "no", "off"].includes(value)) return false;
  throw new UsageError(
    `Invalid value for ${source}: "${text}" is not true or false`,
  );
}

/**
 * Rewrites what `parseArgs` cannot read: `--flag=false` for boolean options
 * becomes `--no-flag`, and a value option followed by its value becomes
 * `--flag=value`, so that values starting with "-" (PEM text, "-1") reach
 * validation instead of being refused as ambiguous.
 */
function normalizeArgs(args: readonly string[]): string[] {
  const booleans = new Set(
    OPTIONS.filter((o) => o.kind === "boolean").map((o) => o.flag),
  );
  const valued = new Map(
    OPTIONS.filter((o) => o.kind !== "boolean").flatMap((o) =>
      o.short === undefined
        ? [[`--${o.flag}`, o.flag]]
        : [[`--${o.flag}`, o.flag], [`-${o.short}`, o.flag]]
    ),
  );
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const flag = valued.get(arg);
    if (flag !== undefined && i + 1 < args.length) {
      out.push(`--${flag}=${args[++i]}`);
      continue;
    }
    const match = /^--([a-z-]+)=(.*)$/s.exec(arg);
    if (match === null || !booleans.has(match[1]!)) {
      out.push(arg);
      continue;
    }
    out.push(
      parseBoolean(match[2]!, `--${match[1]}`)
        ? `--${match[1]}`
        : `--no-${match[1]}`,
    );
  }
  return out;
}

function cleanParseError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // node:util appends advice about "--" and positionals that does not apply here.
  const first = message.split(/\.\s|\n/)[0]!.replace(/\.$/, "");
  return `${first}; see --help`;
}
