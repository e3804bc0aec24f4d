/**
 * The cluster benchmark: broadcast fan-out from 1 sender to 1,000 members on
 * one wsecho instance (no broker, today's rooms) against the same room spread
 * over two instances joined by a real `redis-server`, in one run.
 *
 * ```sh
 * deno task bench:cluster            # about two minutes
 * deno task bench:cluster --quick    # fewer messages, shorter phases
 * deno task bench:cluster --workers=2 # the members in two client threads
 * deno task bench:cluster --window=8  # flood broadcasts in flight (32)
 * ```
 *
 * Figures, for each set-up:
 * - flood: 1,000 broadcasts, at most 32 in flight (a broadcast is done when
 *   every member has it): deliveries per second;
 * - latency at fixed rates (10 and 50 msg/s to the 1,000 members, 1,000 msg/s
 *   to 10 members): send → member latency p50/p99 over the remote members (in
 *   the cluster, those on the other instance; on one instance, all).
 *
 * The members live in worker threads of this process (`_cluster_members.ts`),
 * the sender in the main thread; latencies use `performance.timeOrigin +
 * performance.now()`, the same clock in every thread. The machine's cores are
 * shared by the servers, Redis and these threads, so the load average is
 * printed with the figures.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { SampleBuffer } from "./_stats.ts";
import type { MemberCommand, MemberReport } from "./_cluster_members.ts";
import { startRedis } from "../tests/redis_server.ts";
import { JsonClient, startInstance } from "../tests/cluster_utils.ts";
import type { WsechoProcess } from "../tests/wsecho_process.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    quick: { type: "boolean", default: false },
    workers: { type: "string", default: "1" },
    window: { type: "string", default: "32" },
  },
});
const QUICK = values.quick;
const MEMBERS = 1_000;
/**
 * Client threads holding the members. One by default: on this 2-core machine
 * a second thread only takes CPU from the servers (in one quick run, cluster /
 * single fell from about 1.0 to 0.61).
 */
const WORKERS = Number(values.workers);
// They split 1,000 and 10 members evenly.
if (![1, 2, 5].includes(WORKERS)) {
  throw new RangeError("--workers: 1, 2 or 5");
}
const FLOOD_MESSAGES = QUICK ? 200 : 1_000;
/** Flood broadcasts in flight (`--window`). */
const WINDOW = Number(values.window);
const RATE_SECONDS = QUICK ? 2 : 5;
/**
 * Fixed rates, as [broadcasts per second, members]: 1,000 msg/s to all 1,000
 * members would be 1,000,000 deliveries/s, several times what one instance
 * manages on this 2-core machine, so the rates stay below the flood figure.
 */
const RATES: readonly (readonly [number, number])[] = [
  [10, MEMBERS],
  [50, MEMBERS],
  [1_000, 10],
];
/** The longest any phase may take, so that a stuck run ends. */
const PHASE_TIMEOUT_MS = 120_000;

function now(): number {
  return performance.timeOrigin + performance.now();
}

/** One worker thread and the reports it sends. */
class Members {
  readonly worker: Worker;
  #waiting: ((report: MemberReport) => void)[] = [];
  onDone: (n: number) => void = () => {};

  constructor() {
    this.worker = new Worker(
      new URL("./_cluster_members.ts", import.meta.url),
      {
        type: "module",
      },
    );
    this.worker.onmessage = (event: MessageEvent<MemberReport>) => {
      const report = event.data;
      if (report.kind === "done") this.onDone(report.n);
      else this.#waiting.shift()?.(report);
    };
  }

  ask(command: MemberCommand): Promise<MemberReport> {
    const { promise, resolve, reject } = Promise.withResolvers<MemberReport>();
    const timer = setTimeout(
      () => reject(new Error(`worker: no answer to ${command.cmd}`)),
      PHASE_TIMEOUT_MS,
    );
    this.#waiting.push((report) => {
      clearTimeout(timer);
      if (report.kind === "error") reject(new Error(report.message));
      else resolve(report);
    });
    this.worker.postMessage(command);
    return promise;
  }
}

interface LatencyFigure {
  rate: number;
  members: number;
  p50: number;
  p99: number;
  samples: number;
  lostFrames: number;
}

interface SetupResult {
  name: string;
  instances: number;
  deliveriesPerSecond: number;
  floodSeconds: number;
  latency: LatencyFigure[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function runSetup(
  name: string,
  urls: readonly string[],
  remoteFrom: number,
): Promise<SetupResult> {
  // Member i is on instance i % urls.length; the sender is on instance 0.
  // Members on an instance at index ≥ remoteFrom count as remote.
  const workers = Array.from({ length: WORKERS }, () => new Members());
  const sender = await JsonClient.open(urls[0]!);
  try {
    const share = MEMBERS / WORKERS;
    await Promise.all(workers.map((w, k) => {
      const ids = Array.from({ length: share }, (_, j) => k * share + j);
      return w.ask({
        cmd: "open",
        urls: ids.map((i) => urls[i % urls.length]!),
        remote: ids.map((i) => i % urls.length >= remoteFrom),
      });
    }));
    await sender.request({ type: "join", room: "bench" });
    const deadline = Date.now() + 20_000;
    while (
      (await sender.request({ type: "join", room: "bench" })).members !==
        MEMBERS + 1
    ) {
      if (Date.now() > deadline) {
        throw new Error(`${name}: the room did not fill`);
      }
      await sleep(50);
    }

    // Flood, windowed: a broadcast is complete once every worker has it.
    await Promise.all(
      workers.map((w) => w.ask({ cmd: "flood", messages: FLOOD_MESSAGES })),
    );
    const doneBy = new Int32Array(FLOOD_MESSAGES);
    let completed = 0;
    let wake = () => {};
    for (const w of workers) {
      w.onDone = (n) => {
        if (++doneBy[n]! === WORKERS) {
          completed++;
          wake();
        }
      };
    }
    const waitUntil = async (condition: () => boolean) => {
      const limit = Date.now() + PHASE_TIMEOUT_MS;
      while (!condition()) {
        if (Date.now() > limit) throw new Error(`${name}: flood stalled`);
        const { promise, resolve } = Promise.withResolvers<void>();
        wake = resolve;
        const timer = setTimeout(resolve, 1_000);
        await promise;
        clearTimeout(timer);
      }
    };
    const start = now();
    for (let n = 0; n < FLOOD_MESSAGES; n++) {
      await waitUntil(() => n - completed < WINDOW);
      sender.send({ type: "broadcast", room: "bench", data: { n } });
    }
    await waitUntil(() => completed === FLOOD_MESSAGES);
    const floodSeconds = (now() - start) / 1000;
    const deliveriesPerSecond = (FLOOD_MESSAGES * MEMBERS) / floodSeconds;

    // Fixed rates.
    const latency: LatencyFigure[] = [];
    for (const [rate, receivers] of RATES) {
      await Promise.all(
        workers.map((w) =>
          w.ask({ cmd: "keep", count: Math.ceil(receivers / WORKERS) })
        ),
      );
      await sleep(300); // presence settles
      await Promise.all(workers.map((w) => w.ask({ cmd: "latency" })));
      const total = rate * RATE_SECONDS;
      const begin = performance.now();
      for (let i = 0; i < total; i++) {
        const wait = begin + (i * 1000) / rate - performance.now();
        if (wait > 1) await sleep(wait);
        sender.send({ type: "broadcast", room: "bench", data: { t: now() } });
      }
      // Stragglers: wait for every frame, 30 s at most.
      const expected = total * receivers;
      const until = Date.now() + 30_000;
      while (Date.now() < until) {
        const counted = await Promise.all(
          workers.map((w) => w.ask({ cmd: "frames" })),
        );
        const frames = counted.reduce(
          (sum, r) => sum + (r.kind === "frames" ? r.frames : 0),
          0,
        );
        if (frames >= expected) break;
        await sleep(50);
      }
      const reports = await Promise.all(
        workers.map((w) => w.ask({ cmd: "rejoin" })),
      );
      const samples = new SampleBuffer();
      let frames = 0;
      for (const report of reports) {
        if (report.kind !== "samples") continue;
        frames += report.frames;
        for (const sample of report.samples) samples.push(sample);
      }
      const summary = samples.summarize();
      latency.push({
        rate,
        members: receivers,
        p50: summary.p50,
        p99: summary.p99,
        samples: summary.count,
        lostFrames: expected - frames,
      });
    }
    return {
      name,
      instances: urls.length,
      deliveriesPerSecond,
      floodSeconds,
      latency,
    };
  } finally {
    await Promise.allSettled(workers.map((w) => w.ask({ cmd: "close" })));
    for (const w of workers) w.worker.terminate();
    await sender.close();
  }
}

async function loadAverage(): Promise<string> {
  try {
    return (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3)
      .join(" ");
  } catch {
    return "unknown";
  }
}

const SERVER_ARGS = ["--max-buffered", "64MiB"];
const results: SetupResult[] = [];
const loadBefore = await loadAverage();
{
  const single = await startInstance("", { args: SERVER_ARGS });
  try {
    results.push(await runSetup("1 instance, no broker", [single.ws], 0));
  } finally {
    await single.stop();
  }
}
{
  await using redis = await startRedis();
  const instances: WsechoProcess[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      instances.push(await startInstance(redis.url, { args: SERVER_ARGS }));
    }
    results.push(
      await runSetup("2 instances + redis", instances.map((i) => i.ws), 1),
    );
  } finally {
    await Promise.all(instances.map((i) => i.stop()));
  }
}
const loadAfter = await loadAverage();

const [single, cluster] = results as [SetupResult, SetupResult];
const format = (n: number) => Math.round(n).toLocaleString("en-US");
const lines = [
  `cluster bench (${
    QUICK ? "quick" : "full"
  }): 1 sender → ${MEMBERS} members in ${WORKERS} client threads; ` +
  `load average before ${loadBefore}, after ${loadAfter}; ` +
  `${navigator.hardwareConcurrency} CPUs shared by the servers, redis and the clients`,
  "",
  "| figure | 1 instance | 2 instances + redis | cluster / single |",
  "| --- | ---: | ---: | ---: |",
  `| deliveries/s (flood, ${WINDOW} in flight) | ${
    format(single.deliveriesPerSecond)
  } | ${format(cluster.deliveriesPerSecond)} | ${
    (cluster.deliveriesPerSecond / single.deliveriesPerSecond).toFixed(2)
  } |`,
];
for (let i = 0; i < single.latency.length; i++) {
  const s = single.latency[i]!;
  const c = cluster.latency[i]!;
  lines.push(
    `| send → member p50 / p99 (µs), ${s.rate} msg/s → ${s.members} members | ${
      format(s.p50)
    } / ${format(s.p99)} | ${format(c.p50)} / ${
      format(c.p99)
    } (remote members) | ${(c.p99 / s.p99).toFixed(2)} (p99) |`,
  );
}
lines.push(
  "",
  `lost frames (should be 0): single ${
    single.latency.map((l) => l.lostFrames).join(", ")
  }; cluster ${cluster.latency.map((l) => l.lostFrames).join(", ")}`,
);
// deno-lint-ignore no-console
console.log(lines.join("\n"));
const dir = new URL("./results/", import.meta.url);
await Deno.mkdir(dir, { recursive: true });
const stamp = new Date().toISOString().replaceAll(":", "-").slice(0, 19);
await Deno.writeTextFile(
  new URL(`cluster-${stamp}.json`, dir),
  JSON.stringify({ loadBefore, loadAfter, quick: QUICK, results }, null, 2),
);
