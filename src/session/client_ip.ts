/**
 * Who the client is: the peer's address, or, when the peer is a trusted
 * proxy, the address its `Forwarded` or `X-Forwarded-For` header names.
 *
 * @module
 */

/**
 * Finds the client's address.
 *
 * Proxies append the address they received from, so the header is read from
 * the right: the first address that is not itself a trusted proxy is the
 * client. Anything a client wrote further left is ignored, because a client
 * can put any text there.
 *
 * @param peer The TCP peer's address.
 * @param headers The request headers.
 * @param trusted The trusted proxies' addresses.
 * @returns The client's address.
 *
 * @example Usage
 * ```ts
 * import { clientIp } from "./client_ip.ts";
 * const headers = new Headers({ "x-forwarded-for": "203.0.113.7" });
 * clientIp("127.0.0.1", headers, new Set(["127.0.0.1"])); // "203.0.113.7"
 * ```
 */
export function clientIp(
  peer: string,
  headers: Headers,
  trusted: ReadonlySet<string>,
): string {
  if (!trusted.has(peer)) return peer;
  const forwarded = headers.get("forwarded");
  const hops = forwarded !== null
    ? forwardedFor(forwarded)
    : (headers.get("x-forwarded-for") ?? "").split(",").map((hop) =>
      hop.trim()
    );
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!;
    if (hop === "") continue;
    if (!trusted.has(hop)) return hop;
  }
  return peer;
}

/**
 * Tells loopback addresses (127.0.0.0/8, ::1, and IPv4-mapped loopback).
 *
 * @param ip The address.
 * @returns `true` for a loopback address.
 */
export function isLoopback(ip: string): boolean {
  return ip.startsWith("127.") || ip === "::1" || ip.startsWith("::ffff:127.");
}

/** The `for=` addresses of an RFC 7239 `Forwarded` header, in order. */
function forwardedFor(header: string): string[] {
  const hops: string[] = [];
  for (const element of header.split(",")) {
    for (const pair of element.split(";")) {
      const [name, value] = pair.split("=", 2);
      if (name?.trim().toLowerCase() !== "for" || value === undefined) continue;
      hops.push(nodeAddress(value.trim().replace(/^"|"$/g, "")));
    }
  }
  return hops;
}

/** Strips the port and brackets of a `Forwarded` node: `"[::1]:80"` → `::1`. */
function nodeAddress(node: string): string {
  if (node.startsWith("[")) return node.slice(1, node.indexOf("]"));
  const colon = node.indexOf(":");
  return colon !== -1 && node.indexOf(":", colon + 1) === -1
    ? node.slice(0, colon)
    : node;
}
