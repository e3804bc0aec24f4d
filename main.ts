/**
 * The wsecho command: parses flags, starts the server, logs, and shuts down
 * gracefully on SIGINT and SIGTERM.
 *
 * @module
 */
import { readPem } from "./src/cli/read_pem.ts";
import { type Config, ENV_VARS } from "./src/config/options.ts";
import {
  helpText,
  parseCommand,
  UsageError,
} from "./src/config/parse_command.ts";
import { NAME, VERSION } from "./src/config/version.ts";
import { createLogger } from "./src/core/logger.ts";
import { createServer } from "./src/server/create_server.ts";

/**
 * Runs the command line.
 *
 * @param args The arguments after the program name.
 * @returns The exit status.
 */
export async function main(args: readonly string[]): Promise<number> {
  // The client commands load on demand, so the server never needs their
  // packages (the latency histogram) to start.
  if (args[0] === "connect") {
    const { connectMain } = await import("./src/cli/connect.ts");
    return await connectMain(args.slice(1));
  }
  if (args[0] === "bench") {
    const { benchMain } = await import("./src/cli/bench.ts");
    return await benchMain(args.slice(1));
  }
  let config: Config;
  try {
    const command = parseCommand(args, readEnv);
    if (command.kind === "help") {
      // deno-lint-ignore no-console
      console.log(helpText() + COMMANDS_HELP);
      return 0;
    }
    if (command.kind === "version") {
      // deno-lint-ignore no-console
      console.log(`${NAME} ${VERSION}`);
      return 0;
    }
    config = command.config;
    if (config.cert !== "") {
      const cert = await readPem(config.cert, "--cert");
      config = { ...config, cert, key: await readPem(config.key, "--key") };
    }
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    printError(error.message);
    return 2;
  }

  return await serve(config);
}

const COMMANDS_HELP = `

Commands (each has its own --help):
  ${NAME} [options]                 run the server (the default)
  ${NAME} connect [options] URL     talk to a WebSocket server: stdin or --send out, messages to stdout
  ${NAME} bench [options] URL       load and check an echo server: msg/s, latency, mismatches`;

/** Runs the server until SIGINT or SIGTERM, logging to stderr. */
async function serve(config: Config): Promise<number> {
  // Deno exits at once (status 70) when reusePort is used without
  // --unstable-net; listenDatagram exists only with that flag.
  if (config.reusePort && !("listenDatagram" in Deno)) {
    printError(
      `Cannot listen on ${config.hostname}:${config.port}: --reuse-port needs Deno's ` +
        "--unstable-net flag (deno run --unstable-net …; deno task start and the executable have it)",
    );
    return 1;
  }
  const logger = createLogger(Deno.stderr);
  const controller = new AbortController();
  if (config.reusePort && Deno.build.os !== "linux") {
    logger.log(
      `warning: --reuse-port is ignored on ${Deno.build.os} (SO_REUSEPORT sharing is Linux-only): ` +
        "a second process on this port will fail to listen",
    );
  }
  let server;
  try {
    server = createServer({
      ...config,
      signal: controller.signal,
      log: logger.log,
      onListen: (addr) => logger.log(listeningLine(addr, config.cert !== "")),
    });
  } catch (error) {
    // The config is already valid, so createServer can only fail to listen
    // (port taken, unknown host, no such address, bad TLS).
    const why = error instanceof Deno.errors.AddrInUse
      ? "the port is in use"
      : error instanceof Error
      ? error.message
      : String(error);
    printError(`Cannot listen on ${config.hostname}:${config.port}: ${why}`);
    return 1;
  }

  const stop = () => {
    // One Ctrl-C can arrive twice (the terminal's and a watcher's): say it once.
    if (controller.signal.aborted) return;
    logger.log("shutting down: closing connections with 1001");
    controller.abort();
  };
  const signals: Deno.Signal[] = Deno.build.os === "windows"
    ? ["SIGINT"]
    : ["SIGINT", "SIGTERM"];
  for (const signal of signals) Deno.addSignalListener(signal, stop);
  await server.finished;
  for (const signal of signals) Deno.removeSignalListener(signal, stop);
  logger.flush();
  return 0;
}

function listeningLine({ hostname, port }: Deno.NetAddr, tls: boolean): string {
  const host = hostname === "0.0.0.0" || hostname === "::"
    ? "localhost"
    : hostname;
  const shown = host.includes(":") ? `[${host}]` : host;
  const [http, ws] = tls ? ["https", "wss"] : ["http", "ws"];
  return `${NAME} ${VERSION} listening on ${hostname}:${port}: ` +
    `${http}://${shown}:${port}/client (playground), ` +
    `${ws}://${shown}:${port}/ws (WebSocket)`;
}

function readEnv(name: string): string | undefined {
  // Asking first avoids a permission prompt: without --allow-env, flags and
  // defaults still work.
  if (!ENV_VARS.includes(name)) return undefined;
  const { state } = Deno.permissions.querySync({ name: "env", variable: name });
  return state === "granted" ? Deno.env.get(name) : undefined;
}

function printError(line: string): void {
  // deno-lint-ignore no-console
  console.error(line);
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
