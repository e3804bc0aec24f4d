import assert from "node:assert/strict";
import { createRouter } from "../src/server/router.ts";

const info = {
  remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 1 },
  completed: Promise.resolve(),
} as Deno.ServeHandlerInfo<Deno.NetAddr>;

const handler = createRouter({
  "/a": { GET: () => new Response("a", { headers: { "x-a": "1" } }) },
  "/b": { POST: () => new Response("b") },
});

Deno.test("createRouter() dispatches by exact pathname and ignores the query", async () => {
  const res = await handler(new Request("http://h/a?x=/b#f"), info);
  assert.equal(res.status, 200);
  assert.equal(await res.text(), "a");
});

Deno.test("createRouter() answers 404 for an unknown path", async () => {
  for (const path of ["/", "/a/", "/A", "/ab", "/a/b"]) {
    const res = await handler(new Request(`http://h${path}`), info);
    assert.equal(res.status, 404, path);
    assert.match(await res.text(), /Not found/);
  }
});

Deno.test("createRouter() answers 405 with Allow for a known path", async () => {
  const res = await handler(
    new Request("http://h/a", { method: "DELETE" }),
    info,
  );
  assert.equal(res.status, 405);
  assert.equal(res.headers.get("allow"), "GET, HEAD");
  await res.body?.cancel();
  const post = await handler(new Request("http://h/b"), info);
  assert.equal(post.status, 405);
  assert.equal(post.headers.get("allow"), "POST");
  await post.body?.cancel();
});

Deno.test("createRouter() serves HEAD from GET without a body", async () => {
  const res = await handler(
    new Request("http://h/a", { method: "HEAD" }),
    info,
  );
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("x-a"), "1");
  assert.equal(res.body, null);
});
