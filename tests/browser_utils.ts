/**
 * A minimal headless Chromium driver for the playground tests, speaking the
 * Chrome DevTools Protocol over Deno's own WebSocket: no npm dependency, and
 * every process, socket and timer it opens is closed before a test ends, so
 * the op and resource sanitizers stay on.
 *
 * @module
 */
import { createServer } from "../src/server/create_server.ts";

/**
 * The browser: Debian's `chromium` package, unless `CHROMIUM_PATH` names
 * another Chromium or Chrome binary.
 */
export const CHROMIUM_PATH: string = Deno.env.get("CHROMIUM_PATH") ||
  "/usr/bin/chromium";

/** Flags for a quiet, offline, throwaway headless Chromium. */
export const CHROMIUM_FLAGS: readonly string[] = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-quic",
  "--disable-breakpad",
  "--disable-extensions",
  "--mute-audio",
  // Two tabs chat with each other: keep the hidden one's timers at full speed.
  "--disable-background-timer-throttling",
  "--disable-renderer-backgrounding",
  "--disable-backgrounding-occluded-windows",
  "--remote-debugging-port=0",
];

/**
 * Tells whether the browser tests can run. Without Chromium they are skipped
 * with one line of explanation, except under `CI=true`, where they run and
 * fail.
 *
 * @returns `true` when Chromium is installed or `CI` is `"true"`.
 */
export function browserTestsEnabled(): boolean {
  try {
    Deno.statSync(CHROMIUM_PATH);
    return true;
  } catch {
    if (Deno.env.get("CI") === "true") return true;
    // deno-lint-ignore no-console
    console.warn(
      `Skipping the client page browser tests: ${CHROMIUM_PATH} not found (apt-get install chromium)`,
    );
    return false;
  }
}

/** A wsecho server on loopback for one test. */
export interface TestServer {
  /** The port it listens on. */
  readonly port: number;
  /** `http://127.0.0.1:PORT`. */
  readonly origin: string;
  /** Stops the server and waits until every socket is closed. */
  stop(): Promise<void>;
}

/**
 * Starts wsecho on loopback.
 *
 * @param port The port, `0` for any free one.
 * @returns The running server.
 */
export function startServer(port = 0): TestServer {
  const controller = new AbortController();
  const server = createServer({
    hostname: "127.0.0.1",
    port,
    signal: controller.signal,
  });
  const actual = server.addr.port;
  return {
    port: actual,
    origin: `http://127.0.0.1:${actual}`,
    async stop() {
      controller.abort();
      await server.finished;
    },
  };
}

/** A CDP result or event payload: loosely typed JSON, as the protocol is large. */
// deno-lint-ignore no-explicit-any
export type CdpResult = any;

/** A CDP event or reply. */
interface CdpMessage {
  id?: number;
  method?: string;
  params?: CdpResult;
  result?: CdpResult;
  error?: { message: string };
  sessionId?: string;
}

type Listener = (message: CdpMessage) => void;

/** One DevTools connection to the browser, multiplexing page sessions. */
export class CdpConnection {
  #socket: WebSocket;
  #nextId = 1;
  #calls = new Map<number, PromiseWithResolvers<CdpResult>>();
  #listeners = new Set<Listener>();
  readonly closed: Promise<void>;

  constructor(socket: WebSocket) {
    this.#socket = socket;
    const closed = Promise.withResolvers<void>();
    this.closed = closed.promise;
    socket.addEventListener("message", (event) => {
      const message: CdpMessage = JSON.parse(event.data);
      if (message.id !== undefined) {
        const call = this.#calls.get(message.id);
        this.#calls.delete(message.id);
        if (message.error) {
          call?.reject(new Error(`CDP error: ${message.error.message}`));
        } else call?.resolve(message.result);
      } else {
        for (const listener of this.#listeners) listener(message);
      }
    });
    socket.addEventListener("close", () => {
      for (const call of this.#calls.values()) {
        call.reject(new Error("CDP connection closed"));
      }
      this.#calls.clear();
      closed.resolve();
    });
  }

  static async open(url: string): Promise<CdpConnection> {
    const socket = new WebSocket(url);
    const opened = Promise.withResolvers<void>();
    socket.addEventListener("open", () => opened.resolve(), { once: true });
    socket.addEventListener(
      "error",
      () => opened.reject(new Error(`Cannot reach ${url}`)),
      {
        once: true,
      },
    );
    await opened.promise;
    return new CdpConnection(socket);
  }

  send(
    method: string,
    params: Record<string, unknown> = {},
    sessionId?: string,
  ): Promise<CdpResult> {
    const id = this.#nextId++;
    const call = Promise.withResolvers<CdpResult>();
    this.#calls.set(id, call);
    this.#socket.send(
      JSON.stringify({
        id,
        method,
        params,
        ...(sessionId ? { sessionId } : {}),
      }),
    );
    return call.promise;
  }

  on(listener: Listener): void {
    this.#listeners.add(listener);
  }

  close(): void {
    if (this.#socket.readyState < WebSocket.CLOSING) this.#socket.close();
  }
}

/** Waits for `ms` milliseconds, for polling only, never as an assertion. */
function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A headless Chromium with its own temporary profile. */
export class Browser {
  #child: Deno.ChildProcess;
  #cdp: CdpConnection;
  #profile: string;
  #stderrDone: Promise<string>;

  /** Use {@linkcode Browser.launch} instead. */
  constructor(
    child: Deno.ChildProcess,
    cdp: CdpConnection,
    profile: string,
    stderrDone: Promise<string>,
  ) {
    this.#child = child;
    this.#cdp = cdp;
    this.#profile = profile;
    this.#stderrDone = stderrDone;
  }

  /**
   * Starts Chromium and connects to its DevTools endpoint.
   *
   * @returns The browser; close it with {@linkcode Browser.close}.
   * @throws {Error} When Chromium is missing or prints no endpoint within 15 s.
   */
  static async launch(): Promise<Browser> {
    const profile = await Deno.makeTempDir({ prefix: "wsecho-chromium-" });
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(CHROMIUM_PATH, {
        args: [...CHROMIUM_FLAGS, `--user-data-dir=${profile}`, "about:blank"],
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).spawn();
    } catch (error) {
      await Deno.remove(profile, { recursive: true });
      throw new Error(
        `Cannot start "${CHROMIUM_PATH}" (apt-get install chromium)`,
        {
          cause: error,
        },
      );
    }
    // Read stderr to the end so the pipe never fills; the endpoint is on it.
    const endpoint = Promise.withResolvers<string>();
    const stderrDone = (async () => {
      let text = "";
      for await (
        const chunk of child.stderr.pipeThrough(new TextDecoderStream())
      ) {
        text += chunk;
        const match = text.match(/DevTools listening on (ws:\/\/\S+)/);
        if (match?.[1]) endpoint.resolve(match[1]);
      }
      endpoint.reject(
        new Error(`Chromium exited without a DevTools endpoint:\n${text}`),
      );
      return text;
    })();
    const timer = setTimeout(
      () =>
        endpoint.reject(
          new Error("Chromium printed no DevTools endpoint within 15 s"),
        ),
      15_000,
    );
    try {
      const cdp = await CdpConnection.open(await endpoint.promise);
      return new Browser(child, cdp, profile, stderrDone);
    } catch (error) {
      child.kill("SIGKILL");
      await child.status;
      await stderrDone;
      await Deno.remove(profile, { recursive: true });
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Opens a new tab with a 1200×800 viewport.
   *
   * @returns The page.
   */
  async newPage(): Promise<Page> {
    const { targetId } = await this.#cdp.send("Target.createTarget", {
      url: "about:blank",
    });
    const { sessionId } = await this.#cdp.send("Target.attachToTarget", {
      targetId,
      flatten: true,
    });
    const page = new Page(this.#cdp, sessionId);
    await page.init();
    return page;
  }

  /**
   * Grants permissions, such as `clipboardReadWrite`, to every tab of `origin`.
   *
   * @param origin The origin, for example `http://127.0.0.1:8080`.
   * @param permissions CDP `Browser.PermissionType` names.
   */
  async grantPermissions(
    origin: string,
    permissions: readonly string[],
  ): Promise<void> {
    await this.#cdp.send("Browser.grantPermissions", { origin, permissions });
  }

  /** Closes the browser, waits for its exit and removes its profile. */
  async close(): Promise<void> {
    await this.#cdp.send("Browser.close").catch(() => {});
    this.#cdp.close();
    await this.#cdp.closed;
    const timer = setTimeout(() => this.#child.kill("SIGKILL"), 5_000);
    await this.#child.status;
    clearTimeout(timer);
    await this.#stderrDone;
    await Deno.remove(this.#profile, { recursive: true }).catch(() => {});
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** One tab, driven through its CDP session. */
export class Page {
  #cdp: CdpConnection;
  #sessionId: string;
  #loaded: PromiseWithResolvers<void> | undefined;
  /** Console errors, uncaught exceptions and browser log errors, in order. */
  readonly errors: string[] = [];
  /** Messages of JavaScript dialogs (alert, confirm, prompt) that opened. */
  readonly dialogs: string[] = [];

  constructor(cdp: CdpConnection, sessionId: string) {
    this.#cdp = cdp;
    this.#sessionId = sessionId;
    cdp.on((message) => {
      if (message.sessionId === sessionId) this.#onEvent(message);
    });
  }

  #onEvent({ method, params }: CdpMessage): void {
    switch (method) {
      case "Runtime.consoleAPICalled":
        if (params.type === "error" || params.type === "assert") {
          const args: { value?: unknown; description?: string }[] = params.args;
          this.errors.push(
            args.map((arg) => String(arg.value ?? arg.description)).join(" "),
          );
        }
        break;
      case "Runtime.exceptionThrown":
        this.errors.push(
          params.exceptionDetails.exception?.description ??
            params.exceptionDetails.text,
        );
        break;
      case "Log.entryAdded":
        if (params.entry.level === "error") this.errors.push(params.entry.text);
        break;
      case "Page.javascriptDialogOpening":
        this.dialogs.push(params.message);
        this.send("Page.handleJavaScriptDialog", { accept: false }).catch(
          () => {},
        );
        break;
      case "Page.loadEventFired":
        this.#loaded?.resolve();
        break;
    }
  }

  send(
    method: string,
    params: Record<string, unknown> = {},
  ): Promise<CdpResult> {
    return this.#cdp.send(method, params, this.#sessionId);
  }

  async init(): Promise<void> {
    await Promise.all([
      this.send("Page.enable"),
      this.send("Runtime.enable"),
      this.send("Log.enable"),
      this.setViewport(1200, 800),
      // Runs before the page's own script: records every CSP violation.
      this.send("Page.addScriptToEvaluateOnNewDocument", {
        source: `globalThis.__cspViolations = [];
          document.addEventListener("securitypolicyviolation", (e) =>
            globalThis.__cspViolations.push(e.violatedDirective + " " + e.blockedURI), true);`,
      }),
    ]);
  }

  /** Sets the viewport size in CSS pixels. */
  async setViewport(width: number, height: number): Promise<void> {
    await this.send("Emulation.setDeviceMetricsOverride", {
      width,
      height,
      deviceScaleFactor: 1,
      mobile: false,
    });
  }

  /** Navigates and waits for the load event. */
  async goto(url: string): Promise<void> {
    this.#loaded = Promise.withResolvers();
    const { errorText } = await this.send("Page.navigate", { url });
    if (errorText) throw new Error(`Cannot load "${url}": ${errorText}`);
    await this.#loaded.promise;
  }

  /**
   * Evaluates an expression in the page, awaiting a promise result.
   *
   * @returns Its value, passed through JSON.
   * @throws {Error} When the expression throws.
   */
  async evaluate<T = CdpResult>(expression: string): Promise<T> {
    const { result, exceptionDetails } = await this.send("Runtime.evaluate", {
      expression,
      awaitPromise: true,
      returnByValue: true,
      userGesture: true,
    });
    if (exceptionDetails) {
      throw new Error(
        `Page threw: ${
          exceptionDetails.exception?.description ?? exceptionDetails.text
        }`,
      );
    }
    return result.value as T;
  }

  /**
   * Polls an expression until it is truthy.
   *
   * @param expression JavaScript evaluated in the page.
   * @param what What is awaited, for the timeout message.
   * @param timeoutMs The deadline.
   * @returns The truthy value.
   * @throws {Error} On timeout.
   */
  async waitFor<T = CdpResult>(
    expression: string,
    what: string,
    timeoutMs = 5_000,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await this.evaluate<T>(expression);
      if (value) return value;
      if (Date.now() > deadline) {
        throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
      }
      await delay(40);
    }
  }

  /**
   * Makes this tab the active one: a background tab draws no frames, so its
   * input events would wait seconds for one.
   */
  async #focusTab(): Promise<void> {
    await this.send("Page.bringToFront");
  }

  /** Clicks the centre of the element like a user, with mouse events. */
  async click(selector: string): Promise<void> {
    await this.#focusTab();
    const box = await this.evaluate<{ x: number; y: number } | null>(`(() => {
      const el = document.querySelector(${JSON.stringify(selector)});
      if (!el) return null;
      el.scrollIntoView({ block: "center", inline: "center" });
      const r = el.getBoundingClientRect();
      return { x: r.x + r.width / 2, y: r.y + r.height / 2 };
    })()`);
    if (!box) throw new Error(`No element matches "${selector}"`);
    const base = { x: box.x, y: box.y, button: "left", clickCount: 1 };
    await this.send("Input.dispatchMouseEvent", {
      type: "mouseMoved",
      x: box.x,
      y: box.y,
    });
    await this.send("Input.dispatchMouseEvent", {
      type: "mousePressed",
      ...base,
    });
    await this.send("Input.dispatchMouseEvent", {
      type: "mouseReleased",
      ...base,
    });
  }

  /** Focuses a field, empties it and types `text` into it. */
  async fill(selector: string, text: string): Promise<void> {
    await this.#focusTab();
    const found = await this.evaluate<boolean>(`(() => {
      const el = document.querySelector(${JSON.stringify(selector)});
      if (!el) return false;
      el.focus();
      el.select?.();
      return true;
    })()`);
    if (!found) throw new Error(`No element matches "${selector}"`);
    await this.send("Input.dispatchKeyEvent", {
      type: "keyDown",
      key: "Delete",
      code: "Delete",
      windowsVirtualKeyCode: 46,
    });
    await this.send("Input.dispatchKeyEvent", {
      type: "keyUp",
      key: "Delete",
      code: "Delete",
      windowsVirtualKeyCode: 46,
    });
    if (text) await this.send("Input.insertText", { text });
  }

  /**
   * Presses a key in the focused element, as a keyboard would.
   *
   * @param key `Enter`, `Tab`, `ArrowUp` or `ArrowDown`.
   * @param options `shift: true` holds Shift, as in Shift+Tab.
   */
  async press(
    key: "Enter" | "Tab" | "ArrowUp" | "ArrowDown",
    options: { shift?: boolean } = {},
  ): Promise<void> {
    await this.#focusTab();
    const codes = { Enter: 13, Tab: 9, ArrowUp: 38, ArrowDown: 40 };
    const common = {
      key,
      code: key,
      windowsVirtualKeyCode: codes[key],
      // CDP modifier bit 8 is Shift.
      modifiers: options.shift ? 8 : 0,
    };
    const text = key === "Enter" ? { text: "\r", unmodifiedText: "\r" } : {};
    await this.send("Input.dispatchKeyEvent", {
      type: "keyDown",
      ...common,
      ...text,
    });
    await this.send("Input.dispatchKeyEvent", { type: "keyUp", ...common });
  }

  /** Chooses an option of a `<select>` and fires `change`, as a user would. */
  async select(selector: string, value: string): Promise<void> {
    const ok = await this.evaluate<boolean>(`(() => {
      const el = document.querySelector(${JSON.stringify(selector)});
      if (!el || ![...el.options].some((o) => o.value === ${
      JSON.stringify(value)
    })) return false;
      el.focus();
      el.value = ${JSON.stringify(value)};
      el.dispatchEvent(new Event("input", { bubbles: true }));
      el.dispatchEvent(new Event("change", { bubbles: true }));
      return true;
    })()`);
    if (!ok) throw new Error(`No option "${value}" in "${selector}"`);
  }

  /** The trimmed text content of the first match, or `null`. */
  text(selector: string): Promise<string | null> {
    return this.evaluate(
      `document.querySelector(${
        JSON.stringify(selector)
      })?.textContent.trim() ?? null`,
    );
  }

  /** CSP violations seen since the page loaded. */
  cspViolations(): Promise<string[]> {
    return this.evaluate("globalThis.__cspViolations ?? []");
  }

  /**
   * Saves a PNG of the viewport, creating its folder.
   *
   * @param file A file URL.
   * @returns The PNG's size in bytes.
   */
  async screenshot(file: URL): Promise<number> {
    const { data } = await this.send("Page.captureScreenshot", {
      format: "png",
    });
    const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
    await Deno.mkdir(new URL(".", file), { recursive: true });
    await Deno.writeFile(file, bytes);
    return bytes.length;
  }
}
