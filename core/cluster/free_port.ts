/**
 * A free TCP port on 127.0.0.1, for temporary clusters (the demo, the benchmark, tests).
 *
 * @module
 */

// Ports this process handed out already: the OS may offer a port again right after the
// probe closes it, and a cluster built from several calls must not list one port twice.
const _given = new Set<number>();

/**
 * Returns a port the OS reports free on 127.0.0.1, never one this process returned before.
 * Another process could take it before it is used; callers start their listeners right away.
 */
export function freePort(): number {
  for (;;) {
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (l.addr as Deno.NetAddr).port;
    l.close();
    if (_given.has(port)) continue;
    _given.add(port);
    return port;
  }
}
