/**
 * The chat server's HTTP face, on Hono: `/ws` (clients), `/peer` (other servers),
 * `/healthz` and `/metrics`. WebSocket glue only: frames go to {@linkcode ChatServer} and
 * {@linkcode Mesh}, which call the protocol module.
 *
 * @module
 */

import { Hono } from "hono";
import type { ChatServer } from "./chat_server.ts";
import type { Mesh } from "./mesh.ts";

/** Live numbers the app reports. */
export interface AppGauges {
  lagMs(): number;
}

/** Builds the Hono app for a chat server. */
export function createServerApp(chat: ChatServer, mesh: Mesh, gauges: AppGauges): Hono {
  const app = new Hono();
  app.get("/healthz", (c) =>
    c.json({
      status: "ok",
      server_id: chat.id,
      clients: chat.clientCount,
      peer_links: mesh.readyLinks,
    }));
  app.get("/metrics", (c) => {
    const body = chat.metrics.render(chat.id, {
      clients: chat.clientCount,
      connections: chat.connectionCount,
      peerLinks: mesh.readyLinks,
      lagMs: gauges.lagMs(),
    });
    return c.body(body, 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
  });
  app.get("/ws", (c) => {
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
      return c.json({ error: "upgrade_required", message: "Connect with a WebSocket" }, 426);
    }
    const { socket, response } = Deno.upgradeWebSocket(c.req.raw, { idleTimeout: 60 });
    const info = (c.env as { remoteAddr?: Deno.NetAddr } | undefined)?.remoteAddr;
    chat.acceptClient(socket, info?.hostname ?? "unknown");
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
