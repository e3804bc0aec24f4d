/**
 * The Go cross-check of the fixed-rate scenario (`go/fixed_rate.go`): built
 * from Debian's Go and gorilla/websocket packages, offline, and run pinned
 * like the bench's own generator. A second client stack, so that a tail the
 * Deno generator cannot see (or adds) shows up as a disagreement.
 *
 * @module
 */
import { type Bench, GENERATOR_CPU, type Server } from "./_bench.ts";

/** What `fixed_rate.go` prints, in microseconds. */
export interface GoRateResult {
  /** Echoes recorded in the timed window. */
  received: number;
  /** Write or read errors and mismatched echoes. */
  failures: number;
  /** From the scheduled send time. */
  latency: GoSummary;
  /** From the actual send. */
  serviceLatency: GoSummary;
}

/** Percentiles in microseconds. */
export interface GoSummary {
  /** Median. */
  p50: number;
  /** 90th percentile. */
  p90: number;
  /** 99th percentile. */
  p99: number;
  /** 99.9th percentile. */
  p999: number;
  /** Largest. */
  max: number;
}

/** Debian's import path for Go packages, used without modules. */
const DEBIAN_GOPATH = "/usr/share/gocode";
const INSTALL_HINT =
  "apt-get install golang-go golang-github-gorilla-websocket-dev";

/**
 * Builds the Go generator.
 *
 * @param benchDir The bench's directory.
 * @param outDir Where to put the binary.
 * @returns The binary's path, or why it cannot be built.
 */
export async function buildGoGenerator(
  benchDir: string,
  outDir: string,
): Promise<{ path: string } | { missing: string }> {
  const path = `${outDir}/fixed_rate`;
  try {
    const { success, stderr } = await new Deno.Command("go", {
      args: ["build", "-o", path, "fixed_rate.go"],
      cwd: `${benchDir}/go`,
      env: {
        GO111MODULE: "off",
        GOPATH: DEBIAN_GOPATH,
        GOCACHE: `${outDir}/go-cache`,
        GOFLAGS: "",
      },
      stdout: "null",
      stderr: "piped",
    }).output();
    if (success) return { path };
    const reason = new TextDecoder().decode(stderr).trim().split("\n")[0];
    return { missing: `go build failed (${reason}); ${INSTALL_HINT}` };
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    return { missing: `go is not installed; ${INSTALL_HINT}` };
  }
}

/**
 * Runs one fixed-rate window of the Go generator against a server.
 *
 * @param bench The run: its settings and children.
 * @param binary The built generator.
 * @param server The server.
 * @returns What it measured.
 * @throws {Error} When it exits non-zero.
 */
export async function runGoGenerator(
  bench: Bench,
  binary: string,
  server: Server,
): Promise<GoRateResult> {
  const s = bench.settings;
  const child = bench.children.spawn({
    name: "go-fixed-rate",
    argv: [
      binary,
      "-url",
      server.echoUrl,
      "-c",
      String(s.rateConnections),
      "-rate",
      String(s.rate),
      "-warmup",
      `${s.rateWarmupMs}ms`,
      "-d",
      `${s.rateDurationMs}ms`,
    ],
    cpu: bench.pinned ? GENERATOR_CPU : undefined,
    cwd: bench.logDir,
    logPath: `${bench.logDir}/go-fixed-rate-${server.name}.log`,
    output: "events",
  });
  await child.stdin.close();
  const [text, status] = await Promise.all([
    new Response(child.stdout).text(),
    child.status,
  ]);
  if (!status.success) {
    throw new Error(`The Go generator exited with ${status.code}`);
  }
  return JSON.parse(text) as GoRateResult;
}
