/**
 * `info`: what this server and this connection are.
 *
 * @module
 */
import type { Envelope, MessageHandler } from "./messages.ts";
import { NAME, VERSION } from "../src/version.ts";
import { uptimeSeconds } from "../src/state.ts";

/** `{type: "info", id?}` */
export interface InfoRequest extends Envelope {
  /** Always `"info"`. */
  type: "info";
}

/** The `info` kind. */
export const INFO_HANDLER: MessageHandler<InfoRequest> = {
  parse(envelope) {
    return envelope as InfoRequest;
  },
  handle(_message, { connection, state }) {
    return {
      type: "info",
      server: NAME,
      version: VERSION,
      instance: state.instance,
      uptime_s: uptimeSeconds(state),
      connections: state.cluster.connections(state.registry.size),
      rooms: state.cluster.rooms(state.rooms.names()),
      connection: { id: connection.id, rooms: [...connection.rooms] },
    };
  },
};
