/**
 * The `wsecho.v1` envelope: the frame types every kind shares, parsing, error
 * frames and field guards. Pure functions, testable without sockets.
 *
 * @module
 */
import { ROOM_NAME_PATTERN } from "../config/limits.ts";

/** A request id, echoed in the reply so clients can correlate. */
export type MessageId = string | number;

/** Every client frame: a JSON object with a `type` and an optional `id`. */
export interface Envelope {
  /** The message kind. */
  type: string;
  /** Correlation id. */
  id?: MessageId;
  /** The kind's own fields. */
  [field: string]: unknown;
}

/** Stable error codes of `{type: "error"}` frames. */
export type ErrorCode =
  | "bad_json"
  | "bad_message"
  | "unknown_type"
  | "bad_room"
  | "too_many_rooms"
  | "room_full"
  | "not_in_room"
  | "rate_limited"
  | "lab_off"
  | "busy"
  | "internal_error";

/** An error frame sent back for a request the server cannot carry out. */
export interface ErrorMessage extends ServerMessage {
  /** Always `"error"`. */
  type: "error";
  /** The request's id, when it had one that could be read. */
  id?: MessageId;
  /** A stable, machine-readable code. */
  code: ErrorCode;
  /** A human-readable explanation. */
  message: string;
}

/** Any frame the server sends in `wsecho.v1` mode. */
export interface ServerMessage {
  /** The message kind. */
  type: string;
  /** The id of the request this answers. */
  id?: MessageId;
  /** The kind's own fields. */
  [field: string]: unknown;
}

/** Thrown by parsing and by handlers for a request that gets an error frame. */
export class ProtocolError extends Error {
  /** The error frame's code. */
  readonly code: ErrorCode;

  /**
   * Creates a protocol error.
   *
   * @param code The stable error code.
   * @param message The explanation sent to the client.
   * @param options The usual error options.
   */
  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ProtocolError";
    this.code = code;
  }
}

/**
 * Parses a text frame into an envelope.
 *
 * @param text The frame.
 * @returns The envelope.
 * @throws {ProtocolError} `bad_json` for invalid JSON, `bad_message` for a
 * non-object, a missing or non-string `type` or a bad `id`.
 *
 * @example Usage
 * ```ts
 * import { parseEnvelope } from "./envelope.ts";
 * parseEnvelope('{"type":"ping","id":1}'); // { type: "ping", id: 1 }
 * ```
 */
export function parseEnvelope(text: string): Envelope {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ProtocolError(
      "bad_json",
      `Cannot parse message: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ProtocolError(
      "bad_message",
      "Cannot read message: expected a JSON object",
    );
  }
  const envelope = value as Record<string, unknown>;
  if ("id" in envelope && !isMessageId(envelope.id)) {
    throw new ProtocolError(
      "bad_message",
      'Cannot read message: "id" must be a string or a number',
    );
  }
  if (typeof envelope.type !== "string") {
    throw new ProtocolError(
      "bad_message",
      'Cannot read message: "type" must be a string',
    );
  }
  return envelope as Envelope;
}

/**
 * Reads the id of a frame that failed to parse, so the error can still be
 * correlated.
 *
 * @param text The frame.
 * @returns The id, when the frame is an object with a valid one.
 */
export function peekId(text: string): MessageId | undefined {
  try {
    const value = JSON.parse(text);
    return typeof value === "object" && value !== null && isMessageId(value.id)
      ? value.id
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Builds an error frame.
 *
 * @param code The error code.
 * @param message The explanation.
 * @param id The request id, if known.
 * @returns The frame.
 */
export function errorMessage(
  code: ErrorCode,
  message: string,
  id?: MessageId,
): ErrorMessage {
  return id === undefined
    ? { type: "error", code, message }
    : { type: "error", id, code, message };
}

/**
 * Checks a room name field.
 *
 * @param envelope The request.
 * @param field The field name.
 * @returns The room name.
 * @throws {ProtocolError} `bad_message` when it is missing, `bad_room` when
 * it is not 1 to 64 characters of `[A-Za-z0-9._-]`.
 */
export function readRoom(envelope: Envelope, field = "room"): string {
  const room = readRequired(envelope, field);
  if (typeof room !== "string" || !ROOM_NAME_PATTERN.test(room)) {
    throw new ProtocolError(
      "bad_room",
      `Invalid room name: "${field}" must be 1 to 64 characters of A-Z, a-z, 0-9, ".", "_" or "-"`,
    );
  }
  return room;
}

/**
 * Checks that a request has a field, of any JSON type.
 *
 * @param envelope The request.
 * @param field The field name.
 * @returns The field's value.
 * @throws {ProtocolError} `bad_message` when the field is missing.
 */
export function readRequired(envelope: Envelope, field: string): unknown {
  if (!(field in envelope)) {
    throw new ProtocolError(
      "bad_message",
      `Cannot read "${envelope.type}": "${field}" is missing`,
    );
  }
  return envelope[field];
}

function isMessageId(value: unknown): value is MessageId {
  return typeof value === "string" ||
    (typeof value === "number" && Number.isFinite(value));
}
