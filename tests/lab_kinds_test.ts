/**
 * The test lab's `wsecho.v1` kinds over real sockets: `close`, `stream` and
 * `handshake`, their bad fields, and `--no-lab`.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  closeSocket,
  connect,
  Inbox,
  startServer,
  type TestServer,
} from "./test_utils.ts";
import { type Frame, OPCODE, RawClient } from "./raw_client.ts";

async function json(ts: TestServer, query = "?welcome=0") {
  const ws = await connect(`${ts.ws}${query}`, "wsecho.v1");
  return { ws, inbox: new Inbox(ws) };
}

Deno.test("close kind: closes with the code and reason asked for", async () => {
  await using ts = startServer();
  const { ws, inbox } = await json(ts);
  ws.send(JSON.stringify({ type: "close", id: 1, code: 4000, reason: "bye" }));
  const event = await inbox.closed;
  assert.equal(event.code, 4000);
  assert.equal(event.reason, "bye");
  assert.equal(inbox.pending, 0, "no reply before the close");
  assert.equal(ts.server.state.metrics.lab.closes, 1);
  // Without fields: 1000 and no reason.
  const other = await json(ts);
  other.ws.send('{"type":"close"}');
  const plain = await other.inbox.closed;
  assert.equal(plain.code, 1000);
  assert.equal(plain.reason, "");
});

Deno.test("close kind: reaches a client that is still sending", async () => {
  await using ts = startServer();
  await using client = await RawClient.open({
    port: ts.server.addr.port,
    path: "/ws?welcome=0",
    headers: { "Sec-WebSocket-Protocol": "wsecho.v1" },
  });
  const encoder = new TextEncoder();
  await client.send({
    opcode: OPCODE.TEXT,
    payload: encoder.encode('{"type":"close","code":4321,"reason":"go"}'),
  });
  for (let i = 0; i < 50; i++) {
    await client.send({
      opcode: OPCODE.TEXT,
      payload: encoder.encode(`{"type":"ping","id":${i}}`),
    });
  }
  const skipped: Frame[] = [];
  const ending = await client.readClose(5_000, skipped);
  assert.deepEqual(ending, { kind: "close", code: 4321, reason: "go" });
  assert.deepEqual(skipped, [], "no message acted on after the close");
});

Deno.test("close kind: refuses a bad code or reason with bad_message and lives on", async () => {
  await using ts = startServer();
  const { ws, inbox } = await json(ts);
  const cases: [unknown, unknown, string][] = [
    [
      1005,
      "x",
      'Cannot read "close": "code" must be 1000, 1001, 1003, 1007 to 1014, or 3000 to 4999',
    ],
    [
      1002,
      "x",
      'Cannot read "close": "code" must be 1000, 1001, 1003, 1007 to 1014, or 3000 to 4999',
    ],
    [
      "4000",
      "x",
      'Cannot read "close": "code" must be 1000, 1001, 1003, 1007 to 1014, or 3000 to 4999',
    ],
    [
      4000.5,
      "x",
      'Cannot read "close": "code" must be 1000, 1001, 1003, 1007 to 1014, or 3000 to 4999',
    ],
    [
      5000,
      "x",
      'Cannot read "close": "code" must be 1000, 1001, 1003, 1007 to 1014, or 3000 to 4999',
    ],
    [
      4000,
      "é".repeat(62),
      'Cannot read "close": "reason" must be a string of at most 123 UTF-8 bytes',
    ],
    [
      4000,
      42,
      'Cannot read "close": "reason" must be a string of at most 123 UTF-8 bytes',
    ],
  ];
  for (const [i, [code, reason, message]] of cases.entries()) {
    ws.send(JSON.stringify({ type: "close", id: i, code, reason }));
    assert.deepEqual(await inbox.json(), {
      type: "error",
      id: i,
      code: "bad_message",
      message,
    });
  }
  await closeSocket(ws);
});

Deno.test("stream kind: count messages with the id and seq 1 to N, then stream_end", async () => {
  await using ts = startServer();
  const { ws, inbox } = await json(ts);
  const started = performance.now();
  ws.send(
    JSON.stringify({
      type: "stream",
      id: "s1",
      count: 10,
      rate: 50,
      size: 128,
    }),
  );
  for (let seq = 1; seq <= 10; seq++) {
    const text = await inbox.next() as string;
    assert.equal(text.length, 128);
    const message = JSON.parse(text);
    assert.deepEqual(Object.keys(message), ["type", "id", "seq", "t", "pad"]);
    assert.equal(message.id, "s1");
    assert.equal(message.seq, seq);
  }
  const end = await inbox.json();
  const elapsed = performance.now() - started;
  assert.deepEqual(end, {
    type: "stream_end",
    id: "s1",
    sent: 10,
    paused_ms: 0,
  });
  // 10 at 50 a second: 180 ms from the first to the last.
  assert.ok(elapsed >= 160, `streamed in ${elapsed} ms`);
  // Defaults: rate 10, size 64; a ping is answered during the stream.
  ws.send(JSON.stringify({ type: "stream", id: 2, count: 2 }));
  ws.send(JSON.stringify({ type: "ping", id: 3 }));
  const first = await inbox.json();
  const pong = first.type === "pong" ? first : await inbox.json();
  assert.equal(pong.type, "pong");
  const rest = [first, await inbox.json(), await inbox.json()].filter((m) =>
    m.type !== "pong"
  );
  assert.deepEqual(rest.map((m) => [m.type, m.seq]), [
    ["stream", 1],
    ["stream", 2],
    ["stream_end", undefined],
  ]);
  await closeSocket(ws);
});

Deno.test("stream kind: one at a time, and bad fields are bad_message", async () => {
  await using ts = startServer({ maxEmitRate: 100, maxMessageSize: 1000 });
  const { ws, inbox } = await json(ts);
  const cases: [Record<string, unknown>, string][] = [
    [
      {},
      'Cannot read "stream": "count" must be an integer from 1 to 100000000',
    ],
    [
      { count: 0 },
      'Cannot read "stream": "count" must be an integer from 1 to 100000000',
    ],
    [
      { count: "5" },
      'Cannot read "stream": "count" must be an integer from 1 to 100000000',
    ],
    [
      { count: 5, rate: 101 },
      'Cannot read "stream": "rate" must be an integer from 1 to 100',
    ],
    [
      { count: 5, rate: 0.5 },
      'Cannot read "stream": "rate" must be an integer from 1 to 100',
    ],
    [
      { count: 5, size: 31 },
      'Cannot read "stream": "size" must be an integer from 32 to 1000',
    ],
    [
      { count: 5, size: 1001 },
      'Cannot read "stream": "size" must be an integer from 32 to 1000',
    ],
  ];
  for (const [i, [fields, message]] of cases.entries()) {
    ws.send(JSON.stringify({ type: "stream", id: i, ...fields }));
    assert.deepEqual(await inbox.json(), {
      type: "error",
      id: i,
      code: "bad_message",
      message,
    });
  }
  ws.send(JSON.stringify({ type: "stream", id: "a", count: 3, rate: 20 }));
  ws.send(JSON.stringify({ type: "stream", id: "b", count: 3 }));
  const messages = [];
  for (let i = 0; i < 5; i++) messages.push(await inbox.json());
  const busy = messages.find((m) => m.type === "error");
  assert.deepEqual(busy, {
    type: "error",
    id: "b",
    code: "busy",
    message:
      "A stream is already running on this connection: wait for its stream_end",
  });
  assert.deepEqual(
    messages.filter((m) => m.type !== "error").map((m) => m.seq ?? m.type),
    [1, 2, 3, "stream_end"],
  );
  await closeSocket(ws);
});

Deno.test("stream kind: stops when the connection closes", async () => {
  await using ts = startServer();
  const { ws, inbox } = await json(ts);
  ws.send(
    JSON.stringify({ type: "stream", id: 1, count: 1_000_000, rate: 100 }),
  );
  await inbox.next();
  // The op sanitizer fails this test if the stream's timer outlives the socket.
  await closeSocket(ws);
  await new Promise((resolve) => setTimeout(resolve, 50));
});

Deno.test("handshake kind: the upgrade request as the server saw it", async () => {
  await using ts = startServer();
  await using client = await RawClient.open({
    port: ts.server.addr.port,
    path: "/ws?welcome=0&x=1",
    headers: { "Sec-WebSocket-Protocol": "foo, wsecho.v1", "X-Lab": "yes" },
  });
  await client.send({
    opcode: OPCODE.TEXT,
    payload: new TextEncoder().encode('{"type":"handshake","id":9}'),
  });
  const frame = await client.readFrame();
  assert.ok(typeof frame === "object");
  const reply = JSON.parse(new TextDecoder().decode(frame.payload));
  const localPort = (client.conn.localAddr as Deno.NetAddr).port;
  assert.equal(reply.type, "handshake", JSON.stringify(reply));
  assert.equal(reply.id, 9);
  assert.equal(reply.method, "GET");
  assert.equal(reply.url, `http://${client.host}/ws?welcome=0&x=1`);
  assert.deepEqual(reply.remote, { address: "127.0.0.1", port: localPort });
  assert.equal(reply.protocol, "wsecho.v1");
  assert.equal(reply.headers["x-lab"], "yes");
  assert.equal(reply.headers["sec-websocket-protocol"], "foo, wsecho.v1");
  assert.equal(reply.headers.upgrade, "websocket");
  assert.equal((await client.closeHandshake()).kind, "close");
});

Deno.test("lab kinds: --no-lab answers lab_off", async () => {
  await using ts = startServer({ lab: false });
  const { ws, inbox } = await json(ts);
  for (const [i, type] of ["close", "stream", "handshake"].entries()) {
    ws.send(JSON.stringify({ type, id: i, count: 1 }));
    assert.deepEqual(await inbox.json(), {
      type: "error",
      id: i,
      code: "lab_off",
      message: "The test lab is off on this server (started with --no-lab)",
    });
  }
  await closeSocket(ws);
});
