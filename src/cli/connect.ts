/**
 * `wsecho connect URL`: an interactive and scriptable WebSocket client.
 * Lines of stdin (or `--send` texts) go out as text messages, messages that
 * arrive are printed on stdout, and how the connection ended is said on
 * stderr and in the exit status.
 *
 * @module
 */
import { encodeBase64 } from "./_base64.ts";
import {
  parseFlags,
  readHeaders,
  readInteger,
  readUrl,
  UsageError,
} from "./_flags.ts";
import { isSendableCloseCode } from "../client/close_codes.ts";
import {
  type CloseInfo,
  runSession,
  type SessionEvent,
  type SessionResult,
} from "../client/session.ts";
import type { ProbeResult } from "../client/handshake_probe.ts";
import { printError, writeOut } from "./_output.ts";

const COMMAND = "wsecho connect";

const FLAGS = [
  { name: "help", short: "h", boolean: true },
  { name: "protocol", multiple: true },
  { name: "header", short: "H", multiple: true },
  { name: "origin" },
  { name: "send", short: "s", multiple: true },
  { name: "count", short: "n" },
  { name: "timeout" },
  { name: "close" },
  { name: "binary-as" },
  { name: "timestamps", short: "t", boolean: true },
] as const;

/** The `wsecho connect --help` page. */
export const CONNECT_HELP = `NAME
    wsecho connect - talk to a WebSocket server from the terminal or a script

SYNOPSIS
    wsecho connect [options] URL

DESCRIPTION
    Opens one WebSocket connection to URL (ws://, wss://; http:// and https://
    are read as ws:// and wss://). Each line of stdin is sent as one text
    message; with --send, the given texts are sent instead and stdin is not
    read. Every message received is printed on stdout, one per line: text as
    it is, binary as hex (or base64). What happens to the connection (open,
    close with its code and meaning, a refused handshake with its HTTP status
    and body, an unreachable host) is said on stderr, so stdout holds only
    what the server sent.

    The session ends when the input ends (end of stdin, or the last --send),
    or after --count messages, or when the server closes; the client then
    closes with --close CODE (1000). Ctrl-C ends it the same way.

OPTIONS
    --protocol P            offer subprotocol P; repeat for more (default: none)
    -H, --header "N: V"     add a request header; repeatable (default: none)
    --origin URL            send Origin: URL (default: none)
    -s, --send TEXT         send TEXT once open; repeatable, sent in order;
                            stdin is then not read (default: read stdin)
    -n, --count N           exit after N messages have arrived (default: 0,
                            no limit); the end of the input does not end it
    --timeout MS            give up after MS milliseconds and exit 1
                            (default: 0, no limit)
    --close CODE[:REASON]   close with CODE (1000 or 3000-4999) and REASON
                            when done (default: 1000)
    --binary-as hex|base64  how binary messages are printed (default: hex)
    -t, --timestamps        prefix each message with the UTC time and, for a
                            reply to a message sent (an identical echo, or
                            JSON with the same "id"), the round trip
    -h, --help              print this page and exit

EXIT STATUS
    0   the connection ended with 1000 or 1001, with the --close the client
        asked for, or after --count messages
    1   any other close code, a dropped connection (1006), a refused
        handshake, an unreachable host, or --timeout
    2   a bad flag or flag value

EXAMPLES
    wsecho connect ws://localhost:8080/ws
    echo hello | wsecho connect 'ws://localhost:8080/ws?welcome=0'
    wsecho connect ws://localhost:8080/ws --send ping --count 2 --timeout 5000
    wsecho connect ws://localhost:8080/ws --protocol wsecho.v1 \\
        --send '{"type":"ping","id":1}' --count 2 --timestamps
    wsecho connect wss://example.com/socket -H "Authorization: Bearer T" \\
        --origin https://example.com --close 4000:done`;

/** What `wsecho connect` was asked to do. */
export interface ConnectCommand {
  /** The URL. */
  url: string;
  /** Subprotocols to offer. */
  protocols: string[];
  /** Request headers, `Origin` among them. */
  headers: Record<string, string>;
  /** Texts to send instead of stdin; `undefined` reads stdin. */
  send: string[] | undefined;
  /** Messages to wait for; `0` for no limit. */
  count: number;
  /** Milliseconds before giving up; `0` for no limit. */
  timeoutMs: number;
  /** Close code when done. */
  closeCode: number;
  /** Close reason when done. */
  closeReason: string;
  /** How binary messages are printed. */
  binaryAs: "hex" | "base64";
  /** Prefix messages with times and round trips. */
  timestamps: boolean;
}

/**
 * Parses `wsecho connect`'s arguments.
 *
 * @param args The arguments after `connect`.
 * @returns The command, or `"help"`.
 * @throws {UsageError} For a bad flag or value.
 */
export function parseConnectArgs(
  args: readonly string[],
): ConnectCommand | "help" {
  const { values, positionals } = parseFlags(COMMAND, args, FLAGS);
  if (values.help === true) return "help";
  const url = readUrl(COMMAND, positionals);
  const binaryAs = values["binary-as"] ?? "hex";
  if (binaryAs !== "hex" && binaryAs !== "base64") {
    throw new UsageError(
      `${COMMAND}: invalid value for --binary-as: "${binaryAs}" is not hex or base64`,
    );
  }
  const [closeCode, closeReason] = readClose(values.close);
  return {
    url,
    protocols: (values.protocol as string[] | undefined) ?? [],
    headers: readHeaders(COMMAND, values.header, values.origin),
    send: values.send as string[] | undefined,
    count: readInteger(COMMAND, "--count", values.count, 0, 0, 1e12),
    timeoutMs: readInteger(COMMAND, "--timeout", values.timeout, 0, 0, 1e12),
    closeCode,
    closeReason,
    binaryAs,
    timestamps: values.timestamps === true,
  };
}

function readClose(raw: unknown): [number, string] {
  if (raw === undefined) return [1000, ""];
  const text = String(raw);
  const colon = text.indexOf(":");
  const codeText = colon < 0 ? text : text.slice(0, colon);
  const reason = colon < 0 ? "" : text.slice(colon + 1);
  const code = /^\d+$/.test(codeText) ? Number(codeText) : NaN;
  if (!isSendableCloseCode(code)) {
    throw new UsageError(
      `${COMMAND}: invalid value for --close: "${text}" needs a code of 1000 or 3000-4999`,
    );
  }
  if (new TextEncoder().encode(reason).length > 123) {
    throw new UsageError(
      `${COMMAND}: invalid value for --close: the reason is over 123 bytes`,
    );
  }
  return [code, reason];
}

/**
 * The exit status for how a session ended (see the EXIT STATUS of
 * {@linkcode CONNECT_HELP}).
 *
 * @param result How the session ended.
 * @returns 0 or 1.
 */
export function connectExitStatus(result: SessionResult): number {
  if (result.outcome !== "closed") return 1;
  if (result.countReached) return 0;
  const { code, by } = result.close;
  if (by === "client" && code !== 1006) return 0;
  return by === "server" && (code === 1000 || code === 1001) ? 0 : 1;
}

/**
 * Says in one line how a connection closed.
 *
 * @param close The close.
 * @returns Such as `closed by the server: 1011 (internal error), reason "boom"`.
 */
export function describeClose(close: CloseInfo): string {
  const who = close.by === "network"
    ? "connection dropped"
    : `closed by the ${close.by}`;
  const reason = close.reason === ""
    ? ""
    : `, reason ${JSON.stringify(close.reason)}`;
  return `${who}: ${close.code} (${close.meaning})${reason}`;
}

/**
 * Says in one line why a handshake failed.
 *
 * @param url The URL.
 * @param error What Deno's client said.
 * @param probe What the second look found.
 * @returns Such as `handshake refused: HTTP 503 Service Unavailable: Too many connections (Retry-After: 5)`.
 */
export function describeFailure(
  url: string,
  error: string,
  probe: ProbeResult,
): string {
  const target = new URL(url);
  switch (probe.kind) {
    case "status": {
      const body = probe.bodyLine === "" ? "" : `: ${probe.bodyLine}`;
      const retry = probe.retryAfter === undefined
        ? ""
        : ` (Retry-After: ${probe.retryAfter})`;
      return `handshake refused: HTTP ${probe.status}${
        probe.statusText ? ` ${probe.statusText}` : ""
      }${body}${retry}`;
    }
    case "unreachable":
      return `cannot reach ${target.host}: ${probe.message}`;
    case "unknown":
      return `handshake failed: ${
        error.replace(/^NetworkError: failed to connect to WebSocket: /, "")
      } (${probe.message})`;
  }
}

/**
 * Formats one received message for stdout.
 *
 * @param event The message event.
 * @param command How to print binary, and whether to add times.
 * @returns The line, without the newline.
 */
export function formatMessage(
  event: Extract<SessionEvent, { type: "message" }>,
  command: Pick<ConnectCommand, "binaryAs" | "timestamps">,
): string {
  const body = typeof event.data === "string"
    ? event.data
    : command.binaryAs === "base64"
    ? encodeBase64(event.data)
    : hex(event.data);
  if (!command.timestamps) return body;
  const time = new Date(event.at).toISOString().slice(11, 23);
  const rtt = event.rttMs === undefined
    ? ""
    : ` (rtt ${event.rttMs.toFixed(3)} ms)`;
  return `${time}${rtt} ${body}`;
}

function hex(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) out += byte.toString(16).padStart(2, "0");
  return out;
}

/**
 * Runs `wsecho connect`.
 *
 * @param args The arguments after `connect`.
 * @returns The exit status.
 */
export async function connectMain(args: readonly string[]): Promise<number> {
  let command: ConnectCommand | "help";
  try {
    command = parseConnectArgs(args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    printError(error.message);
    return 2;
  }
  if (command === "help") {
    writeOut(CONNECT_HELP + "\n");
    return 0;
  }
  const options = command;
  const controller = new AbortController();
  const stop = () => controller.abort();
  Deno.addSignalListener("SIGINT", stop);
  try {
    const result = await runSession(options.url, {
      protocols: options.protocols,
      headers: options.headers,
      ...(options.send === undefined
        ? { input: stdinLines() }
        : { send: options.send }),
      count: options.count,
      timeoutMs: options.timeoutMs,
      closeCode: options.closeCode,
      closeReason: options.closeReason,
      signal: controller.signal,
      onEvent: (event) => {
        if (event.type === "message") {
          writeOut(formatMessage(event, options) + "\n");
        } else if (event.type === "open") {
          const protocol = event.protocol === ""
            ? ""
            : ` (subprotocol ${event.protocol})`;
          printError(
            `connected to ${options.url}${protocol} in ${
              event.connectMs.toFixed(1)
            } ms`,
          );
        }
      },
    });
    printError(resultLine(options, result));
    return connectExitStatus(result);
  } finally {
    Deno.removeSignalListener("SIGINT", stop);
  }
}

function resultLine(command: ConnectCommand, result: SessionResult): string {
  switch (result.outcome) {
    case "closed":
      return describeClose(result.close) +
        (result.countReached ? ` after ${command.count} messages` : "");
    case "timeout":
      return `timed out after ${result.timeoutMs} ms (${result.received}${
        command.count > 0 ? ` of ${command.count}` : ""
      } messages received)`;
    case "failed":
      return describeFailure(command.url, result.error, result.probe);
  }
}

async function* stdinLines(): AsyncGenerator<string> {
  let pending = "";
  for await (
    const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())
  ) {
    pending += chunk;
    let newline = pending.indexOf("\n");
    while (newline >= 0) {
      yield pending.slice(0, newline).replace(/\r$/, "");
      pending = pending.slice(newline + 1);
      newline = pending.indexOf("\n");
    }
  }
  if (pending !== "") yield pending;
}
