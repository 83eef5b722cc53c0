/**
 * Asking a balancer for a server (`GET /assign`) and connecting to it, retrying with
 * backoff while no server is live or the named one refuses (a server that just died can
 * still be named for up to 3 s). Several balancers may serve one cluster (they are
 * stateless over the shared database): when one is down, the next one is asked.
 *
 * @module
 */

import { SYSTEM_CLOCK } from "../../async/clock.ts";
import { Backoff } from "../../async/backoff.ts";
import { delay } from "./delay.ts";
import { type ConnectOptions, ProtocolClient } from "./protocol_client.ts";

/** The balancer's answer. */
export interface Assignment {
  /** The assigned server's ID in the cluster. */
  id: number;
  /** The host to dial. */
  host: string;
  /** The port to dial. */
  port: number;
  /** The server's WebSocket URL (`ws:` or `wss:`). */
  url: string;
}

/** Asks the balancer once; throws with the balancer's message on 503 or a bad answer. */
export async function assignServer(balancerUrl: string, signal?: AbortSignal): Promise<Assignment> {
  const url = new URL("/assign", balancerUrl);
  const res = await fetch(url, { signal: signal ?? AbortSignal.timeout(5_000) });
  const body = await res.json().catch(() => null) as Record<string, unknown> | null;
  if (!res.ok) {
    const message = typeof body?.message === "string" ? body.message : `HTTP ${res.status}`;
    throw new Error(`The balancer at ${balancerUrl} has no server for us: ${message}`);
  }
  if (
    !body || !Number.isSafeInteger(body.id) || typeof body.url !== "string" ||
    !/^wss?:\/\//.test(body.url)
  ) {
    throw new Error(`The balancer at ${balancerUrl} answered something that is not an assignment`);
  }
  return body as unknown as Assignment;
}

/**
 * Connects through a balancer, retrying for up to `timeoutMs` (default 30 s) with backoff
 * from 200 ms to 2 s, full jitter. With several balancer URLs, a failed attempt moves on to the next URL
 * at once; the backoff starts only when every one has failed in a row. `onRetry` hears each
 * failure (for a status line).
 */
export async function connectViaBalancer(
  balancers: string | readonly string[],
  opts: ConnectOptions & {
    timeoutMs?: number;
    signal?: AbortSignal;
    onRetry?: (err: Error, attempt: number) => void;
  } = {},
): Promise<{ client: ProtocolClient; assignment: Assignment }> {
  const urls = typeof balancers === "string" ? [balancers] : [...balancers];
  if (urls.length === 0) throw new TypeError("At least one balancer URL is needed");
  const clock = opts.clock ?? SYSTEM_CLOCK;
  const deadline = clock.now() + (opts.timeoutMs ?? 30_000);
  const backoff = new Backoff({ firstMs: 200, maxMs: 2_000 });
  let wait = backoff.next();
  let failedInRow = 0;
  for (let attempt = 1;; attempt++) {
    if (opts.signal?.aborted) throw new Error("Connecting was cancelled");
    const balancerUrl = urls[(attempt - 1) % urls.length]!;
    try {
      const assignment = await assignServer(
        balancerUrl,
        opts.signal ? AbortSignal.any([opts.signal, AbortSignal.timeout(5_000)]) : undefined,
      );
      const client = await ProtocolClient.connect(assignment.url, {
        ...opts,
        timeoutMs: opts.timeoutMs ? Math.min(opts.timeoutMs, 5_000) : 5_000,
      });
      return { client, assignment };
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      failedInRow++;
      if (clock.now() + wait > deadline) {
        throw new Error(
          `Could not reach a FastChat server through ${urls.join(" or ")}: ${e.message}`,
        );
      }
      if (opts.signal?.aborted) throw new Error("Connecting was cancelled");
      opts.onRetry?.(e, attempt);
      if (failedInRow % urls.length !== 0) continue; // the next balancer, at once
      await delay(wait, opts.signal, clock);
      wait = backoff.next();
    }
  }
}
