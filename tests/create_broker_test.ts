import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import denoJson from "../deno.json" with { type: "json" };
import { createBroker } from "../src/core/broker/create_broker.ts";
import { MemoryBroker } from "../src/core/broker/memory_broker.ts";
import { REDIS_CLIENT_PACKAGE } from "../src/config/constants.ts";
import { runOnce } from "./wsecho_process.ts";
import { IGNORE_REDIS, startRedis } from "./redis_server.ts";

const ROUNDTRIP = fileURLToPath(
  new URL("./broker_roundtrip.ts", import.meta.url),
);
const CONFIG = fileURLToPath(new URL("../deno.json", import.meta.url));
/** The server's own permissions: the compiled binary gets exactly these. */
const SERVER_PERMISSIONS = [
  "--allow-net",
  `--allow-env=${denoJson.permissions.server.env.join(",")}`,
];

Deno.test("createBroker() without a URL is the in-process broker", () => {
  const broker = createBroker("a");
  assert.ok(broker instanceof MemoryBroker);
  assert.equal(broker.status, "up");
  assert.equal(broker.url, "");
});

Deno.test("the round-trip program uses the Redis client version the server loads", async () => {
  const text = await Deno.readTextFile(ROUNDTRIP);
  assert.ok(text.includes(`from "${REDIS_CLIENT_PACKAGE}"`));
});

Deno.test("createBroker() refuses a bad URL with a TypeError naming it", () => {
  assert.throws(
    () => createBroker("a", { url: "http://127.0.0.1:6379" }),
    (error: Error) =>
      error instanceof TypeError &&
      error.message.includes("http://127.0.0.1:6379"),
  );
});

Deno.test({
  name:
    "the Redis client works under the server's permissions only (--allow-net, the --allow-env list): deno run",
  ignore: IGNORE_REDIS,
  async fn() {
    await using redis = await startRedis();
    const run = await runOnce(
      [
        Deno.execPath(),
        "run",
        "--no-prompt",
        "--config",
        CONFIG,
        ...SERVER_PERMISSIONS,
      ],
      [ROUNDTRIP, redis.url],
      { timeoutMs: 60_000 },
    );
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^roundtrip ok b:hello$/m);
  },
});

Deno.test({
  name:
    "the Redis client works under the server's permissions only: bundled to one file, run from an empty directory",
  ignore: IGNORE_REDIS,
  async fn() {
    await using redis = await startRedis();
    const dir = await Deno.makeTempDir({ prefix: "wsecho-broker-bundle-" });
    try {
      const bundle = join(dir, "roundtrip.js");
      const built = await runOnce(
        [
          Deno.execPath(),
          "bundle",
          "--config",
          CONFIG,
          "--platform",
          "deno",
          "--output",
          bundle,
        ],
        [ROUNDTRIP],
        { timeoutMs: 120_000 },
      );
      assert.equal(built.code, 0, built.stderr);
      const empty = join(dir, "run");
      await Deno.mkdir(empty);
      await Deno.rename(bundle, join(empty, "roundtrip.js"));
      const run = await runOnce(
        [
          Deno.execPath(),
          "run",
          "--no-prompt",
          "--no-config",
          "--no-lock",
          ...SERVER_PERMISSIONS,
        ],
        ["roundtrip.js", redis.url],
        { cwd: empty, timeoutMs: 60_000 },
      );
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /^roundtrip ok b:hello$/m);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
