/**
 * `deno task bench:client`: `wsecho bench` (the engine in `src/client/load.ts`)
 * side by side with the project's load generator as it was before it became
 * a wrapper over that engine (`bench/load_gen.ts` at {@linkcode OLD_REVISION},
 * taken from git), both against `baseline_server.ts`. The server is pinned to
 * CPU 0 and each generator in turn to CPU 1 (`taskset`); rounds alternate
 * which goes first (old new, new old, …) and the table shows medians, with
 * the CPU that other processes used during each window, so a busy machine
 * shows.
 *
 * Flags: `--rounds=N` (3), `--duration=S` (5), `--warmup=S` (1),
 * `--old=REV` (git revision of the old generator), `--from=FILE` (print the
 * table of a saved result again).
 *
 * @example Full run
 * ```sh
 * deno task bench:client
 * deno task bench:client --rounds=1 --duration=2
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import {
  delay,
  freePort,
  hasTaskset,
  readCpuSeconds,
  readMachineBusySeconds,
  waitForPort,
} from "./_proc.ts";
import type { EchoConfig, EchoResult, GenEvent } from "./_protocol.ts";
import type { LoadReport } from "../src/client/load.ts";

/** The last revision whose `bench/load_gen.ts` had its own echo loop. */
export const OLD_REVISION = "8abbb30";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SERVER_CPU = "0";
const GENERATOR_CPU = "1";
/** Other processes' CPU, percent of one core, above which a window is retried once. */
const NOISE_PERCENT = 15;
/** Milliseconds the whole run may spend waiting for other processes to calm down. */
let quietBudgetMs = 120_000;

/** One load shape, run by both generators. */
interface Shape {
  name: string;
  connections: number;
  inFlight: number;
  size: number;
  binary: boolean;
}

const SHAPES: readonly Shape[] = [
  {
    name: "64 × 16, 32 B text",
    connections: 64,
    inFlight: 16,
    size: 32,
    binary: false,
  },
  {
    name: "100 × 1, 32 B text",
    connections: 100,
    inFlight: 1,
    size: 32,
    binary: false,
  },
  {
    name: "1 × 1, 32 B text",
    connections: 1,
    inFlight: 1,
    size: 32,
    binary: false,
  },
  {
    name: "8 × 4, 16 KiB binary",
    connections: 8,
    inFlight: 4,
    size: 16384,
    binary: true,
  },
];

/** What one generator measured in one window. */
interface Sample {
  messagesPerSecond: number;
  p50: number;
  p99: number;
  p999: number;
  mismatches: number;
  /** CPU used in the window, percent of one core. */
  cpu: { server: number; generator: number; other: number };
}

type Generator = "old" | "new";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    rounds: { type: "string", default: "3" },
    duration: { type: "string", default: "5" },
    warmup: { type: "string", default: "1" },
    old: { type: "string", default: OLD_REVISION },
    from: { type: "string" },
  },
  strict: true,
});
const saved = values.from === undefined
  ? undefined
  : JSON.parse(await Deno.readTextFile(values.from));
const rounds = saved?.rounds ?? Number(values.rounds);
const durationMs = saved?.durationMs ?? Number(values.duration) * 1000;
const warmupMs = saved?.warmupMs ?? Number(values.warmup) * 1000;
if (saved !== undefined) {
  // deno-lint-ignore no-console
  console.log(
    formatComparison(saved.samples) + "\n\n" + formatQuietest(saved.samples),
  );
  Deno.exit(0);
}

const pin = await hasTaskset();
const oldDir = await extractOldGenerator(values.old);
const port = freePort();
const server = spawn(
  SERVER_CPU,
  [
    "run",
    "--allow-net=127.0.0.1",
    "bench/baseline_server.ts",
    "--port",
    String(port),
  ],
  "null",
);
const url = `ws://127.0.0.1:${port}/`;
const samples: Record<string, Record<Generator, Sample[]>> = {};
try {
  await waitForPort(port, server);
  log(
    `baseline on 127.0.0.1:${port}${
      pin
        ? ", pinned to CPU 0; generators on CPU 1"
        : " (no taskset: not pinned)"
    }; old generator from ${values.old}`,
  );
  log(`load average before: ${loadAverage()}`);
  for (let round = 0; round < rounds; round++) {
    const order: Generator[] = round % 2 === 0
      ? ["old", "new"]
      : ["new", "old"];
    for (const shape of SHAPES) {
      const row = samples[shape.name] ??= { old: [], new: [] };
      for (const generator of order) {
        const sample = await quietest(() =>
          generator === "old" ? runOld(shape) : runNew(shape)
        );
        row[generator].push(sample);
        log(
          `round ${round + 1} ${shape.name} ${generator}: ${
            Math.round(sample.messagesPerSecond)
          } msg/s, p50 ${Math.round(sample.p50)} µs, p99 ${
            Math.round(sample.p99)
          } µs; CPU srv ${Math.round(sample.cpu.server)}% gen ${
            Math.round(sample.cpu.generator)
          }% other ${Math.round(sample.cpu.other)}%`,
        );
      }
    }
  }
  log(`load average after: ${loadAverage()}`);
} finally {
  try {
    server.kill("SIGTERM");
  } catch {
    // Already gone.
  }
  await server.status;
  await Deno.remove(oldDir, { recursive: true });
}

const table = formatComparison(samples) + "\n\n" + formatQuietest(samples);
// deno-lint-ignore no-console
console.log(table);
await Deno.mkdir(`${ROOT}bench/results`, { recursive: true });
const file = `${ROOT}bench/results/client-${
  new Date().toISOString().replace(/[:.]/g, "-")
}.json`;
await Deno.writeTextFile(
  file,
  JSON.stringify({ url, rounds, durationMs, warmupMs, pin, samples }, null, 2),
);
log(`wrote ${file}`);

/** Runs a window, and once more if other processes disturbed it; keeps the quieter. */
async function quietest(run: () => Promise<Sample>): Promise<Sample> {
  await waitForQuiet();
  const first = await run();
  if (!(first.cpu.other >= NOISE_PERCENT)) return first;
  log(`  noisy window (other ${Math.round(first.cpu.other)}%): retrying once`);
  await waitForQuiet();
  const second = await run();
  return second.cpu.other < first.cpu.other ? second : first;
}

/**
 * Waits, within a run-wide budget, until other processes use less than
 * {@linkcode NOISE_PERCENT} of a core over half a second.
 */
async function waitForQuiet(): Promise<void> {
  while (quietBudgetMs > 0) {
    const started = performance.now();
    const before = readMachineBusySeconds();
    await delay(500);
    const busy = (readMachineBusySeconds() - before) /
      ((performance.now() - started) / 1000) * 100;
    quietBudgetMs -= performance.now() - started;
    if (!(busy >= NOISE_PERCENT)) return;
  }
}

function log(line: string): void {
  // deno-lint-ignore no-console
  console.error(line);
}

function loadAverage(): string {
  try {
    return Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(
      " ",
    );
  } catch {
    return "unknown";
  }
}

function spawn(
  cpu: string,
  args: string[],
  stdin: "piped" | "null",
): Deno.ChildProcess {
  const deno = Deno.execPath();
  const [program, ...rest] = pin
    ? ["taskset", "-c", cpu, deno, ...args]
    : [deno, ...args];
  return new Deno.Command(program!, {
    args: rest,
    cwd: ROOT,
    stdin,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** Writes the old generator and the two modules it imports into a temporary tree. */
async function extractOldGenerator(revision: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "wsecho-old-gen-" });
  await Deno.mkdir(`${dir}/bench`);
  for (const file of ["load_gen.ts", "_stats.ts", "_protocol.ts"]) {
    const { success, stdout, stderr } = await new Deno.Command("git", {
      args: ["show", `${revision}:bench/${file}`],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!success) {
      throw new Error(
        `Cannot read bench/${file} at ${revision}: ${
          new TextDecoder().decode(stderr)
        }`,
      );
    }
    await Deno.writeFile(`${dir}/bench/${file}`, stdout);
  }
  // No deno.json there: the old generator needs none (node:buffer only).
  await Deno.writeTextFile(`${dir}/deno.json`, "{}\n");
  return dir;
}

/** Samples CPU time of the server, one generator and the whole machine. */
function cpuMeter(generatorPid: number): () => Sample["cpu"] {
  const read = () => [
    readMachineBusySeconds(),
    readCpuSeconds(server.pid),
    readCpuSeconds(generatorPid),
  ];
  const start = read();
  const t0 = performance.now();
  return () => {
    const end = read();
    const seconds = (performance.now() - t0) / 1000;
    const [machine = NaN, srv = NaN, gen = NaN] = end.map((v, i) =>
      v - (start[i] ?? NaN)
    );
    return {
      server: (srv / seconds) * 100,
      generator: (gen / seconds) * 100,
      other: Math.max(0, ((machine - srv - gen) / seconds) * 100),
    };
  };
}

async function runOld(shape: Shape): Promise<Sample> {
  const config: EchoConfig = {
    mode: "echo",
    url,
    protocols: [],
    skipWelcome: false,
    connectConcurrency: 64,
    connections: shape.connections,
    inflight: shape.inFlight,
    size: shape.size,
    binary: shape.binary,
    warmupMs,
    durationMs,
  };
  const child = spawn(GENERATOR_CPU, [
    "run",
    "--allow-net=127.0.0.1",
    "--config",
    `${oldDir}/deno.json`,
    `${oldDir}/bench/load_gen.ts`,
    JSON.stringify(config),
  ], "piped");
  const writer = child.stdin.getWriter();
  const stderr = new Response(child.stderr).text();
  let meter: (() => Sample["cpu"]) | undefined;
  let cpu: Sample["cpu"] | undefined;
  let result: EchoResult | undefined;
  for await (const line of lines(child.stdout)) {
    const event = JSON.parse(line) as GenEvent;
    if (event.event === "ready") {
      await writer.write(new TextEncoder().encode("go\n"));
    } else if (event.event === "measure-start") meter = cpuMeter(child.pid);
    else if (event.event === "measure-end") cpu = meter?.();
    else if (event.event === "result") result = event.result as EchoResult;
    else if (event.event === "error") throw new Error(event.message);
  }
  await writer.close().catch(() => {});
  const status = await child.status;
  if (result === undefined || cpu === undefined) {
    throw new Error(
      `The old generator failed (${status.code}): ${await stderr}`,
    );
  }
  await stderr;
  return {
    messagesPerSecond: result.messagesPerSecond,
    p50: result.latency.p50,
    p99: result.latency.p99,
    p999: result.latency.p999,
    mismatches: result.mismatches,
    cpu,
  };
}

async function runNew(shape: Shape): Promise<Sample> {
  const child = spawn(GENERATOR_CPU, [
    "run",
    "--allow-net",
    "main.ts",
    "bench",
    "--json",
    "-c",
    String(shape.connections),
    "--in-flight",
    String(shape.inFlight),
    "--size",
    String(shape.size),
    ...(shape.binary ? ["--binary"] : []),
    "-d",
    String(durationMs / 1000),
    "--warmup",
    String(warmupMs / 1000),
    url,
  ], "null");
  // No per-window events from the CLI: start the meter after the warm-up
  // (deno's start-up and the handshakes take well under that) and stop it
  // at the end of the window.
  const stdout = new Response(child.stdout).text();
  const stderr = new Response(child.stderr).text();
  await delay(warmupMs + 300);
  const meter = cpuMeter(child.pid);
  await delay(durationMs - 400);
  const cpu = meter();
  const status = await child.status;
  const text = await stdout;
  await stderr;
  let report: LoadReport;
  try {
    report = JSON.parse(text) as LoadReport;
  } catch {
    throw new Error(`wsecho bench failed (${status.code}): ${text}`);
  }
  return {
    messagesPerSecond: report.messagesPerSecond,
    p50: report.latency.p50,
    p99: report.latency.p99,
    p999: report.latency.p999,
    mismatches: report.messages.mismatched,
    cpu,
  };
}

async function* lines(
  stream: ReadableStream<Uint8Array>,
): AsyncGenerator<string> {
  let pending = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    pending += chunk;
    let newline = pending.indexOf("\n");
    while (newline >= 0) {
      const line = pending.slice(0, newline).trim();
      if (line !== "") yield line;
      pending = pending.slice(newline + 1);
      newline = pending.indexOf("\n");
    }
  }
}

/** Each generator's least disturbed window per shape, side by side. */
function formatQuietest(
  all: Record<string, Record<Generator, Sample[]>>,
): string {
  const lines = [
    "Each generator's quietest window (lowest CPU use by other processes):",
    "| shape | generator | other CPU % | msg/s | p50 µs | p99 µs | p99.9 µs | generator CPU µs / msg |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const [shape, row] of Object.entries(all)) {
    for (const generator of ["old", "new"] as const) {
      const best = [...row[generator]].sort((a, b) =>
        a.cpu.other - b.cpu.other
      )[0];
      if (best === undefined) continue;
      lines.push(
        `| ${shape} | ${
          generator === "old" ? "old load_gen" : "wsecho bench"
        } | ${Math.round(best.cpu.other)} | ${
          Math.round(best.messagesPerSecond).toLocaleString("en-US")
        } | ${Math.round(best.p50)} | ${Math.round(best.p99)} | ${
          Math.round(best.p999)
        } | ${perMessage(best.cpu.generator, best).toFixed(2)} |`,
      );
    }
  }
  return lines.join("\n");
}

/**
 * CPU time per message in microseconds: the figure least moved by other
 * processes, since a busy machine slows both the work and the clock alike.
 */
function perMessage(cpuPercent: number, sample: Sample): number {
  return (cpuPercent / 100) / sample.messagesPerSecond * 1e6;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? sorted[middle]!
    : ((sorted[middle - 1]! + sorted[middle]!) / 2);
}

function formatComparison(
  all: Record<string, Record<Generator, Sample[]>>,
): string {
  const header = [
    "shape",
    "figure",
    "old load_gen",
    "wsecho bench",
    "new / old",
  ];
  const rows: string[][] = [];
  for (const [shape, { old, new: fresh }] of Object.entries(all)) {
    const figures: Array<[string, (s: Sample) => number, number]> = [
      ["msg/s", (s) => s.messagesPerSecond, 0],
      ["p50 µs", (s) => s.p50, 0],
      ["p99 µs", (s) => s.p99, 0],
      ["p99.9 µs", (s) => s.p999, 0],
      ["generator CPU µs / msg", (s) => perMessage(s.cpu.generator, s), 2],
      ["server CPU µs / msg", (s) => perMessage(s.cpu.server, s), 2],
      ["server CPU %", (s) => s.cpu.server, 0],
      ["generator CPU %", (s) => s.cpu.generator, 0],
      ["other CPU %", (s) => s.cpu.other, 0],
    ];
    for (const [name, pick, digits] of figures) {
      const a = median(old.map(pick));
      const b = median(fresh.map(pick));
      const show = (value: number) =>
        value.toLocaleString("en-US", {
          minimumFractionDigits: digits,
          maximumFractionDigits: digits,
        });
      rows.push([
        shape,
        name,
        show(a),
        show(b),
        a > 0 ? `${(b / a).toFixed(2)}×` : "-",
      ]);
    }
    const mismatches = [...old, ...fresh].reduce((n, s) => n + s.mismatches, 0);
    if (mismatches > 0) {
      rows.push([shape, "MISMATCHES", "", String(mismatches), ""]);
    }
  }
  const widths = header.map((h, i) =>
    Math.max(h.length, ...rows.map((row) => row[i]!.length))
  );
  const line = (cells: string[]) =>
    "| " + cells.map((cell, i) =>
      i >= 2 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)
    ).join(" | ") + " |";
  return [
    `Medians of ${rounds} alternating round(s), ${
      durationMs / 1000
    } s windows after ${
      warmupMs / 1000
    } s warm-up, against bench/baseline_server.ts`,
    line(header),
    "| " + widths.map((w) => "-".repeat(w)).join(" | ") + " |",
    ...rows.map(line),
  ].join("\n");
}
