/**
 * The runtime's ceiling: the plainest `Deno.serve` + `Deno.upgradeWebSocket`
 * echo. Usage: `deno run --allow-net bench/baseline_server.ts --port N`.
 *
 * @module
 */
const port = Number(Deno.args[Deno.args.indexOf("--port") + 1] ?? 8081);
Deno.serve({ hostname: "127.0.0.1", port, onListen() {} }, (request) => {
  if (request.headers.get("upgrade") !== "websocket") return new Response("ok");
  const { socket, response } = Deno.upgradeWebSocket(request);
  socket.onmessage = (event) => socket.send(event.data);
  return response;
});
