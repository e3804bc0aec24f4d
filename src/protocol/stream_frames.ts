/**
 * The messages a test lab stream sends (`/ws?emit=N`, and the `wsecho.v1`
 * `stream` kind): text `{"type":"stream","seq":…,"t":…,"pad":"…"}` or binary
 * `seq` (uint64, big-endian), `t` (float64, big-endian) and padding, each
 * `size` bytes long where the header leaves room.
 *
 * @module
 */

/** Bytes of the binary header: `seq` then `t`. */
export const BINARY_STREAM_HEADER_BYTES = 16;

let padding = "";

/** A run of `length` padding characters, sliced from one string shared by every stream. */
function pad(length: number): string {
  if (length <= 0) return "";
  if (padding.length < length) {
    padding = "x".repeat(Math.max(length, padding.length * 2, 1024));
  }
  return padding.slice(0, length);
}

/**
 * Builds one text stream message of `size` bytes, or as short as its fields
 * allow when `size` is smaller.
 *
 * @param seq The message's number, from 1.
 * @param t The server time in milliseconds (fractional).
 * @param size The length to pad to, in bytes.
 * @param id The `wsecho.v1` stream id, already JSON-encoded; `undefined` for `/ws?emit=`.
 * @returns The JSON text; its fields are ASCII, so its length is its byte count.
 *
 * @example Usage
 * ```ts
 * import { textStreamFrame } from "./stream_frames.ts";
 * const frame = textStreamFrame(1, 1234.5, 64);
 * console.log(frame.length, JSON.parse(frame).seq); // 64 1
 * ```
 */
export function textStreamFrame(
  seq: number,
  t: number,
  size: number,
  id?: string,
): string {
  const head = id === undefined
    ? `{"type":"stream","seq":${seq},"t":${t},"pad":"`
    : `{"type":"stream","id":${id},"seq":${seq},"t":${t},"pad":"`;
  return `${head}${pad(size - head.length - 2)}"}`;
}

/**
 * Builds one binary stream message: `seq` as a big-endian uint64, `t` as a
 * big-endian float64, then zero bytes up to `size`.
 *
 * @param seq The message's number, from 1.
 * @param t The server time in milliseconds (fractional).
 * @param size The length in bytes; at least {@linkcode BINARY_STREAM_HEADER_BYTES}.
 * @returns A fresh buffer (the socket may still be sending the previous one).
 */
export function binaryStreamFrame(
  seq: number,
  t: number,
  size: number,
): ArrayBuffer {
  const buffer = new ArrayBuffer(Math.max(size, BINARY_STREAM_HEADER_BYTES));
  const view = new DataView(buffer);
  view.setBigUint64(0, BigInt(seq));
  view.setFloat64(8, t);
  return buffer;
}

/**
 * Reads the header of a binary stream message.
 *
 * @param data The message.
 * @returns Its `seq` and `t`.
 * @throws {RangeError} When it is shorter than the header.
 */
export function readBinaryStreamFrame(
  data: ArrayBuffer,
): { seq: number; t: number } {
  if (data.byteLength < BINARY_STREAM_HEADER_BYTES) {
    throw new RangeError(
      `Cannot read stream message: ${data.byteLength} bytes is shorter than the ${BINARY_STREAM_HEADER_BYTES}-byte header`,
    );
  }
  const view = new DataView(data);
  return { seq: Number(view.getBigUint64(0)), t: view.getFloat64(8) };
}
