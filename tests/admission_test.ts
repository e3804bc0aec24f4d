/**
 * Admission over real sockets: subprotocol lists in any valid spelling, the
 * welcome parameter, and the per-IP policy for loopback peers and proxies.
 */
import assert from "node:assert/strict";
import { NodeWebSocket } from "./deps.ts";
import { type HandshakeResponse, RawClient } from "./raw_client.ts";
import {
  closeSocket,
  connect,
  Inbox,
  startServer,
  type TestServer,
} from "./test_utils.ts";

async function handshake(
  ts: TestServer,
  options: { path?: string; headers?: Record<string, string> } = {},
): Promise<HandshakeResponse> {
  const client = await RawClient.connect({ port: ts.server.addr.port });
  try {
    const response = await client.handshake(options);
    if (response.status === 101) await client.closeHandshake();
    return response;
  } finally {
    await client.closed();
  }
}

Deno.test("admission: npm ws offering two protocols without spaces gets wsecho.v1", async () => {
  await using ts = startServer();
  const ws = new NodeWebSocket(`${ts.ws}?welcome=0`, ["wsecho.v1", "foo"]);
  const opened = Promise.withResolvers<string>();
  ws.on("open", () => opened.resolve(ws.protocol));
  ws.on("error", (error: Error) => opened.reject(error));
  ws.on(
    "unexpected-response",
    (_request: unknown, response: { statusCode: number }) =>
      opened.reject(new Error(`status ${response.statusCode}`)),
  );
  const closed = new Promise((resolve) => ws.on("close", resolve));
  try {
    assert.equal(await opened.promise, "wsecho.v1");
  } finally {
    ws.close(1000);
    await closed;
  }
});

Deno.test("admission: every valid spelling of the protocol list negotiates", async (t) => {
  await using ts = startServer();
  for (
    const offer of [
      "wsecho.v1,foo",
      "foo ,wsecho.v1",
      "foo,\twsecho.v1 ",
      "foo , wsecho.v1",
      "wsecho.v1",
    ]
  ) {
    await t.step(JSON.stringify(offer), async () => {
      const response = await handshake(ts, {
        headers: { "sec-websocket-protocol": offer },
      });
      assert.equal(response.status, 101);
      assert.equal(response.headers.get("sec-websocket-protocol"), "wsecho.v1");
    });
  }
  await t.step(
    "an offer of unknown protocols only gets the echo, no protocol",
    async () => {
      const response = await handshake(ts, {
        headers: { "sec-websocket-protocol": "chat,superchat" },
      });
      assert.equal(response.status, 101);
      assert.equal(response.headers.get("sec-websocket-protocol"), null);
    },
  );
});

Deno.test("admission: ?welcome= takes the boolean words and refuses others with 400", async (t) => {
  await using ts = startServer();
  for (const word of ["0", "false", "no", "off", "OFF"]) {
    await t.step(`welcome=${word} sends nothing unsolicited`, async () => {
      const ws = await connect(`${ts.ws}?welcome=${word}`);
      const inbox = new Inbox(ws);
      ws.send("first");
      assert.equal(await inbox.next(), "first");
      await closeSocket(ws);
    });
  }
  await t.step("welcome=yes keeps the welcome", async () => {
    const ws = await connect(`${ts.ws}?welcome=yes`);
    const inbox = new Inbox(ws);
    assert.equal((await inbox.json()).type, "welcome");
    await closeSocket(ws);
  });
  await t.step("welcome=maybe is refused with one line", async () => {
    const response = await handshake(ts, { path: "/ws?welcome=maybe" });
    assert.equal(response.status, 400);
    assert.equal(
      response.body,
      'Invalid query parameter welcome: "maybe" is not one of 1, true, yes, on, 0, false, no, off\n',
    );
  });
});

Deno.test("admission: loopback peers are not capped per IP unless limitLoopback", async (t) => {
  await t.step(
    "by default 5 loopback connections pass a per-IP cap of 2",
    async () => {
      await using ts = startServer({ maxConnectionsPerIp: 2 });
      const sockets = [];
      try {
        for (let i = 0; i < 5; i++) sockets.push(await connect(ts.ws));
        assert.equal(ts.server.state.registry.size, 5);
      } finally {
        for (const ws of sockets) await closeSocket(ws);
      }
    },
  );
});

Deno.test("admission: behind a trusted proxy the forwarded client is capped, not the proxy", async (t) => {
  await using ts = startServer({
    maxConnectionsPerIp: 1,
    trustedProxy: ["127.0.0.1"],
  });
  const clients: RawClient[] = [];
  async function open(headers: Record<string, string>) {
    const client = await RawClient.connect({ port: ts.server.addr.port });
    const response = await client.handshake({ headers });
    if (response.status === 101) clients.push(client);
    else await client.closed();
    return response;
  }
  try {
    await t.step(
      "two clients through the proxy each get a connection",
      async () => {
        assert.equal(
          (await open({ "x-forwarded-for": "203.0.113.1" })).status,
          101,
        );
        assert.equal(
          (await open({ forwarded: 'for="[2001:db8::1]:4711";proto=https' }))
            .status,
          101,
        );
      },
    );
    await t.step(
      "the same forwarded client again gets 503 naming it",
      async () => {
        const response = await open({
          "x-forwarded-for": "198.51.100.9, 203.0.113.1",
        });
        assert.equal(response.status, 503);
        assert.equal(
          response.body,
          "Too many connections from 203.0.113.1: the limit is 1\n",
        );
      },
    );
  } finally {
    for (const client of clients) {
      await client.closeHandshake();
      await client.closed();
    }
  }
});
