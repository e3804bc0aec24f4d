/**
 * Server CPU per connect, measured with both servers running at once: the
 * generator opens batches of connections on each in turn (A B, B A, A B…)
 * and the server's own CPU time is read around each of its batches. On a
 * shared machine whose speed drifts by tens of percent over a minute, whole
 * runs one after the other compare two different machines; batches a tenth of
 * a second apart compare the servers.
 *
 * @module
 */
import { type Bench, checkIntegrity, type Server } from "./_bench.ts";
import type { InterleaveResult } from "./_protocol.ts";
import { delay, readThreadNanos, threadNanosBetween } from "./_proc.ts";

/** How long a server may finish closing a batch before its CPU time is read again. */
const SETTLE_MS = 20;

/** Options of {@linkcode interleavedConnects}. */
export interface InterleaveOptions {
  /** Keep every connection open until the end, else close each batch at once. */
  hold: boolean;
  /** Connections per batch. */
  batch: number;
  /** Batches per server. */
  batches: number;
  /** Connections opened and closed on every server first. */
  warmup: number;
  /** Handshakes in flight. */
  concurrency: number;
}

/** What {@linkcode interleavedConnects} measured, one entry per server in the order given. */
export interface InterleaveReading {
  /** Server CPU per connection over every batch, in microseconds. */
  micros: number[];
  /** Server CPU per connection in each batch, in microseconds, by round. */
  rounds: number[][];
}

/**
 * Opens batches of connections on each server in turn and reads each
 * server's CPU time around its own batches.
 *
 * @param bench The run.
 * @param servers The servers, all running.
 * @param options The batches.
 * @returns Per-connection CPU, overall and by round.
 */
export async function interleavedConnects(
  bench: Bench,
  servers: Server[],
  options: InterleaveOptions,
): Promise<InterleaveReading> {
  const gen = bench.spawnGenerator({
    mode: "interleave",
    targets: servers.map((server) => ({
      url: server.echoUrl,
      skipWelcome: server.skipWelcome,
    })),
    protocols: [],
    connectConcurrency: options.concurrency,
    batch: options.batch,
    batches: options.batches,
    hold: options.hold,
    warmupConnections: options.warmup,
  });
  const rounds = servers.map((): number[] => []);
  try {
    await gen.expect("ready");
    await gen.go();
    await gen.expect("warm");
    await gen.go();
    for (let i = 0; i < options.batches * servers.length; i++) {
      const start = await gen.expect("measure-start");
      const index = Number(start.phase);
      const server = servers[index];
      if (server === undefined) throw new Error(`No server ${start.phase}`);
      const before = readThreadNanos(server.pid);
      await gen.go();
      await gen.expect("measure-end");
      await delay(SETTLE_MS);
      const nanos = threadNanosBetween(before, readThreadNanos(server.pid));
      rounds[index]?.push(nanos / options.batch / 1000);
      await gen.go();
    }
    const result = await gen.result<InterleaveResult>();
    checkIntegrity(bench, "interleaved connects", result);
  } finally {
    await gen.finish();
  }
  const micros = rounds.map((values) =>
    values.reduce((sum, value) => sum + value, 0) / values.length
  );
  return { micros, rounds };
}
