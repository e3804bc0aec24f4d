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
  Page as PlaywrightPage,
} from "npm:playwright-core@1.65.1";

/**
 * Loads playwright-core, which only the browser tests use: a run without
 * Chromium never loads it.
 *
 * @returns The module.
 */
export function loadPlaywright(): Promise<
  typeof import("npm:playwright-core@1.65.1")
> {
  // Pinned here like the others, for the reason at the top of this file.
  // deno-lint-ignore no-import-prefix
  return import("npm:playwright-core@1.65.1");
}
