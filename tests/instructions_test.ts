/**
 * Tests of the bench's `instructions` scenario (`bench/_instructions.ts`):
 * the parsers of what callgrind and strace write, on their real output.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  parseCallgrindTotal,
  parseStraceCounts,
} from "../bench/_instructions.ts";

Deno.test("parseCallgrindTotal() reads the summary of a dump", () => {
  const dump = [
    "# callgrind format",
    "version: 1",
    "creator: callgrind-3.19.0",
    "pid: 4242",
    "cmd:  deno run --allow-net main.ts",
    "part: 1",
    "",
    "positions: instr",
    "events: Ir",
    "summary: 586857638",
    "",
    "fn=(1) 0x0000000001f56bd8",
    "0 12",
    "totals: 587083666",
  ].join("\n");
  assert.equal(parseCallgrindTotal(dump), 586_857_638);
  assert.equal(parseCallgrindTotal("events: Ir\ntotals: 12\n"), 12);
  assert.throws(() => parseCallgrindTotal("events: Ir\n"), /No summary line/);
});

Deno.test("parseStraceCounts() reads the calls of every row, with or without errors", () => {
  const table = `% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ----------------
 71.09    0.449347        4680        96        19 futex
 11.46    0.072433          12      6000           sendto
  2.45    0.015458           7      2141       141 accept4
  0.01    0.000045           3        12           getpid
------ ----------- ----------- --------- --------- ----------------
100.00    0.632126          25      8249       160 total
`;
  assert.deepEqual(parseStraceCounts(table), {
    futex: 96,
    sendto: 6000,
    accept4: 2141,
    getpid: 12,
  });
  assert.deepEqual(parseStraceCounts(""), {});
});
