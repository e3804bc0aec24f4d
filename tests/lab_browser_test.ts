/**
 * The test lab from a real browser: Chromium's `EventSource` against `/sse`,
 * driven by `playwright-core` with Debian's Chromium.
 *
 * @module
 */
import assert from "node:assert/strict";
import { chromium, type Page } from "./deps.ts";
import { createSseHandler } from "../handlers/http/sse.ts";

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
