/**
 * A free TCP port on 127.0.0.1, for temporary clusters (the demo, the benchmark, tests).
 *
 * @module
 */

/**
 * Returns a port the OS reports free on 127.0.0.1. Another process could take it before it
 * is used; callers start their listeners right away.
 */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}
