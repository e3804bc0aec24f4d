import assert from "node:assert/strict";
import { NodeWebSocket } from "./deps.ts";
import {
  closeSocket,
  connect,
  Inbox,
  startServer,
  waitFor,
} from "./test_utils.ts";
import { VERSION } from "../src/config/version.ts";

const decoder = new TextDecoder();

Deno.test("GET /client serves the embedded page with a strict policy", async () => {
  await using s = startServer();
  const res = await fetch(`${s.http}/client`);
  const body = await res.text();
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "text/html; charset=utf-8");
  assert.equal(res.headers.get("x-content-type-options"), "nosniff");
  const csp = res.headers.get("content-security-policy") ?? "";
  assert.match(csp, /default-src 'none'/);
  // Only the page's own script and style run: by hash, not 'unsafe-inline'.
  assert.match(csp, /script-src 'sha256-[A-Za-z0-9+/]+=*'(;|$)/);
  assert.match(csp, /style-src 'sha256-[A-Za-z0-9+/]+=*'(;|$)/);
  assert.doesNotMatch(csp, /unsafe-inline/);
  // WebSockets to any server; fetch and EventSource to its own origin.
  assert.match(csp, /connect-src 'self' ws: wss:(;|$)/);
  assert.equal(
    body,
    await Deno.readTextFile(new URL("../client.html", import.meta.url)),
  );

  const head = await fetch(`${s.http}/client`, { method: "HEAD" });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get("content-type"), "text/html; charset=utf-8");
  assert.equal(await head.text(), "");
});

Deno.test("GET /ws with a broken handshake answers 400, never 500", async () => {
  await using s = startServer();
  // Upgrade headers without Sec-WebSocket-Key: Deno.upgradeWebSocket throws.
  const res = await fetch(`${s.http}/ws`, {
    headers: {
      upgrade: "websocket",
      connection: "Upgrade",
      "sec-websocket-version": "13",
    },
  });
  assert.equal(res.status, 400);
  assert.match(await res.text(), /Bad WebSocket handshake/);
});

Deno.test("GET /healthz reports status, connections, uptime and version", async () => {
  await using s = startServer();
  const ws = await connect(`${s.ws}?welcome=0`);
  try {
    const res = await fetch(`${s.http}/healthz`);
    const body = await res.json();
    assert.equal(res.status, 200);
    assert.equal(body.status, "ok");
    assert.equal(body.connections, 1);
    assert.equal(body.version, VERSION);
    assert.equal(typeof body.uptime_s, "number");
    assert.deepEqual(body.protocols, ["wsecho.v1"]);
  } finally {
    await closeSocket(ws);
  }
});

Deno.test("welcome message: on by default, off with ?welcome=0 and with welcome: false", async (t) => {
  await t.step("default", async () => {
    await using s = startServer();
    const ws = await connect(s.ws);
    const inbox = new Inbox(ws);
    try {
      const welcome = await inbox.json();
      assert.equal(welcome.type, "welcome");
      assert.equal(welcome.server, "wsecho");
      assert.equal(welcome.version, VERSION);
      assert.match(String(welcome.id), /^[0-9a-f]{12}$/);
      assert.equal(welcome.protocol, "");
      ws.send("after");
      assert.equal(await inbox.next(), "after");
    } finally {
      await closeSocket(ws);
    }
  });
  for (
    const [name, options, query] of [
      ["?welcome=0", {}, "?welcome=0"],
      ["--no-welcome", { welcome: false }, ""],
    ] as const
  ) {
    await t.step(name, async () => {
      await using s = startServer(options);
      const ws = await connect(`${s.ws}${query}`);
      const inbox = new Inbox(ws);
      try {
        // The first message must be our own echo: nothing unsolicited came first.
        ws.send("first");
        assert.equal(await inbox.next(), "first");
      } finally {
        await closeSocket(ws);
      }
    });
  }
});

Deno.test("echo: text, binary, empty, unicode and 1 MiB come back exactly", async () => {
  await using s = startServer({ welcome: false });
  const ws = await connect(s.ws);
  const inbox = new Inbox(ws);
  try {
    const texts = [
      "hello",
      "",
      "héllo wörld 😀 日本 \u0000 \uFEFF",
      "x".repeat(1 << 20),
    ];
    for (const text of texts) {
      ws.send(text);
      assert.equal(await inbox.next(), text);
    }
    const bytes = crypto.getRandomValues(new Uint8Array(65_536));
    const big = new Uint8Array(1 << 20).map((_, i) => i * 7);
    for (
      const payload of [
        new Uint8Array([0, 1, 255]),
        new Uint8Array(0),
        bytes,
        big,
      ]
    ) {
      ws.send(payload);
      const echoed = await inbox.next();
      assert.ok(echoed instanceof ArrayBuffer, "binary stays binary");
      assert.deepEqual(new Uint8Array(echoed), payload);
    }
  } finally {
    await closeSocket(ws);
  }
});

Deno.test("echo: 1,000 pipelined messages return in order", async () => {
  await using s = startServer({ welcome: false });
  const ws = await connect(s.ws);
  const inbox = new Inbox(ws);
  try {
    for (let i = 0; i < 1000; i++) {
      ws.send(i % 2 ? `m${i}` : new TextEncoder().encode(`b${i}`));
    }
    for (let i = 0; i < 1000; i++) {
      const data = await inbox.next();
      const text = typeof data === "string" ? data : decoder.decode(data);
      assert.equal(text, i % 2 ? `m${i}` : `b${i}`);
    }
  } finally {
    await closeSocket(ws);
  }
});

Deno.test("echo works with npm:ws, an independent client implementation", async () => {
  await using s = startServer();
  const ws = new NodeWebSocket(s.ws);
  const messages: { data: string | Buffer; binary: boolean }[] = [];
  const opened = Promise.withResolvers<void>();
  const closed = Promise.withResolvers<number>();
  ws.on("open", () => opened.resolve());
  ws.on("error", (e: Error) => opened.reject(e));
  ws.on(
    "message",
    (data: Buffer, binary: boolean) => messages.push({ data, binary }),
  );
  ws.on("close", (code: number) => closed.resolve(code));
  try {
    await opened.promise;
    ws.send("text é");
    ws.send(new Uint8Array([1, 2, 3]));
    ws.send("");
    await waitFor(() => messages.length === 4, "4 messages");
    assert.equal(JSON.parse(messages[0]!.data.toString()).type, "welcome");
    assert.deepEqual(
      messages.slice(1).map((m) => [m.binary, [...m.data as Buffer]]),
      [
        [false, [...new TextEncoder().encode("text é")]],
        [true, [1, 2, 3]],
        [false, []],
      ],
    );
  } finally {
    ws.close(1000);
    assert.equal(await closed.promise, 1000);
  }
});

Deno.test("registry: back to 0 after clients close and after one vanishes", async () => {
  await using s = startServer({ welcome: false });
  const { registry } = s.server.state;
  const sockets = await Promise.all([1, 2, 3].map(() => connect(s.ws)));
  await waitFor(() => registry.size === 3, "3 connections");
  await Promise.all(sockets.map((ws) => closeSocket(ws)));
  await waitFor(() => registry.size === 0, "registry to empty after close");

  // A raw client that completes the handshake, then drops TCP without a close frame.
  const conn = await Deno.connect({
    hostname: "127.0.0.1",
    port: s.server.addr.port,
  });
  await conn.write(new TextEncoder().encode(
    "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
  ));
  const buffer = new Uint8Array(1024);
  const n = await conn.read(buffer);
  assert.match(decoder.decode(buffer.subarray(0, n ?? 0)), /^HTTP\/1.1 101/);
  await waitFor(() => registry.size === 1, "the raw client to register");
  conn.close();
  await waitFor(
    () => registry.size === 0,
    "registry to empty after a vanished peer",
  );
});

Deno.test("shutdown closes open clients with 1001 and finishes", async () => {
  const s = startServer({ welcome: false });
  const sockets = await Promise.all([1, 2].map(() => connect(s.ws)));
  const closes = sockets.map((ws) => new Inbox(ws).closed);
  await s.stop();
  for (const event of await Promise.all(closes)) {
    assert.equal(event.code, 1001);
    assert.equal(event.reason, "server shutting down");
  }
  assert.equal(s.server.state.registry.size, 0);
});

Deno.test("GET /metrics exposes Prometheus counters that move", async () => {
  await using s = startServer({ welcome: false });
  const ws = await connect(s.ws);
  const inbox = new Inbox(ws);
  ws.send("abc");
  await inbox.next();
  await closeSocket(ws);
  await waitFor(() => s.server.state.registry.size === 0, "close");
  const res = await fetch(`${s.http}/metrics`);
  const text = await res.text();
  assert.equal(
    res.headers.get("content-type"),
    "text/plain; version=0.0.4; charset=utf-8",
  );
  const samples = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([a-z_]+(?:\{[^}]*\})?) (\S+)$/.exec(line);
    assert.ok(match, `bad sample line: ${line}`);
    samples.set(match[1]!, Number(match[2]));
  }
  for (
    const name of new Set([...samples.keys()].map((k) => k.replace(/\{.*/, "")))
  ) {
    assert.match(text, new RegExp(`# HELP ${name} \\S`), name);
    assert.match(text, new RegExp(`# TYPE ${name} (counter|gauge)`), name);
  }
  assert.equal(samples.get('wsecho_build_info{version="' + VERSION + '"}'), 1);
  assert.equal(samples.get("wsecho_connections_accepted_total"), 1);
  assert.equal(samples.get('wsecho_messages_received_total{mode="echo"}'), 1);
  assert.equal(samples.get('wsecho_messages_sent_total{mode="echo"}'), 1);
  assert.equal(samples.get('wsecho_received_bytes_total{mode="echo"}'), 3);
  assert.equal(samples.get('wsecho_closes_total{code="1000"}'), 1);
  assert.equal(samples.get("wsecho_connections_open"), 0);
  assert.ok((samples.get("process_resident_memory_bytes") ?? 0) > 1e6);
});
