/**
 * The engine of `wsecho bench` and of the project's benchmark generator: many
 * WebSocket connections to any RFC 6455 echo server, driven in a closed loop
 * (a fixed number of messages in flight per connection) or an open loop (a
 * fixed total rate), with every echo compared byte for byte with what was
 * sent and round trips kept in an HdrHistogram. Stream mode instead reads a
 * wsecho test-lab stream (`?emit=N&rate=R&size=B`) and measures one-way loss,
 * reordering and latency from each message's `seq` and `t`.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { closeCodeMeaning, normalizeCloseCode } from "./close_codes.ts";
import { probeHandshake, statusFromError } from "./handshake_probe.ts";
import { LatencyHistogram, type LatencySummary } from "./latency.ts";

export type { LatencySummary } from "./latency.ts";

/** Options of {@linkcode runLoad}. */
export interface LoadOptions {
  /**
   * Subprotocols to offer.
   *
   * @default {[]}
   */
  protocols?: readonly string[];
  /**
   * Extra request headers.
   *
   * @default {{}}
   */
  headers?: Readonly<Record<string, string>>;
  /**
   * Connections to open.
   *
   * @default {64}
   */
  connections?: number;
  /**
   * Closed loop: messages in flight on each connection.
   *
   * @default {16}
   */
  inFlight?: number;
  /**
   * Open loop: messages a second in total, spread over the connections;
   * `0` runs the closed loop. In stream mode, the total emission rate
   * asked of the server, split into whole messages a second per connection
   * (`0` means 1,000).
   *
   * @default {0}
   */
  rate?: number;
  /**
   * Payload size in bytes.
   *
   * @default {32}
   */
  size?: number;
  /**
   * Send binary frames rather than text.
   *
   * @default {false}
   */
  binary?: boolean;
  /**
   * The timed window, in milliseconds.
   *
   * @default {10_000}
   */
  durationMs?: number;
  /**
   * Load before the timed window, not counted in the rates and latencies.
   *
   * @default {1000}
   */
  warmupMs?: number;
  /**
   * An echo slower than this counts as late; after the window, outstanding
   * messages get this long before they count as missing.
   *
   * @default {5000}
   */
  lateMs?: number;
  /**
   * Handshakes in flight at once while connecting.
   *
   * @default {64}
   */
  connectConcurrency?: number;
  /**
   * Read a test-lab stream (`?emit=`) instead of echoing.
   *
   * @default {false}
   */
  stream?: boolean;
  /** Aborting it ends the timed window early. */
  signal?: AbortSignal;
  /** Called about once a second while the load runs. */
  onProgress?: (progress: LoadProgress) => void;
  /** Awaited once every connection is open, before any message is sent. */
  onReady?: () => void | Promise<void>;
  /** Called as the timed window starts. */
  onMeasureStart?: () => void;
  /** Called as the timed window ends. */
  onMeasureEnd?: () => void;
}

/** A progress report, about once a second. */
export interface LoadProgress {
  /** Milliseconds since the load started (warm-up included). */
  elapsedMs: number;
  /** Where the run is. */
  phase: "warmup" | "measure" | "drain";
  /** Messages received per second since the last report. */
  messagesPerSecond: number;
  /** The 99th percentile latency so far in this phase, in microseconds. */
  p99: number;
  /** Errors so far: mismatched, late and failed or dropped connections. */
  errors: number;
}

/** The close codes seen at the end, one row per code and side. */
export interface CloseCount {
  /** The code; a dropped connection is 1006. */
  code: number;
  /** The code in words. */
  meaning: string;
  /** Who started the close. */
  by: "client" | "server" | "network";
  /** How many connections closed so. */
  count: number;
}

/** The result of {@linkcode runLoad}. */
export interface LoadReport {
  /** Closed loop, open loop, or a test-lab stream. */
  mode: "closed" | "open" | "stream";
  /** The URL. */
  url: string;
  /** The settings the run used, defaults filled in. */
  settings: {
    connections: number;
    inFlight: number;
    rate: number;
    size: number;
    binary: boolean;
    durationMs: number;
    warmupMs: number;
    lateMs: number;
  };
  /** How connecting went. */
  connections: {
    /** Connections tried. */
    attempted: number;
    /** Connections that opened. */
    opened: number;
    /** Connections that did not open. */
    failed: number;
    /** HTTP statuses of refused handshakes, and how often each was seen. */
    statuses: Record<string, number>;
    /** The first refused handshake's status line and first body line. */
    refusal: string;
    /** Other reasons connections failed, and how often. */
    errors: Record<string, number>;
    /** Connections the server closed or that dropped before the end. */
    closedEarly: number;
    /** Time from `new WebSocket` to `open`, in microseconds. */
    connectTime: LatencySummary;
  };
  /** Message counts over the whole run, warm-up included. */
  messages: {
    /** Messages sent (stream mode: messages the server was asked for). */
    sent: number;
    /** Echoes identical to what was sent (stream mode: valid stream messages). */
    echoed: number;
    /** Echoes that differed from the message they answer. */
    mismatched: number;
    /** Messages with no answer by the end (stream mode: lost). */
    missing: number;
    /** Answers slower than `lateMs`. */
    late: number;
    /** wsecho welcome frames skipped before the first echo. */
    unsolicited: number;
    /** Stream mode: messages received twice. */
    duplicated: number;
    /** Stream mode: messages that arrived after a later one. */
    reordered: number;
  };
  /** Length of the timed window in seconds. */
  seconds: number;
  /** Answers received per second in the timed window. */
  messagesPerSecond: number;
  /** Payload MiB answered per second in the timed window. */
  mibPerSecond: number;
  /** Round-trip (stream mode: one-way) latency in the timed window, in microseconds. */
  latency: LatencySummary;
  /** Open loop: how far behind the schedule messages went out, in microseconds. */
  sendLag: LatencySummary;
  /**
   * Open loop: time from each message's scheduled send to its echo, in
   * microseconds: the round trip plus the send lag, what a user of a
   * fixed-rate service waits (no coordinated omission).
   */
  scheduledLatency: LatencySummary;
  /** Close codes seen. */
  closes: CloseCount[];
  /** Up to ten descriptions of what went wrong. */
  failures: string[];
  /** `true` when nothing went wrong: a clean run. */
  ok: boolean;
}

const MiB = 1024 * 1024;
const MAX_FAILURES = 10;
const CLOSE_WAIT_MS = 5000;
const CONNECT_TIMEOUT_MS = 15_000;
const PROGRESS_MS = 1000;
const WELCOME_PREFIX = '{"type":"welcome"';
const DEFAULT_STREAM_RATE = 1000;

type Phase = "warmup" | "measure" | "drain";
type Payload = string | Uint8Array;

interface Opened {
  ws: WebSocket;
  index: number;
  /** Messages that arrived before a driver took the socket over. */
  early: MessageEvent[];
  /** Set once the engine's own close starts or the connection has ended. */
  ending: boolean;
}

/** Counters shared by every connection during a run. */
class Tally {
  sent = 0;
  echoed = 0;
  mismatched = 0;
  late = 0;
  unsolicited = 0;
  duplicated = 0;
  reordered = 0;
  lost = 0;
  closedEarly = 0;
  failures: string[] = [];
  closes = new Map<string, CloseCount>();

  fail(message: string): void {
    if (this.failures.length < MAX_FAILURES) this.failures.push(message);
  }

  close(code: number, by: CloseCount["by"]): void {
    const key = `${code}/${by}`;
    const row = this.closes.get(key);
    if (row) row.count++;
    else {
      this.closes.set(key, {
        code,
        meaning: closeCodeMeaning(code),
        by,
        count: 1,
      });
    }
  }

  get errors(): number {
    return this.mismatched + this.late + this.closedEarly + this.duplicated +
      this.reordered;
  }
}

/**
 * Runs a load against `url` and reports what happened.
 *
 * @param url A `ws:` or `wss:` URL of an echo server (stream mode: of a
 *   wsecho server with the test lab).
 * @param options The shape of the load.
 * @returns The report; `ok` is `false` when anything went wrong.
 *
 * @example Four connections, two messages in flight each, for one second
 * ```ts ignore
 * import { runLoad } from "./load.ts";
 * const report = await runLoad("ws://127.0.0.1:8080/ws?welcome=0", {
 *   connections: 4,
 *   inFlight: 2,
 *   durationMs: 1000,
 * });
 * console.log(report.messagesPerSecond, report.latency.p99);
 * ```
 */
export async function runLoad(
  url: string,
  options: LoadOptions = {},
): Promise<LoadReport> {
  const {
    protocols = [],
    headers = {},
    connections = 64,
    inFlight = 16,
    rate = 0,
    size = 32,
    binary = false,
    durationMs = 10_000,
    warmupMs = 1000,
    lateMs = 5000,
    connectConcurrency = 64,
    stream = false,
    signal,
    onProgress,
    onReady,
    onMeasureStart,
    onMeasureEnd,
  } = options;
  const mode = stream ? "stream" : rate > 0 ? "open" : "closed";
  // Whole messages a second per stream: a test lab may take integers only.
  const streamRate = Math.max(
    1,
    Math.round((rate > 0 ? rate : DEFAULT_STREAM_RATE) / connections),
  );
  const settings = {
    connections,
    inFlight,
    rate: stream ? streamRate * connections : rate,
    size,
    binary,
    durationMs,
    warmupMs,
    lateMs,
  };
  const tally = new Tally();
  const connectTime = new LatencyHistogram();
  const failedTo = {
    statuses: {} as Record<string, number>,
    errors: {} as Record<string, number>,
    refusal: "",
  };
  const perConnectionEmit = stream
    ? Math.max(
      1,
      Math.round(streamRate * (warmupMs + durationMs) / 1000),
    )
    : 0;
  const connectUrl = stream
    ? streamUrl(url, perConnectionEmit, streamRate, size, binary)
    : url;

  const sockets = await openAll(connectUrl, {
    protocols,
    headers,
    count: connections,
    concurrency: connectConcurrency,
    connectTime,
    failedTo,
    tally,
  });

  const latency = new LatencyHistogram();
  const sendLag = new LatencyHistogram();
  const scheduledLatency = new LatencyHistogram();
  let phase: Phase = "warmup";
  let answered = 0;
  let measured = 0;
  const drained = Promise.withResolvers<void>();
  let outstanding = 0;
  const settle = () => {
    if (phase === "drain" && outstanding <= 0) drained.resolve();
  };

  await onReady?.();

  const drivers = sockets.map((socket) =>
    stream
      ? streamDriver(socket, {
        emit: perConnectionEmit,
        lateMs,
        tally,
        onAnswer: (oneWayUs) => {
          answered++;
          if (phase === "measure") {
            measured++;
            latency.record(oneWayUs);
          }
        },
        onDone: () => {
          outstanding--;
          settle();
        },
      })
      : echoDriver(socket, {
        size,
        binary,
        lateMs,
        tally,
        closedLoop: mode === "closed",
        phase: () => phase,
        onSend: () => {
          outstanding++;
        },
        onAnswer: (roundTripUs, fromScheduleUs) => {
          answered++;
          outstanding--;
          if (phase === "measure") {
            measured++;
            latency.record(roundTripUs);
            if (fromScheduleUs !== undefined) {
              scheduledLatency.record(fromScheduleUs);
            }
          }
          settle();
        },
        onLost: (count) => {
          outstanding -= count;
          settle();
        },
      })
  );

  const t0 = performance.now();
  let stopSchedule = () => {};
  if (stream) outstanding = drivers.length;
  else if (mode === "closed") {
    for (const driver of drivers) {
      for (let i = 0; i < inFlight; i++) driver.send(performance.now());
    }
  } else {
    stopSchedule = schedule(drivers, rate, sendLag, () => phase);
  }

  let lastProgress = { at: t0, answered: 0 };
  const progress = onProgress
    ? setInterval(() => {
      const now = performance.now();
      onProgress({
        elapsedMs: now - t0,
        phase,
        messagesPerSecond: (answered - lastProgress.answered) * 1000 /
          (now - lastProgress.at),
        p99: latency.percentile(99),
        errors: tally.errors + failedToCount(failedTo),
      });
      lastProgress = { at: now, answered };
    }, PROGRESS_MS)
    : undefined;

  const stopped = Promise.withResolvers<void>();
  const onAbort = () => stopped.resolve();
  signal?.addEventListener("abort", onAbort);
  if (signal?.aborted) stopped.resolve();
  // Nothing to time without a connection.
  if (sockets.length === 0) stopped.resolve();
  let seconds = 0;
  try {
    await sleepOrStop(warmupMs, stopped.promise);
    phase = "measure";
    onMeasureStart?.();
    const start = performance.now();
    await sleepOrStop(durationMs, stopped.promise);
    phase = "drain";
    stopSchedule();
    seconds = (performance.now() - start) / 1000;
    onMeasureEnd?.();
    if (outstanding > 0) {
      await sleepOrStop(lateMs, drained.promise);
    }
  } finally {
    clearInterval(progress);
    signal?.removeEventListener("abort", onAbort);
    stopSchedule();
  }

  for (const driver of drivers) driver.finish();
  await closeAll(sockets, tally);
  const missing = stream
    ? tally.lost
    : drivers.reduce((sum, driver) => sum + driver.outstanding(), 0);
  if (missing > 0) tally.fail(`${missing} messages got no answer`);

  const failed = connections - sockets.length;
  const messages = {
    sent: stream ? perConnectionEmit * sockets.length : tally.sent,
    echoed: tally.echoed,
    mismatched: tally.mismatched,
    missing,
    late: tally.late,
    unsolicited: tally.unsolicited,
    duplicated: tally.duplicated,
    reordered: tally.reordered,
  };
  return {
    mode,
    url: connectUrl,
    settings,
    connections: {
      attempted: connections,
      opened: sockets.length,
      failed,
      statuses: failedTo.statuses,
      refusal: failedTo.refusal,
      errors: failedTo.errors,
      closedEarly: tally.closedEarly,
      connectTime: connectTime.summarize(),
    },
    messages,
    seconds,
    messagesPerSecond: seconds > 0 ? measured / seconds : 0,
    mibPerSecond: seconds > 0 ? measured * size / MiB / seconds : 0,
    latency: latency.summarize(),
    sendLag: sendLag.summarize(),
    scheduledLatency: scheduledLatency.summarize(),
    closes: [...tally.closes.values()].sort((a, b) => a.code - b.code),
    failures: tally.failures,
    ok: sockets.length > 0 && failed === 0 && tally.errors === 0 &&
      missing === 0,
  };
}

function failedToCount(failedTo: {
  statuses: Record<string, number>;
  errors: Record<string, number>;
}): number {
  let total = 0;
  for (const n of Object.values(failedTo.statuses)) total += n;
  for (const n of Object.values(failedTo.errors)) total += n;
  return total;
}

/**
 * Appends the test lab's stream parameters to a URL.
 *
 * @param url The WebSocket URL.
 * @param emit Messages to ask for.
 * @param rate Messages a second.
 * @param size Message size in bytes.
 * @param binary Ask for binary frames.
 * @returns The URL with `emit`, `rate`, `size` (and `binary=1`) set.
 */
export function streamUrl(
  url: string,
  emit: number,
  rate: number,
  size: number,
  binary: boolean,
): string {
  const target = new URL(url);
  target.searchParams.set("emit", String(emit));
  target.searchParams.set("rate", String(rate));
  target.searchParams.set("size", String(size));
  if (binary) target.searchParams.set("binary", "1");
  return target.href;
}

function sleepOrStop(ms: number, stop: Promise<void>): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const sleep = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  return Promise.race([sleep, stop]).finally(() => clearTimeout(timer));
}

interface OpenAllOptions {
  protocols: readonly string[];
  headers: Readonly<Record<string, string>>;
  count: number;
  concurrency: number;
  connectTime: LatencyHistogram;
  failedTo: {
    statuses: Record<string, number>;
    errors: Record<string, number>;
    refusal: string;
  };
  tally: Tally;
}

async function openAll(
  url: string,
  options: OpenAllOptions,
): Promise<Opened[]> {
  const { count, concurrency, connectTime, failedTo, tally } = options;
  const opened: Opened[] = [];
  let next = 0;
  let probed = false;
  await Promise.all(
    Array.from({ length: Math.min(count, concurrency) }, async () => {
      while (next < count) {
        const index = next++;
        const started = performance.now();
        const result = await openOne(url, options);
        if (!(typeof result === "string")) {
          connectTime.record((performance.now() - started) * 1000);
          opened.push({ ...result, index, ending: false });
          continue;
        }
        const status = statusFromError(result);
        if (status !== undefined) {
          failedTo.statuses[status] = (failedTo.statuses[status] ?? 0) + 1;
          if (!probed) {
            probed = true;
            const probe = await probeHandshake(url, options);
            if (probe.kind === "status") {
              failedTo.refusal = `HTTP ${probe.status} ${probe.statusText}${
                probe.bodyLine ? `: ${probe.bodyLine}` : ""
              }${
                probe.retryAfter ? ` (Retry-After: ${probe.retryAfter})` : ""
              }`;
            }
          }
        } else {
          failedTo.errors[result] = (failedTo.errors[result] ?? 0) + 1;
        }
        tally.fail(`Connection ${index + 1} failed: ${result}`);
      }
    }),
  );
  opened.sort((a, b) => a.index - b.index);
  return opened;
}

/** Opens one connection; resolves with it, or with why it failed. */
function openOne(
  url: string,
  options: OpenAllOptions,
): Promise<{ ws: WebSocket; early: MessageEvent[] } | string> {
  const { promise, resolve } = Promise.withResolvers<
    { ws: WebSocket; early: MessageEvent[] } | string
  >();
  const ws = new WebSocket(url, {
    protocols: [...options.protocols],
    headers: options.headers,
  });
  ws.binaryType = "arraybuffer";
  let error = "";
  const timer = setTimeout(() => {
    error = `no handshake within ${CONNECT_TIMEOUT_MS} ms`;
    ws.close();
  }, CONNECT_TIMEOUT_MS);
  ws.onopen = () => {
    clearTimeout(timer);
    ws.onopen = ws.onerror = ws.onclose = null;
    // Keep what arrives while the other connections open (a welcome, or a
    // stream that starts at once) for the driver.
    const early: MessageEvent[] = [];
    ws.onmessage = (event) => early.push(event);
    resolve({ ws, early });
  };
  ws.onerror = (event) => {
    error ||= (event instanceof ErrorEvent ? event.message : "error")
      .replace(/^NetworkError: failed to connect to WebSocket: /, "");
  };
  ws.onclose = (event) => {
    clearTimeout(timer);
    resolve(error || `closed with code ${event.code} while connecting`);
  };
  return promise;
}

async function closeAll(sockets: Opened[], tally: Tally): Promise<void> {
  await Promise.all(sockets.map(async (socket) => {
    const { ws } = socket;
    socket.ending = true;
    if (ws.readyState === WebSocket.CLOSED) return;
    const { promise, resolve } = Promise.withResolvers<
      CloseEvent | undefined
    >();
    ws.onmessage = null;
    ws.onclose = (event) => resolve(event);
    const timer = setTimeout(() => resolve(undefined), CLOSE_WAIT_MS);
    if (ws.readyState === WebSocket.OPEN) ws.close(1000);
    const event = await promise;
    clearTimeout(timer);
    if (event === undefined) {
      tally.fail(
        `Connection ${
          socket.index + 1
        }: no close answer within ${CLOSE_WAIT_MS} ms`,
      );
      tally.close(1006, "network");
    } else {
      tally.close(normalizeCloseCode(event.code), "client");
    }
  }));
}

/** Notes a close the engine did not start. */
function watchEarlyClose(
  socket: Opened,
  tally: Tally,
  onClose: () => void,
  expected: (code: number) => boolean = () => false,
): void {
  socket.ws.onclose = (event) => {
    if (socket.ending) return;
    socket.ending = true;
    const code = normalizeCloseCode(event.code);
    const by = code === 1006 ? "network" : "server";
    tally.close(code, by);
    if (!expected(code)) {
      tally.closedEarly++;
      tally.fail(
        `Connection ${socket.index + 1} closed by the ${by}: ${code} (${
          closeCodeMeaning(code)
        })${event.reason ? ` "${event.reason}"` : ""}`,
      );
    }
    onClose();
  };
}

/** Hands the messages that arrived before the driver to its handler. */
function replayEarly(socket: Opened): void {
  const handler = socket.ws.onmessage;
  for (const event of socket.early.splice(0)) handler?.call(socket.ws, event);
}

interface Driver {
  /** Sends one message; `intended` is when the schedule wanted it sent. */
  send(intended: number): void;
  /** Messages without an answer yet. */
  outstanding(): number;
  /** Stops reacting to messages before the close. */
  finish(): void;
}

interface EchoDriverOptions {
  size: number;
  binary: boolean;
  lateMs: number;
  tally: Tally;
  closedLoop: boolean;
  phase: () => Phase;
  onSend: () => void;
  /** `fromScheduleUs` is given in the open loop only. */
  onAnswer: (roundTripUs: number, fromScheduleUs?: number) => void;
  onLost: (count: number) => void;
}

/** Sends and checks echoes on one connection. */
function echoDriver(socket: Opened, options: EchoDriverOptions): Driver {
  const { ws, index } = socket;
  const {
    size,
    binary,
    lateMs,
    tally,
    closedLoop,
    phase,
    onSend,
    onAnswer,
    onLost,
  } = options;
  const payloads = new Payloads(size, binary);
  const sent: Payload[] = [];
  const sentAt: number[] = [];
  // Open loop only: when the schedule wanted each message sent.
  const scheduledAt: number[] = [];
  const spares: Uint8Array[] = [];
  let head = 0;
  let seq = 0;
  let answers = 0;
  let alive = true;

  const send = (intended: number) => {
    if (!alive) return;
    const payload = payloads.make(index, seq++, spares.pop());
    sent.push(payload);
    sentAt.push(performance.now());
    if (!closedLoop) scheduledAt.push(intended);
    tally.sent++;
    onSend();
    ws.send(payload);
  };

  ws.onmessage = (event) => {
    const now = performance.now();
    const data = event.data;
    if (
      answers === 0 && typeof data === "string" &&
      data.startsWith(WELCOME_PREFIX)
    ) {
      // wsecho greets each connection unless asked not to (`?welcome=0`).
      tally.unsolicited++;
      return;
    }
    const expected = sent[head];
    if (expected === undefined) {
      tally.mismatched++;
      tally.fail(`Connection ${index + 1}: unsolicited ${describe(data)}`);
      return;
    }
    const startedAt = sentAt[head] as number;
    const scheduled = scheduledAt[head];
    head++;
    answers++;
    if (head > 1024) {
      sent.splice(0, head);
      sentAt.splice(0, head);
      if (!closedLoop) scheduledAt.splice(0, head);
      head = 0;
    }
    const roundTripMs = now - startedAt;
    if (!payloads.equal(data, expected)) {
      tally.mismatched++;
      tally.fail(
        `Connection ${index + 1}: echo differs: got ${describe(data)}, sent ${
          describe(expected)
        }`,
      );
    } else {
      tally.echoed++;
      if (expected instanceof Uint8Array) spares.push(expected);
    }
    if (roundTripMs > lateMs) tally.late++;
    onAnswer(
      roundTripMs * 1000,
      scheduled === undefined ? undefined : (now - scheduled) * 1000,
    );
    if (closedLoop && phase() !== "drain") send(now);
  };
  watchEarlyClose(socket, tally, () => {
    alive = false;
    onLost(sent.length - head);
  });
  replayEarly(socket);

  return {
    send,
    outstanding: () => sent.length - head,
    finish: () => {
      alive = false;
    },
  };
}

/**
 * The open loop's clock: sends `rate` messages a second in total, round
 * robin over the connections, catching up after a late timer with a burst
 * (the lag is recorded).
 */
function schedule(
  drivers: Driver[],
  rate: number,
  sendLag: LatencyHistogram,
  phase: () => Phase,
): () => void {
  const interval = 1000 / rate;
  let due = performance.now();
  let next = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = drivers.length === 0;
  const tick = () => {
    const now = performance.now();
    while (due <= now && !stopped && phase() !== "drain") {
      const driver = drivers[next++ % drivers.length] as Driver;
      driver.send(due);
      sendLag.record((now - due) * 1000);
      due += interval;
    }
    if (!stopped && phase() !== "drain") {
      timer = setTimeout(tick, Math.max(0, due - performance.now()));
    }
  };
  tick();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

interface StreamDriverOptions {
  emit: number;
  lateMs: number;
  tally: Tally;
  onAnswer: (oneWayUs: number) => void;
  onDone: () => void;
}

/** Reads one test-lab stream and checks its `seq` numbers. */
function streamDriver(socket: Opened, options: StreamDriverOptions): Driver {
  const { ws, index } = socket;
  const { emit, lateMs, tally, onAnswer, onDone } = options;
  // Sequence numbers from 0 to emit, so a stream counting from 0 or 1 fits.
  const seen = new Uint8Array(emit + 1);
  let unique = 0;
  let highest = -1;
  let done = false;
  let messages = 0;
  const finishStream = () => {
    if (done) return;
    done = true;
    tally.lost += Math.max(0, emit - unique);
    onDone();
  };

  ws.onmessage = (event) => {
    const at = performance.timeOrigin + performance.now();
    const data = event.data;
    if (
      messages === 0 && typeof data === "string" &&
      data.startsWith(WELCOME_PREFIX)
    ) {
      tally.unsolicited++;
      return;
    }
    messages++;
    const frame = parseStreamFrame(data);
    if (frame === undefined || frame.seq > emit || frame.seq < 0) {
      tally.mismatched++;
      tally.fail(
        `Connection ${index + 1}: not a stream message: ${describe(data)}`,
      );
      return;
    }
    if (seen[frame.seq] === 1) {
      tally.duplicated++;
      tally.fail(`Connection ${index + 1}: seq ${frame.seq} arrived twice`);
      return;
    }
    seen[frame.seq] = 1;
    unique++;
    tally.echoed++;
    if (frame.seq < highest) tally.reordered++;
    else highest = frame.seq;
    const oneWayMs = at - frame.t;
    if (oneWayMs > lateMs) tally.late++;
    onAnswer(oneWayMs * 1000);
    if (unique >= emit) finishStream();
  };
  // A stream ends with the server's normal close; what it left out is lost.
  watchEarlyClose(
    socket,
    tally,
    finishStream,
    (code) => code === 1000 || unique >= emit,
  );
  replayEarly(socket);
  return {
    send: () => {},
    outstanding: () => done ? 0 : emit - unique,
    finish: finishStream,
  };
}

/** One test-lab stream message: its sequence number and the server's send time. */
export interface StreamFrame {
  /** Sequence number. */
  seq: number;
  /** Server time when sent, in milliseconds since the epoch. */
  t: number;
}

/**
 * Reads a test-lab stream message: text `{"type":"stream","seq":N,"t":MS,…}`
 * or binary, a big-endian uint64 `seq` then a big-endian float64 `t`.
 *
 * @param data The message.
 * @returns Its `seq` and `t`, or `undefined` when it is not one.
 */
export function parseStreamFrame(data: unknown): StreamFrame | undefined {
  if (typeof data === "string") {
    let value: unknown;
    try {
      value = JSON.parse(data);
    } catch {
      return undefined;
    }
    if (typeof value !== "object" || value === null) return undefined;
    const { type, seq, t } = value as Record<string, unknown>;
    if (type !== "stream" || !Number.isSafeInteger(seq)) return undefined;
    if (typeof t !== "number" || !Number.isFinite(t)) return undefined;
    return { seq: seq as number, t };
  }
  if (data instanceof ArrayBuffer && data.byteLength >= 16) {
    const view = new DataView(data);
    const seq = view.getBigUint64(0);
    if (seq > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
    const t = view.getFloat64(8);
    return Number.isFinite(t) ? { seq: Number(seq), t } : undefined;
  }
  return undefined;
}

/** Builds distinct payloads of a fixed size and checks echoes against them. */
export class Payloads {
  #size: number;
  #binary: boolean;
  #filler: string;
  #template: Uint8Array;

  /**
   * Prepares payloads.
   *
   * @param size Bytes per payload.
   * @param binary Binary (random bytes) rather than text.
   */
  constructor(size: number, binary: boolean) {
    this.#size = size;
    this.#binary = binary;
    const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789-_";
    this.#filler = alphabet.repeat(Math.ceil(size / alphabet.length) + 1)
      .slice(0, size);
    this.#template = new Uint8Array(binary ? size : 0);
    for (let offset = 0; offset < this.#template.length; offset += 65536) {
      crypto.getRandomValues(this.#template.subarray(offset, offset + 65536));
    }
  }

  /**
   * Builds payload `seq` of `connection`: text starts with both numbers in
   * base 36, binary with both as big-endian uint32 (from 8 bytes on).
   *
   * @param connection The connection's number.
   * @param seq The message's number on it.
   * @param spare A binary payload whose echo has come back, to reuse.
   * @returns The payload.
   */
  make(connection: number, seq: number, spare?: Uint8Array): Payload {
    if (this.#binary) {
      const bytes = spare ?? this.#template.slice();
      if (this.#size >= 8) {
        const view = new DataView(bytes.buffer);
        view.setUint32(0, connection);
        view.setUint32(4, seq);
      }
      return bytes;
    }
    const head = `${connection.toString(36)}:${seq.toString(36)}:`;
    return (head + this.#filler).slice(0, this.#size);
  }

  /**
   * Whether an echo is byte for byte what was sent.
   *
   * @param received The echo's `data` (binary as `ArrayBuffer`).
   * @param sent The payload.
   * @returns `true` when identical, text as text and binary as binary.
   */
  equal(received: unknown, sent: Payload): boolean {
    if (typeof sent === "string") return received === sent;
    if (!(received instanceof ArrayBuffer)) return false;
    return Buffer.from(received).equals(sent);
  }
}

function describe(data: unknown): string {
  if (typeof data === "string") {
    return `text(${data.length}) ${JSON.stringify(data.slice(0, 40))}`;
  }
  if (data instanceof ArrayBuffer) return `binary(${data.byteLength})`;
  if (data instanceof Uint8Array) return `binary(${data.byteLength})`;
  return String(data);
}
