/**
 * Subprotocol negotiation (RFC 6455 section 4.2.2): the first protocol the
 * client offers that the server supports wins.
 *
 * @module
 */

/**
 * Picks the subprotocol to answer with.
 *
 * @param offered The `Sec-WebSocket-Protocol` request header, if any.
 * @param supported The protocols the server speaks.
 * @returns The chosen protocol, or `""` for none.
 *
 * @example Usage
 * ```ts
 * import { selectProtocol } from "./subprotocol.ts";
 * selectProtocol("chat, wsecho.v1", ["wsecho.v1"]); // "wsecho.v1"
 * ```
 */
export function selectProtocol(
  offered: string | null,
  supported: readonly string[],
): string {
  if (offered === null) return "";
  for (const token of offered.split(",")) {
    const name = token.trim();
    if (supported.includes(name)) return name;
  }
  return "";
}
