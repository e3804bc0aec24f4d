/**
 * `broadcast`: sends data to every other member of a room, or to every other
 * `wsecho.v1` connection when no room is named.
 *
 * @module
 */
import {
  type Envelope,
  type MessageHandler,
  ProtocolError,
  readRequired,
  readRoom,
} from "./messages.ts";

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
 * The `broadcast` kind: replies `{type: "sent", id, delivered}`, and in a
 * cluster `{type: "sent", id, delivered, instances}`, plus `lost: true` when
 * the broker is down and no other instance got it.
 */
export const BROADCAST_HANDLER: MessageHandler<BroadcastRequest> = {
  parse(envelope) {
    if (envelope.room !== undefined) readRoom(envelope);
    readRequired(envelope, "data");
    return envelope as BroadcastRequest;
  },
  handle({ room, data }, { connection, state }) {
    const message: RoomMessage = {
      type: "message",
      room: room ?? null,
      from: connection.id,
      data,
    };
    if (room !== undefined && !connection.rooms.has(room)) {
      throw new ProtocolError(
        "not_in_room",
        `Cannot broadcast to "${room}": join it first`,
      );
    }
    // Serialised once, however many members there are, on every instance.
    const text = JSON.stringify(message);
    const { cluster } = state;
    const result = cluster.broadcast(room ?? null, text, connection);
    if (cluster.broker.url === "") {
      return { type: "sent", delivered: result.delivered };
    }
    return {
      type: "sent",
      delivered: result.delivered,
      instances: result.instances,
      ...(result.lost ? { lost: true } : {}),
    };
  },
};
