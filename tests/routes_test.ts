/**
 * The route table in-process: each handler called with a constructed
 * `Request`, no socket, as std's route tests and Fresh's `FakeServer` do.
 */
import assert from "node:assert/strict";
import { ROUTES } from "../src/config/constants.ts";
import { validateConfig } from "../src/config/validate_config.ts";
import { VERSION } from "../src/config/version.ts";
import type { Config } from "../src/config/options.ts";
import { createState, type ServerState } from "../src/core/state.ts";
import { indexKinds, MESSAGE_KINDS } from "../src/protocol/kinds.ts";
import { createApp, createRoutes } from "../src/server/routes.ts";

const INFO = {
  remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 50000 },
  completed: Promise.resolve(),
} as Deno.ServeHandlerInfo<Deno.NetAddr>;

function app(config: Partial<Config> = {}): {
  state: ServerState;
  fetch: (path: string, init?: RequestInit) => Promise<Response>;
} {
  const state = createState(validateConfig(config));
  const handler = createApp(state, indexKinds(MESSAGE_KINDS));
  return {
    state,
    fetch: async (path, init) =>
      await handler(new Request(`http://localhost${path}`, init), INFO),
  };
}

Deno.test("createRoutes() serves exactly the documented routes", () => {
  const { state } = app();
  assert.deepEqual(
    Object.keys(createRoutes(state, indexKinds(MESSAGE_KINDS))).sort(),
    Object.keys(ROUTES).sort(),
  );
});

Deno.test("GET / redirects to /client", async () => {
  const res = await app().fetch("/");
  await res.body?.cancel();
  assert.equal(res.status, 302);
  assert.equal(res.headers.get("location"), "/client");
});

Deno.test("HTTP errors: 404 with a hint, 405 with Allow, 426 on /ws without upgrade", async () => {
  const { fetch } = app();
  const missing = await fetch("/nope");
  assert.equal(missing.status, 404);
  const text = await missing.text();
  assert.match(text, /Not found: "\/nope"/);
  for (const path of Object.keys(ROUTES).filter((p) => p !== "/")) {
    assert.ok(text.includes(path), `the hint names ${path}`);
  }

  const wrong = await fetch("/client", { method: "POST", body: "x" });
  assert.equal(wrong.status, 405);
  assert.equal(wrong.headers.get("allow"), "GET, HEAD");
  await wrong.body?.cancel();

  const plain = await fetch("/ws");
  assert.equal(plain.status, 426);
  assert.equal(plain.headers.get("upgrade"), "websocket");
  assert.match(await plain.text(), /Upgrade required/);
});

Deno.test("GET /healthz: 200 while serving, 503 draining", async () => {
  const { state, fetch } = app();
  const ok = await fetch("/healthz");
  assert.equal(ok.status, 200);
  assert.equal(ok.headers.get("cache-control"), "no-store");
  const body = await ok.json();
  assert.equal(body.status, "ok");
  assert.equal(body.connections, 0);
  assert.equal(body.version, VERSION);
  assert.equal(body.instance, state.instance);
  assert.deepEqual(body.protocols, ["wsecho.v1"]);
  state.draining = true;
  const draining = await fetch("/healthz");
  assert.equal(draining.status, 503);
  assert.equal((await draining.json()).status, "draining");
});

Deno.test("GET /ws while draining: 503 with Retry-After, counted", async () => {
  const { state, fetch } = app();
  state.draining = true;
  const res = await fetch("/ws", {
    headers: { upgrade: "websocket", "sec-websocket-version": "13" },
  });
  assert.equal(res.status, 503);
  assert.equal(res.headers.get("retry-after"), "5");
  assert.equal(await res.text(), "Server shutting down\n");
  assert.equal(state.metrics.refused.draining, 1);
});

Deno.test("GET /metrics is 404 with metrics: false, text/plain 0.0.4 otherwise", async () => {
  const off = await app({ metrics: false }).fetch("/metrics");
  await off.body?.cancel();
  assert.equal(off.status, 404);
  const on = await app().fetch("/metrics");
  assert.equal(
    on.headers.get("content-type"),
    "text/plain; version=0.0.4; charset=utf-8",
  );
  assert.match(await on.text(), /^# HELP wsecho_build_info /);
});
