import assert from "node:assert/strict";
import {
  formatLabParams,
  HTTP_LAB_PARAMS,
  isLabCloseCode,
  type LabParams,
  parseLabQuery,
  WS_LAB_PARAMS,
} from "../src/protocol/lab_params.ts";

function params(url: string, maxEmitRate = 10_000): LabParams {
  const result = parseLabQuery(url, { maxEmitRate, maxMessageSize: 1024 });
  assert.ok(result.ok, result.ok ? "" : result.message);
  assert.ok(result.params, `no lab parameters found in ${url}`);
  return result.params;
}

function refusal(
  url: string,
  options = {},
): { status: number; message: string } {
  const result = parseLabQuery(url, { maxMessageSize: 1024, ...options });
  assert.ok(!result.ok, `${url} was accepted`);
  return result;
}

Deno.test("parseLabQuery() finds no lab without a query or lab parameter", () => {
  for (
    const url of [
      "http://h/ws",
      "http://h/ws?",
      "http://h/ws?welcome=0",
      "http://h/ws?utm_source=x&foo=bar",
      "http://h/ws#delay=5",
    ]
  ) {
    const result = parseLabQuery(url);
    assert.deepEqual(result, { ok: true, params: undefined }, url);
  }
});

Deno.test("parseLabQuery() reads every parameter", () => {
  const p = params(
    "http://h/ws?delay=100&jitter=20&drop=0.25&seed=7&close_after=5&close_in=3000" +
      "&close_code=4000&close_reason=bye%20now&status=429&retry_after=30" +
      "&subprotocol=none&emit=50&rate=200&size=128&binary=1&other=ignored",
  );
  assert.equal(p.delay, 100);
  assert.equal(p.jitter, 20);
  assert.equal(p.drop, 0.25);
  assert.equal(p.seed, 7);
  assert.equal(p.closeAfter, 5);
  assert.equal(p.closeIn, 3000);
  assert.equal(p.closeCode, 4000);
  assert.equal(p.closeReason, "bye now");
  assert.equal(p.status, 429);
  assert.equal(p.retryAfter, 30);
  assert.equal(p.subprotocolNone, true);
  assert.equal(p.emit, 50);
  assert.equal(p.rate, 200);
  assert.equal(p.size, 128);
  assert.equal(p.binary, true);
  assert.deepEqual(p.names, WS_LAB_PARAMS);
  assert.equal(
    formatLabParams(p),
    "delay=100&jitter=20&drop=0.25&seed=7&close_after=5&close_in=3000&close_code=4000" +
      "&close_reason=bye%20now&status=429&retry_after=30&subprotocol=none&emit=50" +
      "&rate=200&size=128&binary=1",
  );
});

Deno.test("parseLabQuery() fills in defaults", () => {
  const p = params("http://h/ws?emit=3");
  assert.equal(p.rate, 10);
  assert.equal(p.size, 64);
  assert.equal(p.binary, false);
  assert.equal(p.closeCode, 1000);
  assert.equal(p.closeReason, undefined);
  assert.equal(p.delay, 0);
  assert.equal(p.seed, undefined);
  assert.equal(p.retryAfter, undefined);
  assert.deepEqual(p.names, ["emit"]);
});

Deno.test("parseLabQuery() takes the first of a repeated parameter", () => {
  assert.equal(params("http://h/ws?delay=5&delay=9").delay, 5);
});

Deno.test("parseLabQuery() accepts the edges of every range", () => {
  assert.equal(params("http://h/ws?delay=0").delay, 0);
  assert.equal(params("http://h/ws?delay=60000").delay, 60000);
  assert.equal(params("http://h/ws?jitter=60000").jitter, 60000);
  assert.equal(params("http://h/ws?drop=0").drop, 0);
  assert.equal(params("http://h/ws?drop=1").drop, 1);
  assert.equal(params("http://h/ws?drop=.5").drop, 0.5);
  assert.equal(params("http://h/ws?seed=0").seed, 0);
  assert.equal(params("http://h/ws?seed=4294967295").seed, 4294967295);
  assert.equal(params("http://h/ws?close_after=1").closeAfter, 1);
  assert.equal(params("http://h/ws?close_in=1").closeIn, 1);
  for (const code of [1000, 1001, 1003, 1007, 1011, 1014, 3000, 4999]) {
    assert.equal(params(`http://h/ws?close_code=${code}`).closeCode, code);
  }
  assert.equal(
    params(`http://h/ws?close_reason=${"é".repeat(61)}x`).closeReason?.length,
    62,
  );
  assert.equal(params("http://h/ws?status=400").status, 400);
  assert.equal(params("http://h/ws?status=599").status, 599);
  assert.equal(params("http://h/ws?retry_after=0").retryAfter, 0);
  assert.equal(params("http://h/ws?emit=1").emit, 1);
  assert.equal(params("http://h/ws?rate=1").rate, 1);
  assert.equal(params("http://h/ws?rate=500", 500).rate, 500);
  assert.equal(params("http://h/ws?size=32").size, 32);
  assert.equal(params("http://h/ws?size=1024").size, 1024);
  for (const word of ["", "1", "true", "YES", "on"]) {
    assert.equal(params(`http://h/ws?binary=${word}`).binary, true, word);
  }
  for (const word of ["0", "false", "no", "Off"]) {
    assert.equal(params(`http://h/ws?binary=${word}`).binary, false, word);
  }
});

Deno.test("parseLabQuery() refuses every bad value with 400 naming the parameter and range", () => {
  const cases: [string, string][] = [
    [
      "delay=-1",
      'Bad lab parameter "delay": "-1" is not an integer from 0 to 60000 (milliseconds)',
    ],
    [
      "delay=60001",
      'Bad lab parameter "delay": "60001" is not an integer from 0 to 60000 (milliseconds)',
    ],
    [
      "delay=1.5",
      'Bad lab parameter "delay": "1.5" is not an integer from 0 to 60000 (milliseconds)',
    ],
    [
      "delay=",
      'Bad lab parameter "delay": "" is not an integer from 0 to 60000 (milliseconds)',
    ],
    [
      "delay=abc",
      'Bad lab parameter "delay": "abc" is not an integer from 0 to 60000 (milliseconds)',
    ],
    [
      "jitter=60001",
      'Bad lab parameter "jitter": "60001" is not an integer from 0 to 60000 (milliseconds)',
    ],
    [
      "drop=1.01",
      'Bad lab parameter "drop": "1.01" is not a probability from 0 to 1 (for example 0.1)',
    ],
    [
      "drop=-0.1",
      'Bad lab parameter "drop": "-0.1" is not a probability from 0 to 1 (for example 0.1)',
    ],
    [
      "drop=half",
      'Bad lab parameter "drop": "half" is not a probability from 0 to 1 (for example 0.1)',
    ],
    [
      "seed=-1",
      'Bad lab parameter "seed": "-1" is not an integer from 0 to 4294967295 (an integer)',
    ],
    [
      "seed=4294967296",
      'Bad lab parameter "seed": "4294967296" is not an integer from 0 to 4294967295 (an integer)',
    ],
    [
      "close_after=0",
      'Bad lab parameter "close_after": "0" is not an integer from 1 to 1000000000 (echoes)',
    ],
    [
      "close_in=0",
      'Bad lab parameter "close_in": "0" is not an integer from 1 to 86400000 (milliseconds)',
    ],
    [
      "close_code=1002",
      'Bad lab parameter "close_code": "1002" is not a close code: 1000, 1001, 1003, 1007 to 1014, or 3000 to 4999',
    ],
    [
      "close_code=1005",
      'Bad lab parameter "close_code": "1005" is not a close code: 1000, 1001, 1003, 1007 to 1014, or 3000 to 4999',
    ],
    [
      "close_code=1015",
      'Bad lab parameter "close_code": "1015" is not a close code: 1000, 1001, 1003, 1007 to 1014, or 3000 to 4999',
    ],
    [
      "close_code=2999",
      'Bad lab parameter "close_code": "2999" is not a close code: 1000, 1001, 1003, 1007 to 1014, or 3000 to 4999',
    ],
    [
      "close_code=5000",
      'Bad lab parameter "close_code": "5000" is not a close code: 1000, 1001, 1003, 1007 to 1014, or 3000 to 4999',
    ],
    [
      "close_reason=" + "x".repeat(124),
      `Bad lab parameter "close_reason": "${
        "x".repeat(40)
      }…" is not a text of at most 123 UTF-8 bytes`,
    ],
    [
      "close_reason=" + "é".repeat(62),
      `Bad lab parameter "close_reason": "${
        "é".repeat(40)
      }…" is not a text of at most 123 UTF-8 bytes`,
    ],
    [
      "status=399",
      'Bad lab parameter "status": "399" is not an integer from 400 to 599 (an HTTP status)',
    ],
    [
      "status=600",
      'Bad lab parameter "status": "600" is not an integer from 400 to 599 (an HTTP status)',
    ],
    [
      "retry_after=-5",
      'Bad lab parameter "retry_after": "-5" is not an integer from 0 to 86400 (seconds)',
    ],
    [
      "subprotocol=wsecho.v1",
      'Bad lab parameter "subprotocol": "wsecho.v1" is not "none"',
    ],
    [
      "emit=0",
      'Bad lab parameter "emit": "0" is not an integer from 1 to 100000000 (messages)',
    ],
    [
      "rate=0",
      'Bad lab parameter "rate": "0" is not an integer from 1 to 10000 (messages a second (--max-emit-rate))',
    ],
    [
      "rate=10001",
      'Bad lab parameter "rate": "10001" is not an integer from 1 to 10000 (messages a second (--max-emit-rate))',
    ],
    [
      "size=31",
      'Bad lab parameter "size": "31" is not an integer from 32 to 1024 (bytes (--max-message-size))',
    ],
    [
      "size=1025",
      'Bad lab parameter "size": "1025" is not an integer from 32 to 1024 (bytes (--max-message-size))',
    ],
    [
      "binary=maybe",
      'Bad lab parameter "binary": "maybe" is not a boolean (1, 0, true, false, yes, no, on, off, or empty for true)',
    ],
  ];
  for (const [query, message] of cases) {
    const result = refusal(`http://h/ws?welcome=0&${query}`);
    assert.equal(result.status, 400, query);
    assert.equal(result.message, message, query);
    assert.ok(!result.message.includes("\n"), "one line");
  }
});

Deno.test("parseLabQuery() refuses every lab parameter with 403 when the lab is off", () => {
  for (const name of WS_LAB_PARAMS) {
    const result = refusal(`http://h/ws?${name}=1`, { enabled: false });
    assert.equal(result.status, 403);
    assert.equal(
      result.message,
      `The test lab is off on this server: parameter "${name}" is refused (started with --no-lab)`,
    );
  }
  // Off, a URL without lab parameters is still fine.
  assert.deepEqual(
    parseLabQuery("http://h/ws?welcome=0", { enabled: false }),
    { ok: true, params: undefined },
  );
});

Deno.test("parseLabQuery() with names reads only those", () => {
  const result = parseLabQuery("http://h/echo?emit=abc&status=503&drop=2", {
    names: HTTP_LAB_PARAMS,
  });
  assert.ok(result.ok && result.params);
  assert.equal(result.params.status, 503);
  assert.equal(result.params.emit, 0);
  assert.deepEqual(result.params.names, ["status"]);
});

Deno.test("isLabCloseCode() matches RFC 6455's sendable codes", () => {
  const allowed = [];
  for (let code = 0; code < 6000; code++) {
    if (isLabCloseCode(code)) allowed.push(code);
  }
  assert.equal(allowed.length, 3 + 8 + 2000);
  assert.ok(
    !isLabCloseCode(1002) && !isLabCloseCode(1004) && !isLabCloseCode(1006),
  );
});
