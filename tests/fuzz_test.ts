/**
 * Fuzzing the frame parser: a seeded generator sends thousands of malformed
 * frames over many raw connections. The server must survive, never send a
 * masked or RSV-flagged frame, keep echoing for a fresh client, and forget
 * every connection.
 *
 * The seed is printed; rerun one with `FUZZ_SEED=1234 deno test ... tests/fuzz_test.ts`.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  assertEchoes,
  startServer,
  type TestServer,
  waitFor,
} from "./test_utils.ts";
import {
  closePayload,
  encodeFrame,
  type FrameOptions,
  OPCODE,
  RawClient,
} from "./raw_client.ts";

const FRAMES = 5_000;
const CONCURRENCY = 24;
const TIME_BUDGET_MS = 10_000;
const READ_DEADLINE_MS = 150;

/**
 * mulberry32: a small, fast, seeded 32-bit PRNG.
 *
 * @param seed The seed.
 * @returns A function returning floats in [0, 1).
 */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One connection's script: frames to send, and whether to end with a close frame. */
interface Script {
  frames: Uint8Array[];
  closeAtEnd: boolean;
}

const MUTATIONS = [
  "opcode",
  "rsv",
  "unmasked",
  "no fin",
  "length encoding",
  "length lie",
  "truncated",
  "bad utf-8",
  "big control",
  "close code",
] as const;

function makeScript(random: () => number): Script {
  const int = (n: number) => Math.floor(random() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
  const frames: Uint8Array[] = [];
  const count = 1 + int(5);
  for (let i = 0; i < count; i++) {
    // Start from a valid frame, then (half the time) break one thing.
    const length = random() < 0.9
      ? pick([0, 1, 2, 5, 125, 126, 127, 200, 1_000, 65_535, 65_536])
      : int(70_000);
    const opcode = pick([OPCODE.TEXT, OPCODE.BINARY, OPCODE.PING, OPCODE.PONG]);
    const options: FrameOptions = {
      opcode,
      payload: new Uint8Array(
        opcode >= OPCODE.CLOSE ? Math.min(length, 125) : length,
      ).fill(0x61),
    };
    let cut = false;
    if (random() < 0.5) {
      switch (pick(MUTATIONS)) {
        case "opcode":
          options.opcode = int(16);
          break;
        case "rsv":
          options.rsv = 1 + int(7);
          break;
        case "unmasked":
          options.mask = false;
          break;
        case "no fin":
          options.fin = false;
          break;
        case "length encoding":
          options.lengthBits = pick([16, 64] as const);
          break;
        case "length lie":
          options.declaredLength = pick([
            length + 1 + int(100),
            Math.max(0, length - 1 - int(10)),
            2 ** 26 + int(2 ** 30),
            2 ** 63,
          ]);
          break;
        case "truncated":
          cut = true;
          break;
        case "bad utf-8":
          options.opcode = OPCODE.TEXT;
          options.payload = crypto.getRandomValues(new Uint8Array(1 + int(64)));
          break;
        case "big control":
          options.opcode = pick([OPCODE.PING, OPCODE.PONG, OPCODE.CLOSE]);
          options.payload = new Uint8Array(126 + int(1_000));
          break;
        case "close code":
          options.opcode = OPCODE.CLOSE;
          options.payload = closePayload(
            int(6_000),
            random() < 0.5 ? "bye" : "",
          );
          break;
      }
    }
    const frame = encodeFrame(options);
    frames.push(cut ? frame.subarray(0, 1 + int(frame.length - 1)) : frame);
  }
  return { frames, closeAtEnd: random() < 0.7 };
}

/** What happened to one connection, for the summary line. */
type Outcome = string;

async function runScript(ts: TestServer, script: Script): Promise<Outcome> {
  let client: RawClient;
  try {
    client = await RawClient.open({ port: ts.server.addr.port });
  } catch (error) {
    throw new Error(`Handshake failed: ${(error as Error).message}`);
  }
  try {
    for (const frame of script.frames) {
      if (!await client.write(frame)) return "dropped while sending";
    }
    if (script.closeAtEnd) {
      await client.send({
        opcode: OPCODE.CLOSE,
        payload: closePayload(1000),
      });
    }
    while (true) {
      const frame = await client.readFrame(READ_DEADLINE_MS);
      if (frame === "dropped") return "dropped";
      if (frame === "timeout") return "no answer (client hung up)";
      assert.equal(frame.masked, false, "server frames are never masked");
      assert.equal(frame.rsv, 0, "server frames never set RSV bits");
      if (frame.opcode === OPCODE.CLOSE) {
        const code = frame.payload.length >= 2
          ? (frame.payload[0]! << 8) | frame.payload[1]!
          : 1005;
        return code >= 3000 && code <= 4999
          ? "close 3000-4999 (echoed)"
          : `close ${code}`;
      }
    }
  } finally {
    await client.closed();
  }
}

Deno.test("fuzz: thousands of malformed frames leave the server echoing and the registry empty", async () => {
  const seed = Number(
    Deno.env.get("FUZZ_SEED") ?? Math.floor(Math.random() * 2 ** 32),
  );
  // deno-lint-ignore no-console
  console.log(`fuzz seed ${seed} (rerun with FUZZ_SEED=${seed})`);
  const random = mulberry32(seed);
  await using ts = startServer({
    idleTimeout: 1,
    maxConnectionsPerIp: 0,
    maxMessageSize: 32 * 1024,
  });
  const started = Date.now();
  const outcomes = new Map<Outcome, number>();
  let frames = 0;
  let connections = 0;
  const next = (): Script | undefined => {
    if (frames >= FRAMES || Date.now() - started > TIME_BUDGET_MS) {
      return undefined;
    }
    const script = makeScript(random);
    frames += script.frames.length;
    connections++;
    return script;
  };
  async function worker(): Promise<void> {
    for (let script = next(); script !== undefined; script = next()) {
      const outcome = await runScript(ts, script);
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      if (connections % 200 === 0) await assertEchoes(ts);
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const summary = [...outcomes].sort(([, a], [, b]) => b - a)
    .map(([outcome, n]) => `${outcome}: ${n}`).join(", ");
  // deno-lint-ignore no-console
  console.log(
    `fuzz: ${frames} frames on ${connections} connections in ${
      Date.now() - started
    } ms; ${summary}`,
  );
  await waitFor(
    () => ts.server.state.registry.size === 0,
    "the registry to empty",
  );
  assert.equal(ts.server.state.rooms.size, 0);
  await assertEchoes(ts);
  assert.ok(frames >= 1_000, `only ${frames} frames fitted in the time budget`);
});
