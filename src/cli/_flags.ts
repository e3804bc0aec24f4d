/**
 * Flag parsing shared by the client subcommands (`wsecho connect`,
 * `wsecho bench`): `node:util` `parseArgs` with strict checking, values that
 * may start with a dash, and one-line errors.
 *
 * @module
 */
import { parseArgs } from "node:util";

/** Thrown for a bad flag or flag value; the subcommand prints it and exits 2. */
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

/** One flag of a subcommand. */
export interface FlagSpec {
  /** Long name without the dashes. */
  name: string;
  /** One-letter name, if any. */
  short?: string;
  /** `true` for an on/off flag without a value. */
  boolean?: boolean;
  /** May be given more than once (values collected in order). */
  multiple?: boolean;
}

/** The parsed command line of a subcommand. */
export interface ParsedFlags {
  /** Values by long name: `true` for a boolean, a string, or strings when repeatable. */
  values: Record<string, string | boolean | string[] | undefined>;
  /** Arguments that are not flags. */
  positionals: string[];
}

/**
 * Parses a subcommand's arguments.
 *
 * @param command The subcommand's name, for messages (`"wsecho connect"`).
 * @param args The arguments after the subcommand's name.
 * @param specs The flags it knows.
 * @returns Values and positionals.
 * @throws {UsageError} For an unknown flag or a missing value.
 */
export function parseFlags(
  command: string,
  args: readonly string[],
  specs: readonly FlagSpec[],
): ParsedFlags {
  try {
    const { values, positionals } = parseArgs({
      args: joinValues(args, specs),
      options: Object.fromEntries(specs.map((spec) => [spec.name, {
        type: spec.boolean ? "boolean" as const : "string" as const,
        ...(spec.short === undefined ? {} : { short: spec.short }),
        ...(spec.multiple ? { multiple: true } : {}),
      }])),
      allowPositionals: true,
      strict: true,
    });
    return {
      values: values as ParsedFlags["values"],
      positionals,
    };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // node:util appends advice about "--" that does not help here.
    const first = message.split(/\.\s|\n/)[0]!.replace(/\.$/, "");
    throw new UsageError(`${command}: ${first}; see ${command} --help`, {
      cause: error,
    });
  }
}

/**
 * Turns `--flag value` into `--flag=value` for flags that take a value, so a
 * value starting with a dash (`--send -1`) is read as a value.
 */
function joinValues(
  args: readonly string[],
  specs: readonly FlagSpec[],
): string[] {
  const valued = new Map<string, string>();
  for (const spec of specs) {
    if (spec.boolean) continue;
    valued.set(`--${spec.name}`, spec.name);
    if (spec.short !== undefined) valued.set(`-${spec.short}`, spec.name);
  }
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") {
      out.push(...args.slice(i));
      break;
    }
    const name = valued.get(arg);
    if (name !== undefined && i + 1 < args.length) {
      out.push(`--${name}=${args[++i]}`);
    } else out.push(arg);
  }
  return out;
}

/**
 * Reads a whole number flag.
 *
 * @param command The subcommand's name, for messages.
 * @param flag The flag as written (`"--count"`).
 * @param raw Its value, if given.
 * @param fallback The default.
 * @param min Smallest accepted.
 * @param max Largest accepted.
 * @returns The number.
 * @throws {UsageError} When it is not a whole number in range.
 */
export function readInteger(
  command: string,
  flag: string,
  raw: unknown,
  fallback: number,
  min: number,
  max: number,
): number {
  if (raw === undefined) return fallback;
  const text = String(raw).trim();
  const value = /^\d+$/.test(text) ? Number(text) : NaN;
  return checkRange(command, flag, text, value, min, max, "whole number");
}

/**
 * Reads a decimal number flag (seconds, rates).
 *
 * @param command The subcommand's name, for messages.
 * @param flag The flag as written (`"--duration"`).
 * @param raw Its value, if given.
 * @param fallback The default.
 * @param min Smallest accepted.
 * @param max Largest accepted.
 * @returns The number.
 * @throws {UsageError} When it is not a number in range.
 */
export function readNumber(
  command: string,
  flag: string,
  raw: unknown,
  fallback: number,
  min: number,
  max: number,
): number {
  if (raw === undefined) return fallback;
  const text = String(raw).trim();
  const value = /^\d+(\.\d+)?$/.test(text) ? Number(text) : NaN;
  return checkRange(command, flag, text, value, min, max, "number");
}

/**
 * Reads a byte size: a count or one with a `KiB`/`MiB` suffix.
 *
 * @param command The subcommand's name, for messages.
 * @param flag The flag as written (`"--size"`).
 * @param raw Its value, if given.
 * @param fallback The default.
 * @param min Smallest accepted.
 * @param max Largest accepted.
 * @returns The size in bytes.
 * @throws {UsageError} When it is not a size in range.
 */
export function readSize(
  command: string,
  flag: string,
  raw: unknown,
  fallback: number,
  min: number,
  max: number,
): number {
  if (raw === undefined) return fallback;
  const text = String(raw).trim();
  const match = /^(\d+)\s*(B|KiB|MiB|K|M)?$/i.exec(text);
  const unit = (match?.[2] ?? "B").toUpperCase()[0];
  const scale = unit === "K" ? 1024 : unit === "M" ? 1024 * 1024 : 1;
  const value = match ? Number(match[1]) * scale : NaN;
  return checkRange(command, flag, text, value, min, max, "size");
}

function checkRange(
  command: string,
  flag: string,
  text: string,
  value: number,
  min: number,
  max: number,
  what: string,
): number {
  if (!Number.isFinite(value)) {
    throw new UsageError(
      `${command}: invalid value for ${flag}: "${text}" is not a ${what}`,
    );
  }
  if (value < min || value > max) {
    throw new UsageError(
      `${command}: invalid value for ${flag}: "${text}" is out of range (${min} to ${max})`,
    );
  }
  return value;
}

/**
 * Reads repeated `-H "Name: value"` flags (and `--origin`) into headers.
 *
 * @param command The subcommand's name, for messages.
 * @param raw The `-H` values.
 * @param origin The `--origin` value, if given.
 * @returns The headers.
 * @throws {UsageError} For a header without a name and a colon.
 */
export function readHeaders(
  command: string,
  raw: unknown,
  origin: unknown,
): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of (raw as string[] | undefined) ?? []) {
    const match = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):\s*(.*)$/.exec(line);
    if (match === null) {
      throw new UsageError(
        `${command}: invalid value for -H: "${line}" is not "Name: value"`,
      );
    }
    headers[match[1]!] = match[2]!;
  }
  if (typeof origin === "string") headers["Origin"] = origin;
  return headers;
}

/**
 * Reads the one URL argument.
 *
 * @param command The subcommand's name, for messages.
 * @param positionals The arguments that are not flags.
 * @returns The URL, with `http(s):` turned into `ws(s):`.
 * @throws {UsageError} Without exactly one `ws:`/`wss:`/`http:`/`https:` URL.
 */
export function readUrl(command: string, positionals: string[]): string {
  if (positionals.length !== 1) {
    throw new UsageError(
      positionals.length === 0
        ? `${command}: missing URL; see ${command} --help`
        : `${command}: one URL only, got ${positionals.length} arguments: ${
          positionals.map((p) => `"${p}"`).join(" ")
        }`,
    );
  }
  const text = positionals[0]!;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`${command}: "${text}" is not a URL`);
  }
  if (url.protocol === "http:") url.protocol = "ws:";
  else if (url.protocol === "https:") url.protocol = "wss:";
  if (url.protocol !== "ws:" && url.protocol !== "wss:") {
    throw new UsageError(
      `${command}: "${text}" is not a ws:// or wss:// URL`,
    );
  }
  return url.href;
}
