import assert from "node:assert/strict";
import {
  createBrokerStats,
  decodePayload,
  encodePayload,
  LATENCY_BUCKETS_MS,
  observe,
} from "../src/core/broker/broker.ts";
import { parseBrokerUrl } from "../src/config/broker_url.ts";
import { validateConfig } from "../src/config/validate_config.ts";

Deno.test("parseBrokerUrl() accepts redis:// and rediss:// URLs and hides the password", () => {
  for (
    const [url, shown] of [
      ["redis://127.0.0.1:6379", "redis://127.0.0.1:6379"],
      ["redis://localhost", "redis://localhost"],
      ["redis://u:p%40ss@10.0.0.1:7000/3", "redis://u@10.0.0.1:7000/3"],
      ["redis://:only-pass@[::1]:6380/0", "redis://[::1]:6380/0"],
      ["rediss://cache.example.com:6380/", "rediss://cache.example.com:6380/"],
    ]
  ) {
    const parsed = parseBrokerUrl(url!);
    assert.equal(parsed.href, url);
    assert.equal(parsed.redacted, shown, url);
  }
});

Deno.test("parseBrokerUrl() refuses anything else with one line naming the value, never the password", () => {
  for (
    const url of [
      "",
      "127.0.0.1:6379",
      "http://127.0.0.1:6379",
      "redis://",
      "redis://h:6379/16",
      "redis://h:6379/db",
      "redis://h:6379/1/2",
      "redis://h:6379?x=1",
      "redis://h:99999",
    ]
  ) {
    assert.throws(() => parseBrokerUrl(url), (error: Error) => {
      assert.ok(error instanceof TypeError, url);
      assert.ok(!error.message.includes("\n"), url);
      assert.ok(
        error.message.includes(`"${url}"`) || url === "redis://h:99999",
        error.message,
      );
      return true;
    });
  }
  assert.throws(
    () => parseBrokerUrl("redis://user:hunter2@h/99"),
    (error: Error) => !error.message.includes("hunter2"),
  );
});

Deno.test("encodePayload() and decodePayload() round-trip any frame, newlines included", () => {
  const frame = '{"type":"message","data":"a\\nb"}\nraw';
  const decoded = decodePayload("lobby", encodePayload("abc", 12.5, frame));
  assert.deepEqual(decoded, {
    room: "lobby",
    origin: "abc",
    sentAt: 12.5,
    frame,
  });
  assert.equal(decodePayload(null, "no header"), undefined);
  assert.equal(decodePayload(null, "a\nnot a number\nf"), undefined);
});

Deno.test("observe() fills cumulative buckets", () => {
  const { latency } = createBrokerStats();
  observe(latency, 0.3);
  observe(latency, 7);
  observe(latency, 5_000);
  assert.equal(latency.count, 3);
  assert.equal(latency.buckets.length, LATENCY_BUCKETS_MS.length);
  assert.equal(latency.buckets[0], 0); // ≤ 0.25
  assert.equal(latency.buckets[1], 1); // ≤ 0.5
  assert.equal(latency.buckets.at(-1), 2); // ≤ 1000
});

Deno.test("validateConfig() checks broker options against the option table, as createServer() does", () => {
  assert.throws(
    () => validateConfig({ broker: "http://127.0.0.1:6379" }),
    (error: Error) =>
      error instanceof RangeError && error.message.includes('"broker"') &&
      error.message.includes("http://127.0.0.1:6379"),
  );
  assert.throws(
    () => validateConfig({ brokerPrefix: "a b" }),
    (error: Error) => error instanceof RangeError,
  );
  assert.throws(
    () => validateConfig({ brokerTtl: 23 }),
    (error: Error) => error instanceof RangeError,
  );
  const config = validateConfig({
    broker: "rediss://h:6380/1",
    reusePort: true,
  });
  assert.equal(config.broker, "rediss://h:6380/1");
  assert.equal(config.brokerPrefix, "wsecho");
  assert.equal(config.brokerTtl, 15);
  assert.equal(config.reusePort, true);
});
