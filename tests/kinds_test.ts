import assert from "node:assert/strict";
import {
  errorMessage,
  parseEnvelope,
  peekId,
  ProtocolError,
  readRoom,
} from "../src/protocol/envelope.ts";
import {
  type ClientMessage,
  indexKinds,
  MESSAGE_KINDS,
} from "../src/protocol/kinds.ts";
import { type KindContext, summarizeKinds } from "../src/protocol/kind.ts";
import { createKindContext } from "../src/session/kind_context.ts";
import type { Connection } from "../src/core/connection.ts";
import { DEFAULT_CONFIG } from "../src/config/options.ts";
import { MAX_ROOMS_PER_CONNECTION } from "../src/config/limits.ts";
import { createState, type ServerState } from "../src/core/state.ts";
import { VERSION } from "../src/config/version.ts";

// Handlers never touch the socket: they reach peers through `context.send`,
// which these tests record.
function member(
  id: string,
  protocol: Connection["protocol"] = "wsecho.v1",
): Connection {
  return {
    id,
    socket: undefined as unknown as WebSocket,
    ip: "127.0.0.1",
    limitKey: null,
    protocol,
    rooms: new Set(),
    messagesIn: 0,
    messagesOut: 0,
    tokens: 0,
    refilledAt: 0,
    throttled: 0,
    counters: { messagesIn: 0, bytesIn: 0, messagesOut: 0, bytesOut: 0 },
    unchecked: 0,
    closeCode: 0,
    closeReason: "",
    released: false,
  };
}

interface Harness {
  state: ServerState;
  sent: [string, string][];
  context(connection: Connection): KindContext;
  add(...connections: Connection[]): void;
}

function harness(): Harness {
  const state = createState(DEFAULT_CONFIG);
  const sent: [string, string][] = [];
  const server = {
    instance: state.instance,
    uptimeSeconds: () => 0,
    connections: () => state.registry.size,
    kinds: summarizeKinds(MESSAGE_KINDS),
  };
  return {
    state,
    sent,
    context: (connection) =>
      createKindContext(state, connection, server, (target, text) => {
        sent.push([target.id, text]);
        return true;
      }, {
        // The lab kinds' controls, recorded like sends: the session's real
        // ones are tested over sockets in lab_kinds_test.ts.
        enabled: true,
        maxEmitRate: state.config.maxEmitRate,
        maxMessageSize: state.config.maxMessageSize,
        handshake: {
          method: "GET",
          url: "http://localhost/ws",
          headers: new Headers(),
          remote: { address: "127.0.0.1", port: 1 },
          protocol: "wsecho.v1",
        },
        close: (code, reason) => {
          sent.push([connection.id, `close ${code} ${reason}`]);
        },
        stream: () => true,
      }),
    add: (...connections) => connections.forEach((c) => state.registry.add(c)),
  };
}

const KINDS = indexKinds(MESSAGE_KINDS);

function run(h: Harness, from: Connection, message: Record<string, unknown>) {
  const envelope = parseEnvelope(JSON.stringify(message));
  const handler = KINDS.get(envelope.type);
  assert.ok(handler, `no handler for ${envelope.type}`);
  return handler.handle(handler.parse(envelope), h.context(from));
}

function throwsCode(fn: () => unknown, code: string) {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ProtocolError, String(error));
    assert.equal(error.code, code);
    assert.doesNotMatch(error.message, /\n/);
    return true;
  });
}

Deno.test("parseEnvelope() accepts an object with a string type", () => {
  assert.deepEqual(parseEnvelope('{"type":"ping","id":7}'), {
    type: "ping",
    id: 7,
  });
  assert.deepEqual(parseEnvelope('{"type":"echo","id":"a","data":[1]}'), {
    type: "echo",
    id: "a",
    data: [1],
  });
});

Deno.test("parseEnvelope() rejects bad frames with stable codes", async (t) => {
  const cases: [string, string][] = [
    ["not json", "bad_json"],
    ["", "bad_json"],
    ['{"type":', "bad_json"],
    ["[]", "bad_message"],
    ["42", "bad_message"],
    ["null", "bad_message"],
    ['"ping"', "bad_message"],
    ["{}", "bad_message"],
    ['{"type":1}', "bad_message"],
    ['{"type":"ping","id":{}}', "bad_message"],
    ['{"type":"ping","id":null}', "bad_message"],
  ];
  for (const [text, code] of cases) {
    await t.step(
      JSON.stringify(text),
      () => throwsCode(() => parseEnvelope(text), code),
    );
  }
});

Deno.test("peekId() recovers the id of a frame that failed validation", () => {
  assert.equal(peekId('{"type":5,"id":"x"}'), "x");
  assert.equal(peekId('{"id":3}'), 3);
  assert.equal(peekId("nope"), undefined);
  assert.equal(peekId('{"id":[1]}'), undefined);
});

Deno.test("readRoom() accepts 1 to 64 safe characters only", () => {
  assert.equal(readRoom({ type: "join", room: "a" }), "a");
  assert.equal(readRoom({ type: "join", room: "A-z_0.9" }), "A-z_0.9");
  assert.equal(
    readRoom({ type: "join", room: "x".repeat(64) }),
    "x".repeat(64),
  );
  for (
    const room of ["", "x".repeat(65), "a b", "é", "a/b", 5, null, undefined]
  ) {
    throwsCode(() => readRoom({ type: "join", room }), "bad_room");
  }
});

Deno.test("errorMessage() includes the id only when known", () => {
  assert.deepEqual(errorMessage("bad_json", "m"), {
    type: "error",
    code: "bad_json",
    message: "m",
  });
  assert.deepEqual(errorMessage("bad_json", "m", 0), {
    type: "error",
    id: 0,
    code: "bad_json",
    message: "m",
  });
});

Deno.test("echo handler returns data unchanged and requires it", () => {
  const h = harness();
  const a = member("a");
  const data = { nested: ["x", 1, null, true], s: "é😀" };
  assert.deepEqual(run(h, a, { type: "echo", data }), { type: "echo", data });
  assert.deepEqual(run(h, a, { type: "echo", data: null }), {
    type: "echo",
    data: null,
  });
  throwsCode(() => run(h, a, { type: "echo" }), "bad_message");
});

Deno.test("ping handler answers pong with the server time", () => {
  const before = Date.now();
  const reply = run(harness(), member("a"), { type: "ping" });
  assert.equal(reply?.type, "pong");
  assert.ok(
    typeof reply?.t === "number" && reply.t >= before && reply.t <= Date.now(),
  );
});

Deno.test("info handler describes the server and the connection", () => {
  const h = harness();
  const a = member("a");
  h.add(a, member("b"));
  h.state.rooms.join(a, "lobby");
  assert.deepEqual(run(h, a, { type: "info" }), {
    type: "info",
    server: "wsecho",
    version: VERSION,
    instance: h.state.instance,
    uptime_s: 0,
    connections: 2,
    rooms: 1,
    connection: { id: "a", rooms: ["lobby"] },
    kinds: summarizeKinds(MESSAGE_KINDS),
  });
});

Deno.test("join and leave handlers track membership", () => {
  const h = harness();
  const [a, b] = [member("a"), member("b")];
  assert.deepEqual(run(h, a, { type: "join", room: "r" }), {
    type: "joined",
    room: "r",
    members: 1,
  });
  assert.deepEqual(run(h, b, { type: "join", room: "r" }), {
    type: "joined",
    room: "r",
    members: 2,
  });
  assert.deepEqual(run(h, a, { type: "join", room: "r" }), {
    type: "joined",
    room: "r",
    members: 2,
  });
  assert.deepEqual(run(h, a, { type: "leave", room: "r" }), {
    type: "left",
    room: "r",
    members: 1,
  });
  throwsCode(() => run(h, a, { type: "leave", room: "r" }), "not_in_room");
  assert.deepEqual(run(h, b, { type: "leave", room: "r" }), {
    type: "left",
    room: "r",
    members: 0,
  });
  assert.equal(h.state.rooms.size, 0);
  throwsCode(() => run(h, a, { type: "join", room: "no spaces" }), "bad_room");
  // A missing field is a bad message; a present but invalid name is a bad room.
  throwsCode(() => run(h, a, { type: "join" }), "bad_message");
  throwsCode(() => run(h, a, { type: "leave" }), "bad_message");
  throwsCode(() => run(h, a, { type: "join", room: 5 }), "bad_room");
});

Deno.test(`join handler refuses room number ${MAX_ROOMS_PER_CONNECTION + 1}`, () => {
  const h = harness();
  const a = member("a");
  for (let i = 0; i < MAX_ROOMS_PER_CONNECTION; i++) {
    run(h, a, { type: "join", room: `r${i}` });
  }
  throwsCode(
    () => run(h, a, { type: "join", room: "one-more" }),
    "too_many_rooms",
  );
  assert.equal(a.rooms.size, MAX_ROOMS_PER_CONNECTION);
  // Rejoining a room it is already in is still fine at the cap.
  assert.equal(run(h, a, { type: "join", room: "r0" })?.type, "joined");
});

Deno.test("broadcast handler reaches other room members once, serialised once", () => {
  const h = harness();
  const [a, b, c, outsider] = [
    member("a"),
    member("b"),
    member("c"),
    member("d"),
  ];
  h.add(a, b, c, outsider);
  for (const m of [a, b, c]) run(h, m, { type: "join", room: "r" });
  const reply = run(h, a, { type: "broadcast", room: "r", data: { hi: 1 } });
  assert.deepEqual(reply, { type: "sent", delivered: 2 });
  assert.deepEqual(h.sent.map(([to]) => to), ["b", "c"]);
  assert.equal(h.sent[0]![1], h.sent[1]![1]);
  assert.deepEqual(JSON.parse(h.sent[0]![1]), {
    type: "message",
    room: "r",
    from: "a",
    data: { hi: 1 },
  });
});

Deno.test("broadcast handler without a room reaches every other wsecho.v1 connection", () => {
  const h = harness();
  const [a, b, raw] = [member("a"), member("b"), member("raw", "")];
  h.add(a, b, raw);
  assert.deepEqual(run(h, a, { type: "broadcast", data: "x" }), {
    type: "sent",
    delivered: 1,
  });
  assert.deepEqual(h.sent.map(([to]) => to), ["b"]);
  assert.equal(JSON.parse(h.sent[0]![1]).room, null);
});

Deno.test("broadcast handler validates its fields", () => {
  const h = harness();
  const a = member("a");
  throwsCode(
    () => run(h, a, { type: "broadcast", room: "r", data: 1 }),
    "not_in_room",
  );
  throwsCode(
    () => run(h, a, { type: "broadcast", room: "bad room", data: 1 }),
    "bad_room",
  );
  throwsCode(() => run(h, a, { type: "broadcast", room: "r" }), "bad_message");
});

Deno.test("MESSAGE_KINDS: every kind's example is a request its own parse accepts", () => {
  // Derived from the table: a new kind needs no line here.
  const h = harness();
  const a = member("a");
  h.add(a);
  for (const kind of MESSAGE_KINDS) {
    const request = { type: kind.type, ...kind.example } as ClientMessage;
    assert.equal(typeof kind.about, "string");
    assert.ok(kind.about.length > 0, `${kind.type} has no about line`);
    if (kind.type === "broadcast" || kind.type === "leave") {
      h.context(a).rooms.join("lobby");
    }
    const reply = run(h, a, request);
    assert.ok(reply === undefined || typeof reply.type === "string");
  }
  assert.equal(
    new Set(MESSAGE_KINDS.map((kind) => kind.type)).size,
    MESSAGE_KINDS.length,
  );
});
