import assert from "node:assert/strict";
import { closeSocket, connect, Inbox } from "./test_utils.ts";
import { VERSION } from "../src/version.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const decoder = new TextDecoder();

function wsecho(
  args: string[],
  env: Record<string, string> = {},
): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", "--allow-net", "--allow-env", MAIN, ...args],
    env: { NO_COLOR: "1", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
}

async function run(args: string[], env: Record<string, string> = {}) {
  const { code, stdout, stderr } = await wsecho(args, env).output();
  return {
    code,
    stdout: decoder.decode(stdout),
    stderr: decoder.decode(stderr),
  };
}

/**
 * Reads a running child's stderr until everything seen so far matches, for at
 * most five seconds.
 */
async function readUntil(
  lines: ReadableStreamDefaultReader<string>,
  pattern: RegExp,
  seen: string[],
): Promise<RegExpExecArray> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(new Error(`No ${pattern} within 5 s; saw:\n${seen.join("")}`)),
      5_000,
    );
  });
  try {
    while (true) {
      const match = pattern.exec(seen.join(""));
      if (match) return match;
      const { value, done } = await Promise.race([lines.read(), timeout]);
      if (done) {
        throw new Error(
          `Stream ended before ${pattern}; saw:\n${seen.join("")}`,
        );
      }
      seen.push(value);
    }
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("wsecho --version and --help print and exit 0", async () => {
  const version = await run(["--version"]);
  assert.equal(version.code, 0);
  assert.equal(version.stdout, `wsecho ${VERSION}\n`);
  const help = await run(["-h"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Usage: wsecho \[options\]/);
  assert.match(help.stdout, /--max-message-size BYTES/);
});

Deno.test("wsecho exits 2 with one line for a bad flag or value", async (t) => {
  const cases: [string[], Record<string, string>, RegExp][] = [
    [["--bogus"], {}, /^Unknown option '--bogus'; see --help\n$/],
    [
      ["--port", "70000"],
      {},
      /^Invalid value for --port: "70000" is out of range/,
    ],
    [["--idle-timeout", "-1"], {}, /--idle-timeout/],
    [[], { WSECHO_PORT: "http" }, /^Invalid value for WSECHO_PORT: "http"/],
    [
      ["--cert", "/nonexistent.pem", "--key", "/nonexistent.pem"],
      {},
      /Cannot read --cert/,
    ],
  ];
  for (const [args, env, pattern] of cases) {
    await t.step(args.join(" ") || JSON.stringify(env), async () => {
      const { code, stdout, stderr } = await run(args, env);
      assert.equal(code, 2);
      assert.equal(stdout, "");
      assert.match(stderr, pattern);
      assert.equal(stderr.trim().split("\n").length, 1, stderr);
    });
  }
});

Deno.test("wsecho exits 1 with one line when the port is in use", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { code, stderr } = await run([
    "--hostname",
    "127.0.0.1",
    "--port",
    `${listener.addr.port}`,
  ]);
  assert.equal(code, 1);
  assert.equal(
    stderr,
    `Cannot listen on 127.0.0.1:${listener.addr.port}: the port is in use\n`,
  );
});

Deno.test("wsecho serves, logs connections and exits 0 on SIGTERM after closing with 1001", async () => {
  const child = wsecho(["--hostname", "127.0.0.1", "--port", "0"], {
    WSECHO_WELCOME: "false",
  })
    .spawn();
  const lines = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  const seen: string[] = [];
  try {
    await child.stdout.cancel();
    const listening = await readUntil(
      lines,
      /listening on 127\.0\.0\.1:(\d+): (\S+)/,
      seen,
    );
    const port = listening[1];
    assert.equal(listening[2], `http://127.0.0.1:${port}/client`);
    const ws = await connect(`ws://127.0.0.1:${port}/ws`);
    const inbox = new Inbox(ws);
    ws.send("ping");
    assert.equal(
      await inbox.next(),
      "ping",
      "WSECHO_WELCOME=false turned the welcome off",
    );
    await readUntil(lines, /open [0-9a-f]{12} 127\.0\.0\.1/, seen);

    child.kill("SIGTERM");
    const closed = await inbox.closed;
    assert.equal(closed.code, 1001);
    await closeSocket(ws);
    await readUntil(
      lines,
      /close [0-9a-f]{12} 127\.0\.0\.1 code=1001 .*in=1 out=1/,
      seen,
    );
  } finally {
    const status = await child.status;
    await lines.cancel();
    assert.equal(status.code, 0, seen.join(""));
  }
  assert.doesNotMatch(
    seen.join(""),
    /message /,
    "no per-message logging by default",
  );
});

Deno.test("wsecho --verbose logs each message cut to 200 characters", async () => {
  const child = wsecho([
    "--hostname",
    "127.0.0.1",
    "--port",
    "0",
    "--verbose",
    "--no-welcome",
  ])
    .spawn();
  const lines = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  const seen: string[] = [];
  try {
    await child.stdout.cancel();
    const [, port] = await readUntil(
      lines,
      /listening on 127\.0\.0\.1:(\d+)/,
      seen,
    );
    const ws = await connect(`ws://127.0.0.1:${port}/ws`);
    const inbox = new Inbox(ws);
    ws.send("y".repeat(500));
    await inbox.next();
    ws.send(new Uint8Array(3));
    await inbox.next();
    await closeSocket(ws);
    const match = await readUntil(lines, /message [0-9a-f]{12} "(y*)…"/, seen);
    assert.equal(match[1]!.length, 200);
    await readUntil(lines, /message [0-9a-f]{12} <binary 3 bytes>/, seen);
  } finally {
    child.kill("SIGTERM");
    const status = await child.status;
    await lines.cancel();
    assert.equal(status.code, 0);
  }
});
