import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { closeSocket, connect, Inbox, waitFor } from "./test_utils.ts";
import { smokeCommand } from "./binary_smoke.ts";
import { runOnce, startWsecho } from "./wsecho_process.ts";
import { VERSION } from "../src/config/version.ts";

/** `deno run --no-prompt` main.ts with exactly the server's permissions. */
const WSECHO = smokeCommand(
  fileURLToPath(new URL("../main.ts", import.meta.url)),
);
const LOOPBACK = ["--hostname", "127.0.0.1", "--port", "0"];

Deno.test("wsecho --version and --help print and exit 0", async () => {
  const version = await runOnce(WSECHO, ["--version"]);
  assert.equal(version.code, 0);
  assert.equal(version.stdout, `wsecho ${VERSION}\n`);
  const help = await runOnce(WSECHO, ["-h"]);
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
      const { code, stdout, stderr } = await runOnce(WSECHO, args, { env });
      assert.equal(code, 2);
      assert.equal(stdout, "");
      assert.match(stderr, pattern);
      assert.equal(stderr.trim().split("\n").length, 1, stderr);
    });
  }
});

Deno.test("wsecho exits 1 with one line when the port is in use", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  const { code, stderr } = await runOnce(WSECHO, [
    "--hostname",
    "127.0.0.1",
    "--port",
    `${port}`,
  ]);
  assert.equal(code, 1);
  assert.equal(
    stderr,
    `Cannot listen on 127.0.0.1:${port}: the port is in use\n`,
  );
});

Deno.test("wsecho exits 1 with one line when it cannot listen", async (t) => {
  const junk = (kind: string) =>
    `-----BEGIN ${kind}-----\nAAAA\n-----END ${kind}-----`;
  const cases: [string, string[], RegExp][] = [
    [
      "unknown host",
      ["--hostname", "no-such-host.invalid", "--port", "0"],
      /^Cannot listen on no-such-host\.invalid:0: .+\n$/,
    ],
    [
      "unusable TLS key",
      [
        ...LOOPBACK,
        "--cert",
        junk("CERTIFICATE"),
        "--key",
        junk("PRIVATE KEY"),
      ],
      /^Cannot listen on 127\.0\.0\.1:0: .*key.*\n$/,
    ],
  ];
  for (const [name, args, pattern] of cases) {
    await t.step(name, async () => {
      const { code, stderr } = await runOnce(WSECHO, args);
      assert.equal(code, 1);
      assert.match(stderr, pattern);
    });
  }
});

Deno.test("wsecho serves, logs connections and exits 0 on SIGTERM after closing with 1001", async () => {
  await using server = await startWsecho(WSECHO, LOOPBACK, {
    env: { WSECHO_WELCOME: "false" },
  });
  assert.match(
    server.stderr,
    new RegExp(
      `listening on 127\\.0\\.0\\.1:${server.port}: ` +
        `http://127\\.0\\.0\\.1:${server.port}/client \\(playground\\), ` +
        `ws://127\\.0\\.0\\.1:${server.port}/ws \\(WebSocket\\)`,
    ),
  );
  const ws = await connect(server.ws);
  const inbox = new Inbox(ws);
  ws.send("ping");
  assert.equal(
    await inbox.next(),
    "ping",
    "WSECHO_WELCOME=false turned the welcome off",
  );
  await waitFor(
    () => /open [0-9a-f]{12} 127\.0\.0\.1/.test(server.stderr),
    "the open line",
  );

  const stopped = server.stop();
  assert.equal((await inbox.closed).code, 1001);
  await closeSocket(ws);
  const { code, stderr } = await stopped;
  assert.equal(code, 0, stderr);
  assert.match(stderr, /shutting down: closing connections with 1001/);
  assert.match(
    stderr,
    /close [0-9a-f]{12} 127\.0\.0\.1 closed_by=server code=1001 reason="server shutting down" peer_code=1001 in=1 out=1/,
  );
  assert.doesNotMatch(stderr, /message /, "no per-message logging by default");
});

Deno.test("wsecho --verbose logs each message cut to 200 characters", async () => {
  await using server = await startWsecho(WSECHO, [
    ...LOOPBACK,
    "--verbose",
    "--no-welcome",
  ]);
  const ws = await connect(server.ws);
  const inbox = new Inbox(ws);
  ws.send("y".repeat(500));
  await inbox.next();
  ws.send(new Uint8Array(3));
  await inbox.next();
  await closeSocket(ws);
  const { code, stderr } = await server.stop();
  assert.equal(code, 0);
  const match = /message [0-9a-f]{12} "(y*)…"/.exec(stderr);
  assert.equal(match?.[1]?.length, 200, stderr);
  assert.match(stderr, /message [0-9a-f]{12} <binary 3 bytes>/);
});
