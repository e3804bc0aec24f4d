/**
 * `deno task bench:lab`: does the test lab do what it promises under load?
 *
 * - Streams (`/ws?emit=N&rate=R`) at 1,000 and 10,000 messages a second must
 *   arrive complete, in order, at a measured rate within 2% of `R`.
 * - `delay` must hold within 5 ms at p99 with 100 delayed connections at once.
 *
 * The server runs as its own process (`main.ts`), the clients here. Prints a
 * table and exits 1 when a target is missed. Flags: `--seconds N` (length of
 * each stream, default 5), `--connections N` (100), `--delay MS` (100),
 * `--only stream|delay` (both), `--pin` (server on CPU 0, clients on CPU 1).
 *
 * @module
 */
import { parseArgs } from "node:util";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    seconds: { type: "string", default: "5" },
    connections: { type: "string", default: "100" },
    delay: { type: "string", default: "100" },
    only: { type: "string", default: "stream,delay" },
    pin: { type: "boolean", default: false },
  },
});
const ONLY = new Set(values.only.split(","));
const SECONDS = Number(values.seconds);
const CONNECTIONS = Number(values.connections);
const DELAY_MS = Number(values.delay);
const RATES = [1_000, 10_000];
/** Messages each delayed connection sends a second. */
const DELAYED_SEND_RATE = 20;

/** Picks a free loopback port by binding port 0 and letting it go. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

async function startServer(): Promise<
  { port: number; pinned: boolean; stop(): Promise<void> }
> {
  const port = freePort();
  const main = new URL("../main.ts", import.meta.url).pathname;
  // --pin: the server on CPU 0 and this client on CPU 1 (as `deno task bench`
  // does), so that the two do not take turns on one core. Off by default: on
  // a machine shared with other work, pinned processes cannot move to a free
  // core, and the tail got worse.
  const pin = values.pin && navigator.hardwareConcurrency >= 2 && hasTaskset();
  if (pin) pinSelf(1);
  const child = new Deno.Command(pin ? "taskset" : Deno.execPath(), {
    args: [
      ...(pin ? ["-c", "0", Deno.execPath()] : []),
      "run",
      "--allow-net",
      "--allow-env",
      main,
      "--hostname",
      "127.0.0.1",
      "--port",
      String(port),
      "--no-welcome",
      "--max-connections-per-ip",
      "0",
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const deadline = Date.now() + 30_000;
  while (true) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      break;
    } catch {
      if (Date.now() > deadline) {
        child.kill("SIGTERM");
        await child.status;
        throw new Error("The server did not start within 30 s");
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  return {
    port,
    pinned: pin,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
    },
  };
}

function hasTaskset(): boolean {
  try {
    return new Deno.Command("taskset", {
      args: ["-V"],
      stdout: "null",
      stderr: "null",
    })
      .outputSync().success;
  } catch {
    return false;
  }
}

function pinSelf(cpu: number): void {
  new Deno.Command("taskset", {
    args: ["-cp", String(cpu), String(Deno.pid)],
    stdout: "null",
    stderr: "null",
  }).outputSync();
}

function open(url: string): Promise<WebSocket> {
  const ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";
  return new Promise((resolve, reject) => {
    ws.onopen = () => resolve(ws);
    ws.onerror = () => reject(new Error(`Cannot connect to ${url}`));
  });
}

function closeAndWait(ws: WebSocket): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    ws.addEventListener("close", () => resolve(), { once: true });
    ws.close();
  });
}

interface StreamFigures {
  rate: number;
  asked: number;
  received: number;
  inOrder: boolean;
  measured: number;
  serverMeasured: number;
  errorPct: number;
}

async function measureStream(
  port: number,
  rate: number,
): Promise<StreamFigures> {
  const count = rate * SECONDS;
  const arrivals = new Float64Array(count);
  const stamps = new Float64Array(count);
  let received = 0;
  let inOrder = true;
  const ws = await open(
    `ws://127.0.0.1:${port}/ws?welcome=0&emit=${count}&rate=${rate}&size=64`,
  );
  const { promise, resolve } = Promise.withResolvers<void>();
  const timeout = setTimeout(resolve, (SECONDS * 2 + 10) * 1000);
  ws.onmessage = (event) => {
    const now = performance.now();
    const message = JSON.parse(event.data as string);
    if (message.seq !== received + 1) inOrder = false;
    if (received < count) {
      arrivals[received] = now;
      stamps[received] = message.t;
    }
    received++;
    if (received === count) resolve();
  };
  await promise;
  clearTimeout(timeout);
  await closeAndWait(ws);
  const n = Math.min(received, count);
  const span = arrivals[n - 1]! - arrivals[0]!;
  const serverSpan = stamps[n - 1]! - stamps[0]!;
  // n messages are n - 1 periods.
  const measured = ((n - 1) / span) * 1000;
  const serverMeasured = ((n - 1) / serverSpan) * 1000;
  return {
    rate,
    asked: count,
    received,
    inOrder,
    measured,
    serverMeasured,
    errorPct: (Math.abs(measured - rate) / rate) * 100,
  };
}

interface DelayFigures {
  connections: number;
  samples: number;
  p50: number;
  p99: number;
  max: number;
  early: number;
}

async function measureDelay(
  port: number,
  delay: number,
): Promise<DelayFigures> {
  const sockets = await Promise.all(
    Array.from(
      { length: CONNECTIONS },
      () =>
        open(
          `ws://127.0.0.1:${port}/ws?welcome=0${
            delay > 0 ? `&delay=${delay}` : ""
          }`,
        ),
    ),
  );
  const errors: number[] = [];
  let early = 0;
  const perSocket = DELAYED_SEND_RATE * SECONDS;
  const done = sockets.map((ws) => {
    const { promise, resolve } = Promise.withResolvers<void>();
    let got = 0;
    ws.onmessage = (event) => {
      const late = performance.now() - Number(event.data) - delay;
      if (late < 0) early++;
      errors.push(Math.abs(late));
      if (++got === perSocket) resolve();
    };
    return promise;
  });
  // One clock for every socket, each sending in turn, so that the load is
  // even and the client runs one timer, not a hundred.
  const tick = 5;
  const perTick = (sockets.length * DELAYED_SEND_RATE * tick) / 1000;
  let next = 0;
  let sentAll = 0;
  const total = perSocket * sockets.length;
  const clock = setInterval(() => {
    for (let i = 0; i < perTick && sentAll < total; i++, sentAll++) {
      sockets[next]!.send(String(performance.now()));
      next = (next + 1) % sockets.length;
    }
    if (sentAll === total) clearInterval(clock);
  }, tick);
  const timers = [() => clearInterval(clock)];
  let deadline: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    Promise.all(done),
    new Promise((resolve) =>
      deadline = setTimeout(resolve, (SECONDS + 30) * 1000)
    ),
  ]);
  clearTimeout(deadline);
  for (const stop of timers) stop();
  await Promise.all(sockets.map(closeAndWait));
  errors.sort((a, b) => a - b);
  const at = (q: number) =>
    errors[Math.min(errors.length - 1, Math.floor(q * errors.length))] ?? NaN;
  return {
    connections: CONNECTIONS,
    samples: errors.length,
    p50: at(0.5),
    p99: at(0.99),
    max: errors[errors.length - 1] ?? NaN,
    early,
  };
}

function loadAverage(): string {
  return Deno.loadavg().map((n) => n.toFixed(2)).join(" ");
}

const loadBefore = loadAverage();
const server = await startServer();
const pinned = server.pinned;
let failed = false;
const lines: string[] = [];
try {
  lines.push(
    "| stream | messages | received | in order | client rate (msg/s) | server rate (msg/s) | error | target |",
    "| --- | --- | --- | --- | --- | --- | --- | --- |",
  );
  for (const rate of ONLY.has("stream") ? RATES : []) {
    const f = await measureStream(server.port, rate);
    const ok = f.received === f.asked && f.inOrder && f.errorPct <= 2;
    failed ||= !ok;
    lines.push(
      `| ${rate}/s | ${f.asked} | ${f.received} | ${
        f.inOrder ? "yes" : "NO"
      } | ${f.measured.toFixed(1)} | ${f.serverMeasured.toFixed(1)} | ${
        f.errorPct.toFixed(2)
      }% | ${ok ? "met (≤ 2%)" : "MISSED"} |`,
    );
  }
  lines.push(
    "",
    "| delay | connections | samples | p50 error (ms) | p99 error (ms) | max (ms) | early | target |",
    "| --- | --- | --- | --- | --- | --- | --- | --- |",
  );
  // The same load without delay first: what the machine adds to any echo.
  for (const delay of ONLY.has("delay") ? [0, DELAY_MS] : []) {
    const d = await measureDelay(server.port, delay);
    const ok = d.p99 <= 5 &&
      d.samples === CONNECTIONS * DELAYED_SEND_RATE * SECONDS;
    if (delay > 0) failed ||= !ok;
    const what = delay === 0 ? "none (control)" : `${delay} ms`;
    const verdict = delay === 0 ? "-" : ok ? "met (p99 ≤ 5 ms)" : "MISSED";
    lines.push(
      `| ${what} | ${d.connections} | ${d.samples} | ${d.p50.toFixed(2)} | ${
        d.p99.toFixed(2)
      } | ${d.max.toFixed(2)} | ${d.early} | ${verdict} |`,
    );
  }
} finally {
  await server.stop();
}
lines.push(
  "",
  `load average before: ${loadBefore}, after: ${loadAverage()} (${navigator.hardwareConcurrency} CPUs${
    pinned ? "; server on CPU 0, clients on CPU 1" : ""
  })`,
);
// deno-lint-ignore no-console
console.log(lines.join("\n"));
Deno.exit(failed ? 1 : 0);
