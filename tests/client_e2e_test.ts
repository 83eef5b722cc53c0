/**
 * The terminal client end to end: real cluster processes, real client processes in
 * scriptable JSON mode, everything on 127.0.0.1.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { ClientProc } from "./helpers/client_proc.ts";
import { TestCluster } from "./helpers/cluster.ts";

async function _setup(n = 3, strategy = "round-robin") {
  const cluster = await TestCluster.start(n, { balancer: strategy });
  const data = join(cluster.dir, "clients");
  const procs: ClientProc[] = [];
  const start = async (user: string, password?: string) => {
    const p = new ClientProc(user, {
      balancer: `http://127.0.0.1:${cluster.balancerPort}`,
      data,
      password,
    });
    procs.push(p);
    await p.waitFor("ready");
    return p;
  };
  const stop = async () => {
    for (const p of procs) await p.kill();
    await cluster.stop();
  };
  return { cluster, data, start, stop };
}

Deno.test("client users become friends and exchange encrypted direct messages", async () => {
  const t = await _setup();
  try {
    const alice = await t.start("alice");
    const bob = await t.start("bob");
    await alice.send("single_message bob hello bob, this is alice");
    const m = await bob.waitFor("message", (e) => e.from_name === "alice");
    assert.equal(m.text, "hello bob, this is alice");
    assert.equal(m.group, null);
    await bob.waitFor("friend", (e) => e.user === "alice" && e.initiated_by === "them");
    await alice.waitFor("delivered", (e) => e.to_name === "bob");
    await bob.send("msg alice hi alice!");
    const back = await alice.waitFor("message", (e) => e.from_name === "bob");
    assert.equal(back.text, "hi alice!");
    // Both ends exit 0 once their messages are acknowledged.
    assert.equal((await alice.finish()).code, 0);
    assert.equal((await bob.finish()).code, 0);
  } finally {
    await t.stop();
  }
});
