/**
 * The client's transport: find a live server through the balancer, open its WebSocket, and
 * talk the protocol over it. {@linkcode assignServer} and {@linkcode connectViaBalancer} ask
 * the balancer (`GET /assign`) and dial; {@linkcode balancerDialer} wraps that as the
 * engine's `Dialer` port; {@linkcode ProtocolClient} numbers requests, matches answers by
 * `ref`, de-duplicates deliveries and batches acks; {@linkcode probeCluster} tells "no
 * cluster at that address" apart from a slow one. Small timing helpers ({@linkcode delay},
 * {@linkcode nextTurn}) live here because the transport is their lowest user. No `Deno`:
 * the module runs in a browser.
 *
 * @example Dial a server and log in
 * ```ts ignore
 * import { connectViaBalancer } from "./mod.ts";
 *
 * const client = await connectViaBalancer("http://127.0.0.1:7100");
 * const loggedIn = await client.request({ type: "login", username: "alice", password });
 * ```
 *
 * @module
 */

export { type Assignment, assignServer, connectViaBalancer } from "./assign.ts";
export { balancerDialer, type BalancerDialerOptions } from "./balancer_dialer.ts";
export {
  type BalancerSilence,
  NoClusterError,
  PROBE_TIMEOUT_MS,
  probeCluster,
  type ProbeClusterOptions,
  type ProbeFetch,
} from "./cluster_probe.ts";
export { delay, settledWithin } from "./delay.ts";
export { nextTurn } from "./next_turn.ts";
export {
  ConnectionClosedError,
  type ConnectOptions,
  ProtocolClient,
  RequestError,
  type RequestFrame,
  type RequestReply,
  RequestTimeoutError,
} from "./protocol_client.ts";

// The types this API names: the engine's `Dialer` port it implements and the connection it
// yields, and the protocol's frames and error codes.
export type { ChatConnection, ConnectionHandlers, Dialer, DialOptions } from "../engine/ports.ts";
export type * from "../../protocol/mod.ts";

// The time and timers their options take (core/async).
export type { Clock, TimerHandle } from "../../async/clock.ts";
