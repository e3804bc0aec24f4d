import assert from "node:assert/strict";
import { DEFAULT_CONFIG } from "../src/config/options.ts";
import { validateConfig } from "../src/config/validate_config.ts";
import { createServer } from "../src/server/create_server.ts";

Deno.test("validateConfig() fills in defaults and keeps valid values", () => {
  assert.deepEqual(validateConfig(), DEFAULT_CONFIG);
  const config = validateConfig({
    port: 0,
    allowOrigin: ["https://*.example.com", "*"],
    trustedProxy: ["127.0.0.1", "::1"],
    welcome: false,
  });
  assert.equal(config.port, 0);
  assert.deepEqual(config.trustedProxy, ["127.0.0.1", "::1"]);
  assert.equal(config.welcome, false);
});

Deno.test("validateConfig() names the option and the accepted range", async (t) => {
  const cases: [Record<string, unknown>, ErrorConstructor, RegExp][] = [
    [
      { port: 70000 },
      RangeError,
      /^Invalid option "port": 70000 is out of range \(0 to 65535\)$/,
    ],
    [{ port: 1.5 }, RangeError, /^Invalid option "port": 1\.5 is out of range/],
    [
      { port: "80" },
      TypeError,
      /^Invalid option "port": expected 0 to 65535, got "80"$/,
    ],
    [
      { maxMessageSize: 64 * 1024 * 1024 },
      RangeError,
      /"maxMessageSize": 67108864 is out of range \(1 to 67108863\)/,
    ],
    [
      { welcome: "no" },
      TypeError,
      /^Invalid option "welcome": expected true or false, got "no"$/,
    ],
    [
      { allowOrigin: ["https://example.com/path"] },
      RangeError,
      /^Invalid option "allowOrigin": "https:\/\/example\.com\/path" is not an origin/,
    ],
    [
      { allowOrigin: "https://example.com" },
      TypeError,
      /"allowOrigin": expected a list of strings/,
    ],
    [
      { trustedProxy: ["proxy"] },
      RangeError,
      /"trustedProxy": "proxy" is not an IP address/,
    ],
    [
      { cert: "-----BEGIN CERTIFICATE-----" },
      TypeError,
      /"cert" and "key" go together/,
    ],
    [{ bogus: 1 }, TypeError, /^Unknown option "bogus"$/],
  ];
  for (const [options, type, pattern] of cases) {
    await t.step(JSON.stringify(options), () => {
      assert.throws(() => validateConfig(options), (error: unknown) => {
        assert.ok(error instanceof type, String(error));
        assert.match((error as Error).message, pattern);
        return true;
      });
    });
  }
});

Deno.test("createServer() refuses a bad option before it listens", () => {
  assert.throws(
    () => createServer({ port: 0, maxConnections: -1 }),
    /^RangeError: Invalid option "maxConnections": -1 is out of range \(0 to 10000000\)$/,
  );
});
