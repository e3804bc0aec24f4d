import assert from "node:assert/strict";
import { createServer } from "../mod.ts";
import { Cluster } from "../src/core/cluster.ts";
import { MemoryBroker, MemoryHub } from "../src/core/broker/memory_broker.ts";
import { freePort, runOnce, type WsechoProcess } from "./wsecho_process.ts";
import { IGNORE_REDIS, type RedisServer, startRedis } from "./redis_server.ts";
import {
  eventually,
  type Frame,
  health,
  INSTANCE_COMMAND,
  JsonClient,
  metric,
  openMany,
  requestMany,
  startInstance,
} from "./cluster_utils.ts";

const ignore = IGNORE_REDIS;

/** Starts `count` instances on the broker, each on its own port. */
async function startCluster(
  redis: RedisServer,
  count: number,
  args: readonly string[] = [],
): Promise<WsechoProcess[]> {
  const started = await Promise.allSettled(
    Array.from({ length: count }, () => startInstance(redis.url, { args })),
  );
  const ok = started.flatMap((s) => s.status === "fulfilled" ? [s.value] : []);
  const failed = started.find((s) => s.status === "rejected");
  if (failed !== undefined) {
    await Promise.all(ok.map((i) => i.stop()));
    throw (failed as PromiseRejectedResult).reason;
  }
  await eventually(
    async () =>
      (await Promise.all(ok.map(health))).every((h) =>
        h.broker?.status === "up"
      ),
    "every instance's broker up",
    20_000,
  );
  return ok;
}

async function stopAll(
  clients: readonly JsonClient[],
  instances: readonly WsechoProcess[],
): Promise<void> {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(instances.map((i) => i.stop()));
}

/**
 * The members of a room in the whole cluster, as a fresh connection on
 * `instance` sees them: it joins (members + 1), leaves, and closes.
 */
async function clusterMembers(
  instance: WsechoProcess,
  room: string,
): Promise<number> {
  const probe = await JsonClient.open(instance.ws);
  try {
    const joined = await probe.request({ type: "join", room });
    await probe.request({ type: "leave", room });
    return joined.members - 1;
  } finally {
    await probe.close();
  }
}

/** Spreads `count` members of `room` round-robin over the instances. */
async function joinSpread(
  instances: readonly WsechoProcess[],
  room: string,
  count: number,
): Promise<JsonClient[]> {
  const urls = Array.from(
    { length: count },
    (_, i) => instances[i % instances.length]!.ws,
  );
  const clients = await openMany(urls);
  try {
    const replies = await requestMany(clients, () => ({ type: "join", room }));
    assert.ok(
      replies.every((r) => r.type === "joined"),
      JSON.stringify(replies[0]),
    );
  } catch (error) {
    await Promise.all(clients.map((c) => c.close()));
    throw error;
  }
  return clients;
}

/**
 * Sends `count` broadcasts from `sender` and checks that every other member
 * got each exactly once and the sender none.
 */
async function assertFanOut(
  sender: JsonClient,
  members: readonly JsonClient[],
  room: string | null,
  count: number,
  otherInstances: number,
): Promise<void> {
  const before = members.map((m) => m.messages.length);
  const tag = crypto.randomUUID();
  const replies: Frame[] = [];
  for (let n = 0; n < count; n++) {
    replies.push(
      await sender.request({
        type: "broadcast",
        ...(room === null ? {} : { room }),
        data: { tag, n },
      }),
    );
  }
  const others = members.filter((m) => m !== sender);
  const expected = others.length * count;
  const got = () =>
    others.reduce(
      (sum, m) => sum + m.messages.filter((f) => f.data?.tag === tag).length,
      0,
    );
  await eventually(() => got() >= expected, `${expected} deliveries`, 30_000);
  // A duplicate would arrive with the rest: give it a moment to show up.
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(got(), expected, "no duplicate deliveries");
  for (const member of others) {
    const ns = member.messages.filter((f) => f.data?.tag === tag).map((f) =>
      f.data.n
    );
    assert.deepEqual(
      ns,
      Array.from({ length: count }, (_, n) => n),
      "each once, in order",
    );
  }
  assert.equal(
    sender.messages.filter((f) => f.data?.tag === tag).length,
    0,
    "the sender is excluded",
  );
  for (const reply of replies) {
    assert.equal(reply.type, "sent");
    assert.equal(reply.instances, otherInstances);
    assert.equal(reply.lost, undefined);
  }
  const local = replies[0]!.delivered;
  assert.ok(local < others.length, "delivered counts local members only");
  assert.ok(before.length === members.length);
}

for (const count of [2, 3]) {
  Deno.test({
    name:
      `cluster of ${count} instances: a room of 1,000 members spread over all gets every broadcast exactly once per member, sender excluded`,
    ignore,
    async fn() {
      await using redis = await startRedis();
      const instances = await startCluster(redis, count);
      let clients: JsonClient[] = [];
      try {
        clients = await joinSpread(instances, "big", 1000);
        for (const instance of instances) {
          await eventually(
            async () => (await clusterMembers(instance, "big")) === 1000,
            "1,000 members seen from every instance",
            20_000,
          );
        }
        await assertFanOut(clients[0]!, clients, "big", 5, count - 1);
        // Without a room: every other wsecho.v1 connection of the cluster.
        await assertFanOut(clients[1]!, clients, null, 2, count - 1);
        const info = await clients[0]!.request({ type: "info" });
        assert.equal(info.connections, 1000);
        assert.equal(info.rooms, 1);
      } finally {
        await stopAll(clients, instances);
      }
    },
  });
}

Deno.test({
  name:
    "cluster of 2 instances sharing one port with --reuse-port: the kernel spreads connections, broadcasts reach everyone once",
  ignore: ignore || Deno.build.os !== "linux",
  async fn() {
    await using redis = await startRedis();
    const port = freePort();
    const instances: WsechoProcess[] = [];
    let clients: JsonClient[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        instances.push(
          await startInstance(redis.url, { port, args: ["--reuse-port"] }),
        );
      }
      assert.equal(instances[0]!.port, port);
      assert.equal(instances[1]!.port, port);
      const url = `ws://127.0.0.1:${port}/ws`;
      clients = await openMany(Array.from({ length: 1000 }, () => url));
      const infos = await requestMany(clients, () => ({ type: "info" }));
      const byInstance = new Map<string, number>();
      for (const info of infos) {
        byInstance.set(info.instance, (byInstance.get(info.instance) ?? 0) + 1);
      }
      assert.equal(byInstance.size, 2, "both processes got connections");
      await requestMany(clients, () => ({ type: "join", room: "shared" }));
      // `instances` counts the other instances seen with members: wait until
      // the sender's instance has seen every join (joining again is a no-op
      // that reports the members).
      await eventually(
        async () =>
          (await clients[0]!.request({ type: "join", room: "shared" }))
            .members === 1000,
        "1,000 members seen by the sender's instance",
      );
      assert.equal(
        (await clients[0]!.request({ type: "info" })).connections,
        1000,
      );
      await assertFanOut(clients[0]!, clients, "shared", 3, 1);
    } finally {
      await stopAll(clients, instances);
    }
  },
});

Deno.test({
  name:
    "cluster counts: joins, leaves, closes, and a kill -9 of one instance within the TTL",
  ignore,
  async fn() {
    await using redis = await startRedis();
    // TTL 2 s: the dead instance's members vanish within 2 s + one heartbeat.
    const instances = await startCluster(redis, 3, ["--broker-ttl", "2"]);
    const [a, b, c] = instances as [
      WsechoProcess,
      WsechoProcess,
      WsechoProcess,
    ];
    const all: JsonClient[] = [];
    try {
      const onA = await joinSpread([a], "r", 3);
      const onB = await joinSpread([b], "r", 2);
      const onC = await joinSpread([c], "r", 4);
      all.push(...onA, ...onB, ...onC);
      const total = async (n: number, what: string) => {
        for (const instance of [a, b]) {
          await eventually(
            async () => (await clusterMembers(instance, "r")) === n,
            `${what}: ${n} members`,
          );
        }
      };
      await total(9, "after joins");
      const left = await onA[0]!.request({ type: "leave", room: "r" });
      // This instance's part is exact at once; others' within a moment.
      assert.ok(left.members <= 8 && left.members >= 2);
      await total(8, "after a leave");
      await onB[0]!.close();
      await total(7, "after a close");
      await eventually(
        async () => (await onA[1]!.request({ type: "info" })).connections === 8,
        "8 connections after one close",
      );
      const infoA = await onA[1]!.request({ type: "info" });
      assert.equal(infoA.rooms, 1);

      const killedAt = Date.now();
      c.kill("SIGKILL");
      await c.stop();
      await total(3, "after kill -9 of the instance with 4 members");
      const elapsed = Date.now() - killedAt;
      // Expiry within TTL + one heartbeat (2.7 s), plus polling on a busy
      // machine; the default TTL would take up to 20 s.
      assert.ok(elapsed < 6_000, `gone in ${elapsed} ms`);
      await eventually(
        async () => (await onA[1]!.request({ type: "info" })).connections === 4,
        "connections without the dead instance",
      );
    } finally {
      await stopAll(all, instances);
    }
  },
});

Deno.test({
  name:
    "cluster survives Redis stopped and restarted mid-traffic: no crash, the sender is told of lost messages, then broadcasts cross again",
  ignore,
  async fn() {
    const port = freePort();
    let redis = await startRedis({ port });
    const instances = await startCluster(redis, 2);
    const [a, b] = instances as [WsechoProcess, WsechoProcess];
    const clients: JsonClient[] = [];
    let traffic: ReturnType<typeof setInterval> | undefined;
    try {
      const sender = await JsonClient.open(a.ws);
      const local = await JsonClient.open(a.ws);
      const remote = await JsonClient.open(b.ws);
      clients.push(sender, local, remote);
      for (const client of clients) {
        await client.request({ type: "join", room: "live" });
      }
      const sent: Frame[] = [];
      let n = 0;
      traffic = setInterval(() => {
        sender.request({ type: "broadcast", room: "live", data: n++ })
          .then((reply) => sent.push(reply), () => {});
      }, 20);
      await eventually(() => remote.messages.length >= 5, "traffic across");

      await redis.stop();
      await eventually(
        async () => (await health(a)).broker.status === "down",
        "broker down",
      );
      await eventually(
        () => sent.some((r) => r.lost === true),
        "a sent reply saying lost",
      );
      const lostReply = sent.find((r) => r.lost === true)!;
      assert.equal(lostReply.instances, 0);
      assert.equal(lostReply.delivered, 1, "the local member still gets it");
      const duringOutage = remote.messages.length;

      redis = await startRedis({ port });
      await eventually(
        async () =>
          (await health(a)).broker.status === "up" &&
          (await health(b)).broker.status === "up",
        "broker up again",
        20_000,
      );
      await eventually(
        () => remote.messages.length > duringOutage + 5,
        "broadcasts across again",
        20_000,
      );
      clearInterval(traffic);
      traffic = undefined;
      // Back to exactly once, with the other instance counted again.
      await eventually(
        async () =>
          (await sender.request({ type: "join", room: "live" })).members === 3,
        "3 members seen again",
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
      await assertFanOut(sender, clients, "live", 3, 1);
      assert.ok((await metric(a, "wsecho_broker_reconnects_total"))! >= 1);
      assert.ok((await metric(a, "wsecho_broker_lost_total"))! >= 1);
      assert.equal(await metric(a, "wsecho_broker_up"), 1);
      // The local member got every one, broker or not.
      assert.ok(sent.every((r) => r.delivered === 1));
      assert.ok(sent.length > 0);
      for (const instance of instances) {
        assert.doesNotMatch(instance.stderr, /Uncaught|unhandled/i);
      }
      assert.match(a.stderr, /broker redis:\/\/127\.0\.0\.1:\d+ down/);
    } finally {
      clearInterval(traffic);
      await stopAll(clients, instances);
      await redis.stop();
    }
  },
});

Deno.test({
  name:
    "wsecho with an unreachable broker starts, echoes, serves local rooms, and joins the cluster when Redis appears",
  ignore,
  async fn() {
    const port = freePort();
    const url = `redis://127.0.0.1:${port}`;
    const instance = await startInstance(url);
    const clients: JsonClient[] = [];
    let redis: RedisServer | undefined;
    try {
      const h = await health(instance);
      assert.equal(h.broker.status, "down");
      assert.equal(h.broker.url, url);
      const raw = new WebSocket(instance.ws);
      const echoed = Promise.withResolvers<string>();
      raw.onmessage = (e) => echoed.resolve(String(e.data));
      const rawClosed = new Promise((resolve) => raw.onclose = resolve);
      await new Promise((resolve) => raw.onopen = resolve);
      raw.send("still echoes");
      assert.equal(await echoed.promise, "still echoes");
      raw.close();
      await rawClosed;

      const a = await JsonClient.open(instance.ws);
      const b = await JsonClient.open(instance.ws);
      clients.push(a, b);
      await a.request({ type: "join", room: "here" });
      assert.equal(
        (await b.request({ type: "join", room: "here" })).members,
        2,
      );
      const reply = await a.request({
        type: "broadcast",
        room: "here",
        data: 1,
      });
      assert.deepEqual(
        {
          delivered: reply.delivered,
          instances: reply.instances,
          lost: reply.lost,
        },
        { delivered: 1, instances: 0, lost: true },
      );
      await eventually(() => b.messages.length === 1, "local delivery");

      redis = await startRedis({ port });
      await eventually(
        async () => (await health(instance)).broker.status === "up",
        "broker up once Redis is there",
        20_000,
      );
      const after = await a.request({
        type: "broadcast",
        room: "here",
        data: 2,
      });
      assert.equal(after.lost, undefined);
    } finally {
      await stopAll(clients, [instance]);
      await redis?.stop();
    }
  },
});

Deno.test({
  name:
    "cluster on a password-protected Redis: broadcasts cross, and /healthz shows the URL without the password",
  ignore,
  async fn() {
    await using redis = await startRedis({ password: "pa55 word" });
    const instances = await startCluster(redis, 2);
    const clients: JsonClient[] = [];
    try {
      const h = await health(instances[0]!);
      assert.equal(h.broker.url, `redis://127.0.0.1:${redis.port}`);
      assert.ok(!JSON.stringify(h).includes("pa55"));
      assert.ok(!instances[0]!.stderr.includes("pa55"));
      assert.ok(!Number.isNaN(Date.parse(h.broker.since)));
      clients.push(
        await JsonClient.open(instances[0]!.ws),
        await JsonClient.open(instances[1]!.ws),
      );
      for (const client of clients) {
        await client.request({ type: "join", room: "p" });
      }
      await eventually(
        async () => (await clusterMembers(instances[0]!, "p")) === 2,
        "2 members",
      );
      await assertFanOut(clients[0]!, clients, "p", 3, 1);
      const received = await metric(
        instances[1]!,
        "wsecho_broker_received_total",
      );
      assert.equal(received, 3);
      assert.equal(
        await metric(instances[1]!, "wsecho_broker_latency_seconds_count"),
        received,
      );
      assert.equal(
        await metric(
          instances[1]!,
          'wsecho_broker_latency_seconds_bucket{le="+Inf"}',
        ),
        received,
      );
      assert.equal(
        await metric(instances[0]!, "wsecho_broker_published_total"),
        3,
      );
    } finally {
      await stopAll(clients, instances);
    }
  },
});

Deno.test({
  name: "the raw echo never touches the broker",
  ignore,
  async fn() {
    await using redis = await startRedis();
    const [instance] = await startCluster(redis, 1);
    try {
      const published = await metric(
        instance!,
        "wsecho_broker_published_total",
      );
      const ws = new WebSocket(instance!.ws);
      let echoes = 0;
      const done = Promise.withResolvers<void>();
      ws.onmessage = () => {
        if (++echoes === 200) done.resolve();
      };
      const closed = new Promise((resolve) => ws.onclose = resolve);
      await new Promise((resolve) => ws.onopen = resolve);
      for (let i = 0; i < 200; i++) ws.send(`m${i}`);
      await done.promise;
      ws.close();
      await closed;
      assert.equal(
        await metric(instance!, "wsecho_broker_published_total"),
        published,
      );
      assert.equal(await metric(instance!, "wsecho_broker_received_total"), 0);
    } finally {
      await instance!.stop();
    }
  },
});

Deno.test("wsecho exits 2 with one line for a bad --broker URL or WSECHO_BROKER", async () => {
  for (
    const [args, env] of [
      [["--broker", "http://127.0.0.1:6379"], {}],
      [["--broker", "redis://:secret@h:6379/99"], {}],
      [[], { WSECHO_BROKER: "not a url" }],
      [["--broker-prefix", "has space"], {}],
      [["--broker-ttl", "0"], {}],
    ] as [string[], Record<string, string>][]
  ) {
    const run = await runOnce(INSTANCE_COMMAND, args, { env });
    assert.equal(run.code, 2, `${args} ${JSON.stringify(env)}: ${run.stderr}`);
    assert.equal(run.stderr.trimEnd().split("\n").length, 1, run.stderr);
    assert.ok(!run.stderr.includes("secret"), run.stderr);
  }
});

Deno.test("wsecho --reuse-port without --unstable-net says so in one line and exits 1", async () => {
  const command = INSTANCE_COMMAND.filter((a) => a !== "--unstable-net");
  const run = await runOnce(command, [
    "--hostname",
    "127.0.0.1",
    "--port",
    "0",
    "--reuse-port",
  ]);
  assert.equal(run.code, 1, run.stderr);
  assert.match(
    run.stderr,
    /^Cannot listen on 127\.0\.0\.1:0: --reuse-port needs Deno's --unstable-net flag/,
  );
  assert.equal(run.stderr.trimEnd().split("\n").length, 1);
});

Deno.test({
  name:
    "createServer({ broker }) in-process joins a cluster with a process instance and cleans up every resource on shutdown",
  ignore,
  async fn() {
    await using redis = await startRedis();
    const [remote] = await startCluster(redis, 1);
    const controller = new AbortController();
    const server = createServer({
      hostname: "127.0.0.1",
      port: 0,
      broker: redis.url,
      brokerTtl: 2,
      signal: controller.signal,
    });
    const clients: JsonClient[] = [];
    try {
      await eventually(
        () => server.state.cluster.broker.status === "up",
        "the in-process broker up",
      );
      const local = await JsonClient.open(
        `ws://127.0.0.1:${server.addr.port}/ws`,
      );
      const far = await JsonClient.open(remote!.ws);
      clients.push(local, far);
      await far.request({ type: "join", room: "lib" });
      await local.request({ type: "join", room: "lib" });
      await eventually(
        async () =>
          (await local.request({ type: "join", room: "lib" })).members === 2,
        "2 members across",
      );
      await assertFanOut(local, clients, "lib", 2, 1);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
      controller.abort();
      await server.finished;
      await remote!.stop();
    }
  },
});

/** A stand-in connection for the in-process cluster tests. */
interface Peer {
  id: string;
  json: boolean;
  got: string[];
}

/** One instance over a shared MemoryHub: its rooms and connections, by hand. */
function memoryInstance(hub: MemoryHub, id: string) {
  const rooms = new Map<string, Set<Peer>>();
  const peers: Peer[] = [];
  const cluster = new Cluster<Peer>(new MemoryBroker(id, { hub }), {
    roomMembers: (room) => rooms.get(room) ?? [],
    jsonConnections: () => peers.filter((p) => p.json),
    send: (target, frame) => {
      target.got.push(frame);
      return true;
    },
    measure: (frame) => frame.length,
  });
  cluster.start();
  return {
    cluster,
    peer(json = true): Peer {
      const peer = { id: `${id}${peers.length}`, json, got: [] };
      peers.push(peer);
      cluster.connectionsChanged(
        peers.length,
        peers.filter((p) => p.json).length,
      );
      return peer;
    },
    join(peer: Peer, room: string) {
      const members = rooms.get(room) ?? new Set();
      rooms.set(room, members.add(peer));
      cluster.roomChanged(room, members.size);
    },
    local: (room: string) => rooms.get(room)?.size ?? 0,
    names: () => rooms.keys(),
  };
}

Deno.test("Cluster over an in-process hub: broadcasts reach every other member once, counts cover every instance", async () => {
  const hub = new MemoryHub();
  const a = memoryInstance(hub, "a");
  const b = memoryInstance(hub, "b");
  const [sender, near] = [a.peer(), a.peer()];
  const [far, raw] = [b.peer(), b.peer(false)];
  a.join(sender, "r");
  a.join(near, "r");
  b.join(far, "r");
  assert.equal(a.cluster.members("r", a.local("r")), 3);
  assert.equal(b.cluster.members("r", b.local("r")), 3);
  assert.equal(a.cluster.connections(2), 4);
  assert.equal(a.cluster.rooms(a.names()), 1);

  assert.deepEqual(a.cluster.broadcast("r", "hello", sender), {
    delivered: 1,
    instances: 1,
    lost: false,
  });
  assert.deepEqual(a.cluster.broadcast(null, "all", sender), {
    delivered: 1,
    instances: 1,
    lost: false,
  });
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.deepEqual(sender.got, []);
  assert.deepEqual(near.got, ["hello", "all"]);
  assert.deepEqual(far.got, ["hello", "all"]);
  assert.deepEqual(
    raw.got,
    [],
    "the raw echo connection is no broadcast target",
  );
  await Promise.all([a.cluster.close(), b.cluster.close()]);
  assert.equal(a.cluster.members("r", 2), 2, "alone again: local counts only");
});
