/**
 * Child processes for the bench: spawning pinned to a CPU, readiness by
 * polling the port, the generator's line protocol, `/proc` readings and
 * killing only our own children, by PID.
 *
 * Deno wants `--allow-all` to read `/proc/<pid>/…`, so the orchestrator runs
 * with `-A` and the children with narrow permissions.
 *
 * @module
 */
import type { GenConfig, GenEvent, GenResult } from "./_protocol.ts";

/** Clock ticks per second in `/proc/<pid>/stat` (`USER_HZ`, 100 on Linux). */
const CLOCK_TICKS = 100;
/** Soft open-file limit asked for in every child; falls back to the hard limit. */
const WANTED_OPEN_FILES = 65_536;

/** Where a child's stdout lines go. */
export type OutputMode = "log" | "events";

/** How to start one child. */
export interface SpawnOptions {
  /** Label used in logs and errors. */
  name: string;
  /** Program and arguments, e.g. `["deno", "run", …]`. */
  argv: string[];
  /** CPU to pin to with `taskset`, or `undefined` for no pinning. */
  cpu: number | undefined;
  /** Working directory. */
  cwd: string;
  /** File that receives stderr (and stdout for servers), appended to. */
  logPath: string;
  /** `log`: stdout to the log file; `events`: stdout read as JSON lines. */
  output: OutputMode;
}

/** The children the bench started; {@linkcode Children.killAll} ends them by PID. */
export class Children {
  #live = new Set<Deno.ChildProcess>();

  /**
   * Starts a child, pinned to a CPU when asked, under the highest open-file
   * limit the shell allows.
   *
   * @param options How to start it.
   * @returns The running process.
   */
  spawn(options: SpawnOptions): Deno.ChildProcess {
    const pin = options.cpu === undefined ? "" : `taskset -c ${options.cpu} `;
    // The shell writes the log file itself, so no bench process sits between
    // a chatty server and its log.
    const redirect = options.output === "log"
      ? `>>"$BENCH_LOG" 2>&1`
      : `2>>"$BENCH_LOG"`;
    const script = `ulimit -n ${WANTED_OPEN_FILES} 2>/dev/null || ` +
      `ulimit -n "$(ulimit -Hn)"; exec ${pin}"$@" ${redirect}`;
    const child = new Deno.Command("sh", {
      args: ["-c", script, "sh", ...options.argv],
      cwd: options.cwd,
      env: { BENCH_LOG: options.logPath },
      stdin: options.output === "events" ? "piped" : "null",
      stdout: options.output === "events" ? "piped" : "null",
      stderr: "null",
    }).spawn();
    this.#live.add(child);
    child.status.finally(() => this.#live.delete(child));
    return child;
  }

  /**
   * Sends SIGTERM to every live child, waits up to `graceMs`, then SIGKILLs
   * whatever is left. Only processes this object spawned are touched.
   *
   * @param graceMs How long to wait before SIGKILL.
   */
  async killAll(graceMs = 3000): Promise<void> {
    const live = [...this.#live];
    for (const child of live) signal(child, "SIGTERM");
    const deadline = delay(graceMs);
    await Promise.race([
      Promise.allSettled(live.map((c) => c.status)),
      deadline,
    ]);
    for (const child of this.#live) signal(child, "SIGKILL");
    await Promise.race([
      Promise.allSettled(live.map((c) => c.status)),
      delay(1000),
    ]);
  }

  /**
   * Ends one child: SIGTERM, then SIGKILL after `graceMs`.
   *
   * @param child A process this object spawned.
   * @param graceMs How long to wait before SIGKILL.
   */
  async kill(child: Deno.ChildProcess, graceMs = 3000): Promise<void> {
    if (!this.#live.has(child)) return;
    signal(child, "SIGTERM");
    const exited = await Promise.race([
      child.status.then(() => true),
      delay(graceMs).then(() => false),
    ]);
    if (!exited) {
      signal(child, "SIGKILL");
      await Promise.race([child.status, delay(1000)]);
    }
  }
}

function signal(child: Deno.ChildProcess, name: Deno.Signal): void {
  try {
    child.kill(name);
  } catch {
    // Already gone.
  }
}

/**
 * Resolves after `ms` milliseconds.
 *
 * @param ms The delay.
 * @returns A promise for the end of the delay.
 */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Checks whether `taskset` can pin a process here.
 *
 * @returns `true` when `taskset -c 0 true` succeeds.
 */
export function hasTaskset(): Promise<boolean> {
  return hasCommand("taskset", ["-c", "0", "true"]);
}

/**
 * Checks whether a program is installed and runs.
 *
 * @param program The program, looked up on `PATH`.
 * @param args Arguments that make it exit at once, such as `["--version"]`.
 * @returns `true` when it exits with status 0.
 */
export async function hasCommand(
  program: string,
  args: string[],
): Promise<boolean> {
  try {
    const { success } = await new Deno.Command(program, {
      args,
      stdout: "null",
      stderr: "null",
    }).output();
    return success;
  } catch {
    return false;
  }
}

/**
 * Finds a free TCP port on 127.0.0.1 by binding port 0 and closing it.
 *
 * @returns The port.
 */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/**
 * Polls a port until it accepts a TCP connection.
 *
 * @param port The port on 127.0.0.1.
 * @param child The server process; an exit ends the wait with an error.
 * @param timeoutMs How long to keep trying.
 * @throws {Error} When the child exits or the time runs out.
 */
export async function waitForPort(
  port: number,
  child: Deno.ChildProcess,
  timeoutMs = 20_000,
): Promise<void> {
  let exited = false;
  child.status.then(() => exited = true);
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (exited) throw new Error(`Server exited before listening on ${port}`);
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      return;
    } catch {
      await delay(50);
    }
  }
  throw new Error(`Timed out after ${timeoutMs} ms waiting for port ${port}`);
}

/**
 * Reads a process's resident set size.
 *
 * @param pid The process.
 * @returns `VmRSS` from `/proc/<pid>/status`, in KiB.
 */
export function readRssKiB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const match = /^VmRSS:\s+(\d+) kB/m.exec(status);
  if (!match) throw new Error(`Cannot parse VmRSS of "${pid}"`);
  return Number(match[1]);
}

/**
 * Reads a process's CPU time, user plus system, all threads.
 *
 * @param pid The process.
 * @returns CPU seconds, or `NaN` when `/proc` cannot be read.
 */
export function readCpuSeconds(pid: number): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}

/**
 * Reads the CPU time of each of a process's threads, in nanoseconds: finer
 * than `/proc/<pid>/stat`'s 10 ms ticks, for windows of a tenth of a second.
 *
 * @param pid The process.
 * @returns Nanoseconds on a CPU (user and system), by thread id.
 */
export function readThreadNanos(pid: number): Map<string, number> {
  const nanos = new Map<string, number>();
  for (const entry of Deno.readDirSync(`/proc/${pid}/task`)) {
    try {
      const text = Deno.readTextFileSync(
        `/proc/${pid}/task/${entry.name}/schedstat`,
      );
      nanos.set(entry.name, Number(text.split(" ", 1)[0]));
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return nanos;
}

/**
 * The CPU time a process used between two {@linkcode readThreadNanos}
 * readings. A thread that ended in between loses only its time since the
 * first reading.
 *
 * @param before The first reading.
 * @param after The second reading.
 * @returns Nanoseconds.
 */
export function threadNanosBetween(
  before: ReadonlyMap<string, number>,
  after: ReadonlyMap<string, number>,
): number {
  let total = 0;
  for (const [thread, value] of after) {
    total += value - (before.get(thread) ?? 0);
  }
  return total;
}

/**
 * Reads the machine's busy CPU time, all CPUs: everything but idle and iowait.
 *
 * @returns CPU seconds since boot, or `NaN` when `/proc/stat` cannot be read.
 */
export function readMachineBusySeconds(): number {
  try {
    const line = Deno.readTextFileSync("/proc/stat").split("\n", 1)[0] ?? "";
    const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
    const total = ticks.reduce((sum, value) => sum + value, 0);
    return (total - (ticks[3] ?? 0) - (ticks[4] ?? 0)) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}

/**
 * Counts a process's open file descriptors.
 *
 * @param pid The process.
 * @returns The number of entries in `/proc/<pid>/fd`.
 */
export function countFds(pid: number): number {
  let count = 0;
  for (const _entry of Deno.readDirSync(`/proc/${pid}/fd`)) count++;
  return count;
}

/**
 * Reads a process's soft and hard open-file limits.
 *
 * @param pid The process.
 * @returns `soft/hard`, e.g. `20000/20000`, or `unknown`.
 */
export function readOpenFileLimit(pid: number): string {
  try {
    const limits = Deno.readTextFileSync(`/proc/${pid}/limits`);
    const line = limits.split("\n").find((l) => l.startsWith("Max open files"));
    const [soft, hard] = line?.slice("Max open files".length).trim()
      .split(/\s+/) ?? [];
    return `${soft}/${hard}`;
  } catch {
    return "unknown";
  }
}

/** Called synchronously for every event, before anyone awaiting it resumes. */
export type EventHook = (event: GenEvent, gen: GenProcess) => void;

/** One load-generator process and its JSON-lines conversation. */
export class GenProcess {
  /** The generator's PID. */
  readonly pid: number;
  /** The configuration it runs. */
  readonly config: GenConfig;
  #child: Deno.ChildProcess;
  #events: GenEvent[] = [];
  #waiter: (() => void) | undefined;
  #ended = false;
  #stdin: WritableStreamDefaultWriter<Uint8Array>;

  /**
   * Wraps a spawned generator.
   *
   * @param child The process, spawned with `output: "events"`.
   * @param config The configuration it was given.
   * @param hook Called for every event as it arrives.
   */
  constructor(child: Deno.ChildProcess, config: GenConfig, hook?: EventHook) {
    this.pid = child.pid;
    this.config = config;
    this.#child = child;
    this.#stdin = child.stdin.getWriter();
    this.#read(hook);
  }

  async #read(hook: EventHook | undefined): Promise<void> {
    let pending = "";
    try {
      const text = this.#child.stdout.pipeThrough(new TextDecoderStream());
      for await (const chunk of text) {
        pending += chunk;
        let newline = pending.indexOf("\n");
        while (newline >= 0) {
          const line = pending.slice(0, newline);
          pending = pending.slice(newline + 1);
          newline = pending.indexOf("\n");
          if (line.trim() === "") continue;
          const event = JSON.parse(line) as GenEvent;
          hook?.(event, this);
          this.#events.push(event);
          this.#waiter?.();
        }
      }
    } catch {
      // The stream ends with the process.
    } finally {
      this.#ended = true;
      this.#waiter?.();
    }
  }

  /**
   * Waits for the next event and checks its kind.
   *
   * @param kind The event expected next.
   * @param timeoutMs How long to wait.
   * @returns The event.
   * @throws {Error} On an `error` event, an exit, another kind or a timeout.
   */
  async expect<K extends GenEvent["event"]>(
    kind: K,
    timeoutMs = 120_000,
  ): Promise<Extract<GenEvent, { event: K }>> {
    const deadline = performance.now() + timeoutMs;
    while (this.#events.length === 0) {
      if (this.#ended) {
        throw new Error(
          `Generator ${this.pid} exited while waiting for "${kind}"`,
        );
      }
      const left = deadline - performance.now();
      if (left <= 0) {
        throw new Error(
          `Timed out after ${timeoutMs} ms waiting for "${kind}"`,
        );
      }
      const { promise, resolve } = Promise.withResolvers<void>();
      this.#waiter = resolve;
      const timer = setTimeout(resolve, left);
      await promise;
      clearTimeout(timer);
      this.#waiter = undefined;
    }
    const event = this.#events.shift() as GenEvent;
    if (event.event === "error") {
      throw new Error(`Generator ${this.pid}: ${event.message}`);
    }
    if (event.event !== kind) {
      throw new Error(
        `Expected "${kind}" from the generator, got "${event.event}"`,
      );
    }
    return event as Extract<GenEvent, { event: K }>;
  }

  /**
   * Waits for the result event.
   *
   * @param timeoutMs How long to wait.
   * @returns The result, cast to the type the caller expects.
   */
  async result<R extends GenResult>(timeoutMs = 120_000): Promise<R> {
    return (await this.expect("result", timeoutMs)).result as R;
  }

  /** Tells the generator to take its next step. */
  async go(): Promise<void> {
    await this.#stdin.write(new TextEncoder().encode("go\n"));
  }

  /**
   * Closes its stdin and waits for it to exit; SIGKILLs it after `timeoutMs`.
   *
   * @param timeoutMs How long to wait.
   */
  async finish(timeoutMs = 20_000): Promise<void> {
    await this.#stdin.close().catch(() => {});
    const exited = await Promise.race([
      this.#child.status.then(() => true),
      delay(timeoutMs).then(() => false),
    ]);
    if (!exited) {
      signal(this.#child, "SIGKILL");
      await Promise.race([this.#child.status, delay(1000)]);
    }
  }
}
