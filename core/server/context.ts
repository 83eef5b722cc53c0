/**
 * What the parts of a chat server share: its ID, the store, the log, the metrics, who is
 * connected where, its quotas, the clock, and the mesh once attached.
 *
 * @module
 */

import type { Logger } from "../log/logger.ts";
import type { MeshTransport } from "../mesh/transport.ts";
import type { Store } from "../store/store.ts";
import type { ServerMetrics } from "./metrics.ts";
import type { PresenceDirectory } from "./presence.ts";
import type { Quotas } from "./quotas.ts";

/** A chat server's shared state. */
export interface ServerContext {
  readonly id: number;
  readonly store: Store;
  readonly log: Logger;
  readonly metrics: ServerMetrics;
  readonly presence: PresenceDirectory;
  /** What one client may try or leave waiting (`quotas.ts`). */
  readonly quotas: Quotas;
  /** Clock, Unix milliseconds. */
  readonly now: () => number;
  /** The mesh to peer servers; null until attached (a server alone has none). */
  readonly mesh: () => MeshTransport | null;
}
