/**
 * The narrow context a `wsecho.v1` kind runs in, built over the server's
 * rooms and registry for one connection.
 *
 * @module
 */
import { JSON_PROTOCOL } from "../config/constants.ts";
import type { Connection } from "../core/connection.ts";
import type { ServerState } from "../core/state.ts";
import type { KindContext, KindServer } from "../protocol/kind.ts";

/** Queues a text frame to a connection; `false` when it was not queued. */
export type SendText = (target: Connection, text: string) => boolean;

/**
 * Builds the context of one connection's kinds.
 *
 * @param state The server state, whose rooms and registry the context reaches.
 * @param connection The connection the requests come from.
 * @param server The read-only view of the server.
 * @param sendText How frames are queued (the session's `deliver`).
 * @returns The context.
 */
export function createKindContext(
  state: ServerState,
  connection: Connection,
  server: KindServer,
  sendText: SendText,
): KindContext {
  const { rooms, registry, config } = state;
  return {
    connection,
    server,
    send: (text) => sendText(connection, text),
    rooms: {
      get count() {
        return rooms.size;
      },
      maxPerConnection: config.maxRoomsPerConnection,
      maxMembers: config.maxRoomMembers,
      join: (room) => rooms.join(connection, room),
      leave: (room) => rooms.leave(connection, room),
      size: (room) => rooms.members(room).size,
      broadcast(room, text) {
        let delivered = 0;
        const targets = room === null ? registry.values() : rooms.members(room);
        for (const target of targets) {
          if (
            target !== connection && target.protocol === JSON_PROTOCOL &&
            sendText(target, text)
          ) {
            delivered++;
          }
        }
        return delivered;
      },
    },
  };
}
