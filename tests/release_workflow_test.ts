import assert from "node:assert/strict";
import { parseYaml as parse } from "./deps.ts";
import denoJson from "../deno.json" with { type: "json" };
import { CHECKSUMS_FILE, outputName, TARGETS } from "../tools/compile.ts";

const WORKFLOW = new URL("../.github/workflows/release.yml", import.meta.url);

/** Every string anywhere in a parsed YAML document. */
function strings(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (value !== null && typeof value === "object") {
    return Object.values(value).flatMap(strings);
  }
  return [];
}

/** Every step of every job. */
function steps(workflow: Record<string, unknown>): Record<string, unknown>[] {
  const jobs = workflow.jobs as Record<string, { steps: [] }>;
  return Object.values(jobs).flatMap((job) => job.steps);
}

Deno.test("release.yml runs on version tags and mentions only existing tasks", async () => {
  const workflow = parse(await Deno.readTextFile(WORKFLOW));
  assert.deepEqual(workflow.on.push.tags, ["v*"]);
  const mentioned = strings(workflow).flatMap((text) =>
    [...text.matchAll(/\bdeno task ([\w:-]+)/g)].map((m) => m[1]!)
  );
  assert.ok(mentioned.includes("ok"));
  assert.ok(mentioned.includes("compile:all"));
  assert.ok(mentioned.includes("smoke"));
  const tasks = Object.keys(denoJson.tasks);
  for (const name of mentioned) {
    assert.ok(tasks.includes(name), `deno task ${name} is not in deno.json`);
  }
});

Deno.test("release.yml sets up this Deno version and names real executables", async () => {
  const workflow = parse(await Deno.readTextFile(WORKFLOW));
  const setups = steps(workflow).filter((step) =>
    String(step.uses).startsWith("denoland/setup-deno@")
  );
  assert.ok(setups.length > 0);
  for (const step of setups) {
    assert.deepEqual(step.with, { "deno-version": `v${Deno.version.deno}` });
  }
  const release = TARGETS.map((target) => outputName(target, true));
  const named = strings(workflow).flatMap((text) =>
    [...text.matchAll(/\bwsecho-[\w.-]+/g)].map((m) => m[0])
  );
  assert.ok(named.includes("wsecho-x86_64-unknown-linux-gnu"));
  for (const name of named) {
    assert.ok(release.includes(name), `${name} is not a release executable`);
  }
  const published = steps(workflow).find((step) =>
    String(step.uses).startsWith("softprops/action-gh-release@")
  );
  assert.ok(published, "no release step");
  const files = String((published.with as Record<string, unknown>).files);
  assert.match(files, /dist\/wsecho-\*/);
  assert.match(files, new RegExp(`dist/${CHECKSUMS_FILE}`));
});
