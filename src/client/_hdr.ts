/**
 * A static import of `hdr-histogram-js` for `deno compile --include` (see
 * tools/compile.ts): `latency.ts` loads the package through a computed
 * specifier, which `deno compile` cannot see, so this file puts it in the
 * executable. Nothing imports this module.
 *
 * @module
 */
export * as hdr from "hdr-histogram-js";
