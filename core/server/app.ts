/**
 * The chat server's HTTP face: `/healthz` and `/metrics` on Hono, and the two WebSocket
 * endpoints, `/ws` (clients) and `/peer` (other servers), as upgrade routes for the
 * listener (`core/ws/http_listener.ts`). Glue only: client sockets become connections of the
 * {@linkcode ChatServer} (`ws_conn.ts`), peer sockets go to the {@linkcode WsMesh}.
 *
 * @module
 */

import { Hono } from "hono";
import type { ChatServer } from "./chat_server.ts";
import type { WsMesh } from "../mesh/ws_mesh.ts";
import { adoptWebSocket } from "./ws_conn.ts";
import { LIMITS } from "../protocol/limits.ts";
import type { UpgradeAnswer } from "../ws/http_listener.ts";

/** Live numbers and state the app reports. */
export interface AppGauges {
  lagMs(): number;
  /** False while the server is still setting up (it answers 503 meanwhile). */
  ready(): boolean;
}

/** A chat server's routes: plain HTTP on Hono, and the WebSocket upgrades. */
export interface ServerRoutes {
  readonly app: Hono;
  upgrade(path: string, remote: Deno.NetAddr): UpgradeAnswer;
}

/** Builds the routes of a chat server. */
export function createServerApp(chat: ChatServer, mesh: WsMesh, gauges: AppGauges): ServerRoutes {
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
  // Reached without an Upgrade header (an upgrade never gets here).
  for (const path of ["/ws", "/peer"]) {
    app.get(
      path,
      (c) =>
        c.json({ error: "upgrade_required", message: "Connect with a WebSocket" }, 426, {
          upgrade: "websocket",
        }),
    );
  }
  app.notFound((c) => c.json({ error: "not_found", message: `No route ${c.req.path}` }, 404));
  app.onError((err, c) => {
    console.error(err);
    return c.json({ error: "internal", message: "The server failed" }, 500);
  });

  const upgrade = (path: string, remote: Deno.NetAddr): UpgradeAnswer => {
    if (path === "/ws") {
      if (!gauges.ready()) {
        return Response.json(
          { error: "starting", message: "The server is starting; try again" },
          { status: 503 },
        );
      }
      return {
        // Until login, only small frames: nobody unknown makes the server hold much.
        maxMessageBytes: LIMITS.loginFrameBytes,
        accept: (socket) => void adoptWebSocket(socket, remote.hostname, chat),
      };
    }
    if (path === "/peer") {
      return {
        // The dialer sends only its handshake on this link (see ws_mesh.ts).
        maxMessageBytes: LIMITS.loginFrameBytes,
        accept: (socket) => mesh.accept(socket),
      };
    }
    return Response.json({ error: "not_found", message: `No route ${path}` }, { status: 404 });
  };
  return { app, upgrade };
}
