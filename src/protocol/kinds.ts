/**
 * The table of `wsecho.v1` message kinds. Adding a kind is one module under
 * `handlers/kinds/` and one line here: the request union, dispatch, the error
 * message's list of known types and the playground's templates all derive
 * from this table.
 *
 * @module
 */
import { BROADCAST_KIND } from "../../handlers/kinds/broadcast.ts";
import { ECHO_KIND } from "../../handlers/kinds/echo.ts";
import { INFO_KIND } from "../../handlers/kinds/info.ts";
import { JOIN_KIND } from "../../handlers/kinds/join.ts";
import { LEAVE_KIND } from "../../handlers/kinds/leave.ts";
import { PING_KIND } from "../../handlers/kinds/ping.ts";
import { CLOSE_KIND } from "../../handlers/kinds/close.ts";
import { STREAM_KIND } from "../../handlers/kinds/stream.ts";
import { HANDSHAKE_KIND } from "../../handlers/kinds/handshake.ts";
import type { MessageKind, RequestOf } from "./kind.ts";

/** The built-in kinds, in the order clients are shown them. */
export const MESSAGE_KINDS = Object.freeze(
  [
    ECHO_KIND,
    PING_KIND,
    INFO_KIND,
    JOIN_KIND,
    LEAVE_KIND,
    BROADCAST_KIND,
    CLOSE_KIND,
    STREAM_KIND,
    HANDSHAKE_KIND,
  ] as const,
);

/** Every request a `wsecho.v1` client may send to a server with the built-in kinds. */
export type ClientMessage = RequestOf<(typeof MESSAGE_KINDS)[number]>;

/**
 * Indexes kinds by `type` for dispatch.
 *
 * @param kinds The kinds.
 * @returns The kinds by `type`.
 * @throws {TypeError} When two kinds share a `type`.
 */
export function indexKinds(
  kinds: readonly MessageKind[],
): ReadonlyMap<string, MessageKind> {
  const table = new Map<string, MessageKind>();
  for (const kind of kinds) {
    if (table.has(kind.type)) {
      throw new TypeError(
        `Invalid message kinds: "${kind.type}" appears twice`,
      );
    }
    table.set(kind.type, kind);
  }
  return table;
}
