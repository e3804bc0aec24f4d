/**
 * A paced stream of test lab messages to one peer (`/ws?emit=N`, and the
 * `wsecho.v1` `stream` kind): `count` messages at `rate` a second, which
 * pauses while the peer is not reading instead of queueing without bound.
 *
 * @module
 */
import {
  binaryStreamFrame,
  textStreamFrame,
} from "../protocol/stream_frames.ts";

/** Where a stream sends, and how it sees the peer's backlog. */
export interface StreamSink {
  /**
   * Queues one message, under the slow-consumer rule.
   *
   * @returns `false` when the peer is gone (the stream then ends).
   */
  send(data: string | ArrayBuffer, size: number): boolean;
  /** Bytes queued to the peer and not yet written to the network. */
  bufferedAmount(): number;
}

/** How the stream went, when it ends. */
export interface StreamResult {
  /** Messages sent. */
  sent: number;
  /** Milliseconds spent paused for a peer that was not reading. */
  pausedMs: number;
  /** Times it paused. */
  pauses: number;
  /** Whether every message was sent (not stopped early). */
  complete: boolean;
}

/** Options of {@linkcode startStream}. */
export interface StreamOptions {
  /** Messages to send, numbered `seq` 1 to `count`. */
  count: number;
  /** Messages a second. */
  rate: number;
  /** Bytes of each message. */
  size: number;
  /**
   * Binary messages rather than text.
   *
   * @default {false}
   */
  binary?: boolean;
  /**
   * The `wsecho.v1` stream id, already JSON-encoded.
   *
   * @default {undefined}
   */
  id?: string | undefined;
  /**
   * Pause while more than this many bytes are queued to the peer.
   *
   * @default {1048576}
   */
  highWater?: number;
  /**
   * Called once, when the last message is sent or the stream is stopped.
   *
   * @default {() => {}}
   */
  onEnd?: (result: StreamResult) => void;
  /**
   * Called for each pause, as it starts.
   *
   * @default {() => {}}
   */
  onPause?: () => void;
}

/** A running stream. */
export interface LabStream {
  /** Messages sent so far. */
  readonly sent: number;
  /** Stops it (its `onEnd` runs with `complete: false`); idempotent. */
  stop(): void;
}

/** How often a paused stream looks at the peer's backlog again, in milliseconds. */
export const STREAM_PAUSE_POLL_MS = 5;

/**
 * Starts a stream. Messages are due at fixed times from the start, so a late
 * timer sends the overdue ones at once and the rate does not drift; a pause
 * moves the schedule on by its length instead of bursting afterwards.
 *
 * @param sink Where to send.
 * @param options What to send, how fast, and what to call back.
 * @returns The stream, to stop it when the socket closes.
 */
export function startStream(
  sink: StreamSink,
  options: StreamOptions,
): LabStream {
  const {
    count,
    rate,
    size,
    binary = false,
    id,
    highWater = 1024 * 1024,
    onEnd = () => {},
    onPause = () => {},
  } = options;
  const period = 1000 / rate;
  let sent = 0;
  let pausedMs = 0;
  let pauses = 0;
  let pausedAt = -1;
  let start = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let ended = false;

  function end(complete: boolean): void {
    if (ended) return;
    ended = true;
    clearTimeout(timer);
    onEnd({ sent, pausedMs: Math.round(pausedMs), pauses, complete });
  }

  function tick(): void {
    const now = performance.now();
    if (pausedAt >= 0) {
      if (sink.bufferedAmount() > highWater / 2) {
        timer = setTimeout(tick, STREAM_PAUSE_POLL_MS);
        return;
      }
      // Resume on the same cadence, shifted by the pause.
      pausedMs += now - pausedAt;
      start += now - pausedAt;
      pausedAt = -1;
    }
    while (sent < count && start + sent * period <= now + 0.5) {
      if (sink.bufferedAmount() > highWater) {
        pausedAt = now;
        pauses++;
        onPause();
        timer = setTimeout(tick, STREAM_PAUSE_POLL_MS);
        return;
      }
      const seq = sent + 1;
      const t = performance.timeOrigin + performance.now();
      let ok: boolean;
      if (binary) ok = sink.send(binaryStreamFrame(seq, t, size), size);
      else {
        const frame = textStreamFrame(seq, t, size, id);
        ok = sink.send(frame, frame.length);
      }
      if (!ok) return end(false);
      sent = seq;
    }
    if (sent >= count) return end(true);
    timer = setTimeout(
      tick,
      Math.max(0, start + sent * period - performance.now()),
    );
  }

  timer = setTimeout(tick, 0);
  return {
    get sent() {
      return sent;
    },
    stop: () => end(false),
  };
}
