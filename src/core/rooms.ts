/**
 * Room membership for the `wsecho.v1` protocol. Empty rooms are deleted at
 * once, so the map never outgrows its members.
 *
 * @module
 */
import type { Connection } from "./connection.ts";
import {
  MAX_MEMBERS_PER_ROOM,
  MAX_ROOMS_PER_CONNECTION,
} from "../config/limits.ts";

/** Why a join was refused. */
export type JoinRefusal = "too_many_rooms" | "room_full";

/** Options of {@linkcode Rooms}. */
export interface RoomsOptions {
  /**
   * Rooms one connection may be in at once.
   *
   * @default {MAX_ROOMS_PER_CONNECTION}
   */
  maxRoomsPerConnection?: number;
  /**
   * Members one room may hold at once.
   *
   * @default {MAX_MEMBERS_PER_ROOM}
   */
  maxRoomMembers?: number;
  /**
   * Called after a room's membership changed, with its members now (`0`
   * once it is gone): how the cluster learns what to subscribe and report.
   *
   * @default {undefined}
   */
  onChange?: (room: string, members: number) => void;
}

/** Rooms by name, each a set of member connections. */
export class Rooms {
  #rooms = new Map<string, Set<Connection>>();
  #maxRoomsPerConnection: number;
  #maxRoomMembers: number;
  #onChange: ((room: string, members: number) => void) | undefined;

  /**
   * Creates an empty set of rooms.
   *
   * @param options The caps.
   */
  constructor(options: RoomsOptions = {}) {
    const {
      maxRoomsPerConnection = MAX_ROOMS_PER_CONNECTION,
      maxRoomMembers = MAX_MEMBERS_PER_ROOM,
      onChange,
    } = options;
    this.#onChange = onChange;
    this.#maxRoomsPerConnection = maxRoomsPerConnection;
    this.#maxRoomMembers = maxRoomMembers;
  }

  /** Rooms with at least one member. */
  get size(): number {
    return this.#rooms.size;
  }

  /** Memberships over all rooms. */
  get memberships(): number {
    let total = 0;
    for (const members of this.#rooms.values()) total += members.size;
    return total;
  }

  /**
   * Adds a connection to a room; joining a room twice is a no-op.
   *
   * @param connection The joining connection.
   * @param room The room name, already validated.
   * @returns `undefined` on success, or why the join was refused.
   */
  join(connection: Connection, room: string): JoinRefusal | undefined {
    if (connection.rooms.has(room)) return undefined;
    if (connection.rooms.size >= this.#maxRoomsPerConnection) {
      return "too_many_rooms";
    }
    let members = this.#rooms.get(room);
    if (members === undefined) {
      members = new Set();
      this.#rooms.set(room, members);
    } else if (members.size >= this.#maxRoomMembers) {
      return "room_full";
    }
    members.add(connection);
    connection.rooms.add(room);
    this.#onChange?.(room, members.size);
    return undefined;
  }

  /**
   * Removes a connection from a room.
   *
   * @param connection The leaving connection.
   * @param room The room name.
   * @returns `true` when it was a member.
   */
  leave(connection: Connection, room: string): boolean {
    if (!connection.rooms.delete(room)) return false;
    const members = this.#rooms.get(room);
    if (members !== undefined) {
      members.delete(connection);
      if (members.size === 0) this.#rooms.delete(room);
      this.#onChange?.(room, members.size);
    }
    return true;
  }

  /**
   * Removes a connection from every room it is in, as on close.
   *
   * @param connection The connection going away.
   */
  leaveAll(connection: Connection): void {
    for (const room of [...connection.rooms]) this.leave(connection, room);
  }

  /** The names of the rooms with members. */
  names(): IterableIterator<string> {
    return this.#rooms.keys();
  }

  /**
   * Lists the members of a room.
   *
   * @param room The room name.
   * @returns The members; empty when the room does not exist.
   */
  members(room: string): ReadonlySet<Connection> {
    return this.#rooms.get(room) ?? EMPTY;
  }
}

const EMPTY: ReadonlySet<Connection> = new Set();
