/**
 * Load generator: one process driving one server with Deno's built-in
 * WebSocket client. It takes a {@linkcode GenConfig} as JSON in its only
 * argument, reports {@linkcode GenEvent} lines on stdout and waits for a `go`
 * line on stdin before each step, so the orchestrator can sample the server
 * between steps. Every echo is compared byte for byte with what was sent.
 * The echo mode runs `wsecho bench`'s engine (`src/client/load.ts`).
 *
 * @example Run by hand against a server on port 8080
 * ```sh
 * echo go | deno run --allow-net=127.0.0.1 bench/load_gen.ts \
 *   '{"mode":"echo","url":"ws://127.0.0.1:8080/","protocols":[],"skipWelcome":false,
 *     "connectConcurrency":50,"connections":4,"inflight":2,"size":32,"binary":false,
 *     "warmupMs":500,"durationMs":1000}'
 * ```
 *
 * @module
 */
import { SampleBuffer } from "./_stats.ts";
import { Payloads, runLoad } from "../src/client/load.ts";
import type {
  BroadcastConfig,
  BroadcastPhase,
  BroadcastResult,
  ChurnConfig,
  ChurnResult,
  EchoConfig,
  EchoResult,
  GenCommon,
  GenConfig,
  GenEvent,
  IdleConfig,
  IdleResult,
  Integrity,
  InterleaveConfig,
  InterleaveResult,
  RateConfig,
  RateResult,
} from "./_protocol.ts";
import { type ClockStart, STOP, TICKS } from "./_clock_worker.ts";

/** Bound on every single wait: a handshake, a reply, a close. */
const STEP_TIMEOUT_MS = 15_000;
/** Bound on draining outstanding messages after a timed window. */
const DRAIN_TIMEOUT_MS = 15_000;
const MAX_FAILURES = 10;

const encoder = new TextEncoder();

/**
 * Writes one event as a JSON line on stdout.
 *
 * @param event The event.
 */
export function emit(event: GenEvent): void {
  const bytes = encoder.encode(JSON.stringify(event) + "\n");
  let written = 0;
  while (written < bytes.length) {
    written += Deno.stdout.writeSync(bytes.subarray(written));
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function withTimeout<T>(
  promise: Promise<T>,
  ms: number,
  what: string,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`Timed out after ${ms} ms: ${what}`)),
      ms,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

class Commands {
  #lines: AsyncIterator<string>;

  constructor() {
    this.#lines = readLines(Deno.stdin.readable);
  }

  async go(): Promise<void> {
    const { value, done } = await this.#lines.next();
    if (done) throw new Error("Cannot continue: stdin closed");
    if (value.trim() !== "go") {
      throw new SyntaxError(`Cannot parse command: "${value}"`);
    }
  }
}

async function* readLines(
  stream: ReadableStream<Uint8Array>,
): AsyncGenerator<string> {
  let pending = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    pending += chunk;
    let newline = pending.indexOf("\n");
    while (newline >= 0) {
      yield pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      newline = pending.indexOf("\n");
    }
  }
}

class Tally implements Integrity {
  mismatches = 0;
  failures: string[] = [];

  fail(message: string, mismatch = false): void {
    if (mismatch) this.mismatches++;
    if (this.failures.length < MAX_FAILURES) this.failures.push(message);
  }

  toJSON(): Integrity {
    return { mismatches: this.mismatches, failures: this.failures };
  }
}

function nextMessage(ws: WebSocket, what: string): Promise<unknown> {
  const { promise, resolve, reject } = Promise.withResolvers<unknown>();
  ws.onmessage = (event) => {
    ws.onmessage = null;
    ws.onclose = null;
    resolve(event.data);
  };
  ws.onclose = (event) => {
    reject(new Error(`Closed with code ${event.code} while waiting: ${what}`));
  };
  return withTimeout(promise, STEP_TIMEOUT_MS, what);
}

async function openSocket(common: GenCommon): Promise<WebSocket> {
  const { promise, resolve, reject } = Promise.withResolvers<WebSocket>();
  const ws = new WebSocket(common.url, common.protocols);
  ws.binaryType = "arraybuffer";
  ws.onopen = () => {
    ws.onerror = null;
    ws.onclose = null;
    resolve(ws);
  };
  ws.onerror = (event) => {
    const message = event instanceof ErrorEvent ? event.message : "error";
    reject(new Error(`Cannot connect to "${common.url}": ${message}`));
  };
  ws.onclose = (event) => {
    reject(new Error(`Cannot connect: closed with code ${event.code}`));
  };
  try {
    await withTimeout(promise, STEP_TIMEOUT_MS, `connect "${common.url}"`);
  } catch (error) {
    ws.onopen = ws.onerror = ws.onclose = null;
    if (ws.readyState <= WebSocket.OPEN) ws.close();
    throw error;
  }
  if (common.skipWelcome) {
    const data = await nextMessage(ws, "welcome frame");
    if (typeof data !== "string" || !data.includes('"welcome"')) {
      throw new Error(`Expected a welcome frame, got: ${String(data)}`);
    }
  }
  return ws;
}

async function openMany(
  common: GenCommon,
  count: number,
): Promise<WebSocket[]> {
  const sockets: WebSocket[] = [];
  let next = 0;
  const workers = Array.from(
    { length: Math.min(count, common.connectConcurrency) },
    async () => {
      while (next < count) {
        const index = next++;
        try {
          sockets[index] = await openSocket(common);
        } catch (error) {
          throw new Error(
            `Connection ${index + 1} of ${count} failed: ${
              (error as Error).message
            }`,
          );
        }
      }
    },
  );
  const settled = await Promise.allSettled(workers);
  const failed = settled.find((s) => s.status === "rejected");
  if (failed) {
    closeQuickly(sockets);
    throw (failed as PromiseRejectedResult).reason;
  }
  return sockets;
}

function closeQuickly(sockets: Array<WebSocket | undefined>): void {
  for (const ws of sockets) {
    if (ws && ws.readyState <= WebSocket.OPEN) ws.close();
  }
}

function closeSocket(ws: WebSocket): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
  const { promise, resolve } = Promise.withResolvers<void>();
  ws.onmessage = null;
  ws.onclose = () => resolve();
  ws.close();
  return withTimeout(promise, STEP_TIMEOUT_MS, "close handshake");
}

async function closeAll(sockets: WebSocket[], tally: Tally): Promise<void> {
  const results = await Promise.allSettled(sockets.map(closeSocket));
  const failed = results.filter((r) => r.status === "rejected").length;
  if (failed > 0) tally.fail(`${failed} sockets did not finish the close`);
}

function describe(data: unknown): string {
  if (typeof data === "string") {
    return `text(${data.length}) ${data.slice(0, 60)}`;
  }
  if (data instanceof ArrayBuffer) return `binary(${data.byteLength})`;
  return String(data);
}

/**
 * The echo mode is `wsecho bench`'s engine (`src/client/load.ts`): one
 * generator for the CLI and the benchmark. Its report maps onto
 * {@linkcode EchoResult}.
 */
async function runEcho(config: EchoConfig, commands: Commands): Promise<void> {
  const report = await runLoad(config.url, {
    protocols: config.protocols,
    connections: config.connections,
    inFlight: config.inflight,
    size: config.size,
    binary: config.binary,
    warmupMs: config.warmupMs,
    durationMs: config.durationMs,
    lateMs: DRAIN_TIMEOUT_MS,
    connectConcurrency: config.connectConcurrency,
    onReady: async () => {
      emit({ event: "ready" });
      await commands.go();
    },
    onMeasureStart: () => emit({ event: "measure-start", phase: "echo" }),
    onMeasureEnd: () => emit({ event: "measure-end", phase: "echo" }),
  });
  if (report.connections.failed > 0) {
    throw new Error(report.failures[0] ?? "A connection failed");
  }
  const { count, mean, p50, p99, p999, max } = report.latency;
  // The engine reports no p90; the closed-loop rows do not show one.
  const p90 = NaN;
  const result: EchoResult = {
    roundTrips: report.latency.count,
    seconds: report.seconds,
    messagesPerSecond: report.messagesPerSecond,
    mibPerSecond: report.mibPerSecond,
    latency: { count, mean, p50, p90, p99, p999, max },
    mismatches: report.messages.mismatched,
    failures: report.failures,
  };
  emit({ event: "result", result });
}

/** One connection's messages in flight in the fixed-rate mode, oldest first. */
class InFlight {
  payloads: Array<string | Uint8Array> = [];
  scheduled: number[] = [];
  sentAt: number[] = [];
  head = 0;

  push(payload: string | Uint8Array, scheduled: number, sentAt: number): void {
    this.payloads.push(payload);
    this.scheduled.push(scheduled);
    this.sentAt.push(sentAt);
  }

  get size(): number {
    return this.payloads.length - this.head;
  }

  /** Drops consumed entries now and then, so the arrays stay short. */
  compact(): void {
    if (this.head < 1024) return;
    this.payloads.splice(0, this.head);
    this.scheduled.splice(0, this.head);
    this.sentAt.splice(0, this.head);
    this.head = 0;
  }
}

/** Longest a fixed-rate send loop waits for one clock tick before looking again. */
const CLOCK_WAIT_MS = 50;

async function runRate(config: RateConfig, commands: Commands): Promise<void> {
  const sockets = await openMany(config, config.connections);
  const tally = new Tally();
  const payloads = new Payloads(config.size, config.binary);
  const latency = new SampleBuffer();
  const service = new SampleBuffer();
  const lag = new SampleBuffer();
  const periodMs = 1000 / config.rate;
  const total = Math.ceil(
    ((config.warmupMs + config.durationMs) * config.rate) / 1000,
  );
  const inFlight = sockets.map(() => new InFlight());
  let received = 0;
  let outstanding = 0;
  let sending = true;
  const drained = Promise.withResolvers<void>();
  // Set when the schedule starts; a message is recorded when its scheduled
  // time falls inside [measureFrom, measureTo).
  let start = 0;
  let measureFrom = 0;
  let measureTo = 0;

  sockets.forEach((ws, index) => {
    const queue = inFlight[index] as InFlight;
    ws.onmessage = (event) => {
      const now = performance.now();
      const at = queue.head++;
      const expected = queue.payloads[at];
      const scheduled = queue.scheduled[at] ?? now;
      const sentAt = queue.sentAt[at] ?? now;
      queue.compact();
      outstanding--;
      if (expected === undefined || !payloads.equal(event.data, expected)) {
        tally.fail(
          `Connection ${index}: echo differs: got ${describe(event.data)}`,
          true,
        );
      } else if (scheduled >= measureFrom && scheduled < measureTo) {
        received++;
        latency.push((now - scheduled) * 1000);
        service.push((now - sentAt) * 1000);
        lag.push((sentAt - scheduled) * 1000);
      }
      if (!sending && outstanding === 0) drained.resolve();
    };
    ws.onclose = (event) => {
      tally.fail(`Connection ${index} closed early: code ${event.code}`);
      drained.resolve();
    };
  });

  emit({ event: "ready" });
  await commands.go();

  const shared = new SharedArrayBuffer(8);
  const flags = new Int32Array(shared);
  const clock = new Worker(new URL("./_clock_worker.ts", import.meta.url), {
    type: "module",
  });
  const stopped = Promise.withResolvers<void>();
  clock.onmessage = () => stopped.resolve();
  clock.onerror = (event) => {
    event.preventDefault();
    tally.fail(`Clock worker failed: ${event.message}`);
    stopped.resolve();
  };
  // A little ahead, so the first sends are on time.
  start = performance.now() + 50;
  measureFrom = start + config.warmupMs;
  measureTo = measureFrom + config.durationMs;
  const startMessage: ClockStart = {
    shared,
    startMs: performance.timeOrigin + start,
    periodMs,
  };
  clock.postMessage(startMessage);

  let next = 0;
  let seen = 0;
  let measuring = false;
  let scheduledInWindow = 0;
  while (next < total) {
    const now = performance.now();
    // Everything that has come due goes out now: a late generator sends a
    // burst, and the lateness counts against the echo's latency.
    for (let due = start + next * periodMs; due <= now && next < total;) {
      if (!measuring && due >= measureFrom) {
        measuring = true;
        emit({ event: "measure-start", phase: "rate" });
      }
      if (measuring && due < measureTo) scheduledInWindow++;
      const index = next % sockets.length;
      const ws = sockets[index] as WebSocket;
      const payload = payloads.make(index, next);
      (inFlight[index] as InFlight).push(payload, due, performance.now());
      outstanding++;
      ws.send(payload);
      next++;
      due = start + next * periodMs;
    }
    if (next >= total) break;
    const wait = Atomics.waitAsync(flags, TICKS, seen, CLOCK_WAIT_MS);
    if (wait.async) await wait.value;
    seen = Atomics.load(flags, TICKS);
  }
  sending = false;
  Atomics.store(flags, STOP, 1);
  Atomics.notify(flags, TICKS);
  // The schedule ends with the window; wait for the last echoes.
  const endWait = measureTo - performance.now();
  if (endWait > 0) await delay(endWait);
  emit({ event: "measure-end", phase: "rate" });
  if (outstanding > 0) {
    await withTimeout(drained.promise, DRAIN_TIMEOUT_MS, "drain echoes")
      .catch((error) => tally.fail((error as Error).message));
  }
  await withTimeout(stopped.promise, STEP_TIMEOUT_MS, "stop the clock")
    .catch((error) => tally.fail((error as Error).message));
  clock.terminate();
  for (const ws of sockets) ws.onclose = null;
  await closeAll(sockets, tally);

  const missing = scheduledInWindow - received - tally.mismatches;
  if (missing > 0) tally.fail(`${missing} echoes never came back`);
  const seconds = config.durationMs / 1000;
  const result: RateResult = {
    scheduled: scheduledInWindow,
    received,
    seconds,
    messagesPerSecond: scheduledInWindow / seconds,
    latency: latency.summarize(),
    serviceLatency: service.summarize(),
    sendLag: lag.summarize(),
    ...tally.toJSON(),
  };
  emit({ event: "result", result });
}

async function runIdle(config: IdleConfig, commands: Commands): Promise<void> {
  const tally = new Tally();
  emit({ event: "ready" });
  await commands.go();

  await closeAll(await openMany(config, config.warmupConnections), tally);
  emit({ event: "warm" });
  await commands.go();

  emit({ event: "measure-start", phase: "connect" });
  const t0 = performance.now();
  const sockets = await openMany(config, config.connections);
  const connectSeconds = (performance.now() - t0) / 1000;
  emit({ event: "measure-end", phase: "connect" });
  let closedEarly = 0;
  for (const ws of sockets) ws.onclose = () => closedEarly++;
  emit({
    event: "connected",
    connections: sockets.length,
    connectRate: sockets.length / connectSeconds,
  });
  await commands.go();

  if (closedEarly > 0) {
    tally.fail(`${closedEarly} idle connections closed early`);
  }
  const t1 = performance.now();
  await closeAll(sockets, tally);
  const result: IdleResult = {
    connections: sockets.length,
    connectSeconds,
    connectRate: sockets.length / connectSeconds,
    closeSeconds: (performance.now() - t1) / 1000,
    ...tally.toJSON(),
  };
  emit({ event: "result", result });
}

async function runChurn(
  config: ChurnConfig,
  commands: Commands,
): Promise<void> {
  const tally = new Tally();
  const payloads = new Payloads(config.size, false);
  const samples = new SampleBuffer();

  const cycles = async (count: number, record: boolean): Promise<void> => {
    let next = 0;
    const workers = Array.from(
      { length: Math.min(count, config.concurrency) },
      async () => {
        while (next < count) {
          const index = next++;
          const started = performance.now();
          try {
            const ws = await openSocket(config);
            const payload = payloads.make(index, 0);
            const reply = nextMessage(ws, "churn echo");
            ws.send(payload);
            const data = await reply;
            if (!payloads.equal(data, payload)) {
              tally.fail(
                `Cycle ${index}: echo differs: ${describe(data)}`,
                true,
              );
            }
            await closeSocket(ws);
          } catch (error) {
            tally.fail(`Cycle ${index}: ${(error as Error).message}`);
          }
          if (record) samples.push((performance.now() - started) * 1000);
        }
      },
    );
    await Promise.all(workers);
  };

  emit({ event: "ready" });
  await commands.go();
  await cycles(config.warmupCycles, false);
  emit({ event: "warm" });
  await commands.go();

  emit({ event: "measure-start", phase: "churn" });
  const t0 = performance.now();
  await cycles(config.cycles, true);
  const seconds = (performance.now() - t0) / 1000;
  emit({ event: "measure-end", phase: "churn" });
  const result: ChurnResult = {
    cycles: config.cycles,
    seconds,
    cyclesPerSecond: config.cycles / seconds,
    cycleLatency: samples.summarize(),
    ...tally.toJSON(),
  };
  emit({ event: "result", result });
}

async function runInterleave(
  config: InterleaveConfig,
  commands: Commands,
): Promise<void> {
  const tally = new Tally();
  const targets: GenCommon[] = config.targets.map((target) => ({
    url: target.url,
    skipWelcome: target.skipWelcome,
    protocols: config.protocols,
    connectConcurrency: config.connectConcurrency,
  }));
  emit({ event: "ready" });
  await commands.go();
  for (const target of targets) {
    await closeAll(await openMany(target, config.warmupConnections), tally);
  }
  emit({ event: "warm" });
  await commands.go();

  const held: WebSocket[] = [];
  const connections = targets.map(() => 0);
  for (let round = 0; round < config.batches; round++) {
    const order = targets.map((_, index) => index);
    if (round % 2 === 1) order.reverse();
    for (const index of order) {
      emit({ event: "measure-start", phase: String(index) });
      await commands.go();
      const sockets = await openMany(targets[index]!, config.batch);
      connections[index]! += sockets.length;
      if (config.hold) held.push(...sockets);
      else await closeAll(sockets, tally);
      emit({ event: "measure-end", phase: String(index) });
      await commands.go();
    }
  }
  await closeAll(held, tally);
  const result: InterleaveResult = { connections, ...tally.toJSON() };
  emit({ event: "result", result });
}

interface BroadcastFrame {
  type?: unknown;
  id?: unknown;
  room?: unknown;
  from?: unknown;
  members?: unknown;
  delivered?: unknown;
  data?: { seq?: unknown; pad?: unknown };
}

function parseFrame(data: unknown): BroadcastFrame {
  if (typeof data !== "string") return {};
  try {
    const value: unknown = JSON.parse(data);
    return typeof value === "object" && value !== null ? value : {};
  } catch {
    return {};
  }
}

/** Splits a validated room message around its seq number, if it is unique. */
function learnShape(
  text: string,
  seq: number,
): { prefix: string; suffix: string } | undefined {
  const marker = `"seq":${seq}`;
  const at = text.indexOf(marker);
  if (at < 0 || text.indexOf(marker, at + 1) >= 0) return undefined;
  const prefix = text.slice(0, at + marker.length - String(seq).length);
  const suffix = text.slice(at + marker.length);
  if (/^\d/.test(suffix)) return undefined;
  return { prefix, suffix };
}

async function joinRoom(ws: WebSocket, room: string): Promise<number> {
  const { promise, resolve, reject } = Promise.withResolvers<number>();
  ws.onmessage = (event) => {
    const frame = parseFrame(event.data);
    if (frame.type === "joined" && frame.id === 1) {
      resolve(Number(frame.members));
    } else if (frame.type === "error") {
      reject(new Error(`Cannot join: ${event.data}`));
    }
  };
  ws.onclose = (event) =>
    reject(new Error(`Closed while joining: ${event.code}`));
  ws.send(JSON.stringify({ type: "join", room, id: 1 }));
  try {
    return await withTimeout(promise, STEP_TIMEOUT_MS, "join");
  } finally {
    ws.onmessage = null;
    ws.onclose = null;
  }
}

async function runBroadcast(
  config: BroadcastConfig,
  commands: Commands,
): Promise<void> {
  const tally = new Tally();
  const members = config.members;
  const pad = "x".repeat(32);
  const t0 = performance.now();
  const sockets = await openMany(config, members + 1);
  const sender = sockets[0] as WebSocket;
  // The sender joins first so every member's "joined" counts it.
  await joinRoom(sender, config.room);
  let lastJoinedMembers = 0;
  let next = 1;
  await Promise.all(
    Array.from({ length: config.connectConcurrency }, async () => {
      while (next <= members) {
        const ws = sockets[next++] as WebSocket;
        lastJoinedMembers = await joinRoom(ws, config.room);
      }
    }),
  );
  const joinSeconds = (performance.now() - t0) / 1000;

  let seq = 0;
  let window = 1;
  let sending = false;
  let outstanding = 0;
  let measuring = false;
  let deliveries = 0;
  let broadcasts = 0;
  let deliveredMismatches = 0;
  let otherFrames = 0;
  let sentFrom: unknown = undefined;
  let shape: { prefix: string; suffix: string } | undefined;
  let samples = new SampleBuffer();
  let drained = Promise.withResolvers<void>();
  const sentAt = new Map<number, number>();
  const received = new Map<number, number>();

  const sendOne = () => {
    const s = seq++;
    sentAt.set(s, performance.now());
    received.set(s, 0);
    outstanding++;
    sender.send(
      JSON.stringify({
        type: "broadcast",
        room: config.room,
        data: { seq: s, pad },
        id: s + 2,
      }),
    );
  };

  sender.onmessage = (event) => {
    const frame = parseFrame(event.data);
    if (frame.type === "sent") {
      if (frame.delivered !== members) deliveredMismatches++;
    } else if (frame.type === "error") {
      tally.fail(
        `Sender got an error frame: ${String(event.data).slice(0, 200)}`,
      );
    } else otherFrames++;
  };
  sockets.forEach((ws, index) => {
    ws.onclose = (event) => {
      tally.fail(`Connection ${index} closed early: code ${event.code}`);
      drained.resolve();
    };
    if (index === 0) return;
    let expectSeq = 0;
    ws.onmessage = (event) => {
      const now = performance.now();
      let s: unknown = expectSeq;
      // Fast path: the exact text of a frame already validated, with the
      // expected seq spliced in. Anything else is parsed and checked in full.
      if (
        shape === undefined ||
        event.data !== shape.prefix + expectSeq + shape.suffix
      ) {
        const frame = parseFrame(event.data);
        if (frame.type !== "message") {
          otherFrames++;
          return;
        }
        s = frame.data?.seq;
        if (sentFrom === undefined) sentFrom = frame.from;
        if (
          frame.room !== config.room || frame.data?.pad !== pad ||
          s !== expectSeq || frame.from !== sentFrom
        ) {
          tally.fail(
            `Member ${index}: unexpected frame (expected seq ${expectSeq}): ${
              String(event.data).slice(0, 200)
            }`,
            true,
          );
        } else shape ??= learnShape(String(event.data), expectSeq);
      }
      if (typeof s !== "number") return;
      expectSeq = s + 1;
      if (measuring) deliveries++;
      const count = (received.get(s) ?? 0) + 1;
      if (count < members) {
        received.set(s, count);
        return;
      }
      const started = sentAt.get(s) ?? now;
      received.delete(s);
      sentAt.delete(s);
      outstanding--;
      if (measuring) {
        broadcasts++;
        samples.push((now - started) * 1000);
      }
      if (sending) {
        while (outstanding < window) sendOne();
      } else if (outstanding === 0) drained.resolve();
    };
  });

  emit({ event: "ready" });
  await commands.go();

  const runPhase = async (
    name: string,
    phaseWindow: number,
  ): Promise<BroadcastPhase> => {
    window = phaseWindow;
    sending = true;
    measuring = false;
    drained = Promise.withResolvers<void>();
    while (outstanding < window) sendOne();
    await delay(config.warmupMs);
    deliveries = 0;
    broadcasts = 0;
    samples = new SampleBuffer();
    measuring = true;
    const start = performance.now();
    emit({ event: "measure-start", phase: name });
    await delay(config.durationMs);
    measuring = false;
    sending = false;
    const seconds = (performance.now() - start) / 1000;
    emit({ event: "measure-end", phase: name });
    if (outstanding > 0) {
      await withTimeout(drained.promise, DRAIN_TIMEOUT_MS, `drain ${name}`)
        .catch((error) => tally.fail((error as Error).message));
    }
    return {
      window: phaseWindow,
      broadcasts,
      deliveries,
      seconds,
      deliveriesPerSecond: deliveries / seconds,
      fanout: samples.summarize(),
    };
  };

  const latencyPhase = await runPhase("latency", 1);
  const throughputPhase = await runPhase("throughput", config.window);
  for (const ws of sockets) ws.onclose = null;
  await closeAll(sockets, tally);

  const result: BroadcastResult = {
    members,
    joinSeconds,
    lastJoinedMembers,
    deliveredMismatches,
    otherFrames,
    latencyPhase,
    throughputPhase,
    ...tally.toJSON(),
  };
  emit({ event: "result", result });
}

/**
 * Runs the generator for one configuration and reports on stdout.
 *
 * @param config What to do.
 */
export async function runGenerator(config: GenConfig): Promise<void> {
  const commands = new Commands();
  switch (config.mode) {
    case "echo":
      return await runEcho(config, commands);
    case "rate":
      return await runRate(config, commands);
    case "idle":
      return await runIdle(config, commands);
    case "churn":
      return await runChurn(config, commands);
    case "broadcast":
      return await runBroadcast(config, commands);
    case "interleave":
      return await runInterleave(config, commands);
  }
}

if (import.meta.main) {
  try {
    const config = JSON.parse(Deno.args[0] ?? "") as GenConfig;
    await runGenerator(config);
    Deno.exit(0);
  } catch (error) {
    emit({ event: "error", message: (error as Error).message });
    Deno.exit(1);
  }
}
