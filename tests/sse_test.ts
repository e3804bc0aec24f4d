import assert from "node:assert/strict";
import { createSseHandler } from "../handlers/http/sse.ts";

interface Event {
  id?: string;
  event?: string;
  data?: string;
  retry?: string;
}

/** Splits an event stream into its blocks, each as its fields. */
function parseEvents(text: string): Event[] {
  return text.split("\n\n").filter((block) => block !== "").map((block) =>
    Object.fromEntries(
      block.split("\n").map((line) => {
        const colon = line.indexOf(": ");
        return [line.slice(0, colon), line.slice(colon + 2)];
      }),
    )
  );
}

const sse = createSseHandler();

Deno.test("createSseHandler() sends retry, then count ticks with ids from 1", async () => {
  const start = performance.now();
  const response = sse(new Request("http://localhost/sse?interval=20&count=4"));
  assert.equal(response.status, 200);
  assert.equal(
    response.headers.get("content-type"),
    "text/event-stream; charset=utf-8",
  );
  assert.equal(response.headers.get("cache-control"), "no-store");
  const events = parseEvents(await response.text());
  const elapsed = performance.now() - start;
  assert.deepEqual(events[0], { retry: "20" });
  assert.deepEqual(events.slice(1).map((e) => [e.id, e.event]), [
    ["1", "tick"],
    ["2", "tick"],
    ["3", "tick"],
    ["4", "tick"],
  ]);
  const now = performance.timeOrigin + performance.now();
  for (const [i, event] of events.slice(1).entries()) {
    const data = JSON.parse(event.data!);
    assert.deepEqual(Object.keys(data), ["seq", "t"]);
    assert.equal(data.seq, i + 1);
    assert.ok(data.t <= now && data.t > now - 10_000);
  }
  // Four ticks, the first at once: three intervals.
  assert.ok(elapsed >= 55, `took ${elapsed} ms`);
});

Deno.test("createSseHandler() continues after Last-Event-ID", async () => {
  const response = sse(
    new Request("http://localhost/sse?interval=10&count=2", {
      headers: { "last-event-id": "41" },
    }),
  );
  const ids = parseEvents(await response.text()).slice(1).map((e) => e.id);
  assert.deepEqual(ids, ["42", "43"]);
  // Something else than a number: from 1.
  const fresh = sse(
    new Request("http://localhost/sse?interval=10&count=1", {
      headers: { "last-event-id": "abc" },
    }),
  );
  assert.equal(parseEvents(await fresh.text())[1]!.id, "1");
});

Deno.test("createSseHandler() uses 1000 ms without interval", async () => {
  const response = sse(new Request("http://localhost/sse?count=1"));
  assert.deepEqual(parseEvents(await response.text())[0], { retry: "1000" });
});

Deno.test("createSseHandler() refuses bad values with 400", async () => {
  const cases: [string, string][] = [
    [
      "interval=9",
      'Bad parameter "interval": "9" is not an integer from 10 to 60000 (milliseconds)\n',
    ],
    [
      "interval=60001",
      'Bad parameter "interval": "60001" is not an integer from 10 to 60000 (milliseconds)\n',
    ],
    [
      "interval=fast",
      'Bad parameter "interval": "fast" is not an integer from 10 to 60000 (milliseconds)\n',
    ],
    [
      "count=0",
      'Bad parameter "count": "0" is not an integer from 1 to 1000000000 (events)\n',
    ],
    [
      "count=-3",
      'Bad parameter "count": "-3" is not an integer from 1 to 1000000000 (events)\n',
    ],
  ];
  for (const [query, message] of cases) {
    const response = sse(new Request(`http://localhost/sse?${query}`));
    assert.equal(response.status, 400, query);
    assert.equal(await response.text(), message);
  }
});

Deno.test("createSseHandler() stops its timer when the client goes", async () => {
  const response = sse(new Request("http://localhost/sse?interval=10"));
  const reader = response.body!.getReader();
  await reader.read();
  await reader.read();
  // The sanitizer fails this test if a tick timer is left behind.
  await reader.cancel();
});

Deno.test("createSseHandler() ends every stream on shutdown", async () => {
  const controller = new AbortController();
  const handler = createSseHandler({ signal: controller.signal });
  const response = handler(new Request("http://localhost/sse?interval=10"));
  setTimeout(() => controller.abort(), 60);
  const events = parseEvents(await response.text());
  assert.ok(events.length >= 2);
});

Deno.test("createSseHandler() waits for a client that is not reading", async () => {
  const response = sse(new Request("http://localhost/sse?interval=10"));
  await new Promise((resolve) => setTimeout(resolve, 600));
  // About 60 ticks were due; only the queue's worth was made.
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  for (let i = 0; i < 17; i++) {
    text += decoder.decode((await reader.read()).value);
  }
  await reader.cancel();
  const ids = parseEvents(text).slice(1).map((e) => Number(e.id));
  assert.deepEqual(ids, Array.from({ length: ids.length }, (_, i) => i + 1));
  assert.ok(ids.length <= 20, `${ids.length} events queued`);
});

Deno.test("createSseHandler() over a real socket streams to fetch", async () => {
  const controller = new AbortController();
  const handler = createSseHandler({ signal: controller.signal });
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    signal: controller.signal,
    onListen() {},
  }, handler);
  try {
    const response = await fetch(
      `http://127.0.0.1:${server.addr.port}/sse?interval=15&count=3`,
      { headers: { "last-event-id": "7" } },
    );
    assert.equal(response.headers.get("x-accel-buffering"), "no");
    const events = parseEvents(await response.text());
    assert.deepEqual(events.map((e) => e.retry ?? e.id), [
      "15",
      "8",
      "9",
      "10",
    ]);
    assert.deepEqual(JSON.parse(events[3]!.data!).seq, 10);
  } finally {
    controller.abort();
    await server.finished;
  }
});
