/**
 * Parsers for option values written as text (flags, environment variables,
 * query parameters): booleans, byte sizes, origins and IP addresses.
 *
 * @module
 */

const MiB = 1024 * 1024;

/** Words read as `true`. */
export const TRUE_WORDS: readonly string[] = ["1", "true", "yes", "on"];
/** Words read as `false`. */
export const FALSE_WORDS: readonly string[] = ["0", "false", "no", "off"];

/**
 * Reads a boolean word, case-insensitively.
 *
 * @param text The word.
 * @returns The boolean, or `undefined` when the word is not one of
 * {@linkcode TRUE_WORDS} or {@linkcode FALSE_WORDS}.
 */
export function parseBoolean(text: string): boolean | undefined {
  const value = text.trim().toLowerCase();
  if (TRUE_WORDS.includes(value)) return true;
  if (FALSE_WORDS.includes(value)) return false;
  return undefined;
}

/** The accepted boolean words, for error messages. */
export const BOOLEAN_WORDS_TEXT = `one of ${
  [...TRUE_WORDS, ...FALSE_WORDS].join(", ")
}`;

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

/**
 * Writes a byte size the way {@linkcode parseSize} reads it.
 *
 * @param bytes The size.
 * @returns Such as `16MiB`, `64KiB` or `100`.
 */
export function formatSize(bytes: number): string {
  if (bytes !== 0 && bytes % MiB === 0) return `${bytes / MiB}MiB`;
  if (bytes !== 0 && bytes % 1024 === 0) return `${bytes / 1024}KiB`;
  return String(bytes);
}

/**
 * Checks one `--allow-origin` entry: `*`, or a scheme and host with an
 * optional port and nothing else (an origin never has a path), where the host
 * may start with `*.` for any subdomain.
 *
 * @param entry The entry.
 * @returns What is wrong with it, or `undefined` when it is usable.
 */
export function checkOrigin(entry: string): string | undefined {
  if (entry === "*") return undefined;
  const match = /^([a-z][a-z0-9+.-]*):\/\/(\*\.)?([^/?#]+)$/i.exec(entry);
  if (match === null) {
    return `"${entry}" is not an origin such as https://example.com or https://*.example.com`;
  }
  try {
    const url = new URL(`${match[1]}://${match[3]}`);
    if (url.username !== "" || url.password !== "") throw new TypeError();
  } catch {
    return `"${entry}" is not an origin such as https://example.com or https://*.example.com`;
  }
  return undefined;
}

/**
 * Checks one IP address (v4 dotted quad or v6), as written in `--trusted-proxy`.
 *
 * @param entry The address.
 * @returns What is wrong with it, or `undefined` when it is an address.
 */
export function checkIp(entry: string): string | undefined {
  if (isIpv4(entry)) return undefined;
  if (entry.includes(":")) {
    try {
      new URL(`http://[${entry}]/`);
      return undefined;
    } catch {
      // not an IPv6 address
    }
  }
  return `"${entry}" is not an IP address`;
}

function isIpv4(text: string): boolean {
  const parts = text.split(".");
  return parts.length === 4 &&
    parts.every((part) => /^\d{1,3}$/.test(part) && Number(part) <= 255);
}
