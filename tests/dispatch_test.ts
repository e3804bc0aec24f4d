import assert from "node:assert/strict";
import { dispatchMessage } from "../src/protocol/dispatch.ts";
import { indexKinds, MESSAGE_KINDS } from "../src/protocol/kinds.ts";
import { ProtocolError } from "../src/protocol/envelope.ts";
import type { KindContext, MessageKind } from "../src/protocol/kind.ts";

const BOOM: MessageKind = {
  type: "boom",
  about: "a test kind",
  example: {},
  parse: (envelope) => envelope,
  handle() {
    throw new TypeError("handler bug");
  },
};
const REFUSE: MessageKind = {
  type: "refuse",
  about: "a test kind",
  example: {},
  parse: (envelope) => envelope,
  handle() {
    throw new ProtocolError("bad_message", "Cannot do that");
  },
};
const SILENT: MessageKind = {
  type: "silent",
  about: "a test kind",
  example: {},
  parse: (envelope) => envelope,
  handle: () => undefined,
};
const HANDLERS = indexKinds([...MESSAGE_KINDS, BOOM, REFUSE, SILENT]);

function context(): {
  context: KindContext;
  logs: string[];
  onError: (error: unknown) => void;
} {
  const logs: string[] = [];
  const onError = (error: unknown) => logs.push(String(error));
  // dispatchMessage reaches no socket: the connection is only read for its id.
  const context = {
    connection: { id: "c1", protocol: "wsecho.v1", rooms: new Set() },
  } as unknown as KindContext;
  return { context, logs, onError };
}

Deno.test("dispatchMessage() puts the request id right after the type", () => {
  const { context: ctx, onError } = context();
  const reply = dispatchMessage(
    '{"id":"x","type":"echo","data":1}',
    HANDLERS,
    ctx,
    onError,
  );
  assert.deepEqual(reply, { type: "echo", id: "x", data: 1 });
  assert.deepEqual(Object.keys(reply!), ["type", "id", "data"]);
  assert.deepEqual(
    dispatchMessage('{"type":"echo","data":1}', HANDLERS, ctx, onError),
    {
      type: "echo",
      data: 1,
    },
  );
});

Deno.test("dispatchMessage() turns a handler bug into internal_error and logs it", () => {
  const { context: ctx, logs, onError } = context();
  assert.deepEqual(
    dispatchMessage('{"type":"boom","id":5}', HANDLERS, ctx, onError),
    {
      type: "error",
      id: 5,
      code: "internal_error",
      message: "The server failed to handle this message",
    },
  );
  assert.equal(logs.length, 1);
  assert.match(logs[0]!, /^TypeError: handler bug$/);
});

Deno.test("dispatchMessage() sends a ProtocolError from a handler as its code", () => {
  const { context: ctx, logs, onError } = context();
  assert.deepEqual(
    dispatchMessage('{"type":"refuse","id":6}', HANDLERS, ctx, onError),
    {
      type: "error",
      id: 6,
      code: "bad_message",
      message: "Cannot do that",
    },
  );
  assert.deepEqual(logs, []);
});

Deno.test("dispatchMessage() returns nothing when the handler has no reply", () => {
  const { context: ctx, onError } = context();
  assert.equal(
    dispatchMessage('{"type":"silent","id":1}', HANDLERS, ctx, onError),
    undefined,
  );
});

Deno.test("dispatchMessage() refuses inherited names as unknown types", () => {
  const { context: ctx, onError } = context();
  for (
    const type of ["toString", "__proto__", "constructor", "hasOwnProperty"]
  ) {
    const reply = dispatchMessage(
      JSON.stringify({ type, id: 1 }),
      HANDLERS,
      ctx,
      onError,
    );
    assert.equal(reply?.code, "unknown_type", type);
  }
});
