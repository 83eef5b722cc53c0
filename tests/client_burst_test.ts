/**
 * Nothing a person sends is lost in silence: a burst of messages typed or scripted faster
 * than a server's send rate is paced by the client, what the server still refuses as
 * `rate_limited` is sent again after its wait, and every message is accepted and delivered
 * in order (`core/client/engine/send_pacer.ts`). A real cluster whose servers allow less than the
 * protocol's default rate (10 a second after 40 at once), so the client meets refusals
 * however fast the machine is; real client processes.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { ClientProc } from "./helpers/client_proc.ts";
import { TestCluster } from "./helpers/cluster.ts";

Deno.test("client sends a burst of 120 messages past the send rate, all accepted and delivered in order", async () => {
  const cluster = await TestCluster.start(1, { balancer: "round-robin", sendRate: 10 });
  const data = join(cluster.dir, "clients");
  const balancer = `http://127.0.0.1:${cluster.balancerPort}`;
  const alice = new ClientProc("alice", { balancer, data });
  const bob = new ClientProc("bob", { balancer, data });
  try {
    await alice.waitFor("ready");
    await bob.waitFor("ready");
    await alice.send("add_friend bob");
    await bob.waitFor("request", (e) => e.user === "alice");
    await bob.send("accept alice");
    await alice.waitFor("friend", (e) => e.user === "bob");
    // 120 lines at once, as a script or a paste delivers them: 80 past the server's burst.
    const lines = Array.from({ length: 120 }, (_, i) => `single_message bob burst ${i}`);
    await alice.send(lines.join("\n"));
    await alice.log.waitFor("accepted", () => alice.all("accepted").length >= 120, 60_000);
    await bob.waitFor(
      "message",
      () => bob.all("message").filter((m) => m.text.startsWith("burst ")).length >= 120,
      60_000,
    );
    const texts = bob.all("message").map((m) => m.text).filter((t) => t.startsWith("burst "));
    assert.deepEqual(texts, lines.map((l) => l.slice("single_message bob ".length)));
    assert.equal(alice.all("error").length, 0, JSON.stringify(alice.all("error")));
    // The server did refuse some (the test means something), and the client waited each out.
    const metrics = await (await fetch(`http://127.0.0.1:${cluster.ports[0]}/metrics`)).text();
    const refused = Number(/^fastchat_rate_limited_total\{server="1"\} (\d+)$/m.exec(metrics)?.[1]);
    assert.ok(refused > 0, `the server refused nothing:\n${metrics}`);
    assert.equal((await alice.finish()).code, 0);
  } finally {
    await alice.kill();
    await bob.kill();
    await cluster.stop();
  }
});
