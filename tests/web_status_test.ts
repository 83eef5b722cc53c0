/**
 * The browser's status pane against a real cluster of two servers: a request from a terminal
 * user is shown once (a box with Accept and Block, a badge that counts requests), never next
 * to a stale "No requests." or a repeat of itself; Accept clears all of it; and the pane names
 * the server the page is on now, also after that server is killed and the page moved.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { ClientProc } from "./helpers/client_proc.ts";
import { TestCluster } from "./helpers/cluster.ts";
import { launchBrowser, WebUser } from "./helpers/browser.ts";

/** The server number the page's top bar shows. */
async function _headerServer(u: WebUser): Promise<number> {
  const text = await u.page.locator(".topbar .conn.online").innerText();
  const n = Number(text.match(/server (\d+)/)?.[1]);
  assert.ok(n > 0, `no server in "${text}"`);
  return n;
}

/** Every server number the status pane names; one consistent state names one. */
async function _paneServers(u: WebUser): Promise<number[]> {
  const text = await u.page.getByRole("region", { name: "Status" }).innerText();
  return [...new Set([...text.matchAll(/server (\d+)/g)].map((m) => Number(m[1])))];
}

Deno.test("web client: the status pane shows one requests state and the current server", async () => {
  const c = await TestCluster.start(2, { balancer: "round-robin" });
  const browser = await launchBrowser();
  const base = `http://127.0.0.1:${c.balancerPort}/`;
  const alice = new ClientProc("alice", { balancer: base, data: join(c.dir, "clients") });
  const users: WebUser[] = [];
  try {
    await alice.waitFor("ready");
    const dora = await WebUser.open(browser, "dora", base);
    users.push(dora);
    await dora.signIn();
    const p = dora.page;
    const status = p.getByRole("region", { name: "Status" });

    // A request with its first message: one entry, with its text, and a badge of 1.
    await alice.send("add_friend dora");
    await alice.send("msg dora hello dora");
    await p.locator(".requests .request", { hasText: "hello dora" }).waitFor();
    const text = await status.innerText();
    assert.doesNotMatch(text, /No requests/, `a stale "No requests." under the box:\n${text}`);
    const mentions = (await p.locator("body").innerText()).match(/alice wants to talk/g) ?? [];
    assert.equal(mentions.length, 1, `the request is shown ${mentions.length} times:\n${text}`);
    assert.equal(await p.locator(".requests .request").count(), 1);
    const statusItem = p.locator('.conv[data-conv="*"]');
    assert.match(await statusItem.innerText(), /^Status\s*1$/, "one badge, saying 1");
    assert.equal(await statusItem.getByLabel("1 request").count(), 1);
    assert.equal(await p.locator(".notice").count(), 0, "no notice repeats the box");

    // The pane and the top bar name the same server.
    const first = await _headerServer(dora);
    assert.deepEqual(await _paneServers(dora), [first]);

    // Accept: the box, the badge and every word of the request are gone.
    await p.getByRole("button", { name: "Accept alice" }).click();
    await p.locator('.conv[data-conv="@alice"]').waitFor();
    await p.locator(".requests").waitFor({ state: "detached" });
    assert.equal(await statusItem.getByLabel(/request/).count(), 0, "no badge after Accept");
    assert.doesNotMatch(await p.locator("body").innerText(), /wants to talk|\/accept/);
    assert.equal(await p.locator(".notice").count(), 0);
    await dora.sees("You accepted alice");

    // Her server dies: the page moves to the other one, and the pane says so, alone.
    await c.kill(first);
    await p.locator(".topbar .conn.online", { hasNotText: `server ${first}` }).waitFor({
      timeout: 30_000,
    });
    const second = await _headerServer(dora);
    assert.notEqual(second, first);
    assert.deepEqual(await _paneServers(dora), [second]);
  } catch (err) {
    for (const u of users) console.error(`--- ${u.name}'s page log:\n${u.log()}`);
    for (const u of users) {
      await u.page.screenshot({ path: `/tmp/i18web_${u.name}.png` }).catch(() => {});
    }
    throw err;
  } finally {
    await Promise.allSettled(users.map((u) => u.context.close()));
    await browser.close();
    await alice.kill();
    await c.stop();
  }
});
