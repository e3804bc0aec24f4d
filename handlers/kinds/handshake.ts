/**
 * `handshake`: answers with the upgrade request as the server saw it, to see
 * what a proxy or a client library really sent.
 *
 * @module
 */
import type { Envelope, MessageHandler } from "../messages.ts";
import { requireLab } from "./stream.ts";

/** `{type: "handshake", id?}` */
export interface HandshakeRequest extends Envelope {
  /** Always `"handshake"`. */
  type: "handshake";
}

/**
 * The `handshake` kind: replies `{type: "handshake", id, method, url,
 * headers, remote: {address, port}, protocol}`, header names in lower case.
 */
export const HANDSHAKE_HANDLER: MessageHandler<HandshakeRequest> = {
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
