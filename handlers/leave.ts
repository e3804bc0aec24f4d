/**
 * `leave`: removes this connection from a room.
 *
 * @module
 */
import {
  type Envelope,
  type MessageHandler,
  ProtocolError,
  readRoom,
} from "./messages.ts";

/** `{type: "leave", id?, room}` */
export interface LeaveRequest extends Envelope {
  /** Always `"leave"`. */
  type: "leave";
  /** The room name. */
  room: string;
}

/** The `leave` kind: replies `{type: "left", id, room, members}` with the members left behind. */
export const LEAVE_HANDLER: MessageHandler<LeaveRequest> = {
  parse(envelope) {
    readRoom(envelope);
    return envelope as LeaveRequest;
  },
  handle({ room }, { connection, state }) {
    if (!state.rooms.leave(connection, room)) {
      throw new ProtocolError(
        "not_in_room",
        `Cannot leave "${room}": not a member`,
      );
    }
    const local = state.rooms.members(room).size;
    return { type: "left", room, members: state.cluster.members(room, local) };
  },
};
