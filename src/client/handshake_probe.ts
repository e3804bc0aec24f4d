/**
 * A second look at a WebSocket handshake that failed. Deno 2.9.6's client
 * reports a refused upgrade only as "Invalid status code: 503" and an
 * unreachable host as "tcp connect error", so this sends the same upgrade
 * request over a raw TCP (or TLS) connection and reads the answer itself:
 * the HTTP status, `Retry-After` and the first line of the body, or the
 * operating system's reason for not connecting.
 *
 * @module
 */

/** What the second look found. */
export type ProbeResult =
  | {
    /** The server answered with an HTTP status. */
    kind: "status";
    /** The status code, such as `503`. */
    status: number;
    /** The reason phrase of the status line, such as `"Service Unavailable"`. */
    statusText: string;
    /** The first non-empty line of the body, cut to 200 characters; `""` without a body. */
    bodyLine: string;
    /** The `Retry-After` header, if any. */
    retryAfter?: string;
  }
  | {
    /** No TCP (or TLS) connection could be made. */
    kind: "unreachable";
    /** Why, in the operating system's words. */
    message: string;
  }
  | {
    /** The connection opened but no HTTP answer could be read. */
    kind: "unknown";
    /** What went wrong. */
    message: string;
  };

/** Options of {@linkcode probeHandshake}. */
export interface ProbeOptions {
  /**
   * Subprotocols to offer, as the failed attempt did.
   *
   * @default {[]}
   */
  protocols?: readonly string[];
  /**
   * Extra request headers, as the failed attempt sent.
   *
   * @default {{}}
   */
  headers?: Readonly<Record<string, string>>;
  /**
   * Milliseconds for the whole look.
   *
   * @default {5000}
   */
  timeoutMs?: number;
}

const MAX_READ = 64 * 1024;
const MAX_LINE = 200;

/**
 * Sends a WebSocket upgrade request to `url` and reports the answer.
 *
 * @param url A `ws:` or `wss:` URL.
 * @param options Subprotocols, headers and a time limit.
 * @returns The status and first body line, or why the host could not be reached.
 */
export async function probeHandshake(
  url: string,
  options: ProbeOptions = {},
): Promise<ProbeResult> {
  const { protocols = [], headers = {}, timeoutMs = 5000 } = options;
  const target = new URL(url);
  const tls = target.protocol === "wss:" || target.protocol === "https:";
  const port = Number(target.port || (tls ? 443 : 80));
  const hostname = target.hostname.replace(/^\[(.*)\]$/, "$1");
  let conn: Deno.Conn | undefined;
  const timer = setTimeout(() => {
    try {
      conn?.close();
    } catch {
      // Already closed.
    }
  }, timeoutMs);
  try {
    try {
      conn = tls
        ? await Deno.connectTls({ hostname, port })
        : await Deno.connect({ hostname, port });
    } catch (error) {
      return { kind: "unreachable", message: errorText(error) };
    }
    const open = conn;
    try {
      await writeAll(open, upgradeRequest(target, protocols, headers));
      return parseAnswer(await readHead(open));
    } catch (error) {
      return { kind: "unknown", message: errorText(error) };
    } finally {
      try {
        open.close();
      } catch {
        // Closed by the timer.
      }
    }
  } finally {
    clearTimeout(timer);
  }
}

function upgradeRequest(
  target: URL,
  protocols: readonly string[],
  headers: Readonly<Record<string, string>>,
): Uint8Array {
  const key = btoa(
    String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))),
  );
  const lines = [
    `GET ${target.pathname || "/"}${target.search} HTTP/1.1`,
    `Host: ${target.host}`,
    "Upgrade: websocket",
    "Connection: Upgrade",
    `Sec-WebSocket-Key: ${key}`,
    "Sec-WebSocket-Version: 13",
  ];
  if (protocols.length > 0) {
    lines.push(`Sec-WebSocket-Protocol: ${protocols.join(", ")}`);
  }
  for (const [name, value] of Object.entries(headers)) {
    lines.push(`${name}: ${value}`);
  }
  return new TextEncoder().encode(lines.join("\r\n") + "\r\n\r\n");
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) {
    written += await conn.write(bytes.subarray(written));
  }
}

/** Reads until the head and the first body line are in, the peer is done, or 64 KiB. */
async function readHead(conn: Deno.Conn): Promise<string> {
  const decoder = new TextDecoder();
  const buffer = new Uint8Array(16 * 1024);
  let text = "";
  while (text.length < MAX_READ) {
    const n = await conn.read(buffer);
    if (n === null) break;
    text += decoder.decode(buffer.subarray(0, n), { stream: true });
    const end = text.indexOf("\r\n\r\n");
    if (end >= 0 && hasBodyLine(text, end + 4)) break;
  }
  return text;
}

function hasBodyLine(text: string, bodyStart: number): boolean {
  const head = text.slice(0, bodyStart).toLowerCase();
  if (/^http\/1\.[01] 101/.test(head)) return true;
  const length = /\r\ncontent-length:\s*(\d+)/.exec(head);
  if (length && Number(length[1]) === 0) return true;
  const body = text.slice(bodyStart);
  // A chunked body starts with a size line; want one line of content after it.
  const lines = body.split("\n");
  return lines.filter((line) => line.trim() !== "").length >=
      (head.includes("transfer-encoding: chunked") ? 2 : 1) &&
    body.includes("\n");
}

/**
 * Parses the start of an HTTP answer: status line, `Retry-After` and the
 * first non-empty body line.
 *
 * @param text The bytes read, as text.
 * @returns The parsed answer.
 */
export function parseAnswer(text: string): ProbeResult {
  const match = /^HTTP\/1\.[01] (\d{3}) ?([^\r\n]*)\r\n/.exec(text);
  if (match === null) {
    return {
      kind: "unknown",
      message: text === ""
        ? "the server closed the connection without an answer"
        : `not an HTTP answer: ${JSON.stringify(text.slice(0, 60))}`,
    };
  }
  const end = text.indexOf("\r\n\r\n");
  const head = end < 0 ? text : text.slice(0, end);
  let body = end < 0 ? "" : text.slice(end + 4);
  if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
    body = body.replace(/^[0-9a-fA-F]+[^\r\n]*\r\n/, "");
  }
  const bodyLine = (body.split(/\r?\n/).find((line) => line.trim() !== "") ??
    "").trim().slice(0, MAX_LINE);
  const retryAfter = /\r\nretry-after:\s*([^\r\n]*)/i.exec(head)?.[1]?.trim();
  return {
    kind: "status",
    status: Number(match[1]),
    statusText: match[2] ?? "",
    bodyLine,
    ...(retryAfter === undefined ? {} : { retryAfter }),
  };
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Reads the HTTP status out of the error Deno's WebSocket client reports for
 * a refused handshake ("failed to connect to WebSocket: Invalid status code: 503").
 *
 * @param message The `ErrorEvent.message`.
 * @returns The status, or `undefined` when the message names none.
 */
export function statusFromError(message: string): number | undefined {
  const match = /Invalid status code:? (\d{3})/i.exec(message);
  return match ? Number(match[1]) : undefined;
}
