/**
 * Servers for the client tests (`connect_test.ts`, `bench_test.ts`): small
 * purpose-built WebSocket servers on port 0 (one that refuses, closes with a
 * chosen code, corrupts echoes, emits a test-lab stream or drops the TCP
 * connection), the benchmark's baseline echo as a child process, and a way
 * to run the `wsecho` command with the compiled binary's permissions. Not a
 * test file (no `_test` suffix).
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { acceptKey } from "./raw_client.ts";
import { childEnv, freePort } from "./wsecho_process.ts";
import {
  permissionFlags,
  SERVER_PERMISSIONS,
} from "../tools/server_permissions.ts";

/** The repository's root directory. */
export const ROOT: string = fileURLToPath(new URL("..", import.meta.url));

/** What a test server saw of one upgrade request. */
export interface SeenRequest {
  /** The request URL. */
  url: string;
  /** Its headers. */
  headers: Headers;
}

/** A server started for one test. */
export interface LocalServer extends AsyncDisposable {
  /** `ws://127.0.0.1:PORT`. */
  readonly ws: string;
  /** Upgrade requests seen, in order. */
  readonly requests: SeenRequest[];
  /** Close events its sockets saw, in order. */
  readonly closes: CloseEvent[];
  /** Stops it. */
  stop(): Promise<void>;
}

/** What a {@linkcode startLocalServer} handler does with one open socket. */
export type SocketBehaviour = (socket: WebSocket, url: URL) => void;

/**
 * Starts a `Deno.serve` WebSocket server on a free loopback port. Paths
 * `/403` and `/503` refuse the upgrade; every other path upgrades and hands
 * the socket to `behaviour`.
 *
 * @param behaviour What to do with each socket (default: echo).
 * @returns The server.
 */
export function startLocalServer(
  behaviour: SocketBehaviour = echo,
): LocalServer {
  const controller = new AbortController();
  const requests: SeenRequest[] = [];
  const closes: CloseEvent[] = [];
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    signal: controller.signal,
    onListen() {},
  }, (request) => {
    const url = new URL(request.url);
    if (url.pathname === "/403") {
      return new Response("Forbidden: origin not allowed\nsecond line\n", {
        status: 403,
      });
    }
    if (url.pathname === "/503") {
      return new Response("Too many connections: the limit is 1\n", {
        status: 503,
        headers: { "retry-after": "5" },
      });
    }
    requests.push({ url: request.url, headers: new Headers(request.headers) });
    const { socket, response } = Deno.upgradeWebSocket(request);
    socket.binaryType = "arraybuffer";
    socket.addEventListener("close", (event) => closes.push(event));
    behaviour(socket, url);
    return response;
  });
  const stop = async () => {
    controller.abort();
    await server.finished;
  };
  return {
    ws: `ws://127.0.0.1:${server.addr.port}`,
    requests,
    closes,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/** Echoes every message. */
export function echo(socket: WebSocket): void {
  socket.onmessage = (event) => socket.send(event.data);
}

/** Echoes, but flips one character of every 10th text message and one byte of every 10th binary one. */
export function corruptingEcho(socket: WebSocket): void {
  let count = 0;
  socket.onmessage = (event) => {
    count++;
    let data = event.data;
    if (count % 10 === 0) {
      if (typeof data === "string") {
        data = (data[0] === "X" ? "Y" : "X") + data.slice(1);
      } else {
        const bytes = new Uint8Array((data as ArrayBuffer).slice(0));
        bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
        data = bytes;
      }
    }
    socket.send(data);
  };
}

/**
 * A test-lab stream as `?emit=N&rate=R&size=B[&binary=1]` asks: N messages
 * with `seq` from 1, at R a second, then a 1000 close. `?lose=K` leaves out
 * seq K and `?swap=K` sends K+1 before K, to prove the client notices.
 */
export function emitter(socket: WebSocket, url: URL): void {
  const emit = Number(url.searchParams.get("emit") ?? 0);
  const rate = Number(url.searchParams.get("rate") ?? 100);
  const size = Number(url.searchParams.get("size") ?? 32);
  const binary = url.searchParams.get("binary") === "1";
  const lose = Number(url.searchParams.get("lose") ?? -1);
  const swap = Number(url.searchParams.get("swap") ?? -1);
  const frame = (seq: number) => {
    const t = performance.timeOrigin + performance.now();
    if (binary) {
      const bytes = new Uint8Array(Math.max(16, size));
      const view = new DataView(bytes.buffer);
      view.setBigUint64(0, BigInt(seq));
      view.setFloat64(8, t);
      return bytes;
    }
    return JSON.stringify({ type: "stream", seq, t, pad: "x".repeat(size) });
  };
  let seq = 1;
  let timer: ReturnType<typeof setInterval> | undefined;
  socket.onopen = () => {
    timer = setInterval(() => {
      if (socket.readyState !== WebSocket.OPEN) return;
      if (seq > emit) {
        clearInterval(timer);
        socket.close(1000, "stream done");
        return;
      }
      if (seq === swap) {
        socket.send(frame(seq + 1));
        socket.send(frame(seq));
        seq += 2;
        return;
      }
      if (seq !== lose) socket.send(frame(seq));
      seq++;
    }, Math.max(1, 1000 / rate));
  };
  socket.addEventListener("close", () => clearInterval(timer));
}

/**
 * Starts a server that completes the WebSocket handshake by hand and then
 * drops the TCP connection without a close frame.
 *
 * @returns Its URL and a stop function.
 */
export function startDroppingServer(): LocalServer {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const done = (async () => {
    for await (const conn of listener) {
      try {
        const buffer = new Uint8Array(8192);
        const n = await conn.read(buffer) ?? 0;
        const head = new TextDecoder().decode(buffer.subarray(0, n));
        const key = /sec-websocket-key:\s*(\S+)/i.exec(head)?.[1] ?? "";
        await conn.write(
          new TextEncoder().encode(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n" +
              `Connection: Upgrade\r\nSec-WebSocket-Accept: ${await acceptKey(
                key,
              )}\r\n\r\n`,
          ),
        );
        await new Promise((resolve) => setTimeout(resolve, 50));
      } finally {
        conn.close();
      }
    }
  })();
  const stop = async () => {
    listener.close();
    await done.catch(() => {});
  };
  return {
    ws: `ws://127.0.0.1:${listener.addr.port}`,
    requests: [],
    closes: [],
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/** The benchmark's baseline echo (`bench/baseline_server.ts`) in a child process. */
export interface BaselineProcess extends AsyncDisposable {
  /** `ws://127.0.0.1:PORT/`. */
  readonly ws: string;
  /** Its process id. */
  readonly pid: number;
  /** Stops it by its PID and waits for it to exit. */
  stop(): Promise<void>;
}

/**
 * Starts `bench/baseline_server.ts` on a free port and waits until it answers.
 *
 * @returns The running baseline.
 */
export async function startBaseline(): Promise<BaselineProcess> {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "bench/baseline_server.ts",
      "--port",
      String(port),
    ],
    cwd: ROOT,
    env: childEnv(),
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const stop = async () => {
    try {
      Deno.kill(child.pid, "SIGTERM");
    } catch {
      // Already gone.
    }
    await child.status;
  };
  const deadline = Date.now() + 30_000;
  while (true) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/`);
      await response.body?.cancel();
      break;
    } catch (error) {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`The baseline did not answer: ${error}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return {
    ws: `ws://127.0.0.1:${port}/`,
    pid: child.pid,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/** What a finished `wsecho` command printed. */
export interface CommandOutput {
  /** The exit code. */
  code: number;
  /** Its stdout. */
  stdout: string;
  /** Its stderr. */
  stderr: string;
}

/**
 * Runs `deno run main.ts ARGS` with the compiled binary's permissions (network
 * and the server's environment variables, nothing else), optionally feeding
 * `stdin` through a pipe.
 *
 * @param args The arguments, such as `["connect", url]`.
 * @param stdin Text to write to its stdin, which is then closed; `undefined` for none.
 * @param timeoutMs Kill it after this long.
 * @returns Its exit code and output.
 */
export async function runWsecho(
  args: readonly string[],
  stdin?: string,
  timeoutMs = 60_000,
): Promise<CommandOutput> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...permissionFlags(SERVER_PERMISSIONS), "main.ts", ...args],
    cwd: ROOT,
    env: childEnv(),
    clearEnv: true,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  try {
    if (stdin !== undefined) {
      const writer = child.stdin.getWriter();
      await writer.write(new TextEncoder().encode(stdin));
      await writer.close();
    }
    const { code, stdout, stderr } = await child.output();
    const decoder = new TextDecoder();
    return {
      code,
      stdout: decoder.decode(stdout),
      stderr: decoder.decode(stderr),
    };
  } finally {
    clearTimeout(timer);
  }
}
