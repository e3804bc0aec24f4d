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
      await page.colorScheme("dark");
      await page.screenshot(new URL("playground-dark.png", ARTIFACTS));
      await page.colorScheme("light");
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

/**
 * Sends each text through the composer in one go, the way pressing Enter in
 * it would: the page's own keydown handler reads and sends the text.
 */
async function enterAll(page: Page, texts: readonly string[]): Promise<void> {
  await page.evaluate(`(() => {
    const mode = document.querySelector("#mode");
    mode.value = "text";
    mode.dispatchEvent(new Event("change", { bubbles: true }));
    const message = document.querySelector("#message");
    for (const text of ${JSON.stringify(texts)}) {
      message.value = text;
      message.dispatchEvent(new KeyboardEvent("keydown", {
        key: "Enter", bubbles: true, cancelable: true,
      }));
    }
  })()`);
}

/** `[`${prefix}0`, …, `${prefix}${count - 1}`]`. */
function numbered(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${i}`);
}

const ROW_TOTAL = `document.querySelector("#log").childElementCount`;

/**
 * Waits until the page's once-a-frame flush (auto-scroll and the row counter)
 * has run since the last row was added: the counter then names every row.
 */
async function waitForFlush(page: Page, timeoutMs = 5_000): Promise<void> {
  await page.waitFor(
    `document.querySelector("#row-count").textContent === ${ROW_TOTAL} + " rows"`,
    "the row counter to catch up",
    timeoutMs,
  );
}

/** The composer's mode and text. */
function composer(page: Page): Promise<{ mode: string; value: string }> {
  return page.evaluate(`({
    mode: document.querySelector("#mode").value,
    value: document.querySelector("#message").value,
  })`);
}

Deno.test({
  name: "client page: filters the log as you type and clears it",
  ignore,
  fn: () =>
    withPlayground(async (page) => {
      await connect(page);
      await enterAll(page, [
        "apple pie #0",
        "apple pie #1",
        "banana split #0",
        "banana split #1",
      ]);
      await waitForRow(page, "in", "the last echo", (body) =>
        body === "banana split #1");
      await waitForFlush(page);
      const total = await page.evaluate<number>(ROW_TOTAL);
      const VISIBLE = `[...document.querySelectorAll("#log > li")]
        .filter((li) => li.getClientRects().length > 0)
        .map((li) => li.querySelector(".body").textContent)`;
      // Typed like a user; matching ignores case.
      await page.fill("#filter", "APPLE");
      await page.waitFor(
        `document.querySelector("#row-count").textContent === "4 of ${total} rows"`,
        "the filtered row counter",
      );
      assert.deepEqual((await page.evaluate<string[]>(VISIBLE)).toSorted(), [
        "apple pie #0",
        "apple pie #0",
        "apple pie #1",
        "apple pie #1",
      ]);
      // Rows that arrive while filtering obey the filter too.
      await enterAll(page, ["Apple crumble", "cherry"]);
      await waitForRow(page, "in", "the cherry echo", (body) =>
        body === "cherry");
      await page.waitFor(
        `document.querySelector("#row-count").textContent ===
          "6 of " + ${ROW_TOTAL} + " rows"`,
        "the counter to include the new rows",
      );
      const filtered = await page.evaluate<string[]>(VISIBLE);
      const crumbles = filtered.filter((b) =>
        b === "Apple crumble"
      );
      assert.equal(crumbles.length, 2, "the sent and the echoed row");
      assert.ok(
        !filtered.includes("cherry"),
        "a new non-matching row is hidden",
      );
      // Emptying the filter shows every row again.
      await page.fill("#filter", "");
      await waitForFlush(page);
      const all = await page.evaluate<string[]>(VISIBLE);
      assert.equal(all.length, await page.evaluate<number>(ROW_TOTAL));
      assert.ok(all.includes("cherry") && all.includes("banana split #0"));

      // Clear empties the log but keeps the traffic counters: they count the
      // connection's messages, not the rows on screen.
      const STATS = `["#stat-out-msgs", "#stat-in-msgs", "#stat-out-bytes",
        "#stat-in-bytes"].map((s) => document.querySelector(s).textContent)`;
      const stats = await page.evaluate<string[]>(STATS);
      assert.deepEqual(stats.slice(0, 2), ["6", "7"], "6 echoes + welcome");
      await page.click("#clear");
      await page.waitFor(`${ROW_TOTAL} === 0`, "an empty log");
      assert.equal(await page.text("#row-count"), "0 rows");
      assert.match(
        await page.evaluate<string>(
          `getComputedStyle(document.querySelector("#log"), "::after").content`,
        ),
        /No messages yet/,
      );
      assert.deepEqual(await page.evaluate(STATS), stats);
      // The log keeps working after a clear.
      await send(page, "text", "fresh start");
      await waitForRow(page, "in", "the echo after clearing", (body) =>
        body === "fresh start");
      await waitForFlush(page);
      assert.equal(await page.text("#row-count"), "2 rows");
      assertNoErrors(page);
    }),
});

/** The log's scroll offset and whether it shows the last row. */
const LOG_SCROLL = `(() => {
  const w = document.querySelector("#log-wrap");
  return {
    top: w.scrollTop,
    atBottom: w.scrollHeight - w.clientHeight - w.scrollTop <= 1,
    scrollable: w.scrollHeight > w.clientHeight + 200,
  };
})()`;

interface LogScroll {
  top: number;
  atBottom: boolean;
  scrollable: boolean;
}

Deno.test({
  name:
    "client page: auto-scroll sticks to the newest row and pausing it keeps the position",
  ignore,
  fn: () =>
    withPlayground(async (page) => {
      await connect(page);
      await enterAll(page, numbered("a", 20));
      await waitForRow(page, "in", "the last echo", (body) => body === "a19");
      await waitForFlush(page);
      let scroll = await page.evaluate<LogScroll>(LOG_SCROLL);
      assert.ok(scroll.scrollable, "the log overflows");
      assert.ok(scroll.atBottom, "auto-scroll shows the newest row");

      // Paused: the reader's position stays put while rows arrive.
      await page.click("#autoscroll");
      assert.equal(
        await page.evaluate(`document.querySelector("#autoscroll").checked`),
        false,
      );
      await page.evaluate(
        `document.querySelector("#log-wrap").scrollTop = 120`,
      );
      await enterAll(page, numbered("b", 10));
      await waitForRow(page, "in", "the last echo", (body) => body === "b9");
      await waitForFlush(page);
      scroll = await page.evaluate<LogScroll>(LOG_SCROLL);
      assert.equal(scroll.top, 120);
      assert.equal(scroll.atBottom, false);

      // Switched back on: it jumps to the newest row and follows new ones.
      await page.click("#autoscroll");
      await page.waitFor(`${LOG_SCROLL}.atBottom`, "the jump to the bottom");
      await enterAll(page, numbered("c", 10));
      await waitForRow(page, "in", "the last echo", (body) => body === "c9");
      await waitForFlush(page);
      scroll = await page.evaluate<LogScroll>(LOG_SCROLL);
      assert.ok(scroll.atBottom, "the log follows new rows");
      assert.ok(scroll.top > 120);
      assertNoErrors(page);
    }),
});

Deno.test({
  name:
    "client page: keeps the newest 5,000 rows of a flood and stays responsive",
  ignore,
  fn: () =>
    withPlayground(async (page) => {
      await connect(page);
      await waitForRow(page, "in", "the welcome message", (body) =>
        body.includes(`"welcome"`));
      const FLOOD = 5_200;
      await enterAll(page, numbered("m", FLOOD));
      await page.waitFor(
        `document.querySelector("#stat-in-msgs").textContent === "${
          FLOOD + 1
        }"`,
        "every echo",
        20_000,
      );
      await waitForFlush(page);
      const log = await page.evaluate<
        { count: number; last: Row; received: string[] }
      >(`(() => {
        const rows = ${ROWS};
        return {
          count: rows.length,
          last: rows.at(-1),
          received: rows.filter((r) => r.dir === "in").map((r) => r.body),
        };
      })()`);
      assert.equal(log.count, 5_000);
      assert.equal(log.last.dir, "in");
      assert.equal(log.last.body, `m${FLOOD - 1}`, "the newest row is last");
      // The oldest rows went first: the received rows kept are a run of
      // consecutive echoes ending with the newest.
      const numbers = log.received.map((body) =>
        Number(body.slice(1))
      );
      assert.ok(
        numbers.every((n, i) => i === 0 || n === numbers[i - 1]! + 1),
        "received rows are consecutive",
      );
      assert.equal(await page.text("#row-count"), "5000 rows");
      // Responsive: a frame is drawn and a round trip completes promptly.
      const start = performance.now();
      await page.evaluate(
        `new Promise((resolve) => requestAnimationFrame(() => resolve(true)))`,
      );
      const elapsed = performance.now() - start;
      assert.ok(elapsed < 1_000, `a frame took ${elapsed.toFixed(0)} ms`);
      assertNoErrors(page);
    }),
});

Deno.test({
  name: "client page: ArrowUp and ArrowDown walk the composer history",
  ignore,
  fn: () =>
    withPlayground(async (page) => {
      await connect(page);
      await send(page, "text", "one");
      await send(page, "json", `{"n": 2}`);
      await send(page, "text", "three");
      await waitForRow(page, "in", "the last echo", (body) => body === "three");
      // A draft is kept while walking and comes back past the newest entry.
      await page.fill("#message", "draft");
      const walk: [("ArrowUp" | "ArrowDown"), string, string][] = [
        ["ArrowUp", "text", "three"],
        ["ArrowUp", "json", `{"n": 2}`],
        ["ArrowUp", "text", "one"],
        ["ArrowUp", "text", "one"], // the oldest entry stops the walk
        ["ArrowDown", "json", `{"n": 2}`],
        ["ArrowDown", "text", "three"],
        ["ArrowDown", "text", "draft"],
      ];
      for (const [key, mode, value] of walk) {
        await page.press(key);
        assert.deepEqual(await composer(page), { mode, value }, key);
      }
      assertNoErrors(page);
    }),
});

/** Clicks the Copy button of the last `dir` row showing `body`. */
async function clickCopy(
  page: Page,
  dir: Row["dir"],
  body: string,
): Promise<void> {
  const n = await page.evaluate<number>(
    `[...document.querySelectorAll("#log > li")].findLastIndex((li) =>
      li.dataset.dir === ${JSON.stringify(dir)} &&
      li.querySelector(".body").textContent === ${JSON.stringify(body)}) + 1`,
  );
  assert.ok(n > 0, `a "${dir}" row showing ${body}`);
  const button = `#log > li:nth-child(${n}) button.copy`;
  await page.click(button);
  await page.waitFor(
    `document.querySelector("${button}").textContent === "Copied"`,
    "the Copied label",
  );
}

Deno.test({
  name:
    "client page: Copy puts the wire text on the clipboard, with and without the Clipboard API",
  ignore,
  fn: () =>
    withPlayground(async (page, server, browser) => {
      await browser.grantPermissions(server.origin, [
        "clipboard-read",
        "clipboard-write",
      ]);
      await connect(page);
      const READ = `navigator.clipboard.readText()`;
      // JSON is shown pretty but copied exactly as it was on the wire.
      const wire = `{"b":[1,2],"a":"x"}`;
      const shown = `{"b": [1, 2], "a": "x"}`;
      await send(page, "json", wire);
      await waitForRow(page, "in", "the JSON echo", (body) => body === shown);
      await clickCopy(page, "in", shown);
      assert.equal(await page.evaluate(READ), wire);
      // Binary rows copy their bytes as hex, not the hexdump.
      await send(page, "hex", "de ad be ef");
      const dump = (await waitForRow(page, "in", "the binary echo", (body) =>
        body.startsWith("00000000  de ad be ef"))).body;
      await clickCopy(page, "in", dump);
      assert.equal(await page.evaluate(READ), "de ad be ef");
      // Without the Clipboard API (a denied permission, or plain http to a
      // host other than localhost) the page falls back to a hidden textarea
      // and execCommand("copy"), then gives focus back to the button.
      await page.evaluate(`navigator.clipboard.writeText("sentinel")`);
      await page.evaluate(`globalThis.refusedWrites = 0;
        navigator.clipboard.writeText = () => {
          globalThis.refusedWrites++;
          return Promise.reject(new DOMException("Write permission denied.", "NotAllowedError"));
        }`);
      await clickCopy(page, "out", shown);
      assert.equal(await page.evaluate(`globalThis.refusedWrites`), 1);
      assert.equal(await page.evaluate(READ), wire);
      assert.equal(
        await page.evaluate(`document.activeElement.className`),
        "copy",
      );
      assert.equal(
        await page.evaluate(`document.querySelectorAll("textarea").length`),
        1,
        "the helper textarea is removed",
      );
      assertNoErrors(page);
    }),
});

/** WCAG contrast of colours as `getComputedStyle` returns them. */
const CONTRAST_HELPERS = `
  const rgba = (c) => c.match(/[\\d.]+/g).map(Number);
  const channel = (v) => (v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  const luminance = (c) => {
    const [r, g, b] = rgba(c);
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  };
  const contrast = (a, b) => {
    const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (hi + 0.05) / (lo + 0.05);
  };
  // The first non-transparent background at or behind an element.
  const backgroundOf = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = getComputedStyle(e).backgroundColor;
      if (rgba(c)[3] !== 0) return c;
    }
    return "rgb(255, 255, 255)";
  };`;

/** The contrast of one element's text against its background. */
function contrastOf(page: Page, selector: string): Promise<number> {
  return page.evaluate(`(() => {${CONTRAST_HELPERS}
    const el = document.querySelector(${JSON.stringify(selector)});
    return contrast(getComputedStyle(el).color, backgroundOf(el));
  })()`);
}

Deno.test({
  name:
    "client page: with auto-reconnect off a server close stays closed, and switching it off cancels a countdown",
  ignore,
  async fn() {
    const first = startServer();
    let second: TestServer | undefined;
    try {
      const browser = await Browser.launch();
      try {
        const page = await browser.newPage();
        await open(page, first);
        await page.click("#reconnect");
        assert.equal(
          await page.evaluate(`document.querySelector("#reconnect").checked`),
          false,
        );
        await connect(page);
        await first.stop();
        await waitForRow(
          page,
          "sys",
          "the 1001 close",
          (body) => body.includes("1001 Going Away"),
        );
        // The close handler logs the row, then decides on a retry in the same
        // task: by now any countdown would be showing. Disconnect is only
        // enabled while a retry is pending.
        assert.deepEqual(
          await page.evaluate(`({
            state: document.querySelector("#state").dataset.state,
            countdown: !document.querySelector("#countdown").hidden,
            disconnect: !document.querySelector("#disconnect").disabled,
            connect: !document.querySelector("#connect").disabled,
          })`),
          {
            state: "closed",
            countdown: false,
            disconnect: false,
            connect: true,
          },
        );

        // Switched on again, a shutdown starts a countdown; switching it off
        // cancels the countdown. The page's CSP allows only its own origin,
        // so the second server reuses the port.
        second = startServer(first.port);
        await page.click("#reconnect");
        await connect(page);
        await second.stop();
        await page.waitFor(
          `!document.querySelector("#countdown").hidden`,
          "the reconnect countdown",
        );
        const ratio = await contrastOf(page, "#countdown");
        assert.ok(ratio >= 4.5, `countdown contrast ${ratio.toFixed(2)}`);
        await page.click("#reconnect");
        await waitForRow(
          page,
          "sys",
          "the cancellation",
          (body) => body === "Auto-reconnect cancelled",
        );
        assert.deepEqual(
          await page.evaluate(`({
            state: document.querySelector("#state").dataset.state,
            countdown: !document.querySelector("#countdown").hidden,
            disconnect: !document.querySelector("#disconnect").disabled,
          })`),
          { state: "closed", countdown: false, disconnect: false },
        );
        // A retry may have fired before the click and failed: only that
        // network error is allowed.
        assert.deepEqual(
          page.errors.filter((e) =>
            !/WebSocket connection to .* failed/.test(e)
          ),
          [],
        );
        assert.deepEqual(page.dialogs, []);
      } finally {
        await browser.close();
      }
    } finally {
      await second?.stop();
      await first.stop();
    }
  },
});

/** What {@linkcode CONTRAST_REPORT} measures. */
interface ContrastReport {
  scheme: string;
  backgroundLuminance: number;
  bodyContrast: number;
  failures: string[];
}

/** Measures the page background and the contrast of every visible text. */
const CONTRAST_REPORT = `(() => {${CONTRAST_HELPERS}
  const body = getComputedStyle(document.body);
  const failures = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node; (node = walker.nextNode());) {
    const el = node.parentElement;
    if (!node.textContent.trim() || !el.getClientRects().length) continue;
    if (el.closest(".sr, script, style")) continue;
    const ratio = contrast(getComputedStyle(el).color, backgroundOf(el));
    if (ratio < 4.5) {
      failures.push(el.tagName.toLowerCase() + "." + el.className + " " +
        JSON.stringify(node.textContent.trim().slice(0, 24)) + ": " + ratio.toFixed(2));
    }
  }
  return {
    scheme: getComputedStyle(document.documentElement).colorScheme,
    backgroundLuminance: luminance(body.backgroundColor),
    bodyContrast: contrast(body.color, body.backgroundColor),
    failures,
  };
})()`;

Deno.test({
  name: "client page: dark and light colour schemes keep every text readable",
  ignore,
  fn: () =>
    withPlayground(async (page) => {
      await connect(page);
      await send(page, "text", "hello");
      await send(page, "text", `{"type":"error","message":"an error row"}`);
      await waitForRow(page, "in", "the error echo", (body) =>
        body.includes("an error row"));
      await waitForFlush(page);
      for (const scheme of ["dark", "light"] as const) {
        await page.colorScheme(scheme);
        const report = await page.evaluate<ContrastReport>(CONTRAST_REPORT);
        // Form controls and scrollbars follow the scheme too.
        assert.equal(report.scheme, scheme);
        if (scheme === "dark") {
          assert.ok(report.backgroundLuminance < 0.05, JSON.stringify(report));
        } else {
          assert.ok(report.backgroundLuminance > 0.8, JSON.stringify(report));
        }
        assert.ok(report.bodyContrast >= 4.5, JSON.stringify(report));
        // WCAG AA: 4.5:1 for every visible text, labels and rows included.
        assert.deepEqual(report.failures, [], `${scheme} scheme`);
      }
      assertNoErrors(page);
    }),
});

/** The focused element and whether it shows a focus indicator. */
const FOCUSED = `(() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  return {
    id: el.id || el.tagName.toLowerCase(),
    indicator: el.matches(":focus-visible") &&
      ((style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0) ||
        style.boxShadow !== "none"),
  };
})()`;

interface Focused {
  id: string;
  indicator: boolean;
}

/** Presses Tab (or Shift+Tab) until `id` has focus, at most 20 times. */
async function tabTo(
  page: Page,
  id: string,
  shift = false,
): Promise<Focused[]> {
  const stops: Focused[] = [];
  for (let i = 0; i < 20; i++) {
    await page.press("Tab", { shift });
    const focused = await page.evaluate<Focused>(FOCUSED);
    stops.push(focused);
    if (focused.id === id) return stops;
  }
  throw new Error(
    `Tab never reached #${id}: ${stops.map((s) => s.id).join(" → ")}`,
  );
}

Deno.test({
  name:
    "client page: works from the keyboard alone, with a visible focus indicator",
  ignore,
  fn: () =>
    withPlayground(async (page) => {
      const stops = await tabTo(page, "send");
      const order = stops.map((s) => s.id);
      assert.equal(order[0], "url", "the URL field is the first stop");
      const at = (id: string) => order.indexOf(id);
      assert.ok(
        at("url") < at("connect") && at("connect") < at("message") &&
          at("message") < at("send"),
        order.join(" → "),
      );
      assert.equal(new Set(order).size, order.length, "no stop repeats");
      assert.deepEqual(
        stops.filter((s) => !s.indicator).map((s) => s.id),
        [],
        "every stop shows a focus indicator",
      );
      // Back to Connect and press Enter on it.
      await tabTo(page, "connect", true);
      await page.press("Enter");
      await page.waitFor(
        `document.querySelector("#state").dataset.state === "open"`,
        "the open state",
      );
      // On to the composer; type and send with Enter.
      await tabTo(page, "message");
      await page.insertText("typed");
      await page.press("Enter");
      await waitForRow(
        page,
        "in",
        "the typed echo",
        (body) => body === "typed",
      );
      assertNoErrors(page);
    }),
});

const KINDS = ["echo", "ping", "info", "join", "leave", "broadcast"] as const;

Deno.test({
  name:
    "client page: JSON templates for every wsecho.v1 kind, and info gets a reply",
  ignore,
  fn: () =>
    withPlayground(async (page) => {
      await connect(page, "wsecho.v1");
      assert.equal(
        await page.evaluate(`document.querySelector("#kind-wrap").hidden`),
        false,
      );
      const messages: Record<string, unknown>[] = [];
      for (const kind of KINDS) {
        await page.select("#kind", kind);
        const { mode, value } = await composer(page);
        assert.equal(mode, "json");
        const message = JSON.parse(value);
        assert.equal(message.type, kind);
        messages.push(message);
      }
      const ids = messages.map((m) => m.id as number);
      assert.ok(Number.isInteger(ids[0]), `id ${ids[0]}`);
      assert.deepEqual(ids, ids.map((_, i) => ids[0]! + i), "ids increment");
      assert.deepEqual(
        messages.filter((m) => "room" in m).map((m) => `${m.type} ${m.room}`),
        ["join lobby", "leave lobby", "broadcast lobby"],
      );
      // The button inserts a fresh one of the chosen kind.
      await page.click("#template");
      const again = JSON.parse((await composer(page)).value);
      assert.deepEqual(
        [again.type, again.id],
        ["broadcast", ids.at(-1)! + 1],
      );
      // The template is focused: Enter sends it.
      await page.select("#kind", "info");
      const info = JSON.parse((await composer(page)).value);
      assert.equal(
        await page.evaluate(`document.activeElement.id`),
        "message",
      );
      await page.press("Enter");
      const reply = await waitForRow(
        page,
        "in",
        "the info reply",
        (body) =>
          body.includes(`"type": "info"`) && JSON.parse(body).id === info.id,
      );
      assert.equal(reply.type, "json");
      assert.equal(
        JSON.parse(reply.body).connection.id,
        await page.text("#my-id"),
      );
      assertNoErrors(page);
    }),
});

Deno.test({
  name:
    "client page: a URL its Content-Security-Policy blocks fails at once instead of hanging",
  ignore,
  fn: () =>
    withPlayground(async (page, server) => {
      // The page may connect only to its own host, here port 1 is another.
      await page.fill("#url", "ws://127.0.0.1:1/ws");
      await page.click("#connect");
      await page.waitFor(
        `document.querySelector("#url-error").textContent`,
        "the inline error",
      );
      assert.match(
        await page.text("#url-error") ?? "",
        new RegExp(`Content-Security-Policy.*127\\.0\\.0\\.1:${server.port}`),
      );
      assert.deepEqual(
        await page.evaluate(`({
          state: document.querySelector("#state").dataset.state,
          invalid: document.querySelector("#url").getAttribute("aria-invalid"),
          connect: !document.querySelector("#connect").disabled,
          disconnect: !document.querySelector("#disconnect").disabled,
          countdown: !document.querySelector("#countdown").hidden,
        })`),
        {
          state: "closed",
          invalid: "true",
          connect: true,
          disconnect: false,
          countdown: false,
        },
      );
      // The browser reports the violation asynchronously, once.
      await page.waitFor(
        `globalThis.__cspViolations.length === 1 &&
          globalThis.__cspViolations[0].startsWith("connect-src ws://127.0.0.1:1/")`,
        "the CSP violation report",
      );
      const deadline = Date.now() + 5_000;
      while (!page.errors.length && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 40));
      }
      assert.equal(page.errors.length, 1, "one console error");
      assert.match(page.errors[0]!, /violates .* "connect-src/);
      // Fixing the URL connects.
      await page.fill("#url", `ws://127.0.0.1:${server.port}/ws`);
      await connect(page);
      assert.equal(
        await page.evaluate(
          `document.querySelector("#url").hasAttribute("aria-invalid")`,
        ),
        false,
      );
    }),
});
