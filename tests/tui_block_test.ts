/**
 * Blocking as the blocked person sees it, in a real terminal (tmux) against a real cluster:
 * once bob blocks alice, her screen shows no ✓✓ on what she sends him and no online mark
 * for him (issue 18, item 11).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { selfCommand } from "../core/cluster/self_command.ts";
import { ClientProc } from "./helpers/client_proc.ts";
import { TestCluster } from "./helpers/cluster.ts";
import { Tmux } from "./helpers/tmux.ts";
import { untilAsync } from "./helpers/wait.ts";

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

/** Waits until the cluster's database answers `sql` with a first row whose `n` is `want`. */
async function _untilDb(c: TestCluster, sql: string, want: unknown, what: string) {
  await untilAsync(async () => (await c.query(sql))[0]?.["n"] === want, what, 20_000);
}

Deno.test("full-screen client: after bob blocks alice she sees no ✓✓ and no online mark for him", async () => {
  const c = await TestCluster.start(2, { balancer: "round-robin" });
  const tmux = new Tmux();
  const data = join(c.dir, "clients");
  const balancer = `http://127.0.0.1:${c.balancerPort}`;
  const bob = new ClientProc("bob", { balancer, data });
  try {
    const bobId = (await bob.waitFor("ready")).id;
    await tmux.start("alice", _tuiArgv(balancer, data, "alice"), 120, 30);
    await tmux.until("alice", /alice #\d+\s+│\s+online · server \d/, 60_000);
    const aliceId = Number(/alice #(\d+)/.exec(await tmux.screen("alice"))![1]);

    // Bob writes first (alice is his contact); she accepts: she sees him online.
    await bob.send("msg alice hi alice");
    await tmux.until("alice", /bob wants to talk to you/);
    await tmux.type("alice", "accept bob");
    await tmux.keys("alice", ["Enter"]);
    await tmux.until("alice", /2 ●bob/);
    await tmux.keys("alice", ["C-n"]);
    await tmux.until("alice", /@bob>/);
    await tmux.type("alice", "hello bob");
    await tmux.keys("alice", ["Enter"]);
    await tmux.until("alice", /you: hello bob ✓✓/);

    // Bob blocks her. Opening a conversation asks about presence again: bob is unknown now.
    await bob.send("block alice");
    await bob.waitFor("blocked");
    await _untilDb(
      c,
      `SELECT state AS n FROM contacts WHERE owner_id = ${bobId} AND user_id = ${aliceId}`,
      "blocked",
      "the server to hear of the block",
    );
    await tmux.keys("alice", ["C-n"]); // to the status pane and back to bob
    await tmux.keys("alice", ["C-n"]);
    let screen = await tmux.until("alice", /2 @bob/);
    assert.doesNotMatch(screen, /●bob/);

    // What she sends now is accepted (✓) and stays so: bob's client took it (and dropped
    // it unread), and no receipt came back.
    await tmux.type("alice", "are you there?");
    await tmux.keys("alice", ["Enter"]);
    await tmux.until("alice", /you: are you there\? ✓/);
    await _untilDb(
      c,
      `SELECT count(*) AS n FROM deliveries WHERE recipient_id = ${bobId}`,
      0,
      "bob's client to acknowledge what she sent",
    );
    // Unblocked, her next message gets its ✓✓: had the earlier one had a receipt, it came
    // before this one (bob acknowledges in order).
    await bob.send("unblock alice");
    await bob.waitFor("unblocked");
    await tmux.type("alice", "ping");
    await tmux.keys("alice", ["Enter"]);
    screen = await tmux.until("alice", /you: ping ✓✓/);
    assert.match(screen, /you: are you there\? ✓(?!✓)/);
    assert.doesNotMatch(screen, /you: are you there\? ✓✓/);
  } finally {
    await tmux.kill();
    await bob.kill();
    await c.stop();
  }
});
