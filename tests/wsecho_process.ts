/**
 * Runs a wsecho program (an executable, or `deno run main.ts`) as a child
 * process, black-box: through its flags, its stderr and its sockets only.
 * Not a test file (no `_test` suffix).
 *
 * @module
 */
import { ENV_VARS } from "../src/config/options.ts";

/** What a finished run printed. */
export interface RunOutput {
  /** The exit code; `null` when it was killed for taking too long. */
  code: number | null;
  /** Everything printed on stdout. */
  stdout: string;
  /** Everything printed on stderr. */
  stderr: string;
}

/** Options of {@linkcode runOnce} and {@linkcode WsechoProcess.start}. */
export interface ProcessOptions {
  /**
   * Environment variables for the child, on top of this process's own minus
   * the ones wsecho reads ({@linkcode ENV_VARS}), so a stray `PORT` cannot
   * change the result.
   *
   * @default {{}}
   */
  env?: Record<string, string>;
  /**
   * Variables of this process to leave out of the child's environment.
   *
   * @default {[]}
   */
  unset?: readonly string[];
  /**
   * Working directory of the child.
   *
   * @default {Deno.cwd()}
   */
  cwd?: string;
  /**
   * Milliseconds to wait: for the whole run, or for the listening line.
   *
   * @default {15_000}
   */
  timeoutMs?: number;
}

/**
 * Builds the child environment: this process's, without wsecho's own variables.
 *
 * @param extra Variables to add.
 * @param unset More variables to leave out.
 * @returns The environment.
 */
export function childEnv(
  extra: Record<string, string> = {},
  unset: readonly string[] = [],
): Record<string, string> {
  const env = Deno.env.toObject();
  for (const name of [...ENV_VARS, ...unset]) delete env[name];
  return { ...env, NO_COLOR: "1", ...extra };
}

/** Spawns a child with stderr piped and the environment of {@linkcode childEnv}. */
function spawn(
  command: readonly string[],
  args: readonly string[],
  options: ProcessOptions,
  stdout: "piped" | "null",
): Deno.ChildProcess {
  const { env = {}, unset = [], cwd } = options;
  const [program, ...leading] = command;
  if (program === undefined) throw new TypeError("The command is empty");
  return new Deno.Command(program, {
    args: [...leading, ...args],
    env: childEnv(env, unset),
    clearEnv: true,
    ...(cwd === undefined ? {} : { cwd }),
    stdin: "null",
    stdout,
    stderr: "piped",
  }).spawn();
}

/**
 * Runs a command to the end, killing it after the timeout.
 *
 * @param command The program and its leading arguments.
 * @param args More arguments.
 * @param options Environment, directory and timeout.
 * @returns The exit code and the output.
 */
export async function runOnce(
  command: readonly string[],
  args: readonly string[],
  options: ProcessOptions = {},
): Promise<RunOutput> {
  const { timeoutMs = 15_000 } = options;
  const child = spawn(command, args, options, "piped");
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, timeoutMs);
  try {
    const { code, stdout, stderr } = await child.output();
    const decoder = new TextDecoder();
    return {
      code: timedOut ? null : code,
      stdout: decoder.decode(stdout),
      stderr: decoder.decode(stderr),
    };
  } finally {
    clearTimeout(timer);
  }
}

/** How a stopped server ended. */
export interface StopResult {
  /** The exit code; `null` when it had to be killed. */
  code: number | null;
  /** Everything it printed on stderr. */
  stderr: string;
  /** `true` when it was stopped gracefully with SIGTERM; `false` on Windows. */
  graceful: boolean;
}

const LISTENING = /listening on (\S+):(\d+): /;

/**
 * Starts a wsecho server and waits for its listening line.
 *
 * @param command The program and its leading arguments.
 * @param args More arguments, such as `["--port", "0"]`.
 * @param options Environment, directory and how long to wait.
 * @returns The running server.
 * @throws {Error} When it exits or prints no listening line in time; the message holds its stderr.
 */
export async function startWsecho(
  command: readonly string[],
  args: readonly string[],
  options: ProcessOptions = {},
): Promise<WsechoProcess> {
  const { timeoutMs = 15_000 } = options;
  const child = spawn(command, args, options, "null");
  const stderr = { text: "" };
  let wake = () => {};
  let ended = false;
  const reader = (async () => {
    for await (
      const chunk of child.stderr.pipeThrough(new TextDecoderStream())
    ) {
      stderr.text += chunk;
      wake();
    }
    ended = true;
    wake();
  })();

  let timedOut = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      timedOut = true;
      resolve();
    }, timeoutMs);
  });
  try {
    while (true) {
      const match = LISTENING.exec(stderr.text);
      if (match !== null) {
        return new WsechoProcess(child, stderr, reader, {
          hostname: match[1]!,
          port: Number(match[2]),
        });
      }
      if (ended || timedOut) break;
      const { promise, resolve } = Promise.withResolvers<void>();
      wake = resolve;
      await Promise.race([promise, deadline]);
    }
  } finally {
    clearTimeout(timer);
  }
  try {
    child.kill("SIGKILL");
  } catch {
    // Already exited.
  }
  const status = await child.status;
  await reader;
  throw new Error(
    ended
      ? `Exited with code ${status.code} before listening; stderr: ${
        JSON.stringify(stderr.text)
      }`
      : `No listening line within ${timeoutMs} ms; stderr: ${
        JSON.stringify(stderr.text)
      }`,
  );
}

/**
 * A running wsecho server in a child process, made by
 * {@linkcode startWsecho}. Stop it with {@linkcode WsechoProcess.stop} or
 * `await using`.
 */
export class WsechoProcess implements AsyncDisposable {
  /** The port it listens on, from its listening line. */
  readonly port: number;
  /** The address it reported, such as `127.0.0.1`. */
  readonly hostname: string;
  #child: Deno.ChildProcess;
  #stderr: { text: string };
  #reader: Promise<void>;
  #stopped: Promise<StopResult> | undefined;

  /**
   * Wraps a child that has printed its listening line; use {@linkcode startWsecho}.
   *
   * @param child The child process.
   * @param stderr Its stderr so far, kept up to date by `reader`.
   * @param reader Reads stderr to the end.
   * @param addr The address from the listening line.
   */
  constructor(
    child: Deno.ChildProcess,
    stderr: { text: string },
    reader: Promise<void>,
    addr: { hostname: string; port: number },
  ) {
    this.#child = child;
    this.#stderr = stderr;
    this.#reader = reader;
    this.hostname = addr.hostname;
    this.port = addr.port;
  }

  /** `http://HOST:PORT` for 127.0.0.1 or the reported address. */
  get http(): string {
    return `http://${this.#host()}:${this.port}`;
  }

  /** `ws://HOST:PORT/ws`. */
  get ws(): string {
    return `ws://${this.#host()}:${this.port}/ws`;
  }

  /** What it has printed on stderr so far. */
  get stderr(): string {
    return this.#stderr.text;
  }

  /**
   * Stops the server: SIGTERM and a wait for it to exit on its own, or on
   * Windows, which has no SIGTERM, a forced kill. Kills it if it has not
   * exited within the timeout. Safe to call twice.
   *
   * @param timeoutMs How long to wait for a graceful exit.
   * @returns The exit code and its stderr.
   */
  stop(timeoutMs = 10_000): Promise<StopResult> {
    this.#stopped ??= this.#stop(timeoutMs);
    return this.#stopped;
  }

  async #stop(timeoutMs: number): Promise<StopResult> {
    const graceful = Deno.build.os !== "windows";
    try {
      this.#child.kill(graceful ? "SIGTERM" : "SIGKILL");
    } catch {
      // Already exited.
    }
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      try {
        this.#child.kill("SIGKILL");
      } catch {
        // Exited meanwhile.
      }
    }, timeoutMs);
    try {
      const status = await this.#child.status;
      await this.#reader;
      return {
        code: killed ? null : status.code,
        stderr: this.#stderr.text,
        graceful,
      };
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Sends a signal now, such as `SIGKILL` for a crash that cleans nothing
   * up; {@linkcode WsechoProcess.stop} still waits for the exit.
   *
   * @param signal The signal.
   */
  kill(signal: Deno.Signal): void {
    try {
      this.#child.kill(signal);
    } catch {
      // Already exited.
    }
  }

  /** Stops the server. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  #host(): string {
    const host = this.hostname === "0.0.0.0" || this.hostname === "::"
      ? "127.0.0.1"
      : this.hostname;
    return host.includes(":") ? `[${host}]` : host;
  }
}

/**
 * Picks a free loopback TCP port by binding port 0 and closing it again.
 *
 * @returns The port.
 */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}
