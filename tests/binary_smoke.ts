/**
 * Black-box smoke test of a wsecho program: a compiled executable, or a
 * `.ts`/`.js` entry point run with `deno run` and the server's permissions.
 *
 * ```sh
 * deno task smoke -- dist/wsecho     # a compiled executable
 * deno task smoke -- main.ts         # the source, as CI runs it without a denort
 * ```
 *
 * It starts the program on a free loopback port, fetches `/client` and
 * `/healthz`, echoes a text and a binary message over a WebSocket, checks
 * `--version` and `--help`, and stops it with SIGTERM, expecting exit 0. It
 * prints PASS, FAIL or SKIP per check and exits 1 when any check failed.
 *
 * On Windows there is no SIGTERM to send: the program is killed instead and
 * the graceful-shutdown check is skipped (the server stops gracefully on
 * Ctrl+C there).
 *
 * Not a test file (no `_test` suffix); `tests/smoke_test.ts` runs it.
 *
 * @module
 */
import { extname, resolve } from "node:path";
import denoJson from "../deno.json" with { type: "json" };
import {
  permissionFlags,
  SERVER_PERMISSIONS,
} from "../tools/server_permissions.ts";
import { runOnce, startWsecho, type WsechoProcess } from "./wsecho_process.ts";

/** The outcome of one check. */
export interface SmokeCheck {
  /** What was checked. */
  name: string;
  /** `"pass"`, `"fail"` or `"skip"`. */
  status: "pass" | "fail" | "skip";
  /** Why it failed or was skipped. */
  detail: string;
}

/** Options of {@linkcode runSmoke}. */
export interface SmokeOptions {
  /**
   * Working directory of the program.
   *
   * @default {Deno.cwd()}
   */
  cwd?: string;
  /**
   * Environment variables for the program (wsecho's own are removed first).
   *
   * @default {{}}
   */
  env?: Record<string, string>;
  /**
   * The version `--version` and `/healthz` must report.
   *
   * @default {the version in deno.json}
   */
  version?: string;
  /**
   * Receives each check as soon as it is done.
   *
   * @default {() => {}}
   */
  onCheck?: (check: SmokeCheck) => void;
}

const STEP_TIMEOUT_MS = 5_000;

/**
 * Returns the command that runs a wsecho program: the executable itself, or
 * `deno run --no-prompt` with the server's permissions for a script.
 *
 * @param target A path to an executable, or to a `.ts` or `.js` entry point.
 * @returns The program and its leading arguments.
 */
export function smokeCommand(target: string): string[] {
  const path = resolve(target);
  if ([".ts", ".js", ".mjs"].includes(extname(path))) {
    return [
      Deno.execPath(),
      "run",
      "--no-prompt",
      ...permissionFlags(SERVER_PERMISSIONS),
      path,
    ];
  }
  return [path];
}

/**
 * Runs every check against a program. Each check is bounded in time, and the
 * server is stopped whatever happens.
 *
 * @param command The program and its leading arguments, as from {@linkcode smokeCommand}.
 * @param options Directory, environment and expected version.
 * @returns The checks, in order.
 */
export async function runSmoke(
  command: readonly string[],
  options: SmokeOptions = {},
): Promise<SmokeCheck[]> {
  const {
    cwd,
    env = {},
    version = denoJson.version,
    onCheck = () => {},
  } = options;
  const checks: SmokeCheck[] = [];
  const where = { env, ...(cwd === undefined ? {} : { cwd }) };

  async function check(
    name: string,
    body: () => Promise<string | void> | string | void,
  ): Promise<boolean> {
    let result: SmokeCheck;
    try {
      const skipped = await body();
      result = skipped === undefined
        ? { name, status: "pass", detail: "" }
        : { name, status: "skip", detail: skipped };
    } catch (error) {
      result = {
        name,
        status: "fail",
        detail: error instanceof Error ? error.message : String(error),
      };
    }
    checks.push(result);
    onCheck(result);
    return result.status !== "fail";
  }

  const expected = `wsecho ${version}`;
  await check(`--version prints "${expected}"`, async () => {
    const { code, stdout, stderr } = await runOnce(command, ["--version"], {
      ...where,
      timeoutMs: 15_000,
    });
    expect(code === 0, `exit ${code ?? "timeout"}, stderr ${q(stderr)}`);
    expect(stdout.trim() === expected, `printed ${q(stdout.trim())}`);
    expect(stderr === "", `stderr ${q(stderr)} (a permission prompt?)`);
  });
  await check("--help prints the usage", async () => {
    const { code, stdout, stderr } = await runOnce(command, ["--help"], {
      ...where,
      timeoutMs: 15_000,
    });
    expect(code === 0, `exit ${code ?? "timeout"}, stderr ${q(stderr)}`);
    expect(stdout.includes("Usage: wsecho"), `printed ${q(stdout)}`);
    expect(stderr === "", `stderr ${q(stderr)} (a permission prompt?)`);
  });

  let server: WsechoProcess | undefined;
  const started = await check(
    "starts on a free port and prints its listening line first",
    async () => {
      server = await startWsecho(
        command,
        ["--port", "0", "--hostname", "127.0.0.1"],
        where,
      );
      const first = server.stderr.split("\n")[0] ?? "";
      expect(
        first.startsWith(`${expected} listening on 127.0.0.1:`),
        `first line ${q(first)}`,
      );
    },
  );
  if (!started || server === undefined) return checks;

  try {
    const { http, ws } = server;
    await check("GET /client serves the embedded playground", async () => {
      const response = await fetch(`${http}/client`, {
        signal: AbortSignal.timeout(STEP_TIMEOUT_MS),
      });
      const body = await response.text();
      expect(response.status === 200, `status ${response.status}`);
      expect(
        response.headers.get("content-type")?.startsWith("text/html") === true,
        `content-type ${q(response.headers.get("content-type"))}`,
      );
      expect(body.includes("<title>wsecho"), "no <title>wsecho in the page");
    });
    await check(`GET /healthz says ok and ${version}`, async () => {
      const response = await fetch(`${http}/healthz`, {
        signal: AbortSignal.timeout(STEP_TIMEOUT_MS),
      });
      const body = await response.json();
      expect(response.status === 200, `status ${response.status}`);
      expect(body.status === "ok", `status ${q(body.status)}`);
      expect(body.version === version, `version ${q(body.version)}`);
    });
    await check(
      "WebSocket welcomes, then echoes text and binary",
      () => echoCheck(ws, expected),
    );
  } finally {
    const { code, stderr, graceful } = await server.stop();
    await check("SIGTERM shuts down gracefully with exit 0", () => {
      if (!graceful) {
        return "Windows has no SIGTERM: the process was killed " +
          "(it shuts down gracefully on Ctrl+C)";
      }
      expect(code === 0, `exit ${code ?? "none: killed after 10 s"}`);
      expect(stderr.includes("shutting down"), `stderr ${q(stderr)}`);
    });
  }
  return checks;
}

/** Opens a WebSocket, checks the welcome and two echoes, and closes it cleanly. */
async function echoCheck(url: string, expected: string): Promise<void> {
  const socket = new WebSocket(url);
  socket.binaryType = "arraybuffer";
  const queue: (string | ArrayBuffer)[] = [];
  let notify = () => {};
  const closed = Promise.withResolvers<CloseEvent>();
  socket.addEventListener("message", (event) => {
    queue.push(event.data);
    notify();
  });
  socket.addEventListener("close", (event) => {
    closed.resolve(event);
    notify();
  });
  socket.addEventListener("error", () => notify());

  async function next(what: string): Promise<string | ArrayBuffer> {
    const deadline = Date.now() + STEP_TIMEOUT_MS;
    while (queue.length === 0) {
      expect(socket.readyState <= WebSocket.OPEN, `closed before ${what}`);
      const remaining = deadline - Date.now();
      expect(remaining > 0, `no ${what} within ${STEP_TIMEOUT_MS} ms`);
      const { promise, resolve } = Promise.withResolvers<void>();
      notify = resolve;
      const timer = setTimeout(resolve, remaining);
      await promise;
      clearTimeout(timer);
    }
    return queue.shift()!;
  }

  try {
    const welcome = await next("welcome");
    expect(typeof welcome === "string", "the welcome is binary");
    const parsed = JSON.parse(welcome as string);
    expect(
      parsed.type === "welcome" &&
        `${parsed.server} ${parsed.version}` === expected,
      `welcome ${q(welcome)}`,
    );

    const text = "smoke test ✓ \u{1F680}";
    socket.send(text);
    const textEcho = await next("text echo");
    expect(textEcho === text, `text echo ${q(textEcho)}`);

    const bytes = new Uint8Array([0, 1, 2, 127, 128, 254, 255]);
    socket.send(bytes);
    const binaryEcho = await next("binary echo");
    expect(
      binaryEcho instanceof ArrayBuffer &&
        new Uint8Array(binaryEcho).join() === bytes.join(),
      `binary echo ${
        binaryEcho instanceof ArrayBuffer
          ? `[${new Uint8Array(binaryEcho).join()}]`
          : q(binaryEcho)
      }`,
    );
  } finally {
    if (socket.readyState !== WebSocket.CLOSED) {
      if (socket.readyState !== WebSocket.CLOSING) socket.close(1000);
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        closed.promise,
        new Promise((resolve) => timer = setTimeout(resolve, STEP_TIMEOUT_MS)),
      ]);
      clearTimeout(timer);
    }
  }
  expect(
    socket.readyState === WebSocket.CLOSED,
    `no close within ${STEP_TIMEOUT_MS} ms`,
  );
  const { code } = await closed.promise;
  expect(code === 1000, `closed with ${code}, not 1000`);
}

function expect(condition: boolean, detail: string): asserts condition {
  if (!condition) throw new Error(detail);
}

function q(value: unknown): string {
  const text = typeof value === "string" ? value : String(value);
  return JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}…` : text);
}

/**
 * Runs the command line: `binary_smoke.ts PATH`.
 *
 * @param args The arguments after the script name.
 * @returns The exit status: 0 when every check passed, 1 when one failed, 2 for bad usage.
 */
export async function main(args: readonly string[]): Promise<number> {
  const rest = args[0] === "--" ? args.slice(1) : args;
  if (rest.length !== 1 || rest[0]!.startsWith("-")) {
    if (rest[0] === "--help" || rest[0] === "-h") {
      print(
        "Usage: deno task smoke -- PATH\n\nRuns black-box checks against a wsecho " +
          "executable, or a .ts/.js entry point run with deno run.",
      );
      return 0;
    }
    print("Usage: deno task smoke -- PATH (a wsecho executable or main.ts)");
    return 2;
  }
  const target = rest[0]!;
  try {
    await Deno.stat(target);
  } catch (error) {
    print(`FAIL ${target} exists: ${(error as Error).message}`);
    print(`smoke: FAIL, ${target} cannot be run`);
    return 1;
  }
  const checks = await runSmoke(smokeCommand(target), {
    onCheck: ({ name, status, detail }) =>
      print(
        `${status.toUpperCase().padEnd(4)} ${name}${
          detail === "" ? "" : `: ${detail}`
        }`,
      ),
  });
  const failed = checks.filter((c) => c.status === "fail").length;
  print(
    failed === 0
      ? `smoke: PASS, ${checks.length} checks on ${target}`
      : `smoke: FAIL, ${failed} of ${checks.length} checks failed on ${target}`,
  );
  return failed === 0 ? 0 : 1;
}

function print(line: string): void {
  // deno-lint-ignore no-console
  console.log(line);
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
