import assert from "node:assert/strict";
import { compileOriginPolicy } from "../src/session/origin.ts";

Deno.test("compileOriginPolicy() passes requests without Origin and same-origin pages", () => {
  const allowed = compileOriginPolicy([]);
  assert.equal(allowed(null, "localhost:8080"), true);
  assert.equal(allowed("http://localhost:8080", "localhost:8080"), true);
  assert.equal(allowed("https://LOCALHOST:8080/", "localhost:8080"), true);
  assert.equal(allowed("http://localhost:8081", "localhost:8080"), false);
  assert.equal(allowed("https://evil.example", "localhost:8080"), false);
  assert.equal(allowed("null", "localhost:8080"), false);
});

Deno.test("compileOriginPolicy() allows listed origins and subdomain patterns", () => {
  const allowed = compileOriginPolicy([
    "https://app.example.com",
    "https://*.example.org",
  ]);
  assert.equal(allowed("https://app.example.com", "h"), true);
  assert.equal(allowed("http://app.example.com", "h"), false);
  assert.equal(allowed("https://a.example.org", "h"), true);
  assert.equal(allowed("https://a.b.example.org", "h"), true);
  assert.equal(allowed("https://example.org", "h"), false);
  assert.equal(allowed("https://evil-example.org", "h"), false);
  assert.equal(allowed("https://a.example.org.evil.com", "h"), false);
  assert.equal(allowed("https://a.example.org:444", "h"), false);
});

Deno.test("compileOriginPolicy() allows everything with *", () => {
  assert.equal(
    compileOriginPolicy(["*"])("https://anything.example", "h"),
    true,
  );
});
