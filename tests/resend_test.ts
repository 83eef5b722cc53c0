/**
 * A message refused for good is shown as failed with the reason, and can be sent again:
 * in the full-screen client (tmux) with `/resend`, in the browser with its Resend button.
 * The refusal is real: bob's queue on the server is made to look full (his pending total is
 * raised in the database, so the server answers `recipient_full`), then emptied again.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { selfCommand } from "../core/cluster/self_command.ts";
import { launchBrowser, WebUser } from "./helpers/browser.ts";
import { ClientProc } from "./helpers/client_proc.ts";
import { TestCluster } from "./helpers/cluster.ts";
import { Tmux } from "./helpers/tmux.ts";

/** Far more than a recipient may have waiting (PROTOCOL.md: 10,000 deliveries). */
const _FULL = 1_000_000;

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
  return ["env", `FASTCHAT_PASSWORD=pw-of-${user}`, cmd, ...args];
}

/** Makes `user`'s queue look full on the server (`by` > 0), or as it was (`by` < 0). */
async function _fill(c: TestCluster, user: string, by: number): Promise<void> {
  const [row] = await c.query("SELECT id FROM users WHERE username = $1", [user]);
  await c.query(
    `INSERT INTO pending_totals (user_id, messages, bytes) VALUES ($1, $2, 0)
     ON CONFLICT (user_id) DO UPDATE SET messages = pending_totals.messages + $2`,
    [row!["id"], by],
  );
}

Deno.test("a message refused with recipient_full shows why, and /resend or Resend delivers it", async () => {
  const c = await TestCluster.start(1, { balancer: "round-robin" });
  const tmux = new Tmux();
  const browser = await launchBrowser();
  const data = join(c.dir, "clients");
  const balancer = `http://127.0.0.1:${c.balancerPort}`;
  const bob = new ClientProc("bob", { balancer, data });
  let carol: WebUser | null = null;
  try {
    await bob.waitFor("ready");
    // alice in the terminal and carol in the browser are bob's contacts.
    await tmux.start("alice", _tuiArgv(balancer, data, "alice"), 120, 30);
    await tmux.until("alice", /online · server \d/, 60_000);
    await tmux.type("alice", "add_friend bob");
    await tmux.keys("alice", ["Enter"]);
    await bob.waitFor("request", (e) => e.user === "alice");
    await bob.send("accept alice");
    carol = await WebUser.open(browser, "carol", `${balancer}/`);
    await carol.signIn();
    await carol.addContact("bob");
    await bob.waitFor("request", (e) => e.user === "carol");
    await bob.send("accept carol");
    await tmux.until("alice", /2 ●bob/);
    await carol.page.locator('.conv[data-conv="@bob"]').waitFor();

    // Bob's queue is full: both messages fail, and say why.
    await _fill(c, "bob", _FULL);
    await tmux.type("alice", "/query bob");
    await tmux.keys("alice", ["Enter"]);
    await tmux.type("alice", "see you at 8");
    await tmux.keys("alice", ["Enter"]);
    const screen = await tmux.until("alice", /you: see you at 8 ✗ not sent: User \d+ has too/);
    assert.match(screen, /undelivered messages/);
    await carol.open("@bob");
    await carol.say("lunch tomorrow?");
    const failed = carol.page.locator('.line.out[data-state="failed"]', {
      hasText: "lunch tomorrow?",
    });
    await failed.waitFor();
    assert.match(await failed.innerText(), /too many undelivered messages/);

    // Room again: resent, under the same lines, and delivered once each.
    await _fill(c, "bob", -_FULL);
    await tmux.type("alice", "/resend");
    await tmux.keys("alice", ["Enter"]);
    const got = await bob.waitFor("message", (m) => m.text === "see you at 8");
    assert.equal(got.from_name, "alice");
    await tmux.until("alice", /you: see you at 8 ✓✓/);
    assert.doesNotMatch(await tmux.screen("alice"), /not sent/);

    await failed.getByRole("button", { name: "Resend" }).click();
    await bob.waitFor("message", (m) => m.text === "lunch tomorrow?");
    await carol.page.locator('.line.out[data-state="delivered"]', { hasText: "lunch tomorrow?" })
      .waitFor();
    assert.equal(await carol.page.getByRole("button", { name: "Resend" }).count(), 0);
    assert.equal(bob.all("message").filter((m) => m.text === "see you at 8").length, 1);
  } finally {
    await carol?.context.close();
    await browser.close();
    await tmux.kill();
    await bob.kill();
    await c.stop();
  }
});
