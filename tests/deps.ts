/**
 * The tests' npm packages, pinned here once. They are imported by specifier,
 * not listed in `deno.json` "imports": `deno task` installs every package
 * listed there before it runs any task, so `deno task start` would download
 * test-only packages on a cold cache.
 *
 * @module
 */
export { default as NodeWebSocket } from "npm:ws@8.18.3";
export { parse as parseYaml } from "npm:yaml@2.9.1";
export type {
  BrowserContext,
  BrowserType,
  Page,
  Page as PlaywrightPage,
} from "npm:playwright-core@1.65.1";

/**
 * Loads playwright-core on first use, never when a test file loads: every
 * importer of this module would otherwise load it. Its bundled `is-wsl`
 * probes `/proc/sys/fs/binfmt_misc/WSLInterop` as it loads, a path for which
 * Deno demands `--allow-all`; with `__IS_WSL_TEST__` set it defers that probe
 * to the one function that opens URLs in a desktop browser, which the tests
 * never call. Playwright also reads `os.homedir()` as it loads: the test
 * task grants `--allow-sys=homedir` for that.
 *
 * @returns The module.
 */
export async function loadPlaywright(): Promise<
  typeof import("npm:playwright-core@1.65.1")
> {
  Deno.env.set("__IS_WSL_TEST__", "1");
  // Pinned here like the others, for the reason at the top of this file.
  // deno-lint-ignore no-import-prefix
  return await import("npm:playwright-core@1.65.1");
}

/** Playwright's Chromium launcher. */
type Chromium = Awaited<ReturnType<typeof loadPlaywright>>["chromium"];

/**
 * Playwright's Chromium, loaded by {@linkcode loadPlaywright} on first launch.
 */
export const chromium: Pick<Chromium, "launchPersistentContext"> = {
  async launchPersistentContext(
    userDataDir: string,
    options?: Parameters<Chromium["launchPersistentContext"]>[1],
  ) {
    return (await loadPlaywright()).chromium.launchPersistentContext(
      userDataDir,
      options,
    );
  },
};
