/**
 * Churn: many short-lived connections, clean and abrupt, and many idle ones
 * held at once. No per-connection state may outlive its connection, so the
 * registry and the rooms must be empty afterwards (counts, not memory).
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
  waitFor,
} from "./test_utils.ts";
import { OPCODE, RawClient } from "./raw_client.ts";

const IDLE_CONNECTIONS = 5_000;

/** Runs `task(i)` for i in [0, count) with at most `concurrency` in flight. */
async function pool(
  count: number,
  concurrency: number,
  task: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  async function worker(): Promise<void> {
    while (next < count) await task(next++);
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
}

async function assertEmpty(ts: TestServer): Promise<void> {
  const { registry, rooms } = ts.server.state;
  await waitFor(
    () => registry.size === 0 && rooms.size === 0,
    `an empty registry (${registry.size}) and no rooms (${rooms.size})`,
    10_000,
  );
  assert.equal(rooms.memberships, 0);
}

/** Reads the soft limit on open files from /proc, or `undefined` when unknown. */
function openFileLimit(): number | undefined {
  try {
    const limits = Deno.readTextFileSync("/proc/self/limits");
    const soft = /^Max open files\s+(\S+)/m.exec(limits)?.[1];
    return soft === "unlimited" ? Infinity : Number(soft);
  } catch {
    return undefined;
  }
}

Deno.test("churn: 10,000 connect, echo and close cycles at concurrency 100 leave no state behind", async () => {
  await using ts = startServer({ maxConnectionsPerIp: 0 });
  const started = Date.now();
  await pool(10_000, 100, async (i) => {
    // One in ten speaks wsecho.v1 and joins a room, so rooms churn too.
    const json = i % 10 === 0;
    const ws = await connect(`${ts.ws}?welcome=0`, json ? "wsecho.v1" : []);
    const inbox = new Inbox(ws);
    try {
      if (json) {
        ws.send(JSON.stringify({ type: "join", room: `room-${i % 7}` }));
        assert.equal((await inbox.json()).type, "joined");
      } else {
        ws.send(`cycle ${i}`);
        assert.equal(await inbox.next(), `cycle ${i}`);
      }
    } finally {
      await closeSocket(ws);
    }
  });
  const elapsed = Date.now() - started;
  // deno-lint-ignore no-console
  console.log(`churn: 10,000 clean cycles in ${elapsed} ms`);
  await assertEmpty(ts);
  assert.equal(ts.server.state.metrics.accepted, 10_000);
});

Deno.test("churn: 2,000 connections reset without a close frame leave no state behind", async () => {
  await using ts = startServer({ maxConnectionsPerIp: 0 });
  const started = Date.now();
  await pool(2_000, 100, async (i) => {
    const client = await RawClient.open({
      port: ts.server.addr.port,
      path: "/ws",
      headers: { "Sec-WebSocket-Protocol": "wsecho.v1" },
    });
    try {
      await client.send({
        opcode: OPCODE.TEXT,
        payload: JSON.stringify({ type: "join", room: `room-${i % 7}` }),
      });
    } finally {
      // The welcome (and maybe the reply) is unread: closing sends an RST.
      await client.closed();
    }
  });
  const elapsed = Date.now() - started;
  // deno-lint-ignore no-console
  console.log(`churn: 2,000 resets in ${elapsed} ms`);
  await assertEmpty(ts);
});

// Client and server share this process: two descriptors a connection.
const FILES_NEEDED = 2 * IDLE_CONNECTIONS + 200;
const FILE_LIMIT = openFileLimit();

Deno.test({
  name: FILE_LIMIT !== undefined && FILE_LIMIT < FILES_NEEDED
    ? `churn: 5,000 idle connections (ignored: the open-file limit is ${FILE_LIMIT}; raise it with ulimit -n ${FILES_NEEDED})`
    : "churn: 5,000 idle connections held at once all echo",
  ignore: FILE_LIMIT !== undefined && FILE_LIMIT < FILES_NEEDED,
}, async (t) => {
  await using ts = startServer({ maxConnectionsPerIp: 0 });
  const sockets: WebSocket[] = [];
  const inboxes: Inbox[] = [];
  try {
    await t.step(`open ${IDLE_CONNECTIONS}`, async () => {
      await pool(IDLE_CONNECTIONS, 200, async () => {
        const ws = await connect(`${ts.ws}?welcome=0`);
        sockets.push(ws);
        inboxes.push(new Inbox(ws));
      });
      assert.equal(ts.server.state.registry.size, IDLE_CONNECTIONS);
    });
    await t.step("each echoes once", async () => {
      sockets.forEach((ws, i) => ws.send(`idle ${i}`));
      await Promise.all(
        inboxes.map(async (inbox, i) =>
          assert.equal(await inbox.next(), `idle ${i}`)
        ),
      );
    });
  } finally {
    await pool(sockets.length, 200, (i) => closeSocket(sockets[i]!).then());
  }
  await assertEmpty(ts);
});
