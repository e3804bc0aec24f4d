/**
 * WebSocket close codes in words (RFC 6455 section 7.4 and the IANA
 * registry), for the client commands' reports.
 *
 * @module
 */

/** Close code a client reports when the connection ended without a close frame. */
export const ABNORMAL_CLOSURE = 1006;

const MEANINGS: Readonly<Record<number, string>> = {
  1000: "normal closure",
  1001: "going away",
  1002: "protocol error",
  1003: "unsupported data",
  1004: "reserved",
  1005: "no status code in the close frame",
  1006: "abnormal closure: the connection dropped without a close frame",
  1007: "invalid payload data",
  1008: "policy violation",
  1009: "message too big",
  1010: "mandatory extension missing",
  1011: "internal error",
  1012: "service restart",
  1013: "try again later",
  1014: "bad gateway",
  1015: "TLS handshake failure",
};

/**
 * Maps the code a `close` event carries to the code that was meant. Deno
 * 2.9.6's client reports a dropped connection as `0`; RFC 6455 calls that
 * 1006.
 *
 * @param code The `CloseEvent.code`.
 * @returns The code, with `0` turned into {@linkcode ABNORMAL_CLOSURE}.
 */
export function normalizeCloseCode(code: number): number {
  return code === 0 ? ABNORMAL_CLOSURE : code;
}

/**
 * Says what a close code means.
 *
 * @param code A close code; `0` is read as 1006.
 * @returns A few words, such as `"internal error"`.
 *
 * @example Usage
 * ```ts
 * import { closeCodeMeaning } from "./close_codes.ts";
 * closeCodeMeaning(4000); // "application-defined (4000-4999, private use)"
 * ```
 */
export function closeCodeMeaning(code: number): string {
  const known = MEANINGS[normalizeCloseCode(code)];
  if (known !== undefined) return known;
  if (code >= 1016 && code <= 2999) {
    return "reserved for the WebSocket standard";
  }
  if (code >= 3000 && code <= 3999) {
    return "registered for libraries and frameworks (3000-3999, IANA)";
  }
  if (code >= 4000 && code <= 4999) {
    return "application-defined (4000-4999, private use)";
  }
  return "not a valid close code";
}

/**
 * Whether a client may send this code in a close frame (what
 * `WebSocket.close()` accepts: 1000 or 3000-4999).
 *
 * @param code The code.
 * @returns `true` when it may be sent.
 */
export function isSendableCloseCode(code: number): boolean {
  return code === 1000 || (code >= 3000 && code <= 4999);
}
