/**
 * Server counters and gauges, rendered in the Prometheus text exposition format
 * (version 0.0.4) at `GET /metrics`.
 *
 * @module
 */

import type { BusyReason } from "./admission.ts";

/** The numbers a chat server exposes. */
export class ServerMetrics {
  /** Messages accepted from clients and persisted (not counting idempotent resends). */
  messagesStored = 0;
  /** Message copies pushed to recipients on this server or handed to a peer. */
  messagesRouted = 0;
  /** Deliveries acknowledged by recipients connected here. */
  messagesDelivered = 0;
  /** Idempotent resends answered with the original message ID. */
  duplicatesSuppressed = 0;
  /** Pending messages pushed again by the redelivery sweep. */
  redelivered = 0;
  /** Invalid frames received from clients. */
  invalidFrames = 0;
  /** Failed logins. */
  authFailures = 0;
  /** Requests refused with `rate_limited` (logins, resumes, registrations, sends). */
  rateLimited = 0;
  /** Frames that store a message refused with `busy` (admission control), in all and by reason. */
  busy = 0;
  readonly busyBy: Record<BusyReason, number> = { queue: 0, fair_share: 0, lag: 0, outbound: 0 };
  /** Deliveries not stored because their recipient had too much waiting. */
  recipientFull = 0;
  /** Pending deliveries dropped because they waited longer than the expiry. */
  deliveriesExpired = 0;
  /** WebSocket upgrades refused (403) because their `Origin` is not allowed. */
  originRefused = 0;
  /** Storage batches committed (group commit) and the messages in them. */
  storeBatches = 0;
  storeBatchMessages = 0;

  /** Renders every metric; gauges are read through the callbacks at scrape time. */
  render(
    serverId: number,
    gauges: { clients: number; connections: number; peerLinks: number; lagMs: number },
  ): string {
    const l = `{server="${serverId}"}`;
    const lines: string[] = [];
    const add = (name: string, type: "counter" | "gauge", help: string, value: number) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name}${l} ${value}`);
    };
    add("fastchat_connected_clients", "gauge", "Logged-in clients connected.", gauges.clients);
    add("fastchat_connections", "gauge", "Open client WebSocket connections.", gauges.connections);
    add("fastchat_peer_links", "gauge", "Authenticated links to peer servers.", gauges.peerLinks);
    add("fastchat_event_loop_lag_ms", "gauge", "Measured event-loop lag.", gauges.lagMs);
    add("fastchat_messages_stored_total", "counter", "Messages persisted.", this.messagesStored);
    add(
      "fastchat_messages_routed_total",
      "counter",
      "Message copies pushed or forwarded.",
      this.messagesRouted,
    );
    add(
      "fastchat_messages_delivered_total",
      "counter",
      "Deliveries acknowledged by recipients.",
      this.messagesDelivered,
    );
    add(
      "fastchat_duplicates_suppressed_total",
      "counter",
      "Resends answered idempotently.",
      this.duplicatesSuppressed,
    );
    add(
      "fastchat_redelivered_total",
      "counter",
      "Pending messages pushed again by the redelivery sweep.",
      this.redelivered,
    );
    add("fastchat_invalid_frames_total", "counter", "Invalid client frames.", this.invalidFrames);
    add("fastchat_auth_failures_total", "counter", "Failed logins.", this.authFailures);
    add(
      "fastchat_rate_limited_total",
      "counter",
      "Requests refused as rate limited.",
      this.rateLimited,
    );
    add(
      "fastchat_busy_total",
      "counter",
      "Messages refused with busy (admission control).",
      this.busy,
    );
    for (const [reason, n] of Object.entries(this.busyBy)) {
      add(`fastchat_busy_${reason}_total`, "counter", `Messages refused with busy: ${reason}.`, n);
    }
    add(
      "fastchat_recipient_full_total",
      "counter",
      "Deliveries not stored because the recipient had too much waiting.",
      this.recipientFull,
    );
    add(
      "fastchat_deliveries_expired_total",
      "counter",
      "Pending deliveries dropped after the expiry.",
      this.deliveriesExpired,
    );
    add(
      "fastchat_origin_refused_total",
      "counter",
      "WebSocket upgrades refused for their Origin.",
      this.originRefused,
    );
    add("fastchat_store_batches_total", "counter", "Storage commits.", this.storeBatches);
    add(
      "fastchat_store_batch_messages_total",
      "counter",
      "Messages written by storage commits.",
      this.storeBatchMessages,
    );
    return lines.join("\n") + "\n";
  }
}
