import assert from "node:assert/strict";
import { newConnectionId } from "../src/core/connection.ts";

Deno.test("newConnectionId() makes distinct 12-hex-digit ids across pool refills", () => {
  const ids = new Set<string>();
  // 3,000 ids span three refills of the 1,024-id random pool.
  for (let i = 0; i < 3_000; i++) {
    const id = newConnectionId();
    assert.match(id, /^[0-9a-f]{12}$/);
    ids.add(id);
  }
  assert.equal(ids.size, 3_000);
});
