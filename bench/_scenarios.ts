/**
 * The six scenarios. Each starts its own pair of fresh servers (so one
 * scenario's heap does not colour the next one's memory figures), drives the
 * baseline and then wsecho with the same generator settings, adds rows and
 * stops its servers.
 *
 * @module
 */
import {
  type Bench,
  checkIntegrity,
  churnConfig,
  CONNECT_CONCURRENCY,
  CpuMeter,
  type CpuWindow,
  NOISE_PERCENT,
  type Server,
  type ServerName,
} from "./_bench.ts";
import type {
  BroadcastConfig,
  BroadcastResult,
  ChurnResult,
  EchoResult,
  IdleResult,
  RateResult,
} from "./_protocol.ts";
import {
  countFds,
  delay,
  type GenProcess,
  readOpenFileLimit,
  readRssKiB,
} from "./_proc.ts";
import {
  buildGoGenerator,
  type GoRateResult,
  runGoGenerator,
} from "./_go_generator.ts";
import { instructions } from "./_instructions.ts";
import { interleavedConnects, type InterleaveReading } from "./_interleave.ts";
import type { LatencySummary } from "./_stats.ts";
import { formatNumber, type Row } from "./_table.ts";

/** Scenario names, in the order they run. */
export const SCENARIOS = [
  "throughput",
  "latency",
  "fixed-rate",
  "go-fixed-rate",
  "memory",
  "churn",
  "broadcast",
  "instructions",
] as const;

/** One scenario's name. */
export type ScenarioName = typeof SCENARIOS[number];

/** wsecho flags that lift the per-IP limit: every loopback peer shares one IP. */
const UNLIMITED_PER_IP = ["--max-connections-per-ip", "0"];
/** Connections per batch of the interleaved connect measurements: about a tenth of a second. */
const INTERLEAVE_BATCH = 500;

type Pair = Partial<Record<ServerName, Server>>;

interface EchoShape {
  connections: number;
  inflight: number;
  size: number;
  binary: boolean;
  warmupMs: number;
  durationMs: number;
}

interface EchoRun {
  messagesPerSecond: number;
  mibPerSecond: number;
  latency: LatencySummary;
  cpu: CpuWindow;
  generators: number;
  attempts: number;
  results: EchoResult[];
}

/**
 * Runs one scenario by name.
 *
 * @param bench The run.
 * @param name The scenario.
 */
export async function runScenario(
  bench: Bench,
  name: ScenarioName,
): Promise<void> {
  switch (name) {
    case "throughput":
      return await throughput(bench);
    case "latency":
      return await latency(bench);
    case "fixed-rate":
      return await fixedRate(bench);
    case "go-fixed-rate":
      return await goFixedRate(bench);
    case "memory":
      return await memory(bench);
    case "churn":
      return await churn(bench);
    case "broadcast":
      return await broadcast(bench);
    case "instructions":
      return await instructions(bench);
  }
}

async function startPair(bench: Bench, wsechoFlags: string[]): Promise<Pair> {
  const pair: Pair = { baseline: await bench.startServer("baseline") };
  if ("missing" in bench.wsecho) {
    bench.log(`wsecho skipped: ${bench.wsecho.missing}`);
    return pair;
  }
  try {
    pair.wsecho = await bench.startServer("wsecho", wsechoFlags);
  } catch (error) {
    bench.fail(`wsecho did not start: ${(error as Error).message}`);
  }
  return pair;
}

async function stopPair(bench: Bench, pair: Pair): Promise<void> {
  for (const server of Object.values(pair)) await bench.stopServer(server);
}

function servers(pair: Pair): Server[] {
  return [pair.baseline, pair.wsecho].filter((s): s is Server =>
    s !== undefined
  );
}

function flagNote(server: Server | undefined): string {
  return server && server.flags.length > 0
    ? `wsecho ${server.flags.join(" ")}`
    : "";
}

function cpuNote(name: string, cpu: CpuWindow): string {
  const noisy = cpu.other >= NOISE_PERCENT ? " NOISY" : "";
  return `${name} CPU srv ${Math.round(cpu.server)}% gen ${
    Math.round(cpu.generators)
  }% other ${Math.round(cpu.other)}%${noisy}`;
}

function join(...parts: string[]): string {
  return parts.filter((part) => part !== "").join("; ");
}

async function finishAll(generators: GenProcess[]): Promise<void> {
  await Promise.all(generators.map((gen) => gen.finish()));
}

/** Extra attempts at a timed echo window that other processes disturbed. */
const NOISY_RETRIES = 1;

async function echoRun(
  bench: Bench,
  server: Server,
  shape: EchoShape,
  generatorCount: number,
  what: string,
): Promise<EchoRun> {
  return await quietestOf(
    bench,
    () => echoAttempt(bench, server, shape, generatorCount, what),
  );
}

/**
 * Runs a timed window, and once more when others used the machine in it
 * (within the run's noise budget).
 *
 * @returns The quieter window, with how many were run.
 */
async function quietestOf<T extends { cpu: CpuWindow; attempts: number }>(
  bench: Bench,
  attempt: () => Promise<T>,
): Promise<T> {
  let best: T | undefined;
  for (let tries = 0; tries <= NOISY_RETRIES; tries++) {
    await bench.waitForQuiet();
    const started = performance.now();
    const run = await attempt();
    run.attempts = tries + 1;
    if (best === undefined || run.cpu.other < best.cpu.other) best = run;
    if (!(run.cpu.other >= NOISE_PERCENT) || !bench.hasNoiseBudget()) break;
    if (tries < NOISY_RETRIES) {
      bench.log(
        `  noisy window (other ${Math.round(run.cpu.other)}%): retrying`,
      );
      bench.chargeNoise(performance.now() - started);
    }
  }
  return best as T;
}

async function echoAttempt(
  bench: Bench,
  server: Server,
  shape: EchoShape,
  generatorCount: number,
  what: string,
): Promise<EchoRun> {
  bench.log(`${what}: ${server.name}, ${generatorCount} generator(s)`);
  const meter = new CpuMeter(server.pid);
  const generators: GenProcess[] = [];
  try {
    for (let g = 0; g < generatorCount; g++) {
      const connections = Math.floor(shape.connections / generatorCount) +
        (g < shape.connections % generatorCount ? 1 : 0);
      const gen = bench.spawnGenerator({
        mode: "echo",
        url: server.echoUrl,
        protocols: [],
        skipWelcome: server.skipWelcome,
        connectConcurrency: CONNECT_CONCURRENCY,
        ...shape,
        connections,
      }, g === 0 ? meter.hook : undefined);
      meter.generators.add(gen.pid);
      generators.push(gen);
    }
    await Promise.all(generators.map((gen) => gen.expect("ready")));
    await Promise.all(generators.map((gen) => gen.go()));
    const results = await Promise.all(generators.map(async (gen) => {
      await gen.expect("measure-start");
      await gen.expect("measure-end");
      return await gen.result<EchoResult>();
    }));
    for (const result of results) {
      checkIntegrity(bench, `${what} ${server.name}`, result);
    }
    const first = results[0] as EchoResult;
    return {
      messagesPerSecond: sum(results.map((r) => r.messagesPerSecond)),
      mibPerSecond: sum(results.map((r) => r.mibPerSecond)),
      latency: first.latency,
      cpu: meter.read("echo"),
      generators: generatorCount,
      attempts: 1,
      results,
    };
  } finally {
    await finishAll(generators);
  }
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

/** Most generator processes the throughput calibration tries. */
const MAX_GENERATORS = 8;
/** A doubling of generator processes that raises the rate less than this is flat. */
const FLAT_GAIN = 1.1;

async function throughput(bench: Bench): Promise<void> {
  const { warmupMs, durationMs } = bench.settings;
  const variants = [
    { label: "32 B text", size: 32, binary: false, unit: "msg/s" },
    { label: "16 KiB binary", size: 16 * 1024, binary: true, unit: "MiB/s" },
  ];
  const pair = await startPair(bench, []);
  const raw: Record<string, unknown> = {};
  try {
    for (const variant of variants) {
      const shape: EchoShape = {
        connections: 64,
        inflight: 16,
        size: variant.size,
        binary: variant.binary,
        warmupMs,
        durationMs,
      };
      const what = `throughput ${variant.label}`;
      const runs: Record<string, EchoRun> = {};
      const value = (run: EchoRun | undefined) =>
        run === undefined
          ? undefined
          : variant.binary
          ? run.mibPerSecond
          : run.messagesPerSecond;
      const rate = (name: ServerName, n: number) => value(runs[`${name}-${n}`]);

      // Calibrate on the baseline: double the generator processes until the
      // rate stops rising; the last doubling that still helped is the setting.
      let chosen = 1;
      const tried: number[] = [];
      if (pair.baseline) {
        runs["baseline-1"] = await echoRun(
          bench,
          pair.baseline,
          shape,
          1,
          what,
        );
        tried.push(1);
        for (let n = 2; n <= MAX_GENERATORS; n *= 2) {
          runs[`baseline-${n}`] = await echoRun(
            bench,
            pair.baseline,
            shape,
            n,
            what,
          );
          tried.push(n);
          const gain = (rate("baseline", n) ?? 0) /
            (rate("baseline", n / 2) ?? Infinity);
          if (gain < FLAT_GAIN) break;
          chosen = n;
        }
      }
      const check = tried.includes(chosen * 2) ? chosen * 2 : undefined;
      // The compared figures: fresh windows at the chosen setting, alternating
      // the servers so that a drift of the machine hits both alike.
      const rounds = await alternate(
        bench,
        pair,
        (server, round) =>
          echoRun(bench, server, shape, chosen, `${what} round ${round}`),
      );
      if (pair.wsecho && check !== undefined) {
        runs[`wsecho-${check}`] = await echoRun(
          bench,
          pair.wsecho,
          shape,
          check,
          what,
        );
      }
      raw[variant.label] = { chosenGenerators: chosen, runs, rounds };
      const roundRate = (name: ServerName) =>
        median(rounds[name].map((run) => value(run) ?? NaN));
      const roundMicros = (name: ServerName) =>
        rounds[name].map((run) =>
          microsPerOp(run.cpu.server, run.messagesPerSecond)
        );

      const notes = (n: number) =>
        join(
          ...servers(pair).map((server) => {
            const run = runs[`${server.name}-${n}`];
            if (!run) return "";
            const messages = variant.binary
              ? `, ${formatNumber(run.messagesPerSecond)} msg/s`
              : "";
            return cpuNote(server.name, run.cpu) + messages;
          }),
        );
      const calibration = tried.map((n) =>
        `${n}: ${formatNumber(rate("baseline", n))}`
      ).join(", ");
      bench.add({
        scenario: "throughput",
        figure: `${variant.label}, 64 conn × 16 in flight, ${chosen} gen`,
        unit: variant.unit,
        better: "higher",
        ...defined("baseline", roundRate("baseline")),
        ...defined("wsecho", roundRate("wsecho")),
        note: join(
          roundsNote(rounds, (run) => formatNumber(value(run))),
          roundsCpuNote(rounds),
          `baseline by generator processes ${calibration}`,
          bench.welcomeNote(),
        ),
      });
      bench.add({
        scenario: "throughput",
        figure: `  server CPU per round trip`,
        unit: "µs",
        better: "lower",
        ...defined("baseline", median(roundMicros("baseline"))),
        ...defined("wsecho", median(roundMicros("wsecho"))),
        note: join(
          "server CPU time ÷ round trips: independent of the generator",
          roundsNote(
            rounds,
            (run) =>
              formatNumber(microsPerOp(run.cpu.server, run.messagesPerSecond)),
          ),
          pairedNote(roundMicros("baseline"), roundMicros("wsecho")),
        ),
      });
      if (check === undefined) {
        bench.add({
          scenario: "throughput",
          figure: `  generator check`,
          unit: variant.unit,
          better: "higher",
          note: `baseline still rising at ${chosen} generator processes: ` +
            "the generator limits this figure",
        });
        continue;
      }
      const noisy = [chosen, check].some((n) =>
        !((runs[`baseline-${n}`]?.cpu.other ?? Infinity) < NOISE_PERCENT)
      );
      const gain = (rate("baseline", check) ?? NaN) /
        (rate("baseline", chosen) ?? NaN);
      bench.add({
        scenario: "throughput",
        figure: `  generator check: ${check} gen`,
        unit: variant.unit,
        better: "higher",
        ...defined("baseline", rate("baseline", check)),
        ...defined("wsecho", rate("wsecho", check)),
        note: join(
          `baseline ${check} gen/${chosen} gen = ${gain.toFixed(2)}` +
            (noisy
              ? " (noisy window: verdict uncertain)"
              : " (generator not the bottleneck)"),
          notes(check),
        ),
      });
    }
  } finally {
    bench.raw.throughput = raw;
    await stopPair(bench, pair);
  }
}

/**
 * CPU microseconds per operation.
 *
 * @param cpuPercent CPU use, percent of one core.
 * @param perSecond Operations per second.
 */
function microsPerOp(cpuPercent: number, perSecond: number): number {
  return (cpuPercent / 100 / perSecond) * 1e6;
}

/**
 * Runs `measure` on both servers for `bench.settings.rounds` rounds,
 * alternating which server goes first: A B, B A, A B…
 *
 * @param bench The run.
 * @param pair The servers.
 * @param measure One measurement of one server.
 * @returns The measurements of each server, in round order.
 */
async function alternate<T>(
  bench: Bench,
  pair: Pair,
  measure: (server: Server, round: number) => Promise<T>,
): Promise<Record<ServerName, T[]>> {
  const results: Record<ServerName, T[]> = { baseline: [], wsecho: [] };
  for (let round = 1; round <= bench.settings.rounds; round++) {
    const order = servers(pair);
    if (round % 2 === 0) order.reverse();
    for (const server of order) {
      results[server.name].push(await measure(server, round));
    }
  }
  return results;
}

/**
 * The median of some values.
 *
 * @param values The values; `NaN` ones are ignored.
 * @returns The median, or `undefined` when there is none.
 */
export function median(values: readonly number[]): number | undefined {
  const sorted = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return undefined;
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? sorted[middle]
    : ((sorted[middle - 1] ?? NaN) + (sorted[middle] ?? NaN)) / 2;
}

function roundsNote<T>(
  rounds: Record<ServerName, T[]>,
  show: (run: T) => string,
): string {
  if (rounds.baseline.length + rounds.wsecho.length <= 2) return "";
  return join(
    ...(["baseline", "wsecho"] as const).map((name) =>
      rounds[name].length > 0
        ? `${name} rounds ${rounds[name].map(show).join(", ")}`
        : ""
    ),
  );
}

function roundsCpuNote(
  rounds: Record<ServerName, readonly { cpu: CpuWindow }[]>,
): string {
  return join(
    ...(["baseline", "wsecho"] as const).map((name) => {
      const runs = rounds[name];
      if (runs.length === 0) return "";
      const noisy = runs.filter((run) => run.cpu.other >= NOISE_PERCENT);
      return `${name} CPU srv ${
        Math.round(median(runs.map((run) => run.cpu.server)) ?? NaN)
      }% gen ${
        Math.round(median(runs.map((run) => run.cpu.generators)) ?? NaN)
      }% other ≤ ${Math.round(Math.max(...runs.map((run) => run.cpu.other)))}%${
        noisy.length > 0 ? ` NOISY ×${noisy.length}` : ""
      }`;
    }),
  );
}

/** The median of the per-round wsecho / baseline ratios, when there are several rounds. */
function pairedNote(baseline: number[], wsecho: number[]): string {
  const ratios = wsecho.map((value, i) => value / (baseline[i] ?? NaN));
  if (ratios.length < 2) return "";
  return `median of per-round ratios ${(median(ratios) ?? NaN).toFixed(2)}`;
}

function defined(
  key: "baseline" | "wsecho",
  value: number | undefined,
): { baseline?: number; wsecho?: number } {
  return value === undefined ? {} : { [key]: value };
}

async function latency(bench: Bench): Promise<void> {
  const { latencyWarmupMs, latencyDurationMs } = bench.settings;
  const pair = await startPair(bench, []);
  const raw: Record<string, unknown> = {};
  try {
    for (const connections of [1, 100]) {
      const shape: EchoShape = {
        connections,
        inflight: 1,
        size: 32,
        binary: false,
        warmupMs: latencyWarmupMs,
        durationMs: latencyDurationMs,
      };
      const runs: Partial<Record<ServerName, EchoRun>> = {};
      for (const server of servers(pair)) {
        runs[server.name] = await echoRun(
          bench,
          server,
          shape,
          1,
          `latency ${connections} conn`,
        );
      }
      raw[`${connections} conn`] = runs;
      const pick = (run: EchoRun | undefined, key: keyof LatencySummary) =>
        run?.latency[key];
      const rateNote = join(
        ...servers(pair).map((server) => {
          const run = runs[server.name];
          return run
            ? `${server.name} ${formatNumber(run.messagesPerSecond)} msg/s, ${
              cpuNote("", run.cpu).trim()
            }`
            : "";
        }),
      );
      for (
        const [key, label] of [["p50", "p50"], ["p99", "p99"], [
          "p999",
          "p99.9",
        ]] as const
      ) {
        bench.add({
          scenario: "latency",
          figure: `${connections} conn × 1 in flight, 32 B, ${label}`,
          unit: "µs",
          better: "lower",
          ...defined("baseline", pick(runs.baseline, key)),
          ...defined("wsecho", pick(runs.wsecho, key)),
          note: key === "p50" ? rateNote : "",
        });
      }
    }
  } finally {
    bench.raw.latency = raw;
    await stopPair(bench, pair);
  }
}

interface RateRun {
  result: RateResult;
  cpu: CpuWindow;
  attempts: number;
}

async function rateRun(
  bench: Bench,
  server: Server,
  what: string,
): Promise<RateRun> {
  const s = bench.settings;
  return await quietestOf(bench, async () => {
    bench.log(`${what}: ${server.name}`);
    const meter = new CpuMeter(server.pid);
    const gen = bench.spawnGenerator({
      mode: "rate",
      url: server.echoUrl,
      protocols: [],
      skipWelcome: server.skipWelcome,
      connectConcurrency: CONNECT_CONCURRENCY,
      connections: s.rateConnections,
      rate: s.rate,
      size: 32,
      binary: false,
      warmupMs: s.rateWarmupMs,
      durationMs: s.rateDurationMs,
    }, meter.hook);
    meter.generators.add(gen.pid);
    try {
      await gen.expect("ready");
      await gen.go();
      await gen.expect("measure-start");
      await gen.expect("measure-end");
      const result = await gen.result<RateResult>();
      checkIntegrity(bench, `${what} ${server.name}`, result);
      return { result, cpu: meter.read("rate"), attempts: 1 };
    } finally {
      await gen.finish();
    }
  });
}

/**
 * Open loop at a fixed rate: the closed-loop latency rows keep one message in
 * flight per connection, so a server stall delays at most one message per
 * connection and holds back the next sends (coordinated omission), and the
 * server runs flat out, so queueing sets the tail. Here the server is mostly
 * idle, sends follow a schedule whatever comes back, and every message that
 * came due during a stall counts its full delay.
 */
async function fixedRate(bench: Bench): Promise<void> {
  const s = bench.settings;
  const pair = await startPair(bench, []);
  let rounds: Record<ServerName, RateRun[]> = { baseline: [], wsecho: [] };
  try {
    rounds = await alternate(
      bench,
      pair,
      (server, round) => rateRun(bench, server, `fixed-rate round ${round}`),
    );
  } finally {
    bench.raw["fixed-rate"] = rounds;
    await stopPair(bench, pair);
  }
  const shape = `${s.rateConnections} conn, ${
    formatNumber(s.rate)
  } msg/s total, 32 B`;
  const pick = (name: ServerName, f: (run: RateRun) => number) =>
    rounds[name].length > 0 ? median(rounds[name].map(f)) : undefined;
  const percentiles = [
    ["p50", "p50"],
    ["p90", "p90"],
    ["p99", "p99"],
    ["p999", "p99.9"],
    ["max", "max"],
  ] as const;
  for (const [key, label] of percentiles) {
    const f = (run: RateRun) => run.result.latency[key];
    bench.add({
      scenario: "fixed-rate",
      figure: `${shape}, ${label} from scheduled send`,
      unit: "µs",
      better: "lower",
      ...defined("baseline", pick("baseline", f)),
      ...defined("wsecho", pick("wsecho", f)),
      note: join(
        roundsNote(rounds, (run) => formatNumber(f(run))),
        pairedNote(rounds.baseline.map(f), rounds.wsecho.map(f)),
        key === "p50"
          ? `${s.rateDurationMs / 1000} s windows of ${
            formatNumber(s.rate * s.rateDurationMs / 1000)
          } messages after ${
            s.rateWarmupMs / 1000
          } s warm-up; ${bench.welcomeNote()}`
          : "",
      ),
    });
  }
  const micros = (run: RateRun) =>
    microsPerOp(run.cpu.server, run.result.messagesPerSecond);
  bench.add({
    scenario: "fixed-rate",
    figure: "  server CPU per message",
    unit: "µs",
    better: "lower",
    ...defined("baseline", pick("baseline", micros)),
    ...defined("wsecho", pick("wsecho", micros)),
    note: roundsCpuNote(rounds),
  });
  const lag = (run: RateRun) => run.result.sendLag.p99;
  bench.add({
    scenario: "fixed-rate",
    figure: "  generator send lag, p99",
    unit: "µs",
    better: "equal",
    ...defined("baseline", pick("baseline", lag)),
    ...defined("wsecho", pick("wsecho", lag)),
    note: "actual − scheduled send time: the generator's own jitter, " +
      "included in the rows above; it should be small next to them",
  });
  const service = (run: RateRun) => run.result.serviceLatency.p99;
  bench.add({
    scenario: "fixed-rate",
    figure: "  p99 from actual send",
    unit: "µs",
    better: "lower",
    ...defined("baseline", pick("baseline", service)),
    ...defined("wsecho", pick("wsecho", service)),
    note: "what a generator that times from its own send would report",
  });
}

async function goFixedRate(bench: Bench): Promise<void> {
  const s = bench.settings;
  const built = await buildGoGenerator(
    new URL(".", import.meta.url).pathname,
    bench.logDir,
  );
  if ("missing" in built) {
    bench.log(`go-fixed-rate skipped: ${built.missing}`);
    return;
  }
  const pair = await startPair(bench, []);
  let rounds: Record<ServerName, GoRateResult[]> = { baseline: [], wsecho: [] };
  try {
    rounds = await alternate(bench, pair, async (server, round) => {
      await bench.waitForQuiet();
      bench.log(`go-fixed-rate round ${round}: ${server.name}`);
      const result = await runGoGenerator(bench, built.path, server);
      if (result.failures > 0) {
        bench.fail(
          `go-fixed-rate ${server.name}: ${result.failures} failed echoes`,
        );
      }
      return result;
    });
  } finally {
    bench.raw["go-fixed-rate"] = rounds;
    await stopPair(bench, pair);
  }
  const shape = `${s.rateConnections} conn, ${
    formatNumber(s.rate)
  } msg/s, Go client`;
  const rows: [string, (r: GoRateResult) => number][] = [
    ["p50 from scheduled send", (r) => r.latency.p50],
    ["p99 from scheduled send", (r) => r.latency.p99],
    ["p99.9 from scheduled send", (r) => r.latency.p999],
    ["p99 from actual send", (r) => r.serviceLatency.p99],
  ];
  for (const [label, f] of rows) {
    bench.add({
      scenario: "go-fixed-rate",
      figure: `${shape}, ${label}`,
      unit: "µs",
      better: "lower",
      ...defined(
        "baseline",
        rounds.baseline.length > 0 ? median(rounds.baseline.map(f)) : undefined,
      ),
      ...defined(
        "wsecho",
        rounds.wsecho.length > 0 ? median(rounds.wsecho.map(f)) : undefined,
      ),
      note: join(
        roundsNote(rounds, (r) => formatNumber(f(r))),
        pairedNote(rounds.baseline.map(f), rounds.wsecho.map(f)),
        label.startsWith("p50")
          ? "gorilla/websocket (bench/go/fixed_rate.go); Go's sleep wakes " +
            "late, so read the scheduled figures with the p50"
          : "",
      ),
    });
  }
}

interface MemoryReading {
  rssBeforeKiB: number;
  rssAfterKiB: number;
  rssAfterCloseKiB: number;
  fdsBefore: number;
  fdsAfter: number;
  healthzConnections?: number;
  perConnectionKiB: number;
  serverOpenFiles: string;
  generatorOpenFiles: string;
  cpu: CpuWindow;
  result: IdleResult;
}

/**
 * Takes a generator through its warm-up, reads the server's RSS and open
 * files a second after it, then through its timed phase.
 */
async function warmThenTime(
  gen: GenProcess,
  server: Server,
): Promise<{ rssBeforeKiB: number; fdsBefore: number }> {
  await gen.expect("ready");
  await gen.go();
  await gen.expect("warm");
  await delay(1000);
  const rssBeforeKiB = readRssKiB(server.pid);
  const fdsBefore = countFds(server.pid);
  await gen.go();
  await gen.expect("measure-start");
  await gen.expect("measure-end");
  return { rssBeforeKiB, fdsBefore };
}

async function memoryOnce(
  bench: Bench,
  server: Server,
  round: number,
): Promise<MemoryReading> {
  const { idleConnections, idleWarmup } = bench.settings;
  await bench.waitForQuiet();
  bench.log(
    `memory round ${round}: ${server.name}, ${idleConnections} idle connections`,
  );
  const meter = new CpuMeter(server.pid);
  const gen = bench.spawnGenerator({
    mode: "idle",
    url: server.echoUrl,
    protocols: [],
    skipWelcome: server.skipWelcome,
    connectConcurrency: CONNECT_CONCURRENCY,
    connections: idleConnections,
    warmupConnections: idleWarmup,
  }, meter.hook);
  meter.generators.add(gen.pid);
  try {
    const { rssBeforeKiB, fdsBefore } = await warmThenTime(gen, server);
    const generatorOpenFiles = readOpenFileLimit(gen.pid);
    const connected = await gen.expect("connected");
    await delay(1500);
    const rssAfterKiB = readRssKiB(server.pid);
    const fdsAfter = countFds(server.pid);
    const healthz = server.name === "wsecho"
      ? await bench.connections(server)
      : undefined;
    await gen.go();
    const result = await gen.result<IdleResult>();
    checkIntegrity(bench, `memory ${server.name}`, result);
    await delay(1000);
    if (healthz !== undefined && healthz !== idleConnections) {
      bench.fail(
        `memory wsecho: /healthz reports ${healthz} connections, expected ${idleConnections}`,
      );
    }
    return {
      rssBeforeKiB,
      rssAfterKiB,
      rssAfterCloseKiB: readRssKiB(server.pid),
      fdsBefore,
      fdsAfter,
      ...(healthz === undefined ? {} : { healthzConnections: healthz }),
      perConnectionKiB: (rssAfterKiB - rssBeforeKiB) / connected.connections,
      serverOpenFiles: readOpenFileLimit(server.pid),
      generatorOpenFiles,
      cpu: meter.read("connect"),
      result,
    };
  } finally {
    await gen.finish();
  }
}

async function memory(bench: Bench): Promise<void> {
  const { idleConnections } = bench.settings;
  const pair = await startPair(bench, UNLIMITED_PER_IP);
  let rounds: Record<ServerName, MemoryReading[]> = {
    baseline: [],
    wsecho: [],
  };
  let interleaved: InterleaveReading | undefined;
  try {
    rounds = await alternate(
      bench,
      pair,
      (server, round) => memoryOnce(bench, server, round),
    );
    if (pair.wsecho !== undefined) {
      await bench.waitForQuiet();
      bench.log("memory: interleaved batches of held connects");
      interleaved = await interleavedConnects(bench, servers(pair), {
        hold: true,
        batch: INTERLEAVE_BATCH,
        batches: Math.max(1, Math.round(idleConnections / INTERLEAVE_BATCH)),
        warmup: 0,
        concurrency: CONNECT_CONCURRENCY,
      });
    }
  } finally {
    bench.raw.memory = { rounds, interleaved };
    await stopPair(bench, pair);
  }
  // RSS: the first round, on fresh servers, as a single run would see it;
  // CPU and the connect rate: the median of every round.
  const [baseline, wsecho] = [rounds.baseline[0], rounds.wsecho[0]];
  const medianOf = (name: ServerName, f: (r: MemoryReading) => number) =>
    rounds[name].length > 0 ? median(rounds[name].map(f)) : undefined;
  const rssNote = (name: string, r: MemoryReading | undefined) =>
    r
      ? `${name} RSS ${mib(r.rssBeforeKiB)}→${
        mib(r.rssAfterKiB)
      } MiB, fds ${r.fdsBefore}→${r.fdsAfter}`
      : "";
  const limits = baseline ?? wsecho;
  bench.add({
    scenario: "memory",
    figure: `${idleConnections} idle connections: RSS per connection (round 1)`,
    unit: "KiB",
    better: "lower",
    ...defined("baseline", baseline?.perConnectionKiB),
    ...defined("wsecho", wsecho?.perConnectionKiB),
    note: join(
      rssNote("baseline", baseline),
      rssNote("wsecho", wsecho),
      wsecho?.healthzConnections === undefined
        ? ""
        : `/healthz ${wsecho.healthzConnections}`,
      flagNote(pair.wsecho),
    ),
  });
  const micros = (r: MemoryReading) =>
    microsPerOp(r.cpu.server, r.result.connectRate);
  bench.add(medianRow("memory", "  server CPU per connect", rounds, micros));
  if (interleaved !== undefined) {
    bench.add(interleavedRow(
      "memory",
      "  server CPU per held connect, interleaved",
      interleaved,
      "connections kept open",
    ));
  }
  const rate = (r: MemoryReading) => r.result.connectRate;
  bench.add({
    scenario: "memory",
    figure: `  connect rate (${CONNECT_CONCURRENCY} handshakes in flight)`,
    unit: "conn/s",
    better: "higher",
    ...defined("baseline", medianOf("baseline", rate)),
    ...defined("wsecho", medianOf("wsecho", rate)),
    note: join(
      roundsNote(rounds, (r) => formatNumber(rate(r))),
      roundsCpuNote(rounds),
      limits
        ? `open files (soft/hard) srv ${limits.serverOpenFiles}, gen ${limits.generatorOpenFiles}`
        : "",
    ),
  });
}

/** A µs row from rounds: the medians, every round, and the median of the per-round ratios. */
function medianRow<T>(
  scenario: ScenarioName,
  figure: string,
  rounds: Record<ServerName, T[]>,
  f: (run: T) => number,
): Row {
  const medianOf = (name: ServerName) =>
    rounds[name].length > 0 ? median(rounds[name].map(f)) : undefined;
  return {
    scenario,
    figure,
    unit: "µs",
    better: "lower",
    ...defined("baseline", medianOf("baseline")),
    ...defined("wsecho", medianOf("wsecho")),
    note: join(
      roundsNote(rounds, (run) => formatNumber(f(run))),
      pairedNote(rounds.baseline.map(f), rounds.wsecho.map(f)),
    ),
  };
}

/** The row of an interleaved measurement of the baseline (first) and wsecho (second). */
function interleavedRow(
  scenario: ScenarioName,
  figure: string,
  reading: InterleaveReading,
  what: string,
): Row {
  const [baseline = [], wsecho = []] = reading.rounds;
  return {
    scenario,
    figure,
    unit: "µs",
    better: "lower",
    ...defined("baseline", reading.micros[0]),
    ...defined("wsecho", reading.micros[1]),
    note: join(
      `both servers running; batches of ${INTERLEAVE_BATCH} ${what}, ` +
        `on each server in turn (A B, B A…), ${baseline.length} each`,
      pairedNote(baseline, wsecho),
    ),
  };
}

function mib(kib: number): string {
  return (kib / 1024).toFixed(0);
}

interface ChurnReading {
  rssBeforeKiB: number;
  rssAfterKiB: number;
  fdsBefore: number;
  fdsAfter: number;
  registryAfter?: number;
  registrySettleMs?: number;
  cpu: CpuWindow;
  result: ChurnResult;
}

async function churnOnce(
  bench: Bench,
  server: Server,
  round: number,
): Promise<ChurnReading> {
  const { churnCycles, churnWarmup, churnConcurrency } = bench.settings;
  await bench.waitForQuiet();
  bench.log(`churn round ${round}: ${server.name}, ${churnCycles} cycles`);
  const meter = new CpuMeter(server.pid);
  const gen = bench.spawnGenerator(
    churnConfig(server, churnCycles, churnWarmup, churnConcurrency),
    meter.hook,
  );
  meter.generators.add(gen.pid);
  try {
    const { rssBeforeKiB, fdsBefore } = await warmThenTime(gen, server);
    const result = await gen.result<ChurnResult>();
    checkIntegrity(bench, `churn ${server.name}`, result);
    const reading: ChurnReading = {
      rssBeforeKiB,
      rssAfterKiB: 0,
      fdsBefore,
      fdsAfter: 0,
      cpu: meter.read("churn"),
      result,
    };
    if (server.name === "wsecho") {
      const t0 = performance.now();
      let registry = await bench.connections(server);
      for (let i = 0; i < 100 && registry !== 0; i++) {
        await delay(100);
        registry = await bench.connections(server);
      }
      reading.registryAfter = registry;
      reading.registrySettleMs = performance.now() - t0;
      if (registry !== 0) {
        bench.fail(
          `churn wsecho: registry still holds ${registry} connections`,
        );
      }
    }
    await delay(1000);
    reading.rssAfterKiB = readRssKiB(server.pid);
    reading.fdsAfter = countFds(server.pid);
    return reading;
  } finally {
    await gen.finish();
  }
}

async function churn(bench: Bench): Promise<void> {
  const { churnCycles, churnWarmup, churnConcurrency } = bench.settings;
  const pair = await startPair(bench, []);
  let rounds: Record<ServerName, ChurnReading[]> = { baseline: [], wsecho: [] };
  let interleaved: InterleaveReading | undefined;
  try {
    rounds = await alternate(
      bench,
      pair,
      (server, round) => churnOnce(bench, server, round),
    );
    if (pair.wsecho !== undefined) {
      await bench.waitForQuiet();
      bench.log("churn: interleaved batches of connect–close");
      interleaved = await interleavedConnects(bench, servers(pair), {
        hold: false,
        batch: INTERLEAVE_BATCH,
        batches: Math.max(1, Math.round(churnCycles / 2 / INTERLEAVE_BATCH)),
        warmup: 0,
        concurrency: churnConcurrency,
      });
    }
  } finally {
    bench.raw.churn = { rounds, interleaved };
    await stopPair(bench, pair);
  }
  // RSS and fds: the first round, on fresh servers, as a single run would see
  // them; rates and CPU: the median of every round.
  const [baseline, wsecho] = [rounds.baseline[0], rounds.wsecho[0]];
  const rate = (r: ChurnReading) => r.result.cyclesPerSecond;
  const micros = (r: ChurnReading) =>
    microsPerOp(r.cpu.server, r.result.cyclesPerSecond);
  const medianOf = (name: ServerName, f: (r: ChurnReading) => number) =>
    rounds[name].length > 0 ? median(rounds[name].map(f)) : undefined;
  const growth = (r: ChurnReading | undefined) =>
    r ? (r.rssAfterKiB - r.rssBeforeKiB) / 1024 : undefined;
  const rssNote = (name: ServerName) => {
    const all = rounds[name];
    const first = all[0];
    const last = all[all.length - 1];
    if (!first || !last) return "";
    return `${name} RSS ${mib(first.rssBeforeKiB)}→${
      mib(first.rssAfterKiB)
    } MiB` +
      (all.length > 1
        ? ` (${mib(last.rssAfterKiB)} after round ${all.length})`
        : "");
  };
  bench.add({
    scenario: "churn",
    figure:
      `${churnCycles} connect–echo–close cycles (${churnConcurrency} at once)`,
    unit: "cycle/s",
    better: "higher",
    ...defined("baseline", medianOf("baseline", rate)),
    ...defined("wsecho", medianOf("wsecho", rate)),
    note: join(
      roundsNote(rounds, (r) => formatNumber(rate(r))),
      baseline ? cpuNote("baseline", baseline.cpu) : "",
      wsecho ? cpuNote("wsecho", wsecho.cpu) : "",
      bench.welcomeNote(),
    ),
  });
  bench.add(medianRow("churn", "  server CPU per cycle", rounds, micros));
  if (interleaved !== undefined) {
    bench.add(interleavedRow(
      "churn",
      "  server CPU per connect–close, interleaved",
      interleaved,
      "connections closed after each batch",
    ));
  }
  bench.add({
    scenario: "churn",
    figure: "  RSS growth, after − before (round 1)",
    unit: "MiB",
    better: "lower",
    ...defined("baseline", growth(baseline)),
    ...defined("wsecho", growth(wsecho)),
    note: join(
      rssNote("baseline"),
      rssNote("wsecho"),
      `after ${churnWarmup} warm-up cycles`,
    ),
  });
  const fds = (name: ServerName) => {
    const all = rounds[name];
    const first = all[0];
    const last = all[all.length - 1];
    return first && last ? { first, last } : undefined;
  };
  const baselineFds = fds("baseline");
  const wsechoFds = fds("wsecho");
  bench.add({
    scenario: "churn",
    figure: "  open fds, after − before (all rounds)",
    unit: "fds",
    better: "equal",
    ...defined(
      "baseline",
      baselineFds && baselineFds.last.fdsAfter - baselineFds.first.fdsBefore,
    ),
    ...defined(
      "wsecho",
      wsechoFds && wsechoFds.last.fdsAfter - wsechoFds.first.fdsBefore,
    ),
    note: join(
      baselineFds
        ? `baseline ${baselineFds.first.fdsBefore}→${baselineFds.last.fdsAfter}`
        : "",
      wsechoFds
        ? `wsecho ${wsechoFds.first.fdsBefore}→${wsechoFds.last.fdsAfter}`
        : "",
    ),
  });
  const registry = rounds.wsecho.map((r) => r.registryAfter ?? NaN);
  if (registry.length > 0) {
    bench.add({
      scenario: "churn",
      figure: "  /healthz connections after",
      unit: "conn",
      better: "equal",
      wsecho: Math.max(...registry),
      note: `highest of ${registry.length} round(s); reached after ≤ ${
        Math.round(
          Math.max(...rounds.wsecho.map((r) => r.registrySettleMs ?? 0)),
        )
      } ms`,
    });
  }
}

async function broadcast(bench: Bench): Promise<void> {
  const s = bench.settings;
  if ("missing" in bench.wsecho) {
    bench.log(`broadcast skipped: ${bench.wsecho.missing}`);
    return;
  }
  let server: Server;
  try {
    server = await bench.startServer("wsecho", UNLIMITED_PER_IP);
  } catch (error) {
    bench.fail(`wsecho did not start: ${(error as Error).message}`);
    return;
  }
  await bench.waitForQuiet();
  bench.log(`broadcast: ${s.members} members`);
  const meter = new CpuMeter(server.pid);
  const config: BroadcastConfig = {
    mode: "broadcast",
    url: server.protocolUrl,
    protocols: ["wsecho.v1"],
    skipWelcome: server.skipWelcome,
    connectConcurrency: CONNECT_CONCURRENCY,
    members: s.members,
    room: "bench",
    window: s.broadcastWindow,
    warmupMs: s.broadcastWarmupMs,
    durationMs: s.broadcastDurationMs,
  };
  let result: BroadcastResult | undefined;
  try {
    const gen = bench.spawnGenerator(config, meter.hook);
    meter.generators.add(gen.pid);
    try {
      await gen.expect("ready");
      await gen.go();
      for (const _phase of ["latency", "throughput"]) {
        await gen.expect("measure-start");
        await gen.expect("measure-end");
      }
      result = await gen.result<BroadcastResult>();
      checkIntegrity(bench, "broadcast", result);
    } finally {
      await gen.finish();
    }
  } finally {
    await bench.stopServer(server);
  }
  bench.raw.broadcast = {
    result,
    cpu: {
      latency: meter.read("latency"),
      throughput: meter.read("throughput"),
    },
  };
  if (result === undefined) return;
  const { latencyPhase, throughputPhase } = result;
  const warnings = result.deliveredMismatches > 0
    ? `${result.deliveredMismatches} "sent" replies with delivered ≠ ${s.members}`
    : "";
  bench.add({
    scenario: "broadcast",
    figure:
      `1 sender → ${s.members} members, ${s.broadcastWindow} broadcasts in flight`,
    unit: "deliv/s",
    better: "higher",
    wsecho: throughputPhase.deliveriesPerSecond,
    note: join(
      `${
        formatNumber(throughputPhase.broadcasts / throughputPhase.seconds)
      } broadcasts/s`,
      cpuNote("wsecho", meter.read("throughput")),
      flagNote(server),
      warnings,
    ),
  });
  const latencyCpu = meter.read("latency");
  const perDelivery = microsPerOp(
    latencyCpu.server,
    latencyPhase.deliveriesPerSecond,
  );
  bench.add({
    scenario: "broadcast",
    figure: "  server CPU per delivery (1 in flight)",
    unit: "µs",
    better: "lower",
    wsecho: perDelivery,
    note:
      `at 100% of a core ≈ ${formatNumber(1e6 / perDelivery)} deliveries/s` +
      (latencyCpu.generators > 80
        ? "; the generator (one process) limits the measured rate"
        : ""),
  });
  bench.add({
    scenario: "broadcast",
    figure: "  1 in flight: deliveries",
    unit: "deliv/s",
    better: "higher",
    wsecho: latencyPhase.deliveriesPerSecond,
    note: cpuNote("wsecho", meter.read("latency")),
  });
  for (
    const [key, label] of [["p50", "p50"], ["p99", "p99"], [
      "p999",
      "p99.9",
    ]] as const
  ) {
    bench.add({
      scenario: "broadcast",
      figure: `  fan-out latency (send → last member), ${label}`,
      unit: "µs",
      better: "lower",
      wsecho: latencyPhase.fanout[key],
      note: key === "p50"
        ? `${latencyPhase.fanout.count} broadcasts; with ${s.broadcastWindow} in flight p50 ${
          formatNumber(throughputPhase.fanout.p50)
        } µs`
        : "",
    });
  }
}
