/**
 * `/sse`: server-sent events for testing `EventSource` clients and proxies.
 * One `tick` event every `interval` milliseconds, `count` per response, with
 * ids that a reconnecting client's `Last-Event-ID` continues from.
 *
 * @module
 */
import {
  DEFAULT_SSE_INTERVAL_MS,
  MAX_SSE_COUNT,
  MAX_SSE_INTERVAL_MS,
  MIN_SSE_INTERVAL_MS,
  SSE_QUEUED_EVENTS,
} from "../../src/config/limits.ts";

/** Options of {@linkcode createSseHandler}. */
export interface SseOptions {
  /**
   * Aborted when the server shuts down: every open stream ends.
   *
   * @default {undefined}
   */
  signal?: AbortSignal;
}

/**
 * Creates the `/sse` handler.
 *
 * Query: `interval` (ms, 10 to 60000, default 1000) and `count` (events in
 * this response, default: until the client goes). The stream starts with
 * `retry: <interval>`, then sends `id: <seq>`, `event: tick`,
 * `data: {"seq":…,"t":…}` events; `seq` continues after the `Last-Event-ID`
 * header's value when it is a number, else starts at 1.
 *
 * @param options The shutdown signal.
 * @returns The handler: `200 text/event-stream`, or `400` for a bad parameter.
 *
 * @example Usage
 * ```ts ignore
 * import { createSseHandler } from "./sse.ts";
 * Deno.serve(createSseHandler());
 * ```
 */
export function createSseHandler(
  options: SseOptions = {},
): (request: Request) => Response {
  const { signal } = options;
  return function serveEvents(request) {
    const query = new URL(request.url).searchParams;
    const interval = readInteger(
      query,
      "interval",
      MIN_SSE_INTERVAL_MS,
      MAX_SSE_INTERVAL_MS,
      DEFAULT_SSE_INTERVAL_MS,
      "milliseconds",
    );
    if (typeof interval === "string") return badRequest(interval);
    const count = readInteger(
      query,
      "count",
      1,
      MAX_SSE_COUNT,
      Infinity,
      "events",
    );
    if (typeof count === "string") return badRequest(count);
    const last = request.headers.get("last-event-id")?.trim() ?? "";
    const first = /^\d{1,15}$/.test(last) ? Number(last) + 1 : 1;
    return new Response(tickStream(first, interval, count, signal), {
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-store",
        // nginx buffers responses unless told not to.
        "x-accel-buffering": "no",
      },
    });
  };
}

function tickStream(
  first: number,
  interval: number,
  count: number,
  signal: AbortSignal | undefined,
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stop = () => {};
  return new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode(`retry: ${interval}\n\n`));
      let seq = first;
      let sent = 0;
      // Ticks are scheduled from the start, so timer lateness does not add up.
      let due = performance.now();
      stop = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", end);
      };
      const end = () => {
        stop();
        try {
          controller.close();
        } catch {
          // Already closed or cancelled by the client.
        }
      };
      const tick = () => {
        // A client that is not reading: wait for it rather than queue more.
        if ((controller.desiredSize ?? 1) > 0) {
          const t = performance.timeOrigin + performance.now();
          controller.enqueue(encoder.encode(
            `id: ${seq}\nevent: tick\ndata: {"seq":${seq},"t":${t}}\n\n`,
          ));
          seq++;
          sent++;
          if (sent >= count) return end();
        }
        due += interval;
        timer = setTimeout(tick, Math.max(0, due - performance.now()));
      };
      if (signal?.aborted) return end();
      signal?.addEventListener("abort", end, { once: true });
      tick();
    },
    cancel() {
      stop();
    },
  }, new CountQueuingStrategy({ highWaterMark: SSE_QUEUED_EVENTS }));
}

function readInteger(
  query: URLSearchParams,
  name: string,
  min: number,
  max: number,
  fallback: number,
  unit: string,
): number | string {
  const value = query.get(name);
  if (value === null) return fallback;
  const n = /^\d{1,16}$/.test(value) ? Number(value) : NaN;
  if (n >= min && n <= max) return n;
  const shown = value.length > 40 ? `${value.slice(0, 40)}…` : value;
  return `Bad parameter "${name}": ${
    JSON.stringify(shown)
  } is not an integer from ${min} to ${max} (${unit})`;
}

function badRequest(message: string): Response {
  return new Response(`${message}\n`, {
    status: 400,
    headers: { "content-type": "text/plain; charset=utf-8" },
  });
}
