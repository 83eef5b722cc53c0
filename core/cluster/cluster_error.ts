/**
 * The one error `fastchat up`'s supervisor throws for an expected failure: another cluster
 * holds the data directory or a port, or a child could not start. Its message is one line
 * for the user (`main` prints it after `fastchat up: `); `code` is for callers.
 *
 * @module
 */

/** Why a cluster could not start. */
export type ClusterErrorCode =
  /** Another `fastchat up` holds the data directory's lock. */
  | "data_dir_in_use"
  /** A server's or the balancer's port is taken. */
  | "port_in_use"
  /** A port cannot be listened on for another reason (no such address, no permission). */
  | "port_unavailable"
  /** A child process could not be spawned. */
  | "spawn_failed"
  /** A child process exited before the cluster was up. */
  | "child_exited"
  /** A child did not answer its health check in time. */
  | "unhealthy";

/** An expected failure to start a cluster, with a one-line message. */
export class ClusterError extends Error {
  /** Stable code for callers. */
  readonly code: ClusterErrorCode;
  /** An error with `code` and a one-line `message` for the user. */
  constructor(code: ClusterErrorCode, message: string) {
    super(message);
    this.name = "ClusterError";
    this.code = code;
  }
}
