import assert from "node:assert/strict";
import {
  closeSocket,
  connect,
  Inbox,
  startServer,
  type TestServer,
  waitFor,
} from "./test_utils.ts";
import { JSON_PROTOCOL } from "../src/config/constants.ts";
import type { MessageKind } from "../src/protocol/kind.ts";
import { type ClientMessage, MESSAGE_KINDS } from "../src/protocol/kinds.ts";
import { MAX_ROOMS_PER_CONNECTION } from "../src/config/limits.ts";
import { VERSION } from "../src/config/version.ts";

const encoder = new TextEncoder();

/** Encodes one short, masked client text frame (RFC 6455 5.2). */
function maskedTextFrame(text: string): Uint8Array {
  const payload = encoder.encode(text);
  assert.ok(payload.length < 126);
  const mask = crypto.getRandomValues(new Uint8Array(4));
  return new Uint8Array([
    0x81,
    0x80 | payload.length,
    ...mask,
    ...payload.map((byte, i) => byte ^ mask[i % 4]!),
  ]);
}

/** A `wsecho.v1` client: its socket, inbox and the id the welcome gave it. */
interface Client {
  ws: WebSocket;
  inbox: Inbox;
  id: string;
  request(
    message: ClientMessage | Record<string, unknown>,
  ): Promise<Record<string, unknown>>;
}

async function join(
  s: TestServer,
  protocols: string | string[] = JSON_PROTOCOL,
): Promise<Client> {
  const ws = await connect(s.ws, protocols);
  const inbox = new Inbox(ws);
  const welcome = await inbox.json();
  assert.equal(welcome.type, "welcome");
  return {
    ws,
    inbox,
    id: String(welcome.id),
    request(message) {
      ws.send(JSON.stringify(message));
      return inbox.json();
    },
  };
}

Deno.test("subprotocol negotiation", async (t) => {
  await using s = startServer();
  const cases: [string, string | string[] | undefined, string][] = [
    ["offered", JSON_PROTOCOL, JSON_PROTOCOL],
    ["not offered", undefined, ""],
    ["several offered: the supported one wins", [
      "chat",
      JSON_PROTOCOL,
      "other",
    ], JSON_PROTOCOL],
  ];
  for (const [name, offered, expected] of cases) {
    await t.step(name, async () => {
      const ws = await connect(s.ws, offered);
      const inbox = new Inbox(ws);
      try {
        assert.equal(ws.protocol, expected);
        const welcome = await inbox.json();
        assert.equal(welcome.protocol, expected);
        assert.deepEqual(welcome.protocols, [JSON_PROTOCOL]);
      } finally {
        await closeSocket(ws);
      }
    });
  }
  await t.step("unknown only: the handshake omits the header", async () => {
    // Browsers fail such a handshake by design (RFC 6455 4.1); a raw request shows
    // that the server leaves the header out rather than echo an unsupported name.
    const res = await fetch(`${s.http}/ws`, {
      headers: {
        upgrade: "websocket",
        connection: "Upgrade",
        "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
        "sec-websocket-version": "13",
        "sec-websocket-protocol": "chat, superchat",
      },
    });
    assert.equal(res.status, 101);
    assert.equal(res.headers.get("sec-websocket-protocol"), null);
    await res.body?.cancel();
    await waitFor(
      () => s.server.state.registry.size === 0,
      "the half-open socket to go",
    );
  });
});

Deno.test("wsecho.v1: every kind answers with the request id", async () => {
  await using s = startServer();
  const a = await join(s);
  try {
    assert.deepEqual(
      await a.request({ type: "echo", id: 1, data: { x: [1, "é"] } }),
      {
        type: "echo",
        id: 1,
        data: { x: [1, "é"] },
      },
    );
    const pong = await a.request({ type: "ping", id: "p" });
    assert.equal(pong.type, "pong");
    assert.equal(pong.id, "p");
    assert.ok(Math.abs(Number(pong.t) - Date.now()) < 5_000);
    assert.deepEqual(await a.request({ type: "join", id: 2, room: "lobby" }), {
      type: "joined",
      id: 2,
      room: "lobby",
      members: 1,
    });
    const info = await a.request({ type: "info", id: 3 });
    assert.equal(info.version, VERSION);
    assert.equal(info.connections, 1);
    assert.equal(info.rooms, 1);
    assert.deepEqual(info.connection, { id: a.id, rooms: ["lobby"] });
    assert.deepEqual(
      await a.request({ type: "broadcast", id: 4, room: "lobby", data: 1 }),
      {
        type: "sent",
        id: 4,
        delivered: 0,
      },
    );
    assert.deepEqual(await a.request({ type: "leave", id: 5, room: "lobby" }), {
      type: "left",
      id: 5,
      room: "lobby",
      members: 0,
    });
    // A reply without an id when the request had none.
    assert.deepEqual(await a.request({ type: "echo", data: 0 }), {
      type: "echo",
      data: 0,
    });
    // Binary is echoed as binary in JSON mode too.
    a.ws.send(new Uint8Array([9, 8, 7]));
    assert.deepEqual(
      new Uint8Array(await a.inbox.next() as ArrayBuffer),
      new Uint8Array([9, 8, 7]),
    );
  } finally {
    await closeSocket(a.ws);
  }
});

Deno.test("wsecho.v1: bad input gets an error frame and the connection lives on", async () => {
  await using s = startServer();
  const a = await join(s);
  const cases: [string, string, string | number | undefined][] = [
    ["{not json", "bad_json", undefined],
    ["[1,2]", "bad_message", undefined],
    ['{"id":1}', "bad_message", 1],
    ['{"type":7,"id":"x"}', "bad_message", "x"],
    ['{"type":"nope","id":2}', "unknown_type", 2],
    ['{"type":"toString","id":3}', "unknown_type", 3],
    ['{"type":"echo","id":4}', "bad_message", 4],
    ['{"type":"join","id":5,"room":"a b"}', "bad_room", 5],
    ['{"type":"join","id":6,"room":42}', "bad_room", 6],
    ['{"type":"leave","id":7,"room":"never"}', "not_in_room", 7],
    ['{"type":"broadcast","id":8,"room":"never","data":1}', "not_in_room", 8],
  ];
  try {
    for (const [text, code, id] of cases) {
      a.ws.send(text);
      const error = await a.inbox.json();
      assert.equal(error.type, "error", text);
      assert.equal(error.code, code, text);
      assert.equal(error.id, id, text);
      assert.equal(typeof error.message, "string");
    }
    for (let i = 0; i < MAX_ROOMS_PER_CONNECTION; i++) {
      assert.equal(
        (await a.request({ type: "join", room: `r${i}` })).type,
        "joined",
      );
    }
    const full = await a.request({ type: "join", id: 9, room: "one-too-many" });
    assert.equal(full.code, "too_many_rooms");
    assert.deepEqual(await a.request({ type: "echo", id: 10, data: "alive" }), {
      type: "echo",
      id: 10,
      data: "alive",
    });
  } finally {
    await closeSocket(a.ws);
  }
});

Deno.test("wsecho.v1: a handler that throws fails its own request only", async () => {
  const logs: string[] = [];
  const boom: MessageKind = {
    type: "boom",
    about: "always throws",
    example: {},
    parse: (envelope) => envelope,
    handle() {
      throw new Error("handler bug");
    },
  };
  await using s = startServer({
    messageKinds: [...MESSAGE_KINDS, boom],
    log: (line) => logs.push(line),
  });
  const [a, b] = [await join(s), await join(s)];
  try {
    assert.deepEqual(await a.request({ type: "boom", id: 1 }), {
      type: "error",
      id: 1,
      code: "internal_error",
      message: "The server failed to handle this message",
    });
    assert.equal((await a.request({ type: "ping", id: 2 })).type, "pong");
    assert.equal((await b.request({ type: "ping", id: 3 })).type, "pong");
    assert.ok(
      logs.some((line) => line.includes("handler failed: Error: handler bug")),
    );
    const info = await b.request({ type: "info" });
    assert.equal(info.connections, 2);
  } finally {
    await Promise.all([closeSocket(a.ws), closeSocket(b.ws)]);
  }
});

Deno.test("wsecho.v1: broadcast reaches the room's other members only", async () => {
  await using s = startServer();
  const clients = await Promise.all([1, 2, 3, 4, 5].map(() => join(s)));
  const [sender, ...rest] = clients as [Client, ...Client[]];
  const members = rest.slice(0, 3);
  const outsider = rest[3]!;
  const raw = await connect(`${s.ws}?welcome=0`);
  const rawInbox = new Inbox(raw);
  try {
    for (const c of [sender, ...members]) {
      await c.request({ type: "join", room: "r" });
    }
    const sent = await sender.request({
      type: "broadcast",
      id: 1,
      room: "r",
      data: { n: 1 },
    });
    assert.deepEqual(sent, { type: "sent", id: 1, delivered: 3 });
    for (const m of members) {
      assert.deepEqual(await m.inbox.json(), {
        type: "message",
        room: "r",
        from: sender.id,
        data: { n: 1 },
      });
    }
    // Everyone-broadcast: every other wsecho.v1 connection, never a raw echo client.
    const all = await outsider.request({
      type: "broadcast",
      id: 2,
      data: "hi",
    });
    assert.deepEqual(all, { type: "sent", id: 2, delivered: 4 });
    for (const c of [sender, ...members]) {
      assert.deepEqual(await c.inbox.json(), {
        type: "message",
        room: null,
        from: outsider.id,
        data: "hi",
      });
    }
    // Nothing else arrived anywhere: a final echo is each client's next message.
    for (const c of clients) {
      assert.deepEqual(await c.request({ type: "echo", data: "end" }), {
        type: "echo",
        data: "end",
      });
    }
    raw.send("raw");
    assert.equal(await rawInbox.next(), "raw");
  } finally {
    await Promise.all([
      ...clients.map((c) => closeSocket(c.ws)),
      closeSocket(raw),
    ]);
  }
});

Deno.test("wsecho.v1: rooms are emptied on close and on abrupt disconnect", async () => {
  await using s = startServer();
  const { rooms, registry } = s.server.state;
  const a = await join(s);
  await a.request({ type: "join", room: "x" });
  await a.request({ type: "join", room: "y" });
  assert.equal(rooms.size, 2);
  await closeSocket(a.ws);
  await waitFor(
    () => rooms.size === 0 && registry.size === 0,
    "rooms to empty after close",
  );

  // A raw client joins a room, then drops TCP without a close frame.
  const conn = await Deno.connect({
    hostname: "127.0.0.1",
    port: s.server.addr.port,
  });
  await conn.write(encoder.encode(
    "GET /ws?welcome=0 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
      `Sec-WebSocket-Protocol: ${JSON_PROTOCOL}\r\n\r\n`,
  ));
  await conn.write(maskedTextFrame('{"type":"join","room":"x"}'));
  await waitFor(() => rooms.size === 1, "the raw client to join");
  conn.close();
  await waitFor(
    () => rooms.size === 0 && registry.size === 0,
    "rooms to empty after a drop",
  );
});

Deno.test("wsecho.v1: 100 clients x 100 broadcasts arrive exactly once, in per-sender order", async () => {
  await using s = startServer({ maxConnectionsPerIp: 0 });
  const clients: Client[] = [];
  for (let i = 0; i < 100; i++) clients.push(await join(s));
  try {
    await Promise.all(
      clients.map((c) => c.request({ type: "join", room: "all" })),
    );
    const received = clients.map(() => new Map<string, number[]>());
    const acks = clients.map(() => 0);
    const done = Promise.all(clients.map((c, i) => {
      const { promise, resolve, reject } = Promise.withResolvers<void>();
      let count = 0;
      c.ws.addEventListener("message", (event) => {
        const message = JSON.parse(event.data);
        if (message.type === "sent") {
          assert.equal(message.delivered, 99);
          acks[i]!++;
        } else if (message.type === "message") {
          const list = received[i]!.get(message.from) ?? [];
          list.push(message.data);
          received[i]!.set(message.from, list);
          count++;
        } else reject(new Error(`unexpected ${event.data}`));
        if (count === 99 * 100 && acks[i] === 100) resolve();
      });
      return promise;
    }));
    for (let n = 0; n < 100; n++) {
      for (const c of clients) {
        c.ws.send(JSON.stringify({ type: "broadcast", room: "all", data: n }));
      }
    }
    await done;
    const expected = Array.from({ length: 100 }, (_, n) => n);
    for (const [i, byFrom] of received.entries()) {
      assert.equal(byFrom.size, 99);
      assert.ok(!byFrom.has(clients[i]!.id), "the sender is excluded");
      for (const list of byFrom.values()) assert.deepEqual(list, expected);
    }
  } finally {
    await Promise.all(clients.map((c) => closeSocket(c.ws)));
  }
  await waitFor(() => s.server.state.rooms.size === 0, "rooms to empty");
});
