/**
 * `ping`: the server's clock, for round-trip times and clock offsets.
 *
 * @module
 */
import type { Envelope } from "../../src/protocol/envelope.ts";
import type { MessageKind } from "../../src/protocol/kind.ts";

/** `{type: "ping", id?}` */
export interface PingRequest extends Envelope {
  /** Always `"ping"`. */
  type: "ping";
}

/** The `ping` kind: replies `{type: "pong", id, t}` with `t` in epoch milliseconds. */
export const PING_KIND: MessageKind<PingRequest> = {
  type: "ping",
  about: "replies pong with the server time t (ms)",
  example: {},
  parse(envelope) {
    return envelope as PingRequest;
  },
  handle() {
    return { type: "pong", t: Date.now() };
  },
};
