/**
 * `join`: adds this connection to a room.
 *
 * @module
 */
import {
  type Envelope,
  type MessageHandler,
  ProtocolError,
  readRoom,
} from "./messages.ts";

/** `{type: "join", id?, room}` */
export interface JoinRequest extends Envelope {
  /** Always `"join"`. */
  type: "join";
  /** The room name. */
  room: string;
}

/** The `join` kind: replies `{type: "joined", id, room, members}`. */
export const JOIN_HANDLER: MessageHandler<JoinRequest> = {
  parse(envelope) {
    readRoom(envelope);
    return envelope as JoinRequest;
  },
  handle({ room }, { connection, state }) {
    const refusal = state.rooms.join(connection, room);
    if (refusal === "too_many_rooms") {
      throw new ProtocolError(
        "too_many_rooms",
        `Cannot join "${room}": a connection may be in at most ${state.config.maxRoomsPerConnection} rooms`,
      );
    }
    if (refusal === "room_full") {
      throw new ProtocolError(
        "room_full",
        `Cannot join "${room}": a room holds at most ${state.config.maxRoomMembers} members`,
      );
    }
    const local = state.rooms.members(room).size;
    return {
      type: "joined",
      room,
      members: state.cluster.members(room, local),
    };
  },
};
