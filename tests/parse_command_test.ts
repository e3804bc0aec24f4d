import assert from "node:assert/strict";
import { DEFAULT_CONFIG, ENV_VARS } from "../src/config/options.ts";
import {
  helpText,
  parseCommand,
  UsageError,
} from "../src/config/parse_command.ts";
import { parseSize } from "../src/config/values.ts";

const noEnv = () => undefined;

function serve(args: string[], env: Record<string, string> = {}) {
  const command = parseCommand(args, (name) => env[name]);
  assert.equal(command.kind, "serve");
  return command.kind === "serve" ? command.config : DEFAULT_CONFIG;
}

Deno.test("parseCommand() returns the defaults for no flags", () => {
  assert.deepEqual(serve([]), { ...DEFAULT_CONFIG, allowOrigin: [] });
  assert.equal(DEFAULT_CONFIG.port, 8080);
  assert.equal(DEFAULT_CONFIG.hostname, "0.0.0.0");
  assert.equal(DEFAULT_CONFIG.idleTimeout, 30);
});

Deno.test("parseCommand() reads every flag form", () => {
  const config = serve([
    "-p",
    "9000",
    "--hostname=::1",
    "--idle-timeout",
    "0",
    "--no-welcome",
    "--verbose",
    "--allow-origin",
    "https://a.example, https://*.b.example",
    "--max-message-size",
    "1MiB",
    "--max-connections=5",
    "--max-connections-per-ip=0",
    "--max-buffered=64KiB",
    "--max-messages-per-second=100",
    "--metrics=false",
  ]);
  assert.deepEqual(config, {
    ...DEFAULT_CONFIG,
    port: 9000,
    hostname: "::1",
    idleTimeout: 0,
    welcome: false,
    verbose: true,
    allowOrigin: ["https://a.example", "https://*.b.example"],
    maxMessageSize: 1024 * 1024,
    maxConnections: 5,
    maxConnectionsPerIp: 0,
    maxBuffered: 64 * 1024,
    maxMessagesPerSecond: 100,
    metrics: false,
  });
});

Deno.test("parseCommand() takes values that start with a dash", () => {
  const pem = "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----";
  const config = serve(["--cert", pem, "--key", pem]);
  assert.equal(config.cert, pem);
  assert.equal(config.key, pem);
  assert.throws(
    () => parseCommand(["-p", "-5"], noEnv),
    /^UsageError: Invalid value for --port: "-5" is not a whole number$/,
  );
});

Deno.test("parseCommand() prefers flag over env over default", async (t) => {
  await t.step("WSECHO_PORT beats PORT", () => {
    assert.equal(serve([], { WSECHO_PORT: "1", PORT: "2" }).port, 1);
  });
  await t.step("PORT is the fallback", () => {
    assert.equal(serve([], { PORT: "2" }).port, 2);
  });
  await t.step("the flag beats both", () => {
    assert.equal(
      serve(["--port", "3"], { WSECHO_PORT: "1", PORT: "2" }).port,
      3,
    );
  });
  await t.step("booleans read from env", () => {
    assert.equal(serve([], { WSECHO_WELCOME: "0" }).welcome, false);
    assert.equal(serve([], { WSECHO_VERBOSE: "true" }).verbose, true);
  });
  await t.step("HOSTNAME, which shells set, is ignored", () => {
    assert.equal(serve([], { HOSTNAME: "box" }).hostname, "0.0.0.0");
  });
});

Deno.test("parseCommand() only asks for the documented env vars", () => {
  const asked: string[] = [];
  parseCommand([], (name) => {
    asked.push(name);
    return undefined;
  });
  assert.deepEqual([...new Set(asked)].sort(), [...ENV_VARS].sort());
});

Deno.test("parseCommand() returns help and version", () => {
  assert.deepEqual(parseCommand(["-h"], noEnv), { kind: "help" });
  assert.deepEqual(parseCommand(["--version"], noEnv), { kind: "version" });
  assert.deepEqual(parseCommand(["-V", "--port", "x"], noEnv), {
    kind: "version",
  });
});

Deno.test("parseCommand() rejects bad input with one clear line", async (t) => {
  const cases: [string[], Record<string, string>, RegExp][] = [
    [["--bogus"], {}, /Unknown option '--bogus'/],
    [["--port", "70000"], {}, /--port: "70000" is out of range \(0 to 65535\)/],
    [["--port", "80a"], {}, /--port: "80a" is not a whole number/],
    [["--idle-timeout", "-1"], {}, /--idle-timeout/],
    [["--max-message-size", "65MiB"], {}, /out of range/],
    [["--max-message-size", "lots"], {}, /is not a size/],
    [
      ["--welcome=maybe"],
      {},
      /^Invalid value for --welcome: "maybe" is not one of 1, true, yes, on, 0, false, no, off$/,
    ],
    [
      [],
      { WSECHO_WELCOME: "maybe" },
      /^Invalid value for WSECHO_WELCOME: "maybe" is not one of 1, true, yes, on, 0, false, no, off$/,
    ],
    [
      ["--allow-origin", "not a url"],
      {},
      /^Invalid value for --allow-origin: "not a url" is not an origin/,
    ],
    [
      ["--allow-origin", "https://example.com/path"],
      {},
      /^Invalid value for --allow-origin: "https:\/\/example\.com\/path" is not an origin/,
    ],
    [
      ["--trusted-proxy", "10.0.0.300"],
      {},
      /^Invalid value for --trusted-proxy: "10\.0\.0\.300" is not an IP address$/,
    ],
    [["stray"], {}, /stray/],
    [[], { WSECHO_PORT: "-5" }, /WSECHO_PORT: "-5"/],
    [["--cert", "c.pem"], {}, /--cert and --key must be given together/],
  ];
  for (const [args, env, pattern] of cases) {
    await t.step(args.join(" ") || JSON.stringify(env), () => {
      assert.throws(
        () => parseCommand(args, (n) => env[n]),
        (error: unknown) => {
          assert.ok(error instanceof UsageError);
          assert.match(error.message, pattern);
          assert.doesNotMatch(error.message, /\n/);
          return true;
        },
      );
    });
  }
});

Deno.test("parseSize() reads bytes and binary suffixes", () => {
  assert.equal(parseSize("1024"), 1024);
  assert.equal(parseSize("4KiB"), 4096);
  assert.equal(parseSize("16MiB"), 16 * 1024 * 1024);
  assert.equal(parseSize("2m"), 2 * 1024 * 1024);
  assert.ok(Number.isNaN(parseSize("1.5MiB")));
  assert.ok(Number.isNaN(parseSize("-1")));
});

Deno.test("helpText() lists every flag with its env var and default", () => {
  const help = helpText();
  for (const name of ENV_VARS) assert.ok(help.includes(name), name);
  assert.match(help, /--port N/);
  assert.match(help, /default: 8080/);
  assert.match(help, /--version/);
});
