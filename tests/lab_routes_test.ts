/**
 * The lab's HTTP routes in the server's route table: `/echo`, `/echo/…`,
 * `/sse`, the 404 hint and `--help`.
 *
 * @module
 */
import assert from "node:assert/strict";
import { startServer } from "./test_utils.ts";
import { helpText, parseCommand } from "../src/config/parse_command.ts";
import { createServer } from "../src/server/create_server.ts";
import { validateConfig } from "../src/config/validate_config.ts";
import { createState } from "../src/core/state.ts";
import { indexKinds, MESSAGE_KINDS } from "../src/protocol/kinds.ts";
import { createApp } from "../src/server/routes.ts";

const INFO = {
  remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 50000 },
  completed: Promise.resolve(),
} as Deno.ServeHandlerInfo<Deno.NetAddr>;

Deno.test("routes in-process: /echo's subtree, any method, /sse, and the lab off", async () => {
  for (const lab of [true, false]) {
    const state = createState(validateConfig({ lab }));
    const handler = createApp(state, indexKinds(MESSAGE_KINDS));
    const fetch = async (path: string, init?: RequestInit) =>
      await handler(new Request(`http://localhost${path}`, init), INFO);
    for (const path of ["/echo", "/echo/", "/echo/a/b"]) {
      const response = await fetch(path, { method: "PROPFIND" });
      assert.equal(response.status, 200, path);
      assert.equal((await response.json()).path, path);
    }
    const head = await fetch("/echo/x", { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(head.body, null);
    const nested = await fetch("/echoes");
    assert.equal(nested.status, 404);
    await nested.body?.cancel();
    const refused = await fetch("/echo?status=418");
    assert.equal(refused.status, lab ? 418 : 403);
    await refused.body?.cancel();
    const sse = await fetch("/sse?interval=10&count=1");
    assert.equal(sse.status, 200);
    assert.match(await sse.text(), /^retry: 10\n\nid: 1\nevent: tick\n/);
    const post = await fetch("/sse", { method: "POST", body: "x" });
    assert.equal(post.status, 405);
    await post.body?.cancel();
    state.shutdown.abort();
  }
});

Deno.test("routes: /echo and /echo/<anything> answer any method", async () => {
  await using ts = startServer({ maxMessageSize: 100 });
  const requests: [string, string][] = [
    ["GET", "/echo"],
    ["POST", "/echo/a/b"],
    ["PATCH", "/echo/"],
    ["DELETE", "/echo/x?y=1"],
  ];
  for (const [method, path] of requests) {
    const response = await fetch(`${ts.http}${path}`, {
      method,
      ...(method === "GET" || method === "DELETE" ? {} : { body: "hi" }),
      headers: { "x-test": "1" },
    });
    assert.equal(response.status, 200, `${method} ${path}`);
    const body = await response.json();
    assert.equal(body.method, method);
    assert.equal(body.path, path.split("?")[0]);
    assert.equal(body.headers["x-test"], "1");
    assert.equal(body.remote.address, "127.0.0.1");
  }
  const head = await fetch(`${ts.http}/echo`, { method: "HEAD" });
  assert.equal(head.status, 200);
  assert.equal(await head.text(), "");
  const big = await fetch(`${ts.http}/echo`, {
    method: "PUT",
    body: "x".repeat(101),
  });
  assert.equal(big.status, 413);
  assert.equal(
    await big.text(),
    "Request body too large: the limit is 100 bytes (--max-message-size)\n",
  );
  const refused = await fetch(`${ts.http}/echo?status=503&retry_after=7`);
  assert.equal(refused.status, 503);
  assert.equal(refused.headers.get("retry-after"), "7");
  await refused.body?.cancel();
  // Not a prefix match for /echoes.
  const other = await fetch(`${ts.http}/echoes`);
  assert.equal(other.status, 404);
  await other.body?.cancel();
});

Deno.test("routes: /sse streams ticks and ends with the server", async () => {
  const ts = startServer();
  try {
    const response = await fetch(`${ts.http}/sse?interval=10`);
    assert.equal(
      response.headers.get("content-type"),
      "text/event-stream; charset=utf-8",
    );
    const reader = response.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    assert.match(first, /^retry: 10\n\n/);
    // Shutdown ends the endless stream, so the server can finish.
    const stopped = ts.stop();
    while (!(await reader.read()).done);
    await stopped;
  } finally {
    await ts.stop();
  }
});

Deno.test("routes: the 404 hint and --help name the lab routes", async () => {
  await using ts = startServer();
  const response = await fetch(`${ts.http}/nope`);
  assert.equal(response.status, 404);
  assert.equal(
    await response.text(),
    'Not found: "/nope"; try /client, /ws, /echo, /sse, /healthz, /metrics\n',
  );
  const help = helpText();
  assert.match(
    help,
    /\/echo +HTTP echo, also \/echo\/…: the request as JSON, any method/,
  );
  assert.match(help, /\/sse +server-sent events/);
  assert.match(help, /--\[no-\]lab|--lab/);
  assert.match(help, /--max-emit-rate N/);
  assert.match(help, /--max-delayed BYTES/);
  assert.match(help, /WSECHO_LAB; default: true/);
  assert.match(help, /WSECHO_MAX_EMIT_RATE; default: 10000/);
  assert.match(help, /WSECHO_MAX_DELAYED; default: 1MiB/);
});

Deno.test("options: --no-lab, WSECHO_LAB, --max-emit-rate and --max-delayed are read and validated", async () => {
  const serve = (args: string[], env: Record<string, string> = {}) => {
    const command = parseCommand(args, (name) => env[name]);
    if (command.kind !== "serve") throw new Error(`not serve: ${command.kind}`);
    return command.config;
  };
  assert.equal(serve([]).lab, true);
  assert.equal(serve(["--no-lab"]).lab, false);
  assert.equal(serve([], { WSECHO_LAB: "0" }).lab, false);
  assert.equal(serve([], { WSECHO_LAB: "off" }).lab, false);
  assert.equal(serve(["--max-emit-rate", "500"]).maxEmitRate, 500);
  assert.equal(serve([], { WSECHO_MAX_EMIT_RATE: "20" }).maxEmitRate, 20);
  assert.equal(serve(["--max-delayed", "64KiB"]).maxDelayed, 65536);
  assert.equal(serve([], { WSECHO_MAX_DELAYED: "2MiB" }).maxDelayed, 2097152);
  assert.throws(() => serve(["--max-emit-rate", "0"]), /max-emit-rate/);
  assert.throws(() => serve(["--max-delayed", "0"]), /max-delayed/);
  assert.throws(() => createServer({ maxEmitRate: 0 }), RangeError);
  assert.throws(
    () => createServer({ lab: "no" as unknown as boolean }),
    TypeError,
  );
  // The server's permission set names the new variables (the permissions test checks the rest).
  const denoJson = JSON.parse(
    await Deno.readTextFile(new URL("../deno.json", import.meta.url)),
  );
  for (
    const name of ["WSECHO_LAB", "WSECHO_MAX_EMIT_RATE", "WSECHO_MAX_DELAYED"]
  ) {
    assert.ok(denoJson.permissions.server.env.includes(name), name);
  }
});
