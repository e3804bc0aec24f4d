/**
 * Tests of `src/client/load.ts`, the load engine behind `wsecho bench` and
 * `bench/load_gen.ts`, over real sockets: closed and open loops against
 * wsecho and the baseline echo, a corrupting echo, refused handshakes,
 * dropped connections and test-lab streams; plus its pure helpers.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  parseStreamFrame,
  Payloads,
  runLoad,
  streamUrl,
} from "../src/client/load.ts";
import { startServer } from "./test_utils.ts";
import {
  corruptingEcho,
  emitter,
  startBaseline,
  startLocalServer,
} from "./client_servers.ts";

/** Short windows: these tests prove behaviour, not speed. */
const SHORT = { durationMs: 600, warmupMs: 200, lateMs: 10_000 };

Deno.test("Payloads are distinct, sized, and compared byte for byte", () => {
  const text = new Payloads(32, false);
  const a = text.make(1, 1);
  const b = text.make(1, 2);
  assert.equal(a.length, 32);
  assert.notEqual(a, b);
  assert.ok(text.equal(a, a));
  assert.ok(!text.equal(b, a));
  const binary = new Payloads(64, true);
  const bytes = binary.make(3, 4) as Uint8Array;
  assert.equal(bytes.byteLength, 64);
  assert.ok(binary.equal(bytes.slice().buffer, bytes));
  const flipped = bytes.slice();
  flipped[63] = flipped[63]! ^ 1;
  assert.ok(!binary.equal(flipped.buffer, bytes));
  assert.ok(!binary.equal("text", bytes), "text is not binary");
});

Deno.test("parseStreamFrame() reads text and binary stream messages", () => {
  assert.deepEqual(
    parseStreamFrame('{"type":"stream","seq":3,"t":1700000000000.5,"pad":"x"}'),
    { seq: 3, t: 1700000000000.5 },
  );
  const bytes = new Uint8Array(20);
  new DataView(bytes.buffer).setBigUint64(0, 9n);
  new DataView(bytes.buffer).setFloat64(8, 123.25);
  assert.deepEqual(parseStreamFrame(bytes.buffer), { seq: 9, t: 123.25 });
  assert.equal(parseStreamFrame('{"type":"echo","seq":1,"t":1}'), undefined);
  assert.equal(
    parseStreamFrame('{"type":"stream","seq":"1","t":1}'),
    undefined,
  );
  assert.equal(parseStreamFrame("not json"), undefined);
  assert.equal(parseStreamFrame(new ArrayBuffer(15)), undefined);
});

Deno.test("streamUrl() adds the test lab's parameters", () => {
  assert.equal(
    streamUrl("ws://h/ws?welcome=0", 100, 50, 16, true),
    "ws://h/ws?welcome=0&emit=100&rate=50&size=16&binary=1",
  );
});

Deno.test("runLoad() closed loop against wsecho: every echo checked, welcome skipped", async () => {
  await using server = startServer();
  const report = await runLoad(server.ws, {
    ...SHORT,
    connections: 4,
    inFlight: 4,
  });
  assert.equal(report.mode, "closed");
  assert.ok(report.ok, JSON.stringify(report.failures));
  assert.equal(report.connections.opened, 4);
  assert.equal(report.messages.unsolicited, 4, "one welcome per connection");
  assert.equal(report.messages.mismatched, 0);
  assert.equal(report.messages.missing, 0);
  assert.equal(report.messages.echoed, report.messages.sent);
  assert.ok(report.latency.count > 0);
  assert.ok(report.latency.p50 <= report.latency.p99);
  assert.ok(report.messagesPerSecond > 0);
  assert.equal(report.connections.connectTime.count, 4);
  assert.deepEqual(report.closes, [
    { code: 1000, meaning: "normal closure", by: "client", count: 4 },
  ]);
});

Deno.test("runLoad() open loop against the baseline echo sends at the rate asked", async () => {
  await using baseline = await startBaseline();
  const report = await runLoad(baseline.ws, {
    ...SHORT,
    durationMs: 1000,
    connections: 4,
    rate: 400,
    binary: true,
    size: 1024,
  });
  assert.equal(report.mode, "open");
  assert.ok(report.ok, JSON.stringify(report.failures));
  // 1.2 s of schedule at 400/s: about 480, however late the timers were,
  // and far fewer than a closed loop would send.
  assert.ok(
    report.messages.sent >= 400 &&
      report.messages.sent <= 400 * (report.seconds + 1),
    `sent ${report.messages.sent} in a ${report.seconds} s window`,
  );
  assert.equal(report.messages.echoed, report.messages.sent);
  assert.ok(report.sendLag.count > 0);
  // Each message's wait from its scheduled send includes its round trip.
  assert.equal(report.scheduledLatency.count, report.latency.count);
  for (const key of ["p50", "p99", "max"] as const) {
    assert.ok(
      report.scheduledLatency[key] >= report.latency[key] * 0.999 - 1,
      `${key}: ${report.scheduledLatency[key]} < ${report.latency[key]}`,
    );
  }
  assert.ok(report.mibPerSecond > 0);
});

Deno.test("runLoad() counts a corrupting echo's mismatches and fails", async () => {
  await using server = startLocalServer(corruptingEcho);
  for (const binary of [false, true]) {
    const report = await runLoad(server.ws, {
      ...SHORT,
      connections: 2,
      inFlight: 2,
      binary,
      size: 64,
    });
    assert.ok(!report.ok);
    assert.ok(report.messages.mismatched > 0, `binary ${binary}`);
    assert.equal(report.messages.missing, 0);
    assert.match(report.failures[0] ?? "", /echo differs/);
  }
});

Deno.test("runLoad() records refused handshakes with their status", async () => {
  await using server = startLocalServer();
  const report = await runLoad(`${server.ws}/503`, {
    ...SHORT,
    connections: 3,
  });
  assert.ok(!report.ok);
  assert.equal(report.connections.opened, 0);
  assert.equal(report.connections.failed, 3);
  assert.deepEqual(report.connections.statuses, { "503": 3 });
  assert.equal(
    report.connections.refusal,
    "HTTP 503 Service Unavailable: Too many connections: the limit is 1 (Retry-After: 5)",
  );
});

Deno.test("runLoad() counts connections the server closes and their messages as missing", async () => {
  await using server = startLocalServer((socket) => {
    let count = 0;
    socket.onmessage = (event) => {
      if (++count === 5) socket.close(4000, "enough");
      else socket.send(event.data);
    };
  });
  // One in flight: nothing reaches the server after its close, which Deno
  // would answer by dropping the connection (1006) instead.
  const report = await runLoad(server.ws, {
    ...SHORT,
    connections: 2,
    inFlight: 1,
  });
  assert.ok(!report.ok);
  assert.equal(report.connections.closedEarly, 2);
  assert.ok(report.messages.missing > 0);
  assert.deepEqual(report.closes.map((row) => [row.code, row.by, row.count]), [
    [4000, "server", 2],
  ]);
});

Deno.test("runLoad() --stream measures a clean test-lab stream", async () => {
  await using server = startLocalServer(emitter);
  for (const binary of [false, true]) {
    const report = await runLoad(server.ws, {
      stream: true,
      connections: 2,
      rate: 200,
      size: 16,
      binary,
      durationMs: 500,
      warmupMs: 100,
      lateMs: 10_000,
    });
    assert.equal(report.mode, "stream");
    assert.ok(report.ok, JSON.stringify(report.failures));
    // 100 messages a second on each of 2 connections for 0.6 s.
    assert.equal(report.messages.sent, 120);
    assert.equal(report.messages.echoed, 120);
    assert.equal(report.messages.missing, 0);
    assert.equal(report.messages.reordered, 0);
    assert.ok(report.latency.count > 0);
    assert.match(report.url, /emit=60&rate=100&size=16/);
    assert.equal(server.requests.at(-1)?.url.includes("binary=1"), binary);
  }
});

Deno.test("runLoad() --stream counts loss and reordering", async () => {
  await using server = startLocalServer(emitter);
  const report = await runLoad(`${server.ws}/?lose=3&swap=6`, {
    stream: true,
    connections: 1,
    rate: 100,
    durationMs: 300,
    warmupMs: 0,
    lateMs: 10_000,
  });
  assert.ok(!report.ok);
  assert.equal(report.messages.sent, 30);
  assert.equal(report.messages.missing, 1);
  assert.equal(report.messages.reordered, 1);
  assert.equal(report.messages.echoed, 29);
});

Deno.test("runLoad() --stream against wsecho's own test lab", async () => {
  await using server = startServer();
  for (const binary of [false, true]) {
    const report = await runLoad(`${server.ws}?welcome=0`, {
      stream: true,
      connections: 2,
      rate: 400,
      size: 64,
      binary,
      durationMs: 500,
      warmupMs: 100,
      lateMs: 10_000,
    });
    assert.ok(report.ok, JSON.stringify(report.failures));
    // 200 messages a second on each of 2 connections for 0.6 s.
    assert.equal(report.messages.sent, 240);
    assert.equal(report.messages.echoed, 240);
    assert.equal(report.messages.missing, 0);
    assert.equal(report.messages.reordered, 0);
    assert.equal(report.messages.mismatched, 0);
    assert.ok(report.latency.count > 0);
  }
});
