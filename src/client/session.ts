/**
 * The engine of `wsecho connect`: one WebSocket connection that sends lines
 * (from `--send` or from stdin), reports every message it receives with the
 * time and, for a reply to something it sent, the round trip, and ends in a
 * {@linkcode SessionResult} that says how and why the connection ended.
 *
 * @module
 */
import {
  closeCodeMeaning,
  isSendableCloseCode,
  normalizeCloseCode,
} from "./close_codes.ts";
import { probeHandshake, type ProbeResult } from "./handshake_probe.ts";

/** What happened during a session, reported as it happens. */
export type SessionEvent =
  | {
    /** The handshake succeeded. */
    type: "open";
    /** The subprotocol the server chose; `""` for none. */
    protocol: string;
    /** The extensions the server chose. */
    extensions: string;
    /** Milliseconds from the start to `open`. */
    connectMs: number;
  }
  | {
    /** A message went out. */
    type: "sent";
    /** The text sent. */
    data: string;
    /** When, in milliseconds since the epoch. */
    at: number;
  }
  | {
    /** A message arrived. */
    type: "message";
    /** Text, or the bytes of a binary message. */
    data: string | Uint8Array;
    /** When, in milliseconds since the epoch. */
    at: number;
    /**
     * Milliseconds since the message it answers was sent: an identical text
     * (an echo) or, for JSON, the same `id`; absent when it answers nothing.
     */
    rttMs?: number;
  };

/** How a connection that had opened was closed. */
export interface CloseInfo {
  /** The close code; a dropped connection is 1006. */
  code: number;
  /** The code in words. */
  meaning: string;
  /** The reason in the close frame. */
  reason: string;
  /** Who started the close; `"network"` when the connection dropped. */
  by: "client" | "server" | "network";
}

/** How a session ended. */
export type SessionResult =
  | {
    /** The connection opened and was then closed. */
    outcome: "closed";
    /** The close. */
    close: CloseInfo;
    /** Messages received (up to `count`). */
    received: number;
    /** Messages sent. */
    sent: number;
    /** Whether `count` messages arrived. */
    countReached: boolean;
  }
  | {
    /** The `timeoutMs` ran out first. */
    outcome: "timeout";
    /** The time limit. */
    timeoutMs: number;
    /** Messages received. */
    received: number;
    /** Messages sent. */
    sent: number;
  }
  | {
    /** The handshake did not succeed. */
    outcome: "failed";
    /** What Deno's client said. */
    error: string;
    /** What a second look at the handshake found. */
    probe: ProbeResult;
  };

/** Options of {@linkcode runSession}. */
export interface SessionOptions {
  /**
   * Subprotocols to offer.
   *
   * @default {[]}
   */
  protocols?: readonly string[];
  /**
   * Extra request headers (`Origin` among them).
   *
   * @default {{}}
   */
  headers?: Readonly<Record<string, string>>;
  /**
   * Messages to send, in order, once open. When given, `input` is not read.
   *
   * @default {undefined}
   */
  send?: readonly string[];
  /**
   * Lines to send, each as one text message (stdin for the command).
   *
   * @default {undefined}
   */
  input?: AsyncIterable<string>;
  /**
   * End after this many messages have arrived; `0` ends when the input does.
   *
   * @default {0}
   */
  count?: number;
  /**
   * Give up after this many milliseconds; `0` waits for ever.
   *
   * @default {0}
   */
  timeoutMs?: number;
  /**
   * Close code sent when done: 1000 or 3000-4999.
   *
   * @default {1000}
   */
  closeCode?: number;
  /**
   * Close reason sent when done.
   *
   * @default {""}
   */
  closeReason?: string;
  /** Aborting it ends the session as if the input had ended (Ctrl-C). */
  signal?: AbortSignal;
  /** Called for each {@linkcode SessionEvent}. */
  onEvent?: (event: SessionEvent) => void;
}

/** Bound on waiting for the server's answer to our close frame. */
const CLOSE_WAIT_MS = 5000;
/** Sent messages remembered for matching replies. */
const MAX_PENDING = 10_000;

interface Pending {
  data: string;
  id: string | undefined;
  at: number;
}

/**
 * Runs one session to its end.
 *
 * @param url The `ws:` or `wss:` URL.
 * @param options What to send, when to stop, how to close.
 * @returns How it ended.
 * @throws {RangeError} For a close code a client may not send.
 */
export async function runSession(
  url: string,
  options: SessionOptions = {},
): Promise<SessionResult> {
  const {
    protocols = [],
    headers = {},
    send,
    input,
    count = 0,
    timeoutMs = 0,
    closeCode = 1000,
    closeReason = "",
    signal,
    onEvent = () => {},
  } = options;
  if (!isSendableCloseCode(closeCode)) {
    throw new RangeError(
      `Cannot close with code ${closeCode}: a client may send 1000 or 3000-4999`,
    );
  }
  const started = performance.now();
  const ws = new WebSocket(url, { protocols: [...protocols], headers });
  ws.binaryType = "arraybuffer";

  let opened = false;
  let clientClosed = false;
  let countReached = false;
  let timedOut = false;
  let received = 0;
  let sent = 0;
  let error = "";
  const pending: Pending[] = [];
  const closed = Promise.withResolvers<CloseEvent>();
  const open = Promise.withResolvers<boolean>();

  const closeNow = (code: number, reason: string) => {
    if (ws.readyState === WebSocket.CLOSING) return;
    if (ws.readyState === WebSocket.CLOSED) return;
    clientClosed = true;
    ws.close(code, reason);
  };
  const done = () => closeNow(closeCode, closeReason);

  ws.onopen = () => {
    opened = true;
    open.resolve(true);
    onEvent({
      type: "open",
      protocol: ws.protocol,
      extensions: ws.extensions,
      connectMs: performance.now() - started,
    });
  };
  ws.onerror = (event) => {
    if (!opened) error = event instanceof ErrorEvent ? event.message : "error";
  };
  ws.onclose = (event) => {
    open.resolve(false);
    closed.resolve(event);
  };
  ws.onmessage = (event) => {
    if (countReached) return;
    const at = now();
    const data = typeof event.data === "string"
      ? event.data
      : new Uint8Array(event.data as ArrayBuffer);
    received++;
    const rttMs = typeof data === "string"
      ? matchReply(pending, data, at)
      : undefined;
    onEvent(
      rttMs === undefined
        ? { type: "message", data, at }
        : { type: "message", data, at, rttMs },
    );
    if (count > 0 && received >= count) {
      countReached = true;
      done();
    }
  };

  const timer = timeoutMs > 0
    ? setTimeout(() => {
      timedOut = true;
      closeNow(1000, "timed out");
    }, timeoutMs)
    : undefined;
  const onAbort = () => done();
  signal?.addEventListener("abort", onAbort);

  try {
    if (await open.promise) {
      pump(send ?? input, (text) => {
        if (ws.readyState !== WebSocket.OPEN || countReached) return false;
        ws.send(text);
        sent++;
        const at = now();
        pending.push({ data: text, id: jsonId(text), at });
        if (pending.length > MAX_PENDING) pending.shift();
        onEvent({ type: "sent", data: text, at });
        return true;
      }).then(
        () => {
          if (count === 0) done();
        },
        // An input that cannot be read ends the session like its end.
        () => done(),
      );
    }
    const event = await waitForClose(closed.promise, () => clientClosed);
    if (timedOut && !countReached) {
      return { outcome: "timeout", timeoutMs, received, sent };
    }
    if (!opened) {
      return {
        outcome: "failed",
        error: error || `closed with code ${event.code} before opening`,
        probe: await probeHandshake(url, { protocols, headers }),
      };
    }
    const code = normalizeCloseCode(event.code);
    return {
      outcome: "closed",
      close: {
        code,
        meaning: closeCodeMeaning(code),
        reason: event.reason,
        by: clientClosed ? "client" : code === 1006 ? "network" : "server",
      },
      received,
      sent,
      countReached,
    };
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
  }
}

/** Waits for `close`; after we asked to close, for a bounded time only. */
async function waitForClose(
  closed: Promise<CloseEvent>,
  clientClosed: () => boolean,
): Promise<CloseEvent> {
  while (true) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), CLOSE_WAIT_MS);
    });
    const event = await Promise.race([closed, tick]);
    clearTimeout(timer);
    if (event !== undefined) return event;
    if (clientClosed()) {
      // The server never answered our close frame.
      return new CloseEvent("close", { code: 1006, reason: "" });
    }
  }
}

async function pump(
  source: readonly string[] | AsyncIterable<string> | undefined,
  send: (text: string) => boolean,
): Promise<void> {
  if (source === undefined) return;
  for await (const text of source) {
    if (!send(text)) return;
  }
}

/** Finds the sent message `data` answers and returns the round trip. */
function matchReply(
  pending: Pending[],
  data: string,
  at: number,
): number | undefined {
  let index = pending.findIndex((entry) => entry.data === data);
  if (index < 0) {
    const id = jsonId(data);
    if (id !== undefined) index = pending.findIndex((entry) => entry.id === id);
  }
  if (index < 0) return undefined;
  const [entry] = pending.splice(index, 1);
  return entry === undefined ? undefined : at - entry.at;
}

/** The `id` of a JSON object message, as text; `undefined` for anything else. */
function jsonId(text: string): string | undefined {
  if (!text.startsWith("{")) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== "object" || value === null) return undefined;
    const id = (value as { id?: unknown }).id;
    return typeof id === "string" || typeof id === "number"
      ? JSON.stringify(id)
      : undefined;
  } catch {
    return undefined;
  }
}

function now(): number {
  return performance.timeOrigin + performance.now();
}
