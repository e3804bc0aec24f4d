/**
 * The permissions the wsecho server runs with, read from the `"server"`
 * permission set in `deno.json`: the one source of truth for `deno compile`
 * (through `"compile": { "permissions": "server" }`), `deno run -P=server`,
 * the smoke test and the permission tests.
 *
 * @module
 */
import denoJson from "../deno.json" with { type: "json" };

/** The name of the permission set in `deno.json`. */
export const SERVER_PERMISSION_SET = "server";

/**
 * The runtime flags the server runs with, besides its permissions: in the
 * start tasks (checked by `tests/permissions_test.ts`), the executable and
 * the tests' server processes.
 *
 * - `--unstable-net`: `Deno.serve`'s `reusePort` (`--reuse-port`) is
 *   unstable on Deno 2.9.
 * - `--unstable-no-legacy-abort`: by default Deno 2.9 aborts every request's
 *   `signal` once its response is sent, building an abort `DOMException`
 *   with a stack trace for every WebSocket upgrade: about a tenth of the
 *   server's CPU per connect. wsecho never reads `request.signal`, so it opts
 *   into the new behaviour, in which the signal aborts only when the client
 *   goes away first.
 */
export const SERVER_RUNTIME_FLAGS: readonly string[] = [
  "--unstable-net",
  "--unstable-no-legacy-abort",
];

/** A permission set as `deno.json` writes it, limited to the shapes wsecho uses. */
export type PermissionSet = Readonly<
  Record<string, boolean | readonly string[]>
>;

/** The server's permission set: network access and the listed environment variables. */
export const SERVER_PERMISSIONS: PermissionSet =
  denoJson.permissions[SERVER_PERMISSION_SET];

/**
 * Turns a permission set into the equivalent `deno run` flags.
 *
 * @param set The permission set, such as {@linkcode SERVER_PERMISSIONS}.
 * @returns One `--allow-NAME` or `--allow-NAME=A,B` flag per granted permission.
 * @throws {TypeError} For an empty list, which Deno would read as "allow all".
 *
 * @example Usage
 * ```ts
 * import { permissionFlags } from "./server_permissions.ts";
 * permissionFlags({ net: true, env: ["PORT"] }); // ["--allow-net", "--allow-env=PORT"]
 * ```
 */
export function permissionFlags(set: PermissionSet): string[] {
  const flags: string[] = [];
  for (const [name, value] of Object.entries(set)) {
    if (value === true) flags.push(`--allow-${name}`);
    else if (Array.isArray(value)) {
      if (value.length === 0) {
        throw new TypeError(
          `Cannot turn permission "${name}" into a flag: the list is empty`,
        );
      }
      flags.push(`--allow-${name}=${value.join(",")}`);
    }
  }
  return flags;
}
