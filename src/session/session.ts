/**
 * One WebSocket's life after the upgrade: the byte-exact echo, or `wsecho.v1`
 * dispatch when the client asked for it; the size and rate limits; the
 * welcome; and the open and close log lines.
 *
 * @module
 */
import {
  CLOSE,
  JSON_PROTOCOL,
  SUPPORTED_PROTOCOLS,
} from "../config/constants.ts";
import { LAB_STREAM_HIGH_WATER, LOG_PREVIEW_LENGTH } from "../config/limits.ts";
import { NAME, VERSION } from "../config/version.ts";
import { type Connection, newConnectionId } from "../core/connection.ts";
import { deliver, forget, markClosing } from "../core/delivery.ts";
import { increment } from "../core/metrics.ts";
import { takeToken } from "../core/rate_limit.ts";
import { type ServerState, uptimeSeconds } from "../core/state.ts";
import { utf8Length } from "../core/utf8_length.ts";
import { dispatchMessage } from "../protocol/dispatch.ts";
import {
  errorMessage,
  peekId,
  type ServerMessage,
} from "../protocol/envelope.ts";
import {
  type KindContext,
  type KindServer,
  type MessageKind,
  summarizeKinds,
} from "../protocol/kind.ts";
import type { LabControls } from "../protocol/lab_controls.ts";
import { formatLabParams, type LabParams } from "../protocol/lab_params.ts";
import type { Admission } from "./admission.ts";
import { closeWhenQuiet } from "./graceful_close.ts";
import { createKindContext } from "./kind_context.ts";
import { createLabSession, type LabSession } from "./lab_session.ts";
import { type LabStream, startStream } from "./lab_stream.ts";

/** Starts sessions on upgraded sockets. */
export type StartSession = (
  socket: WebSocket,
  admission: Admission,
) => Connection;

/** Deno's reason when a peer missed its pong: the close it sent was 1001. */
const IDLE_REASON = "No response from ping frame.";

/** The rooms of every raw echo connection: always empty. */
const NO_ROOMS: Set<string> = new Set();

/** The kind-error handler of raw echo sessions, which dispatch no kinds. */
function ignoreError(): void {}

/** What every session of one server shares, prepared once. */
interface Shared {
  readonly state: ServerState;
  readonly kinds: ReadonlyMap<string, MessageKind>;
  readonly server: KindServer;
  readonly log: (line: string) => void;
  readonly maxMessageSize: number;
  readonly maxMessagesPerSecond: number;
  readonly verbose: boolean;
  readonly labHighWater: number;
  readonly welcomeHead: string;
  readonly welcomeTail: string;
}

/**
 * Prepares what every session of one server shares, once.
 *
 * @param state The server state.
 * @param kinds The `wsecho.v1` kinds, by `type`.
 * @returns A function that starts the session of one upgraded socket.
 */
export function createSessions(
  state: ServerState,
  kinds: ReadonlyMap<string, MessageKind>,
): StartSession {
  const { config, registry } = state;
  const shared: Shared = {
    state,
    kinds,
    server: {
      instance: state.instance,
      uptimeSeconds: () => uptimeSeconds(state),
      // In a cluster: every instance's connections, this one's exactly.
      connections: () => state.cluster.connections(registry.size),
      kinds: summarizeKinds(kinds.values()),
    },
    log: state.log,
    maxMessageSize: config.maxMessageSize,
    maxMessagesPerSecond: config.maxMessagesPerSecond,
    verbose: config.verbose,
    labHighWater: Math.min(LAB_STREAM_HIGH_WATER, config.maxBuffered / 2),
    welcomeHead: `{"type":"welcome","server":${JSON.stringify(NAME)},` +
      `"version":${JSON.stringify(VERSION)},"id":"`,
    welcomeTail: `,"protocols":${JSON.stringify(SUPPORTED_PROTOCOLS)}}`,
  };
  return (socket, admission) =>
    new Session(shared, socket, admission).connection;
}

/**
 * One connection's session. It is its socket's listener object for open,
 * close and error (`handleEvent`), its behaviour lives on the prototype, and
 * messages get one small function: an open connection costs one session, one
 * connection record, one closure and two listener entries, not a closure per
 * step (about 650 bytes less JS heap per open connection).
 */
class Session implements EventListenerObject {
  readonly connection: Connection;
  readonly #shared: Shared;
  readonly #json: boolean;
  readonly #welcome: boolean;
  readonly #context: KindContext | undefined;
  readonly #lab: LabSession | undefined;
  /** Logs a kind that threw: made once per `wsecho.v1` session, not per message. */
  readonly #onKindError: (error: unknown) => void;
  #kindStream: LabStream | undefined;
  /** Kept only while an open listener waits to log it. */
  #openLine = "";

  constructor(shared: Shared, socket: WebSocket, admission: Admission) {
    const { state, maxMessagesPerSecond } = shared;
    const { protocol, welcome, lab: labParams } = admission;
    const json = protocol === JSON_PROTOCOL;
    const connection: Connection = {
      id: newConnectionId(),
      socket,
      ip: admission.ip,
      limitKey: admission.limitKey,
      protocol,
      // Only wsecho.v1 kinds join rooms, so raw echo connections share one
      // empty set that nothing adds to: one allocation less per connect.
      rooms: json ? new Set() : NO_ROOMS,
      messagesIn: 0,
      messagesOut: 0,
      tokens: maxMessagesPerSecond,
      refilledAt: maxMessagesPerSecond > 0 ? performance.now() : 0,
      throttled: 0,
      counters: json ? state.metrics.json : state.metrics.echo,
      unchecked: 0,
      closeCode: 0,
      closeReason: "",
      released: false,
    };
    this.connection = connection;
    this.#shared = shared;
    this.#json = json;
    this.#welcome = welcome;
    // Registered now, not on open, so that concurrent handshakes count against the caps.
    state.registry.add(connection);
    state.metrics.accepted++;
    socket.binaryType = "arraybuffer";
    this.#context = json ? this.#kindContext(admission) : undefined;
    this.#onKindError = json ? (error) => this.#kindFailed(error) : ignoreError;
    this.#lab = labParams === undefined
      ? undefined
      : this.#labSession(labParams);

    const openLine = `open ${connection.id} ${connection.ip}${
      json ? ` protocol=${protocol}` : ""
    }${labParams === undefined ? "" : ` lab=${formatLabParams(labParams)}`}`;
    if (welcome || this.#lab !== undefined) {
      this.#openLine = openLine;
      socket.addEventListener("open", this);
    } else {
      // Nothing to do on open, so log the accepted upgrade now and spare the
      // listener and the open event's dispatch (~500 bytes per connect).
      shared.log(openLine);
    }
    // Messages get a function of their own, not `handleEvent`: its switch on
    // the event type cost 6% more instructions per echo. The lab's listener
    // is chosen here, once: a connection without lab parameters never pays a
    // per-message check for it.
    socket.addEventListener(
      "message",
      this.#lab === undefined
        ? (event) => this.#message(event)
        : (event) => this.#labMessage(event),
    );
    if (this.#lab !== undefined || this.#context?.lab !== undefined) {
      socket.addEventListener("error", this);
    }
    // No "error" listener otherwise: every listener costs ~300 bytes and a
    // record per connect, and the close event tells the same story. Deno
    // closes a peer that missed its pong with 1001 itself (close event: 1001,
    // IDLE_REASON, not clean), and ends an abrupt one (after an error event)
    // with code 0.
    socket.addEventListener("close", this);
  }

  /**
   * The socket's open, close and error events.
   *
   * @param event The event.
   */
  handleEvent(event: Event): void {
    switch (event.type) {
      case "close":
        this.#stopLab();
        return this.#closed(event as CloseEvent);
      case "open":
        return this.#opened();
      case "error":
        return this.#stopLab();
    }
  }

  #message(event: MessageEvent<string | ArrayBuffer>): void {
    const data = event.data;
    const size = this.#accept(data);
    if (size !== -1) this.#answer(data, size);
  }

  /**
   * The lab's listener: the same `#accept`, then the lab (delay, drop,
   * close_after) decides when `#answer` runs.
   */
  #labMessage(event: MessageEvent<string | ArrayBuffer>): void {
    const data = event.data;
    const size = this.#accept(data);
    if (size !== -1) (this.#lab as LabSession).receive(data, size);
  }

  /**
   * What every message goes through first: counting, `--verbose`, the size
   * and rate limits.
   *
   * @returns The message's size, or -1 when it is not to be acted on.
   */
  #accept(data: string | ArrayBuffer): number {
    const { connection } = this;
    // After a server-side close the peer's input is read but not acted on.
    if (connection.closeCode !== 0) return -1;
    const { maxMessageSize, maxMessagesPerSecond } = this.#shared;
    const size = typeof data === "string" ? utf8Length(data) : data.byteLength;
    const { counters } = connection;
    connection.messagesIn++;
    counters.messagesIn++;
    counters.bytesIn += size;
    if (this.#shared.verbose) {
      logMessage(connection, data, this.#shared.log);
    }
    if (size > maxMessageSize) {
      this.#closeGracefully(
        CLOSE.MessageTooBig,
        `message too big: the limit is ${maxMessageSize} bytes`,
      );
      return -1;
    }
    if (maxMessagesPerSecond > 0 && !this.#admit(data)) return -1;
    return size;
  }

  /** What a message is answered with: its echo, or a `wsecho.v1` dispatch. */
  #answer(data: string | ArrayBuffer, size: number): void {
    const context = this.#context;
    if (context !== undefined && typeof data === "string") {
      const result = dispatchMessage(
        data,
        this.#shared.kinds,
        context,
        this.#onKindError,
      );
      if (result !== undefined) this.#reply(result);
    } else {
      deliver(this.#shared.state, this.connection, data, size);
    }
  }

  /** Applies the rate limit; only called when one is set. */
  #admit(data: string | ArrayBuffer): boolean {
    const { connection } = this;
    const { maxMessagesPerSecond } = this.#shared;
    if (takeToken(connection, maxMessagesPerSecond, performance.now())) {
      connection.throttled = 0;
      return true;
    }
    connection.throttled++;
    // A raw echo has no error frame to send, so it closes at once; wsecho.v1
    // clients are told, and closed after a further second's worth of refusals.
    if (!this.#json || connection.throttled > maxMessagesPerSecond) {
      this.#closeGracefully(CLOSE.PolicyViolation, "rate limit exceeded");
    } else {
      this.#reply(errorMessage(
        "rate_limited",
        `Rate limit exceeded: at most ${maxMessagesPerSecond} messages a second`,
        typeof data === "string" ? peekId(data) : undefined,
      ));
    }
    return false;
  }

  #reply(message: ServerMessage): void {
    const { state } = this.#shared;
    if (message.type === "error") {
      increment(state.metrics.errors, String(message.code));
    }
    const text = JSON.stringify(message);
    deliver(state, this.connection, text, utf8Length(text));
  }

  #kindFailed(error: unknown): void {
    this.#shared.log(
      `error ${this.connection.id}: handler failed: ${
        error instanceof Error ? error.stack : String(error)
      }`,
    );
  }

  /** Closes from the server's side, forgetting the connection at once. */
  #closeGracefully(code: number, reason: string): void {
    const { connection } = this;
    if (connection.closeCode !== 0) return;
    markClosing(connection, code, reason);
    forget(this.#shared.state, connection, code);
    closeWhenQuiet(connection.socket, code, reason);
  }

  #opened(): void {
    const { connection } = this;
    this.#shared.log(this.#openLine);
    this.#openLine = "";
    this.#lab?.open();
    if (!this.#welcome) return;
    const { welcomeHead, welcomeTail, state } = this.#shared;
    const text =
      `${welcomeHead}${connection.id}","protocol":"${connection.protocol}"${welcomeTail}`;
    deliver(state, connection, text, text.length);
  }

  #closed(event: CloseEvent): void {
    const { connection } = this;
    if (
      event.code === CLOSE.GoingAway && !event.wasClean &&
      event.reason === IDLE_REASON
    ) {
      markClosing(connection, CLOSE.GoingAway, IDLE_REASON);
    }
    const dropped = event.code === 0 && connection.closeCode === 0
      ? "connection lost"
      : "";
    const code = event.code === 0 ? CLOSE.Abnormal : event.code;
    forget(
      this.#shared.state,
      connection,
      connection.closeCode !== 0
        ? connection.closeCode
        : dropped !== ""
        ? CLOSE.Abnormal
        : code,
    );
    this.#shared.log(closeLine(connection, event, dropped));
  }

  #stopLab(): void {
    this.#lab?.stop();
    this.#kindStream?.stop();
  }

  #labSession(params: LabParams): LabSession {
    const { state, labHighWater } = this.#shared;
    const { connection } = this;
    const { metrics, config } = state;
    for (const name of params.names) {
      increment(metrics.lab.connections, name);
    }
    return createLabSession({
      params,
      peer: {
        send: (data, size) => deliver(state, connection, data, size),
        bufferedAmount: () => connection.socket.bufferedAmount,
        close: (code, reason) => this.#closeGracefully(code, reason),
      },
      counters: metrics.lab,
      act: (data, size) => {
        if (connection.closeCode === 0) this.#answer(data, size);
      },
      maxDelayedBytes: config.maxDelayed,
      highWater: labHighWater,
    });
  }

  #kindContext(admission: Admission): KindContext {
    const { state, server } = this.#shared;
    let lastText = "";
    let lastSize = 0;
    return createKindContext(state, this.connection, server, (target, text) => {
      // A broadcast sends one string to many members: measure it once.
      if (text !== lastText) {
        lastText = text;
        lastSize = utf8Length(text);
      }
      return deliver(state, target, text, lastSize);
    }, admission.handshake && this.#labControls(admission.handshake));
  }

  #labControls(handshake: NonNullable<Admission["handshake"]>): LabControls {
    const { state, labHighWater, maxMessageSize } = this.#shared;
    const { connection } = this;
    const { config, metrics } = state;
    return {
      enabled: config.lab,
      maxEmitRate: config.maxEmitRate,
      maxMessageSize,
      handshake,
      close: (code, reason) => {
        metrics.lab.closes++;
        this.#closeGracefully(code, reason);
      },
      stream: (options, onEnd) => {
        if (this.#kindStream !== undefined || this.#lab?.streaming) {
          return false;
        }
        this.#kindStream = startStream({
          send(data, size) {
            if (!deliver(state, connection, data, size)) return false;
            metrics.lab.emitted++;
            return true;
          },
          bufferedAmount: () => connection.socket.bufferedAmount,
        }, {
          ...options,
          highWater: labHighWater,
          onPause: () => metrics.lab.streamPauses++,
          onEnd: (result) => {
            this.#kindStream = undefined;
            onEnd(result);
          },
        });
        return true;
      },
    };
  }
}

/** The log line of a close: who closed, with which code, and what the other side answered. */
function closeLine(
  connection: Connection,
  event: CloseEvent,
  dropped: string,
): string {
  const { id, ip, closeCode, closeReason, messagesIn, messagesOut } =
    connection;
  const counts = `in=${messagesIn} out=${messagesOut}`;
  const answered = event.wasClean && event.code !== 0 &&
    event.code !== CLOSE.Abnormal;
  if (closeCode !== 0) {
    return `close ${id} ${ip} closed_by=server code=${closeCode} ` +
      `reason=${JSON.stringify(closeReason)} peer_code=${
        answered ? event.code : "none"
      } ${counts}`;
  }
  if (dropped !== "" || !answered) {
    return `close ${id} ${ip} closed_by=none code=${CLOSE.Abnormal} ` +
      `reason=${JSON.stringify(dropped || event.reason)} ${counts}`;
  }
  return `close ${id} ${ip} closed_by=peer code=${event.code}` +
    `${
      event.reason ? ` reason=${JSON.stringify(event.reason)}` : ""
    } ${counts}`;
}

function logMessage(
  connection: Connection,
  data: string | ArrayBuffer,
  log: (line: string) => void,
): void {
  const preview = typeof data === "string"
    ? JSON.stringify(
      data.length > LOG_PREVIEW_LENGTH
        ? `${data.slice(0, LOG_PREVIEW_LENGTH)}…`
        : data,
    )
    : `<binary ${data.byteLength} bytes>`;
  log(`message ${connection.id} ${preview}`);
}
