/**
 * The `instructions` scenario: what one connect costs the server, counted
 * rather than timed. valgrind's callgrind counts the user-space instructions
 * of every server thread (JavaScript, V8, the garbage collector, Deno's Rust)
 * and strace counts the system calls, the kernel's share. Counts do not move
 * with the neighbours' load the way CPU seconds do on a shared two-core
 * machine, so a per-connect difference of a few percent stays visible.
 *
 * @module
 */
import {
  type Bench,
  checkIntegrity,
  churnConfig,
  CONNECT_CONCURRENCY,
  type Server,
  type ServerName,
} from "./_bench.ts";
import type { ChurnResult, IdleResult } from "./_protocol.ts";
import { delay, type GenProcess, hasCommand } from "./_proc.ts";
import { formatNumber } from "./_table.ts";

/** Cycles in flight in the churn phases, as in the churn scenario. */
const CHURN_CONCURRENCY = 32;
/** Under valgrind a server starts and answers about 30 times slower. */
const VALGRIND_READY_MS = 120_000;

/** wsecho's flags here, as in the memory scenario: every loopback peer shares one IP. */
const WSECHO_FLAGS = ["--max-connections-per-ip", "0"];

/** One server's counts. */
export interface InstructionReading {
  /** User-space instructions per connect–echo–close cycle. */
  churn: number;
  /** User-space instructions per connection opened and held. */
  held: number;
  /** System calls per connect–echo–close cycle, by name. */
  syscalls: Record<string, number>;
}

/**
 * Parses the total of a callgrind dump.
 *
 * @param text The dump file's text.
 * @returns Its `summary:` (or `totals:`) count of instructions.
 * @throws {Error} When the file has neither line.
 */
export function parseCallgrindTotal(text: string): number {
  const match = /^(?:summary|totals): (\d+)/m.exec(text);
  if (match === null) throw new Error("No summary line in the callgrind dump");
  return Number(match[1]);
}

/**
 * Parses the table `strace -c` writes.
 *
 * @param text The table.
 * @returns Calls by system call name, without the total.
 */
export function parseStraceCounts(text: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const line of text.split("\n")) {
    // % time, seconds, usecs/call, calls, [errors,] syscall
    const fields = line.trim().split(/\s+/);
    const name = fields.at(-1);
    if (fields.length < 5 || name === undefined || name === "total") continue;
    if (!/^[\d.]+$/.test(fields[0] ?? "")) continue;
    const calls = Number(fields[3]);
    if (Number.isInteger(calls)) counts[name] = calls;
  }
  return counts;
}

/**
 * Runs the scenario: each server once under callgrind (a churn phase, then a
 * held-connections phase) and once under strace (a churn phase), and adds
 * the rows. Skipped, with a line saying how to install them, when valgrind or
 * strace is missing.
 *
 * @param bench The run.
 */
export async function instructions(bench: Bench): Promise<void> {
  const missing = [];
  if (!await hasCommand("valgrind", ["--version"])) missing.push("valgrind");
  if (!await hasCommand("strace", ["-V"])) missing.push("strace");
  if (missing.length > 0) {
    bench.log(
      `instructions skipped: ${missing.join(" and ")} not installed ` +
        `(apt-get install ${missing.join(" ")})`,
    );
    return;
  }
  const names: ServerName[] = "missing" in bench.wsecho
    ? ["baseline"]
    : ["baseline", "wsecho"];
  const readings: Partial<Record<ServerName, InstructionReading>> = {};
  try {
    for (const name of names) {
      const counted = await underCallgrind(bench, name);
      const syscalls = await underStrace(bench, name);
      readings[name] = { ...counted, syscalls };
    }
  } finally {
    bench.raw.instructions = readings;
  }
  const { countCycles: cycles, countWarmup: warmup, countConnections } =
    bench.settings;
  const { baseline, wsecho } = readings;
  const figure = (key: "churn" | "held") => ({
    ...(baseline === undefined ? {} : { baseline: baseline[key] }),
    ...(wsecho === undefined ? {} : { wsecho: wsecho[key] }),
  });
  bench.add({
    scenario: "instructions",
    figure: "connect–echo–close cycle: server instructions (callgrind)",
    unit: "instr",
    better: "lower",
    ...figure("churn"),
    note: `user space, every thread; ${formatNumber(cycles)} cycles ` +
      `(${CHURN_CONCURRENCY} at once) after ${formatNumber(warmup)} warm-up`,
  });
  bench.add({
    scenario: "instructions",
    figure: "  held connect: server instructions (callgrind)",
    unit: "instr",
    better: "lower",
    ...figure("held"),
    note:
      `${formatNumber(countConnections)} connections opened and kept open ` +
      `(${CONNECT_CONCURRENCY} handshakes in flight)`,
  });
  const total = (r: InstructionReading | undefined) =>
    r === undefined
      ? undefined
      : Object.values(r.syscalls).reduce((sum, n) => sum + n, 0) / cycles;
  const baselineCalls = total(baseline);
  const wsechoCalls = total(wsecho);
  bench.add({
    scenario: "instructions",
    figure: "  connect–echo–close cycle: system calls (strace)",
    unit: "calls",
    better: "lower",
    ...(baselineCalls === undefined ? {} : { baseline: baselineCalls }),
    ...(wsechoCalls === undefined ? {} : { wsecho: wsechoCalls }),
    note: syscallNote(baseline?.syscalls, wsecho?.syscalls, cycles),
  });
}

async function underCallgrind(
  bench: Bench,
  name: ServerName,
): Promise<{ churn: number; held: number }> {
  const out = `${bench.logDir}/callgrind.${name}`;
  const server = await bench.startServer(
    name,
    name === "wsecho" ? WSECHO_FLAGS : [],
    {
      wrap: [
        "valgrind",
        "--tool=callgrind",
        `--callgrind-out-file=${out}`,
        "--dump-line=no",
      ],
      readyTimeoutMs: VALGRIND_READY_MS,
    },
  );
  try {
    const { countCycles, countWarmup, countConnections } = bench.settings;
    bench.log(`instructions: ${name} under callgrind, ${countCycles} cycles`);
    // Dumps are numbered from 1 in the order asked for.
    const churn = await counted(
      bench,
      server,
      `${out}.1`,
      () =>
        bench.spawnGenerator(
          churnConfig(server, countCycles, countWarmup, CHURN_CONCURRENCY),
        ),
    );
    bench.log(`instructions: ${name}, ${countConnections} held connections`);
    const held = await counted(
      bench,
      server,
      `${out}.2`,
      () =>
        bench.spawnGenerator({
          mode: "idle",
          url: server.echoUrl,
          protocols: [],
          skipWelcome: server.skipWelcome,
          connectConcurrency: CONNECT_CONCURRENCY,
          connections: countConnections,
          // The churn phase before it warmed the same paths up.
          warmupConnections: 0,
        }),
    );
    return {
      churn: churn / countCycles,
      held: held / countConnections,
    };
  } finally {
    await bench.stopServer(server);
  }
}

/**
 * Zeroes the server's counters when the generator is warm, dumps them when
 * its timed phase ends, and reads the dump.
 */
async function counted(
  bench: Bench,
  server: Server,
  dump: string,
  spawn: () => GenProcess,
): Promise<number> {
  const gen = spawn();
  try {
    await gen.expect("ready");
    await gen.go();
    await gen.expect("warm", VALGRIND_READY_MS);
    await callgrindControl(server.pid, "-z");
    await gen.go();
    await gen.expect("measure-start");
    await gen.expect("measure-end", VALGRIND_READY_MS);
    await callgrindControl(server.pid, "-d");
    if (gen.config.mode === "idle") {
      await gen.expect("connected");
      await gen.go();
    }
    const result = await gen.result<ChurnResult | IdleResult>(
      VALGRIND_READY_MS,
    );
    checkIntegrity(bench, `instructions ${server.name}`, result);
    return parseCallgrindTotal(await readWhenWritten(dump));
  } finally {
    await gen.finish();
  }
}

async function underStrace(
  bench: Bench,
  name: ServerName,
): Promise<Record<string, number>> {
  const server = await bench.startServer(
    name,
    name === "wsecho" ? WSECHO_FLAGS : [],
  );
  const table = `${bench.logDir}/strace.${name}.txt`;
  const { countCycles, countWarmup } = bench.settings;
  bench.log(`instructions: ${name} under strace, ${countCycles} cycles`);
  const gen = bench.spawnGenerator(
    churnConfig(server, countCycles, countWarmup, CHURN_CONCURRENCY),
  );
  let strace: Deno.ChildProcess | undefined;
  try {
    await gen.expect("ready");
    await gen.go();
    await gen.expect("warm");
    strace = new Deno.Command("strace", {
      args: ["-c", "-f", "-o", table, "-p", String(server.pid)],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    await attached(strace);
    await gen.go();
    await gen.expect("measure-start");
    await gen.expect("measure-end");
    // The server closes its side of the last cycles just after the peer.
    await delay(300);
    strace.kill("SIGINT");
    await strace.status;
    strace = undefined;
    checkIntegrity(
      bench,
      `instructions ${name}`,
      await gen.result<ChurnResult>(),
    );
    return parseStraceCounts(await Deno.readTextFile(table));
  } finally {
    if (strace !== undefined) {
      strace.kill("SIGKILL");
      await strace.status;
    }
    await gen.finish();
    await bench.stopServer(server);
  }
}

/** Waits until strace says it is attached to every thread, and keeps draining its stderr. */
async function attached(strace: Deno.ChildProcess): Promise<void> {
  const lines = strace.stderr.pipeThrough(new TextDecoderStream());
  const reader = lines.getReader();
  let seen = "";
  while (!seen.includes("attached")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`strace did not attach: ${seen.trim()}`);
    seen += value;
  }
  // The rest ("detached" lines) is read so that strace never blocks on a full pipe.
  (async () => {
    while (!(await reader.read()).done);
  })();
}

async function callgrindControl(pid: number, command: "-z" | "-d") {
  const { success, stderr } = await new Deno.Command("callgrind_control", {
    args: [command, String(pid)],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!success) {
    throw new Error(
      `callgrind_control ${command} ${pid} failed: ${
        new TextDecoder().decode(stderr).trim()
      }`,
    );
  }
}

/** callgrind writes a dump shortly after it is asked to: wait for the whole file. */
async function readWhenWritten(path: string): Promise<string> {
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      const text = await Deno.readTextFile(path);
      if (/^(?:summary|totals): \d+/m.test(text)) return text;
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    await delay(100);
  }
  throw new Error(`callgrind never wrote ${path}`);
}

/** The system calls whose count per cycle differs, and the commonest ones. */
function syscallNote(
  baseline: Record<string, number> | undefined,
  wsecho: Record<string, number> | undefined,
  cycles: number,
): string {
  const names = new Set([
    ...Object.keys(baseline ?? {}),
    ...Object.keys(wsecho ?? {}),
  ]);
  const perCycle = (counts: Record<string, number> | undefined, name: string) =>
    (counts?.[name] ?? 0) / cycles;
  const rows = [...names]
    .map((name) => ({
      name,
      baseline: perCycle(baseline, name),
      wsecho: perCycle(wsecho, name),
    }))
    .filter((row) => Math.max(row.baseline, row.wsecho) >= 0.05)
    .sort((a, b) => b.baseline + b.wsecho - a.baseline - a.wsecho);
  return `per cycle, baseline/wsecho: ${
    rows.map((row) =>
      `${row.name} ${row.baseline.toFixed(2)}/${row.wsecho.toFixed(2)}`
    ).join(", ")
  }`;
}
