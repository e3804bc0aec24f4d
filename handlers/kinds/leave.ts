/**
 * `leave`: removes this connection from a room.
 *
 * @module
 */
import {
  type Envelope,
  ProtocolError,
  readRoom,
} from "../../src/protocol/envelope.ts";
import type { MessageKind } from "../../src/protocol/kind.ts";

/** `{type: "leave", id?, room}` */
export interface LeaveRequest extends Envelope {
  /** Always `"leave"`. */
  type: "leave";
  /** The room name. */
  room: string;
}

/** The `leave` kind: replies `{type: "left", id, room, members}` with the members left behind. */
export const LEAVE_KIND: MessageKind<LeaveRequest> = {
  type: "leave",
  about: "leaves a room",
  example: { room: "lobby" },
  parse(envelope) {
    readRoom(envelope);
    return envelope as LeaveRequest;
  },
  handle({ room }, { rooms }) {
    if (!rooms.leave(room)) {
      throw new ProtocolError(
        "not_in_room",
        `Cannot leave "${room}": not a member`,
      );
    }
    return { type: "left", room, members: rooms.size(room) };
  },
};
