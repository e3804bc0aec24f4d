/**
 * Tests of `src/client/close_codes.ts`: close codes in words.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  closeCodeMeaning,
  isSendableCloseCode,
  normalizeCloseCode,
} from "../src/client/close_codes.ts";

Deno.test("closeCodeMeaning() names the RFC 6455 and IANA codes", () => {
  assert.equal(closeCodeMeaning(1000), "normal closure");
  assert.equal(closeCodeMeaning(1001), "going away");
  assert.equal(closeCodeMeaning(1008), "policy violation");
  assert.equal(closeCodeMeaning(1009), "message too big");
  assert.equal(closeCodeMeaning(1011), "internal error");
  assert.equal(closeCodeMeaning(1013), "try again later");
  assert.match(closeCodeMeaning(1006), /^abnormal closure/);
});

Deno.test("closeCodeMeaning() reads Deno's 0 as 1006", () => {
  assert.equal(normalizeCloseCode(0), 1006);
  assert.equal(normalizeCloseCode(1000), 1000);
  assert.equal(closeCodeMeaning(0), closeCodeMeaning(1006));
});

Deno.test("closeCodeMeaning() describes the ranges", () => {
  assert.equal(
    closeCodeMeaning(4000),
    "application-defined (4000-4999, private use)",
  );
  assert.equal(
    closeCodeMeaning(4999),
    "application-defined (4000-4999, private use)",
  );
  assert.match(closeCodeMeaning(3000), /libraries and frameworks/);
  assert.match(closeCodeMeaning(2000), /reserved/);
  assert.equal(closeCodeMeaning(999), "not a valid close code");
  assert.equal(closeCodeMeaning(5000), "not a valid close code");
});

Deno.test("isSendableCloseCode() accepts what WebSocket.close() accepts", () => {
  for (const code of [1000, 3000, 4000, 4999]) {
    assert.ok(isSendableCloseCode(code), String(code));
  }
  for (const code of [0, 999, 1001, 1005, 1006, 1011, 2999, 5000, NaN]) {
    assert.ok(!isSendableCloseCode(code), String(code));
  }
});
