/**
 * `GET /client`: the playground page, embedded in the program at build time.
 *
 * @module
 */
import html from "../../client.html" with { type: "text" };

/**
 * Serves the playground with a Content-Security-Policy that runs only the
 * page's own script and style and lets it open WebSockets to any server.
 *
 * @param _request The request.
 * @returns The page.
 */
export async function serveClient(_request: Request): Promise<Response> {
  return new Response(html, {
    headers: {
      "content-type": "text/html; charset=utf-8",
      "content-security-policy": await pagePolicy(),
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
      "cache-control": "no-cache",
    },
  });
}

let policy: Promise<string> | undefined;

/** The page's policy, hashed once. */
function pagePolicy(): Promise<string> {
  return policy ??= contentSecurityPolicy(html);
}

/**
 * Builds the Content-Security-Policy of a page: its inline `<script>` and
 * `<style>` blocks by their SHA-256 (so an injected one would not run),
 * WebSockets to any host (the playground tests any server), and fetch and
 * EventSource to its own origin only (`/echo`, `/sse`).
 *
 * @param page The page's HTML.
 * @returns The policy.
 */
export async function contentSecurityPolicy(page: string): Promise<string> {
  const scripts = await hashes(page, "script");
  const styles = await hashes(page, "style");
  return [
    "default-src 'none'",
    `script-src ${scripts}`,
    `style-src ${styles}`,
    "img-src data:",
    "connect-src 'self' ws: wss:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/**
 * The CSP hash sources of every inline `<tag>` block (written without
 * attributes, as the page writes them), or `'none'`.
 */
async function hashes(page: string, tag: string): Promise<string> {
  const blocks = page.matchAll(
    new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, "g"),
  );
  const sources: string[] = [];
  for (const [, body] of blocks) {
    const digest = await crypto.subtle.digest(
      "SHA-256",
      new TextEncoder().encode(body),
    );
    const base64 = btoa(String.fromCharCode(...new Uint8Array(digest)));
    sources.push(`'sha256-${base64}'`);
  }
  return sources.length ? sources.join(" ") : "'none'";
}
