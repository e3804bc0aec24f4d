/**
 * The module graph's shape: imports only point down the layers, and no
 * module imports itself back through another.
 */
import assert from "node:assert/strict";

/** The layers, top first; a module may import its own layer or any below. */
const LAYERS: readonly [name: string, test: (path: string) => boolean][] = [
  [
    "command",
    (p) => p === "main.ts" || p === "mod.ts" || p.startsWith("src/cli/"),
  ],
  ["server", (p) => p.startsWith("src/server/")],
  ["HTTP routes", (p) => p.startsWith("handlers/http/")],
  [
    "session and client",
    (p) => p.startsWith("src/session/") || p.startsWith("src/client/"),
  ],
  [
    "protocol",
    (p) => p.startsWith("src/protocol/") || p.startsWith("handlers/kinds/"),
  ],
  ["core", (p) => p.startsWith("src/core/")],
  [
    "config",
    (p) =>
      p.startsWith("src/config/") || p === "deno.json" || p === "client.html",
  ],
];

interface ModuleInfo {
  specifier: string;
  dependencies?: {
    code?: { specifier: string };
    type?: { specifier: string };
  }[];
}

const ROOT = new URL("../", import.meta.url).href;

async function graph(entry: string): Promise<Map<string, string[]>> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: new URL(ROOT).pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(output.success, new TextDecoder().decode(output.stderr));
  const { modules } = JSON.parse(new TextDecoder().decode(output.stdout)) as {
    modules: ModuleInfo[];
  };
  const edges = new Map<string, string[]>();
  for (const module of modules) {
    if (!module.specifier.startsWith(ROOT)) continue;
    const from = module.specifier.slice(ROOT.length);
    edges.set(
      from,
      (module.dependencies ?? []).flatMap((
        d,
      ) => [d.code?.specifier, d.type?.specifier])
        .filter((s): s is string => s !== undefined && s.startsWith(ROOT))
        .map((s) => s.slice(ROOT.length)),
    );
  }
  return edges;
}

function layerOf(path: string): number {
  const index = LAYERS.findIndex(([, test]) => test(path));
  assert.notEqual(
    index,
    -1,
    `${path} is in no layer: add its folder to LAYERS`,
  );
  return index;
}

for (const entry of ["main.ts", "mod.ts"]) {
  Deno.test(`layers: every import of ${entry}'s graph points down or sideways`, async () => {
    const edges = await graph(entry);
    assert.ok(edges.size > 10, "the graph was read");
    const upward: string[] = [];
    for (const [from, tos] of edges) {
      for (const to of tos) {
        if (layerOf(to) < layerOf(from)) {
          upward.push(
            `${from} (${LAYERS[layerOf(from)]![0]}) imports ${to} (${
              LAYERS[layerOf(to)]![0]
            })`,
          );
        }
      }
    }
    assert.deepEqual(upward, []);
  });

  Deno.test(`layers: ${entry}'s module graph has no cycle`, async () => {
    const edges = await graph(entry);
    const state = new Map<string, "visiting" | "done">();
    const cycles: string[] = [];
    function visit(node: string, path: string[]): void {
      if (state.get(node) === "done") return;
      if (state.get(node) === "visiting") {
        cycles.push([...path.slice(path.indexOf(node)), node].join(" → "));
        return;
      }
      state.set(node, "visiting");
      for (const next of edges.get(node) ?? []) visit(next, [...path, node]);
      state.set(node, "done");
    }
    for (const node of edges.keys()) visit(node, []);
    assert.deepEqual(cycles, []);
  });
}
