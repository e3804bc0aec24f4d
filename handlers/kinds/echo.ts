/**
 * `echo`: returns the request's `data` unchanged.
 *
 * @module
 */
import { type Envelope, readRequired } from "../../src/protocol/envelope.ts";
import type { MessageKind } from "../../src/protocol/kind.ts";

/** `{type: "echo", id?, data}` */
export interface EchoRequest extends Envelope {
  /** Always `"echo"`. */
  type: "echo";
  /** Any JSON value. */
  data: unknown;
}

/** The `echo` kind: replies `{type: "echo", id, data}`. */
export const ECHO_KIND: MessageKind<EchoRequest> = {
  type: "echo",
  about: "returns data unchanged",
  example: { data: { hello: "world" } },
  parse(envelope) {
    readRequired(envelope, "data");
    return envelope as EchoRequest;
  },
  handle(message) {
    return { type: "echo", data: message.data };
  },
};
