/**
 * `join`: adds this connection to a room.
 *
 * @module
 */
import {
  type Envelope,
  ProtocolError,
  readRoom,
} from "../../src/protocol/envelope.ts";
import type { MessageKind } from "../../src/protocol/kind.ts";

/** `{type: "join", id?, room}` */
export interface JoinRequest extends Envelope {
  /** Always `"join"`. */
  type: "join";
  /** The room name. */
  room: string;
}

/** The `join` kind: replies `{type: "joined", id, room, members}`. */
export const JOIN_KIND: MessageKind<JoinRequest> = {
  type: "join",
  about: "joins a room",
  example: { room: "lobby" },
  parse(envelope) {
    readRoom(envelope);
    return envelope as JoinRequest;
  },
  handle({ room }, { rooms }) {
    const refusal = rooms.join(room);
    if (refusal === "too_many_rooms") {
      throw new ProtocolError(
        "too_many_rooms",
        `Cannot join "${room}": a connection may be in at most ${rooms.maxPerConnection} rooms`,
      );
    }
    if (refusal === "room_full") {
      throw new ProtocolError(
        "room_full",
        `Cannot join "${room}": a room holds at most ${rooms.maxMembers} members`,
      );
    }
    return { type: "joined", room, members: rooms.size(room) };
  },
};
