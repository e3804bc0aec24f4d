/**
 * `GET /client`: the playground page, embedded in the program at build time.
 *
 * @module
 */
import html from "../../client.html" with { type: "text" };

const SAFE_HOST = /^[A-Za-z0-9.:[\]-]+$/;

/**
 * Serves the playground with a Content-Security-Policy that allows only the
 * page's own inline code and WebSocket connections to its own origin.
 *
 * @param request The request; its host names the origin for `connect-src`.
 * @returns The page.
 */
export function serveClient(request: Request): Response {
  return new Response(html, {
    headers: {
      "content-type": "text/html; charset=utf-8",
      // From the URL, not the Host header: HTTP/2 (TLS) has no Host, and
      // Deno fills the URL from :authority.
      "content-security-policy": contentSecurityPolicy(
        new URL(request.url).host,
      ),
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
      "cache-control": "no-cache",
    },
  });
}

/**
 * Builds the page's Content-Security-Policy.
 *
 * @param host The request's host and port.
 * @returns The policy.
 */
export function contentSecurityPolicy(host: string | null): string {
  // 'self' covers ws: and wss: of the same host only in CSP level 3 browsers;
  // naming them keeps older ones working. A host that could smuggle a
  // directive in is left out.
  const sockets = host !== null && SAFE_HOST.test(host)
    ? ` ws://${host} wss://${host}`
    : "";
  return [
    "default-src 'none'",
    "script-src 'unsafe-inline'",
    "style-src 'unsafe-inline'",
    "img-src data:",
    `connect-src 'self'${sockets}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}
