/**
 * The route table: every path the server answers, in one place.
 *
 * @module
 */
import { serveClient } from "../handlers/client.ts";
import { createHealthHandler } from "../handlers/health.ts";
import { createMetricsHandler } from "../handlers/metrics.ts";
import { createWebSocketHandler } from "../handlers/ws.ts";
import { createHttpEchoHandler } from "../handlers/http/echo.ts";
import { createSseHandler } from "../handlers/http/sse.ts";
import { createRouter, type Handler, type Methods } from "./router.ts";
import type { ServerState } from "./state.ts";

/**
 * Builds the HTTP handler of one server.
 *
 * @param state The server state.
 * @returns The handler for `Deno.serve`.
 */
export function createApp(state: ServerState): Handler {
  const routes: Record<string, Methods> = {
    "/": { GET: redirectToClient },
    "/client": { GET: serveClient },
    "/ws": { GET: createWebSocketHandler(state) },
    "/healthz": { GET: createHealthHandler(state) },
    "/sse": { GET: createSseHandler({ signal: state.shutdown.signal }) },
  };
  const echo: Methods = {
    ANY: createHttpEchoHandler({
      maxMessageSize: state.config.maxMessageSize,
      lab: state.config.lab,
      signal: state.shutdown.signal,
    }),
  };
  routes["/echo"] = routes["/echo/*"] = echo;
  if (state.config.metrics) {
    routes["/metrics"] = { GET: createMetricsHandler(state) };
  }
  return createRouter(routes);
}

function redirectToClient(): Response {
  return new Response(null, { status: 302, headers: { location: "/client" } });
}
