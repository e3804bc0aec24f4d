import assert from "node:assert/strict";
import { utf8Length } from "../src/core/utf8_length.ts";

Deno.test("utf8Length() matches TextEncoder for every kind of character", () => {
  const samples = [
    "",
    "abc",
    "é",
    "€",
    "😀",
    "a😀b€c\u0000",
    "\ud800",
    "x\udc00y",
    "日本語テキスト",
  ];
  for (const text of samples) {
    assert.equal(
      utf8Length(text),
      new TextEncoder().encode(text).length,
      JSON.stringify(text),
    );
  }
});
