/**
 * What the test lab's `wsecho.v1` kinds (`close`, `stream`, `handshake`) may
 * ask of their connection: a narrow set of controls that the session
 * provides, so that a kind never touches the socket itself.
 *
 * @module
 */

/** The upgrade request as the server saw it, for the `handshake` kind. */
export interface HandshakeInfo {
  /** The request method. */
  readonly method: string;
  /** The request URL. */
  readonly url: string;
  /** The request headers. */
  readonly headers: Headers;
  /** The peer's address. */
  readonly remote: { readonly address: string; readonly port: number };
  /** The subprotocol the server chose. */
  readonly protocol: string;
}

/** What a `stream` request asks for, validated. */
export interface StreamRequestOptions {
  /** The request's id, JSON-encoded, or `undefined`. */
  readonly id: string | undefined;
  /** Messages to send. */
  readonly count: number;
  /** Messages a second. */
  readonly rate: number;
  /** Bytes of each message. */
  readonly size: number;
}

/** How a stream ended. */
export interface StreamEnd {
  /** Messages sent. */
  readonly sent: number;
  /** Milliseconds paused for a peer that was not reading. */
  readonly pausedMs: number;
}

/** The lab controls of one `wsecho.v1` connection. */
export interface LabControls {
  /** Whether the lab is on (`--no-lab` turns it off). */
  readonly enabled: boolean;
  /** The fastest stream, in messages a second (`--max-emit-rate`). */
  readonly maxEmitRate: number;
  /** The largest message, in bytes (`--max-message-size`). */
  readonly maxMessageSize: number;
  /** The upgrade request. */
  readonly handshake: HandshakeInfo;
  /** Closes the connection from the server's side with this code and reason. */
  close(code: number, reason: string): void;
  /**
   * Starts a stream; `onEnd` runs once when it ends or the connection closes.
   *
   * @returns `false` when a stream is already running on this connection.
   */
  stream(
    options: StreamRequestOptions,
    onEnd: (end: StreamEnd) => void,
  ): boolean;
}
