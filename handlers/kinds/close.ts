/**
 * `close`: the server closes this connection with the code and reason asked
 * for, as the test lab's `close_code` and `close_reason` do.
 *
 * @module
 */
import { type Envelope, ProtocolError } from "../../src/protocol/envelope.ts";
import { MAX_CLOSE_REASON_BYTES } from "../../src/config/limits.ts";
import {
  closeReasonBytes,
  isLabCloseCode,
  LAB_CLOSE_CODES_TEXT,
} from "../../src/protocol/lab_params.ts";
import { requireLab } from "../../src/protocol/require_lab.ts";
import type { MessageKind } from "../../src/protocol/kind.ts";

/** `{type: "close", id?, code?, reason?}` */
export interface CloseRequest extends Envelope {
  /** Always `"close"`. */
  type: "close";
  /** The close code; 1000 when absent. */
  code?: number;
  /** The close reason, at most 123 UTF-8 bytes; empty when absent. */
  reason?: string;
}

/** The `close` kind: no reply, then the close frame. */
export const CLOSE_KIND: MessageKind<CloseRequest> = {
  type: "close",
  about: "the server closes this connection with code and reason (test lab)",
  example: { code: 4000, reason: "bye" },
  parse(envelope) {
    const { code = 1000, reason = "" } = envelope;
    if (typeof code !== "number" || !isLabCloseCode(code)) {
      throw new ProtocolError(
        "bad_message",
        `Cannot read "close": "code" must be ${LAB_CLOSE_CODES_TEXT}`,
      );
    }
    if (
      typeof reason !== "string" ||
      closeReasonBytes(reason) > MAX_CLOSE_REASON_BYTES
    ) {
      throw new ProtocolError(
        "bad_message",
        `Cannot read "close": "reason" must be a string of at most ${MAX_CLOSE_REASON_BYTES} UTF-8 bytes`,
      );
    }
    return { ...envelope, code, reason } as CloseRequest;
  },
  handle(message, context) {
    const lab = requireLab(context);
    lab.close(message.code ?? 1000, message.reason ?? "");
    return undefined;
  },
};
