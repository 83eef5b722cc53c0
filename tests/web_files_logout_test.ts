/**
 * The web client in a real browser (Debian's Chromium, driven by playwright-core) against a
 * real server and balancer: file messages show a file's name, size and a Download button,
 * never the internal storage paths, live and from history; and signing out after sending a
 * file leaves a login form that works, with no transfer's progress left on it.
 */

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { TestCluster } from "./helpers/cluster.ts";
import { launchBrowser, WebUser } from "./helpers/browser.ts";

/** Fails when the page shows one of the web client's internal file paths. */
async function _noPaths(u: WebUser): Promise<void> {
  const text = await u.page.locator("body").innerText();
  assert.doesNotMatch(text, /picked\/|received\//, `${u.name}'s page shows a path:\n${text}`);
}

/** Logs out and back in; asserts the form is ready (no stale progress) in between. */
async function _relogin(u: WebUser): Promise<void> {
  await u.page.getByRole("button", { name: "Log out" }).click();
  await u.page.getByText(`Log in as ${u.name}`).waitFor();
  const status = await u.page.getByRole("status").innerText();
  assert.equal(status.trim(), "", `the login form shows "${status}"`);
  assert.ok(await u.page.getByRole("button", { name: "Log in" }).isEnabled(), "Log in enabled");
  await u.signIn();
}

Deno.test("web client: file messages show name, size and Download; logging out and in works after a file", async () => {
  const c = await TestCluster.start(1, { balancer: "round-robin" });
  const browser = await launchBrowser();
  const base = `http://127.0.0.1:${c.balancerPort}/`;
  const users: WebUser[] = [];
  try {
    const alice = await WebUser.open(browser, "alice", base);
    const dora = await WebUser.open(browser, "dora", base);
    users.push(alice, dora);
    await alice.signIn();
    await dora.signIn();
    await alice.addContact("dora");
    await dora.open("*");
    await dora.page.getByRole("button", { name: "Accept alice" }).click();
    await alice.page.locator('.conv[data-conv="@dora"]').waitFor();

    // A 200 KB file, sent in several chunks (so with progress), delivered: ✓✓.
    await alice.open("@dora");
    const bytes = new Uint8Array(204_800);
    for (let at = 0; at < bytes.length; at += 65_536) {
      crypto.getRandomValues(bytes.subarray(at, at + 65_536));
    }
    await alice.page.setInputFiles("#file-input", {
      name: "photo.bin",
      mimeType: "application/octet-stream",
      buffer: Buffer.from(bytes),
    });
    await alice.page.locator('.line.out[data-state="delivered"]', { hasText: "photo.bin" })
      .waitFor({ timeout: 30_000 });
    await alice.sees("photo.bin · 200 KB");
    await _noPaths(alice);

    // Received: name, size and a Download button that gives the bytes.
    await dora.open("@alice");
    await dora.sees("photo.bin · 200 KB", 30_000);
    const button = dora.page.getByRole("button", { name: "Download photo.bin" });
    await button.waitFor();
    assert.equal(await button.innerText(), "Download");
    await _noPaths(dora);

    // Logging out and in again works without a reload; the history shows the same.
    await _relogin(alice);
    await alice.open("@dora");
    await alice.sees("photo.bin · 200 KB");
    await _noPaths(alice);
    await _relogin(dora);
    await dora.open("@alice");
    await dora.sees("photo.bin · 200 KB");
    await _noPaths(dora);
    const [download] = await Promise.all([
      dora.page.waitForEvent("download"),
      dora.page.getByRole("button", { name: "Download photo.bin" }).click(),
    ]);
    assert.equal(download.suggestedFilename(), "photo.bin");
    assert.deepEqual(await Deno.readFile((await download.path())!), bytes);
  } catch (err) {
    for (const u of users) console.error(`--- ${u.name}'s page log:\n${u.log()}`);
    throw err;
  } finally {
    await Promise.allSettled(users.map((u) => u.context.close()));
    await browser.close();
    await c.stop();
  }
});
