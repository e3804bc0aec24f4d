/**
 * The wsecho command: parses flags, starts the server, logs, and shuts down
 * gracefully on SIGINT and SIGTERM.
 *
 * @module
 */
import {
  type Config,
  ENV_VARS,
  helpText,
  parseCommand,
  UsageError,
} from "./src/config.ts";
import { createServer } from "./src/server.ts";
import { readPem } from "./src/tls.ts";
import { NAME, VERSION } from "./src/version.ts";

/**
 * Runs the command line.
 *
 * @param args The arguments after the program name.
 * @returns The exit status.
 */
export async function main(args: readonly string[]): Promise<number> {
  let config: Config;
  try {
    const command = parseCommand(args, readEnv);
    if (command.kind === "help") {
      // deno-lint-ignore no-console
      console.log(helpText());
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

  const controller = new AbortController();
  let server;
  try {
    server = createServer({
      ...config,
      signal: controller.signal,
      log: printError,
      onListen: ({ hostname, port }) => {
        const scheme = config.cert === "" ? "http" : "https";
        const host = hostname === "0.0.0.0" || hostname === "::"
          ? "localhost"
          : hostname;
        const shown = host.includes(":") ? `[${host}]` : host;
        printError(
          `${NAME} ${VERSION} listening on ${hostname}:${port}: ` +
            `${scheme}://${shown}:${port}/client (playground), ` +
            `${
              scheme === "https" ? "wss" : "ws"
            }://${shown}:${port}/ws (WebSocket)`,
        );
      },
    });
  } catch (error) {
    if (error instanceof Deno.errors.AddrInUse) {
      printError(
        `Cannot listen on ${config.hostname}:${config.port}: the port is in use`,
      );
      return 1;
    }
    if (
      error instanceof Deno.errors.NotCapable ||
      error instanceof Deno.errors.PermissionDenied
    ) {
      printError(
        `Cannot listen on ${config.hostname}:${config.port}: ${
          (error as Error).message
        }`,
      );
      return 1;
    }
    throw error;
  }

  const stop = () => {
    printError("shutting down: closing connections with 1001");
    controller.abort();
  };
  Deno.addSignalListener("SIGINT", stop);
  if (Deno.build.os !== "windows") Deno.addSignalListener("SIGTERM", stop);
  await server.finished;
  Deno.removeSignalListener("SIGINT", stop);
  if (Deno.build.os !== "windows") Deno.removeSignalListener("SIGTERM", stop);
  return 0;
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
