/**
 * The contract between the orchestrator (`run.ts`) and the load generator
 * (`load_gen.ts`): the generator takes one {@linkcode GenConfig} as JSON in
 * its only argument, writes one JSON object per line on stdout and waits for
 * a `go` line on stdin before each step.
 *
 * @module
 */
import type { LatencySummary } from "./_stats.ts";

/** Settings shared by every generator mode. */
export interface GenCommon {
  /** WebSocket URL, including any query such as `?welcome=0`. */
  url: string;
  /** Subprotocols to request; empty for none. */
  protocols: string[];
  /** Consume and check one `{"type":"welcome"}` frame on each new connection. */
  skipWelcome: boolean;
  /** Handshakes in flight at once while connecting. */
  connectConcurrency: number;
}

/** Closed-loop echo: `inflight` messages outstanding on every connection. */
export interface EchoConfig extends GenCommon {
  /** Discriminant. */
  mode: "echo";
  /** Connections to open. */
  connections: number;
  /** Messages in flight per connection. */
  inflight: number;
  /** Payload size in bytes. */
  size: number;
  /** Send binary frames rather than text. */
  binary: boolean;
  /** Warm-up before the timed window, in milliseconds. */
  warmupMs: number;
  /** Timed window, in milliseconds. */
  durationMs: number;
}

/**
 * Open-loop echo at a fixed total rate: message `k` is due at
 * `start + k / rate` seconds and goes out on connection `k % connections`,
 * whether or not earlier echoes have come back. Latency is measured from the
 * scheduled time, so a stall of the server (or of the generator) is counted in
 * full for every message that came due during it (no coordinated omission).
 */
export interface RateConfig extends GenCommon {
  /** Discriminant. */
  mode: "rate";
  /** Connections to open. */
  connections: number;
  /** Messages per second, all connections together. */
  rate: number;
  /** Payload size in bytes. */
  size: number;
  /** Send binary frames rather than text. */
  binary: boolean;
  /** Warm-up before the timed window, in milliseconds (sent, not recorded). */
  warmupMs: number;
  /** Timed window, in milliseconds: messages scheduled in it are recorded. */
  durationMs: number;
}

/** Open connections and leave them idle until told to close them. */
export interface IdleConfig extends GenCommon {
  /** Discriminant. */
  mode: "idle";
  /** Connections to hold open. */
  connections: number;
  /** Connections opened and closed first, as a warm-up. */
  warmupConnections: number;
}

/** Connect, echo one message, close; many times over. */
export interface ChurnConfig extends GenCommon {
  /** Discriminant. */
  mode: "churn";
  /** Timed cycles. */
  cycles: number;
  /** Cycles run before the timed ones. */
  warmupCycles: number;
  /** Cycles in flight at once. */
  concurrency: number;
  /** Payload size in bytes. */
  size: number;
}

/** One sender broadcasting to a room of `members` over `wsecho.v1`. */
export interface BroadcastConfig extends GenCommon {
  /** Discriminant. */
  mode: "broadcast";
  /** Receiving members (the sender is one more connection). */
  members: number;
  /** Room name. */
  room: string;
  /** Broadcasts outstanding in the throughput phase (the latency phase uses 1). */
  window: number;
  /** Warm-up before each timed window, in milliseconds. */
  warmupMs: number;
  /** Each timed window, in milliseconds. */
  durationMs: number;
}

/**
 * Batches of handshakes to several servers in turn (A B, B A, A B…), each
 * batch bracketed by `measure-start` and `measure-end` events that wait for a
 * `go`, so the orchestrator can read each server's CPU time around its own
 * batches: both servers share every minute of the machine's varying noise.
 */
export interface InterleaveConfig {
  /** Discriminant. */
  mode: "interleave";
  /** The servers, by index: the `phase` of the measure events. */
  targets: { url: string; skipWelcome: boolean }[];
  /** Subprotocols to request; empty for none. */
  protocols: string[];
  /** Handshakes in flight at once. */
  connectConcurrency: number;
  /** Connections per batch. */
  batch: number;
  /** Batches per server. */
  batches: number;
  /** Keep every connection open until the end (else close each batch at once). */
  hold: boolean;
  /** Connections opened and closed on every server first, as a warm-up. */
  warmupConnections: number;
}

/** Everything the generator can be asked to do. */
export type GenConfig =
  | EchoConfig
  | RateConfig
  | IdleConfig
  | ChurnConfig
  | BroadcastConfig
  | InterleaveConfig;

/** Integrity counters every result carries; any non-zero count fails the run. */
export interface Integrity {
  /** Frames that differed from what was expected. */
  mismatches: number;
  /** Up to ten descriptions of what went wrong. */
  failures: string[];
}

/** Result of an {@linkcode EchoConfig} run. */
export interface EchoResult extends Integrity {
  /** Round trips completed inside the timed window. */
  roundTrips: number;
  /** Length of the timed window in seconds. */
  seconds: number;
  /** Round trips per second. */
  messagesPerSecond: number;
  /** Payload MiB echoed per second (each round trip counts its size once). */
  mibPerSecond: number;
  /** Round-trip times inside the timed window. */
  latency: LatencySummary;
}

/** Result of a {@linkcode RateConfig} run. */
export interface RateResult extends Integrity {
  /** Messages scheduled inside the timed window. */
  scheduled: number;
  /** Of those, echoes that came back (the rest are failures). */
  received: number;
  /** Length of the timed window in seconds. */
  seconds: number;
  /** Scheduled messages per second in the window: the rate asked for. */
  messagesPerSecond: number;
  /** Echo time from the scheduled send time: the figure to compare. */
  latency: LatencySummary;
  /** Echo time from the actual send: hides stalls that delayed sends. */
  serviceLatency: LatencySummary;
  /** How late the generator sent, actual − scheduled: its own jitter. */
  sendLag: LatencySummary;
}

/** Result of an {@linkcode IdleConfig} run. */
export interface IdleResult extends Integrity {
  /** Connections that were open at once. */
  connections: number;
  /** Seconds to open all of them. */
  connectSeconds: number;
  /** Connections opened per second. */
  connectRate: number;
  /** Seconds to close all of them. */
  closeSeconds: number;
}

/** Result of an {@linkcode InterleaveConfig} run. */
export interface InterleaveResult extends Integrity {
  /** Connections opened in the timed batches, by target. */
  connections: number[];
}

/** Result of a {@linkcode ChurnConfig} run. */
export interface ChurnResult extends Integrity {
  /** Timed cycles completed. */
  cycles: number;
  /** Seconds the timed cycles took. */
  seconds: number;
  /** Cycles per second. */
  cyclesPerSecond: number;
  /** Per-cycle time from connect to close, in microseconds. */
  cycleLatency: LatencySummary;
}

/** Result of one phase of a {@linkcode BroadcastConfig} run. */
export interface BroadcastPhase {
  /** Broadcasts outstanding. */
  window: number;
  /** Broadcasts fully delivered inside the timed window. */
  broadcasts: number;
  /** Member deliveries inside the timed window. */
  deliveries: number;
  /** Length of the timed window in seconds. */
  seconds: number;
  /** Member deliveries per second. */
  deliveriesPerSecond: number;
  /** Time from send to the last member receiving, in microseconds. */
  fanout: LatencySummary;
}

/** Result of a {@linkcode BroadcastConfig} run. */
export interface BroadcastResult extends Integrity {
  /** Receiving members. */
  members: number;
  /** Seconds to connect and join everyone. */
  joinSeconds: number;
  /** The `members` count in the last `joined` reply. */
  lastJoinedMembers: number;
  /** `sent` replies whose `delivered` was not the member count. */
  deliveredMismatches: number;
  /** Frames of other types that members ignored. */
  otherFrames: number;
  /** One broadcast outstanding: fan-out latency. */
  latencyPhase: BroadcastPhase;
  /** `window` broadcasts outstanding: delivery rate. */
  throughputPhase: BroadcastPhase;
}

/** A line the generator writes on stdout. */
export type GenEvent =
  | { event: "ready" }
  | { event: "warm" }
  | { event: "connected"; connections: number; connectRate: number }
  | { event: "measure-start"; phase: string }
  | { event: "measure-end"; phase: string }
  | { event: "error"; message: string }
  | { event: "result"; result: GenResult };

/** Any generator result. */
export type GenResult =
  | EchoResult
  | RateResult
  | IdleResult
  | ChurnResult
  | BroadcastResult
  | InterleaveResult;
