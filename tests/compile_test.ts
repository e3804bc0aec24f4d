import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  CHECKSUMS_FILE,
  hostTarget,
  outputName,
  TARGETS,
  writeChecksums,
} from "../tools/compile.ts";
import { runOnce } from "./wsecho_process.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const PROXIES = ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"];
const PROXY_EXCEPTIONS = ["NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"];
const DENO_DIR: string = JSON.parse(
  new TextDecoder().decode(
    new Deno.Command(Deno.execPath(), { args: ["info", "--json"] })
      .outputSync().stdout,
  ),
).denoDir;

/**
 * Tells whether Deno's download cache holds the runtime base of a target, so
 * that `deno compile` would not download it (and would not fail here).
 */
function denortCached(target: string): boolean {
  try {
    Deno.statSync(
      join(
        DENO_DIR,
        "dl",
        "release",
        `v${Deno.version.deno}`,
        `denort-${target}.zip`,
      ),
    );
    return true;
  } catch {
    return false;
  }
}

/** Runs `deno task compile` (or another task) in the project, quietly. */
function task(
  name: string,
  args: string[],
  env: Record<string, string> = {},
  unset: string[] = ["DENORT_BIN"],
) {
  return runOnce([Deno.execPath(), "task", "--quiet", name], args, {
    cwd: ROOT,
    env,
    unset,
    timeoutMs: 60_000,
  });
}

async function withTempDir(body: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "wsecho-dist-" });
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function names(dir: string): Promise<string[]> {
  const found = [];
  for await (const entry of Deno.readDir(dir)) found.push(entry.name);
  return found.sort();
}

Deno.test("TARGETS matches the targets deno compile accepts", async () => {
  const { stderr } = await runOnce(
    [Deno.execPath(), "compile", "--target", "nope", "main.ts"],
    [],
    { cwd: ROOT },
  );
  const listed = /possible values: (.+)/.exec(stderr)?.[1];
  assert.ok(listed, stderr);
  assert.deepEqual(listed.split(", ").sort(), [...TARGETS].sort());
  assert.ok(TARGETS.includes(hostTarget()));
});

Deno.test("outputName() names host and release executables", () => {
  assert.equal(outputName("x86_64-unknown-linux-gnu", false), "wsecho");
  assert.equal(outputName("x86_64-pc-windows-msvc", false), "wsecho.exe");
  assert.equal(
    outputName("aarch64-apple-darwin", true),
    "wsecho-aarch64-apple-darwin",
  );
  assert.equal(
    outputName("aarch64-pc-windows-msvc", true),
    "wsecho-aarch64-pc-windows-msvc.exe",
  );
});

Deno.test("writeChecksums() writes what sha256sum -c reads", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(join(dir, "wsecho-b"), "abc");
    await Deno.writeTextFile(join(dir, "wsecho-a.exe"), "");
    const path = await writeChecksums(dir, [
      join(dir, "wsecho-b"),
      join(dir, "wsecho-a.exe"),
    ]);
    assert.equal(path, join(dir, CHECKSUMS_FILE));
    assert.equal(
      await Deno.readTextFile(path),
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  wsecho-a.exe\n" +
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  wsecho-b\n",
    );
    const sha256sum = await runOnce(["sha256sum"], ["-c", CHECKSUMS_FILE], {
      cwd: dir,
    }).catch(() => undefined);
    if (sha256sum !== undefined) {
      assert.equal(sha256sum.code, 0, sha256sum.stderr);
      assert.equal(sha256sum.stdout, "wsecho-a.exe: OK\nwsecho-b: OK\n");
    }
  });
});

Deno.test("deno task compile exits 2 with one line for a bad option", async () => {
  const bad = await task("compile", ["--bogus"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^Unknown option '--bogus'; see --help\n$/);
  const target = await task("compile", ["--", "--target", "nope"]);
  assert.equal(target.code, 2);
  assert.match(target.stderr, /^Unknown target "nope": use one of .+\n$/);
  const help = await task("compile", ["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /DENORT_BIN/);
});

Deno.test("deno task compile exits 1 with one line when DENORT_BIN does not exist", async () => {
  await withTempDir(async (dir) => {
    const { code, stdout, stderr } = await task(
      "compile",
      ["--out-dir", dir],
      { DENORT_BIN: join(dir, "denort") },
    );
    assert.equal(code, 1, stderr);
    assert.equal(stdout, "");
    assert.equal(
      stderr,
      `Cannot compile: DENORT_BIN="${join(dir, "denort")}" does not exist; ` +
        `set it to the path of denort ${Deno.version.deno} for ${hostTarget()}\n`,
    );
    assert.deepEqual(await names(dir), []);
  });
});

Deno.test("deno task compile rejects a DENORT_BIN that is the deno CLI", async () => {
  await withTempDir(async (dir) => {
    const { code, stderr } = await task(
      "compile",
      ["--out-dir", dir],
      { DENORT_BIN: Deno.execPath() },
    );
    assert.equal(code, 1, stderr);
    assert.match(
      stderr,
      /^Cannot compile: .*wsecho(\.exe)? printed "deno \d.*" for --version, not "wsecho .+"; DENORT_BIN=".+" is not a denort runtime base \(the deno CLI is not one\)\n$/,
    );
    assert.deepEqual(await names(dir), [], "the broken executable is removed");
  });
});

Deno.test({
  name:
    "deno task compile:all exits 1 with one line when denort cannot be downloaded",
  // A cached runtime base is used without a download.
  ignore: denortCached(TARGETS[0]),
}, async () => {
  // A proxy that refuses connections makes the download fail the same way
  // with or without a network.
  await withTempDir(async (dir) => {
    const refused = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const proxy = `http://127.0.0.1:${refused.addr.port}`;
    refused.close();
    await Deno.writeTextFile(join(dir, CHECKSUMS_FILE), "stale\n");
    const { code, stdout, stderr } = await task(
      "compile:all",
      ["--out-dir", dir],
      Object.fromEntries(PROXIES.map((name) => [name, proxy])),
      ["DENORT_BIN", ...PROXY_EXCEPTIONS],
    );
    assert.equal(code, 1, stderr);
    assert.equal(stdout, "");
    assert.match(
      stderr,
      new RegExp(
        `^Cannot compile: deno could not download its runtime base \\(denort\\) for ${
          TARGETS[0]
        }: .+; (set DENORT_BIN=/path/to/denort|put denort-${
          TARGETS[0]
        }\\.zip) .+\\n$`,
      ),
    );
    assert.deepEqual(
      await names(dir),
      [],
      "no executable and no stale SHA256SUMS are left",
    );
  });
});

Deno.test({
  name: "deno task compile gives up on a download that hangs after --timeout",
  ignore: denortCached(hostTarget()),
}, async () => {
  await withTempDir(async (dir) => {
    // Accepts the proxy connection and never answers.
    const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const held: Deno.Conn[] = [];
    const accepting = (async () => {
      try {
        for await (const conn of silent) held.push(conn);
      } catch {
        // Closed.
      }
    })();
    const proxy = `http://127.0.0.1:${silent.addr.port}`;
    try {
      const started = Date.now();
      const { code, stderr } = await task(
        "compile",
        ["--out-dir", dir, "--timeout", "5"],
        Object.fromEntries(PROXIES.map((name) => [name, proxy])),
        ["DENORT_BIN", ...PROXY_EXCEPTIONS],
      );
      assert.equal(code, 1, stderr);
      assert.match(
        stderr,
        /^Cannot compile: deno compile did not finish within 5 s for .+; it was still downloading its runtime base \(denort\); set DENORT_BIN=\/path\/to\/denort .+, or raise --timeout\n$/,
      );
      assert.ok(Date.now() - started < 15_000);
      assert.ok(held.length > 0, "deno went through the proxy");
      assert.deepEqual(await names(dir), [], "no temporary file is left");
    } finally {
      silent.close();
      await accepting;
      for (const conn of held) conn.close();
    }
  });
});
