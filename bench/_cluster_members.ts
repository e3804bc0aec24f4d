/**
 * A worker of `bench/cluster.ts` that holds a share of the room's members, so
 * that receiving runs on more than one thread. It counts every `message`
 * frame, reports when its share has every flood message, and keeps the
 * send → receive latency of its remote members. Internal to the bench.
 *
 * @module
 */

/** A command from the bench. */
export type MemberCommand =
  | { cmd: "open"; urls: string[]; remote: boolean[] }
  | { cmd: "flood"; messages: number }
  | { cmd: "latency" }
  | { cmd: "keep"; count: number }
  | { cmd: "rejoin" }
  | { cmd: "frames" }
  | { cmd: "close" };

/** A report to the bench. */
export type MemberReport =
  | { kind: "ready"; members: number }
  | { kind: "done"; n: number }
  | { kind: "samples"; samples: Float64Array; frames: number }
  | { kind: "ack" }
  | { kind: "frames"; frames: number }
  | { kind: "error"; message: string };

declare const self: {
  onmessage: ((event: MessageEvent<MemberCommand>) => void) | null;
  postMessage(report: MemberReport, transfer?: Transferable[]): void;
};

const sockets: WebSocket[] = [];
let remoteFlags: boolean[] = [];
let active = 0;
let mode: "idle" | "flood" | "latency" = "idle";
let counts = new Int32Array(0);
let samples: number[] = [];
let frames = 0;

function field(text: string, name: string): number {
  const at = text.indexOf(`"${name}":`);
  return at < 0 ? NaN : parseFloat(text.slice(at + name.length + 3));
}

function now(): number {
  return performance.timeOrigin + performance.now();
}

function onFrame(index: number, text: string): void {
  if (text.charCodeAt(9) !== 109) return; // `{"type":"m…`: a message frame
  if (mode === "flood") {
    const n = field(text, "n");
    if (n >= 0 && n < counts.length && ++counts[n]! === active) {
      self.postMessage({ kind: "done", n });
    }
  } else if (mode === "latency") {
    frames++;
    if (remoteFlags[index]) samples.push((now() - field(text, "t")) * 1000);
  }
}

function request(
  socket: WebSocket,
  frame: Record<string, unknown>,
): Promise<void> {
  const { promise, resolve, reject } = Promise.withResolvers<void>();
  const id = Math.random();
  const timer = setTimeout(() => reject(new Error("no reply")), 20_000);
  const listener = (event: MessageEvent) => {
    if (String(event.data).includes(`"id":${id}`)) {
      clearTimeout(timer);
      socket.removeEventListener("message", listener);
      resolve();
    }
  };
  socket.addEventListener("message", listener);
  socket.send(JSON.stringify({ ...frame, id }));
  return promise;
}

async function inBatches(
  items: WebSocket[],
  run: (socket: WebSocket) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: 50 }, async () => {
    while (next < items.length) await run(items[next++]!);
  }));
}

self.onmessage = async (event: MessageEvent<MemberCommand>) => {
  const command = event.data;
  try {
    switch (command.cmd) {
      case "open": {
        remoteFlags = command.remote;
        const opened = await Promise.all(command.urls.map((url, i) => {
          const socket = new WebSocket(url, "wsecho.v1");
          socket.addEventListener("message", (e) => onFrame(i, String(e.data)));
          const { promise, resolve, reject } = Promise.withResolvers<
            WebSocket
          >();
          socket.addEventListener("open", () => resolve(socket), {
            once: true,
          });
          socket.addEventListener(
            "error",
            () => reject(new Error(`cannot connect to ${url}`)),
            { once: true },
          );
          return promise;
        }));
        sockets.push(...opened);
        await inBatches(
          sockets,
          (s) => request(s, { type: "join", room: "bench" }),
        );
        active = sockets.length;
        self.postMessage({ kind: "ready", members: sockets.length });
        return;
      }
      case "flood":
        counts = new Int32Array(command.messages);
        mode = "flood";
        self.postMessage({ kind: "ack" });
        return;
      case "latency":
        samples = [];
        frames = 0;
        mode = "latency";
        self.postMessage({ kind: "ack" });
        return;
      case "keep": {
        const leaving = sockets.slice(command.count);
        await inBatches(
          leaving,
          (s) => request(s, { type: "leave", room: "bench" }),
        );
        active = command.count;
        self.postMessage({ kind: "ack" });
        return;
      }
      case "rejoin": {
        const back = sockets.slice(active);
        const report = {
          kind: "samples" as const,
          samples: Float64Array.from(samples),
          frames,
        };
        mode = "idle";
        await inBatches(
          back,
          (s) => request(s, { type: "join", room: "bench" }),
        );
        active = sockets.length;
        self.postMessage(report, [report.samples.buffer]);
        return;
      }
      case "frames":
        self.postMessage({ kind: "frames", frames });
        return;
      case "close": {
        mode = "idle";
        await Promise.all(sockets.map((socket) => {
          const { promise, resolve } = Promise.withResolvers<void>();
          socket.addEventListener("close", () => resolve(), { once: true });
          socket.close();
          return promise;
        }));
        self.postMessage({ kind: "ack" });
        return;
      }
    }
  } catch (error) {
    self.postMessage({ kind: "error", message: String(error) });
  }
};
