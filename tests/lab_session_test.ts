/**
 * The test lab over real sockets: every `/ws` parameter, what the client
 * receives (codes, reasons, seq numbers, headers, timings within generous
 * tolerance), every bad value, and the `--no-lab` refusals.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  assertEchoes,
  closeSocket,
  connect,
  Inbox,
  startServer,
  type TestServer,
  waitFor,
} from "./test_utils.ts";
import { closePayload, type Frame, OPCODE, RawClient } from "./raw_client.ts";
import { readBinaryStreamFrame } from "../src/protocol/stream_frames.ts";
import { WS_LAB_PARAMS } from "../src/protocol/lab_params.ts";

const decoder = new TextDecoder();

/** Sends a handshake to `path` and returns the HTTP answer. */
async function handshake(
  ts: TestServer,
  path: string,
  headers: Record<string, string> = {},
) {
  await using client = await RawClient.connect({ port: ts.server.addr.port });
  return await client.handshake({ path, headers });
}

/** Waits for the close event and answers nothing more. */
function closed(ws: WebSocket): Promise<CloseEvent> {
  if (ws.readyState === WebSocket.CLOSED) {
    throw new Error("already closed");
  }
  return new Promise((resolve) =>
    ws.addEventListener("close", resolve, { once: true })
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

Deno.test("lab: a connection without lab parameters is today's echo, counted nowhere", async () => {
  await using ts = startServer();
  const ws = await connect(`${ts.ws}?welcome=0&utm=1`);
  const inbox = new Inbox(ws);
  ws.send("plain");
  assert.equal(await inbox.next(), "plain");
  await closeSocket(ws);
  assert.equal(ts.server.state.metrics.lab.connections.size, 0);
});

Deno.test("lab: delay holds every echo and keeps the order, jitter included", async () => {
  const lines: string[] = [];
  await using ts = startServer({ log: (line) => lines.push(line) });
  const ws = await connect(`${ts.ws}?welcome=0&delay=150`);
  const inbox = new Inbox(ws);
  const sent = performance.now();
  ws.send("a");
  ws.send(new Uint8Array([1, 2, 3]));
  assert.equal(await inbox.next(), "a");
  const elapsed = performance.now() - sent;
  assert.ok(elapsed >= 145, `echoed after ${elapsed} ms`);
  assert.ok(elapsed < 5_000, `echoed after ${elapsed} ms`);
  assert.deepEqual(
    new Uint8Array(await inbox.next() as ArrayBuffer),
    new Uint8Array([1, 2, 3]),
  );
  await closeSocket(ws);
  assert.ok(
    lines.some((line) => /^open \w+ 127\.0\.0\.1 lab=delay=150$/.test(line)),
    lines.join("\n"),
  );

  const jittered = await connect(
    `${ts.ws}?welcome=0&delay=20&jitter=80&seed=3`,
  );
  const jInbox = new Inbox(jittered);
  const times: number[] = [];
  for (let i = 0; i < 30; i++) {
    times.push(performance.now());
    jittered.send(String(i));
  }
  for (let i = 0; i < 30; i++) {
    assert.equal(await jInbox.next(), String(i));
    const waited = performance.now() - times[i]!;
    assert.ok(waited >= 19, `message ${i} came after ${waited} ms`);
  }
  await closeSocket(jittered);
  assert.equal(ts.server.state.metrics.lab.delayed, 32);
});

Deno.test("lab: delay holds wsecho.v1 replies too", async () => {
  await using ts = startServer();
  const ws = await connect(`${ts.ws}?welcome=0&delay=120`, "wsecho.v1");
  const inbox = new Inbox(ws);
  const sent = performance.now();
  ws.send('{"type":"ping","id":1}');
  ws.send('{"type":"echo","id":2,"data":"x"}');
  assert.equal((await inbox.json()).type, "pong");
  const elapsed = performance.now() - sent;
  assert.deepEqual(await inbox.json(), { type: "echo", id: 2, data: "x" });
  assert.ok(elapsed >= 115, `replied after ${elapsed} ms`);
  await closeSocket(ws);
});

Deno.test("lab: drop skips echoes, counts them, and seed makes it reproducible", async () => {
  await using ts = startServer();
  const { metrics } = ts.server.state;
  async function run(query: string): Promise<string[]> {
    const ws = await connect(`${ts.ws}?welcome=0&${query}`);
    const inbox = new Inbox(ws);
    const before = metrics.lab.dropped;
    const inBefore = metrics.echo.messagesIn;
    for (let i = 0; i < 50; i++) ws.send(String(i));
    await waitFor(
      () => metrics.echo.messagesIn === inBefore + 50,
      "50 messages in",
    );
    const expected = 50 - (metrics.lab.dropped - before);
    const got: string[] = [];
    for (let i = 0; i < expected; i++) got.push(await inbox.next() as string);
    await closeSocket(ws);
    assert.equal(inbox.pending, 0);
    return got;
  }
  const a = await run("drop=0.5&seed=7");
  const b = await run("drop=0.5&seed=7");
  assert.deepEqual(a, b);
  assert.ok(a.length > 5 && a.length < 45, `${a.length} of 50 echoed`);
  // What is echoed keeps its order.
  assert.deepEqual(a, [...a].sort((x, y) => Number(x) - Number(y)));
  assert.notDeepEqual(await run("drop=0.5&seed=8"), a);
  assert.deepEqual(await run("drop=1"), []);
  assert.equal((await run("drop=0")).length, 50);
  const before = metrics.lab.dropped;
  await run("drop=1&delay=10");
  assert.equal(metrics.lab.dropped, before + 50);
});

Deno.test("lab: close_after closes after the Nth echo with close_code and close_reason", async () => {
  await using ts = startServer();
  const ws = await connect(
    `${ts.ws}?welcome=0&close_after=3&close_code=4001&close_reason=three%20is%20enough`,
  );
  const inbox = new Inbox(ws);
  for (let i = 0; i < 3; i++) ws.send(`m${i}`);
  const event = await inbox.closed;
  assert.equal(event.code, 4001);
  assert.equal(event.reason, "three is enough");
  assert.deepEqual(
    [await inbox.next(), await inbox.next(), await inbox.next()],
    ["m0", "m1", "m2"],
  );
  assert.equal(inbox.pending, 0);
  assert.equal(ts.server.state.metrics.lab.closes, 1);
});

Deno.test("lab: close_after without a reason names itself; the default code is 1000", async () => {
  await using ts = startServer();
  const ws = await connect(`${ts.ws}?welcome=0&close_after=1`);
  ws.send("x");
  const event = await closed(ws);
  assert.equal(event.code, 1000);
  assert.equal(event.reason, "close_after=1");
});

Deno.test("lab: close_after counts echoes, not dropped messages, and waits for delayed ones", async () => {
  await using ts = startServer();
  const ws = await connect(
    `${ts.ws}?welcome=0&close_after=2&delay=50&close_code=3000`,
  );
  const inbox = new Inbox(ws);
  ws.send("1");
  ws.send("2");
  const event = await inbox.closed;
  assert.equal(event.code, 3000);
  assert.deepEqual([await inbox.next(), await inbox.next()], ["1", "2"]);
});

Deno.test("lab: close_in closes that long after open, with 1012 for a reconnect test", async () => {
  await using ts = startServer();
  const opened = performance.now();
  const ws = await connect(`${ts.ws}?welcome=0&close_in=300&close_code=1012`);
  const event = await closed(ws);
  const elapsed = performance.now() - opened;
  assert.equal(event.code, 1012);
  assert.equal(event.reason, "close_in=300");
  assert.ok(elapsed >= 280 && elapsed < 5_000, `closed after ${elapsed} ms`);
});

Deno.test("lab: every close code in the accepted list reaches the client", async () => {
  await using ts = startServer();
  for (
    const code of [
      1000,
      1001,
      1003,
      1007,
      1008,
      1009,
      1010,
      1011,
      1012,
      1013,
      1014,
      3000,
      4999,
    ]
  ) {
    await using client = await RawClient.open({
      port: ts.server.addr.port,
      path: `/ws?welcome=0&close_in=1&close_code=${code}&close_reason=r${code}`,
    });
    const ending = await client.readClose();
    assert.deepEqual(ending, { kind: "close", code, reason: `r${code}` });
    await client.send({
      opcode: OPCODE.CLOSE,
      payload: closePayload(1000),
    });
    assert.ok(await client.waitForEof());
  }
});

Deno.test("lab: a lab close reaches a client that is still sending", async () => {
  await using ts = startServer();
  await using client = await RawClient.open({
    port: ts.server.addr.port,
    path: "/ws?welcome=0&close_after=3&close_code=4003&close_reason=busy",
  });
  for (let i = 0; i < 50; i++) {
    await client.send({
      opcode: OPCODE.TEXT,
      payload: new TextEncoder().encode(`n${i}`),
    });
  }
  const skipped: Frame[] = [];
  const ending = await client.readClose(5_000, skipped);
  assert.deepEqual(ending, { kind: "close", code: 4003, reason: "busy" });
  assert.deepEqual(skipped.map((f) => decoder.decode(f.payload)), [
    "n0",
    "n1",
    "n2",
  ]);
});

Deno.test("lab: status refuses the handshake with a one-line body and Retry-After", async () => {
  await using ts = startServer();
  const response = await handshake(ts, "/ws?status=429&retry_after=30");
  assert.equal(response.status, 429);
  assert.equal(response.headers.get("retry-after"), "30");
  assert.equal(
    response.body,
    "Refused by the test lab, as asked: status=429\n",
  );
  const plain = await handshake(ts, "/ws?status=503");
  assert.equal(plain.status, 503);
  assert.equal(plain.headers.get("retry-after"), null);
  assert.equal(ts.server.state.metrics.lab.refusals, 2);
  assert.equal(ts.server.state.registry.size, 0);
});

Deno.test("lab: subprotocol=none completes the handshake choosing no subprotocol", async () => {
  await using ts = startServer();
  await using client = await RawClient.connect({ port: ts.server.addr.port });
  const response = await client.handshake({
    path: "/ws?welcome=0&subprotocol=none",
    headers: { "Sec-WebSocket-Protocol": "wsecho.v1" },
  });
  assert.equal(response.status, 101);
  assert.equal(response.headers.get("sec-websocket-protocol"), null);
  // The server speaks the plain echo on it.
  await client.send({
    opcode: OPCODE.TEXT,
    payload: new TextEncoder().encode('{"type":"ping"}'),
  });
  const frame = await client.readFrame();
  assert.ok(typeof frame === "object");
  assert.equal(decoder.decode(frame.payload), '{"type":"ping"}');
  assert.equal((await client.closeHandshake()).kind, "close");
  // Without it, the same offer gets wsecho.v1.
  await using other = await RawClient.connect({ port: ts.server.addr.port });
  const chosen = await other.handshake({
    path: "/ws?welcome=0",
    headers: { "Sec-WebSocket-Protocol": "wsecho.v1" },
  });
  assert.equal(chosen.headers.get("sec-websocket-protocol"), "wsecho.v1");
  assert.equal((await other.closeHandshake()).kind, "close");
});

Deno.test("lab: emit streams N text messages of size bytes at rate, seq 1 to N, echo going on", async () => {
  await using ts = startServer();
  const started = performance.now();
  const ws = await connect(`${ts.ws}?welcome=0&emit=20&rate=100&size=100`);
  const inbox = new Inbox(ws);
  ws.send("during");
  const seqs: number[] = [];
  let echoed = false;
  while (seqs.length < 20) {
    const data = await inbox.next();
    if (data === "during") {
      echoed = true;
      continue;
    }
    assert.equal((data as string).length, 100);
    const message = JSON.parse(data as string);
    assert.deepEqual(Object.keys(message), ["type", "seq", "t", "pad"]);
    assert.equal(message.type, "stream");
    assert.ok(Math.abs(message.t - Date.now()) < 5_000);
    seqs.push(message.seq);
  }
  const elapsed = performance.now() - started;
  assert.ok(echoed, "the echo goes on during a stream");
  assert.deepEqual(seqs, Array.from({ length: 20 }, (_, i) => i + 1));
  // 20 at 100 a second: 190 ms from the first to the last.
  assert.ok(elapsed >= 170, `streamed in ${elapsed} ms`);
  await sleep(50);
  assert.equal(inbox.pending, 0, "nothing after the last");
  await closeSocket(ws);
  assert.equal(ts.server.state.metrics.lab.emitted, 20);
});

Deno.test("lab: emit with binary streams seq and t big-endian", async () => {
  await using ts = startServer();
  const ws = await connect(
    `${ts.ws}?welcome=0&emit=5&rate=1000&size=48&binary=true`,
  );
  const inbox = new Inbox(ws);
  for (let seq = 1; seq <= 5; seq++) {
    const data = await inbox.next();
    assert.ok(data instanceof ArrayBuffer);
    assert.equal(data.byteLength, 48);
    const frame = readBinaryStreamFrame(data);
    assert.equal(frame.seq, seq);
    assert.ok(Math.abs(frame.t - Date.now()) < 5_000);
  }
  await closeSocket(ws);
});

Deno.test("lab: a stream pauses while the peer is not reading, counts it, and loses nothing", async () => {
  await using ts = startServer({ maxBuffered: 1024 * 1024 });
  const { lab } = ts.server.state.metrics;
  const count = 1_000;
  const size = 32 * 1024;
  await using client = await RawClient.open({
    port: ts.server.addr.port,
    path: `/ws?welcome=0&emit=${count}&rate=10000&size=${size}`,
  });
  // Not reading: 32 MiB cannot fit in the socket buffers, so the stream must
  // pause, perhaps several times while the kernel's buffers grow, then stay.
  await waitFor(() => lab.streamPauses > 0, "the stream to pause", 10_000);
  let emitted = -1;
  for (let i = 0; i < 50 && lab.emitted !== emitted; i++) {
    emitted = lab.emitted;
    await sleep(200);
  }
  assert.equal(lab.emitted, emitted, "paused, not sending");
  assert.ok(emitted < count, `${emitted} sent to a peer that reads nothing`);
  const [connection] = ts.server.state.registry.values();
  assert.ok(connection, "not closed as a slow consumer");
  assert.ok(
    connection.socket.bufferedAmount <= 512 * 1024 + size,
    `${connection.socket.bufferedAmount} bytes queued`,
  );
  for (let seq = 1; seq <= count; seq++) {
    const frame = await client.readFrame(10_000);
    assert.ok(typeof frame === "object", `message ${seq}: ${frame}`);
    assert.equal(frame.payload.length, size);
    const message = JSON.parse(decoder.decode(frame.payload));
    assert.equal(message.seq, seq);
  }
  assert.equal((await client.closeHandshake()).kind, "close");
});

Deno.test("lab: delay closes 1008 past --max-delayed bytes held", async () => {
  await using ts = startServer({ maxDelayed: 1000 });
  const ws = await connect(`${ts.ws}?welcome=0&delay=2000`);
  ws.send("x".repeat(600));
  ws.send("y".repeat(600));
  const event = await closed(ws);
  assert.equal(event.code, 1008);
  assert.equal(event.reason, "delay buffer full: the limit is 1000 bytes");
  assert.equal(ts.server.state.metrics.lab.delayOverflows, 1);
  assert.equal(
    ts.server.state.metrics.lab.closes,
    0,
    "not a close the lab was asked for",
  );
  await assertEchoes(ts);
});

Deno.test("lab: every bad value refuses the handshake with 400 and one line", async () => {
  await using ts = startServer({ maxMessageSize: 1024, maxEmitRate: 500 });
  const cases: [string, string][] = [
    [
      "delay=-1",
      'Bad lab parameter "delay": "-1" is not an integer from 0 to 60000 (milliseconds)',
    ],
    [
      "delay=60001",
      'Bad lab parameter "delay": "60001" is not an integer from 0 to 60000 (milliseconds)',
    ],
    [
      "jitter=x",
      'Bad lab parameter "jitter": "x" is not an integer from 0 to 60000 (milliseconds)',
    ],
    [
      "drop=2",
      'Bad lab parameter "drop": "2" is not a probability from 0 to 1 (for example 0.1)',
    ],
    [
      "seed=1.5",
      'Bad lab parameter "seed": "1.5" is not an integer from 0 to 4294967295 (an integer)',
    ],
    [
      "close_after=0",
      'Bad lab parameter "close_after": "0" is not an integer from 1 to 1000000000 (echoes)',
    ],
    [
      "close_in=0",
      'Bad lab parameter "close_in": "0" is not an integer from 1 to 86400000 (milliseconds)',
    ],
    [
      "close_code=1006",
      'Bad lab parameter "close_code": "1006" is not a close code: 1000, 1001, 1003, 1007 to 1014, or 3000 to 4999',
    ],
    [
      "close_reason=" + "r".repeat(124),
      `Bad lab parameter "close_reason": "${
        "r".repeat(40)
      }…" is not a text of at most 123 UTF-8 bytes`,
    ],
    [
      "status=302",
      'Bad lab parameter "status": "302" is not an integer from 400 to 599 (an HTTP status)',
    ],
    [
      "retry_after=later",
      'Bad lab parameter "retry_after": "later" is not an integer from 0 to 86400 (seconds)',
    ],
    ["subprotocol=any", 'Bad lab parameter "subprotocol": "any" is not "none"'],
    [
      "emit=0",
      'Bad lab parameter "emit": "0" is not an integer from 1 to 100000000 (messages)',
    ],
    [
      "rate=501",
      'Bad lab parameter "rate": "501" is not an integer from 1 to 500 (messages a second (--max-emit-rate))',
    ],
    [
      "size=1025",
      'Bad lab parameter "size": "1025" is not an integer from 32 to 1024 (bytes (--max-message-size))',
    ],
    [
      "binary=2",
      'Bad lab parameter "binary": "2" is not a boolean (1, 0, true, false, yes, no, on, off, or empty for true)',
    ],
  ];
  for (const [query, message] of cases) {
    const response = await handshake(ts, `/ws?${query}`);
    assert.equal(response.status, 400, query);
    assert.equal(response.body, `${message}\n`, query);
  }
  assert.equal(ts.server.state.registry.size, 0);
});

Deno.test("lab: --no-lab refuses every lab parameter with 403 and keeps the echo", async () => {
  await using ts = startServer({ lab: false });
  for (const name of WS_LAB_PARAMS) {
    const response = await handshake(ts, `/ws?welcome=0&${name}=1`);
    assert.equal(response.status, 403, name);
    assert.equal(
      response.body,
      `The test lab is off on this server: parameter "${name}" is refused (started with --no-lab)\n`,
    );
  }
  const response = await fetch(`${ts.http}/echo?status=500`);
  assert.equal(response.status, 403);
  assert.match(await response.text(), /test lab is off/);
  await assertEchoes(ts);
});

Deno.test("lab: /metrics counts connections by parameter, drops, delays and emits", async () => {
  await using ts = startServer();
  const ws = await connect(
    `${ts.ws}?welcome=0&delay=1&drop=0&emit=2&rate=1000`,
  );
  const inbox = new Inbox(ws);
  ws.send("m");
  const got = [await inbox.next(), await inbox.next(), await inbox.next()];
  assert.ok(got.includes("m"));
  await closeSocket(ws);
  (await handshake(ts, "/ws?status=418")).status;
  const text = await (await fetch(`${ts.http}/metrics`)).text();
  for (
    const line of [
      'wsecho_lab_connections_total{param="delay"} 1',
      'wsecho_lab_connections_total{param="drop"} 1',
      'wsecho_lab_connections_total{param="emit"} 1',
      'wsecho_lab_connections_total{param="rate"} 1',
      "wsecho_lab_refusals_total 1",
      "wsecho_lab_messages_delayed_total 1",
      "wsecho_lab_messages_dropped_total 0",
      "wsecho_lab_messages_emitted_total 2",
      "wsecho_lab_stream_pauses_total 0",
      "wsecho_lab_delay_overflows_total 0",
      "wsecho_lab_closes_total 0",
    ]
  ) {
    assert.ok(text.includes(`\n${line}\n`), `${line} in\n${text}`);
  }
});
