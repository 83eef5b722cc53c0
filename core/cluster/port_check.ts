/**
 * Checks, before a cluster starts anything, that every port it will listen on is free: a
 * second cluster on the same ports must refuse at once, not spawn children that fail to
 * bind while another cluster's processes answer their health checks.
 *
 * @module
 */

import { ClusterError } from "./cluster_error.ts";

/** A port a cluster process will listen on. */
export interface PortClaim {
  /** Who listens there, e.g. `server 1` or `balancer`. */
  readonly owner: string;
  /** The address as configured (`127.0.0.1`, `[::1]`, `0.0.0.0`, a name). */
  readonly host: string;
  /** The TCP port. */
  readonly port: number;
}

/**
 * Listens on each claimed address and closes it again. Throws {@linkcode ClusterError}
 * `port_in_use` naming the first port that is taken, or `port_unavailable` when one cannot
 * be listened on at all. The check is a snapshot: a process may still take a port after it.
 */
export function assertPortsFree(claims: readonly PortClaim[]): void {
  for (const c of claims) {
    let listener: Deno.Listener;
    try {
      listener = Deno.listen({ hostname: c.host.replace(/^\[|\]$/g, ""), port: c.port });
    } catch (err) {
      if (err instanceof Deno.errors.AddrInUse) {
        throw new ClusterError(
          "port_in_use",
          `port ${c.port} (${c.owner}, ${c.host}) is in use; is another cluster running?`,
        );
      }
      throw new ClusterError(
        "port_unavailable",
        `cannot listen on ${c.host}:${c.port} (${c.owner}): ${(err as Error).message}`,
      );
    }
    listener.close();
  }
}
