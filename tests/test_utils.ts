/**
 * Helpers shared by the tests: a real server on port 0 and promise-based
 * WebSocket steps. Not a test file (no `_test` suffix).
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  createServer,
  type ServerOptions,
  type WsechoServer,
} from "../src/server/create_server.ts";

/** A server started for one test. */
export interface TestServer extends AsyncDisposable {
  /** The running server. */
  readonly server: WsechoServer;
  /** `http://127.0.0.1:PORT`. */
  readonly http: string;
  /** `ws://127.0.0.1:PORT/ws`. */
  readonly ws: string;
  /** Aborts the server and waits until it has finished. */
  stop(): Promise<void>;
}

/**
 * Starts a real server on a free loopback port.
 *
 * @param options Server options; `hostname` defaults to 127.0.0.1 and `port` to 0.
 * @returns The server and its addresses.
 */
export function startServer(options: ServerOptions = {}): TestServer {
  const controller = new AbortController();
  const server = createServer({
    hostname: "127.0.0.1",
    port: 0,
    signal: controller.signal,
    ...options,
  });
  const host = server.addr.hostname.includes(":")
    ? `[${server.addr.hostname}]`
    : server.addr.hostname;
  const scheme = options.cert ? "https" : "http";
  const stop = async () => {
    controller.abort();
    await server.finished;
  };
  return {
    server,
    http: `${scheme}://${host}:${server.addr.port}`,
    ws: `${scheme === "https" ? "wss" : "ws"}://${host}:${server.addr.port}/ws`,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/**
 * Opens a WebSocket and waits for `open`.
 *
 * @param url The server URL.
 * @param protocols Subprotocols to offer.
 * @returns The open socket, with `binaryType` set to `arraybuffer`.
 * @throws {Error} When the connection fails.
 */
export function connect(
  url: string,
  protocols?: string | string[],
): Promise<WebSocket> {
  const ws = new WebSocket(url, protocols);
  ws.binaryType = "arraybuffer";
  const { promise, resolve, reject } = Promise.withResolvers<WebSocket>();
  const onError = () => reject(new Error(`Cannot connect to ${url}`));
  ws.addEventListener("open", () => {
    ws.removeEventListener("error", onError);
    resolve(ws);
  }, { once: true });
  ws.addEventListener("error", onError, { once: true });
  return promise;
}

/**
 * Collects every message a socket receives, in order, from the moment it is
 * called; `next()` waits for the next unread one.
 */
export class Inbox {
  #queue: (string | ArrayBuffer)[] = [];
  #waiters: PromiseWithResolvers<string | ArrayBuffer>[] = [];
  #closed: PromiseWithResolvers<CloseEvent> = Promise.withResolvers();

  /**
   * Starts listening on a socket.
   *
   * @param socket The socket to read.
   */
  constructor(socket: WebSocket) {
    socket.addEventListener("message", (event) => {
      const waiter = this.#waiters.shift();
      if (waiter) waiter.resolve(event.data);
      else this.#queue.push(event.data);
    });
    socket.addEventListener("close", (event) => {
      this.#closed.resolve(event);
      for (const waiter of this.#waiters.splice(0)) {
        waiter.reject(
          new Error(
            `Socket closed (${event.code}) while waiting for a message`,
          ),
        );
      }
    });
  }

  /** Messages received and not yet read. */
  get pending(): number {
    return this.#queue.length;
  }

  /** Resolves with the close event. */
  get closed(): Promise<CloseEvent> {
    return this.#closed.promise;
  }

  /**
   * Waits for the next message.
   *
   * @returns The message data.
   */
  next(): Promise<string | ArrayBuffer> {
    const queued = this.#queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    const waiter = Promise.withResolvers<string | ArrayBuffer>();
    this.#waiters.push(waiter);
    return waiter.promise;
  }

  /**
   * Waits for the next message and parses it as JSON.
   *
   * @returns The parsed message.
   */
  async json(): Promise<Record<string, unknown>> {
    const data = await this.next();
    if (typeof data !== "string") {
      throw new TypeError("Expected a text message, got binary");
    }
    return JSON.parse(data);
  }
}

/**
 * Closes a socket and waits for its `close` event.
 *
 * @param ws The socket.
 * @param code The close code.
 * @returns The close event.
 */
export function closeSocket(ws: WebSocket, code = 1000): Promise<CloseEvent> {
  const { promise, resolve } = Promise.withResolvers<CloseEvent>();
  if (ws.readyState === WebSocket.CLOSED) {
    return Promise.resolve(new CloseEvent("close", { code: 1005 }));
  }
  ws.addEventListener("close", resolve, { once: true });
  if (ws.readyState !== WebSocket.CLOSING) ws.close(code);
  return promise;
}

/**
 * Polls until a condition holds.
 *
 * @param condition Checked every 10 ms.
 * @param what Says what was awaited, for the timeout error.
 * @param timeoutMs How long to wait.
 */
export async function waitFor(
  condition: () => boolean,
  what: string,
  timeoutMs = 5_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * Checks that a fresh client still gets its echo: the server is alive and
 * well after whatever the test did to it.
 *
 * @param server The test server.
 */
export async function assertEchoes(server: TestServer): Promise<void> {
  const ws = await connect(`${server.ws}?welcome=0`);
  try {
    const inbox = new Inbox(ws);
    ws.send("still here");
    assert.equal(await inbox.next(), "still here");
  } finally {
    await closeSocket(ws);
  }
}
