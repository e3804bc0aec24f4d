/**
 * Fault tolerance: a raw TCP client speaks broken WebSocket, and the server
 * must answer as RFC 6455 asks (or as Deno 2.9.6 does, recorded here and in
 * docs/limits.md), harm no other connection, and forget the connection.
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
import {
  closePayload,
  encodeFrame,
  type Ending,
  type Frame,
  OPCODE,
  RawClient,
} from "./raw_client.ts";
import type { ServerOptions } from "../src/server/create_server.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Checks the server is whole: no connection left, and a fresh client echoes. */
async function assertRecovered(ts: TestServer): Promise<void> {
  const { registry, rooms } = ts.server.state;
  await waitFor(() => registry.size === 0, "the registry to empty");
  assert.equal(rooms.size, 0, "no room outlives its members");
  await assertEchoes(ts);
  await waitFor(() => registry.size === 0, "the registry to empty again");
}

/** Sends frames on a fresh connection and reads how the server ends it. */
async function sendFault(
  ts: TestServer,
  frames: Uint8Array[],
  timeoutMs = 3_000,
): Promise<{ ending: Ending; skipped: Frame[] }> {
  await using client = await RawClient.open({ port: ts.server.addr.port });
  for (const frame of frames) await client.write(frame);
  const skipped: Frame[] = [];
  const ending = await client.readClose(timeoutMs, skipped);
  if (ending.kind === "close") {
    // Answer the close as a client should; the server must then end TCP.
    await client.send({
      opcode: OPCODE.CLOSE,
      payload: closePayload(ending.code),
    });
    assert.ok(
      await client.waitForEof(timeoutMs),
      "the server ends TCP after the close handshake",
    );
  }
  return { ending, skipped };
}

/** Starts a server, runs a fault, checks the answer and the recovery. */
function faultTest(
  name: string,
  frames: () => Uint8Array[],
  expected: Ending,
  options: ServerOptions = {},
): void {
  Deno.test(name, async () => {
    await using ts = startServer(options);
    const { ending, skipped } = await sendFault(ts, frames());
    assert.deepEqual(ending, expected);
    assert.deepEqual(
      skipped.filter((frame) => frame.opcode !== OPCODE.PING),
      [],
      "the server sends nothing but pings first",
    );
    await assertRecovered(ts);
  });
}

const DROPPED: Ending = { kind: "dropped" };
const PROTOCOL_ERROR: Ending = { kind: "close", code: 1002, reason: "" };
const NO_PONG: Ending = {
  kind: "close",
  code: 1001,
  reason: "No response from ping frame.",
};

Deno.test("fault: an unmasked client frame is echoed, because Deno does not enforce masking", async () => {
  // RFC 6455 section 5.1 says a server MUST close on an unmasked frame;
  // Deno 2.9.6 accepts it. Recorded here so a change in Deno shows up.
  await using ts = startServer();
  await using client = await RawClient.open({ port: ts.server.addr.port });
  await client.send({ opcode: OPCODE.TEXT, payload: "bare", mask: false });
  const frame = await client.readFrame();
  assert.ok(typeof frame === "object", `expected an echo, got ${frame}`);
  assert.equal(decoder.decode(frame.payload), "bare");
  assert.deepEqual(await client.closeHandshake(), {
    kind: "close",
    code: 1000,
    reason: "",
  });
  await assertRecovered(ts);
});

for (const [bit, rsv] of [["RSV1", 4], ["RSV2", 2], ["RSV3", 1]] as const) {
  faultTest(
    `fault: a text frame with ${bit} set (no extension agreed) drops the connection without a close frame`,
    () => [encodeFrame({ opcode: OPCODE.TEXT, payload: "x", rsv })],
    DROPPED,
  );
}

faultTest(
  "fault: RSV1 on a continuation frame drops the connection",
  () => [
    encodeFrame({ opcode: OPCODE.TEXT, payload: "ab", fin: false }),
    encodeFrame({ opcode: OPCODE.CONTINUATION, payload: "cd", rsv: 4 }),
  ],
  DROPPED,
);

Deno.test("fault: each reserved opcode drops the connection without a close frame", async (t) => {
  await using ts = startServer();
  for (const opcode of [3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf]) {
    await t.step(`opcode 0x${opcode.toString(16)}`, async () => {
      const { ending } = await sendFault(ts, [
        encodeFrame({ opcode, payload: "x" }),
      ]);
      assert.deepEqual(ending, DROPPED);
      await waitFor(() => ts.server.state.registry.size === 0, "cleanup");
    });
  }
  await assertRecovered(ts);
});

faultTest(
  "fault: invalid UTF-8 in a text frame drops the connection (no 1007)",
  () => [
    encodeFrame({
      opcode: OPCODE.TEXT,
      payload: new Uint8Array([0x61, 0xff, 0xfe]),
    }),
  ],
  DROPPED,
);

faultTest(
  "fault: invalid UTF-8 completed in a continuation frame drops the connection",
  () => [
    // "a" and the first two bytes of "€", then a byte that cannot end it.
    encodeFrame({
      opcode: OPCODE.TEXT,
      payload: new Uint8Array([0x61, 0xe2, 0x82]),
      fin: false,
    }),
    encodeFrame({
      opcode: OPCODE.CONTINUATION,
      payload: new Uint8Array([0x28]),
    }),
  ],
  DROPPED,
);

Deno.test("fault: a character split across fragments is reassembled and echoed", async () => {
  await using ts = startServer();
  await using client = await RawClient.open({ port: ts.server.addr.port });
  await client.send({
    opcode: OPCODE.TEXT,
    payload: new Uint8Array([0x61, 0xe2]),
    fin: false,
  });
  // A ping between fragments is allowed and answered at once.
  await client.send({ opcode: OPCODE.PING, payload: "p" });
  await client.send({
    opcode: OPCODE.CONTINUATION,
    payload: new Uint8Array([0x82, 0xac]),
  });
  const pong = await client.readFrame();
  assert.ok(typeof pong === "object");
  assert.equal(pong.opcode, OPCODE.PONG);
  assert.equal(decoder.decode(pong.payload), "p");
  const echo = await client.readFrame();
  assert.ok(typeof echo === "object");
  assert.deepEqual([echo.opcode, decoder.decode(echo.payload)], [
    OPCODE.TEXT,
    "a€",
  ]);
  await client.closeHandshake();
  await assertRecovered(ts);
});

faultTest(
  "fault: a fragmented ping drops the connection",
  () => [encodeFrame({ opcode: OPCODE.PING, payload: "p", fin: false })],
  DROPPED,
);

faultTest(
  "fault: a ping with 126 bytes (control frames carry at most 125) drops the connection",
  () => [encodeFrame({ opcode: OPCODE.PING, payload: new Uint8Array(126) })],
  DROPPED,
);

Deno.test("fault: a ping with 125 bytes gets a pong with the same payload", async () => {
  await using ts = startServer();
  await using client = await RawClient.open({ port: ts.server.addr.port });
  const payload = new Uint8Array(125).fill(0x41);
  await client.send({ opcode: OPCODE.PING, payload });
  const pong = await client.readFrame();
  assert.ok(typeof pong === "object");
  assert.equal(pong.opcode, OPCODE.PONG);
  assert.deepEqual(pong.payload, payload);
  await client.closeHandshake();
  await assertRecovered(ts);
});

Deno.test("fault: a close frame with an invalid code is answered with 1002", async (t) => {
  await using ts = startServer();
  // 1004-1006 and 1015 must never be sent; below 1000 and above 4999 are
  // undefined. Deno also refuses 1014 and 1016-2999 (unassigned in its list).
  for (const code of [0, 999, 1004, 1005, 1006, 1014, 1015, 1016, 2999, 5000]) {
    await t.step(`code ${code}`, async () => {
      const { ending } = await sendFault(ts, [
        encodeFrame({ opcode: OPCODE.CLOSE, payload: closePayload(code) }),
      ]);
      assert.deepEqual(ending, PROTOCOL_ERROR);
    });
  }
  await assertRecovered(ts);
});

Deno.test("fault: a close frame with a valid code is echoed", async (t) => {
  await using ts = startServer();
  for (const code of [1000, 1001, 1003, 1007, 1011, 1012, 1013, 3000, 4999]) {
    await t.step(`code ${code}`, async () => {
      const { ending } = await sendFault(ts, [
        encodeFrame({ opcode: OPCODE.CLOSE, payload: closePayload(code) }),
      ]);
      assert.deepEqual(ending, { kind: "close", code, reason: "" });
    });
  }
  await assertRecovered(ts);
});

faultTest(
  "fault: a close frame with a one-byte payload drops the connection",
  () => [encodeFrame({ opcode: OPCODE.CLOSE, payload: new Uint8Array([3]) })],
  DROPPED,
);

faultTest(
  "fault: a close reason that is not UTF-8 drops the connection",
  () => [
    encodeFrame({
      opcode: OPCODE.CLOSE,
      payload: new Uint8Array([0x03, 0xe8, 0xff]),
    }),
  ],
  DROPPED,
);

faultTest(
  "fault: a continuation frame with no message started drops the connection",
  () => [encodeFrame({ opcode: OPCODE.CONTINUATION, payload: "x" })],
  DROPPED,
);

faultTest(
  "fault: a new text frame inside a fragmented message drops the connection",
  () => [
    encodeFrame({ opcode: OPCODE.TEXT, payload: "a", fin: false }),
    encodeFrame({ opcode: OPCODE.TEXT, payload: "b" }),
  ],
  DROPPED,
);

faultTest(
  "fault: a 64-bit length with the top bit set drops the connection",
  () => [
    encodeFrame({ opcode: OPCODE.BINARY, declaredLength: 2 ** 63 }),
  ],
  DROPPED,
);

faultTest(
  "idleTimeout: a truncated frame followed by silence is closed with 1001 after the missed pong",
  () => [
    encodeFrame({
      opcode: OPCODE.BINARY,
      payload: new Uint8Array(10),
      declaredLength: 100,
    }),
  ],
  NO_PONG,
  { idleTimeout: 1 },
);

Deno.test("idleTimeout: a peer that never answers pings is closed with 1001 and forgotten", async () => {
  await using ts = startServer({ idleTimeout: 1 });
  const started = Date.now();
  const { ending, skipped } = await sendFault(ts, [], 5_000);
  const elapsed = Date.now() - started;
  assert.deepEqual(ending, NO_PONG);
  assert.ok(
    skipped.every((frame) => frame.opcode === OPCODE.PING),
    "only pings come before the close",
  );
  assert.ok(elapsed >= 900 && elapsed < 4_000, `closed after ${elapsed} ms`);
  await assertRecovered(ts);
});

Deno.test("handshake: garbage instead of a request gets 400 and the connection closed", async () => {
  await using ts = startServer();
  await using client = await RawClient.connect({ port: ts.server.addr.port });
  await client.write(
    encoder.encode("\x16\x03\x01\x02\x00 not http at all\r\n\r\n"),
  );
  const response = await client.readResponse(3_000);
  assert.equal(response.status, 400);
  assert.equal(response.headers.get("connection"), "close");
  assert.ok(await client.waitForEof(3_000), "the server ends TCP");
  await assertRecovered(ts);
});

Deno.test("handshake: a request without Sec-WebSocket-Key gets 400 naming the header", async () => {
  await using ts = startServer();
  await using client = await RawClient.connect({ port: ts.server.addr.port });
  await client.write(encoder.encode(
    `GET /ws HTTP/1.1\r\nHost: ${client.host}\r\nUpgrade: websocket\r\n` +
      "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n",
  ));
  const response = await client.readResponse(3_000);
  assert.equal(response.status, 400);
  assert.match(response.body, /^Bad WebSocket handshake: .*sec-websocket-key/i);
  await assertRecovered(ts);
});

Deno.test("handshake: an unsupported Sec-WebSocket-Version gets 426 with Sec-WebSocket-Version: 13", async () => {
  // RFC 6455 section 4.2.2: a version other than 13 must not be upgraded;
  // Deno.upgradeWebSocket alone ignores the version and answers 101.
  await using ts = startServer();
  await using client = await RawClient.connect({ port: ts.server.addr.port });
  const response = await client.handshake({
    headers: { "Sec-WebSocket-Version": "8" },
  });
  if (response.status === 101) {
    await client.closeHandshake();
  }
  assert.equal(response.status, 426, "a version 8 handshake must not get 101");
  assert.equal(response.headers.get("sec-websocket-version"), "13");
  await assertRecovered(ts);
});

Deno.test("handshake: a request dribbled a few bytes at a time still upgrades and echoes", async () => {
  await using ts = startServer();
  await using client = await RawClient.connect({ port: ts.server.addr.port });
  const response = await client.handshake({ chunkSize: 7, chunkDelayMs: 5 });
  assert.equal(response.status, 101);
  await client.send({ opcode: OPCODE.TEXT, payload: "slow" });
  const echo = await client.readFrame();
  assert.ok(typeof echo === "object");
  assert.equal(decoder.decode(echo.payload), "slow");
  await client.closeHandshake();
  await assertRecovered(ts);
});

Deno.test("handshake: a half-sent request does not block other clients", async () => {
  // Deno.serve has no header timeout: the half request stays open until the
  // client goes (measured: still open after 70 s). It is never registered.
  await using ts = startServer();
  await using client = await RawClient.connect({ port: ts.server.addr.port });
  await client.write(encoder.encode("GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
  await assertRecovered(ts);
  assert.equal(await client.readFrame(200), "timeout");
});

Deno.test("maxBuffered: a peer that stops reading is closed with 1008 after a bounded amount", async () => {
  await using ts = startServer({ idleTimeout: 0 });
  const { registry } = ts.server.state;
  await using client = await RawClient.open({ port: ts.server.addr.port });
  const payload = new Uint8Array(256 * 1024);
  let sent = 0;
  const deadline = Date.now() + 10_000;
  while (registry.size > 0 && Date.now() < deadline) {
    if (!await client.send({ opcode: OPCODE.BINARY, payload })) break;
    sent += payload.length;
    await delay(0);
  }
  assert.equal(registry.size, 0, "the server gave up on the peer");
  // 4 MiB of our queue plus what the kernel buffers on both sides of
  // loopback: measured 8.75 MiB.
  assert.ok(sent < 32 * 1024 * 1024, `sent ${sent} bytes before the close`);
  const ending = await client.readClose(5_000);
  // Deno ends TCP right after its close frame; frames we sent meanwhile are
  // unread, so the kernel answers with an RST that can discard the close
  // frame (and the echoes before it) in our receive buffer. Either way the
  // server, not the peer, ended the connection.
  if (ending.kind !== "dropped") {
    assert.deepEqual(ending, {
      kind: "close",
      code: 1008,
      reason: "slow consumer",
    });
  }
  await client.closed();
  await assertRecovered(ts);
});

Deno.test("fault: a TCP reset without a close frame frees the connection and its rooms", async () => {
  await using ts = startServer();
  const { registry, rooms } = ts.server.state;
  for (let i = 0; i < 5; i++) {
    const client = await RawClient.open({
      port: ts.server.addr.port,
      path: "/ws",
      headers: { "Sec-WebSocket-Protocol": "wsecho.v1" },
    });
    await client.send({
      opcode: OPCODE.TEXT,
      payload: JSON.stringify({ type: "join", room: `reset-${i}` }),
    });
    await waitFor(() => rooms.size === 1, "the join");
    // The welcome and the reply are unread, so closing sends an RST.
    await client.closed();
    await waitFor(() => registry.size === 0, "the reset to be noticed");
    assert.equal(rooms.size, 0);
  }
  await assertRecovered(ts);
});

Deno.test("fault: broadcasting to a member that has just reset harms only that member", async () => {
  await using ts = startServer();
  const { registry } = ts.server.state;
  const sender = await connect(`${ts.ws}?welcome=0`, "wsecho.v1");
  const inbox = new Inbox(sender);
  try {
    sender.send(JSON.stringify({ type: "join", id: 0, room: "r" }));
    assert.equal((await inbox.json()).type, "joined");
    for (let i = 1; i <= 20; i++) {
      const victim = await RawClient.open({
        port: ts.server.addr.port,
        headers: { "Sec-WebSocket-Protocol": "wsecho.v1" },
      });
      await victim.send({
        opcode: OPCODE.TEXT,
        payload: JSON.stringify({ type: "join", room: "r" }),
      });
      await waitFor(
        () => ts.server.state.rooms.members("r").size === 2,
        "join",
      );
      await victim.closed();
      // Races the reset: the send may hit a socket Deno has not yet seen die.
      sender.send(
        JSON.stringify({ type: "broadcast", id: i, room: "r", data: i }),
      );
      const reply = await inbox.json();
      assert.equal(reply.type, "sent");
      assert.equal(reply.id, i);
      await waitFor(() => registry.size === 1, "the victim to go");
    }
  } finally {
    await closeSocket(sender);
  }
  await assertRecovered(ts);
});

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
