/**
 * `GET /healthz`: liveness and a few numbers for load balancers and people.
 *
 * @module
 */
import { STATUS, SUPPORTED_PROTOCOLS } from "../../src/config/constants.ts";
import { VERSION } from "../../src/config/version.ts";
import { type ServerState, uptimeSeconds } from "../../src/core/state.ts";

/**
 * Creates the health handler of one server.
 *
 * @param state The server state.
 * @returns The handler: 200 while serving, 503 while shutting down.
 */
export function createHealthHandler(state: ServerState): () => Response {
  return function serveHealth() {
    const body = {
      status: state.draining ? "draining" : "ok",
      connections: state.registry.size,
      uptime_s: uptimeSeconds(state),
      version: VERSION,
      instance: state.instance,
      protocols: SUPPORTED_PROTOCOLS,
      rooms: state.rooms.size,
      refused: state.metrics.refused,
      ...brokerHealth(state),
    };
    return Response.json(body, {
      status: state.draining ? STATUS.ServiceUnavailable : STATUS.OK,
      headers: { "cache-control": "no-store" },
    });
  };
}

/** The `broker` field, present when a broker URL is configured. */
function brokerHealth(state: ServerState): Record<string, unknown> {
  const { broker } = state.cluster;
  if (broker.url === "") return {};
  return {
    broker: {
      url: broker.url,
      status: broker.status,
      since: new Date(broker.since).toISOString(),
    },
  };
}
