/**
 * The program's name and version, taken from `deno.json` at build time so the
 * compiled binary needs no file access to report them.
 *
 * @module
 */
import denoJson from "../../deno.json" with { type: "json" };

/** The product name, as sent in the welcome message and `/healthz`. */
export const NAME = "wsecho";

/** The release version from `deno.json`. */
export const VERSION: string = denoJson.version;
