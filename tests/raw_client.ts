/**
 * A raw WebSocket-over-TCP client for the fault, fuzz and limit tests: it
 * encodes any frame, valid or not, speaks the HTTP handshake by hand and
 * reads server frames with a deadline. Built on `Deno.connect` (or
 * `Deno.connectTls`), so it can send what a real WebSocket client never would.
 * Not a test file (no `_test` suffix).
 *
 * @module
 */

/** Frame opcodes (RFC 6455 section 5.2). */
export const OPCODE = {
  /** A continuation frame. */
  CONTINUATION: 0x0,
  /** A text frame. */
  TEXT: 0x1,
  /** A binary frame. */
  BINARY: 0x2,
  /** A close frame. */
  CLOSE: 0x8,
  /** A ping frame. */
  PING: 0x9,
  /** A pong frame. */
  PONG: 0xa,
} as const;

/** What {@linkcode encodeFrame} builds. */
export interface FrameOptions {
  /**
   * The opcode, 0 to 15; reserved ones included.
   *
   * @default {OPCODE.BINARY}
   */
  opcode?: number;
  /**
   * The payload.
   *
   * @default {new Uint8Array()}
   */
  payload?: Uint8Array | string;
  /**
   * The FIN bit: `false` starts or continues a fragmented message.
   *
   * @default {true}
   */
  fin?: boolean;
  /**
   * RSV1 to RSV3 as a 3-bit number (4 is RSV1, 2 is RSV2, 1 is RSV3).
   *
   * @default {0}
   */
  rsv?: number;
  /**
   * Mask the payload, as a client must: `true` for a random key, or the key.
   *
   * @default {true}
   */
  mask?: boolean | Uint8Array;
  /**
   * Force the length encoding: 7-bit, 16-bit or 64-bit, even when a shorter
   * one would do (a 7-bit form only fits lengths up to 125).
   *
   * @default {undefined}
   */
  lengthBits?: 7 | 16 | 64;
  /**
   * The length to declare in the header instead of the payload's own: a lie,
   * for truncated or oversized frames.
   *
   * @default {undefined}
   */
  declaredLength?: number;
}

const encoder = new TextEncoder();

/**
 * Encodes one WebSocket frame, valid or not.
 *
 * @param options What to put in the frame.
 * @returns The frame's bytes.
 *
 * @example Usage
 * ```ts
 * import { encodeFrame, OPCODE } from "./raw_client.ts";
 * const frame = encodeFrame({ opcode: OPCODE.TEXT, payload: "hi" });
 * ```
 */
export function encodeFrame(options: FrameOptions = {}): Uint8Array {
  const {
    opcode = OPCODE.BINARY,
    fin = true,
    rsv = 0,
    mask = true,
    lengthBits,
    declaredLength,
  } = options;
  const payload = typeof options.payload === "string"
    ? encoder.encode(options.payload)
    : options.payload ?? new Uint8Array();
  const length = declaredLength ?? payload.length;
  const bits = lengthBits ??
    (length <= 125 ? 7 : length <= 0xffff ? 16 : 64);
  const key = mask === true
    ? crypto.getRandomValues(new Uint8Array(4))
    : mask === false
    ? undefined
    : mask;
  const extra = bits === 7 ? 0 : bits === 16 ? 2 : 8;
  const header = 2 + extra + (key === undefined ? 0 : 4);
  const frame = new Uint8Array(header + payload.length);
  frame[0] = (fin ? 0x80 : 0) | ((rsv & 7) << 4) | (opcode & 0xf);
  const maskBit = key === undefined ? 0 : 0x80;
  const view = new DataView(frame.buffer);
  if (bits === 7) frame[1] = maskBit | (length & 0x7f);
  else if (bits === 16) {
    frame[1] = maskBit | 126;
    view.setUint16(2, length);
  } else {
    frame[1] = maskBit | 127;
    view.setBigUint64(2, BigInt(length));
  }
  if (key === undefined) frame.set(payload, header);
  else {
    frame.set(key, 2 + extra);
    for (let i = 0; i < payload.length; i++) {
      frame[header + i] = payload[i]! ^ key[i & 3]!;
    }
  }
  return frame;
}

/**
 * Builds the payload of a close frame.
 *
 * @param code The close code, written as two bytes even if invalid.
 * @param reason The reason, UTF-8 encoded.
 * @returns The payload.
 */
export function closePayload(code: number, reason = ""): Uint8Array {
  const text = encoder.encode(reason);
  const payload = new Uint8Array(2 + text.length);
  new DataView(payload.buffer).setUint16(0, code);
  payload.set(text, 2);
  return payload;
}

/** One frame read from the server. */
export interface Frame {
  /** The FIN bit. */
  fin: boolean;
  /** RSV1 to RSV3 as a 3-bit number. */
  rsv: number;
  /** The opcode. */
  opcode: number;
  /** Whether the server masked it (it must not). */
  masked: boolean;
  /** The unmasked payload. */
  payload: Uint8Array;
}

/** How the server ended a connection, as seen by {@linkcode RawClient.readClose}. */
export type Ending =
  | {
    /** The server sent a close frame. */
    kind: "close";
    /** Its code, or `1005` when the frame had no payload. */
    code: number;
    /** Its reason. */
    reason: string;
  }
  | {
    /** The TCP connection ended (EOF or reset) without a close frame. */
    kind: "dropped";
  }
  | {
    /** Neither happened before the deadline. */
    kind: "timeout";
  };

/** Where {@linkcode RawClient.connect} connects. */
export interface RawConnectOptions {
  /** The server's port. */
  port: number;
  /**
   * The server's address.
   *
   * @default {"127.0.0.1"}
   */
  hostname?: string;
  /**
   * Connect with TLS, trusting these PEM certificates.
   *
   * @default {undefined}
   */
  caCerts?: string[];
}

/** What {@linkcode RawClient.handshake} sends. */
export interface HandshakeOptions {
  /**
   * The request path.
   *
   * @default {"/ws?welcome=0"}
   */
  path?: string;
  /**
   * Extra request headers, such as `Origin` or `Sec-WebSocket-Protocol`.
   *
   * @default {{}}
   */
  headers?: Record<string, string>;
  /**
   * How long to wait for the response, in milliseconds.
   *
   * @default {5000}
   */
  timeoutMs?: number;
  /**
   * Write the request this many bytes at a time, to dribble it.
   *
   * @default {Infinity}
   */
  chunkSize?: number;
  /**
   * Pause between chunks, in milliseconds.
   *
   * @default {0}
   */
  chunkDelayMs?: number;
}

/** The server's answer to a handshake. */
export interface HandshakeResponse {
  /** The HTTP status. */
  status: number;
  /** The response headers, names in lower case. */
  headers: Headers;
  /** The body of a refusal (read up to `content-length`); empty for 101. */
  body: string;
}

const decoder = new TextDecoder();
const CHUNK = 256 * 1024;

/**
 * A raw WebSocket client over one TCP (or TLS) connection. Reads are
 * buffered; a read that outlives its deadline stays pending and is reused by
 * the next read, so no op leaks past {@linkcode RawClient.close}.
 */
export class RawClient implements AsyncDisposable {
  #conn: Deno.Conn;
  // Unread bytes are #storage[#start, #end); grown by doubling, so reading a
  // large message costs linear time.
  #storage = new Uint8Array(CHUNK);
  #start = 0;
  #end = 0;
  #pending: Promise<Uint8Array | null> | undefined;
  #eof = false;
  #closed = false;

  /**
   * Wraps an open connection.
   *
   * @param conn The connection.
   */
  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /**
   * Opens a TCP (or TLS) connection to a server.
   *
   * @param options Where to connect.
   * @returns The client.
   */
  static async connect(options: RawConnectOptions): Promise<RawClient> {
    const { port, hostname = "127.0.0.1", caCerts } = options;
    const conn = caCerts === undefined
      ? await Deno.connect({ hostname, port })
      : await Deno.connectTls({ hostname, port, caCerts });
    return new RawClient(conn);
  }

  /**
   * Opens a connection and completes a WebSocket handshake.
   *
   * @param options Where to connect and what to send.
   * @returns The client, past its 101.
   * @throws {Error} When the server does not answer 101.
   */
  static async open(
    options: RawConnectOptions & HandshakeOptions,
  ): Promise<RawClient> {
    const client = await RawClient.connect(options);
    try {
      const response = await client.handshake(options);
      if (response.status !== 101) {
        throw new Error(
          `Expected 101, got ${response.status}: ${response.body.trim()}`,
        );
      }
      return client;
    } catch (error) {
      client.close();
      throw error;
    }
  }

  /** `HOST:PORT` of the server, as a `Host` header names it. */
  get host(): string {
    const { hostname, port } = this.#conn.remoteAddr as Deno.NetAddr;
    return `${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`;
  }

  /** The underlying connection. */
  get conn(): Deno.Conn {
    return this.#conn;
  }

  /**
   * Writes bytes, ignoring a peer that has gone away.
   *
   * @param bytes The bytes.
   * @returns `false` when the write failed because the connection is gone.
   */
  async write(bytes: Uint8Array): Promise<boolean> {
    try {
      let written = 0;
      while (written < bytes.length) {
        written += await this.#conn.write(bytes.subarray(written));
      }
      return true;
    } catch (error) {
      if (isGone(error)) return false;
      throw error;
    }
  }

  /**
   * Encodes and writes one frame.
   *
   * @param options The frame.
   * @returns `false` when the connection is gone.
   */
  send(options: FrameOptions): Promise<boolean> {
    return this.write(encodeFrame(options));
  }

  /**
   * Sends the HTTP upgrade request and reads the response head (and the body
   * of a refusal).
   *
   * @param options The path, headers (a `Host` header replaces the default
   * `HOST:PORT`) and timeout.
   * @returns The status, headers and body.
   * @throws {Error} When the response is malformed, missing, or the accept key is wrong.
   */
  async handshake(options: HandshakeOptions = {}): Promise<HandshakeResponse> {
    const {
      path = "/ws?welcome=0",
      headers = {},
      timeoutMs = 5_000,
      chunkSize = Infinity,
      chunkDelayMs = 0,
    } = options;
    const key = btoa(
      String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))),
    );
    const lines = [
      `GET ${path} HTTP/1.1`,
      ...(Object.keys(headers).some((name) => name.toLowerCase() === "host")
        ? []
        : [`Host: ${this.host}`]),
      "Upgrade: websocket",
      "Connection: Upgrade",
      `Sec-WebSocket-Key: ${key}`,
      "Sec-WebSocket-Version: 13",
      ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
    ];
    const request = encoder.encode(`${lines.join("\r\n")}\r\n\r\n`);
    for (let i = 0; i < request.length; i += chunkSize) {
      await this.write(request.subarray(i, i + chunkSize));
      if (chunkDelayMs > 0 && i + chunkSize < request.length) {
        await new Promise((resolve) => setTimeout(resolve, chunkDelayMs));
      }
    }
    const response = await this.readResponse(timeoutMs);
    if (
      response.status === 101 &&
      response.headers.get("sec-websocket-accept") !== await acceptKey(key)
    ) {
      throw new Error("Wrong Sec-WebSocket-Accept");
    }
    return response;
  }

  /**
   * Reads one HTTP response: the head, and the body up to `content-length`
   * unless the status is 101.
   *
   * @param timeoutMs How long to wait.
   * @returns The status, headers and body.
   * @throws {Error} When the connection ends first or the status line is malformed.
   */
  async readResponse(timeoutMs = 5_000): Promise<HandshakeResponse> {
    const deadline = Date.now() + timeoutMs;
    let end: number;
    while ((end = indexOfCrlfCrlf(this.#buffered)) === -1) {
      if (!await this.#fill(deadline)) {
        throw new Error(
          `No HTTP response: ${
            this.#eof ? "the connection ended" : "timed out"
          }`,
        );
      }
    }
    const head = decoder.decode(this.#buffered.subarray(0, end));
    this.#start += end + 4;
    const [statusLine = "", ...headerLines] = head.split("\r\n");
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1]);
    if (!Number.isInteger(status)) {
      throw new Error(`Malformed status line: "${statusLine}"`);
    }
    const headers = new Headers();
    for (const line of headerLines) {
      const colon = line.indexOf(":");
      headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
    }
    if (status === 101) return { status, headers, body: "" };
    const length = Number(headers.get("content-length") ?? 0);
    while (this.#end - this.#start < length) {
      if (!await this.#fill(deadline)) break;
    }
    const body = decoder.decode(this.#buffered.subarray(0, length));
    this.#start = Math.min(this.#end, this.#start + length);
    return { status, headers, body };
  }

  /**
   * Reads the next frame from the server.
   *
   * @param timeoutMs How long to wait.
   * @returns The frame, `"dropped"` when the connection ended, or
   * `"timeout"`.
   */
  async readFrame(
    timeoutMs = 5_000,
  ): Promise<Frame | "dropped" | "timeout"> {
    const deadline = Date.now() + timeoutMs;
    try {
      while (true) {
        const frame = this.#parseFrame();
        if (frame !== undefined) return frame;
        if (!await this.#fill(deadline)) {
          return this.#eof ? "dropped" : "timeout";
        }
      }
    } catch (error) {
      if (isGone(error)) return "dropped";
      throw error;
    }
  }

  /**
   * Reads frames until the server closes: data, pings and pongs before the
   * close frame are skipped (and collected in `skipped`).
   *
   * @param timeoutMs How long to wait in all.
   * @param skipped Receives the frames read before the close.
   * @returns How the connection ended.
   */
  async readClose(timeoutMs = 5_000, skipped: Frame[] = []): Promise<Ending> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const frame = await this.readFrame(Math.max(0, deadline - Date.now()));
      if (frame === "dropped") return { kind: "dropped" };
      if (frame === "timeout") return { kind: "timeout" };
      if (frame.opcode !== OPCODE.CLOSE) {
        skipped.push(frame);
        continue;
      }
      const { payload } = frame;
      return {
        kind: "close",
        code: payload.length >= 2
          ? new DataView(payload.buffer, payload.byteOffset).getUint16(0)
          : 1005,
        reason: decoder.decode(payload.subarray(2)),
      };
    }
  }

  /**
   * Waits for the TCP connection to end after a close frame.
   *
   * @param timeoutMs How long to wait.
   * @returns `true` when the server ended the connection in time.
   */
  async waitForEof(timeoutMs = 5_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    try {
      while (!this.#eof) {
        this.#start = this.#end;
        if (!await this.#fill(deadline) && !this.#eof) return false;
      }
      return true;
    } catch (error) {
      if (isGone(error)) return true;
      throw error;
    }
  }

  /** Closes the connection; safe to call twice. Await {@linkcode RawClient.closed} to settle a pending read. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch (error) {
      if (!(error instanceof Deno.errors.BadResource)) throw error;
    }
  }

  /** Closes the connection and waits for any read still in flight to settle. */
  async closed(): Promise<void> {
    this.close();
    await this.#pending?.catch(() => null);
    this.#pending = undefined;
  }

  /**
   * Closes the connection and settles any read in flight, for `await using`.
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.closed();
  }

  /**
   * Runs a clean close handshake from the client side: sends a close frame,
   * reads the server's answer and waits for the server to end TCP.
   *
   * @param code The close code to send.
   * @param timeoutMs How long to wait for each step.
   * @returns How the server answered.
   */
  async closeHandshake(code = 1000, timeoutMs = 5_000): Promise<Ending> {
    await this.send({ opcode: OPCODE.CLOSE, payload: closePayload(code) });
    const ending = await this.readClose(timeoutMs);
    if (ending.kind === "close") await this.waitForEof(timeoutMs);
    await this.closed();
    return ending;
  }

  /** Reads more bytes into the buffer; `false` on EOF or deadline. */
  async #fill(deadline: number): Promise<boolean> {
    if (this.#eof) return false;
    const remaining = deadline - Date.now();
    if (remaining <= 0) return false;
    this.#pending ??= this.#readChunk();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), remaining);
    });
    let result: Uint8Array | null | "timeout";
    try {
      result = await Promise.race([this.#pending, timeout]);
    } catch (error) {
      this.#pending = undefined;
      if (isGone(error)) {
        this.#eof = true;
        return false;
      }
      throw error;
    } finally {
      clearTimeout(timer);
    }
    if (result === "timeout") return false;
    this.#pending = undefined;
    if (result === null) {
      this.#eof = true;
      return false;
    }
    this.#append(result);
    return true;
  }

  /** The bytes read and not yet consumed. */
  get #buffered(): Uint8Array {
    return this.#storage.subarray(this.#start, this.#end);
  }

  #append(bytes: Uint8Array): void {
    const used = this.#end - this.#start;
    if (this.#end + bytes.length > this.#storage.length) {
      let size = this.#storage.length;
      while (size < used + bytes.length) size *= 2;
      const storage = size === this.#storage.length
        ? this.#storage
        : new Uint8Array(size);
      storage.set(this.#buffered, 0);
      this.#storage = storage;
      this.#start = 0;
      this.#end = used;
    }
    this.#storage.set(bytes, this.#end);
    this.#end += bytes.length;
  }

  async #readChunk(): Promise<Uint8Array | null> {
    const chunk = new Uint8Array(CHUNK);
    const n = await this.#conn.read(chunk);
    return n === null ? null : chunk.subarray(0, n);
  }

  #parseFrame(): Frame | undefined {
    const b = this.#buffered;
    if (b.length < 2) return undefined;
    const masked = (b[1]! & 0x80) !== 0;
    let length = b[1]! & 0x7f;
    let offset = 2;
    const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    if (length === 126) {
      if (b.length < 4) return undefined;
      length = view.getUint16(2);
      offset = 4;
    } else if (length === 127) {
      if (b.length < 10) return undefined;
      length = Number(view.getBigUint64(2));
      offset = 10;
    }
    const keyAt = offset;
    if (masked) offset += 4;
    if (b.length < offset + length) return undefined;
    const payload = b.slice(offset, offset + length);
    if (masked) {
      for (let i = 0; i < payload.length; i++) {
        payload[i] = payload[i]! ^ b[keyAt + (i & 3)]!;
      }
    }
    this.#start += offset + length;
    return {
      fin: (b[0]! & 0x80) !== 0,
      rsv: (b[0]! >> 4) & 7,
      opcode: b[0]! & 0xf,
      masked,
      payload,
    };
  }
}

/**
 * Computes the `Sec-WebSocket-Accept` value for a key.
 *
 * @param key The `Sec-WebSocket-Key` sent.
 * @returns The expected accept value.
 */
export async function acceptKey(key: string): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-1",
    encoder.encode(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`),
  );
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}

function indexOfCrlfCrlf(bytes: Uint8Array): number {
  for (let i = 0; i + 3 < bytes.length; i++) {
    if (
      bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 &&
      bytes[i + 3] === 10
    ) return i;
  }
  return -1;
}

function isGone(error: unknown): boolean {
  return error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.BadResource ||
    error instanceof Deno.errors.ConnectionAborted ||
    error instanceof Deno.errors.NotConnected ||
    error instanceof Deno.errors.Interrupted ||
    (error instanceof Error && /os error 104|os error 32/.test(error.message));
}
