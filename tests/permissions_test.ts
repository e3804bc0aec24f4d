import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import denoJson from "../deno.json" with { type: "json" };
import { ENV_VARS } from "../src/config/options.ts";
import { compileArgs, hostTarget } from "../tools/compile.ts";
import {
  permissionFlags,
  SERVER_PERMISSION_SET,
  SERVER_PERMISSIONS,
  SERVER_RUNTIME_FLAGS,
} from "../tools/server_permissions.ts";
import { runSmoke, smokeCommand } from "./binary_smoke.ts";
import { freePort, runOnce, startWsecho } from "./wsecho_process.ts";

const ROOT = new URL("..", import.meta.url);
const MAIN = fileURLToPath(new URL("main.ts", ROOT));
/** `deno run --no-prompt` with exactly the executable's permissions. */
const SERVER = smokeCommand(MAIN);

Deno.test("deno.json server permission set is network plus exactly ENV_VARS", () => {
  assert.deepEqual(denoJson.permissions[SERVER_PERMISSION_SET], {
    net: true,
    env: [...ENV_VARS],
  });
  assert.equal(denoJson.compile.permissions, SERVER_PERMISSION_SET);
  assert.deepEqual(permissionFlags(SERVER_PERMISSIONS), [
    "--allow-net",
    `--allow-env=${ENV_VARS.join(",")}`,
  ]);
  assert.deepEqual(SERVER.slice(1, -1), [
    "run",
    "--no-prompt",
    "--allow-net",
    `--allow-env=${ENV_VARS.join(",")}`,
  ]);
  // The tasks spell the flags out: -P=server would print Deno's "experimental" warning.
  const flags = permissionFlags(SERVER_PERMISSIONS).join(" ");
  const runtime = SERVER_RUNTIME_FLAGS.join(" ");
  assert.equal(denoJson.tasks.start, `deno run ${runtime} ${flags} main.ts`);
  assert.equal(
    denoJson.tasks.dev,
    `deno run --watch ${runtime} ${flags} main.ts --verbose`,
  );
});

Deno.test("compileArgs() takes permissions from the config set alone", () => {
  const args = compileArgs(hostTarget(), "out");
  assert.ok(args.includes("-P"));
  assert.ok(args.includes("--no-prompt"));
  assert.deepEqual(args.filter((a) => /^--(allow|deny)-|^-A$/.test(a)), []);
});

Deno.test("deno compile bakes in the server permission set and nothing more", async () => {
  // The deno CLI stands in for the runtime base (denort), which cannot be
  // downloaded here: the executable it makes does not run as wsecho, but its
  // embedded metadata is what a real denort would be given.
  const dir = await Deno.makeTempDir({ prefix: "wsecho-compile-" });
  try {
    const output = join(dir, "wsecho");
    const { code, stderr } = await runOnce(
      [Deno.execPath(), ...compileArgs(hostTarget(), output)],
      [],
      { env: { DENORT_BIN: Deno.execPath() }, timeoutMs: 60_000 },
    );
    assert.equal(code, 0, stderr);
    assert.match(stderr, /client\.html/, "the page is embedded");
    const metadata = embeddedMetadata(await Deno.readFile(output));
    assert.deepEqual(metadata.permissions, {
      allow_env: [...ENV_VARS],
      deny_env: null,
      ignore_env: null,
      allow_net: [],
      deny_net: null,
      allow_ffi: null,
      deny_ffi: null,
      allow_read: null,
      deny_read: null,
      ignore_read: null,
      allow_run: null,
      deny_run: null,
      allow_sys: null,
      deny_sys: null,
      allow_write: null,
      deny_write: null,
      // Deno's default for module imports, in every executable; wsecho
      // imports nothing at run time.
      allow_import: (metadata.permissions as Record<string, unknown>)
        .allow_import,
      deny_import: null,
      prompt: false,
    });
    // The npm packages loaded on demand: the Redis client that --broker
    // loads and the histogram of `wsecho bench`; the test-only ones stay out.
    assert.notEqual(metadata.node_modules, null);
    assert.match(stderr, /@redis\/client/);
    assert.match(stderr, /hdr-histogram-js\/3\.0\.1\//);
    assert.doesNotMatch(stderr, /\b(ws|yaml)\b/);
    assert.deepEqual(
      (metadata.unstable_config as { features: string[] }).features,
      SERVER_RUNTIME_FLAGS.map((flag) => flag.replace(/^--unstable-/, "")),
      "the server's runtime flags: net for --reuse-port, and no-legacy-abort",
    );
    assert.equal(metadata.entrypoint_key, "main.ts");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("main.ts under the server permissions serves, echoes and shuts down", async () => {
  const checks = await runSmoke(SERVER);
  const failed = checks.filter((c) => c.status === "fail");
  assert.deepEqual(failed, []);
  assert.equal(checks.length, 7);
});

Deno.test("main.ts under the server permissions reads WSECHO_PORT and WSECHO_HOSTNAME", async () => {
  const port = freePort();
  const server = await startWsecho(SERVER, [], {
    env: { WSECHO_PORT: String(port), WSECHO_HOSTNAME: "127.0.0.1" },
  });
  try {
    assert.equal(server.hostname, "127.0.0.1");
    assert.equal(server.port, port);
    const response = await fetch(`${server.http}/healthz`);
    assert.equal(response.status, 200);
    await response.body?.cancel();
  } finally {
    const { code } = await server.stop();
    if (Deno.build.os !== "windows") assert.equal(code, 0);
  }
});

Deno.test("main.ts under the server permissions exits 2 with one line for a file path", async () => {
  const path = fileURLToPath(new URL("deno.json", ROOT));
  const { code, stdout, stderr } = await runOnce(SERVER, [
    "--cert",
    path,
    "--key",
    path,
  ]);
  assert.equal(code, 2);
  assert.equal(stdout, "");
  assert.match(
    stderr,
    /^Cannot read --cert ".*deno\.json": no read permission; run with --allow-read=.* or pass the PEM text itself \(WSECHO_CERT, WSECHO_KEY\)\n$/,
  );
});

Deno.test("main.ts under the server permissions exits 2 with one line for a bad flag", async () => {
  const { code, stdout, stderr } = await runOnce(SERVER, ["--bogus"]);
  assert.equal(code, 2);
  assert.equal(stdout, "");
  assert.equal(stderr, "Unknown option '--bogus'; see --help\n");
});

Deno.test("--help and --version exit 0 with no prompt under the server permissions or none", async (t) => {
  const none = [Deno.execPath(), "run", "--no-prompt", MAIN];
  const commands: [string, string[]][] = [["server", SERVER], ["none", none]];
  for (const [label, command] of commands) {
    await t.step(`${label}: --help`, async () => {
      const { code, stdout, stderr } = await runOnce(command, ["--help"]);
      assert.equal(code, 0, stderr);
      assert.match(stdout, /^wsecho .*\n\nUsage: wsecho \[options\]/);
      assert.equal(stderr, "");
    });
    await t.step(`${label}: --version`, async () => {
      const { code, stdout, stderr } = await runOnce(command, ["--version"]);
      assert.equal(code, 0, stderr);
      assert.equal(stdout, `wsecho ${denoJson.version}\n`);
      assert.equal(stderr, "");
    });
  }
});

Deno.test("the server permissions grant the listed variables and no other", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wsecho-env-" });
  try {
    const probe = join(dir, "probe.ts");
    await Deno.writeTextFile(
      probe,
      `const state = (variable: string) =>
  Deno.permissions.querySync({ name: "env", variable }).state;
let unlisted = "readable";
try {
  Deno.env.get("WSECHO_UNLISTED");
} catch (error) {
  unlisted = (error as Error).name;
}
console.log(JSON.stringify({
  listed: ${JSON.stringify(ENV_VARS)}.map(state),
  unlisted,
  value: Deno.env.get("WSECHO_PORT"),
}));
`,
    );
    const { code, stdout, stderr } = await runOnce(
      [...SERVER.slice(0, -1), probe],
      [],
      { env: { WSECHO_PORT: "1234", WSECHO_UNLISTED: "secret" } },
    );
    assert.equal(code, 0, stderr);
    assert.deepEqual(JSON.parse(stdout), {
      listed: ENV_VARS.map(() => "granted"),
      unlisted: "NotCapable",
      value: "1234",
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name:
    "WSECHO_CERT and WSECHO_KEY as PEM text serve https with no read permission",
  ignore: !hasOpenssl(),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "wsecho-tls-" });
    try {
      const cert = join(dir, "cert.pem");
      const key = join(dir, "key.pem");
      const made = await runOnce(["openssl"], [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=localhost",
        "-addext",
        "subjectAltName=IP:127.0.0.1,DNS:localhost",
        "-addext",
        "basicConstraints=critical,CA:FALSE",
        "-keyout",
        key,
        "-out",
        cert,
      ]);
      assert.equal(made.code, 0, made.stderr);
      const certPem = await Deno.readTextFile(cert);
      const server = await startWsecho(
        SERVER,
        ["--port", "0", "--hostname", "127.0.0.1"],
        {
          env: {
            WSECHO_CERT: certPem,
            WSECHO_KEY: await Deno.readTextFile(key),
          },
        },
      );
      const client = Deno.createHttpClient({ caCerts: [certPem] });
      try {
        assert.match(server.stderr, /https:\/\/127\.0\.0\.1:\d+\/client/);
        const response = await fetch(
          `https://127.0.0.1:${server.port}/healthz`,
          { client },
        );
        assert.equal(response.status, 200);
        assert.equal((await response.json()).status, "ok");
      } finally {
        client.close();
        await server.stop();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** Finds the JSON metadata `deno compile` embeds, by its first key. */
function embeddedMetadata(bytes: Uint8Array): Record<string, unknown> {
  const marker = new TextEncoder().encode('{"argv":');
  let start = -1;
  outer: for (let i = bytes.length - marker.length; i >= 0; i--) {
    for (let j = 0; j < marker.length; j++) {
      if (bytes[i + j] !== marker[j]) continue outer;
    }
    start = i;
    break;
  }
  assert.notEqual(start, -1, "no compile metadata in the executable");
  const text = new TextDecoder().decode(bytes.subarray(start, start + 65_536));
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === "{") depth++;
    else if (c === "}" && --depth === 0) {
      return JSON.parse(text.slice(0, i + 1));
    }
  }
  throw new Error("The compile metadata does not end");
}

function hasOpenssl(): boolean {
  try {
    return new Deno.Command("openssl", { args: ["version"] }).outputSync()
      .success;
  } catch {
    return false;
  }
}
