/**
 * Dispatch of one `wsecho.v1` text frame to its kind's handler. Pure: it
 * returns the reply and sends nothing, so it is tested without sockets.
 *
 * @module
 */
import {
  errorMessage,
  type MessageContext,
  type MessageHandler,
  type MessageId,
  parseEnvelope,
  peekId,
  ProtocolError,
  type ServerMessage,
} from "./messages.ts";

/**
 * Parses a frame, runs its handler and returns the reply with the request's
 * id. Never throws: a bad frame or a `ProtocolError` becomes an error frame,
 * and any other error an `internal_error` frame, logged, for this request only.
 *
 * @param text The frame.
 * @param handlers The kinds, by `type`.
 * @param context The handler context.
 * @returns The reply, or `undefined` when the handler returned nothing.
 *
 * @example Usage
 * ```ts ignore
 * const reply = dispatchMessage('{"type":"ping","id":1}', MESSAGE_HANDLERS, context);
 * // { type: "pong", id: 1, t: 1795593713557 }
 * ```
 */
export function dispatchMessage(
  text: string,
  handlers: Readonly<Record<string, MessageHandler>>,
  context: MessageContext,
): ServerMessage | undefined {
  let id: MessageId | undefined;
  let reply: ServerMessage | undefined;
  try {
    const envelope = parseEnvelope(text);
    id = envelope.id;
    const handler = Object.hasOwn(handlers, envelope.type)
      ? handlers[envelope.type]
      : undefined;
    if (handler === undefined) {
      throw new ProtocolError(
        "unknown_type",
        `Unknown message type: "${envelope.type}"; known types: ${
          Object.keys(handlers).join(", ")
        }`,
      );
    }
    reply = handler.handle(handler.parse(envelope), context);
  } catch (error) {
    if (error instanceof ProtocolError) {
      reply = errorMessage(error.code, error.message);
      id ??= peekId(text);
    } else {
      context.state.log(
        `error ${context.connection.id}: handler failed: ${
          error instanceof Error ? error.stack : String(error)
        }`,
      );
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
