/**
 * The chat server's HTTP face, on Hono: `/ws` (clients), `/peer` (other servers),
 * `/healthz` and `/metrics`. WebSocket glue only: client sockets become connections of the
 * {@linkcode ChatServer} (`ws_conn.ts`), peer sockets go to the {@linkcode WsMesh}.
 *
 * @module
 */

import { Hono } from "hono";
import type { ChatServer } from "./chat_server.ts";
import type { WsMesh } from "../mesh/ws_mesh.ts";
import { adoptWebSocket } from "./ws_conn.ts";

/** Live numbers and state the app reports. */
export interface AppGauges {
  lagMs(): number;
  /** False while the server is still setting up (it answers 503 meanwhile). */
  ready(): boolean;
}

/** Builds the Hono app for a chat server. */
export function createServerApp(chat: ChatServer, mesh: WsMesh, gauges: AppGauges): Hono {
  const app = new Hono();
  app.get("/healthz", (c) =>
    c.json({
      status: gauges.ready() ? "ok" : "starting",
      server_id: chat.id,
      clients: chat.clientCount,
      peer_links: mesh.upPeers().length,
    }, gauges.ready() ? 200 : 503));
  app.get("/metrics", (c) => {
    const body = chat.metrics.render(chat.id, {
      clients: chat.clientCount,
      connections: chat.connectionCount,
      peerLinks: mesh.upPeers().length,
      lagMs: gauges.lagMs(),
    });
    return c.body(body, 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
  });
  app.get("/ws", (c) => {
    if (!gauges.ready()) {
      return c.json({ error: "starting", message: "The server is starting; try again" }, 503);
    }
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
      return c.json({ error: "upgrade_required", message: "Connect with a WebSocket" }, 426);
    }
    const { socket, response } = Deno.upgradeWebSocket(c.req.raw, { idleTimeout: 60 });
    const info = (c.env as { remoteAddr?: Deno.NetAddr } | undefined)?.remoteAddr;
    adoptWebSocket(socket, info?.hostname ?? "unknown", chat);
    return response;
  });
  app.get("/peer", (c) => {
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
      return c.json({ error: "upgrade_required", message: "Connect with a WebSocket" }, 426);
    }
    const { socket, response } = Deno.upgradeWebSocket(c.req.raw, { idleTimeout: 60 });
    mesh.accept(socket);
    return response;
  });
  app.notFound((c) => c.json({ error: "not_found", message: `No route ${c.req.path}` }, 404));
  app.onError((err, c) => {
    console.error(err);
    return c.json({ error: "internal", message: "The server failed" }, 500);
  });
  return app;
}
