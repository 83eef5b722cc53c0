/**
 * The baseline's echo server: a bare `Deno.serve` + `Deno.upgradeWebSocket` that sends every
 * WebSocket message straight back. It runs in a child process (`fastchat bench
 * --echo-server PORT`, a hidden mode) so it gets its own event loop like a chat server,
 * and shows the ceiling of raw WebSocket traffic on this machine for the same load.
 *
 * @module
 */

import { BENCH_HOST } from "./async_util.ts";

/**
 * Serves the echo on 127.0.0.1:`port` until `signal` aborts; `GET /` without an upgrade
 * answers 200 (the health check). Resolves once the listener is closed.
 */
export async function serveEcho(
  port: number,
  signal: AbortSignal,
  onListen: (port: number) => void = () => {},
): Promise<void> {
  const sockets = new Set<WebSocket>();
  const server = Deno.serve({
    hostname: BENCH_HOST,
    port,
    signal,
    onListen: (addr) => onListen(addr.port),
  }, (req) => {
    if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return new Response("ok\n");
    }
    const { socket, response } = Deno.upgradeWebSocket(req, { idleTimeout: 60 });
    sockets.add(socket);
    socket.onmessage = (ev) => {
      if (socket.readyState === WebSocket.OPEN) socket.send(ev.data);
    };
    socket.onclose = () => sockets.delete(socket);
    socket.onerror = () => {/* onclose follows */};
    return response;
  });
  signal.addEventListener("abort", () => {
    for (const s of sockets) s.close(1001, "Echo server stopping");
  }, { once: true });
  await server.finished;
}
