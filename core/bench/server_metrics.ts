/**
 * Reads a chat server's `GET /metrics` (Prometheus text) at the end of a run, for the
 * numbers that explain a result: messages pushed again by the redelivery sweep (the source
 * of wire duplicates when deliveries take longer than the sweep's 2 s), storage commits and
 * their batch size (group commit), and event-loop lag. The parser is pure and tested.
 *
 * @module
 */

/** The server counters the benchmark reports. */
export interface ServerCounters {
  readonly redelivered: number | null;
  readonly storeBatches: number | null;
  readonly storeBatchMessages: number | null;
  readonly lagMs: number | null;
  /** Messages refused with `busy`, by admission control's reason. */
  readonly busyQueue: number | null;
  readonly busyFairShare: number | null;
  readonly busyLag: number | null;
  readonly busyOutbound: number | null;
}

/** Sample values by metric name from Prometheus text (labels ignored; the last sample wins). */
export function parsePrometheus(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{[^}]*\})?\s+(\S+)/.exec(line);
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

/** The counters from parsed metrics; a missing one is null. */
export function serverCounters(metrics: ReadonlyMap<string, number>): ServerCounters {
  const get = (name: string) => metrics.get(name) ?? null;
  return {
    redelivered: get("fastchat_redelivered_total"),
    storeBatches: get("fastchat_store_batches_total"),
    storeBatchMessages: get("fastchat_store_batch_messages_total"),
    lagMs: get("fastchat_event_loop_lag_ms"),
    busyQueue: get("fastchat_busy_queue_total"),
    busyFairShare: get("fastchat_busy_fair_share_total"),
    busyLag: get("fastchat_busy_lag_total"),
    busyOutbound: get("fastchat_busy_outbound_total"),
  };
}

/** Fetches `GET /metrics` from 127.0.0.1:`port`; every counter null if it does not answer. */
export async function fetchServerCounters(host: string, port: number): Promise<ServerCounters> {
  try {
    const res = await fetch(`http://${host}:${port}/metrics`, {
      signal: AbortSignal.timeout(5_000),
    });
    if (!res.ok) {
      await res.body?.cancel();
      return serverCounters(new Map());
    }
    return serverCounters(parsePrometheus(await res.text()));
  } catch {
    return serverCounters(new Map());
  }
}
