/**
 * `/echo` and `/echo/<anything>`, any method: a JSON reflection of the
 * request (method, path, query, headers, body, remote address), with the test
 * lab's `status`, `delay` and `retry_after` from the query string.
 *
 * @module
 */
import { text } from "../../src/core/text_response.ts";
import {
  HTTP_LAB_PARAMS,
  type LabParams,
  parseLabQuery,
} from "../../src/protocol/lab_params.ts";

/** Options of {@linkcode createHttpEchoHandler}. */
export interface HttpEchoOptions {
  /**
   * The largest body echoed, in bytes (`--max-message-size`); a larger one
   * gets `413` without being read whole.
   *
   * @default {16777216}
   */
  maxMessageSize?: number;
  /**
   * Whether the test lab is on; off, `status`, `delay` and `retry_after` get `403`.
   *
   * @default {true}
   */
  lab?: boolean;
  /**
   * Aborted when the server shuts down: a pending `delay` answers at once.
   *
   * @default {undefined}
   */
  signal?: AbortSignal;
}

/** The JSON body `/echo` answers with. */
export interface EchoReflection {
  /** The request method. */
  method: string;
  /** The path, as received (percent-encoding kept). */
  path: string;
  /** Query parameters: one value, or a list when repeated. */
  query: Record<string, string | string[]>;
  /** Request headers, names in lower case; repeated ones joined with `, `. */
  headers: Record<string, string>;
  /** The body as UTF-8 text, or base64 when it is not valid UTF-8. */
  body: string;
  /** Present, as `"base64"`, when `body` is base64. */
  bodyEncoding?: "base64";
  /** The body's length in bytes. */
  bodyBytes: number;
  /** The peer's address and port. */
  remote: { address: string; port: number };
}

/**
 * Creates the `/echo` handler.
 *
 * @param options The body limit, whether the lab is on, and the shutdown signal.
 * @returns The handler: `200` (or the asked `status`) with the reflection,
 * `400` for a bad lab parameter, `403` when the lab is off, `413` for a body
 * over the limit.
 *
 * @example Usage
 * ```ts ignore
 * import { createHttpEchoHandler } from "./echo.ts";
 * Deno.serve(createHttpEchoHandler({ maxMessageSize: 1024 }));
 * ```
 */
export function createHttpEchoHandler(
  options: HttpEchoOptions = {},
): (
  request: Request,
  info: Deno.ServeHandlerInfo<Deno.NetAddr>,
) => Promise<Response> {
  const { maxMessageSize = 16 * 1024 * 1024, lab = true, signal } = options;
  return async function echoHttp(request, info) {
    const arrived = performance.now();
    const result = parseLabQuery(request.url, {
      enabled: lab,
      maxMessageSize,
      names: HTTP_LAB_PARAMS,
    });
    if (!result.ok) {
      await request.body?.cancel();
      return text(result.status, `${result.message}\n`);
    }
    const params = result.params;
    const body = await readBody(request, maxMessageSize);
    if (body === undefined) {
      return text(
        413,
        `Request body too large: the limit is ${maxMessageSize} bytes (--max-message-size)\n`,
        { connection: "close" },
      );
    }
    if (params !== undefined && params.delay > 0) {
      // A peer that leaves early is not watched for: request.signal would warn
      // on every success in Deno 2.9.6, and the wait is bounded anyway.
      await sleepUntil(arrived + params.delay, signal);
    }
    return reflect(request, info, body, params);
  };
}

function reflect(
  request: Request,
  info: Deno.ServeHandlerInfo<Deno.NetAddr>,
  body: Uint8Array,
  params: LabParams | undefined,
): Response {
  const url = new URL(request.url);
  const query: Record<string, string | string[]> = {};
  for (const [name, value] of url.searchParams) {
    const seen = query[name];
    if (seen === undefined) query[name] = value;
    else if (Array.isArray(seen)) seen.push(value);
    else query[name] = [seen, value];
  }
  const reflection: EchoReflection = {
    method: request.method,
    path: url.pathname,
    query,
    headers: Object.fromEntries(request.headers),
    body: "",
    bodyBytes: body.byteLength,
    remote: { address: info.remoteAddr.hostname, port: info.remoteAddr.port },
  };
  try {
    reflection.body = UTF8.decode(body);
  } catch {
    reflection.body = body.toBase64();
    reflection.bodyEncoding = "base64";
  }
  const headers: Record<string, string> = {
    "content-type": "application/json; charset=utf-8",
    "cache-control": "no-store",
  };
  if (params?.status && params.retryAfter !== undefined) {
    headers["retry-after"] = String(params.retryAfter);
  }
  return new Response(
    request.method === "HEAD" ? null : `${JSON.stringify(reflection)}\n`,
    { status: params?.status || 200, headers },
  );
}

const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Reads a request body up to `limit` bytes.
 *
 * @returns The bytes, or `undefined` once it is over the limit: the rest is
 * never read, so an oversized upload costs at most `limit` bytes of memory.
 */
async function readBody(
  request: Request,
  limit: number,
): Promise<Uint8Array | undefined> {
  const declared = Number(request.headers.get("content-length") ?? 0);
  if (declared > limit) {
    await request.body?.cancel();
    return undefined;
  }
  if (request.body === null) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = request.body.getReader();
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0]!;
  const body = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

/** Waits until `performance.now()` reaches `deadline`, or `signal` aborts. */
function sleepUntil(
  deadline: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  const { promise, resolve } = Promise.withResolvers<void>();
  const done = () => {
    clearTimeout(timer);
    signal?.removeEventListener("abort", done);
    resolve();
  };
  const timer = setTimeout(done, Math.max(0, deadline - performance.now()));
  signal?.addEventListener("abort", done, { once: true });
  return promise;
}
