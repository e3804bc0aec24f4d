/**
 * `echo`: returns the request's `data` unchanged.
 *
 * @module
 */
import {
  type Envelope,
  type MessageHandler,
  readRequired,
} from "./messages.ts";

/** `{type: "echo", id?, data}` */
export interface EchoRequest extends Envelope {
  /** Always `"echo"`. */
  type: "echo";
  /** Any JSON value. */
  data: unknown;
}

/** The `echo` kind. */
export const ECHO_HANDLER: MessageHandler<EchoRequest> = {
  parse(envelope) {
    readRequired(envelope, "data");
    return envelope as EchoRequest;
  },
  handle(message) {
    return { type: "echo", data: message.data };
  },
};
