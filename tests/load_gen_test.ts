/**
 * The bench's load generator keeps its command-line contract
 * (bench/README.md): one JSON config argument, `go` lines on stdin, JSON
 * events on stdout. Functional only: it checks that every scheduled echo of
 * the fixed-rate mode comes back intact and is counted, never how fast.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { GenEvent, RateConfig, RateResult } from "../bench/_protocol.ts";
import { startServer } from "./test_utils.ts";

const BENCH_DIR = new URL("../bench/", import.meta.url).pathname;

async function runGenerator(config: RateConfig): Promise<GenEvent[]> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net=127.0.0.1",
      "--allow-read=_clock_worker.ts",
      "load_gen.ts",
      JSON.stringify(config),
    ],
    cwd: BENCH_DIR,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode("go\n"));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  return new TextDecoder().decode(stdout).trim().split("\n").map((line) =>
    JSON.parse(line) as GenEvent
  );
}

Deno.test("load_gen rate mode: every scheduled echo comes back and is counted", async () => {
  await using ts = startServer({ maxConnectionsPerIp: 0 });
  const events = await runGenerator({
    mode: "rate",
    url: `${ts.ws}?welcome=0`,
    protocols: [],
    skipWelcome: false,
    connectConcurrency: 8,
    connections: 4,
    rate: 400,
    size: 32,
    binary: false,
    warmupMs: 200,
    durationMs: 500,
  });
  assert.deepEqual(events.map((event) => event.event), [
    "ready",
    "measure-start",
    "measure-end",
    "result",
  ]);
  const last = events[3] as { result: RateResult };
  const result = last.result;
  assert.equal(result.mismatches, 0);
  assert.deepEqual(result.failures, []);
  // 400 msg/s over a 0.5 s window, whatever the machine's speed: the schedule
  // is fixed in advance.
  assert.equal(result.scheduled, 200);
  assert.equal(result.received, 200);
  assert.equal(result.latency.count, 200);
  assert.ok(result.latency.p50 <= result.latency.p90);
  assert.ok(result.latency.p99 <= result.latency.max);
  assert.ok(result.serviceLatency.max <= result.latency.max + 1e-6);
  assert.equal(ts.server.state.metrics.echo.messagesIn >= 200, true);
});
