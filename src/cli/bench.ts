/**
 * `wsecho bench URL`: a load generator and correctness check for any RFC
 * 6455 echo server, or for a proxy in front of one. Prints one progress line
 * a second on a terminal and one table (or `--json`) at the end.
 *
 * @module
 */
import {
  parseFlags,
  readHeaders,
  readInteger,
  readNumber,
  readSize,
  readUrl,
  UsageError,
} from "./_flags.ts";
import {
  type LoadOptions,
  type LoadProgress,
  type LoadReport,
  runLoad,
} from "../client/load.ts";
import type { LatencySummary } from "../client/latency.ts";
import { printError, writeOut } from "./_output.ts";

const COMMAND = "wsecho bench";

const FLAGS = [
  { name: "help", short: "h", boolean: true },
  { name: "connections", short: "c" },
  { name: "in-flight" },
  { name: "rate" },
  { name: "size" },
  { name: "binary", boolean: true },
  { name: "duration", short: "d" },
  { name: "warmup" },
  { name: "late" },
  { name: "connect-concurrency" },
  { name: "protocol", multiple: true },
  { name: "header", short: "H", multiple: true },
  { name: "origin" },
  { name: "stream", boolean: true },
  { name: "json", boolean: true },
] as const;

/** The `wsecho bench --help` page. */
export const BENCH_HELP = `NAME
    wsecho bench - load and check any WebSocket echo server

SYNOPSIS
    wsecho bench [options] URL
    wsecho bench --stream [options] URL

DESCRIPTION
    Opens --connections WebSocket connections to URL and sends messages of
    --size bytes. Every echo is compared byte for byte with what was sent, in
    order, so bench also tests a proxy or load balancer between it and the
    server. Mismatched, missing and late echoes are counted and make the exit
    status 1.

    Closed loop (the default): each connection keeps --in-flight messages
    outstanding and sends the next one as each echo arrives. Open loop
    (--rate R): R messages a second in total, spread round robin over the
    connections, whatever the echoes do; round trips are timed from the
    actual send, "from schedule" from when the schedule wanted each message
    sent (what a client of a fixed-rate service waits), and "send lag" says
    how far the sends fell behind the schedule.

    The first --warmup seconds are not counted in the rates and latencies;
    then --duration seconds are timed; then outstanding messages get --late
    milliseconds to come back before they count as missing. A wsecho welcome
    frame that arrives before the first echo is skipped (or ask for none
    with ?welcome=0).

    --stream reads a wsecho test-lab stream instead of echoing: each
    connection asks for ?emit=N&rate=R&size=B (with --rate as the total
    rate, default 1000, and N to last the warm-up and the window) and the
    report gives one-way loss, duplicates, reordering and latency from each
    message's "seq" and "t" (server clock: only meaningful on one host or
    with synchronised clocks).

    On a terminal, one progress line a second shows the elapsed time, the
    rate, the 99th percentile so far and the errors.

OPTIONS
    -c, --connections N       connections to open (default: 64)
    --in-flight K             closed loop: messages outstanding per
                              connection (default: 16)
    --rate R                  open loop: messages a second in total
                              (default: 0, closed loop)
    --size B                  payload bytes, or with a KiB/MiB suffix;
                              32 or more with --stream (default: 32)
    --binary                  send binary frames (default: text)
    -d, --duration S          timed window in seconds (default: 10)
    --warmup S                seconds of load before it (default: 1)
    --late MS                 an echo slower than this is late; afterwards,
                              the wait before missing (default: 5000)
    --connect-concurrency N   handshakes in flight at once (default: 64)
    --protocol P              offer subprotocol P; repeatable (default: none)
    -H, --header "N: V"       add a request header; repeatable
    --origin URL              send Origin: URL (default: none)
    --stream                  measure a test-lab stream (see above)
    --json                    print the result as JSON instead of a table
    -h, --help                print this page and exit

OUTPUT
    connections opened and failed (with the HTTP statuses seen), connect
    time p50/p99, messages sent/echoed/mismatched/missing/late, msg/s and
    MiB/s, round-trip latency p50/p90/p99/p99.9/max (an HdrHistogram,
    3 significant digits), and the close codes seen with their meaning.

EXIT STATUS
    0   a clean run: every connection opened and stayed open, every echo
        came back identical and in time
    1   anything else: mismatched, missing or late messages, a failed or
        dropped connection
    2   a bad flag or flag value

EXAMPLES
    wsecho bench 'ws://localhost:8080/ws?welcome=0'
    wsecho bench -c 100 --rate 10000 -d 30 ws://localhost:8080/ws
    wsecho bench -c 8 --in-flight 1 --size 16KiB --binary ws://proxy:9000/ws
    wsecho bench --json -d 5 ws://localhost:8080/ws > result.json
    wsecho bench --stream -c 4 --rate 2000 'ws://localhost:8080/ws?welcome=0'`;

/** What `wsecho bench` was asked to do. */
export interface BenchCommand {
  /** The URL. */
  url: string;
  /** Print JSON rather than a table. */
  json: boolean;
  /** Options for the engine. */
  load: Required<
    Pick<
      LoadOptions,
      | "connections"
      | "inFlight"
      | "rate"
      | "size"
      | "binary"
      | "durationMs"
      | "warmupMs"
      | "lateMs"
      | "connectConcurrency"
      | "stream"
      | "protocols"
      | "headers"
    >
  >;
}

/**
 * Parses `wsecho bench`'s arguments.
 *
 * @param args The arguments after `bench`.
 * @returns The command, or `"help"`.
 * @throws {UsageError} For a bad flag or value.
 */
export function parseBenchArgs(
  args: readonly string[],
): BenchCommand | "help" {
  const { values, positionals } = parseFlags(COMMAND, args, FLAGS);
  if (values.help === true) return "help";
  const url = readUrl(COMMAND, positionals);
  const int = (flag: string, fallback: number, min: number, max: number) =>
    readInteger(COMMAND, `--${flag}`, values[flag], fallback, min, max);
  const num = (flag: string, fallback: number, min: number, max: number) =>
    readNumber(COMMAND, `--${flag}`, values[flag], fallback, min, max);
  const stream = values.stream === true;
  const size = readSize(
    COMMAND,
    "--size",
    values.size,
    32,
    // wsecho's test lab emits messages of 32 bytes and more.
    stream ? 32 : 0,
    64 * 1024 * 1024 - 1,
  );
  return {
    url,
    json: values.json === true,
    load: {
      connections: int("connections", 64, 1, 1_000_000),
      inFlight: int("in-flight", 16, 1, 1_000_000),
      rate: num("rate", 0, 0, 100_000_000),
      size,
      binary: values.binary === true,
      durationMs: num("duration", 10, 0.01, 31_536_000) * 1000,
      warmupMs: num("warmup", 1, 0, 31_536_000) * 1000,
      lateMs: int("late", 5000, 1, 86_400_000),
      connectConcurrency: int("connect-concurrency", 64, 1, 100_000),
      stream,
      protocols: (values.protocol as string[] | undefined) ?? [],
      headers: readHeaders(COMMAND, values.header, values.origin),
    },
  };
}

/**
 * Formats a latency in microseconds for people: µs below 1 ms, then ms, then s.
 *
 * @param microseconds The latency.
 * @returns Such as `"512 µs"`, `"1.23 ms"`, `"2.50 s"`.
 */
export function formatMicros(microseconds: number): string {
  if (microseconds < 1000) return `${Math.round(microseconds)} µs`;
  if (microseconds < 1_000_000) return `${(microseconds / 1000).toFixed(2)} ms`;
  return `${(microseconds / 1_000_000).toFixed(2)} s`;
}

function formatCount(value: number): string {
  return Math.round(value).toLocaleString("en-US");
}

function percentiles(summary: LatencySummary, all: boolean): string {
  if (summary.count === 0) return "no samples";
  const parts = [
    `p50 ${formatMicros(summary.p50)}`,
    ...(all ? [`p90 ${formatMicros(summary.p90)}`] : []),
    `p99 ${formatMicros(summary.p99)}`,
    ...(all
      ? [
        `p99.9 ${formatMicros(summary.p999)}`,
        `max ${formatMicros(summary.max)}`,
      ]
      : []),
  ];
  return parts.join("  ");
}

/**
 * Renders the final table.
 *
 * @param report The engine's report.
 * @returns The table, lines joined with newlines.
 */
export function formatReport(report: LoadReport): string {
  const { settings: s, connections: c, messages: m } = report;
  const kind = `${s.size} B ${s.binary ? "binary" : "text"}`;
  const shape = report.mode === "closed"
    ? `closed loop, ${s.connections} connections × ${s.inFlight} in flight`
    : report.mode === "open"
    ? `open loop, ${
      formatCount(s.rate)
    } msg/s over ${s.connections} connections`
    : `stream, ${formatCount(s.rate)} msg/s over ${s.connections} connections`;
  const statuses = Object.entries(c.statuses).map(([status, n]) =>
    `HTTP ${status} × ${n}`
  );
  const errors = Object.entries(c.errors).map(([error, n]) =>
    `${error} × ${n}`
  );
  const failedWhy = [...statuses, ...errors].join(", ");
  const rows: Array<[string, string]> = [
    [
      "connections",
      `${c.opened} opened, ${c.failed} failed${
        failedWhy ? ` (${failedWhy})` : ""
      }${c.closedEarly > 0 ? `, ${c.closedEarly} closed early` : ""}`,
    ],
  ];
  if (c.refusal !== "") rows.push(["refused", c.refusal]);
  rows.push(["connect time", percentiles(c.connectTime, false)]);
  if (report.mode === "stream") {
    rows.push([
      "messages",
      `${formatCount(m.sent)} expected  ${formatCount(m.echoed)} received  ${
        formatCount(m.missing)
      } lost  ${formatCount(m.duplicated)} duplicated  ${
        formatCount(m.reordered)
      } reordered  ${formatCount(m.mismatched)} malformed  ${
        formatCount(m.late)
      } late`,
    ]);
  } else {
    rows.push([
      "messages",
      `${formatCount(m.sent)} sent  ${formatCount(m.echoed)} echoed  ${
        formatCount(m.mismatched)
      } mismatched  ${formatCount(m.missing)} missing  ${
        formatCount(m.late)
      } late`,
    ]);
  }
  if (m.unsolicited > 0) {
    rows.push(["skipped", `${m.unsolicited} welcome frames`]);
  }
  rows.push([
    "rate",
    `${formatCount(report.messagesPerSecond)} msg/s  ${
      report.mibPerSecond.toFixed(2)
    } MiB/s`,
  ]);
  rows.push([
    report.mode === "stream" ? "one-way" : "round trip",
    percentiles(report.latency, true),
  ]);
  if (report.mode === "open") {
    rows.push(["from schedule", percentiles(report.scheduledLatency, true)]);
    rows.push(["send lag", percentiles(report.sendLag, false)]);
  }
  rows.push([
    "closes",
    report.closes.length === 0
      ? "none"
      : report.closes.map((row) =>
        `${row.code} ${row.meaning} (by ${row.by}) × ${row.count}`
      ).join(", "),
  ]);
  for (const failure of report.failures) rows.push(["error", failure]);
  rows.push(["result", report.ok ? "ok" : "FAILED"]);
  const width = Math.max(...rows.map(([label]) => label.length)) + 2;
  return [
    `${COMMAND} ${report.url}: ${shape}, ${kind}, ${s.durationMs / 1000} s (+${
      s.warmupMs / 1000
    } s warm-up)`,
    ...rows.map(([label, value]) => `  ${label.padEnd(width)}${value}`),
  ].join("\n");
}

/**
 * Renders one progress line.
 *
 * @param progress The engine's progress report.
 * @returns The line.
 */
export function formatProgress(progress: LoadProgress): string {
  return `${(progress.elapsedMs / 1000).toFixed(0).padStart(4)} s  ${
    progress.phase.padEnd(7)
  }  ${formatCount(progress.messagesPerSecond).padStart(9)} msg/s  p99 ${
    progress.p99 > 0 ? formatMicros(progress.p99) : "-"
  }  errors ${progress.errors}`;
}

/**
 * Runs `wsecho bench`.
 *
 * @param args The arguments after `bench`.
 * @returns The exit status.
 */
export async function benchMain(args: readonly string[]): Promise<number> {
  let command: BenchCommand | "help";
  try {
    command = parseBenchArgs(args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    printError(error.message);
    return 2;
  }
  if (command === "help") {
    writeOut(BENCH_HELP + "\n");
    return 0;
  }
  const tty = !command.json && Deno.stdout.isTerminal();
  const controller = new AbortController();
  const stop = () => controller.abort();
  Deno.addSignalListener("SIGINT", stop);
  let report: LoadReport;
  try {
    report = await runLoad(command.url, {
      ...command.load,
      signal: controller.signal,
      ...(tty
        ? {
          onProgress: (progress: LoadProgress) =>
            writeOut(`\r\x1b[2K${formatProgress(progress)}`),
        }
        : {}),
    });
  } finally {
    Deno.removeSignalListener("SIGINT", stop);
  }
  if (tty) writeOut("\r\x1b[2K");
  writeOut(
    (command.json ? JSON.stringify(report, null, 2) : formatReport(report)) +
      "\n",
  );
  return report.ok ? 0 : 1;
}
