/**
 * Groups in the web client as a person sees them (issue 18, items 5 and 14), in a real
 * browser against a real cluster: a stranger's group is a request (Accept, Decline, Block)
 * whose messages stay hidden until it is accepted; a contact's group says who added you;
 * receipts and the member list name people, never `#2`; a removed member who types is
 * told so.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { ClientProc } from "./helpers/client_proc.ts";
import { TestCluster } from "./helpers/cluster.ts";
import { launchBrowser, WebUser } from "./helpers/browser.ts";

Deno.test("web client: group requests, who added you, names in receipts and members, removed member", async () => {
  const c = await TestCluster.start(1, { balancer: "round-robin" });
  const browser = await launchBrowser();
  const base = `http://127.0.0.1:${c.balancerPort}/`;
  const data = join(c.dir, "clients");
  const alice = new ClientProc("alice", { balancer: base, data });
  const bob = new ClientProc("bob", { balancer: base, data });
  const mallory = new ClientProc("mallory", { balancer: base, data });
  let carol: WebUser | null = null;
  try {
    for (const p of [alice, bob, mallory]) await p.waitFor("ready", undefined, 60_000);
    carol = await WebUser.open(browser, "carol", base);
    const page = carol.page;
    await carol.signIn();
    // alice is carol's contact; mallory and bob are not.
    await carol.addContact("alice");
    await alice.waitFor("request", (e) => e.user === "carol");

    // A stranger's group: a request with its buttons; its message is held.
    await mallory.send("create_group Trip carol");
    await mallory.send("gmsg Trip cheap watches");
    const trip = (await mallory.waitFor("delivered", (e) => e.group_name === "Trip")).group!;
    await carol.open("*");
    await page.locator(".requests .request", {
      hasText: 'mallory (not a contact) added you to group "Trip"',
    }).waitFor();
    assert.doesNotMatch(await page.locator("body").innerText(), /cheap watches/);
    assert.equal(await page.locator(`.conv[data-conv="#${trip}"]`).count(), 0, "not listed yet");
    await page.getByRole("button", { name: "Decline Trip" }).waitFor();
    await page.getByRole("button", { name: "Block mallory" }).waitFor();
    await page.getByRole("button", { name: "Accept Trip" }).click();
    await carol.open(`#${trip}`);
    await carol.sees("cheap watches");
    await carol.sees('You joined group "Trip" (mallory added you)');

    // A contact's group says who added you (item 14).
    await alice.send("create_group Hike carol bob");
    const hike = (await alice.waitFor("group", (e) => e.name === "Hike")).group;
    await page.getByText('alice added you to group "Hike"').first().waitFor();
    await bob.waitFor("group_key", (e) => e.group === hike);

    // Receipts and the member list name everyone, bob included (carol never looked him up).
    await carol.open(`#${hike}`);
    await carol.say("hello hikers");
    const line = page.locator('.line.out[data-state="delivered"]', { hasText: "hello hikers" });
    await line.waitFor();
    // Its receipt (the mark's accessible description) names both, whichever came first.
    await line.locator('.state[title*="alice"][title*="bob"]').waitFor();
    assert.doesNotMatch(await line.locator(".state").getAttribute("title") ?? "", /#\d/);
    await page.getByRole("button", { name: /^Members \(/ }).click();
    const members = await page.locator(".members li .member-name").allInnerTexts();
    assert.deepEqual(members.sort(), ["alice", "bob", "carol"]);

    // Removed, carol types in the group: told she is out, and by whom.
    await alice.send("remove_member Hike carol");
    await carol.sees("You were removed from the group by alice");
    await carol.say("still there?");
    await page.getByText('You are no longer a member of group "Hike" (alice removed you)').first()
      .waitFor();
    assert.doesNotMatch(await page.locator("body").innerText(), /No group "\d+"/);
  } catch (err) {
    if (carol) console.error(carol.log());
    throw err;
  } finally {
    await carol?.context.close();
    await browser.close();
    for (const p of [alice, bob, mallory]) await p.kill();
    await c.stop();
  }
});
