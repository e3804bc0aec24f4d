/**
 * The narrow context a `wsecho.v1` kind runs in, built over the server's
 * rooms and registry for one connection.
 *
 * @module
 */
import type { Connection } from "../core/connection.ts";
import type { ServerState } from "../core/state.ts";
import type { KindContext, KindServer } from "../protocol/kind.ts";
import type { LabControls } from "../protocol/lab_controls.ts";

/** Queues a text frame to a connection; `false` when it was not queued. */
export type SendText = (target: Connection, text: string) => boolean;

/**
 * Builds the context of one connection's kinds.
 *
 * @param state The server state, whose rooms and registry the context reaches.
 * @param connection The connection the requests come from.
 * @param server The read-only view of the server.
 * @param sendText How frames are queued (the session's `deliver`).
 * @param lab The test lab's controls of this connection.
 * @returns The context.
 */
export function createKindContext(
  state: ServerState,
  connection: Connection,
  server: KindServer,
  sendText: SendText,
  lab?: LabControls,
): KindContext {
  const { rooms, config, cluster } = state;
  // Without a broker the `sent` reply stays `{delivered}`, as it always was.
  const clustered = cluster.broker.url !== "";
  return {
    connection,
    server,
    ...(lab === undefined ? {} : { lab }),
    send: (text) => sendText(connection, text),
    rooms: {
      get count() {
        return cluster.rooms(rooms.names());
      },
      maxPerConnection: config.maxRoomsPerConnection,
      maxMembers: config.maxRoomMembers,
      join: (room) => rooms.join(connection, room),
      leave: (room) => rooms.leave(connection, room),
      size: (room) => cluster.members(room, rooms.members(room).size),
      broadcast(room, text) {
        const { delivered, instances, lost } = cluster.broadcast(
          room,
          text,
          connection,
          sendText,
        );
        if (!clustered) return { delivered };
        return lost ? { delivered, instances, lost } : { delivered, instances };
      },
    },
  };
}
