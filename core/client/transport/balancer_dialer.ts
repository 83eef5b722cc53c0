/**
 * The dialer the terminal client uses: asks the balancer(s) for a server and connects with
 * a `ProtocolClient` (assign.ts), with liveness on, since a hung server keeps its socket
 * open and only silence after a ping shows it.
 *
 * @module
 */

import type { Clock } from "../../async/clock.ts";
import { connectViaBalancer } from "./assign.ts";
import type { Dialer } from "../engine/ports.ts";

/** Options of {@linkcode balancerDialer}. */
export interface BalancerDialerOptions {
  /** Balancer base URLs; the next is asked when one is down. */
  readonly balancerUrls: string | readonly string[];
  /** Seconds to keep trying before giving up (default 30). */
  readonly connectTimeoutS?: number;
  /** Ping after this many milliseconds of silence (default 15 s). */
  readonly keepAliveMs?: number;
  /** Silent this long after a ping: the server counts as gone (default 10 s). */
  readonly deadAfterMs?: number;
  /** The clock of the timeouts, liveness and retries (default: the system clock). */
  readonly clock?: Clock;
}

/** A {@linkcode Dialer} through the balancer. */
export function balancerDialer(opts: BalancerDialerOptions): Dialer {
  return {
    async dial(handlers, { signal, onRetry }) {
      const { client, assignment } = await connectViaBalancer(opts.balancerUrls, {
        // The engine acks only what it has handled and stored, and de-duplicates itself.
        autoAck: false,
        dedupe: false,
        signal,
        timeoutMs: (opts.connectTimeoutS ?? 30) * 1000,
        keepAliveMs: opts.keepAliveMs ?? 15_000,
        deadAfterMs: opts.deadAfterMs ?? 10_000,
        onRetry,
        clock: opts.clock,
      });
      client.onMessage = (m) => handlers.onMessage(m);
      client.onDelivered = (d) => handlers.onDelivered(d);
      client.onSynced = () => handlers.onSynced();
      client.onError = (e) => handlers.onError(e);
      client.onPrekeysLow = (remaining) => handlers.onPrekeysLow?.(remaining);
      client.onClose = (code) => handlers.onClose(code);
      return { conn: client, serverId: assignment.id };
    },
  };
}
