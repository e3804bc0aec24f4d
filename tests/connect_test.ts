/**
 * Tests of `wsecho connect`: the session engine (`src/client/session.ts`)
 * and the subcommand (`src/cli/connect.ts`) over real sockets, against
 * wsecho, the benchmark's baseline echo and servers that refuse, close with
 * chosen codes or drop the connection; plus pure tests of its flag parsing,
 * exit statuses and output lines.
 *
 * @module
 */
import assert from "node:assert/strict";
import { runSession, type SessionEvent } from "../src/client/session.ts";
import {
  CONNECT_HELP,
  connectExitStatus,
  describeClose,
  describeFailure,
  formatMessage,
  parseConnectArgs,
} from "../src/cli/connect.ts";
import { UsageError } from "../src/cli/_flags.ts";
import { startServer } from "./test_utils.ts";
import { freePort } from "./wsecho_process.ts";
import {
  runWsecho,
  startBaseline,
  startDroppingServer,
  startLocalServer,
} from "./client_servers.ts";

function collect(): { events: SessionEvent[]; texts: () => string[] } {
  const events: SessionEvent[] = [];
  return {
    events,
    texts: () =>
      events.flatMap((event) =>
        event.type === "message" && typeof event.data === "string"
          ? [event.data]
          : []
      ),
  };
}

Deno.test("parseConnectArgs() reads every flag", () => {
  const command = parseConnectArgs([
    "ws://h/ws",
    "--protocol",
    "wsecho.v1",
    "--protocol",
    "x",
    "-H",
    "Authorization: Bearer T",
    "--origin",
    "https://o.example",
    "--send",
    "a",
    "-s",
    "-1",
    "-n",
    "3",
    "--timeout",
    "500",
    "--close",
    "4000:done: really",
    "--binary-as",
    "base64",
    "-t",
  ]);
  assert.deepEqual(command, {
    url: "ws://h/ws",
    protocols: ["wsecho.v1", "x"],
    headers: { Authorization: "Bearer T", Origin: "https://o.example" },
    send: ["a", "-1"],
    count: 3,
    timeoutMs: 500,
    closeCode: 4000,
    closeReason: "done: really",
    binaryAs: "base64",
    timestamps: true,
  });
  assert.equal(parseConnectArgs(["--help"]), "help");
  const plain = parseConnectArgs(["http://h:1/"]);
  assert.ok(plain !== "help");
  assert.equal(plain.url, "ws://h:1/");
  assert.equal(plain.send, undefined);
  assert.equal(plain.closeCode, 1000);
});

Deno.test("parseConnectArgs() refuses bad flags with one line", () => {
  const cases: Array<[string[], RegExp]> = [
    [["ws://h/", "--bogus"], /^wsecho connect: Unknown option '--bogus'/],
    [[], /^wsecho connect: missing URL/],
    [["ws://h/", "ws://i/"], /one URL only/],
    [["ftp://h/"], /is not a ws:\/\/ or wss:\/\/ URL/],
    [["ws://h/", "--count", "x"], /--count: "x" is not a whole number/],
    [["ws://h/", "--timeout", "-5"], /--timeout: "-5" is not a whole number/],
    [["ws://h/", "--close", "1005"], /--close: "1005" needs a code of 1000/],
    [["ws://h/", "--close", "4000:" + "r".repeat(124)], /over 123 bytes/],
    [["ws://h/", "--binary-as", "raw"], /"raw" is not hex or base64/],
    [["ws://h/", "-H", "no colon"], /-H: "no colon" is not "Name: value"/],
  ];
  for (const [args, pattern] of cases) {
    assert.throws(() => parseConnectArgs(args), (error: unknown) => {
      assert.ok(error instanceof UsageError);
      assert.match(error.message, pattern);
      assert.ok(!error.message.includes("\n"), error.message);
      return true;
    });
  }
});

Deno.test("connectExitStatus() follows the issue's rules", () => {
  const closed = (code: number, by: "client" | "server" | "network") => ({
    outcome: "closed" as const,
    close: { code, meaning: "", reason: "", by },
    received: 0,
    sent: 0,
    countReached: false,
  });
  assert.equal(connectExitStatus(closed(1000, "server")), 0);
  assert.equal(connectExitStatus(closed(1001, "server")), 0);
  assert.equal(connectExitStatus(closed(1000, "client")), 0);
  assert.equal(connectExitStatus(closed(4000, "client")), 0);
  assert.equal(connectExitStatus(closed(4000, "server")), 1);
  assert.equal(connectExitStatus(closed(1011, "server")), 1);
  assert.equal(connectExitStatus(closed(1006, "network")), 1);
  assert.equal(connectExitStatus(closed(1006, "client")), 1);
  assert.equal(
    connectExitStatus({ ...closed(4000, "server"), countReached: true }),
    0,
  );
  assert.equal(
    connectExitStatus({
      outcome: "timeout",
      timeoutMs: 1,
      received: 0,
      sent: 0,
    }),
    1,
  );
});

Deno.test("formatMessage() prints text, hex, base64 and times", () => {
  const at = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
  const bytes = new Uint8Array([1, 2, 255]);
  const plain = { binaryAs: "hex" as const, timestamps: false };
  assert.equal(formatMessage({ type: "message", data: "hi", at }, plain), "hi");
  assert.equal(
    formatMessage({ type: "message", data: bytes, at }, plain),
    "0102ff",
  );
  assert.equal(
    formatMessage({ type: "message", data: bytes, at }, {
      binaryAs: "base64",
      timestamps: false,
    }),
    "AQL/",
  );
  assert.equal(
    formatMessage({ type: "message", data: "hi", at, rttMs: 0.5 }, {
      ...plain,
      timestamps: true,
    }),
    "03:04:05.678 (rtt 0.500 ms) hi",
  );
});

Deno.test("runSession() against wsecho: sends, counts and matches replies", async () => {
  await using server = startServer();
  const { events, texts } = collect();
  const result = await runSession(`${server.ws}?welcome=0`, {
    protocols: ["wsecho.v1"],
    send: ['{"type":"ping","id":7}', '{"type":"echo","id":8,"data":1}'],
    count: 2,
    timeoutMs: 15_000,
    onEvent: (event) => events.push(event),
  });
  assert.equal(result.outcome, "closed");
  assert.ok(result.outcome === "closed" && result.countReached);
  assert.equal(connectExitStatus(result), 0);
  const open = events.find((event) => event.type === "open");
  assert.ok(open?.type === "open" && open.protocol === "wsecho.v1");
  const [pong, echoed] = texts().map((text) => JSON.parse(text));
  assert.equal(pong.type, "pong");
  assert.equal(pong.id, 7);
  assert.deepEqual(echoed, { type: "echo", id: 8, data: 1 });
  const replies = events.filter((event) =>
    event.type === "message" && event.rttMs !== undefined
  );
  assert.equal(replies.length, 2, "both replies matched by id");
});

Deno.test("runSession() --count 1 against wsecho gets the welcome and stops", async () => {
  await using server = startServer();
  const { events, texts } = collect();
  const result = await runSession(server.ws, {
    count: 1,
    input: (async function* () {})(),
    timeoutMs: 15_000,
    onEvent: (event) => events.push(event),
  });
  assert.ok(result.outcome === "closed" && result.countReached);
  assert.equal(texts().length, 1);
  assert.equal(JSON.parse(texts()[0]!).type, "welcome");
});

Deno.test("runSession() sends headers, Origin and subprotocols, and closes with --close", async () => {
  await using server = startLocalServer();
  const result = await runSession(`${server.ws}/x`, {
    protocols: ["p1", "p2"],
    headers: { "X-Test": "yes", Origin: "https://o.example" },
    send: ["one"],
    count: 1,
    closeCode: 4001,
    closeReason: "done",
  });
  assert.ok(result.outcome === "closed");
  assert.deepEqual(result.close, {
    code: 4001,
    meaning: "application-defined (4000-4999, private use)",
    reason: "done",
    by: "client",
  });
  assert.equal(connectExitStatus(result), 0);
  const [request] = server.requests;
  assert.equal(request?.headers.get("x-test"), "yes");
  assert.equal(request?.headers.get("origin"), "https://o.example");
  assert.equal(request?.headers.get("sec-websocket-protocol"), "p1, p2");
  assert.equal(server.closes[0]?.code, 4001);
  assert.equal(server.closes[0]?.reason, "done");
});

for (
  const [code, reason, meaning] of [
    [4000, "bye", "application-defined (4000-4999, private use)"],
    [1011, "boom", "internal error"],
  ] as const
) {
  Deno.test(`runSession() shows a server close with ${code} and decodes it`, async () => {
    await using server = startLocalServer((socket) => {
      socket.onopen = () => socket.close(code, reason);
    });
    const result = await runSession(server.ws, {
      input: (async function* () {})(),
      count: 1,
    });
    assert.ok(result.outcome === "closed");
    assert.deepEqual(result.close, { code, meaning, reason, by: "server" });
    assert.equal(connectExitStatus(result), 1);
    assert.equal(
      describeClose(result.close),
      `closed by the server: ${code} (${meaning}), reason "${reason}"`,
    );
  });
}

Deno.test("runSession() reports a dropped connection as 1006", async () => {
  await using server = startDroppingServer();
  const result = await runSession(server.ws, { count: 1, timeoutMs: 15_000 });
  assert.ok(result.outcome === "closed");
  assert.equal(result.close.code, 1006);
  assert.equal(result.close.by, "network");
  assert.equal(connectExitStatus(result), 1);
  assert.match(
    describeClose(result.close),
    /^connection dropped: 1006 \(abnormal closure/,
  );
});

Deno.test("runSession() shows a refused handshake's status and body line", async () => {
  await using server = startLocalServer();
  const forbidden = await runSession(`${server.ws}/403`, { send: ["x"] });
  assert.equal(forbidden.outcome, "failed");
  assert.ok(forbidden.outcome === "failed");
  assert.match(forbidden.error, /Invalid status code: 403/);
  assert.equal(
    describeFailure(`${server.ws}/403`, forbidden.error, forbidden.probe),
    "handshake refused: HTTP 403 Forbidden: Forbidden: origin not allowed",
  );
  const busy = await runSession(`${server.ws}/503`, { send: ["x"] });
  assert.ok(busy.outcome === "failed");
  assert.equal(
    describeFailure(`${server.ws}/503`, busy.error, busy.probe),
    "handshake refused: HTTP 503 Service Unavailable: " +
      "Too many connections: the limit is 1 (Retry-After: 5)",
  );
  assert.equal(connectExitStatus(busy), 1);
});

Deno.test("runSession() shows wsecho's own 503 at its connection limit", async () => {
  await using server = startServer({ maxConnections: 1 });
  const holder = new WebSocket(`${server.ws}?welcome=0`);
  const opened = Promise.withResolvers<void>();
  const closed = Promise.withResolvers<void>();
  holder.onopen = () => opened.resolve();
  holder.onclose = () => closed.resolve();
  await opened.promise;
  try {
    const result = await runSession(server.ws, { send: ["x"] });
    assert.ok(result.outcome === "failed");
    assert.ok(result.probe.kind === "status");
    assert.equal(result.probe.status, 503);
    assert.ok(result.probe.retryAfter !== undefined);
    assert.match(
      describeFailure(server.ws, result.error, result.probe),
      /^handshake refused: HTTP 503 Service Unavailable: .+ \(Retry-After: \d+\)$/,
    );
  } finally {
    holder.close();
    await closed.promise;
  }
});

Deno.test("runSession() --timeout gives up on a silent server", async () => {
  await using server = startLocalServer(() => {});
  const started = performance.now();
  const result = await runSession(server.ws, {
    input: (async function* () {})(),
    count: 1,
    timeoutMs: 300,
  });
  assert.equal(result.outcome, "timeout");
  assert.equal(connectExitStatus(result), 1);
  assert.ok(performance.now() - started < 10_000);
});

Deno.test("wsecho connect through a pipe sends and receives exactly the script", async () => {
  await using server = startServer();
  const lines = ["hello", "", "ünïcödé ✓", '{"json":true}', "last"];
  const { code, stdout, stderr } = await runWsecho(
    ["connect", `${server.ws}?welcome=0`],
    lines.join("\n") + "\n",
  );
  assert.equal(code, 0, stderr);
  assert.equal(stdout, lines.join("\n") + "\n");
  assert.match(
    stderr,
    /^connected to ws:\/\/127\.0\.0\.1:\d+\/ws\?welcome=0 in /,
  );
  assert.match(stderr, /\nclosed by the client: 1000 \(normal closure\)\n$/);
});

Deno.test("wsecho connect against the baseline echo: --send, --count, --timestamps", async () => {
  await using baseline = await startBaseline();
  const { code, stdout, stderr } = await runWsecho([
    "connect",
    baseline.ws,
    "--send",
    "first",
    "--send",
    "second",
    "--count",
    "2",
    "--timeout",
    "20000",
    "-t",
  ]);
  assert.equal(code, 0, stderr);
  const got = stdout.trimEnd().split("\n");
  assert.equal(got.length, 2, stdout);
  assert.match(got[0]!, /^\d\d:\d\d:\d\d\.\d{3} \(rtt \d+\.\d{3} ms\) first$/);
  assert.match(got[1]!, /^\d\d:\d\d:\d\d\.\d{3} \(rtt \d+\.\d{3} ms\) second$/);
  assert.match(
    stderr,
    /closed by the client: 1000 \(normal closure\) after 2 messages/,
  );
});

Deno.test("wsecho connect: exit 1 with one line for a refusal, a close code and an unreachable host", async () => {
  await using server = startLocalServer((socket) => {
    socket.onopen = () => socket.close(1011, "boom");
  });
  const refused = await runWsecho([
    "connect",
    `${server.ws}/503`,
    "--send",
    "x",
  ]);
  assert.equal(refused.code, 1);
  assert.equal(refused.stdout, "");
  assert.equal(
    refused.stderr,
    "handshake refused: HTTP 503 Service Unavailable: " +
      "Too many connections: the limit is 1 (Retry-After: 5)\n",
  );
  const closed = await runWsecho(["connect", server.ws, "-n", "1"]);
  assert.equal(closed.code, 1);
  assert.match(
    closed.stderr,
    /\nclosed by the server: 1011 \(internal error\), reason "boom"\n$/,
  );
  const port = freePort();
  const unreachable = await runWsecho(["connect", `ws://127.0.0.1:${port}/`]);
  assert.equal(unreachable.code, 1);
  assert.match(
    unreachable.stderr,
    new RegExp(`^cannot reach 127\\.0\\.0\\.1:${port}: .*refused.*\\n$`, "i"),
  );
});

Deno.test("wsecho connect: a bad flag exits 2 with one line; --help is a man page", async () => {
  const bad = await runWsecho(["connect", "ws://127.0.0.1:1/", "--nope"]);
  assert.equal(bad.code, 2);
  assert.equal(bad.stdout, "");
  assert.match(
    bad.stderr,
    /^wsecho connect: Unknown option '--nope'; see wsecho connect --help\n$/,
  );
  const help = await runWsecho(["connect", "--help"]);
  assert.equal(help.code, 0);
  assert.equal(help.stdout, CONNECT_HELP + "\n");
  for (const section of ["SYNOPSIS", "OPTIONS", "EXIT STATUS", "EXAMPLES"]) {
    assert.match(CONNECT_HELP, new RegExp(`^${section}$`, "m"));
  }
  assert.match(CONNECT_HELP, /--close CODE\[:REASON\].*\(default: 1000\)/s);
});
