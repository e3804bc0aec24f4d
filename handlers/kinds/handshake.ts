/**
 * `handshake`: answers with the upgrade request as the server saw it, to see
 * what a proxy or a client library really sent.
 *
 * @module
 */
import type { Envelope } from "../../src/protocol/envelope.ts";
import { requireLab } from "../../src/protocol/require_lab.ts";
import type { MessageKind } from "../../src/protocol/kind.ts";

/** `{type: "handshake", id?}` */
export interface HandshakeRequest extends Envelope {
  /** Always `"handshake"`. */
  type: "handshake";
}

/**
 * The `handshake` kind: replies `{type: "handshake", id, method, url,
 * headers, remote: {address, port}, protocol}`, header names in lower case.
 */
export const HANDSHAKE_KIND: MessageKind<HandshakeRequest> = {
  type: "handshake",
  about: "replies with the upgrade request as the server saw it (test lab)",
  example: {},
  parse: (envelope) => envelope as HandshakeRequest,
  handle(_message, context) {
    const { handshake } = requireLab(context);
    return {
      type: "handshake",
      method: handshake.method,
      url: handshake.url,
      headers: Object.fromEntries(handshake.headers),
      remote: { ...handshake.remote },
      protocol: handshake.protocol,
    };
  },
};
