/**
 * The route table: every path the server answers, in one place.
 *
 * @module
 */
import { STATUS } from "../config/constants.ts";
import { serveClient } from "../../handlers/http/client.ts";
import { createHealthHandler } from "../../handlers/http/health.ts";
import { createMetricsHandler } from "../../handlers/http/metrics.ts";
import { createWebSocketHandler } from "../../handlers/http/ws.ts";
import { createHttpEchoHandler } from "../../handlers/http/echo.ts";
import { createSseHandler } from "../../handlers/http/sse.ts";
import type { ServerState } from "../core/state.ts";
import type { MessageKind } from "../protocol/kind.ts";
import { createRouter, type Handler, type Methods } from "./router.ts";

/** Routes that also answer every path below them: `/echo/anything` is `/echo`. */
export const SUBTREES: readonly string[] = Object.freeze(["/echo"]);

/**
 * Builds the routes of one server.
 *
 * @param state The server state.
 * @param kinds The `wsecho.v1` kinds, by `type`.
 * @returns Methods by exact pathname; the keys are those of `ROUTES`.
 */
export function createRoutes(
  state: ServerState,
  kinds: ReadonlyMap<string, MessageKind>,
): Record<string, Methods> {
  const routes: Record<string, Methods> = {
    "/": { GET: redirectToClient },
    "/client": { GET: serveClient },
    "/ws": { GET: createWebSocketHandler(state, kinds) },
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
  routes["/echo"] = echo;
  if (state.config.metrics) {
    routes["/metrics"] = { GET: createMetricsHandler(state) };
  }
  return routes;
}

/**
 * Builds the HTTP handler of one server.
 *
 * @param state The server state.
 * @param kinds The `wsecho.v1` kinds, by `type`.
 * @returns The handler for `Deno.serve`.
 */
export function createApp(
  state: ServerState,
  kinds: ReadonlyMap<string, MessageKind>,
): Handler {
  return createRouter(createRoutes(state, kinds), SUBTREES);
}

function redirectToClient(): Response {
  return new Response(null, {
    status: STATUS.Found,
    headers: { location: "/client" },
  });
}
