/**
 * The test lab's part of one connection: `delay` and `jitter` with order
 * kept, `drop`, `close_after`, `close_in` and the `emit` stream. Only a
 * connection that asked for the lab gets one; every other connection keeps
 * the plain message path, with no per-message check.
 *
 * @module
 */
import { CLOSE } from "../config/constants.ts";
import type { LabCounters } from "../core/lab_metrics.ts";
import { createRandom } from "../core/random.ts";
import type { LabParams } from "../protocol/lab_params.ts";
import { type LabStream, startStream } from "./lab_stream.ts";

/** What the lab needs from its connection. */
export interface LabPeer {
  /**
   * Queues a message under the slow-consumer rule.
   *
   * @returns `false` when it was not sent (the peer is gone or was closed).
   */
  send(data: string | ArrayBuffer, size: number): boolean;
  /** Bytes queued to the peer. */
  bufferedAmount(): number;
  /** Closes from the server's side, so that the close frame reaches a peer still sending. */
  close(code: number, reason: string): void;
}

/** Options of {@linkcode createLabSession}. */
export interface LabSessionOptions {
  /** What the connection asked for. */
  params: LabParams;
  /** The connection. */
  peer: LabPeer;
  /** Where to count what the lab does. */
  counters: LabCounters;
  /** Today's handling of one message: the echo, or `wsecho.v1` dispatch. */
  act: (data: string | ArrayBuffer, size: number) => void;
  /** Bytes that may wait for `delay` at once; past it, close 1008. */
  maxDelayedBytes: number;
  /** Bytes queued to the peer above which a stream pauses. */
  highWater: number;
}

/** The lab of one connection. */
export interface LabSession {
  /** Takes one message that passed the size and rate checks. */
  receive(data: string | ArrayBuffer, size: number): void;
  /** Starts the `close_in` timer and the `emit` stream: call on open. */
  open(): void;
  /** Stops every timer: call when the socket closes. */
  stop(): void;
  /** Whether its `emit` stream is running. */
  readonly streaming: boolean;
}

/**
 * Deno truncates a timer's delay to whole milliseconds, so it fires up to 1 ms
 * early; run what is due within that. Waiting for the rest would cost a new
 * timer, which fires 1 to 2 ms late: worse than up to 1 ms early.
 */
const DUE_SLACK_MS = 1;

/**
 * The timer delay for `due`. Deno truncates it to whole milliseconds, so the
 * timer fires up to 1 ms early, where {@linkcode DUE_SLACK_MS} catches it.
 * Measured with 100 holders at 2,000 a second in one process, the error was
 * 1.2 to 2.5 ms at p99; adding half a millisecond made it later (2.2 to 4.3).
 */
function timerDelay(due: number): number {
  return Math.max(0, due - performance.now());
}

/**
 * Creates the lab of one connection.
 *
 * @param options The parameters, the connection and the counters.
 * @returns The session; the connection calls its methods from its events.
 */
export function createLabSession(options: LabSessionOptions): LabSession {
  const { params, peer, counters, act, maxDelayedBytes, highWater } = options;
  const { delay, jitter, drop, closeAfter, closeCode } = params;
  const random = createRandom(params.seed);
  const delays = delay > 0 || jitter > 0;
  // Held messages as parallel arrays, not one object each: they live for the
  // whole delay, long enough to be promoted, so each object saved is old-
  // generation garbage the collector no longer has to sweep. The numbers
  // stay unboxed in their arrays.
  const heldData: (string | ArrayBuffer | undefined)[] = [];
  const heldSize: number[] = [];
  const heldDue: number[] = [];
  let head = 0;
  let heldBytes = 0;
  let lastDue = 0;
  let acted = 0;
  let closing = false;
  let holdTimer: ReturnType<typeof setTimeout> | undefined;
  let closeTimer: ReturnType<typeof setTimeout> | undefined;
  let stream: LabStream | undefined;

  const reason = (cause: string) => params.closeReason ?? cause;

  /** Closes from the server's side; `asked` when a parameter asked for it. */
  function close(code: number, why: string, asked = true): void {
    if (closing) return;
    closing = true;
    stop();
    if (asked) counters.closes++;
    peer.close(code, why);
  }

  function perform(data: string | ArrayBuffer, size: number): void {
    act(data, size);
    acted++;
    if (closeAfter > 0 && acted >= closeAfter) {
      close(closeCode, reason(`close_after=${closeAfter}`));
    }
  }

  function release(): void {
    holdTimer = undefined;
    const now = performance.now();
    while (head < heldDue.length && !closing) {
      if (heldDue[head]! > now + DUE_SLACK_MS) break;
      const data = heldData[head]!;
      const size = heldSize[head]!;
      heldData[head++] = undefined;
      heldBytes -= size;
      perform(data, size);
    }
    if (head === heldDue.length) {
      clearHeld();
    } else if (head > 1024 && head * 2 > heldDue.length) {
      heldData.splice(0, head);
      heldSize.splice(0, head);
      heldDue.splice(0, head);
      head = 0;
    }
    if (!closing && head < heldDue.length) {
      holdTimer = setTimeout(release, timerDelay(heldDue[head]!));
    }
  }

  function clearHeld(): void {
    heldData.length = heldSize.length = heldDue.length = 0;
    head = 0;
  }

  function stop(): void {
    clearTimeout(holdTimer);
    clearTimeout(closeTimer);
    holdTimer = closeTimer = undefined;
    clearHeld();
    heldBytes = 0;
    stream?.stop();
  }

  return {
    receive(data, size) {
      if (closing) return;
      if (drop > 0 && random() < drop) {
        counters.dropped++;
        return;
      }
      if (!delays) return perform(data, size);
      if (heldBytes + size > maxDelayedBytes) {
        counters.delayOverflows++;
        return close(
          CLOSE.PolicyViolation,
          `delay buffer full: the limit is ${maxDelayedBytes} bytes`,
          false,
        );
      }
      counters.delayed++;
      // Never before the previous one: order is kept whatever the jitter.
      const due = Math.max(
        performance.now() + delay + (jitter > 0 ? random() * jitter : 0),
        lastDue,
      );
      lastDue = due;
      heldData.push(data);
      heldSize.push(size);
      heldDue.push(due);
      heldBytes += size;
      if (holdTimer === undefined) {
        holdTimer = setTimeout(release, timerDelay(due));
      }
    },
    open() {
      if (params.closeIn > 0) {
        closeTimer = setTimeout(
          () => close(closeCode, reason(`close_in=${params.closeIn}`)),
          params.closeIn,
        );
      }
      if (params.emit > 0) {
        stream = startStream({
          send(data, size) {
            if (!peer.send(data, size)) return false;
            counters.emitted++;
            return true;
          },
          bufferedAmount: peer.bufferedAmount,
        }, {
          count: params.emit,
          rate: params.rate,
          size: params.size,
          binary: params.binary,
          highWater,
          onPause: () => counters.streamPauses++,
          onEnd: () => stream = undefined,
        });
      }
    },
    stop() {
      closing = true;
      stop();
    },
    get streaming() {
      return stream !== undefined;
    },
  };
}
