/**
 * `broadcast`: sends data to every other member of a room, or to every other
 * `wsecho.v1` connection when no room is named.
 *
 * @module
 */
import {
  type Envelope,
  JSON_PROTOCOL,
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

/** The `broadcast` kind: replies `{type: "sent", id, delivered}`. */
export const BROADCAST_HANDLER: MessageHandler<BroadcastRequest> = {
  parse(envelope) {
    if (envelope.room !== undefined) readRoom(envelope);
    readRequired(envelope, "data");
    return envelope as BroadcastRequest;
  },
  handle({ room, data }, { connection, state, send }) {
    const message: RoomMessage = {
      type: "message",
      room: room ?? null,
      from: connection.id,
      data,
    };
    // Serialised once, however many members there are.
    const text = JSON.stringify(message);
    let delivered = 0;
    if (room === undefined) {
      for (const target of state.registry.values()) {
        if (
          target !== connection && target.protocol === JSON_PROTOCOL &&
          send(target, text)
        ) {
          delivered++;
        }
      }
    } else {
      if (!connection.rooms.has(room)) {
        throw new ProtocolError(
          "not_in_room",
          `Cannot broadcast to "${room}": join it first`,
        );
      }
      for (const target of state.rooms.members(room)) {
        if (target !== connection && send(target, text)) delivered++;
      }
    }
    return { type: "sent", delivered };
  },
};
