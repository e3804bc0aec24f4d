/**
 * The state of one bench run: settings, the servers and generators it
 * started, the rows it collected and the failures it saw.
 *
 * @module
 */
import type { ChurnConfig, GenConfig, Integrity } from "./_protocol.ts";
import {
  Children,
  delay,
  type EventHook,
  freePort,
  GenProcess,
  readCpuSeconds,
  readMachineBusySeconds,
  waitForPort,
} from "./_proc.ts";
import type { Row } from "./_table.ts";
import { SERVER_RUNTIME_FLAGS } from "../tools/server_permissions.ts";

/** The two servers under test. */
export type ServerName = "baseline" | "wsecho";

/** CPU the servers are pinned to. */
export const SERVER_CPU = 0;
/** CPU the generators are pinned to. */
export const GENERATOR_CPU = 1;

/** CPU use by other processes (percent of one core) that marks a window noisy. */
export const NOISE_PERCENT = 15;

/** Sizes and durations of every scenario. */
export interface Settings {
  /** Warm-up before each timed throughput window, ms. */
  warmupMs: number;
  /** Each timed throughput window, ms. */
  durationMs: number;
  /** Warm-up before each timed latency window, ms. */
  latencyWarmupMs: number;
  /** Each timed latency window, ms. */
  latencyDurationMs: number;
  /** Connections of the fixed-rate scenario. */
  rateConnections: number;
  /** Messages per second of the fixed-rate scenario, all connections together. */
  rate: number;
  /** Warm-up before each timed fixed-rate window, ms. */
  rateWarmupMs: number;
  /** Each timed fixed-rate window, ms. */
  rateDurationMs: number;
  /** Idle connections held open in the memory scenario. */
  idleConnections: number;
  /** Connections opened and closed before the memory baseline reading. */
  idleWarmup: number;
  /** Timed connect–echo–close cycles. */
  churnCycles: number;
  /** Cycles before the first RSS reading. */
  churnWarmup: number;
  /** Cycles in flight at once. */
  churnConcurrency: number;
  /** Room members receiving broadcasts. */
  members: number;
  /** Broadcasts outstanding in the delivery-rate phase. */
  broadcastWindow: number;
  /** Warm-up before each broadcast phase, ms. */
  broadcastWarmupMs: number;
  /** Each timed broadcast phase, ms. */
  broadcastDurationMs: number;
  /** Timed connect–echo–close cycles of the instructions scenario (under valgrind). */
  countCycles: number;
  /** Cycles before its counters are zeroed. */
  countWarmup: number;
  /** Connections it opens and holds after the cycles. */
  countConnections: number;
  /** Time the whole run may spend waiting out or retrying others' CPU load, ms. */
  noiseBudgetMs: number;
  /**
   * Rounds of the throughput, fixed-rate, memory and churn comparisons. Each round runs both
   * servers back to back, alternating which goes first (A B, B A, A B…); the
   * table shows the median of the rounds.
   */
  rounds: number;
}

/** A running server. */
export interface Server {
  /** Which server. */
  name: ServerName;
  /** Its PID (the `deno` process itself: `sh` and `taskset` exec into it). */
  pid: number;
  /** Its port on 127.0.0.1. */
  port: number;
  /** URL for plain echo connections. */
  echoUrl: string;
  /** URL for `wsecho.v1` connections. */
  protocolUrl: string;
  /** Whether each new connection starts with a welcome frame to skip. */
  skipWelcome: boolean;
  /** Flags beyond the defaults. */
  flags: string[];
  /** The process. */
  child: Deno.ChildProcess;
}

/** Options of {@linkcode Bench.startServer}. */
export interface StartOptions {
  /**
   * A command the server runs under, such as `["valgrind", "--tool=callgrind"]`:
   * it must run the server in its own process, so the PID stays the server's.
   *
   * @default {[]}
   */
  wrap?: string[];
  /**
   * How long to wait for the port and `/healthz`, ms.
   *
   * @default {20_000}
   */
  readyTimeoutMs?: number;
}

/** Where to find wsecho, or why it cannot run. */
export type WsechoSource = { dir: string } | { missing: string };

/** CPU use of the server and generators over one timed window. */
export interface CpuWindow {
  /** Server CPU, percent of one core. */
  server: number;
  /** Generators' CPU summed, percent of one core. */
  generators: number;
  /** Everything else on the machine, percent of one core: noise. */
  other: number;
}

/** Handshakes in flight while a generator connects, in every scenario. */
export const CONNECT_CONCURRENCY = 64;

/** Everything one bench run knows. */
export class Bench {
  /** Sizes and durations. */
  readonly settings: Settings;
  /** Processes this run started. */
  readonly children: Children = new Children();
  /** Table rows, in order. */
  readonly rows: Row[] = [];
  /** Raw generator results and readings, by scenario. */
  readonly raw: Record<string, unknown> = {};
  /** Everything that went wrong; any entry fails the run. */
  readonly failures: string[] = [];
  /** Directory for server and generator logs. */
  readonly logDir: string;
  /** Whether `taskset` pins processes. */
  readonly pinned: boolean;
  /** wsecho's directory, or why it is missing. */
  readonly wsecho: WsechoSource;
  #benchDir: string;
  #wsechoArgs: string[];
  #baselineFlags: string[];
  #quietBudgetMs: number;
  #probe: { query: string; skipWelcome: boolean } | undefined;
  #spawned = 0;

  /**
   * Creates the run state.
   *
   * @param settings Sizes and durations.
   * @param options Where things are.
   */
  constructor(
    settings: Settings,
    options: {
      benchDir: string;
      logDir: string;
      pinned: boolean;
      wsecho: WsechoSource;
      wsechoArgs?: string[];
      baselineFlags?: string[];
    },
  ) {
    this.settings = settings;
    this.logDir = options.logDir;
    this.pinned = options.pinned;
    this.wsecho = options.wsecho;
    this.#wsechoArgs = options.wsechoArgs ?? [];
    this.#baselineFlags = options.baselineFlags ?? [];
    this.#quietBudgetMs = settings.noiseBudgetMs;
    this.#benchDir = options.benchDir;
  }

  /**
   * Prints a progress line on stderr.
   *
   * @param message The line.
   */
  log(message: string): void {
    // deno-lint-ignore no-console
    console.error(`[bench] ${message}`);
  }

  /**
   * Records a failure; the run will exit non-zero.
   *
   * @param message What went wrong.
   */
  fail(message: string): void {
    this.log(`FAIL: ${message}`);
    this.failures.push(message);
  }

  /**
   * Adds a table row.
   *
   * @param row The row.
   */
  add(row: Row): void {
    this.rows.push(row);
  }

  /**
   * Starts a server pinned to {@linkcode SERVER_CPU} and waits until it serves.
   *
   * @param name Which server.
   * @param flags Extra wsecho flags beyond the defaults.
   * @returns The running server.
   * @throws {Error} When wsecho is missing or the server does not come up.
   */
  async startServer(
    name: ServerName,
    flags: string[] = [],
    options: StartOptions = {},
  ): Promise<Server> {
    const { wrap = [], readyTimeoutMs = 20_000 } = options;
    const port = freePort();
    const deno = Deno.execPath();
    let argv: string[];
    let cwd: string;
    if (name === "baseline") {
      argv = [deno, "run", ...this.#baselineFlags, "--allow-net=127.0.0.1"];
      argv.push("baseline_server.ts");
      argv.push("--port", String(port));
      cwd = this.#benchDir;
    } else {
      if ("missing" in this.wsecho) throw new Error(this.wsecho.missing);
      // As `deno task start` runs it: the same runtime flags.
      argv = [deno, "run", ...SERVER_RUNTIME_FLAGS];
      argv.push("--allow-net", "--allow-env", "main.ts");
      argv.push("--port", String(port), "--hostname", "127.0.0.1");
      argv.push(...this.#wsechoArgs, ...flags);
      cwd = this.wsecho.dir;
    }
    const child = this.children.spawn({
      name,
      argv: [...wrap, ...argv],
      cpu: this.pinned ? SERVER_CPU : undefined,
      cwd,
      logPath: `${this.logDir}/${name}-${port}.log`,
      output: "log",
    });
    try {
      await waitForPort(port, child, readyTimeoutMs);
      const base = `ws://127.0.0.1:${port}`;
      if (name === "baseline") {
        return {
          name,
          pid: child.pid,
          port,
          echoUrl: `${base}/`,
          protocolUrl: `${base}/`,
          skipWelcome: false,
          flags,
          child,
        };
      }
      await this.#waitForHealth(port, readyTimeoutMs);
      this.#probe ??= await probeWelcome(`${base}/ws`);
      return {
        name,
        pid: child.pid,
        port,
        echoUrl: `${base}/ws${this.#probe.query}`,
        protocolUrl: `${base}/ws${this.#probe.query}`,
        skipWelcome: this.#probe.skipWelcome,
        flags,
        child,
      };
    } catch (error) {
      await this.children.kill(child);
      throw error;
    }
  }

  /**
   * Describes how wsecho connections skip the welcome frame.
   *
   * @returns A note for the table.
   */
  welcomeNote(): string {
    if (this.#probe === undefined) return "";
    return this.#probe.skipWelcome
      ? "welcome frame consumed per connection"
      : "?welcome=0";
  }

  async #waitForHealth(port: number, timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      try {
        const response = await fetch(`http://127.0.0.1:${port}/healthz`);
        await response.body?.cancel();
        if (response.ok) return;
      } catch {
        // Not yet.
      }
      await delay(100);
    }
    throw new Error(`wsecho on ${port} never answered /healthz with 200`);
  }

  /**
   * Waits until other processes leave the machine nearly idle (below
   * {@linkcode NOISE_PERCENT} of one core over a quarter second), at most
   * `timeoutMs` and never beyond the run's noise budget. The servers are idle
   * between runs, so what is busy is not ours.
   *
   * @param timeoutMs How long to wait at most.
   * @returns The last busy reading, percent of one core.
   */
  async waitForQuiet(timeoutMs = 8000): Promise<number> {
    const started = performance.now();
    const deadline = started + Math.min(timeoutMs, this.#quietBudgetMs);
    let busy = NaN;
    let waited = false;
    do {
      const before = readMachineBusySeconds();
      await delay(250);
      busy = (readMachineBusySeconds() - before) * 400;
      if (!(busy >= NOISE_PERCENT)) break;
      if (!waited) {
        this.log(`machine busy (${Math.round(busy)}% of a core): waiting`);
      }
      waited = true;
    } while (performance.now() < deadline);
    if (waited) this.#quietBudgetMs -= performance.now() - started;
    return busy;
  }

  /**
   * Whether time is left for waiting out or retrying noisy windows.
   *
   * @returns `true` while the run's noise budget lasts.
   */
  hasNoiseBudget(): boolean {
    return this.#quietBudgetMs > 0;
  }

  /**
   * Charges a retried window to the noise budget.
   *
   * @param ms The time the discarded window took.
   */
  chargeNoise(ms: number): void {
    this.#quietBudgetMs -= ms;
  }

  /**
   * Stops a server by its PID.
   *
   * @param server The server.
   */
  async stopServer(server: Server): Promise<void> {
    await this.children.kill(server.child);
  }

  /**
   * Reads wsecho's `/healthz` connection count.
   *
   * @param server A wsecho server.
   * @returns The `connections` field.
   */
  async connections(server: Server): Promise<number> {
    const response = await fetch(`http://127.0.0.1:${server.port}/healthz`);
    const body = await response.json() as { connections?: unknown };
    return Number(body.connections);
  }

  /**
   * Starts one generator pinned to {@linkcode GENERATOR_CPU}.
   *
   * @param config What it should do.
   * @param hook Called for every event as it arrives.
   * @returns The generator.
   */
  spawnGenerator(config: GenConfig, hook?: EventHook): GenProcess {
    const index = ++this.#spawned;
    const child = this.children.spawn({
      name: `gen-${index}`,
      argv: [
        Deno.execPath(),
        "run",
        "--allow-net=127.0.0.1",
        // The fixed-rate mode's clock runs as a worker, loaded from this file.
        "--allow-read=_clock_worker.ts",
        "load_gen.ts",
        JSON.stringify(config),
      ],
      cpu: this.pinned ? GENERATOR_CPU : undefined,
      cwd: this.#benchDir,
      logPath: `${this.logDir}/gen-${index}-${config.mode}.log`,
      output: "events",
    });
    return new GenProcess(child, config, hook);
  }
}

/** Measures CPU use of a server and its generators between generator events. */
export class CpuMeter {
  /** Generator PIDs to include. */
  readonly generators: Set<number> = new Set();
  #serverPid: number;
  #start: number[] = [];
  #t0 = 0;
  #windows = new Map<string, CpuWindow>();

  /**
   * Creates a meter.
   *
   * @param serverPid The server to measure.
   */
  constructor(serverPid: number) {
    this.#serverPid = serverPid;
  }

  /** The hook to give one generator: samples on `measure-start` and `measure-end`. */
  readonly hook: EventHook = (event) => {
    if (event.event === "measure-start") {
      this.#start = this.#sample();
      this.#t0 = performance.now();
    } else if (event.event === "measure-end") {
      const end = this.#sample();
      const seconds = (performance.now() - this.#t0) / 1000;
      const used = end.map((value, i) => value - (this.#start[i] ?? NaN));
      const [machine = NaN, server = NaN, ...rest] = used;
      const generators = rest.reduce((sum, value) => sum + value, 0);
      this.#windows.set(event.phase, {
        server: (server / seconds) * 100,
        generators: (generators / seconds) * 100,
        other: Math.max(0, ((machine - server - generators) / seconds) * 100),
      });
    }
  };

  /**
   * Reads the CPU use of one timed window.
   *
   * @param phase The phase named in the generator's events.
   * @returns The window, `NaN` fields when it was not seen.
   */
  read(phase: string): CpuWindow {
    return this.#windows.get(phase) ??
      { server: NaN, generators: NaN, other: NaN };
  }

  #sample(): number[] {
    return [
      readMachineBusySeconds(),
      ...[this.#serverPid, ...this.generators].map(readCpuSeconds),
    ];
  }
}

/**
 * Finds out how a fresh wsecho connection starts: with `?welcome=0` the first
 * frame should be our own echo; if it is a welcome, fall back to consuming it.
 *
 * @param url The `/ws` URL without a query.
 * @returns The query to use and whether to consume a welcome frame.
 */
export async function probeWelcome(
  url: string,
): Promise<{ query: string; skipWelcome: boolean }> {
  const ws = new WebSocket(`${url}?welcome=0`);
  const first = Promise.withResolvers<unknown>();
  const opened = Promise.withResolvers<void>();
  const closed = Promise.withResolvers<void>();
  ws.onopen = () => opened.resolve();
  ws.onerror = () => opened.reject(new Error(`Cannot connect to "${url}"`));
  ws.onmessage = (event) => first.resolve(event.data);
  ws.onclose = () => closed.resolve();
  const timer = setTimeout(() => {
    first.reject(new Error("Probe timed out"));
    opened.reject(new Error("Probe timed out"));
  }, 10_000);
  try {
    await opened.promise;
    ws.send("bench-probe");
    const data = await first.promise;
    if (data === "bench-probe") {
      return { query: "?welcome=0", skipWelcome: false };
    }
    if (typeof data === "string" && data.includes('"welcome"')) {
      return { query: "", skipWelcome: true };
    }
    throw new Error(`Unexpected first frame from wsecho: ${String(data)}`);
  } finally {
    clearTimeout(timer);
    ws.close();
    await Promise.race([closed.promise, delay(2000)]);
  }
}

/**
 * Records the integrity failures of a generator result on the run.
 *
 * @param bench The run.
 * @param what Which measurement, for the message.
 * @param result The generator's result.
 */
export function checkIntegrity(
  bench: Bench,
  what: string,
  result: Integrity,
): void {
  if (result.mismatches > 0) {
    bench.fail(`${what}: ${result.mismatches} mismatched frames`);
  }
  for (const failure of result.failures) bench.fail(`${what}: ${failure}`);
}

/**
 * The generator's connect–echo–close settings for one server: 32 B echoes,
 * {@linkcode CONNECT_CONCURRENCY} handshakes in flight.
 *
 * @param server The server.
 * @param cycles Timed cycles.
 * @param warmupCycles Cycles before them.
 * @param concurrency Cycles in flight at once.
 * @returns The configuration.
 */
export function churnConfig(
  server: Server,
  cycles: number,
  warmupCycles: number,
  concurrency: number,
): ChurnConfig {
  return {
    mode: "churn",
    url: server.echoUrl,
    protocols: [],
    skipWelcome: server.skipWelcome,
    connectConcurrency: CONNECT_CONCURRENCY,
    cycles,
    warmupCycles,
    concurrency,
    size: 32,
  };
}
