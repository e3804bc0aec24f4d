/**
 * `info`: what this server and this connection are.
 *
 * @module
 */
import { NAME, VERSION } from "../../src/config/version.ts";
import type { Envelope } from "../../src/protocol/envelope.ts";
import type { MessageKind } from "../../src/protocol/kind.ts";

/** `{type: "info", id?}` */
export interface InfoRequest extends Envelope {
  /** Always `"info"`. */
  type: "info";
}

/** The `info` kind: the server, its counts, this connection and the kinds it speaks. */
export const INFO_KIND: MessageKind<InfoRequest> = {
  type: "info",
  about: "the server, its counts, this connection and the kinds it speaks",
  example: {},
  parse(envelope) {
    return envelope as InfoRequest;
  },
  handle(_message, { connection, rooms, server }) {
    return {
      type: "info",
      server: NAME,
      version: VERSION,
      instance: server.instance,
      uptime_s: server.uptimeSeconds(),
      connections: server.connections(),
      rooms: rooms.count,
      connection: { id: connection.id, rooms: [...connection.rooms] },
      kinds: server.kinds,
    };
  },
};
