/**
 * `stream`: the server sends `count` messages
 * `{"type":"stream","id":…,"seq":…,"t":…,"pad":"…"}` at `rate` a second,
 * each about `size` bytes, then `{"type":"stream_end","id":…,"sent":N,"paused_ms":…}`.
 *
 * @module
 */
import {
  type Envelope,
  type MessageContext,
  type MessageHandler,
  ProtocolError,
} from "../messages.ts";
import {
  DEFAULT_LAB_RATE,
  DEFAULT_LAB_SIZE,
  MAX_LAB_EMIT,
  MIN_LAB_SIZE,
} from "../../src/protocol/lab_params.ts";
import type { LabControls } from "../../src/protocol/lab_controls.ts";

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

/**
 * Returns the connection's lab controls.
 *
 * @param context The handler context.
 * @returns The controls.
 * @throws {ProtocolError} `lab_off` when the server runs with `--no-lab`.
 */
export function requireLab(context: MessageContext): LabControls {
  const lab = context.lab;
  if (lab === undefined || !lab.enabled) {
    throw new ProtocolError(
      "lab_off",
      "The test lab is off on this server (started with --no-lab)",
    );
  }
  return lab;
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
export const STREAM_HANDLER: MessageHandler<StreamRequest> = {
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
        context.send(context.connection, reply);
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
