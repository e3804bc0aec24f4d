/**
 * Builds wsecho into standalone executables with `deno compile`.
 *
 * ```sh
 * deno task compile       # dist/wsecho (dist/wsecho.exe on Windows) for this machine
 * deno task compile:all   # dist/wsecho-TARGET[.exe] for every target, and dist/SHA256SUMS
 * ```
 *
 * The executables get network access and the environment variables the server
 * reads, nothing more: `deno compile -P` applies the `"server"` permission set
 * of `deno.json` (named by its `"compile"` section), and `--no-prompt` makes
 * anything else fail at once instead of asking.
 *
 * `deno compile` downloads Deno's runtime base (`denort`) for each target.
 * Where that download is not possible, `DENORT_BIN=/path/to/denort` gives a
 * local one for this machine's target; other targets read Deno's own download
 * cache, `$DENO_DIR/dl/release/vVERSION/denort-TARGET.zip`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  HDR_HISTOGRAM_PACKAGE,
  REDIS_CLIENT_PACKAGE,
} from "../src/config/constants.ts";
import denoJson from "../deno.json" with { type: "json" };
import { SERVER_RUNTIME_FLAGS } from "./server_permissions.ts";

/** Every target `deno compile --target` accepts on Deno 2.9. */
export const TARGETS = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
  "x86_64-pc-windows-msvc",
  "aarch64-pc-windows-msvc",
] as const;

/** One of {@linkcode TARGETS}. */
export type Target = typeof TARGETS[number];

/** The executable's base name. */
export const BINARY_NAME = "wsecho";

/** The checksum file written next to release builds, in `sha256sum` format. */
export const CHECKSUMS_FILE = "SHA256SUMS";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const MAIN = join(ROOT, "main.ts");
const CONFIG = join(ROOT, "deno.json");
const VERSION_LINE = `${BINARY_NAME} ${denoJson.version}`;

/** Thrown when an executable cannot be built; the message is one line. */
export class CompileError extends Error {
  /** What `deno compile` printed, when it helps to show it. */
  readonly details: string;

  /**
   * Creates a compile error.
   *
   * @param message One line that says what failed and what to do.
   * @param details Output to show above the message.
   * @param options The usual error options.
   */
  constructor(message: string, details = "", options?: ErrorOptions) {
    super(message, options);
    this.name = "CompileError";
    this.details = details;
  }
}

/** Options of {@linkcode compile}. */
export interface CompileOptions {
  /**
   * Targets to build.
   *
   * @default {[hostTarget()]}
   */
  targets?: readonly Target[];
  /**
   * Name each executable after its target (`wsecho-TARGET[.exe]`) and write
   * {@linkcode CHECKSUMS_FILE}; otherwise build `wsecho[.exe]`.
   *
   * @default {false}
   */
  release?: boolean;
  /**
   * Directory for the executables.
   *
   * @default {"dist" in the project}
   */
  outDir?: string;
  /**
   * Seconds one `deno compile` may take, download included.
   *
   * @default {300}
   */
  timeoutSeconds?: number;
  /**
   * Receives progress lines, and `deno compile`'s own output when `verbose`.
   *
   * @default {() => {}}
   */
  log?: (line: string) => void;
  /**
   * Pass `deno compile`'s own output to `log`.
   *
   * @default {false}
   */
  verbose?: boolean;
}

/**
 * Returns the compile target of this machine.
 *
 * @returns The target, such as `x86_64-unknown-linux-gnu`.
 * @throws {CompileError} When `deno compile` cannot build for this machine.
 */
export function hostTarget(): Target {
  const target = TARGETS.find((t) => t === Deno.build.target);
  if (target === undefined) {
    throw new CompileError(
      `Cannot compile: deno compile has no target for this machine ("${Deno.build.target}")`,
    );
  }
  return target;
}

/**
 * Returns the file name of one executable.
 *
 * @param target The target.
 * @param release Name it after the target.
 * @returns `wsecho`, `wsecho.exe`, `wsecho-TARGET` or `wsecho-TARGET.exe`.
 */
export function outputName(target: Target, release: boolean): string {
  const exe = target.endsWith("-windows-msvc") ? ".exe" : "";
  return release ? `${BINARY_NAME}-${target}${exe}` : `${BINARY_NAME}${exe}`;
}

/**
 * Returns the `deno` arguments that build one executable.
 *
 * @param target The target.
 * @param output The executable's path.
 * @returns The arguments, starting with `compile`.
 */
export function compileArgs(target: Target, output: string): string[] {
  return [
    "compile",
    "--config",
    CONFIG,
    // The "server" permission set, through the config's "compile" section.
    "-P",
    "--no-prompt",
    // The server's runtime flags: see SERVER_RUNTIME_FLAGS.
    ...SERVER_RUNTIME_FLAGS,
    // Test-only npm packages in the lockfile stay out of the executable.
    "--exclude-unused-npm",
    // The Redis client is imported by a computed specifier (so that a start
    // without --broker fetches nothing): embed it explicitly.
    "--include",
    REDIS_CLIENT_PACKAGE,
    // `wsecho bench` loads its histogram package the same way.
    "--include",
    HDR_HISTOGRAM_PACKAGE,
    "--target",
    target,
    "--output",
    output,
    MAIN,
  ];
}

/**
 * Builds executables, checks the one for this machine, and for release builds
 * writes {@linkcode CHECKSUMS_FILE}. Stops at the first failure.
 *
 * @param options What to build and where.
 * @returns The paths of the executables.
 * @throws {CompileError} When an executable cannot be built or does not run.
 */
export async function compile(options: CompileOptions = {}): Promise<string[]> {
  const {
    targets = [hostTarget()],
    release = false,
    outDir = join(ROOT, "dist"),
    timeoutSeconds = 300,
    log = () => {},
    verbose = false,
  } = options;
  const host = TARGETS.find((t) => t === Deno.build.target);
  await Deno.mkdir(outDir, { recursive: true });
  const checksums = join(outDir, CHECKSUMS_FILE);
  if (release) await Deno.remove(checksums).catch(() => {});

  const built: string[] = [];
  for (const target of targets) {
    const output = join(outDir, outputName(target, release));
    const { stdout, stderr } = await runCompile(
      target,
      output,
      target === host,
      timeoutSeconds,
    );
    if (verbose) log(`${stdout}${stderr}`.trimEnd());
    let checked = "";
    if (target === host) checked = `, --version: ${await checkVersion(output)}`;
    const { size } = await Deno.stat(output);
    log(
      `compiled ${shown(output)} (${target}, ${
        (size / 1e6).toFixed(1)
      } MB${checked})`,
    );
    built.push(output);
  }
  if (release) {
    await writeChecksums(outDir, built);
    log(`wrote ${shown(checksums)} (${built.length} files)`);
  }
  return built;
}

/**
 * Writes `SHA256SUMS` in the format `sha256sum -c` reads: the hex digest, two
 * spaces, the file name.
 *
 * @param dir The directory holding the files, where the list is written.
 * @param files The files to list, by path.
 * @returns The path of the checksum file.
 */
export async function writeChecksums(
  dir: string,
  files: readonly string[],
): Promise<string> {
  const lines: string[] = [];
  for (const file of [...files].sort()) {
    const digest = await crypto.subtle.digest(
      "SHA-256",
      await Deno.readFile(file),
    );
    const hex = Array.from(
      new Uint8Array(digest),
      (b) => b.toString(16).padStart(2, "0"),
    ).join("");
    lines.push(`${hex}  ${basename(file)}\n`);
  }
  const path = join(dir, CHECKSUMS_FILE);
  await Deno.writeTextFile(path, lines.join(""));
  return path;
}

interface Output {
  stdout: string;
  stderr: string;
}

/** Runs `deno compile` for one target, bounded in time, and explains a failure in one line. */
async function runCompile(
  target: Target,
  output: string,
  isHost: boolean,
  timeoutSeconds: number,
): Promise<Output> {
  const env = Deno.env.toObject();
  // Deno would use DENORT_BIN for every target; it only fits this machine's.
  if (!isHost) delete env.DENORT_BIN;
  env.NO_COLOR = "1";
  env.RUST_BACKTRACE = "0";
  const result = await run(
    Deno.execPath(),
    compileArgs(target, output),
    env,
    timeoutSeconds,
  );
  const text = `${result.stdout}${result.stderr}`;
  const denortBin = env.DENORT_BIN;
  if (result.timedOut) {
    await removeTemporaryFiles(output);
    const downloading = /^Download /m.test(text);
    throw new CompileError(
      `Cannot compile: deno compile did not finish within ${timeoutSeconds} s for ${target}` +
        (downloading
          ? "; it was still downloading its runtime base (denort)"
          : "") +
        `; ${await remedy(target, isHost)}, or raise --timeout`,
    );
  }
  if (result.code === 0) return result;

  const missing = /Could not find denort at '([^']*)'/.exec(text);
  if (missing !== null) {
    throw new CompileError(
      `Cannot compile: DENORT_BIN="${missing[1]}" does not exist; ` +
        `set it to the path of denort ${Deno.version.deno} for ${target}`,
    );
  }
  if (denortBin !== undefined && /Setting up base binary/.test(text)) {
    throw new CompileError(
      `Cannot compile: DENORT_BIN="${denortBin}" cannot be used for ${target}${
        cause(text)
      }`,
    );
  }
  if (/Setting up base binary/.test(text)) {
    throw new CompileError(
      `Cannot compile: deno could not download its runtime base (denort) for ${target}` +
        `${cause(text)}; ${await remedy(target, isHost)}`,
    );
  }
  if (denortBin !== undefined && /Writing binary bytes/.test(text)) {
    throw new CompileError(
      `Cannot compile: DENORT_BIN="${denortBin}" is not a denort binary for ${target}${
        cause(text)
      }`,
    );
  }
  throw new CompileError(
    `Cannot compile: deno compile failed for ${target} (exit ${result.code}); see its output above`,
    text.trimEnd(),
  );
}

/** Removes what a killed `deno compile` left: `OUTPUT.tmp-HEX`. */
async function removeTemporaryFiles(output: string): Promise<void> {
  const prefix = `${basename(output)}.tmp-`;
  for await (const entry of Deno.readDir(dirname(output))) {
    if (entry.name.startsWith(prefix)) {
      await Deno.remove(join(dirname(output), entry.name)).catch(() => {});
    }
  }
}

/** Runs the new executable with `--version`: a wrong base would run as something else. */
async function checkVersion(output: string): Promise<string> {
  const result = await run(output, ["--version"], undefined, 15);
  const printed = result.stdout.trim();
  if (result.code === 0 && printed === VERSION_LINE) return printed;
  await Deno.remove(output).catch(() => {});
  const denortBin = Deno.env.get("DENORT_BIN");
  const seen = printed === ""
    ? `exit ${result.timedOut ? "timeout" : result.code} and no output`
    : `"${printed.split("\n")[0]}"`;
  throw new CompileError(
    `Cannot compile: ${
      shown(output)
    } printed ${seen} for --version, not "${VERSION_LINE}"` +
      (denortBin === undefined
        ? "; the runtime base is broken"
        : `; DENORT_BIN="${denortBin}" is not a denort runtime base (the deno CLI is not one)`),
  );
}

interface RunResult extends Output {
  code: number;
  timedOut: boolean;
}

async function run(
  command: string,
  args: string[],
  env: Record<string, string> | undefined,
  timeoutSeconds: number,
): Promise<RunResult> {
  const child = new Deno.Command(command, {
    args,
    ...(env === undefined ? {} : { env, clearEnv: true }),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, timeoutSeconds * 1000);
  try {
    const { code, stdout, stderr } = await child.output();
    const decoder = new TextDecoder();
    return {
      code,
      timedOut,
      stdout: decoder.decode(stdout),
      stderr: decoder.decode(stderr),
    };
  } finally {
    clearTimeout(timer);
  }
}

/** The innermost cause of an anyhow error chain, as `: cause`, or nothing. */
function cause(text: string): string {
  const chain = text.split(/^Stack backtrace:/m)[0]!;
  const causes = [...chain.matchAll(/^\s+\d+: (.+)$/gm)];
  const last = causes.at(-1)?.[1]?.trim();
  return last === undefined ? "" : `: ${last}`;
}

/** What to do when the runtime base for a target is missing. */
async function remedy(target: Target, isHost: boolean): Promise<string> {
  const version = Deno.version.deno;
  if (isHost) {
    return `set DENORT_BIN=/path/to/denort (denort ${version} for ${target})`;
  }
  const { stdout } = await run(Deno.execPath(), ["info", "--json"], {
    ...Deno.env.toObject(),
    NO_COLOR: "1",
  }, 30).catch(() => ({ stdout: "" }));
  let denoDir = "$DENO_DIR";
  try {
    denoDir = JSON.parse(stdout).denoDir ?? denoDir;
  } catch {
    // Keep the placeholder.
  }
  return `put denort-${target}.zip (denort ${version}) in ${
    join(denoDir, "dl", "release", `v${version}`)
  }`;
}

function shown(path: string): string {
  const near = relative(Deno.cwd(), path);
  return near.startsWith("..") ? path : near;
}

const USAGE = `Usage: deno task compile [options]

Builds the wsecho executable with deno compile, with network access and the
server's environment variables only (the "server" permission set in deno.json).

Options:
  --all             build every target: dist/wsecho-TARGET[.exe] and dist/SHA256SUMS
  --target TARGET   build one target the same way (repeatable); one of:
                    ${TARGETS.join(", ")}
  --out-dir DIR     where to write the executables (default: dist)
  --timeout SECONDS how long one deno compile may take (default: 300)
  --verbose         show deno compile's own output
  -h, --help        print this help and exit

Environment:
  DENORT_BIN        a local denort ${Deno.version.deno} for this machine, used instead of
                    downloading Deno's runtime base (deno compile's own variable)`;

/**
 * Runs the command line.
 *
 * @param args The arguments after the script name.
 * @returns The exit status: 0, 1 when a build fails, 2 for a bad option.
 */
export async function main(args: readonly string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: args[0] === "--" ? args.slice(1) : [...args],
      options: {
        all: { type: "boolean" },
        target: { type: "string", multiple: true },
        "out-dir": { type: "string" },
        timeout: { type: "string" },
        verbose: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }));
    for (const target of values.target ?? []) {
      if (!(TARGETS as readonly string[]).includes(target)) {
        throw new TypeError(
          `Unknown target "${target}": use one of ${TARGETS.join(", ")}`,
        );
      }
    }
    if (values.timeout !== undefined && !/^[1-9]\d*$/.test(values.timeout)) {
      throw new TypeError(
        `Invalid value for --timeout: "${values.timeout}" is not a whole number of seconds`,
      );
    }
  } catch (error) {
    print(`${(error as Error).message.split("\n")[0]}; see --help`, true);
    return 2;
  }
  if (values.help) {
    print(USAGE);
    return 0;
  }

  const targets = values.all
    ? TARGETS
    : (values.target as Target[] | undefined);
  try {
    await compile({
      ...(targets === undefined ? {} : { targets }),
      release: targets !== undefined,
      ...(values["out-dir"] === undefined
        ? {}
        : { outDir: resolve(values["out-dir"]) }),
      ...(values.timeout === undefined
        ? {}
        : { timeoutSeconds: Number(values.timeout) }),
      verbose: values.verbose ?? false,
      log: (line) => print(line),
    });
  } catch (error) {
    if (!(error instanceof CompileError)) throw error;
    if (error.details !== "") print(error.details, true);
    print(error.message, true);
    return 1;
  }
  return 0;
}

function print(text: string, toStderr = false): void {
  // deno-lint-ignore no-console
  (toStderr ? console.error : console.log)(text);
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
