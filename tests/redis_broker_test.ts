import assert from "node:assert/strict";
import type {
  Broker,
  BrokerMessage,
  BrokerStatus,
} from "../src/core/broker/broker.ts";
import { createBroker } from "../src/core/broker/create_broker.ts";
import { freePort } from "./wsecho_process.ts";
import { IGNORE_REDIS, redisCommand, startRedis } from "./redis_server.ts";

/** A started broker and what it has told. */
interface Probe {
  broker: Broker;
  messages: BrokerMessage[];
  statuses: BrokerStatus[];
  log: string[];
}

function probe(
  instance: string,
  url: string,
  options: { prefix?: string; ttlMs?: number } = {},
): Probe {
  const log: string[] = [];
  const broker = createBroker(instance, {
    url,
    ...options,
    log: (line) => log.push(line),
  });
  const messages: BrokerMessage[] = [];
  const statuses: BrokerStatus[] = [];
  broker.start({
    message: (message) => messages.push(message),
    status: (status) => statuses.push(status),
  });
  return { broker, messages, statuses, log };
}

async function up(...probes: Probe[]): Promise<void> {
  await until(() => probes.every((p) => p.broker.status === "up"), 10_000);
}

/** Waits until a condition holds, polling every 10 ms, or fails after the timeout. */
async function until(
  condition: () => boolean,
  timeoutMs = 5_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms: ${condition}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const settle = (ms = 300) => new Promise((r) => setTimeout(r, ms));

Deno.test({
  name:
    "RedisBroker carries a room's broadcasts to the other subscribed instances, once each, never back to the sender",
  ignore: IGNORE_REDIS,
  async fn() {
    await using redis = await startRedis();
    const a = probe("a", redis.url);
    const b = probe("b", redis.url);
    const c = probe("c", redis.url);
    try {
      await up(a, b, c);
      assert.equal(a.broker.url, redis.url + "");
      a.broker.subscribe("lobby");
      b.broker.subscribe("lobby");
      // c is not in the room: it must hear nothing of it.
      await settle();
      for (let i = 0; i < 20; i++) {
        assert.equal(a.broker.publish("lobby", `{"n":${i}}`), true);
      }
      await until(() => b.messages.length === 20, 5_000);
      await settle();
      assert.equal(b.messages.length, 20);
      assert.deepEqual(b.messages.map((m) => m.frame), [
        ...Array.from({ length: 20 }, (_, i) => `{"n":${i}}`),
      ]);
      assert.ok(
        b.messages.every((m) => m.room === "lobby" && m.origin === "a"),
      );
      assert.equal(a.messages.length, 0, "the sender's instance skips its own");
      assert.equal(c.messages.length, 0, "no firehose: c has no member there");

      // A room-less broadcast reaches every other instance.
      a.broker.publish(null, "all");
      await until(() => b.messages.length === 21 && c.messages.length === 1);
      assert.equal(c.messages[0]!.room, null);

      b.broker.unsubscribe("lobby");
      await settle();
      a.broker.publish("lobby", "after");
      await settle();
      assert.equal(b.messages.length, 21);
      assert.equal(a.broker.stats.published, 22);
      assert.equal(b.broker.stats.received, 21);
      assert.ok(b.broker.stats.latency.count === 21);
    } finally {
      await Promise.all([a.broker.close(), b.broker.close(), c.broker.close()]);
    }
  },
});

Deno.test({
  name:
    "RedisBroker presence: counts reach the other instances, and a close withdraws them at once",
  ignore: IGNORE_REDIS,
  async fn() {
    await using redis = await startRedis();
    const a = probe("a", redis.url);
    const b = probe("b", redis.url);
    try {
      await up(a, b);
      a.broker.setConnections(5, 3);
      a.broker.setRoomMembers("lobby", 3);
      a.broker.setRoomMembers("kitchen", 1);
      await until(() => b.broker.others().get("a")?.rooms.get("lobby") === 3);
      const seen = b.broker.others().get("a")!;
      assert.equal(seen.connections, 5);
      assert.equal(seen.json, 3);
      assert.equal(seen.rooms.get("kitchen"), 1);
      a.broker.setRoomMembers("kitchen", 0);
      await until(() => !b.broker.others().get("a")!.rooms.has("kitchen"));
      assert.equal(a.broker.others().get("b")?.connections, 0);
      await a.broker.close();
      await until(() => !b.broker.others().has("a"));
    } finally {
      await Promise.all([a.broker.close(), b.broker.close()]);
    }
  },
});

Deno.test({
  name:
    "RedisBroker presence of an instance that stops its heartbeat expires after the TTL",
  ignore: IGNORE_REDIS,
  async fn() {
    await using redis = await startRedis();
    const b = probe("b", redis.url, { ttlMs: 1_000 });
    try {
      await up(b);
      // A dead instance, written as the broker writes a live one, but with
      // nobody left to renew it.
      const time = await redisCommand(redis.port, ["TIME"]);
      const seconds = Number(time.split("\r\n")[2]);
      await redisCommand(redis.port, [
        "ZADD",
        "wsecho:instances",
        String(seconds * 1000 + 1_500),
        "ghost",
      ]);
      await redisCommand(redis.port, [
        "HSET",
        "wsecho:presence:ghost",
        "c",
        "7",
        "r:lobby",
        "7",
      ]);
      await redisCommand(redis.port, ["PUBLISH", "wsecho:presence", "ghost"]);
      await until(() => b.broker.others().get("ghost")?.connections === 7);
      const started = Date.now();
      await until(() => !b.broker.others().has("ghost"), 5_000);
      // Expiry (≤ 1.5 s from its last write) plus one heartbeat (TTL / 3).
      assert.ok(Date.now() - started < 3_000);
    } finally {
      await b.broker.close();
    }
  },
});

Deno.test({
  name:
    "RedisBroker survives Redis going away: publish says lost, then every room is re-subscribed and presence re-written",
  ignore: IGNORE_REDIS,
  async fn() {
    const port = freePort();
    let redis = await startRedis({ port });
    const a = probe("a", redis.url);
    const b = probe("b", redis.url);
    try {
      await up(a, b);
      a.broker.setRoomMembers("lobby", 2);
      b.broker.subscribe("lobby");
      await until(() => b.broker.others().get("a")?.rooms.get("lobby") === 2);

      await redis.stop();
      await until(() =>
        a.broker.status === "down" && b.broker.status === "down"
      );
      assert.equal(a.broker.publish("lobby", "lost"), false);
      assert.equal(a.broker.stats.lost, 1);
      assert.equal(b.broker.others().size, 0, "no stale view while down");
      assert.deepEqual(a.statuses, ["up", "down"]);

      redis = await startRedis({ port });
      await up(a, b);
      assert.equal(a.broker.stats.reconnects, 1);
      // Presence came back without anybody calling setRoomMembers again.
      await until(() => b.broker.others().get("a")?.rooms.get("lobby") === 2);
      await until(() => {
        a.broker.publish("lobby", "back");
        return b.messages.some((m) => m.frame === "back");
      }, 5_000);
      assert.ok(!b.messages.some((m) => m.frame === "lost"));
      assert.ok(a.log.some((line) => line.includes("down")));
    } finally {
      await Promise.all([a.broker.close(), b.broker.close()]);
      await redis.stop();
    }
  },
});

Deno.test({
  name:
    "RedisBroker keeps retrying a Redis that is not there at start, and comes up when it appears",
  ignore: IGNORE_REDIS,
  async fn() {
    const port = freePort();
    const a = probe("a", `redis://127.0.0.1:${port}`);
    try {
      await until(() => a.log.length > 0);
      // Several attempts (100, 200, 400 ms apart), still one line.
      await settle(1_000);
      assert.equal(a.broker.status, "down");
      assert.equal(a.broker.publish(null, "x"), false);
      assert.equal(
        a.log.filter((l) => l.includes("unreachable")).length,
        1,
        "one line per distinct error, not one per attempt",
      );
      await using _redis = await startRedis({ port });
      await up(a);
      assert.deepEqual(a.statuses, ["up"]);
    } finally {
      await a.broker.close();
    }
  },
});

Deno.test({
  name:
    "RedisBroker with a password-protected Redis: the right one connects, a wrong one stays down",
  ignore: IGNORE_REDIS,
  async fn() {
    await using redis = await startRedis({ password: "s3cret pass" });
    const good = probe("good", redis.url);
    const bad = probe(
      "bad",
      `redis://:wrong@127.0.0.1:${redis.port}`,
    );
    try {
      await up(good);
      assert.equal(good.broker.url, `redis://127.0.0.1:${redis.port}`);
      assert.ok(!good.broker.url.includes("s3cret"));
      await settle(500);
      assert.equal(bad.broker.status, "down");
      assert.ok(
        bad.log.some((l) => /WRONGPASS|invalid|auth/i.test(l)),
        bad.log.join("\n"),
      );
      assert.ok(
        !bad.log.some((l) => l.includes("wrong@")),
        "no password in the log",
      );
    } finally {
      await Promise.all([good.broker.close(), bad.broker.close()]);
    }
  },
});

Deno.test({
  name:
    "RedisBroker: two clusters on one Redis do not hear each other (--broker-prefix)",
  ignore: IGNORE_REDIS,
  async fn() {
    await using redis = await startRedis();
    const a = probe("a", redis.url, { prefix: "one" });
    const b = probe("b", redis.url, { prefix: "two" });
    try {
      await up(a, b);
      a.broker.subscribe("lobby");
      b.broker.subscribe("lobby");
      a.broker.setRoomMembers("lobby", 1);
      await settle();
      a.broker.publish("lobby", "x");
      a.broker.publish(null, "y");
      await settle();
      assert.equal(b.messages.length, 0);
      assert.equal(b.broker.others().size, 0);
    } finally {
      await Promise.all([a.broker.close(), b.broker.close()]);
    }
  },
});

Deno.test({
  name: "RedisBroker subscribes rooms joined while it is still connecting",
  ignore: IGNORE_REDIS,
  async fn() {
    await using redis = await startRedis();
    const a = probe("a", redis.url);
    await up(a);
    const b = probe("b", redis.url);
    // Rooms arrive before, during and after the connection's first SUBSCRIBE.
    let n = 0;
    const joining = setInterval(() => b.broker.subscribe(`r${n++}`), 1);
    try {
      await up(b);
      await settle(50);
      clearInterval(joining);
      await settle();
      for (let i = 0; i < n; i++) a.broker.publish(`r${i}`, `m${i}`);
      await until(() => b.messages.length === n, 5_000);
      assert.deepEqual(
        new Set(b.messages.map((m) => m.room)).size,
        n,
        "every room heard once",
      );
    } finally {
      clearInterval(joining);
      await Promise.all([a.broker.close(), b.broker.close()]);
    }
  },
});
