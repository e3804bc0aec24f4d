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
export { chromium, type Page } from "npm:playwright-core@1.65.1";
