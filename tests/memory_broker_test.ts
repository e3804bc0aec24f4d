import assert from "node:assert/strict";
import type { BrokerMessage } from "../src/core/broker/broker.ts";
import { MemoryBroker, MemoryHub } from "../src/core/broker/memory_broker.ts";

Deno.test("MemoryBroker alone is today's single process: nobody else to reach", () => {
  const broker = new MemoryBroker("a");
  broker.start({
    message: () => assert.fail("no other instance"),
    status: () => {},
  });
  assert.equal(broker.publish("lobby", "x"), true);
  assert.equal(broker.others().size, 0);
});

Deno.test("MemoryBroker on a shared hub delivers to the other subscribed instances only, once", async () => {
  const hub = new MemoryHub();
  const got = new Map<string, BrokerMessage[]>();
  const brokers = ["a", "b", "c"].map((id) => {
    const broker = new MemoryBroker(id, { hub });
    got.set(id, []);
    broker.start({ message: (m) => got.get(id)!.push(m), status: () => {} });
    return broker;
  });
  const [a, b, c] = brokers as [MemoryBroker, MemoryBroker, MemoryBroker];
  a.subscribe("lobby");
  b.subscribe("lobby");
  a.publish("lobby", "hi");
  a.publish(null, "all");
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.deepEqual(got.get("a"), []);
  assert.deepEqual(got.get("b")!.map((m) => [m.room, m.frame, m.origin]), [
    ["lobby", "hi", "a"],
    [null, "all", "a"],
  ]);
  assert.deepEqual(got.get("c")!.map((m) => m.frame), ["all"]);

  a.setConnections(4, 2);
  a.setRoomMembers("lobby", 2);
  assert.deepEqual(b.others().get("a"), {
    connections: 4,
    json: 2,
    rooms: new Map([["lobby", 2]]),
  });
  await a.close();
  assert.ok(!b.others().has("a"));
  await Promise.all([b.close(), c.close()]);
});
