/**
 * `ping`: answers `pong` with the server's clock, for round-trip timing.
 *
 * @module
 */
import type { Envelope, MessageHandler } from "./messages.ts";

/** `{type: "ping", id?}` */
export interface PingRequest extends Envelope {
  /** Always `"ping"`. */
  type: "ping";
}

/** The `ping` kind: replies `{type: "pong", id, t}` with `t` in epoch milliseconds. */
export const PING_HANDLER: MessageHandler<PingRequest> = {
  parse(envelope) {
    return envelope as PingRequest;
  },
  handle() {
    return { type: "pong", t: Date.now() };
  },
};
