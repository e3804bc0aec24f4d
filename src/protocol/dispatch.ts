/**
 * Dispatch of one `wsecho.v1` text frame to its kind. Pure: it returns the
 * reply and sends nothing, so it is tested without sockets.
 *
 * @module
 */
import {
  errorMessage,
  type MessageId,
  parseEnvelope,
  peekId,
  ProtocolError,
  type ServerMessage,
} from "./envelope.ts";
import type { KindContext, MessageKind } from "./kind.ts";

/**
 * Parses a frame, runs its kind and returns the reply with the request's id.
 * Never throws: a bad frame or a `ProtocolError` becomes an error frame, and
 * any other error an `internal_error` frame, reported to `onError`, for this
 * request only.
 *
 * @param text The frame.
 * @param kinds The kinds, by `type`.
 * @param context The kind's context.
 * @param onError Told of a kind that threw something other than a `ProtocolError`.
 * @returns The reply, or `undefined` when the kind returned nothing.
 *
 * @example Usage
 * ```ts ignore
 * const reply = dispatchMessage('{"type":"ping","id":1}', kinds, context, console.error);
 * // { type: "pong", id: 1, t: 1795593713557 }
 * ```
 */
export function dispatchMessage(
  text: string,
  kinds: ReadonlyMap<string, MessageKind>,
  context: KindContext,
  onError: (error: unknown) => void = () => {},
): ServerMessage | undefined {
  let id: MessageId | undefined;
  let reply: ServerMessage | undefined;
  try {
    const envelope = parseEnvelope(text);
    id = envelope.id;
    const kind = kinds.get(envelope.type);
    if (kind === undefined) {
      throw new ProtocolError(
        "unknown_type",
        `Unknown message type: "${envelope.type}"; known types: ${
          [...kinds.keys()].join(", ")
        }`,
      );
    }
    reply = kind.handle(kind.parse(envelope), context);
  } catch (error) {
    if (error instanceof ProtocolError) {
      reply = errorMessage(error.code, error.message);
      id ??= peekId(text);
    } else {
      onError(error);
      reply = errorMessage(
        "internal_error",
        "The server failed to handle this message",
      );
    }
  }
  if (reply === undefined || id === undefined) return reply;
  const { type, ...fields } = reply;
  return { type, id, ...fields };
}
