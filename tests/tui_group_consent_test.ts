/**
 * Groups in the full-screen client as a person sees them (issue 18, item 5), in a real
 * terminal (tmux) against a real cluster: a stranger's group is a request whose messages
 * stay hidden until it is accepted; a contact's group says who added you; receipts and
 * member lists name people (never `#2`); a removed member who types is told so.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { selfCommand } from "../core/cluster/self_command.ts";
import { ClientProc } from "./helpers/client_proc.ts";
import { TestCluster } from "./helpers/cluster.ts";
import { Tmux } from "./helpers/tmux.ts";

function _tuiArgv(balancer: string, data: string, user: string): string[] {
  const { cmd, args } = selfCommand([
    "client",
    "--balancer",
    balancer,
    "--user",
    user,
    "--data",
    data,
    "--keystore-scrypt-n",
    "1024",
  ]);
  return ["env", "CI=true", `FASTCHAT_PASSWORD=pw-of-${user}`, cmd, ...args];
}

Deno.test("full-screen client: group requests, who added you, names in receipts, removed member", async () => {
  const c = await TestCluster.start(1, { balancer: "round-robin" });
  const tmux = new Tmux();
  const data = join(c.dir, "clients");
  const balancer = `http://127.0.0.1:${c.balancerPort}`;
  const alice = new ClientProc("alice", { balancer, data });
  const bob = new ClientProc("bob", { balancer, data });
  const mallory = new ClientProc("mallory", { balancer, data });
  const enter = async (line: string) => {
    await tmux.type("carol", line);
    await tmux.keys("carol", ["Enter"]);
  };
  try {
    for (const p of [alice, bob, mallory]) await p.waitFor("ready", undefined, 60_000);
    await tmux.start("carol", _tuiArgv(balancer, data, "carol"), 120, 32);
    await tmux.until("carol", /carol #\d+\s+│\s+online/, 60_000);
    await enter("add_friend alice"); // alice is carol's contact; mallory and bob are not

    // A stranger's group: a request, its message held (not shown, no conversation).
    await mallory.send("create_group Trip carol");
    await tmux.until("carol", /mallory \(not a contact\) added you to group "Trip"/);
    await mallory.send("gmsg Trip cheap watches");
    await mallory.waitFor("delivered", (e) => e.group_name === "Trip"); // carol has it
    let screen = await tmux.screen("carol");
    assert.doesNotMatch(screen, /cheap watches/);
    assert.doesNotMatch(screen, /#Trip/, "not in the list before it is accepted");
    await enter("accept Trip");
    screen = await tmux.until("carol", /#Trip \(1\)/); // the held message, unread
    await enter("/query Trip");
    screen = await tmux.until("carol", /mallory: cheap watches/);
    assert.match(screen, /You joined group "Trip" \(mallory added you\)/);

    // A contact's group says who added you; receipts and the member list name everyone,
    // bob included (carol never looked him up).
    await alice.send("create_group Hike carol bob");
    await tmux.until("carol", /alice added you to group "Hike"/);
    const hike = await alice.waitFor("group", (e) => e.name === "Hike");
    await bob.waitFor("group_key", (e) => e.group === hike.group);
    await enter("/query Hike");
    await tmux.until("carol", /#Hike>/);
    await enter("hello hikers");
    screen = await tmux.until("carol", /you: hello hikers ✓✓ \((alice, bob|bob, alice)\)/);
    assert.doesNotMatch(screen, /#\d+\)/, "no bare user IDs in receipts");
    await enter("/groups");
    screen = await tmux.until("carol", /Hike\s+admin alice, members [a-z, ]+, key epoch/);
    const members = /Hike\s+admin alice, members ([a-z, ]+), key epoch/.exec(screen)![1]!;
    assert.deepEqual(members.split(", ").sort(), ["alice", "bob", "carol"]);

    // Removed, carol types in the group: told she is out, and by whom.
    await alice.send("remove_member Hike carol");
    await tmux.until("carol", /You were removed from the group by alice/);
    await enter("still there?");
    await tmux.until("carol", /You are no longer a member of group "Hike" \(alice removed you\)/);
    assert.doesNotMatch(await tmux.screen("carol"), /No group "\d+"/);
  } finally {
    await tmux.kill();
    for (const p of [alice, bob, mallory]) await p.kill();
    await c.stop();
  }
});
