/**
 * The README's ways of starting the server, run as a person would: the
 * `start` task from a cold cache, stopped by its PID or its process group,
 * and the `dev` task stopped by Ctrl-C.
 */
import assert from "node:assert/strict";
import { childEnv, startWsecho } from "./wsecho_process.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const NPX = (() => {
  try {
    return new Deno.Command("npx", {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    })
      .outputSync().success;
  } catch {
    return false;
  }
})();

/** A process started in its own process group (`setsid`), as a shell job is. */
class GroupProcess implements AsyncDisposable {
  readonly #child: Deno.ChildProcess;
  readonly #reader: Promise<void>;
  stderr = "";
  #wake = () => {};

  constructor(args: string[], env: Record<string, string> = {}) {
    this.#child = new Deno.Command("setsid", {
      args,
      cwd: ROOT,
      env: childEnv({ NO_COLOR: "1", ...env }),
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const child = this.#child;
    this.#reader = (async () => {
      for await (
        const chunk of child.stderr.pipeThrough(new TextDecoderStream())
      ) {
        this.stderr += chunk;
        this.#wake();
      }
    })();
  }

  /** Waits until stderr matches, or fails after the timeout. */
  async waitFor(pattern: RegExp, timeoutMs = 60_000): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const match = pattern.exec(this.stderr);
      if (match !== null) return match;
      if (Date.now() > deadline) {
        throw new Error(`No ${pattern} in ${JSON.stringify(this.stderr)}`);
      }
      const { promise, resolve } = Promise.withResolvers<void>();
      this.#wake = resolve;
      const timer = setTimeout(resolve, 200);
      await promise;
      clearTimeout(timer);
    }
  }

  /** Signals the whole group, as a terminal's Ctrl-C or `kill -- -PGID` does. */
  signalGroup(signal: Deno.Signal): void {
    try {
      Deno.kill(-this.#child.pid, signal);
    } catch {
      // The group is gone.
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.signalGroup("SIGKILL");
    await this.#child.status;
    await this.#reader;
  }
}

async function refused(port: number): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.close();
    return false;
  } catch {
    return true;
  }
}

/** Waits up to 15 s for a port to stop accepting connections. */
async function closesSoon(port: number): Promise<boolean> {
  const deadline = Date.now() + 15_000;
  while (!await refused(port) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return await refused(port);
}

Deno.test("deno task start starts from an empty cache without fetching any package", async () => {
  const cache = await Deno.makeTempDir({ prefix: "wsecho_cold_cache_" });
  try {
    // An unreachable registry: a download attempt would fail the start.
    await using server = await startWsecho(
      [Deno.execPath(), "task", "start"],
      ["--hostname", "127.0.0.1", "--port", "0"],
      {
        cwd: ROOT,
        env: { DENO_DIR: cache, NPM_CONFIG_REGISTRY: "http://127.0.0.1:9/" },
        timeoutMs: 60_000,
      },
    );
    assert.doesNotMatch(server.stderr, /Download/);
    const response = await fetch(`${server.http}/healthz`);
    assert.equal(response.status, 200);
    await response.body?.cancel();
  } finally {
    await Deno.remove(cache, { recursive: true });
  }
});

Deno.test("deno task start: SIGTERM to the task's PID shuts the server down gracefully", async () => {
  const server = await startWsecho(
    [Deno.execPath(), "task", "start"],
    ["--hostname", "127.0.0.1", "--port", "0"],
    { cwd: ROOT, timeoutMs: 60_000 },
  );
  const { code, stderr } = await server.stop();
  assert.equal(code, 0);
  assert.equal(stderr.match(/shutting down/g)?.length, 1, stderr);
  assert.ok(await refused(server.port), "the port still accepts connections");
});

Deno.test({
  name:
    "npx -y deno@2.9.6 task start in its own process group stops on SIGTERM to the group",
  ignore: !NPX,
  async fn() {
    await using job = new GroupProcess([
      "npx",
      "-y",
      "deno@2.9.6",
      "task",
      "start",
      "--hostname",
      "127.0.0.1",
      "--port",
      "0",
    ]);
    const port = Number(
      (await job.waitFor(/listening on 127\.0\.0\.1:(\d+)/))[1],
    );
    job.signalGroup("SIGTERM");
    await job.waitFor(/shutting down/);
    assert.ok(await closesSoon(port), "the server outlived its process group");
  },
});

Deno.test("deno task dev: one Ctrl-C says shutting down once", async () => {
  await using job = new GroupProcess([
    Deno.execPath(),
    "task",
    "dev",
    "--hostname",
    "127.0.0.1",
    "--port",
    "0",
  ]);
  const port = Number(
    (await job.waitFor(/listening on 127\.0\.0\.1:(\d+)/))[1],
  );
  // A terminal's Ctrl-C signals the whole foreground group.
  job.signalGroup("SIGINT");
  await job.waitFor(/shutting down/);
  assert.ok(await closesSoon(port), "the server outlived Ctrl-C");
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(job.stderr.match(/shutting down/g)?.length, 1, job.stderr);
});
