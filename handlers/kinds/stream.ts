/**
 * `stream`: the server sends `count` messages
 * `{"type":"stream","id":…,"seq":…,"t":…,"pad":"…"}` at `rate` a second,
 * each about `size` bytes, then `{"type":"stream_end","id":…,"sent":N,"paused_ms":…}`.
 *
 * @module
 */
import { type Envelope, ProtocolError } from "../../src/protocol/envelope.ts";
import {
  DEFAULT_LAB_RATE,
  DEFAULT_LAB_SIZE,
  MAX_LAB_EMIT,
  MIN_LAB_SIZE,
} from "../../src/config/limits.ts";
import { requireLab } from "../../src/protocol/require_lab.ts";
import type { MessageKind } from "../../src/protocol/kind.ts";

/** `{type: "stream", id?, count, rate?, size?}` */
export interface StreamRequest extends Envelope {
  /** Always `"stream"`. */
  type: "stream";
  /** Messages to send, 1 to 100,000,000. */
  count: number;
  /** Messages a second, 1 to `--max-emit-rate`; 10 when absent. */
  rate?: number;
  /** Bytes of each message, 32 to `--max-message-size`; 64 when absent. */
  size?: number;
}

function readInteger(
  envelope: Envelope,
  field: string,
  min: number,
  max: number,
  fallback: number | undefined,
): number {
  const value = envelope[field] ?? fallback;
  if (
    typeof value !== "number" || !Number.isInteger(value) || value < min ||
    value > max
  ) {
    throw new ProtocolError(
      "bad_message",
      `Cannot read "stream": "${field}" must be an integer from ${min} to ${max}`,
    );
  }
  return value;
}

/** The `stream` kind: no immediate reply; the stream, then `stream_end`. */
export const STREAM_KIND: MessageKind<StreamRequest> = {
  type: "stream",
  about: "streams count messages at rate a second, then stream_end (test lab)",
  example: { count: 10, rate: 5, size: 64 },
  parse(envelope) {
    readInteger(envelope, "count", 1, MAX_LAB_EMIT, undefined);
    return envelope as StreamRequest;
  },
  handle(message, context) {
    const lab = requireLab(context);
    const rate = readInteger(
      message,
      "rate",
      1,
      lab.maxEmitRate,
      DEFAULT_LAB_RATE,
    );
    const size = readInteger(
      message,
      "size",
      MIN_LAB_SIZE,
      lab.maxMessageSize,
      DEFAULT_LAB_SIZE,
    );
    const id = message.id === undefined
      ? undefined
      : JSON.stringify(message.id);
    const started = lab.stream(
      { id, count: message.count, rate, size },
      (end) => {
        const reply = `{"type":"stream_end",${
          id === undefined ? "" : `"id":${id},`
        }"sent":${end.sent},"paused_ms":${end.pausedMs}}`;
        context.send(reply);
      },
    );
    if (!started) {
      throw new ProtocolError(
        "busy",
        "A stream is already running on this connection: wait for its stream_end",
      );
    }
    return undefined;
  },
};
