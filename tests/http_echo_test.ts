import assert from "node:assert/strict";
import {
  createHttpEchoHandler,
  type EchoReflection,
} from "../handlers/http/echo.ts";

const INFO = {
  remoteAddr: { transport: "tcp", hostname: "192.0.2.7", port: 40_000 },
  completed: Promise.resolve(),
} as Deno.ServeHandlerInfo<Deno.NetAddr>;

const echo = createHttpEchoHandler({ maxMessageSize: 1024 });

Deno.test("createHttpEchoHandler() reflects a GET", async () => {
  const response = await echo(
    new Request("http://localhost/echo/a/b%20c?x=1&y=2&x=3&empty", {
      headers: { "X-Custom": "Yes", accept: "application/json" },
    }),
    INFO,
  );
  assert.equal(response.status, 200);
  assert.equal(
    response.headers.get("content-type"),
    "application/json; charset=utf-8",
  );
  assert.equal(response.headers.get("cache-control"), "no-store");
  const body: EchoReflection = await response.json();
  assert.deepEqual(body, {
    method: "GET",
    path: "/echo/a/b%20c",
    query: { x: ["1", "3"], y: "2", empty: "" },
    headers: { "x-custom": "Yes", accept: "application/json" },
    body: "",
    bodyBytes: 0,
    remote: { address: "192.0.2.7", port: 40_000 },
  });
});

Deno.test("createHttpEchoHandler() reflects any method and a UTF-8 body", async () => {
  for (
    const method of ["POST", "PUT", "PATCH", "DELETE", "OPTIONS", "PROPFIND"]
  ) {
    const response = await echo(
      new Request("http://localhost/echo", { method, body: "héllo ✓" }),
      INFO,
    );
    const body: EchoReflection = await response.json();
    assert.equal(body.method, method);
    assert.equal(body.body, "héllo ✓");
    assert.equal(body.bodyBytes, 10);
    assert.equal(body.bodyEncoding, undefined);
  }
});

Deno.test("createHttpEchoHandler() answers HEAD with headers only", async () => {
  const response = await echo(
    new Request("http://localhost/echo", { method: "HEAD" }),
    INFO,
  );
  assert.equal(response.status, 200);
  assert.equal(response.body, null);
});

Deno.test("createHttpEchoHandler() sends a body that is not UTF-8 as base64", async () => {
  const bytes = new Uint8Array([0xff, 0x00, 0xc3, 0x28, 0x41]);
  const response = await echo(
    new Request("http://localhost/echo", { method: "POST", body: bytes }),
    INFO,
  );
  const body: EchoReflection = await response.json();
  assert.equal(body.bodyEncoding, "base64");
  assert.equal(body.body, "/wDDKEE=");
  assert.equal(body.bodyBytes, 5);
});

Deno.test("createHttpEchoHandler() keeps a byte order mark", async () => {
  const response = await echo(
    new Request("http://localhost/echo", {
      method: "POST",
      body: new Uint8Array([0xef, 0xbb, 0xbf, 0x41]),
    }),
    INFO,
  );
  const body: EchoReflection = await response.json();
  assert.equal(body.body, "\ufeffA");
});

Deno.test("createHttpEchoHandler() answers with the asked status and Retry-After", async () => {
  const response = await echo(
    new Request("http://localhost/echo?status=429&retry_after=30"),
    INFO,
  );
  assert.equal(response.status, 429);
  assert.equal(response.headers.get("retry-after"), "30");
  const body: EchoReflection = await response.json();
  assert.deepEqual(body.query, { status: "429", retry_after: "30" });
  // retry_after alone sets nothing: it only goes with a refusal.
  const plain = await echo(
    new Request("http://localhost/echo?retry_after=30"),
    INFO,
  );
  assert.equal(plain.status, 200);
  assert.equal(plain.headers.get("retry-after"), null);
  await plain.body?.cancel();
});

Deno.test("createHttpEchoHandler() waits for delay", async () => {
  const start = performance.now();
  const response = await echo(
    new Request("http://localhost/echo?delay=150"),
    INFO,
  );
  const elapsed = performance.now() - start;
  await response.body?.cancel();
  assert.ok(elapsed >= 145, `answered after ${elapsed} ms`);
});

Deno.test("createHttpEchoHandler() answers a pending delay at once on shutdown", async () => {
  const controller = new AbortController();
  const handler = createHttpEchoHandler({ signal: controller.signal });
  const start = performance.now();
  const pending = handler(
    new Request("http://localhost/echo?delay=60000"),
    INFO,
  );
  setTimeout(() => controller.abort(), 50);
  const response = await pending;
  await response.body?.cancel();
  assert.ok(performance.now() - start < 10_000);
});

Deno.test("createHttpEchoHandler() refuses bad lab values with 400", async () => {
  const cases: [string, string][] = [
    [
      "status=200",
      'Bad lab parameter "status": "200" is not an integer from 400 to 599 (an HTTP status)\n',
    ],
    [
      "delay=60001",
      'Bad lab parameter "delay": "60001" is not an integer from 0 to 60000 (milliseconds)\n',
    ],
    [
      "retry_after=soon",
      'Bad lab parameter "retry_after": "soon" is not an integer from 0 to 86400 (seconds)\n',
    ],
  ];
  for (const [query, message] of cases) {
    const response = await echo(
      new Request(`http://localhost/echo?${query}`, {
        method: "POST",
        body: "x",
      }),
      INFO,
    );
    assert.equal(response.status, 400, query);
    assert.equal(await response.text(), message);
  }
  // Parameters of /ws only are not /echo's: ignored.
  const response = await echo(
    new Request("http://localhost/echo?drop=7&emit=x"),
    INFO,
  );
  assert.equal(response.status, 200);
  await response.body?.cancel();
});

Deno.test("createHttpEchoHandler() with the lab off refuses lab parameters with 403", async () => {
  const off = createHttpEchoHandler({ lab: false });
  for (const query of ["status=503", "delay=10", "retry_after=1"]) {
    const response = await off(
      new Request(`http://localhost/echo?${query}`),
      INFO,
    );
    assert.equal(response.status, 403);
    assert.match(
      await response.text(),
      /^The test lab is off on this server: parameter "\w+" is refused \(started with --no-lab\)\n$/,
    );
  }
  const response = await off(new Request("http://localhost/echo?x=1"), INFO);
  assert.equal(response.status, 200);
  await response.body?.cancel();
});

Deno.test("createHttpEchoHandler() refuses a body over the limit with 413", async () => {
  // Declared too large: refused before a byte is read.
  const declared = await echo(
    new Request("http://localhost/echo", {
      method: "POST",
      body: "x".repeat(1025),
    }),
    INFO,
  );
  assert.equal(declared.status, 413);
  assert.equal(
    await declared.text(),
    "Request body too large: the limit is 1024 bytes (--max-message-size)\n",
  );
  // Streamed with no length: reading stops at the first chunk past the limit.
  let pulled = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled++;
      if (pulled > 100) controller.close();
      else controller.enqueue(new Uint8Array(400));
    },
  });
  const streamed = await echo(
    new Request("http://localhost/echo", { method: "POST", body }),
    INFO,
  );
  assert.equal(streamed.status, 413);
  await streamed.body?.cancel();
  assert.ok(pulled <= 5, `pulled ${pulled} chunks`);
  // At the limit: echoed.
  const exact = await echo(
    new Request("http://localhost/echo", {
      method: "POST",
      body: "y".repeat(1024),
    }),
    INFO,
  );
  assert.equal(exact.status, 200);
  assert.equal((await exact.json()).bodyBytes, 1024);
});

Deno.test("createHttpEchoHandler() over a real socket: 413 for a chunked upload, reflection of the peer", async () => {
  const controller = new AbortController();
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    signal: controller.signal,
    onListen() {},
  }, createHttpEchoHandler({ maxMessageSize: 64 * 1024 }));
  try {
    const { port } = server.addr;
    const response = await fetch(`http://127.0.0.1:${port}/echo/x?delay=100`, {
      method: "POST",
      body: new Uint8Array([0xff, 1, 2]),
    });
    const body: EchoReflection = await response.json();
    assert.equal(response.status, 200);
    assert.equal(body.path, "/echo/x");
    assert.equal(body.body, "/wEC");
    assert.equal(body.bodyEncoding, "base64");
    assert.equal(body.remote.address, "127.0.0.1");
    assert.ok(body.remote.port > 0 && body.remote.port !== port);
    assert.equal(body.headers["content-length"], "3");

    // A chunked upload with no length, up to 16 MiB in 16 KiB chunks.
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      const encoder = new TextEncoder();
      await conn.write(encoder.encode(
        "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
      ));
      const chunk = new Uint8Array(16 * 1024).fill(0x61);
      const frame = new Uint8Array([
        ...encoder.encode(`${chunk.length.toString(16)}\r\n`),
        ...chunk,
        ...encoder.encode("\r\n"),
      ]);
      let sent = 0;
      const reply = (async () => {
        const buffer = new Uint8Array(4096);
        const n = await conn.read(buffer);
        return new TextDecoder().decode(buffer.subarray(0, n ?? 0));
      })();
      // The server answers after 64 KiB; stop writing when it has.
      let answered = false;
      reply.then(() => answered = true, () => answered = true);
      while (!answered && sent < 1024) {
        try {
          await conn.write(frame);
        } catch {
          break; // The server closed the connection after its 413.
        }
        sent++;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      const text = await reply;
      assert.match(text, /^HTTP\/1\.1 413 /);
      assert.match(text, /the limit is 65536 bytes/);
      assert.ok(sent < 1024, `the server waited for all ${sent} chunks`);
    } finally {
      conn.close();
    }
  } finally {
    controller.abort();
    await server.finished;
  }
});
