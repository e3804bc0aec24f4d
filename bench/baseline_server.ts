/**
 * The runtime's ceiling: the plainest `Deno.serve` + `Deno.upgradeWebSocket`
 * echo. Usage: `deno run --allow-net bench/baseline_server.ts --port N`.
 *
 * Binary frames arrive as `ArrayBuffer`, as in wsecho: echoing 16 KiB binary
 * frames costs the server about 5% less CPU than with the default `"blob"`
 * (median of 5 alternating rounds, 20.0 vs 21.0 µs per round trip), so this is
 * the faster, honest ceiling. Both echo byte for byte.
 *
 * @module
 */
const port = Number(Deno.args[Deno.args.indexOf("--port") + 1] ?? 8081);
Deno.serve({ hostname: "127.0.0.1", port, onListen() {} }, (request) => {
  if (request.headers.get("upgrade") !== "websocket") return new Response("ok");
  const { socket, response } = Deno.upgradeWebSocket(request);
  socket.binaryType = "arraybuffer";
  socket.onmessage = (event) => socket.send(event.data);
  return response;
});
