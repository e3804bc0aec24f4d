import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runSmoke } from "./binary_smoke.ts";
import { runOnce } from "./wsecho_process.ts";

const MAIN = fileURLToPath(new URL("../main.ts", import.meta.url));

Deno.test("deno bundle of main.ts runs from an empty directory with --allow-net only", async () => {
  // Stands in for the compiled executable, whose runtime base cannot be
  // downloaded here: one file, no project beside it, no read permission.
  const dir = await Deno.makeTempDir({ prefix: "wsecho-bundle-" });
  try {
    const bundle = join(dir, "build", "wsecho.js");
    const built = await runOnce(
      [Deno.execPath(), "bundle", "--platform", "deno", "--output", bundle],
      [MAIN],
      { timeoutMs: 60_000 },
    );
    assert.equal(built.code, 0, built.stderr);
    const empty = join(dir, "run");
    await Deno.mkdir(empty);
    await Deno.copyFile(bundle, join(empty, "wsecho.js"));

    const checks = await runSmoke(
      [
        Deno.execPath(),
        "run",
        "--no-prompt",
        "--no-config",
        "--no-lock",
        "--allow-net",
        "wsecho.js",
      ],
      { cwd: empty },
    );
    assert.deepEqual(checks.filter((c) => c.status === "fail"), []);
    assert.equal(checks.length, 7);

    const left = [];
    for await (const entry of Deno.readDir(empty)) left.push(entry.name);
    assert.deepEqual(left, ["wsecho.js"], "the run wrote nothing");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
