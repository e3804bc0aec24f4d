/**
 * What a `wsecho.v1` message kind is, and the narrow context it runs in: its
 * own connection, a `send` to it, the rooms it may use and a read-only view of
 * the server. A kind never sees the server's mutable state.
 *
 * @module
 */
import type { Protocol } from "../config/constants.ts";
import type { JoinRefusal } from "../core/rooms.ts";
import type { Envelope, ServerMessage } from "./envelope.ts";
import type { LabControls } from "./lab_controls.ts";

/** The connection that sent a request, as a kind sees it. */
export interface KindConnection {
  /** Its id, shown to others as `from`. */
  readonly id: string;
  /** Its subprotocol. */
  readonly protocol: Protocol;
  /** The rooms it is in. */
  readonly rooms: ReadonlySet<string>;
}

/** What a broadcast reached. */
export interface BroadcastReach {
  /** Connections on this instance it was queued for, the sender excluded. */
  readonly delivered: number;
  /**
   * In a cluster (`--broker`): the other instances it was published to, those
   * that had members in the room (without a room: `wsecho.v1` connections) as
   * last seen; absent on a lone instance.
   */
  readonly instances?: number;
  /** In a cluster: `true` when the broker was down, so no other instance got it. */
  readonly lost?: true;
}

/**
 * The rooms a kind may use, on behalf of its connection. In a cluster the
 * counts cover every instance: this one's exactly, the others' as last seen.
 */
export interface KindRooms {
  /** Rooms with at least one member. */
  readonly count: number;
  /** Rooms one connection may be in at once. */
  readonly maxPerConnection: number;
  /** Members one room may hold at once. */
  readonly maxMembers: number;
  /**
   * Adds the connection to a room; joining twice is a no-op.
   *
   * @returns `undefined` on success, or why the join was refused.
   */
  join(room: string): JoinRefusal | undefined;
  /**
   * Removes the connection from a room.
   *
   * @returns `true` when it was a member.
   */
  leave(room: string): boolean;
  /**
   * Counts a room's members.
   *
   * @returns The number of members; 0 when the room does not exist.
   */
  size(room: string): number;
  /**
   * Sends a text frame to every other member of a room, or with `null` to
   * every other `wsecho.v1` connection, on every instance of the cluster.
   *
   * @returns What it reached.
   */
  broadcast(room: string | null, text: string): BroadcastReach;
}

/** A read-only view of the server, for kinds that report on it. */
export interface KindServer {
  /** The random id of this server process. */
  readonly instance: string;
  /** Seconds since the server started. */
  uptimeSeconds(): number;
  /** Open connections (in a cluster, on every instance). */
  connections(): number;
  /** The kinds this server speaks, for clients that build requests from them. */
  readonly kinds: readonly KindSummary[];
}

/** A kind as a client sees it: enough to build a request. */
export interface KindSummary {
  /** The `type` of its requests. */
  readonly type: string;
  /** One line on what it does. */
  readonly about: string;
  /** A request that works, without `id`. */
  readonly example: Readonly<Record<string, unknown>>;
}

/** What a kind's handler may use. */
export interface KindContext {
  /** The connection that sent the request. */
  readonly connection: KindConnection;
  /** The rooms, on behalf of this connection. */
  readonly rooms: KindRooms;
  /** The server, read-only. */
  readonly server: KindServer;
  /**
   * Sends a text frame to this connection (beyond the reply), closing it with
   * 1008 instead when it is a slow consumer.
   *
   * @returns `true` when the frame was queued.
   */
  send(text: string): boolean;
  /** The test lab's controls of this connection (`close`, `stream`, `handshake`). */
  readonly lab?: LabControls;
}

/**
 * One message kind: its name and example, a guard that turns an envelope into
 * the kind's typed request, and a handler that returns the reply or nothing.
 *
 * @typeParam T The kind's request.
 */
export interface MessageKind<T extends Envelope = Envelope> {
  /** The `type` of its requests. */
  readonly type: T["type"];
  /** One line on what it does, for clients and the playground. */
  readonly about: string;
  /** A request that works, without `type` and `id`. */
  readonly example: Readonly<Record<string, unknown>>;
  /**
   * Checks the kind's fields.
   *
   * @throws {ProtocolError} When a field is missing or of the wrong type.
   */
  parse(envelope: Envelope): T;
  /**
   * Carries the request out.
   *
   * @throws {ProtocolError} When the request cannot be carried out.
   */
  handle(message: T, context: KindContext): ServerMessage | undefined;
}

/**
 * The request type of a kind.
 *
 * @typeParam K A {@linkcode MessageKind}.
 */
export type RequestOf<K> = K extends MessageKind<infer T> ? T : never;

/**
 * Summarises kinds for clients.
 *
 * @param kinds The kinds.
 * @returns One summary per kind, in order.
 */
export function summarizeKinds(
  kinds: Iterable<MessageKind>,
): KindSummary[] {
  return [...kinds].map(({ type, about, example }) => ({
    type,
    about,
    example: { type, ...example },
  }));
}
