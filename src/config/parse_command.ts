/**
 * The server's command line: flags, then environment variables, then
 * defaults, read through the option table; and the `--help` text.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { ROUTES } from "./constants.ts";
import {
  type Config,
  DEFAULT_CONFIG,
  OPTIONS,
  type OptionSpec,
} from "./options.ts";
import { checkValue } from "./validate_config.ts";
import {
  BOOLEAN_WORDS_TEXT,
  formatSize,
  parseBoolean,
  parseSize,
} from "./values.ts";
import { NAME, VERSION } from "./version.ts";

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

/**
 * Parses command-line arguments and environment variables into a command.
 *
 * @param args The arguments after the program name.
 * @param getEnv Looks up one environment variable; only `ENV_VARS` are asked for.
 * @returns What to do: serve with a config, or print help or the version.
 * @throws {UsageError} For an unknown flag or a value out of range.
 *
 * @example Usage
 * ```ts
 * import { parseCommand } from "./parse_command.ts";
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
    if (error instanceof UsageError) throw error;
    throw new UsageError(cleanParseError(error), { cause: error });
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  if (values.help === true) return { kind: "help" };
  if (values.version === true) return { kind: "version" };

  const config = { ...DEFAULT_CONFIG } as Record<string, unknown>;
  for (const option of OPTIONS) {
    const flagValue = values[option.flag];
    if (flagValue !== undefined) {
      config[option.key] = readValue(option, flagValue, `--${option.flag}`);
      continue;
    }
    for (const name of option.env) {
      const envValue = getEnv(name);
      if (envValue === undefined || envValue === "") continue;
      config[option.key] = readValue(option, envValue, name);
      break;
    }
  }
  if ((config.cert === "") !== (config.key === "")) {
    throw new UsageError("--cert and --key must be given together");
  }
  return { kind: "serve", config: config as unknown as Config };
}

/** Renders the `--help` text from the option table. */
export function helpText(): string {
  const rows = OPTIONS.map((o) => {
    const short = o.short === undefined ? "    " : `-${o.short}, `;
    const flag = `${short}--${o.flag}${
      o.value === undefined ? "" : ` ${o.value}`
    }`;
    const fallback = o.default;
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
    "Booleans take --flag, --no-flag or --flag=VALUE with VALUE " +
    `${BOOLEAN_WORDS_TEXT}.`,
    "",
    "Routes:",
    ...Object.entries(ROUTES).map(([path, about]) =>
      `  ${path.padEnd(38)}${about}`
    ),
  ].join("\n");
}

/** Reads one option's text, from a flag or a variable, and checks it. */
function readValue(
  option: OptionSpec,
  raw: string | boolean,
  source: string,
): unknown {
  if (typeof raw === "boolean") return raw;
  let value: unknown;
  switch (option.kind) {
    case "boolean":
      value = parseBoolean(raw);
      if (value === undefined) {
        throw new UsageError(
          `Invalid value for ${source}: "${raw}" is not ${BOOLEAN_WORDS_TEXT}`,
        );
      }
      return value;
    case "string":
      value = raw;
      break;
    case "list":
      value = raw.split(",").map((s) => s.trim()).filter((s) => s !== "");
      break;
    default:
      value = option.kind === "size"
        ? parseSize(raw)
        : /^\d+$/.test(raw.trim())
        ? Number(raw)
        : NaN;
      if (!Number.isSafeInteger(value)) {
        throw new UsageError(
          `Invalid value for ${source}: "${raw}" is not a ${
            option.kind === "size" ? "size" : "whole number"
          }`,
        );
      }
  }
  const problem = checkValue(option, value);
  if (problem !== undefined) {
    const detail = option.kind === "integer" || option.kind === "size"
      ? `"${raw}" is out of range (${option.min ?? 0} to ${option.max})`
      : problem;
    throw new UsageError(`Invalid value for ${source}: ${detail}`);
  }
  return value;
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
    const value = parseBoolean(match[2]!);
    if (value === undefined) {
      throw new UsageError(
        `Invalid value for --${match[1]}: "${
          match[2]
        }" is not ${BOOLEAN_WORDS_TEXT}`,
      );
    }
    out.push(value ? `--${match[1]}` : `--no-${match[1]}`);
  }
  return out;
}

function cleanParseError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // node:util appends advice about "--" and positionals that does not apply here.
  const first = message.split(/\.\s|\n/)[0]!.replace(/\.$/, "");
  return `${first}; see --help`;
}
