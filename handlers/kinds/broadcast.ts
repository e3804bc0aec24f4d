/**
 * `broadcast`: sends data to every other member of a room, or to every other
 * `wsecho.v1` connection when no room is named.
 *
 * @module
 */
import {
  type Envelope,
  ProtocolError,
  readRequired,
  readRoom,
} from "../../src/protocol/envelope.ts";
import type { MessageKind } from "../../src/protocol/kind.ts";

/** `{type: "broadcast", id?, room?, data}` */
export interface BroadcastRequest extends Envelope {
  /** Always `"broadcast"`. */
  type: "broadcast";
  /** The room; absent means every `wsecho.v1` connection. */
  room?: string;
  /** Any JSON value. */
  data: unknown;
}

/** What other members receive. */
export interface RoomMessage {
  /** Always `"message"`. */
  type: "message";
  /** The room, or `null` for a broadcast to everyone. */
  room: string | null;
  /** The sender's connection id. */
  from: string;
  /** The broadcast data. */
  data: unknown;
}

/**
 * The `broadcast` kind: replies `{type: "sent", id, delivered}`; in a cluster
 * `{type: "sent", id, delivered, instances}`, with `lost: true` when the
 * broker was down and no other instance got it.
 */
export const BROADCAST_KIND: MessageKind<BroadcastRequest> = {
  type: "broadcast",
  about: "sends data to the other members of a room (or everyone without room)",
  example: { room: "lobby", data: "hello, room" },
  parse(envelope) {
    if (envelope.room !== undefined) readRoom(envelope);
    readRequired(envelope, "data");
    return envelope as BroadcastRequest;
  },
  handle({ room, data }, { connection, rooms }) {
    if (room !== undefined && !connection.rooms.has(room)) {
      throw new ProtocolError(
        "not_in_room",
        `Cannot broadcast to "${room}": join it first`,
      );
    }
    const message: RoomMessage = {
      type: "message",
      room: room ?? null,
      from: connection.id,
      data,
    };
    // Serialised once, however many members there are, on every instance.
    const reach = rooms.broadcast(room ?? null, JSON.stringify(message));
    return { type: "sent", ...reach };
  },
};
