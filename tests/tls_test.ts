/**
 * TLS: `https://` and `wss://` with a certificate made in the test by
 * OpenSSL (a throwaway CA and a `localhost`/127.0.0.1 leaf signed by it).
 *
 * Deno's clients trust the CA through `Deno.createHttpClient({ caCerts })`:
 * `fetch` takes it as `client`, and so does `new WebSocket(url, { client })`
 * on Deno 2.9.6 (denoland/deno#30692), no unstable flag needed. The raw
 * client takes `caCerts` through `Deno.connectTls`.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  closeSocket,
  Inbox,
  startServer,
  type TestServer,
  waitFor,
} from "./test_utils.ts";
import { OPCODE, RawClient } from "./raw_client.ts";
import { startWsecho } from "./wsecho_process.ts";

const HAS_OPENSSL = (() => {
  try {
    return new Deno.Command("openssl", { args: ["version"], stdout: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
})();
if (!HAS_OPENSSL) {
  // deno-lint-ignore no-console
  console.warn(
    "Skipping the TLS tests: openssl not found (apt-get install openssl)",
  );
}

/** PEM text of a test CA and of a server certificate it signed. */
interface Certificates {
  ca: string;
  cert: string;
  key: string;
}

let generated: Promise<Certificates> | undefined;

/** Makes the certificates once per run, in a temp dir removed at once. */
function certificates(): Promise<Certificates> {
  generated ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "wsecho_tls_" });
    try {
      const run = async (...args: string[]) => {
        const { success, stderr } = await new Deno.Command("openssl", {
          args,
          cwd: dir,
          stdout: "null",
          stderr: "piped",
        }).output();
        if (!success) {
          throw new Error(
            `openssl ${args[0]} failed: ${new TextDecoder().decode(stderr)}`,
          );
        }
      };
      const ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
      ];
      await run(
        "req",
        "-x509",
        ...ec,
        "-keyout",
        "ca-key.pem",
        "-out",
        "ca.pem",
        "-days",
        "1",
        "-subj",
        "/CN=wsecho test CA",
      );
      await run(
        "req",
        ...ec,
        "-keyout",
        "key.pem",
        "-out",
        "leaf.csr",
        "-subj",
        "/CN=localhost",
      );
      // rustls refuses a CA certificate used as the server's own, so the
      // leaf is a separate, non-CA certificate.
      await Deno.writeTextFile(
        join(dir, "leaf.ext"),
        "basicConstraints=critical,CA:FALSE\n" +
          "keyUsage=critical,digitalSignature\n" +
          "extendedKeyUsage=serverAuth\n" +
          "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n",
      );
      await run(
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca-key.pem",
        "-CAcreateserial",
        "-out",
        "cert.pem",
        "-days",
        "1",
        "-extfile",
        "leaf.ext",
      );
      const read = (name: string) => Deno.readTextFile(join(dir, name));
      return {
        ca: await read("ca.pem"),
        cert: await read("cert.pem"),
        key: await read("key.pem"),
      };
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  })();
  return generated;
}

/** Opens a WebSocket that trusts the test CA, and waits for `open`. */
async function connectTrusting(
  url: string,
  client: Deno.HttpClient,
  protocols?: string,
): Promise<WebSocket> {
  const ws = new WebSocket(url, {
    client,
    ...(protocols ? { protocols: [protocols] } : {}),
  });
  ws.binaryType = "arraybuffer";
  const { promise, resolve, reject } = Promise.withResolvers<void>();
  ws.addEventListener("open", () => resolve(), { once: true });
  ws.addEventListener(
    "error",
    () => reject(new Error(`Cannot connect to ${url}`)),
    { once: true },
  );
  await promise;
  return ws;
}

async function assertWssEcho(
  ws: string,
  client: Deno.HttpClient,
): Promise<void> {
  const socket = await connectTrusting(`${ws}?welcome=0`, client);
  try {
    const inbox = new Inbox(socket);
    socket.send("over tls");
    assert.equal(await inbox.next(), "over tls");
    const bytes = crypto.getRandomValues(new Uint8Array(65_536));
    socket.send(bytes);
    assert.deepEqual(new Uint8Array(await inbox.next() as ArrayBuffer), bytes);
  } finally {
    await closeSocket(socket);
  }
}

async function startTls(): Promise<
  { ts: TestServer; client: Deno.HttpClient; ca: string }
> {
  const { ca, cert, key } = await certificates();
  return {
    ts: startServer({ cert, key }),
    client: Deno.createHttpClient({ caCerts: [ca] }),
    ca,
  };
}

Deno.test({
  name: "TLS: wss:// echoes text and binary for a WebSocket that trusts the CA",
  ignore: !HAS_OPENSSL,
  async fn() {
    const { ts, client } = await startTls();
    try {
      assert.match(ts.ws, /^wss:\/\/127\.0\.0\.1:\d+\/ws$/);
      await assertWssEcho(ts.ws, client);
      const json = await connectTrusting(
        `${ts.ws}?welcome=0`,
        client,
        "wsecho.v1",
      );
      try {
        assert.equal(json.protocol, "wsecho.v1");
        const inbox = new Inbox(json);
        json.send(JSON.stringify({ type: "echo", id: 1, data: "tls" }));
        assert.deepEqual(await inbox.json(), {
          type: "echo",
          id: 1,
          data: "tls",
        });
      } finally {
        await closeSocket(json);
      }
      await waitFor(() => ts.server.state.registry.size === 0, "cleanup");
    } finally {
      client.close();
      await ts.stop();
    }
  },
});

Deno.test({
  name: "TLS: the playground page and /healthz are served over https://",
  ignore: !HAS_OPENSSL,
  async fn() {
    const { ts, client } = await startTls();
    try {
      assert.match(ts.http, /^https:\/\//);
      const page = await fetch(`${ts.http}/client`, { client });
      assert.equal(page.status, 200);
      assert.equal(
        page.headers.get("content-type"),
        "text/html; charset=utf-8",
      );
      assert.match(await page.text(), /<html/i);
      const health = await fetch(`${ts.http}/healthz`, { client });
      assert.equal((await health.json()).status, "ok");
      assert.match(
        page.headers.get("content-security-policy") ?? "",
        /connect-src 'self' ws: wss:/,
        "the page may open wss:// sockets",
      );
    } finally {
      client.close();
      await ts.stop();
    }
  },
});

Deno.test({
  name:
    "TLS: a raw client over Deno.connectTls completes the handshake, echoes, and a broken frame only drops that connection",
  ignore: !HAS_OPENSSL,
  async fn() {
    const { ts, client, ca } = await startTls();
    const port = ts.server.addr.port;
    try {
      await using raw = await RawClient.open({ port, caCerts: [ca] });
      await raw.send({ opcode: OPCODE.TEXT, payload: "raw tls" });
      const frame = await raw.readFrame();
      assert.ok(typeof frame === "object");
      assert.equal(new TextDecoder().decode(frame.payload), "raw tls");
      assert.deepEqual(await raw.closeHandshake(), {
        kind: "close",
        code: 1000,
        reason: "",
      });

      await using broken = await RawClient.open({ port, caCerts: [ca] });
      await broken.send({ opcode: OPCODE.TEXT, payload: "x", rsv: 4 });
      assert.equal(await broken.readFrame(), "dropped");
      await waitFor(() => ts.server.state.registry.size === 0, "cleanup");
      await assertWssEcho(ts.ws, client);
    } finally {
      client.close();
      await ts.stop();
    }
  },
});

Deno.test({
  name:
    "TLS: clients that do not trust the certificate or skip TLS are refused, and the server carries on",
  ignore: !HAS_OPENSSL,
  async fn() {
    const { ts, client } = await startTls();
    try {
      await assert.rejects(() => fetch(`${ts.http}/healthz`), TypeError);
      const untrusted = new WebSocket(ts.ws);
      const closed = Promise.withResolvers<void>();
      let failed = false;
      untrusted.addEventListener("error", () => failed = true);
      untrusted.addEventListener("close", () => closed.resolve());
      await closed.promise;
      assert.ok(failed, "the untrusted WebSocket fires error");

      // Plain HTTP on the TLS port: the TLS handshake fails, nothing else.
      await using plain = await RawClient.connect({
        port: ts.server.addr.port,
      });
      await assert.rejects(() => plain.handshake({ timeoutMs: 2_000 }));
      assert.equal(ts.server.state.registry.size, 0);
      await assertWssEcho(ts.ws, client);
    } finally {
      client.close();
      await ts.stop();
    }
  },
});

Deno.test({
  name:
    "main.ts: --cert and --key file paths serve https:// and wss:// with --allow-read of those files only",
  ignore: !HAS_OPENSSL,
  async fn() {
    const { ca, cert, key } = await certificates();
    const dir = await Deno.makeTempDir({ prefix: "wsecho_main_tls_" });
    const client = Deno.createHttpClient({ caCerts: [ca] });
    try {
      const certPath = join(dir, "cert.pem");
      const keyPath = join(dir, "key.pem");
      await Deno.writeTextFile(certPath, cert);
      await Deno.writeTextFile(keyPath, key);
      const child = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--allow-net=127.0.0.1",
          `--allow-read=${certPath},${keyPath}`,
          "main.ts",
          "--hostname=127.0.0.1",
          "--port=0",
          `--cert=${certPath}`,
          `--key=${keyPath}`,
        ],
        cwd: fileURLToPath(new URL("..", import.meta.url)),
        env: { NO_COLOR: "1" },
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).spawn();
      const lines = child.stderr.pipeThrough(new TextDecoderStream())
        .pipeThrough(splitLines()).getReader();
      const log: string[] = [];
      try {
        const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
        let port: number | undefined;
        while (port === undefined) {
          const { value, done } = await lines.read();
          if (done) break;
          log.push(value);
          const match = /listening on 127\.0\.0\.1:(\d+): https:\/\/.*wss:\/\//
            .exec(value);
          if (match) port = Number(match[1]);
        }
        clearTimeout(timer);
        assert.ok(
          port !== undefined,
          `no listening line in:\n${log.join("\n")}`,
        );
        const health = await fetch(`https://127.0.0.1:${port}/healthz`, {
          client,
        });
        assert.equal((await health.json()).status, "ok");
        await assertWssEcho(`wss://127.0.0.1:${port}/ws`, client);
      } finally {
        child.kill("SIGTERM");
        while (true) {
          const { value, done } = await lines.read();
          if (done) break;
          log.push(value);
        }
        const status = await child.status;
        assert.equal(status.code, 0, log.join("\n"));
      }
      assert.ok(
        log.some((line) => line.includes("shutting down")),
        log.join("\n"),
      );
    } finally {
      client.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** Splits a text stream into lines. */
function splitLines(): TransformStream<string, string> {
  let rest = "";
  return new TransformStream({
    transform(chunk, controller) {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop()!;
      for (const part of parts) controller.enqueue(part);
    },
    flush(controller) {
      if (rest) controller.enqueue(rest);
    },
  });
}

Deno.test({
  name: "deno task start:tls serves https:// from tls/cert.pem and tls/key.pem",
  ignore: !HAS_OPENSSL,
  async fn() {
    const root = fileURLToPath(new URL("..", import.meta.url));
    const dir = join(root, "tls");
    // Never overwrite a user's own certificate.
    const existed = await Deno.stat(dir).then(() => true, () => false);
    if (existed) {
      throw new Error(`${dir} exists: move it away to run this test`);
    }
    const { ca, cert, key } = await certificates();
    const client = Deno.createHttpClient({ caCerts: [ca] });
    await Deno.mkdir(dir);
    try {
      await Deno.writeTextFile(join(dir, "cert.pem"), cert);
      await Deno.writeTextFile(join(dir, "key.pem"), key);
      await using server = await startWsecho(
        [Deno.execPath(), "task", "start:tls"],
        ["--hostname", "127.0.0.1", "--port", "0"],
        { cwd: root, timeoutMs: 60_000 },
      );
      assert.match(server.stderr, /https:\/\/127\.0\.0\.1:\d+\/client/);
      const health = await fetch(`https://127.0.0.1:${server.port}/healthz`, {
        client,
      });
      assert.equal((await health.json()).status, "ok");
      await assertWssEcho(`wss://127.0.0.1:${server.port}/ws`, client);
      const { code } = await server.stop();
      assert.equal(code, 0);
    } finally {
      client.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
