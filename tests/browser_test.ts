/**
 * Real-browser tests of the /client playground: headless Chromium driven
 * over the DevTools protocol against a real wsecho on a free port.
 */
import assert from "node:assert/strict";
import {
  Browser,
  browserTestsEnabled,
  type Page,
  startServer,
  type TestServer,
} from "./browser_utils.ts";

const ignore = !browserTestsEnabled();
const ARTIFACTS = new URL("./artifacts/", import.meta.url);
const DOCS_SCREENSHOT = new URL("../docs/screenshot.png", import.meta.url);

/** One received, sent or system row of the log. */
interface Row {
  dir: "in" | "out" | "sys";
  type: string;
  size: string;
  body: string;
}

const ROWS = `[...document.querySelectorAll("#log > li")].map((li) => ({
  dir: li.dataset.dir,
  type: li.dataset.type,
  size: li.querySelector(".size")?.textContent ?? "",
  body: li.querySelector(".body").textContent,
}))`;

function rows(page: Page): Promise<Row[]> {
  return page.evaluate<Row[]>(ROWS);
}

/** Waits until a row of direction `dir` has a body for which `test` holds. */
async function waitForRow(
  page: Page,
  dir: Row["dir"],
  what: string,
  test: (body: string) => boolean,
  timeoutMs = 5_000,
): Promise<Row> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = (await rows(page)).find((row) =>
      row.dir === dir && test(row.body)
    );
    if (found) return found;
    if (Date.now() > deadline) {
      throw new Error(
        `Timed out waiting for a "${dir}" row: ${what}\n${
          JSON.stringify(await rows(page), null, 1)
        }`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 40));
  }
}

/** Loads the playground from `server`. */
async function open(page: Page, server: TestServer): Promise<void> {
  await page.goto(`${server.origin}/client`);
  await page.waitFor(
    `document.querySelector("#state")?.dataset.state === "closed"`,
    "the page script",
  );
}

/** Connects with the given subprotocol and waits for the open state. */
async function connect(page: Page, protocol = ""): Promise<void> {
  await page.select("#protocol", protocol);
  await page.click("#connect");
  await page.waitFor(
    `document.querySelector("#state").dataset.state === "open"`,
    "the open state",
  );
}

/** Types `text` into the composer in `mode` and presses Enter. */
async function send(page: Page, mode: string, text: string): Promise<void> {
  await page.select("#mode", mode);
  await page.fill("#message", text);
  await page.press("Enter");
}

/** Runs `fn` with a fresh server, browser and page, then closes all three. */
async function withPlayground(
  fn: (page: Page, server: TestServer, browser: Browser) => Promise<void>,
): Promise<void> {
  const server = startServer();
  try {
    const browser = await Browser.launch();
    try {
      const page = await browser.newPage();
      await open(page, server);
      await fn(page, server, browser);
    } finally {
      await browser.close();
    }
  } finally {
    await server.stop();
  }
}

function assertNoErrors(page: Page): void {
  assert.deepEqual(page.errors, [], "console errors");
  assert.deepEqual(page.dialogs, [], "dialogs");
}

Deno.test({
  name: "client page: loads without console errors or CSP violations",
  ignore,
  fn: () =>
    withPlayground(async (page, server) => {
      const response = await fetch(`${server.origin}/client`);
      await response.body?.cancel();
      assert.match(
        response.headers.get("content-security-policy") ?? "",
        /script-src 'unsafe-inline'/,
      );
      assert.equal(await page.evaluate("document.title"), "wsecho playground");
      assert.equal(
        await page.evaluate(`document.querySelector("#url").value`),
        `ws://127.0.0.1:${server.port}/ws`,
      );
      // Every control has an accessible name, and the log is a polite live region.
      const unlabelled = await page.evaluate<string[]>(
        `[...document.querySelectorAll("input, select, textarea, button")]
          .filter((el) => !(el.labels?.length || el.getAttribute("aria-label") || el.textContent.trim()))
          .map((el) => el.id || el.outerHTML)`,
      );
      assert.deepEqual(unlabelled, []);
      assert.equal(
        await page.evaluate(
          `document.querySelector("#log").getAttribute("role") + " " +
          document.querySelector("#log").getAttribute("aria-live")`,
        ),
        "log polite",
      );
      assert.deepEqual(await page.cspViolations(), []);
      assertNoErrors(page);
    }),
});

Deno.test({
  name:
    "client page: connects, shows the welcome row and disconnects without reconnecting",
  ignore,
  fn: () =>
    withPlayground(async (page) => {
      await connect(page);
      const welcome = await waitForRow(
        page,
        "in",
        "the welcome message",
        (body) => body.includes(`"type": "welcome"`),
      );
      assert.equal(welcome.type, "json");
      const id = JSON.parse(welcome.body).id;
      assert.equal(await page.text("#my-id"), id);
      await page.click("#disconnect");
      await page.waitFor(
        `document.querySelector("#state").dataset.state === "closed"`,
        "the closed state",
      );
      assert.equal(await page.text("#close-code"), "1000");
      assert.equal(await page.text("#close-meaning"), "Normal Closure");
      assert.equal(
        await page.evaluate(`document.querySelector("#countdown").hidden`),
        true,
        "a deliberate disconnect schedules no reconnect",
      );
      assert.deepEqual(await page.cspViolations(), []);
      assertNoErrors(page);
    }),
});

Deno.test({
  name: "client page: sends text, shows the echo and recalls it with ArrowUp",
  ignore,
  fn: () =>
    withPlayground(async (page) => {
      await connect(page);
      const text = "héllo wsecho ✓";
      await send(page, "text", text);
      const echo = await waitForRow(
        page,
        "in",
        "the echoed text",
        (body) => body === text,
      );
      assert.equal(echo.type, "text");
      assert.equal(echo.size, `${new TextEncoder().encode(text).length} B`);
      assert.equal(await page.text("#stat-out-msgs"), "1");
      await page.waitFor(
        `/ms$/.test(document.querySelector("#rtt").textContent)`,
        "a round-trip time",
      );
      assert.equal(
        await page.evaluate(`document.querySelector("#message").value`),
        "",
      );
      await page.press("ArrowUp");
      assert.equal(
        await page.evaluate(`document.querySelector("#message").value`),
        text,
      );
      assertNoErrors(page);
    }),
});

Deno.test({
  name: "client page: sends hex binary and shows the echoed bytes",
  ignore,
  fn: () =>
    withPlayground(async (page) => {
      await connect(page);
      await send(page, "hex", "de ad be ef 00 01 7f");
      const echo = await waitForRow(
        page,
        "in",
        "the echoed bytes",
        (body) => body.startsWith("00000000  de ad be ef 00 01 7f "),
      );
      assert.equal(echo.type, "binary");
      assert.equal(echo.size, "7 B");
      await send(page, "base64", "AAEC/w==");
      const b64 = await waitForRow(
        page,
        "in",
        "the echoed base64 bytes",
        (body) => body.startsWith("00000000  00 01 02 ff "),
      );
      assert.equal(b64.type, "binary");
      await send(page, "hex", "zz 12");
      await page.waitFor(
        `document.querySelector("#composer-error").textContent.includes("Invalid hex")`,
        "the hex error",
      );
      assertNoErrors(page);
    }),
});

Deno.test({
  name: "client page: refuses invalid JSON before sending it",
  ignore,
  fn: () =>
    withPlayground(async (page) => {
      await connect(page);
      await waitForRow(page, "in", "the welcome message", (body) =>
        body.includes(`"welcome"`));
      const before = await rows(page);
      await send(page, "json", `{"broken": 1,`);
      await page.waitFor(
        `document.querySelector("#composer-error").textContent.includes("Invalid JSON")`,
        "the inline JSON error",
      );
      assert.deepEqual(await rows(page), before, "no row was added");
      assert.equal(await page.text("#stat-out-msgs"), "0");
      assert.equal(
        await page.evaluate(`document.querySelector("#message").value`),
        `{"broken": 1,`,
        "the draft is kept for fixing",
      );
      // A valid message afterwards is the first and only echo: the server
      // never saw the broken one.
      await send(page, "json", `{"fixed": 1}`);
      await waitForRow(page, "in", "the fixed echo", (body) =>
        body.includes(`"fixed": 1`));
      const received = (await rows(page)).filter((row) =>
        row.dir === "in"
      );
      assert.equal(received.length, 2, "welcome and the fixed echo only");
      assertNoErrors(page);
    }),
});

Deno.test({
  name: "client page: shows an XSS payload as inert text",
  ignore,
  fn: () =>
    withPlayground(async (page) => {
      await connect(page);
      const payload = `<img src=x onerror=alert(1)>`;
      await send(page, "text", payload);
      await waitForRow(page, "in", "the echoed payload", (body) =>
        body === payload);
      // A second round trip gives a wrongly created image time to fail.
      await send(page, "text", "after");
      await waitForRow(page, "in", "the second echo", (body) =>
        body === "after");
      assert.equal(
        await page.evaluate(`document.querySelectorAll("img").length`),
        0,
      );
      assert.deepEqual(page.dialogs, [], "no dialog opened");
      assert.deepEqual(await page.cspViolations(), []);
      assertNoErrors(page);
    }),
});

Deno.test({
  name:
    "client page: shows close code 1001 on shutdown and reconnects to a new server",
  ignore,
  async fn() {
    const first = startServer();
    let second: TestServer | undefined;
    try {
      const browser = await Browser.launch();
      try {
        const page = await browser.newPage();
        await open(page, first);
        await connect(page);
        await first.stop();
        await waitForRow(
          page,
          "sys",
          "the 1001 close",
          (body) =>
            body.includes("1001 Going Away") &&
            body.includes("server shutting down"),
        );
        await page.waitFor(
          `!document.querySelector("#countdown").hidden &&
           /Reconnecting in \\d/.test(document.querySelector("#countdown").textContent)`,
          "the reconnect countdown",
        );
        second = startServer(first.port);
        await page.waitFor(
          `document.querySelector("#state").dataset.state === "open"`,
          "the reconnection",
          12_000,
        );
        assert.equal(
          await page.evaluate(`document.querySelector("#countdown").hidden`),
          true,
        );
        // Failed attempts while no server listened log network errors; nothing else may.
        assert.deepEqual(
          page.errors.filter((e) =>
            !/WebSocket connection to .* failed/.test(e)
          ),
          [],
        );
      } finally {
        await browser.close();
      }
    } finally {
      await second?.stop();
      await first.stop();
    }
  },
});

/** Connects a page in wsecho.v1 mode, joins `room` and returns its connection id. */
async function joinRoom(page: Page, room: string): Promise<string> {
  await connect(page, "wsecho.v1");
  const id = await page.waitFor<string>(
    `document.querySelector("#my-id").textContent.replace("—", "")`,
    "the connection id",
  );
  await page.fill("#room", room);
  await page.click("#join");
  await page.waitFor(
    `document.querySelector('#rooms li[data-room="${room}"]')`,
    `membership of "${room}"`,
  );
  return id;
}

/** Sends a chat line from `page` to `room`. */
async function chat(page: Page, room: string, text: string): Promise<void> {
  await page.fill("#chat-room", room);
  await page.fill("#chat-text", text);
  await page.click("#chat-send");
}

/** Waits until `page` shows a room message from `from` with `text`. */
function waitForChat(
  page: Page,
  from: string,
  text: string,
): Promise<boolean> {
  return page.waitFor(
    `[...document.querySelectorAll("#room-log li")].some((li) =>
      li.dataset.from === ${
      JSON.stringify(from)
    } && li.dataset.mine === "false" &&
      li.querySelector(".text").textContent === ${JSON.stringify(text)})`,
    `"${text}" from ${from}`,
  );
}

Deno.test({
  name: "client page: two tabs chat through a room",
  ignore,
  fn: () =>
    withPlayground(async (a, server, browser) => {
      const b = await browser.newPage();
      await open(b, server);
      const idA = await joinRoom(a, "tabs");
      const idB = await joinRoom(b, "tabs");
      assert.notEqual(idA, idB);
      await chat(a, "tabs", "hello from A <b>bold?</b>");
      await waitForChat(b, idA, "hello from A <b>bold?</b>");
      await chat(b, "tabs", "hi A, B here");
      await waitForChat(a, idB, "hi A, B here");
      // Only the two sender names are bold: the <b> in A's text stayed text.
      assert.equal(
        await b.evaluate(`document.querySelectorAll("#room-log b").length`),
        2,
      );
      assertNoErrors(a);
      assertNoErrors(b);
    }),
});

Deno.test({
  name: "client page: fits a 360 px wide screen",
  ignore,
  fn: () =>
    withPlayground(async (page, server) => {
      await page.setViewport(360, 760);
      await open(page, server);
      await connect(page);
      await send(
        page,
        "hex",
        "00 11 22 33 44 55 66 77 88 99 aa bb cc dd ee ff 00",
      );
      await waitForRow(page, "in", "the echoed bytes", (body) =>
        body.includes("|"));
      assert.equal(
        await page.evaluate(
          `document.documentElement.scrollWidth <= window.innerWidth`,
        ),
        true,
        "no horizontal scrolling",
      );
      await page.evaluate(`window.scrollTo(0, 0)`);
      await page.screenshot(new URL("narrow.png", ARTIFACTS));
      assertNoErrors(page);
    }),
});

Deno.test({
  name: "client page: saves a screenshot of a short conversation",
  ignore,
  fn: () =>
    withPlayground(async (page, server, browser) => {
      const friend = await browser.newPage();
      await open(friend, server);
      await joinRoom(page, "lobby");
      const friendId = await joinRoom(friend, "lobby");
      await page.select("#kind", "info");
      await page.press("Enter");
      await waitForRow(page, "in", "the info reply", (body) =>
        body.includes(`"type": "info"`));
      await page.select("#kind", "echo");
      await page.press("Enter");
      await waitForRow(page, "in", "the echo reply", (body) =>
        body.includes(`"type": "echo"`));
      await send(page, "hex", "48 65 6c 6c 6f 00 ff 10 20 30");
      await waitForRow(page, "in", "the binary echo", (body) =>
        body.includes("|Hello"));
      await chat(friend, "lobby", "hey, anyone here?");
      await waitForChat(page, friendId, "hey, anyone here?");
      await chat(page, "lobby", "hi! testing wsecho rooms");
      await waitForChat(
        friend,
        await page.text("#my-id") ?? "",
        "hi! testing wsecho rooms",
      );
      await waitForRow(page, "in", "the broadcast receipt", (body) =>
        body.includes(`"type": "sent"`));
      await page.waitFor(
        `/ms$/.test(document.querySelector("#rtt").textContent)`,
        "a round-trip time",
      );
      await page.evaluate(
        `document.activeElement?.blur(); window.scrollTo(0, 0)`,
      );
      await page.send("Emulation.setEmulatedMedia", {
        features: [{ name: "prefers-color-scheme", value: "dark" }],
      });
      await page.screenshot(new URL("playground-dark.png", ARTIFACTS));
      await page.send("Emulation.setEmulatedMedia", {
        features: [{ name: "prefers-color-scheme", value: "light" }],
      });
      const size = await page.screenshot(new URL("playground.png", ARTIFACTS));
      assert.ok(size < 300_000, `screenshot is ${size} bytes`);
      // docs/screenshot.png is committed: refresh it only when asked to, so
      // a test run leaves the work tree clean.
      if (Deno.env.get("UPDATE_SCREENSHOT") === "1") {
        await page.screenshot(DOCS_SCREENSHOT);
      }
      assertNoErrors(page);
      assertNoErrors(friend);
    }),
});
