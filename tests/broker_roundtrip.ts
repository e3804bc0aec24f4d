/**
 * A program for `create_broker_test.ts`: two brokers on the Redis at
 * `Deno.args[0]`, one broadcast between them, then `roundtrip ok` on stdout.
 * Run under the server's own permissions, as `deno run` and as a bundle, it
 * shows that the Redis client needs no permission the server lacks. Not a
 * test file (no `_test` suffix).
 *
 * @module
 */
// A literal specifier, unlike the server's loader, so that `deno bundle`
// puts the client into the one file; the same pinned version (checked by
// create_broker_test.ts).
// deno-lint-ignore no-import-prefix
import { createClient } from "npm:@redis/client@6.3.1";
import { parseBrokerUrl } from "../src/config/broker_url.ts";
import {
  type CreateRedisClient,
  RedisBroker,
} from "../src/core/broker/redis_broker.ts";

const url = Deno.args[0] ?? "";
const received = Promise.withResolvers<string>();
const events = (name: string) => ({
  message: (m: { frame: string }) => received.resolve(`${name}:${m.frame}`),
  status: () => {},
});
const loadClient = () =>
  Promise.resolve(createClient as unknown as CreateRedisClient);
const a = new RedisBroker(parseBrokerUrl(url), "a", { loadClient });
const b = new RedisBroker(parseBrokerUrl(url), "b", { loadClient });
a.start(events("a"));
b.start(events("b"));
b.subscribe("lobby");
const deadline = Date.now() + 10_000;
while (a.status !== "up" || b.status !== "up") {
  if (Date.now() > deadline) throw new Error("the brokers did not come up");
  await new Promise((resolve) => setTimeout(resolve, 20));
}
let timer: ReturnType<typeof setInterval> | undefined;
try {
  // b may still be subscribing: publish until it hears one.
  timer = setInterval(() => a.publish("lobby", "hello"), 50);
  const got = await received.promise;
  // deno-lint-ignore no-console
  console.log(`roundtrip ok ${got}`);
} finally {
  clearInterval(timer);
  await a.close();
  await b.close();
}
