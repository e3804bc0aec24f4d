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
import { formatLabParams } from "../protocol/lab_params.ts";
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
  const { config, registry, metrics, log } = state;
  const { maxMessageSize, maxMessagesPerSecond, verbose } = config;
  const server: KindServer = {
    instance: state.instance,
    uptimeSeconds: () => uptimeSeconds(state),
    // In a cluster: every instance's connections, this one's exactly.
    connections: () => state.cluster.connections(registry.size),
    kinds: summarizeKinds(kinds.values()),
  };
  const labHighWater = Math.min(LAB_STREAM_HIGH_WATER, config.maxBuffered / 2);
  const welcomeTail = `,"protocols":${JSON.stringify(SUPPORTED_PROTOCOLS)}}`;
  const welcomeHead = `{"type":"welcome","server":${JSON.stringify(NAME)},` +
    `"version":${JSON.stringify(VERSION)},"id":"`;

  return function startSession(socket, admission) {
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
      counters: json ? metrics.json : metrics.echo,
      unchecked: 0,
      closeCode: 0,
      closeReason: "",
      released: false,
    };
    const { counters } = connection;
    // Registered now, not on open, so that concurrent handshakes count against the caps.
    registry.add(connection);
    metrics.accepted++;
    socket.binaryType = "arraybuffer";
    let kindStream: LabStream | undefined;
    const context = json ? kindContext() : undefined;
    // The lab's listener is chosen here, once: a connection without lab
    // parameters never pays a per-message check for it.
    const lab = labParams === undefined ? undefined : createLabSession({
      params: labParams,
      peer: {
        send: (data, size) => deliver(state, connection, data, size),
        bufferedAmount: () => socket.bufferedAmount,
        close: closeGracefully,
      },
      counters: metrics.lab,
      act: answer,
      maxDelayedBytes: config.maxDelayed,
      highWater: labHighWater,
    });
    if (labParams !== undefined) {
      for (const name of labParams.names) {
        increment(metrics.lab.connections, name);
      }
    }

    /** Closes from the server's side, forgetting the connection at once. */
    function closeGracefully(code: number, reason: string): void {
      if (connection.closeCode !== 0) return;
      markClosing(connection, code, reason);
      forget(state, connection, code);
      closeWhenQuiet(socket, code, reason);
    }

    function kindContext(): KindContext {
      let lastText = "";
      let lastSize = 0;
      return createKindContext(state, connection, server, (target, text) => {
        // A broadcast sends one string to many members: measure it once.
        if (text !== lastText) {
          lastText = text;
          lastSize = utf8Length(text);
        }
        return deliver(state, target, text, lastSize);
      }, admission.handshake && labControls(admission.handshake));
    }

    function labControls(
      handshake: NonNullable<Admission["handshake"]>,
    ): LabControls {
      return {
        enabled: config.lab,
        maxEmitRate: config.maxEmitRate,
        maxMessageSize,
        handshake,
        close(code, reason) {
          metrics.lab.closes++;
          closeGracefully(code, reason);
        },
        stream(options, onEnd) {
          if (kindStream !== undefined || lab?.streaming) return false;
          kindStream = startStream({
            send(data, size) {
              if (!deliver(state, connection, data, size)) return false;
              metrics.lab.emitted++;
              return true;
            },
            bufferedAmount: () => socket.bufferedAmount,
          }, {
            ...options,
            highWater: labHighWater,
            onPause: () => metrics.lab.streamPauses++,
            onEnd(result) {
              kindStream = undefined;
              onEnd(result);
            },
          });
          return true;
        },
      };
    }

    function reply(message: ServerMessage): void {
      if (message.type === "error") {
        increment(metrics.errors, String(message.code));
      }
      const text = JSON.stringify(message);
      deliver(state, connection, text, utf8Length(text));
    }

    /**
     * What every message goes through first: counting, `--verbose`, the size
     * and rate limits.
     *
     * @returns The message's size, or -1 when it is not to be acted on.
     */
    function accept(data: string | ArrayBuffer): number {
      // After a server-side close the peer's input is read but not acted on.
      if (connection.closeCode !== 0) return -1;
      const size = typeof data === "string"
        ? utf8Length(data)
        : data.byteLength;
      connection.messagesIn++;
      counters.messagesIn++;
      counters.bytesIn += size;
      if (verbose) logMessage(connection, data, log);
      if (size > maxMessageSize) {
        closeGracefully(
          CLOSE.MessageTooBig,
          `message too big: the limit is ${maxMessageSize} bytes`,
        );
        return -1;
      }
      if (maxMessagesPerSecond > 0 && !admit(data)) return -1;
      return size;
    }

    function onMessage(event: MessageEvent<string | ArrayBuffer>): void {
      const data = event.data;
      const size = accept(data);
      if (size === -1) return;
      if (context !== undefined && typeof data === "string") {
        const result = dispatchMessage(data, kinds, context, onKindError);
        if (result !== undefined) reply(result);
      } else {
        deliver(state, connection, data, size);
      }
    }

    /**
     * The lab's listener: the same {@linkcode accept}, then the lab (delay,
     * drop, close_after) decides when `answer` runs. Chosen at the upgrade, so
     * the plain path never checks for the lab.
     */
    function onLabMessage(event: MessageEvent<string | ArrayBuffer>): void {
      const data = event.data;
      const size = accept(data);
      if (size !== -1) (lab as LabSession).receive(data, size);
    }

    /** What `onMessage` does with an accepted message, for the lab to call when it is due. */
    function answer(data: string | ArrayBuffer, size: number): void {
      if (connection.closeCode !== 0) return;
      if (context !== undefined && typeof data === "string") {
        const result = dispatchMessage(data, kinds, context, onKindError);
        if (result !== undefined) reply(result);
      } else {
        deliver(state, connection, data, size);
      }
    }

    function onKindError(error: unknown): void {
      log(
        `error ${connection.id}: handler failed: ${
          error instanceof Error ? error.stack : String(error)
        }`,
      );
    }

    /** Applies the rate limit; only called when one is set. */
    function admit(data: string | ArrayBuffer): boolean {
      if (takeToken(connection, maxMessagesPerSecond, performance.now())) {
        connection.throttled = 0;
        return true;
      }
      connection.throttled++;
      // A raw echo has no error frame to send, so it closes at once; wsecho.v1
      // clients are told, and closed after a further second's worth of refusals.
      if (!json || connection.throttled > maxMessagesPerSecond) {
        closeGracefully(CLOSE.PolicyViolation, "rate limit exceeded");
      } else {
        reply(errorMessage(
          "rate_limited",
          `Rate limit exceeded: at most ${maxMessagesPerSecond} messages a second`,
          typeof data === "string" ? peekId(data) : undefined,
        ));
      }
      return false;
    }

    const openLine = `open ${connection.id} ${connection.ip}${
      json ? ` protocol=${protocol}` : ""
    }${labParams === undefined ? "" : ` lab=${formatLabParams(labParams)}`}`;
    if (welcome || lab !== undefined) {
      socket.addEventListener("open", () => {
        log(openLine);
        lab?.open();
        if (!welcome) return;
        const text =
          `${welcomeHead}${connection.id}","protocol":"${protocol}"${welcomeTail}`;
        deliver(state, connection, text, text.length);
      });
    } else {
      // Nothing to do on open, so log the accepted upgrade now and spare the
      // listener and the open event's dispatch (~500 bytes per connect).
      log(openLine);
    }
    socket.addEventListener("message", lab ? onLabMessage : onMessage);
    if (lab !== undefined || context?.lab !== undefined) {
      const stopLab = () => {
        lab?.stop();
        kindStream?.stop();
      };
      socket.addEventListener("close", stopLab);
      socket.addEventListener("error", stopLab);
    }
    // No "error" listener of our own: every listener costs ~300 bytes and a
    // record per connect, and the close event tells the same story. Deno
    // closes a peer that missed its pong with 1001 itself (close event: 1001,
    // IDLE_REASON, not clean), and ends an abrupt one (after an error event)
    // with code 0.
    socket.addEventListener("close", (event) => {
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
        state,
        connection,
        connection.closeCode !== 0
          ? connection.closeCode
          : dropped !== ""
          ? CLOSE.Abnormal
          : code,
      );
      log(closeLine(connection, event, dropped));
    });
    return connection;
  };
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
