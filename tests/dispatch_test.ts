import assert from "node:assert/strict";
import { dispatchMessage } from "../handlers/dispatch.ts";
import { MESSAGE_HANDLERS } from "../handlers/message_handlers.ts";
import {
  type MessageContext,
  type MessageHandler,
  ProtocolError,
} from "../handlers/messages.ts";
import type { Connection } from "../src/connection.ts";
import { DEFAULT_CONFIG } from "../src/config.ts";
import { createState } from "../src/state.ts";

const BOOM: MessageHandler = {
  parse: (envelope) => envelope,
  handle() {
    throw new TypeError("handler bug");
  },
};
const REFUSE: MessageHandler = {
  parse: (envelope) => envelope,
  handle() {
    throw new ProtocolError("bad_message", "Cannot do that");
  },
};
const SILENT: MessageHandler = {
  parse: (envelope) => envelope,
  handle: () => undefined,
};
const HANDLERS = {
  ...MESSAGE_HANDLERS,
  boom: BOOM,
  refuse: REFUSE,
  silent: SILENT,
};

function context(): { context: MessageContext; logs: string[] } {
  const logs: string[] = [];
  const state = createState(
    DEFAULT_CONFIG,
    (line) => logs.push(line),
    HANDLERS,
  );
  // dispatchMessage reaches no socket: the connection is only read for its id.
  const connection = { id: "c1", rooms: new Set() } as unknown as Connection;
  return { context: { connection, state, send: () => true }, logs };
}

Deno.test("dispatchMessage() puts the request id right after the type", () => {
  const { context: ctx } = context();
  const reply = dispatchMessage(
    '{"id":"x","type":"echo","data":1}',
    HANDLERS,
    ctx,
  );
  assert.deepEqual(reply, { type: "echo", id: "x", data: 1 });
  assert.deepEqual(Object.keys(reply!), ["type", "id", "data"]);
  assert.deepEqual(dispatchMessage('{"type":"echo","data":1}', HANDLERS, ctx), {
    type: "echo",
    data: 1,
  });
});

Deno.test("dispatchMessage() turns a handler bug into internal_error and logs it", () => {
  const { context: ctx, logs } = context();
  assert.deepEqual(dispatchMessage('{"type":"boom","id":5}', HANDLERS, ctx), {
    type: "error",
    id: 5,
    code: "internal_error",
    message: "The server failed to handle this message",
  });
  assert.equal(logs.length, 1);
  assert.match(logs[0]!, /^error c1: handler failed: TypeError: handler bug/);
});

Deno.test("dispatchMessage() sends a ProtocolError from a handler as its code", () => {
  const { context: ctx, logs } = context();
  assert.deepEqual(dispatchMessage('{"type":"refuse","id":6}', HANDLERS, ctx), {
    type: "error",
    id: 6,
    code: "bad_message",
    message: "Cannot do that",
  });
  assert.deepEqual(logs, []);
});

Deno.test("dispatchMessage() returns nothing when the handler has no reply", () => {
  const { context: ctx } = context();
  assert.equal(
    dispatchMessage('{"type":"silent","id":1}', HANDLERS, ctx),
    undefined,
  );
});

Deno.test("dispatchMessage() refuses inherited names as unknown types", () => {
  const { context: ctx } = context();
  for (
    const type of ["toString", "__proto__", "constructor", "hasOwnProperty"]
  ) {
    const reply = dispatchMessage(
      JSON.stringify({ type, id: 1 }),
      HANDLERS,
      ctx,
    );
    assert.equal(reply?.code, "unknown_type", type);
  }
});
