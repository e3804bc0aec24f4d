import assert from "node:assert/strict";
import { selectProtocol } from "../src/session/subprotocol.ts";

Deno.test("selectProtocol() picks the first offered protocol the server supports", () => {
  const supported = ["wsecho.v1", "wsecho.v2"];
  assert.equal(selectProtocol(null, supported), "");
  assert.equal(selectProtocol("", supported), "");
  assert.equal(selectProtocol("chat", supported), "");
  assert.equal(selectProtocol("wsecho.v1", supported), "wsecho.v1");
  assert.equal(
    selectProtocol("chat, wsecho.v2,wsecho.v1", supported),
    "wsecho.v2",
  );
  assert.equal(selectProtocol("WSECHO.V1", supported), "");
});
