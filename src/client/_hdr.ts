/**
 * A literal import of the histogram package for `deno compile --include` (see
 * tools/compile.ts): `latency.ts` imports it through a constant, which
 * `deno compile` cannot see, so this file puts it in the executable. Nothing
 * imports this module; `tests/latency_test.ts` checks both name one version.
 *
 * @module
 */
export * as hdr from "npm:hdr-histogram-js@3.0.1";
