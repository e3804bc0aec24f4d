/**
 * Helpers for the cluster tests and the cluster benchmark: wsecho instances
 * as separate `deno run main.ts` processes with the server's own
 * permissions, and a small `wsecho.v1` client. Not a test file.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import {
  permissionFlags,
  SERVER_PERMISSIONS,
  SERVER_RUNTIME_FLAGS,
} from "../tools/server_permissions.ts";
import {
  type ProcessOptions,
  startWsecho,
  type WsechoProcess,
} from "./wsecho_process.ts";

const MAIN = fileURLToPath(new URL("../main.ts", import.meta.url));

/**
 * `deno run` main.ts with exactly the server's permissions and runtime
 * flags, as the start task and the executable have.
 */
export const INSTANCE_COMMAND: readonly string[] = [
  Deno.execPath(),
  "run",
  "--no-prompt",
  ...SERVER_RUNTIME_FLAGS,
  ...permissionFlags(SERVER_PERMISSIONS),
  MAIN,
];

/** Options of {@linkcode startInstance}. */
export interface InstanceOptions extends ProcessOptions {
  /**
   * The port; `0` picks a free one.
   *
   * @default {0}
   */
  port?: number;
  /**
   * More flags.
   *
   * @default {[]}
   */
  args?: readonly string[];
}

/**
 * Starts one wsecho instance on 127.0.0.1 joined to a broker. The per-IP cap
 * is off: every test client comes from 127.0.0.1.
 *
 * @param broker The broker URL, or `""` for none.
 * @param options Port, flags, environment.
 * @returns The running instance.
 */
export function startInstance(
  broker: string,
  options: InstanceOptions = {},
): Promise<WsechoProcess> {
  const { port = 0, args = [], timeoutMs = 30_000, ...rest } = options;
  return startWsecho(INSTANCE_COMMAND, [
    "--hostname",
    "127.0.0.1",
    "--port",
    String(port),
    "--no-welcome",
    "--max-connections-per-ip",
    "0",
    ...(broker === "" ? [] : ["--broker", broker]),
    ...args,
  ], { timeoutMs, ...rest });
}

/** A JSON frame from the server. */
// deno-lint-ignore no-explicit-any
export type Frame = Record<string, any>;

/** A `wsecho.v1` client that keeps every frame it gets. */
export class JsonClient {
  /** The socket. */
  readonly socket: WebSocket;
  /** `message` frames (broadcasts from others), in order. */
  readonly messages: Frame[] = [];
  /** Replies and other frames, in order. */
  readonly replies: Frame[] = [];
  readonly #waiting = new Map<string | number, (frame: Frame) => void>();
  #nextId = 1;
  #closed: Promise<CloseEvent>;
  /** Called on every `message` frame. */
  onMessage: ((frame: Frame) => void) | undefined;

  /**
   * Wraps an open socket; use {@linkcode JsonClient.open}.
   *
   * @param socket The socket, open.
   */
  constructor(socket: WebSocket) {
    this.socket = socket;
    const { promise, resolve } = Promise.withResolvers<CloseEvent>();
    this.#closed = promise;
    socket.addEventListener("close", resolve);
    socket.addEventListener("message", (event) => {
      const frame = JSON.parse(String(event.data)) as Frame;
      if (frame.type === "message") {
        this.messages.push(frame);
        this.onMessage?.(frame);
        return;
      }
      this.replies.push(frame);
      if (frame.id !== undefined) {
        const waiter = this.#waiting.get(frame.id);
        this.#waiting.delete(frame.id);
        waiter?.(frame);
      }
    });
  }

  /**
   * Connects with `wsecho.v1`.
   *
   * @param url `ws://…/ws`.
   * @param timeoutMs How long to wait for the handshake.
   * @returns The client.
   */
  static async open(url: string, timeoutMs = 10_000): Promise<JsonClient> {
    const socket = new WebSocket(url, "wsecho.v1");
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    const timer = setTimeout(
      () => reject(new Error(`No open within ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.addEventListener("open", () => resolve(), { once: true });
    socket.addEventListener(
      "error",
      () => reject(new Error(`Cannot connect to ${url}`)),
      { once: true },
    );
    try {
      await promise;
    } catch (error) {
      socket.close();
      throw error;
    } finally {
      clearTimeout(timer);
    }
    return new JsonClient(socket);
  }

  /**
   * Sends a request and waits for the reply with its id.
   *
   * @param request The request without `id`.
   * @param timeoutMs How long to wait.
   * @returns The reply.
   */
  request(request: Frame, timeoutMs = 10_000): Promise<Frame> {
    const id = this.#nextId++;
    const { promise, resolve, reject } = Promise.withResolvers<Frame>();
    const timer = setTimeout(() => {
      this.#waiting.delete(id);
      reject(
        new Error(
          `No reply to ${JSON.stringify(request)} within ${timeoutMs} ms`,
        ),
      );
    }, timeoutMs);
    this.#waiting.set(id, (frame) => {
      clearTimeout(timer);
      resolve(frame);
    });
    this.socket.send(JSON.stringify({ ...request, id }));
    return promise;
  }

  /**
   * Sends a request without waiting.
   *
   * @param request The request.
   */
  send(request: Frame): void {
    this.socket.send(JSON.stringify(request));
  }

  /**
   * Closes and waits for the close event.
   *
   * @returns The close event.
   */
  close(): Promise<CloseEvent> {
    if (this.socket.readyState < WebSocket.CLOSING) this.socket.close();
    return this.#closed;
  }

  /** Resolves when the socket has closed, however. */
  get closed(): Promise<CloseEvent> {
    return this.#closed;
  }
}

/**
 * Opens many clients, a bounded number at a time.
 *
 * @param urls The URL of each client.
 * @param concurrency Handshakes at once.
 * @returns The clients, in order.
 */
export async function openMany(
  urls: readonly string[],
  concurrency = 50,
): Promise<JsonClient[]> {
  const clients: JsonClient[] = new Array(urls.length);
  let next = 0;
  const opened: JsonClient[] = [];
  try {
    await Promise.all(
      Array.from({ length: Math.min(concurrency, urls.length) }, async () => {
        while (next < urls.length) {
          const i = next++;
          const client = await JsonClient.open(urls[i]!);
          opened.push(client);
          clients[i] = client;
        }
      }),
    );
  } catch (error) {
    await Promise.all(opened.map((c) => c.close()));
    throw error;
  }
  return clients;
}

/**
 * Runs requests on many clients, a bounded number at a time.
 *
 * @param clients The clients.
 * @param request What each sends.
 * @param concurrency Requests in flight at once.
 * @returns The replies, in order.
 */
export async function requestMany(
  clients: readonly JsonClient[],
  request: (client: JsonClient, index: number) => Frame,
  concurrency = 100,
): Promise<Frame[]> {
  const replies: Frame[] = new Array(clients.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, clients.length) }, async () => {
      while (next < clients.length) {
        const i = next++;
        replies[i] = await clients[i]!.request(request(clients[i]!, i));
      }
    }),
  );
  return replies;
}

/**
 * Waits until a check passes, polling, or throws after the timeout.
 *
 * @param check Returns `true` (or a truthy promise) when done.
 * @param what Says what was awaited, for the error.
 * @param timeoutMs How long to wait.
 * @param intervalMs How often to check.
 */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
  intervalMs = 50,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * Reads `/healthz` of an instance.
 *
 * @param instance The instance.
 * @returns The parsed body.
 */
export async function health(instance: WsechoProcess): Promise<Frame> {
  const response = await fetch(`${instance.http}/healthz`);
  return await response.json() as Frame;
}

/**
 * Reads one sample of `/metrics` of an instance.
 *
 * @param instance The instance.
 * @param name The sample's name with its labels, as printed.
 * @returns Its value, or `undefined` when absent.
 */
export async function metric(
  instance: WsechoProcess,
  name: string,
): Promise<number | undefined> {
  const text = await (await fetch(`${instance.http}/metrics`)).text();
  for (const line of text.split("\n")) {
    if (line.startsWith(`${name} `)) return Number(line.slice(name.length + 1));
  }
  return undefined;
}
