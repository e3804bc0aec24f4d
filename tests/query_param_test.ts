import assert from "node:assert/strict";
import { queryParam } from "../src/session/query_param.ts";

const BASE = "ws://127.0.0.1:8080/ws";

Deno.test("queryParam() agrees with URLSearchParams#get", () => {
  const queries = [
    "",
    "?",
    "?welcome=0",
    "?welcome",
    "?welcome=",
    "?a=1&welcome=no&b=2",
    "?welcome=1&welcome=0",
    "?welcomes=0",
    "?xwelcome=0&welcome=off",
    "?a&&welcome=yes&",
    "?welcome=0=1",
    "?wel%63ome=false",
    "?welcome=o%66f",
    "?welcome=+0",
    "?welcome=0#frag",
    "?a=1#welcome=0",
  ];
  for (const query of queries) {
    const url = BASE + query;
    const expected = new URLSearchParams(new URL(url).search).get("welcome");
    assert.equal(queryParam(url, "welcome"), expected, query);
  }
});

Deno.test("queryParam() answers null without a query", () => {
  assert.equal(queryParam(BASE, "welcome"), null);
});
