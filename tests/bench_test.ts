/**
 * Tests of `wsecho bench` (`src/cli/bench.ts`): flag parsing, the table and
 * the progress line as pure functions, and the command itself run as a
 * child process with the compiled binary's permissions against wsecho, the
 * benchmark's baseline echo, a corrupting echo and a refusing server. The
 * engine's own tests are in `load_test.ts`.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  BENCH_HELP,
  formatMicros,
  formatProgress,
  formatReport,
  parseBenchArgs,
} from "../src/cli/bench.ts";
import { UsageError } from "../src/cli/_flags.ts";
import type { LoadReport } from "../src/client/load.ts";
import { startServer } from "./test_utils.ts";
import { childEnv, startWsecho } from "./wsecho_process.ts";
import {
  corruptingEcho,
  ROOT,
  runWsecho,
  startBaseline,
  startLocalServer,
} from "./client_servers.ts";

const QUICK = ["-d", "0.5", "--warmup", "0.2", "--late", "10000"];

Deno.test("parseBenchArgs() has the issue's defaults", () => {
  const command = parseBenchArgs(["ws://h/ws"]);
  assert.ok(command !== "help");
  assert.deepEqual(command, {
    url: "ws://h/ws",
    json: false,
    load: {
      connections: 64,
      inFlight: 16,
      rate: 0,
      size: 32,
      binary: false,
      durationMs: 10_000,
      warmupMs: 1000,
      lateMs: 5000,
      connectConcurrency: 64,
      stream: false,
      protocols: [],
      headers: {},
    },
  });
});

Deno.test("parseBenchArgs() reads every flag", () => {
  const command = parseBenchArgs([
    "-c",
    "8",
    "--in-flight",
    "2",
    "--rate",
    "1500.5",
    "--size",
    "16KiB",
    "--binary",
    "-d",
    "2.5",
    "--warmup",
    "0",
    "--late",
    "100",
    "--connect-concurrency",
    "4",
    "--protocol",
    "wsecho.v1",
    "-H",
    "X-A: b",
    "--origin",
    "http://o",
    "--json",
    "wss://h/",
  ]);
  assert.ok(command !== "help");
  assert.equal(command.json, true);
  assert.deepEqual(command.load, {
    connections: 8,
    inFlight: 2,
    rate: 1500.5,
    size: 16384,
    binary: true,
    durationMs: 2500,
    warmupMs: 0,
    lateMs: 100,
    connectConcurrency: 4,
    stream: false,
    protocols: ["wsecho.v1"],
    headers: { "X-A": "b", Origin: "http://o" },
  });
  assert.equal(parseBenchArgs(["-h"]), "help");
});

Deno.test("parseBenchArgs() refuses bad flags with one line", () => {
  const cases: Array<[string[], RegExp]> = [
    [["ws://h/", "--bogus"], /^wsecho bench: Unknown option '--bogus'/],
    [["ws://h/", "-c", "0"], /--connections: "0" is out of range \(1 to/],
    [["ws://h/", "-c", "many"], /--connections: "many" is not a whole number/],
    [["ws://h/", "-d", "-1"], /--duration: "-1" is not a number/],
    [["ws://h/", "--size", "1GiB"], /--size: "1GiB" is not a size/],
    [
      ["ws://h/", "--stream", "--size", "8"],
      /--size: "8" is out of range \(32/,
    ],
    [["ws://h/", "--binary=yes"], /--binary/],
    [[], /^wsecho bench: missing URL/],
  ];
  for (const [args, pattern] of cases) {
    assert.throws(() => parseBenchArgs(args), (error: unknown) => {
      assert.ok(error instanceof UsageError);
      assert.match(error.message, pattern);
      assert.ok(!error.message.includes("\n"), error.message);
      return true;
    });
  }
});

Deno.test("formatMicros() picks µs, ms or s", () => {
  assert.equal(formatMicros(512.4), "512 µs");
  assert.equal(formatMicros(1234), "1.23 ms");
  assert.equal(formatMicros(2_500_000), "2.50 s");
});

const SUMMARY = {
  count: 10,
  mean: 600,
  min: 100,
  p50: 500,
  p90: 900,
  p99: 1500,
  p999: 2000,
  max: 2500,
};

function sampleReport(overrides: Partial<LoadReport> = {}): LoadReport {
  return {
    mode: "closed",
    url: "ws://h/ws",
    settings: {
      connections: 2,
      inFlight: 3,
      rate: 0,
      size: 32,
      binary: false,
      durationMs: 1000,
      warmupMs: 500,
      lateMs: 5000,
    },
    connections: {
      attempted: 3,
      opened: 2,
      failed: 1,
      statuses: { "503": 1 },
      refusal: "HTTP 503 Service Unavailable: full (Retry-After: 5)",
      errors: {},
      closedEarly: 0,
      connectTime: SUMMARY,
    },
    messages: {
      sent: 12345,
      echoed: 12340,
      mismatched: 5,
      missing: 0,
      late: 0,
      unsolicited: 2,
      duplicated: 0,
      reordered: 0,
    },
    seconds: 1,
    messagesPerSecond: 12000.4,
    mibPerSecond: 0.366,
    latency: SUMMARY,
    sendLag: { ...SUMMARY, count: 0 },
    scheduledLatency: { ...SUMMARY, count: 0 },
    closes: [{ code: 1000, meaning: "normal closure", by: "client", count: 2 }],
    failures: ["Connection 1: echo differs"],
    ok: false,
    ...overrides,
  };
}

Deno.test("formatReport() prints one table with every figure", () => {
  assert.equal(
    formatReport(sampleReport()),
    [
      "wsecho bench ws://h/ws: closed loop, 2 connections × 3 in flight, 32 B text, 1 s (+0.5 s warm-up)",
      "  connections   2 opened, 1 failed (HTTP 503 × 1)",
      "  refused       HTTP 503 Service Unavailable: full (Retry-After: 5)",
      "  connect time  p50 500 µs  p99 1.50 ms",
      "  messages      12,345 sent  12,340 echoed  5 mismatched  0 missing  0 late",
      "  skipped       2 welcome frames",
      "  rate          12,000 msg/s  0.37 MiB/s",
      "  round trip    p50 500 µs  p90 900 µs  p99 1.50 ms  p99.9 2.00 ms  max 2.50 ms",
      "  closes        1000 normal closure (by client) × 2",
      "  error         Connection 1: echo differs",
      "  result        FAILED",
    ].join("\n"),
  );
  const open = formatReport(
    sampleReport({
      mode: "open",
      settings: { ...sampleReport().settings, rate: 5000 },
    }),
  );
  assert.match(open, /open loop, 5,000 msg\/s over 2 connections/);
  assert.match(
    open,
    /\n {2}from schedule {2}no samples\n {2}send lag +no samples\n/,
  );
  const stream = formatReport(sampleReport({ mode: "stream" }));
  assert.match(stream, /12,345 expected {2}12,340 received {2}0 lost/);
  assert.match(stream, /\n {2}one-way +p50 500 µs/);
});

Deno.test("formatProgress() prints elapsed, rate, p99 and errors", () => {
  assert.equal(
    formatProgress({
      elapsedMs: 3000,
      phase: "measure",
      messagesPerSecond: 123456,
      p99: 1500,
      errors: 2,
    }),
    "   3 s  measure    123,456 msg/s  p99 1.50 ms  errors 2",
  );
});

Deno.test("wsecho bench --json against wsecho: a clean run exits 0", async () => {
  await using server = startServer();
  const { code, stdout, stderr } = await runWsecho([
    "bench",
    ...QUICK,
    "-c",
    "4",
    "--in-flight",
    "4",
    "--json",
    `${server.ws}?welcome=0`,
  ]);
  assert.equal(code, 0, stderr + stdout);
  const report = JSON.parse(stdout) as LoadReport;
  assert.equal(report.ok, true);
  assert.equal(report.connections.opened, 4);
  assert.equal(report.messages.mismatched, 0);
  assert.equal(report.messages.unsolicited, 0, "?welcome=0 was honoured");
  assert.ok(report.messages.echoed > 0);
  assert.ok(report.latency.p99 > 0);
});

Deno.test("wsecho bench against the baseline echo: open loop, binary, table", async () => {
  await using baseline = await startBaseline();
  const { code, stdout, stderr } = await runWsecho([
    "bench",
    ...QUICK,
    "-c",
    "2",
    "--rate",
    "200",
    "--binary",
    "--size",
    "1KiB",
    baseline.ws,
  ]);
  assert.equal(code, 0, stderr + stdout);
  assert.match(
    stdout,
    /^wsecho bench ws:\/\/127\.0\.0\.1:\d+\/: open loop, 200 msg\/s over 2 connections, 1024 B binary/,
  );
  assert.match(
    stdout,
    /\n {2}messages +\d[\d,]* sent {2}\d[\d,]* echoed {2}0 mismatched {2}0 missing {2}0 late\n/,
  );
  assert.match(
    stdout,
    /\n {2}round trip +p50 .+ {2}p90 .+ {2}p99 .+ {2}p99\.9 .+ {2}max .+\n/,
  );
  assert.match(stdout, /\n {2}closes +1000 normal closure \(by client\) × 2\n/);
  assert.match(stdout, /\n {2}result +ok\n$/);
  assert.doesNotMatch(stdout, /\r/, "no progress line when stdout is a pipe");
});

Deno.test("wsecho bench against a corrupting echo reports mismatches and exits 1", async () => {
  await using server = startLocalServer(corruptingEcho);
  const { code, stdout } = await runWsecho([
    "bench",
    ...QUICK,
    "-c",
    "2",
    "--in-flight",
    "2",
    server.ws,
  ]);
  assert.equal(code, 1, stdout);
  const mismatched = /(\d[\d,]*) mismatched/.exec(stdout)?.[1];
  assert.ok(mismatched !== undefined && mismatched !== "0", stdout);
  assert.match(
    stdout,
    /\n {2}error +Connection \d: echo differs: got text\(32\) "X/,
  );
  assert.match(stdout, /\n {2}result +FAILED\n$/);
});

Deno.test("wsecho bench shows refused handshakes with their status and exits 1", async () => {
  await using server = startLocalServer();
  const { code, stdout } = await runWsecho([
    "bench",
    ...QUICK,
    "-c",
    "2",
    `${server.ws}/403`,
  ]);
  assert.equal(code, 1, stdout);
  assert.match(
    stdout,
    /\n {2}connections +0 opened, 2 failed \(HTTP 403 × 2\)\n/,
  );
  assert.match(
    stdout,
    /\n {2}refused +HTTP 403 Forbidden: Forbidden: origin not allowed\n/,
  );
});

Deno.test("wsecho bench: a bad flag exits 2 with one line; --help is a man page", async () => {
  const bad = await runWsecho(["bench", "-c", "0", "ws://127.0.0.1:1/"]);
  assert.equal(bad.code, 2);
  assert.equal(bad.stdout, "");
  assert.equal(
    bad.stderr,
    'wsecho bench: invalid value for --connections: "0" is out of range (1 to 1000000)\n',
  );
  const help = await runWsecho(["bench", "--help"]);
  assert.equal(help.code, 0);
  assert.equal(help.stdout, BENCH_HELP + "\n");
  for (const section of ["SYNOPSIS", "OPTIONS", "EXIT STATUS", "EXAMPLES"]) {
    assert.match(BENCH_HELP, new RegExp(`^${section}$`, "m"));
  }
  for (
    const flag of [
      /-c, --connections N .*\(default: 64\)/,
      /--in-flight K .*\n.*\(default: 16\)/,
      /--size B .*\n.*\(default: 32\)/,
      /-d, --duration S .*\(default: 10\)/,
      /--warmup S .*\(default: 1\)/,
    ]
  ) assert.match(BENCH_HELP, flag);
  const top = await runWsecho(["--help"]);
  assert.match(top.stdout, /wsecho connect \[options\] URL/);
  assert.match(top.stdout, /wsecho bench \[options\] URL/);
});

Deno.test("the server starts without the client's histogram package", async () => {
  // An empty Deno cache and --cached-only: the server must need no npm
  // package at all. The client's histogram package is loaded through a
  // computed import; a literal one would put it (and with it the lockfile's
  // whole npm snapshot) in the graph that `deno run` installs at start.
  const cache = await Deno.makeTempDir({ prefix: "wsecho-cache-" });
  try {
    await using server = await startWsecho(
      [
        Deno.execPath(),
        "run",
        "--cached-only",
        "--no-lock",
        "--allow-net",
        "--allow-env",
        "main.ts",
      ],
      ["--port", "0", "--hostname", "127.0.0.1"],
      { cwd: ROOT, env: { ...childEnv(), DENO_DIR: cache }, timeoutMs: 60_000 },
    );
    const stopped = await server.stop();
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.doesNotMatch(stopped.stderr, /hdr-histogram|Download|npm/);
  } finally {
    await Deno.remove(cache, { recursive: true });
  }
});

const HAS_SCRIPT = (() => {
  try {
    return Deno.statSync("/usr/bin/script").isFile;
  } catch {
    return false;
  }
})();

Deno.test({
  name: "wsecho bench prints a progress line a second on a terminal",
  // util-linux `script` gives the command a pseudo-terminal: apt-get install bsdutils
  ignore: !HAS_SCRIPT && Deno.env.get("CI") !== "true",
  fn: async () => {
    await using baseline = await startBaseline();
    const command = [
      Deno.execPath(),
      "run",
      "--allow-net",
      "main.ts",
      "bench",
      "-c",
      "2",
      "-d",
      "2.5",
      "--warmup",
      "0",
      baseline.ws,
    ].join(" ");
    const output = await new Deno.Command("/usr/bin/script", {
      args: ["-qec", command, "/dev/null"],
      cwd: ROOT,
      env: childEnv(),
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    // Each progress line starts by wiping the last: carriage return, erase line.
    const text = new TextDecoder().decode(output.stdout).replaceAll(
      "\r\x1b[2K",
      "<wipe>",
    );
    assert.equal(output.code, 0, text);
    assert.match(
      text,
      /<wipe> +\d+ s {2}measure +[\d,]+ msg\/s {2}p99 \S+ \S+ {2}errors 0/,
    );
    assert.match(text, /<wipe>wsecho bench ws:/, "wiped before the table");
  },
});

Deno.test("wsecho bench --stream against wsecho's test lab: loss, order, one-way latency", async () => {
  await using server = startServer();
  const { code, stdout, stderr } = await runWsecho([
    "bench",
    "--stream",
    "-c",
    "2",
    "--rate",
    "200",
    ...QUICK,
    `${server.ws}?welcome=0`,
  ]);
  assert.equal(code, 0, stderr + stdout);
  assert.match(
    stdout,
    /emit=70&rate=100&size=32: stream, 200 msg\/s over 2 connections/,
  );
  assert.match(
    stdout,
    /\n {2}messages +140 expected {2}140 received {2}0 lost {2}0 duplicated {2}0 reordered {2}0 malformed {2}0 late\n/,
  );
  assert.match(stdout, /\n {2}one-way +p50 /);
});
