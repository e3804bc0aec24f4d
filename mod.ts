/**
 * wsecho as a library: start a server, add message kinds.
 *
 * @example Usage
 * ```ts ignore
 * import { createServer, MESSAGE_KINDS } from "./mod.ts";
 * const controller = new AbortController();
 * const server = createServer({ port: 0, signal: controller.signal });
 * console.log(`ws://localhost:${server.addr.port}/ws`);
 * controller.abort();
 * await server.finished;
 * ```
 *
 * @module
 */
export {
  createServer,
  type ServerOptions,
  type WsechoServer,
} from "./src/server/create_server.ts";
export type { Config } from "./src/config/options.ts";
export { CLOSE, JSON_PROTOCOL, STATUS } from "./src/config/constants.ts";
export { type ClientMessage, MESSAGE_KINDS } from "./src/protocol/kinds.ts";
export type {
  BroadcastReach,
  KindConnection,
  KindContext,
  KindRooms,
  KindServer,
  KindSummary,
  MessageKind,
  RequestOf,
} from "./src/protocol/kind.ts";
export {
  type Envelope,
  type ErrorCode,
  type MessageId,
  ProtocolError,
  readRequired,
  readRoom,
  type ServerMessage,
} from "./src/protocol/envelope.ts";
