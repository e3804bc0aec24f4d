/**
 * `deno task bench`: wsecho (default flags, the start task's runtime flags)
 * against a ten-line `Deno.serve` echo (`baseline_server.ts`, no Deno
 * flags), each in its own process pinned to CPU 0, both
 * driven by the same load generator (`load_gen.ts`) pinned to CPU 1. Prints
 * one table with the ratio wsecho / baseline per figure and writes JSON to
 * `bench/results/<timestamp>.json` (server and generator logs beside it).
 *
 * Flags: `--quick` (a one-minute smoke), `--only=throughput,latency,…`
 * (scenarios: throughput, latency, fixed-rate, go-fixed-rate, memory, churn,
 * broadcast, instructions), `--rounds=N` (rounds of the alternating
 * comparisons: 3, or 1 with `--quick`), `--wsecho-dir=DIR` (default: the
 * directory above `bench/`), `--baseline-flags="--unstable-no-legacy-abort"`
 * (Deno flags for the baseline, for a like-for-like comparison) and, for
 * experiments only, `--wsecho-args="--idle-timeout 0"` (extra wsecho flags).
 *
 * @example Full run, then a smoke of two scenarios
 * ```sh
 * deno task bench
 * deno task bench --quick --only=throughput,latency
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { Bench, type Settings, type WsechoSource } from "./_bench.ts";
import { hasTaskset } from "./_proc.ts";
import { runScenario, type ScenarioName, SCENARIOS } from "./_scenarios.ts";
import { formatTable, ratio } from "./_table.ts";
import { SERVER_RUNTIME_FLAGS } from "../tools/server_permissions.ts";

/** Sizes and durations of a full run (about eleven minutes on two cores, three of them under valgrind, plus up to 60 s of noise budget). */
export const FULL_SETTINGS: Readonly<Settings> = Object.freeze({
  warmupMs: 1500,
  durationMs: 5000,
  latencyWarmupMs: 1500,
  latencyDurationMs: 5000,
  rateConnections: 100,
  rate: 10_000,
  rateWarmupMs: 2000,
  rateDurationMs: 10_000,
  idleConnections: 5000,
  idleWarmup: 200,
  churnCycles: 20_000,
  churnWarmup: 1000,
  churnConcurrency: 32,
  members: 1000,
  broadcastWindow: 16,
  broadcastWarmupMs: 1500,
  broadcastDurationMs: 5000,
  countCycles: 2000,
  countWarmup: 1000,
  countConnections: 2000,
  noiseBudgetMs: 60_000,
  rounds: 3,
});

/** Sizes and durations of `--quick` (about one minute). */
export const QUICK_SETTINGS: Readonly<Settings> = Object.freeze({
  warmupMs: 500,
  durationMs: 2000,
  latencyWarmupMs: 500,
  latencyDurationMs: 2000,
  rateConnections: 100,
  rate: 10_000,
  rateWarmupMs: 1000,
  rateDurationMs: 4000,
  idleConnections: 1000,
  idleWarmup: 100,
  churnCycles: 2000,
  churnWarmup: 200,
  churnConcurrency: 32,
  members: 200,
  broadcastWindow: 16,
  broadcastWarmupMs: 500,
  broadcastDurationMs: 2000,
  countCycles: 500,
  countWarmup: 300,
  countConnections: 500,
  noiseBudgetMs: 10_000,
  rounds: 1,
});

/** What the command line asked for. */
export interface BenchOptions {
  /** Use {@linkcode QUICK_SETTINGS}. */
  quick: boolean;
  /** Scenarios to run, in the canonical order. */
  only: ScenarioName[];
  /** Directory holding wsecho's `main.ts`. */
  wsechoDir: string;
  /** Extra flags for every wsecho process, for experiments; empty for defaults. */
  wsechoArgs: string[];
  /**
   * Deno flags for the baseline process, such as `--unstable-no-legacy-abort`
   * for a like-for-like comparison with wsecho's runtime flags; empty for the
   * plain default.
   */
  baselineFlags: string[];
  /** Rounds of the alternating comparisons, overriding the settings' count. */
  rounds?: number;
}

/**
 * Parses the bench's flags.
 *
 * @param args The arguments, without the script name.
 * @returns The options.
 * @throws {TypeError} For an unknown flag or scenario.
 */
export function parseBenchArgs(args: string[]): BenchOptions {
  const { values } = parseArgs({
    args,
    options: {
      quick: { type: "boolean", default: false },
      only: { type: "string" },
      "wsecho-dir": { type: "string" },
      "wsecho-args": { type: "string" },
      "baseline-flags": { type: "string" },
      rounds: { type: "string" },
    },
    strict: true,
  });
  const wanted = values.only?.split(",").map((s) => s.trim()).filter(Boolean);
  for (const name of wanted ?? []) {
    if (!(SCENARIOS as readonly string[]).includes(name)) {
      throw new TypeError(
        `Cannot run scenario "${name}": expected one of ${
          SCENARIOS.join(", ")
        }`,
      );
    }
  }
  const rounds = values.rounds === undefined
    ? undefined
    : Number(values.rounds);
  if (rounds !== undefined && !(Number.isInteger(rounds) && rounds >= 1)) {
    throw new TypeError(
      `Cannot use --rounds=${values.rounds}: expected a whole number from 1`,
    );
  }
  return {
    ...(rounds === undefined ? {} : { rounds }),
    quick: values.quick ?? false,
    only: SCENARIOS.filter((name) => !wanted || wanted.includes(name)),
    wsechoArgs: values["wsecho-args"]?.split(/\s+/).filter(Boolean) ?? [],
    baselineFlags: values["baseline-flags"]?.split(/\s+/).filter(Boolean) ??
      [],
    wsechoDir: values["wsecho-dir"] ??
      new URL("..", import.meta.url).pathname.replace(/\/$/, ""),
  };
}

function findWsecho(dir: string): WsechoSource {
  try {
    Deno.statSync(`${dir}/main.ts`);
    return { dir };
  } catch {
    return { missing: `no main.ts in "${dir}" yet` };
  }
}

function timestamp(date: Date): string {
  return date.toISOString().replace(/\.\d+Z$/, "Z").replace(/:/g, "-");
}

/**
 * Runs the bench: every selected scenario, the table and the JSON file.
 *
 * @param options What to run.
 * @returns The exit code: 0, or 1 when anything failed.
 */
export async function runBench(options: BenchOptions): Promise<number> {
  const started = new Date();
  const t0 = performance.now();
  const benchDir = new URL(".", import.meta.url).pathname.replace(/\/$/, "");
  const resultsDir = `${benchDir}/results`;
  const stamp = timestamp(started);
  const logDir = `${resultsDir}/${stamp}-logs`;
  await Deno.mkdir(logDir, { recursive: true });
  const pinned = await hasTaskset();
  const settings = {
    ...(options.quick ? QUICK_SETTINGS : FULL_SETTINGS),
    ...(options.rounds === undefined ? {} : { rounds: options.rounds }),
  };
  const bench = new Bench(settings, {
    benchDir,
    logDir,
    pinned,
    wsecho: findWsecho(options.wsechoDir),
    wsechoArgs: options.wsechoArgs,
    baselineFlags: options.baselineFlags,
  });
  if (!pinned) bench.log("taskset unavailable: processes are not pinned");

  const onSignal = () => {
    bench.log("interrupted: stopping child processes");
    bench.children.killAll(1000).finally(() => Deno.exit(130));
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  try {
    for (const name of options.only) {
      const scenarioStart = performance.now();
      try {
        await runScenario(bench, name);
      } catch (error) {
        bench.fail(`${name}: ${(error as Error).stack ?? error}`);
      }
      bench.log(
        `${name} took ${
          ((performance.now() - scenarioStart) / 1000).toFixed(1)
        } s`,
      );
    }
  } finally {
    await bench.children.killAll();
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
  }

  const wallSeconds = (performance.now() - t0) / 1000;
  const header = [
    `wsecho bench ${started.toISOString()}  deno ${Deno.version.deno}  ` +
    `${navigator.hardwareConcurrency} CPUs  ` +
    (pinned ? "servers on CPU 0, generators on CPU 1" : "unpinned") +
    (options.quick ? "  --quick" : ""),
    `wsecho: ${
      "dir" in bench.wsecho ? bench.wsecho.dir : bench.wsecho.missing
    }; ${
      options.wsechoArgs.length > 0
        ? `EXTRA FLAGS ${options.wsechoArgs.join(" ")}`
        : "default flags"
    } unless a note says otherwise; wall time ${wallSeconds.toFixed(0)} s`,
    `wsecho runs with ${SERVER_RUNTIME_FLAGS.join(" ")}, as deno task start; ` +
    `the baseline with ${
      options.baselineFlags.length > 0
        ? options.baselineFlags.join(" ")
        : "no Deno flags"
    }`,
  ];
  const table = formatTable(bench.rows);
  const path = `${resultsDir}/${stamp}.json`;
  await Deno.writeTextFile(
    path,
    JSON.stringify(
      {
        started: started.toISOString(),
        wallSeconds,
        deno: Deno.version,
        cpus: navigator.hardwareConcurrency,
        pinned,
        quick: options.quick,
        scenarios: options.only,
        settings,
        wsecho: bench.wsecho,
        wsechoArgs: options.wsechoArgs,
        baselineFlags: options.baselineFlags,
        rows: bench.rows.map((row) => ({ ...row, ratio: ratio(row) ?? null })),
        raw: bench.raw,
        failures: bench.failures,
        logDir,
      },
      null,
      2,
    ) + "\n",
  );
  const footer = [`JSON: ${path}`];
  if (bench.failures.length > 0) {
    footer.push(`FAILED (${bench.failures.length}):`);
    footer.push(...bench.failures.map((failure) => `  - ${failure}`));
  }
  // deno-lint-ignore no-console
  console.log([...header, "", table, ...footer].join("\n"));
  return bench.failures.length > 0 ? 1 : 0;
}

if (import.meta.main) {
  let options: BenchOptions;
  try {
    options = parseBenchArgs(Deno.args);
  } catch (error) {
    // deno-lint-ignore no-console
    console.error((error as Error).message);
    Deno.exit(2);
  }
  Deno.exit(await runBench(options));
}
