/**
 * The table of `wsecho.v1` message kinds. Adding a kind is one module and one
 * line here.
 *
 * @module
 */
import type { MessageHandler } from "./messages.ts";
import { ECHO_HANDLER, type EchoRequest } from "./echo.ts";
import { PING_HANDLER, type PingRequest } from "./ping.ts";
import { INFO_HANDLER, type InfoRequest } from "./info.ts";
import { JOIN_HANDLER, type JoinRequest } from "./join.ts";
import { LEAVE_HANDLER, type LeaveRequest } from "./leave.ts";
import { BROADCAST_HANDLER, type BroadcastRequest } from "./broadcast.ts";
import { CLOSE_HANDLER, type CloseRequest } from "./kinds/close.ts";
import { STREAM_HANDLER, type StreamRequest } from "./kinds/stream.ts";
import { HANDSHAKE_HANDLER, type HandshakeRequest } from "./kinds/handshake.ts";

/** Every request a `wsecho.v1` client may send. */
export type ClientMessage =
  | EchoRequest
  | PingRequest
  | InfoRequest
  | JoinRequest
  | LeaveRequest
  | BroadcastRequest
  | CloseRequest
  | StreamRequest
  | HandshakeRequest;

/** Message handlers by `type`. */
export const MESSAGE_HANDLERS: Readonly<Record<string, MessageHandler>> = Object
  .freeze({
    echo: ECHO_HANDLER,
    ping: PING_HANDLER,
    info: INFO_HANDLER,
    join: JOIN_HANDLER,
    leave: LEAVE_HANDLER,
    broadcast: BROADCAST_HANDLER,
    close: CLOSE_HANDLER,
    stream: STREAM_HANDLER,
    handshake: HANDSHAKE_HANDLER,
  } as Record<string, MessageHandler>);
