import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { runOnce } from "./wsecho_process.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const TASK = [Deno.execPath(), "task", "--quiet", "smoke"];

Deno.test("deno task smoke passes main.ts with a PASS line per check", async () => {
  const { code, stdout, stderr } = await runOnce(TASK, ["--", "main.ts"], {
    cwd: ROOT,
    timeoutMs: 60_000,
  });
  assert.equal(code, 0, `${stdout}${stderr}`);
  const lines = stdout.trimEnd().split("\n");
  assert.equal(lines.length, 8, stdout);
  for (const line of lines.slice(0, -1)) assert.match(line, /^PASS /);
  assert.equal(lines.at(-1), "smoke: PASS, 7 checks on main.ts");
});

Deno.test("deno task smoke fails the deno CLI, a wrong runtime base, with exit 1", async () => {
  const { code, stdout } = await runOnce(TASK, [Deno.execPath()], {
    cwd: ROOT,
    timeoutMs: 60_000,
  });
  assert.equal(code, 1, stdout);
  assert.match(stdout, /^FAIL --version prints "wsecho /m);
  assert.match(stdout, /^FAIL starts on a free port/m);
  assert.match(stdout, /^smoke: FAIL, 3 of 3 checks failed on /m);
});

Deno.test("deno task smoke exits 2 with one line without a path", async () => {
  const { code, stdout } = await runOnce(TASK, [], { cwd: ROOT });
  assert.equal(code, 2);
  assert.equal(
    stdout,
    "Usage: deno task smoke -- PATH (a wsecho executable or main.ts)\n",
  );
});
