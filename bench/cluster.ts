/**
 * The cluster benchmark: broadcast fan-out from 1 sender to 1,000 members on
 * one wsecho instance (no broker, today's rooms) against the same room spread
 * over two instances joined by a real `redis-server`, in one run.
 *
 * ```sh
 * deno task bench:cluster            # about a minute
 * deno task bench:cluster --quick    # fewer messages
 * ```
 *
 * Figures, for each set-up:
 * - flood: 1,000 broadcasts, at most 8 in flight (a broadcast is done when
 *   every member has it): deliveries per second;
 * - latency at fixed rates (10 and 50 msg/s to the 1,000 members, 1,000 msg/s
 *   to 10 members): send → member latency p50/p99 over the remote members
 *   (in the cluster, those on the other instance; on one instance, all).
 *
 * The members, the sender and the clock all live in this one process, so
 * latencies need no clock agreement; it shares the machine's cores with the
 * servers and Redis, so the load average is printed with the figures.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { SampleBuffer } from "./_stats.ts";
import { startRedis } from "../tests/redis_server.ts";
import {
  JsonClient,
  openMany,
  requestMany,
  startInstance,
} from "../tests/cluster_utils.ts";
import type { WsechoProcess } from "../tests/wsecho_process.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { quick: { type: "boolean", default: false } },
});
const QUICK = values.quick;
const MEMBERS = 1_000;
const FLOOD_MESSAGES = QUICK ? 200 : 1_000;
const WINDOW = 8;
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

/** A member socket that only counts and timestamps, to keep this process light. */
class Member {
  readonly socket: WebSocket;
  readonly remote: boolean;
  received = 0;
  constructor(
    socket: WebSocket,
    remote: boolean,
    onFrame: (m: Member, text: string) => void,
  ) {
    this.socket = socket;
    this.remote = remote;
    socket.addEventListener("message", (event) => {
      const text = String(event.data);
      if (text.charCodeAt(9) !== 109) return; // `{"type":"m…`: a message frame
      this.received++;
      onFrame(this, text);
    });
  }
}

function field(text: string, name: string): number {
  const at = text.indexOf(`"${name}":`);
  return at < 0 ? NaN : parseFloat(text.slice(at + name.length + 3));
}

function now(): number {
  return performance.now();
}

interface SetupResult {
  name: string;
  instances: number;
  deliveriesPerSecond: number;
  floodSeconds: number;
  latency: {
    rate: number;
    members: number;
    p50: number;
    p99: number;
    samples: number;
    lostFrames: number;
  }[];
}

async function runSetup(
  name: string,
  urls: readonly string[],
  remoteFrom: number,
): Promise<SetupResult> {
  // Members: index 0 is the sender's own instance; members at index ≥
  // remoteFrom (in the cluster, those on the other instance) are "remote".
  let onFrame: (m: Member, text: string) => void = () => {};
  const sockets = await openMany(
    Array.from({ length: MEMBERS }, (_, i) => urls[i % urls.length]!),
  );
  const members = sockets.map((client, i) =>
    new Member(
      client.socket,
      i % urls.length >= remoteFrom,
      (m, t) => onFrame(m, t),
    )
  );
  const sender = await JsonClient.open(urls[0]!);
  try {
    await requestMany(sockets, () => ({ type: "join", room: "bench" }));
    await sender.request({ type: "join", room: "bench" });
    // Every instance must see the whole room before measuring.
    const deadline = Date.now() + 20_000;
    while (
      (await sender.request({ type: "join", room: "bench" })).members !==
        MEMBERS + 1
    ) {
      if (Date.now() > deadline) {
        throw new Error(`${name}: the room did not fill`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }

    // Flood, windowed.
    const counts = new Int32Array(FLOOD_MESSAGES);
    let completed = 0;
    let release = () => {};
    onFrame = (_m, text) => {
      const n = field(text, "n");
      if (n >= 0 && n < FLOOD_MESSAGES && ++counts[n]! === MEMBERS) {
        completed++;
        release();
      }
    };
    const start = now();
    for (let n = 0; n < FLOOD_MESSAGES; n++) {
      while (n - completed >= WINDOW) {
        const { promise, resolve } = Promise.withResolvers<void>();
        release = resolve;
        const timer = setTimeout(resolve, 5_000);
        await promise;
        clearTimeout(timer);
        if (now() - start > 120_000) throw new Error(`${name}: flood stalled`);
      }
      sender.send({ type: "broadcast", room: "bench", data: { n } });
    }
    while (completed < FLOOD_MESSAGES) {
      const { promise, resolve } = Promise.withResolvers<void>();
      release = resolve;
      const timer = setTimeout(resolve, 5_000);
      await promise;
      clearTimeout(timer);
      if (now() - start > 120_000) throw new Error(`${name}: flood stalled`);
    }
    const floodSeconds = (now() - start) / 1000;
    const deliveriesPerSecond = (FLOOD_MESSAGES * MEMBERS) / floodSeconds;

    // Fixed rates.
    const latency: SetupResult["latency"] = [];
    for (const [rate, receivers] of RATES) {
      // The first `receivers` members stay; the rest leave the room.
      const leaving = sockets.slice(receivers);
      await requestMany(leaving, () => ({ type: "leave", room: "bench" }));
      const samples = new SampleBuffer();
      let frames = 0;
      onFrame = (m, text) => {
        frames++;
        if (m.remote) samples.push((now() - field(text, "t")) * 1000);
      };
      await new Promise((r) => setTimeout(r, 300)); // presence settles
      const total = rate * RATE_SECONDS;
      const begin = now();
      for (let i = 0; i < total; i++) {
        const due = begin + (i * 1000) / rate;
        const wait = due - now();
        if (wait > 1) await new Promise((r) => setTimeout(r, wait));
        sender.send({ type: "broadcast", room: "bench", data: { t: now() } });
      }
      // Stragglers: wait for every frame, 30 s at most.
      const expected = total * receivers;
      const until = now() + 30_000;
      while (frames < expected && now() < until) {
        await new Promise((r) => setTimeout(r, 20));
      }
      const summary = samples.summarize();
      latency.push({
        rate,
        members: receivers,
        p50: summary.p50,
        p99: summary.p99,
        samples: summary.count,
        lostFrames: total * receivers - frames,
      });
      await requestMany(leaving, () => ({ type: "join", room: "bench" }));
    }
    return {
      name,
      instances: urls.length,
      deliveriesPerSecond,
      floodSeconds,
      latency,
    };
  } finally {
    onFrame = () => {};
    await Promise.all([...sockets.map((c) => c.close()), sender.close()]);
    void members;
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

const results: SetupResult[] = [];
const loadBefore = await loadAverage();
{
  const single = await startInstance("", { args: ["--max-buffered", "64MiB"] });
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
      instances.push(
        await startInstance(redis.url, { args: ["--max-buffered", "64MiB"] }),
      );
    }
    results.push(
      await runSetup("2 instances + redis", instances.map((i) => i.ws), 1),
    );
  } finally {
    await Promise.all(instances.map((i) => i.stop()));
  }
}
const loadAfter = await loadAverage();

const single = results[0]!;
const cluster = results[1]!;
const lines = [
  `cluster bench (${
    QUICK ? "quick" : "full"
  }): 1 sender → ${MEMBERS} members; load average before ${loadBefore}, after ${loadAfter}; ${navigator.hardwareConcurrency} CPUs shared by servers, redis and this generator`,
  "",
  "| figure | 1 instance | 2 instances + redis | cluster / single |",
  "| --- | ---: | ---: | ---: |",
  `| deliveries/s (flood, ${WINDOW} in flight) | ${
    Math.round(single.deliveriesPerSecond).toLocaleString("en-US")
  } | ${Math.round(cluster.deliveriesPerSecond).toLocaleString("en-US")} | ${
    (cluster.deliveriesPerSecond / single.deliveriesPerSecond).toFixed(2)
  } |`,
];
for (let i = 0; i < single.latency.length; i++) {
  const s = single.latency[i]!;
  const c = cluster.latency[i]!;
  lines.push(
    `| send → ${
      i === 0 ? "member" : "member"
    } p50 / p99 (µs), ${s.rate} msg/s → ${s.members} members | ${
      Math.round(s.p50)
    } / ${Math.round(s.p99)} | ${Math.round(c.p50)} / ${
      Math.round(c.p99)
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
