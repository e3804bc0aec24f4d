/**
 * The test lab from a real browser: Chromium's `EventSource` against `/sse`,
 * and its `WebSocket` against the lab's closes and `subprotocol=none`,
 * driven by `playwright-core` with Debian's Chromium.
 *
 * @module
 */
import assert from "node:assert/strict";
import { chromium, type Page } from "./deps.ts";
import { createSseHandler } from "../handlers/http/sse.ts";
import { startServer } from "./test_utils.ts";

const CHROMIUM_PATH = Deno.env.get("CHROMIUM_PATH") || "/usr/bin/chromium";
const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

function chromiumMissing(): boolean {
  try {
    Deno.statSync(CHROMIUM_PATH);
    return false;
  } catch {
    return Deno.env.get("CI") !== "true";
  }
}

const ignore = chromiumMissing();
if (ignore) {
  // deno-lint-ignore no-console
  console.warn(
    `Skipping the lab browser tests: ${CHROMIUM_PATH} not found (apt-get install chromium)`,
  );
}

/** Runs `body` with a fresh headless Chromium page on `origin`'s blank page. */
async function withPage<T>(
  origin: string,
  body: (page: Page) => Promise<T>,
): Promise<T> {
  const profile = await Deno.makeTempDir({ prefix: "wsecho-lab-chromium-" });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [...CHROMIUM_FLAGS],
    timeout: 30_000,
  });
  try {
    const page = context.pages()[0] ?? await context.newPage();
    await page.goto(`${origin}/`);
    return await body(page);
  } finally {
    await context.close();
    await Deno.remove(profile, { recursive: true });
  }
}

Deno.test({
  name:
    "EventSource in Chromium reads /sse ticks and resumes with Last-Event-ID",
  ignore,
  async fn() {
    const controller = new AbortController();
    const sse = createSseHandler({ signal: controller.signal });
    const lastEventIds: (string | null)[] = [];
    const server = Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      signal: controller.signal,
      onListen() {},
    }, (request) => {
      if (new URL(request.url).pathname === "/sse") {
        lastEventIds.push(request.headers.get("last-event-id"));
        return sse(request);
      }
      return new Response("<!doctype html><title>lab</title>", {
        headers: { "content-type": "text/html" },
      });
    });
    try {
      const origin = `http://127.0.0.1:${server.addr.port}`;
      // Two events a response: the browser reconnects twice to see five.
      const seen = await withPage(
        origin,
        (page) =>
          page.evaluate(() =>
            new Promise<[string, number, string][]>((resolve, reject) => {
              const seen: [string, number, string][] = [];
              const source = new EventSource("/sse?interval=20&count=2");
              const timer = setTimeout(() => {
                source.close();
                reject(new Error(`only ${JSON.stringify(seen)}`));
              }, 20_000);
              source.addEventListener("tick", (event) => {
                const message = event as MessageEvent<string>;
                seen.push([
                  message.lastEventId,
                  JSON.parse(message.data).seq,
                  message.type,
                ]);
                if (seen.length === 5) {
                  clearTimeout(timer);
                  source.close();
                  resolve(seen);
                }
              });
            })
          ),
      );
      assert.deepEqual(seen, [
        ["1", 1, "tick"],
        ["2", 2, "tick"],
        ["3", 3, "tick"],
        ["4", 4, "tick"],
        ["5", 5, "tick"],
      ]);
      assert.deepEqual(lastEventIds.slice(0, 3), [null, "2", "4"]);
    } finally {
      controller.abort();
      await server.finished;
    }
  },
});

Deno.test({
  name:
    "WebSocket in Chromium gets the lab's close codes and fails on subprotocol=none",
  ignore,
  async fn() {
    await using ts = startServer();
    const result = await withPage(ts.http, async (page) => {
      // /echo is a same-origin page without a Content-Security-Policy.
      await page.goto(`${ts.http}/echo`);
      return await page.evaluate(async (base) => {
        const ws = base.replace(/^http/, "ws") + "/ws";
        function run(url: string, protocols?: string) {
          return new Promise<Record<string, unknown>>((resolve) => {
            const socket = new WebSocket(url, protocols);
            const seen: string[] = [];
            let opened = false;
            let errored = false;
            socket.onopen = () => {
              opened = true;
              socket.send("one");
              socket.send("two");
            };
            socket.onerror = () => errored = true;
            socket.onmessage = (event) => seen.push(String(event.data));
            socket.onclose = (event) =>
              resolve({
                opened,
                errored,
                seen,
                code: event.code,
                reason: event.reason,
                protocol: socket.protocol,
              });
          });
        }
        return {
          closeAfter: await run(
            `${ws}?welcome=0&close_after=1&close_code=4000&close_reason=bye`,
          ),
          closeIn: await run(`${ws}?welcome=0&close_in=100&close_code=1012`),
          none: await run(`${ws}?welcome=0&subprotocol=none`, "wsecho.v1"),
          plain: await run(`${ws}?welcome=0&close_after=2`, "wsecho.v1"),
        };
      }, ts.http);
    });
    assert.deepEqual(result.closeAfter, {
      opened: true,
      errored: false,
      seen: ["one"],
      code: 4000,
      reason: "bye",
      protocol: "",
    });
    assert.equal(result.closeIn.code, 1012);
    assert.equal(result.closeIn.reason, "close_in=100");
    // A browser must fail a connection whose server picked none of the offered.
    assert.equal(result.none.opened, false);
    assert.equal(result.none.errored, true);
    assert.equal(result.none.code, 1006);
    // The same offer without the parameter gets wsecho.v1.
    assert.equal(result.plain.opened, true);
    assert.equal(result.plain.protocol, "wsecho.v1");
    assert.equal(result.plain.code, 1000);
  },
});
