/**
 * Headless Chromium for the playground tests, driven by `playwright-core`
 * with Debian's Chromium: a thin layer that records console errors, dialogs
 * and CSP violations per tab and gives the tests a few short helpers.
 *
 * @module
 */
import {
  type BrowserContext,
  loadPlaywright,
  type PlaywrightPage,
} from "./deps.ts";
import {
  createServer,
  type ServerOptions,
} from "../src/server/create_server.ts";

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
 * @param options More server options.
 * @returns The running server.
 */
export function startServer(
  port = 0,
  options: ServerOptions = {},
): TestServer {
  const controller = new AbortController();
  const server = createServer({
    hostname: "127.0.0.1",
    port,
    signal: controller.signal,
    ...options,
  });
  const actual = server.addr.port;
  let stopped: Promise<void> | undefined;
  return {
    port: actual,
    origin: `http://127.0.0.1:${actual}`,
    stop() {
      controller.abort();
      return stopped ??= server.finished;
    },
  };
}

/** Waits for `ms` milliseconds, for polling only, never as an assertion. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Records CSP violations before the page's own script runs. */
const CSP_RECORDER = `globalThis.__cspViolations = [];
  document.addEventListener("securitypolicyviolation", (e) =>
    globalThis.__cspViolations.push(e.violatedDirective + " " + e.blockedURI), true);`;

/** A headless Chromium with its own temporary profile. */
export class Browser {
  #context: BrowserContext;
  #profile: string;
  /** Every tab opened, in order. */
  readonly pages: Page[] = [];

  /** Use {@linkcode Browser.launch} instead. */
  constructor(context: BrowserContext, profile: string) {
    this.#context = context;
    this.#profile = profile;
  }

  /**
   * Starts Chromium with a fresh profile.
   *
   * @returns The browser; close it with {@linkcode Browser.close}.
   * @throws {Error} When Chromium cannot be started.
   */
  static async launch(): Promise<Browser> {
    const { chromium } = await loadPlaywright();
    const profile = await Deno.makeTempDir({ prefix: "wsecho-chromium-" });
    try {
      const context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM_PATH,
        headless: true,
        args: [...CHROMIUM_FLAGS],
        viewport: { width: 1280, height: 800 },
        timeout: 30_000,
      });
      await context.addInitScript(CSP_RECORDER);
      return new Browser(context, profile);
    } catch (error) {
      await Deno.remove(profile, { recursive: true }).catch(() => {});
      throw new Error(
        `Cannot start "${CHROMIUM_PATH}" (apt-get install chromium)`,
        { cause: error },
      );
    }
  }

  /** The playwright context, for what the helpers do not cover. */
  get context(): BrowserContext {
    return this.#context;
  }

  /**
   * Opens a tab; the first call reuses the tab Chromium starts with.
   *
   * @returns The page, with a 1280×800 viewport.
   */
  async newPage(): Promise<Page> {
    const blank = this.#context.pages().find((p) =>
      p.url() === "about:blank" && !Page.wrapped.has(p)
    );
    const page = blank ?? await this.#context.newPage();
    await page.setViewportSize({ width: 1280, height: 800 });
    const wrapped = new Page(page);
    this.pages.push(wrapped);
    return wrapped;
  }

  /**
   * Grants permissions, such as `clipboard-read`, to every tab of `origin`.
   *
   * @param origin The origin, for example `http://127.0.0.1:8080`.
   * @param permissions Playwright permission names.
   */
  async grantPermissions(
    origin: string,
    permissions: readonly string[],
  ): Promise<void> {
    await this.#context.grantPermissions([...permissions], { origin });
  }

  /** Closes the browser, waits for its exit and removes its profile. */
  async close(): Promise<void> {
    await this.#context.close().catch(() => {});
    await Deno.remove(this.#profile, { recursive: true }).catch(() => {});
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** One tab. */
export class Page {
  /** Playwright pages already wrapped, so a new tab is never handed out twice. */
  static readonly wrapped: WeakSet<PlaywrightPage> = new WeakSet();
  /** The playwright page, for what the helpers do not cover. */
  readonly pw: PlaywrightPage;
  /** Console errors and uncaught exceptions, in order. */
  readonly errors: string[] = [];
  /** Messages of JavaScript dialogs (alert, confirm, prompt) that opened. */
  readonly dialogs: string[] = [];
  /** Console errors a test expects, such as a refused connection. */
  readonly expectedErrors: RegExp[] = [];

  constructor(page: PlaywrightPage) {
    this.pw = page;
    Page.wrapped.add(page);
    page.on("console", (message) => {
      if (message.type() === "error" || message.type() === "assert") {
        this.errors.push(message.text());
      }
    });
    page.on("pageerror", (error) => this.errors.push(String(error)));
    page.on("dialog", (dialog) => {
      this.dialogs.push(dialog.message());
      dialog.dismiss().catch(() => {});
    });
  }

  /** Sets the viewport size in CSS pixels. */
  async setViewport(width: number, height: number): Promise<void> {
    await this.pw.setViewportSize({ width, height });
  }

  /** Navigates and waits for the load event. */
  async goto(url: string): Promise<void> {
    const response = await this.pw.goto(url, { waitUntil: "load" });
    if (response && !response.ok()) {
      throw new Error(`Cannot load "${url}": ${response.status()}`);
    }
  }

  /**
   * Evaluates an expression in the page, awaiting a promise result.
   *
   * @returns Its value, passed through JSON.
   * @throws {Error} When the expression throws.
   */
  evaluate<T = unknown>(expression: string): Promise<T> {
    return this.pw.evaluate(expression) as Promise<T>;
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
  async waitFor<T = unknown>(
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

  /** Makes this tab the active one: a background tab draws no frames. */
  async #focusTab(): Promise<void> {
    await this.pw.bringToFront();
  }

  /** Clicks the centre of the element like a user, with mouse events. */
  async click(selector: string): Promise<void> {
    await this.#focusTab();
    await this.pw.click(selector, { timeout: 5_000 });
  }

  /** Focuses a field, empties it and types `text` into it. */
  async fill(selector: string, text: string): Promise<void> {
    await this.#focusTab();
    await this.pw.fill(selector, text, { timeout: 5_000 });
  }

  /**
   * Presses a key in the focused element, as a keyboard would.
   *
   * @param key A key name such as `Enter`, `Tab`, `ArrowUp` or `ArrowDown`.
   * @param options `shift: true` holds Shift, as in Shift+Tab.
   */
  async press(key: string, options: { shift?: boolean } = {}): Promise<void> {
    await this.#focusTab();
    await this.pw.keyboard.press(options.shift ? `Shift+${key}` : key);
  }

  /** Types text into the focused element, as one input event. */
  async insertText(text: string): Promise<void> {
    await this.#focusTab();
    await this.pw.keyboard.insertText(text);
  }

  /** Chooses an option of a `<select>` and fires `change`, as a user would. */
  async select(selector: string, value: string): Promise<void> {
    await this.pw.focus(selector);
    const chosen = await this.pw.selectOption(selector, value, {
      timeout: 5_000,
    });
    if (!chosen.includes(value)) {
      throw new Error(`No option "${value}" in "${selector}"`);
    }
  }

  /** The trimmed text content of the first match, or `null`. */
  text(selector: string): Promise<string | null> {
    return this.evaluate(
      `document.querySelector(${
        JSON.stringify(selector)
      })?.textContent.trim() ?? null`,
    );
  }

  /** Emulates `prefers-color-scheme`. */
  async colorScheme(scheme: "light" | "dark"): Promise<void> {
    await this.pw.emulateMedia({ colorScheme: scheme });
  }

  /** Console errors that no pattern in {@linkcode Page.expectedErrors} explains. */
  unexpectedErrors(): string[] {
    return this.errors.filter((e) =>
      !this.expectedErrors.some((pattern) => pattern.test(e))
    );
  }

  /**
   * Throws when the tab logged an unexpected console error, opened a dialog
   * or saw a CSP violation.
   */
  async assertClean(): Promise<void> {
    const problems = {
      errors: this.unexpectedErrors(),
      dialogs: this.dialogs,
      csp: this.pw.isClosed() ? [] : await this.cspViolations(),
    };
    if (
      problems.errors.length + problems.dialogs.length + problems.csp.length
    ) {
      throw new Error(
        `The page was not clean: ${JSON.stringify(problems, null, 1)}`,
      );
    }
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
    const bytes = await this.pw.screenshot({ type: "png" });
    await Deno.mkdir(new URL(".", file), { recursive: true });
    await Deno.writeFile(file, bytes);
    return bytes.length;
  }
}
