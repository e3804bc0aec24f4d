/**
 * Tests of `src/client/handshake_probe.ts`: reading a refused handshake.
 * The probe itself runs over real sockets in `connect_test.ts`.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  parseAnswer,
  probeHandshake,
  statusFromError,
} from "../src/client/handshake_probe.ts";
import { freePort } from "./wsecho_process.ts";

Deno.test("parseAnswer() reads the status, Retry-After and the first body line", () => {
  assert.deepEqual(
    parseAnswer(
      "HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\n" +
        "Retry-After: 5\r\ncontent-length: 40\r\n\r\n\nToo many connections\nmore",
    ),
    {
      kind: "status",
      status: 503,
      statusText: "Service Unavailable",
      bodyLine: "Too many connections",
      retryAfter: "5",
    },
  );
});

Deno.test("parseAnswer() skips a chunk size line and copes with no body", () => {
  assert.deepEqual(
    parseAnswer(
      "HTTP/1.1 403 Forbidden\r\ntransfer-encoding: chunked\r\n\r\n" +
        "1d\r\nForbidden: origin not allowed\r\n0\r\n\r\n",
    ),
    {
      kind: "status",
      status: 403,
      statusText: "Forbidden",
      bodyLine: "Forbidden: origin not allowed",
    },
  );
  assert.deepEqual(parseAnswer("HTTP/1.1 404 \r\ncontent-length: 0\r\n\r\n"), {
    kind: "status",
    status: 404,
    statusText: "",
    bodyLine: "",
  });
});

Deno.test("parseAnswer() says when there is no HTTP answer", () => {
  assert.deepEqual(parseAnswer(""), {
    kind: "unknown",
    message: "the server closed the connection without an answer",
  });
  assert.equal(parseAnswer("SSH-2.0-OpenSSH\r\n").kind, "unknown");
});

Deno.test("statusFromError() reads Deno's refused-handshake message", () => {
  assert.equal(
    statusFromError(
      "NetworkError: failed to connect to WebSocket: Invalid status code: 503",
    ),
    503,
  );
  assert.equal(
    statusFromError("failed to connect: tcp connect error"),
    undefined,
  );
});

Deno.test("probeHandshake() names why a closed port cannot be reached", async () => {
  const result = await probeHandshake(`ws://127.0.0.1:${freePort()}/`);
  assert.equal(result.kind, "unreachable");
  assert.ok(result.kind === "unreachable");
  assert.match(result.message, /refused/i);
});
