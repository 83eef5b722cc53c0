/**
 * The web client in a real browser (Debian's Chromium, driven by playwright-core) against a
 * real cluster of three servers and a balancer: browser users register in the page, chat
 * with a terminal-client user and with each other, share a group that rotates its key when
 * a member is removed, send and receive files, live through the kill of their server, and
 * find their history after reloading the page. The servers' database holds no plaintext
 * afterwards. Screenshots of the main views go to FASTCHAT_SCREENSHOTS (default: a temp
 * directory), one of them shown in the README.
 */

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { join } from "node:path";
import { ClientProc } from "./helpers/client_proc.ts";
import { TestCluster } from "./helpers/cluster.ts";
import { launchBrowser, WebUser } from "./helpers/browser.ts";

const _SHOTS = Deno.env.get("FASTCHAT_SCREENSHOTS") ??
  await Deno.makeTempDir({ prefix: "fastchat_screens_" });

async function _shot(u: WebUser, name: string): Promise<void> {
  await Deno.mkdir(_SHOTS, { recursive: true });
  await u.page.screenshot({ path: join(_SHOTS, `${name}.png`) });
}

Deno.test("web client: a browser user chats with terminal and browser users, end to end", async () => {
  const c = await TestCluster.start(3, { balancer: "round-robin" });
  const browser = await launchBrowser();
  const data = join(c.dir, "clients");
  const base = `http://127.0.0.1:${c.balancerPort}/`;
  const bob = new ClientProc("bob", { balancer: base, data });
  const users: WebUser[] = [];
  const secrets: string[] = [];
  const say = (s: string) => (secrets.push(s), s);
  try {
    await bob.waitFor("ready");

    // Registration in the page: keys generated there, the account created on the cluster.
    const alice = await WebUser.open(browser, "alice", base);
    users.push(alice);
    await alice.page.fill("#username", "alice");
    await alice.page.locator("text=this creates a new account").waitFor();
    await _shot(alice, "web_login");
    await alice.signIn();

    // A terminal user: a request first, accepted, then messages both ways.
    await alice.addContact("bob");
    await bob.waitFor("request", (e) => e.user === "alice");
    await bob.send("accept alice");
    await bob.send(`msg alice ${say("hello from the terminal")}`);
    await alice.open("@bob");
    await alice.sees("hello from the terminal");
    await alice.say(say("hello from the browser"));
    await bob.waitFor("message", (e) => e.text === "hello from the browser");
    await alice.page.locator('.line.out[data-state="delivered"]', {
      hasText: "hello from the browser",
    }).waitFor();
    // The browser became one of alice's devices, named after the browser it is.
    await alice.say("/devices");
    await alice.sees("Your devices (list version 1):");
    await alice.sees("Chrome on Linux");
    await alice.sees("(this device)");

    // A second browser user: a request shown in the status pane, accepted with a click.
    // carol's browser refuses persistent storage: the page says her keys may be evicted.
    const refuse = "navigator.storage.persisted = () => Promise.resolve(false); " +
      "navigator.storage.persist = () => Promise.resolve(false);";
    const carol = await WebUser.open(browser, "carol", base, undefined, undefined, refuse);
    users.push(carol);
    await carol.signIn();
    await carol.sees("This browser did not agree to keep FastChat's storage");
    await carol.addContact("alice");
    await alice.open("*");
    // The Status page lists her devices: this browser, with nothing to unlink.
    await alice.page.locator(".devices li", { hasText: "Chrome on Linux" }).getByText(
      "(this browser)",
    ).waitFor();
    assert.equal(await alice.page.locator(".devices button").count(), 0);
    await alice.page.locator("button", { hasText: "Accept carol" }).click();
    await alice.page.locator('.conv[data-conv="@carol"]').waitFor();
    await carol.open("@alice");
    await carol.say(say("browser to browser"));
    await alice.open("@carol");
    await alice.sees("browser to browser");
    await alice.say(say("and back again"));
    await carol.sees("and back again");

    // A group made in the terminal with both browser users; carol's removal rotates its key.
    await bob.send("add_friend carol");
    await carol.open("*");
    await carol.page.locator("button", { hasText: "Accept bob" }).click();
    await carol.page.locator('.conv[data-conv="@bob"]').waitFor();
    await bob.send("create_group trio alice carol");
    const created = await bob.waitFor("group", (e) => e.change === "created");
    const gkey = `#${created.group}`;
    await alice.page.locator(`.conv[data-conv="${gkey}"]`).waitFor();
    await bob.send(`gmsg trio ${say("hello trio")}`);
    await alice.open(gkey);
    await alice.sees("hello trio");
    await carol.open(gkey);
    await carol.sees("hello trio");
    await alice.say(say("group reply from the browser"));
    await bob.waitFor("message", (e) => e.text === "group reply from the browser");
    await carol.sees("group reply from the browser");
    await alice.page.getByRole("button", { name: /^Members/ }).click();
    await _shot(alice, "web_group");
    const epoch = bob.all("group_key").length;
    await bob.send("remove_member trio carol");
    await carol.sees("You were removed from the group");
    await bob.send(`gmsg trio ${say("after the rotation")}`);
    await alice.sees("after the rotation");
    assert.ok(bob.all("group_key").length >= epoch, "a new group key");
    // carol has no key for what was sent after her removal. One sender's messages reach a
    // recipient in order (PROTOCOL.md, "Order"): once a later one from bob is shown, anything
    // of his before it would have been.
    await bob.send(`msg carol ${say("a later word")}`);
    await carol.open("@bob");
    await carol.sees("a later word");
    await carol.open(gkey);
    assert.equal(
      await carol.page.locator(".messages .line", { hasText: "after the rotation" }).count(),
      0,
    );

    // Files: from the browser to the terminal, and back, downloaded from the page.
    await alice.open("@bob");
    const upload = new TextEncoder().encode(
      say("file contents from the browser ") + "x".repeat(70_000),
    );
    await alice.page.setInputFiles("#file-input", {
      name: "notes.txt",
      mimeType: "text/plain",
      buffer: Buffer.from(upload),
    });
    const got = await bob.waitFor("file", (e) => e.name === "notes.txt", 30_000);
    assert.deepEqual(await Deno.readFile(got.path), upload);
    const src = join(c.dir, "photo.bin");
    const bytes = crypto.getRandomValues(new Uint8Array(50_000));
    await Deno.writeFile(src, bytes);
    await bob.send(`send_file alice ${src}`);
    await alice.sees("photo.bin · 49 KB", 30_000);
    const [download] = await Promise.all([
      alice.page.waitForEvent("download"),
      alice.page.locator(".line", { hasText: "photo.bin" }).locator("button", {
        hasText: "Download",
      }).click(),
    ]);
    assert.equal(download.suggestedFilename(), "photo.bin");
    assert.deepEqual(await Deno.readFile((await download.path())!), bytes);
    await _shot(alice, "web_chat");

    // Safety number and verification.
    await alice.page.click("button:has-text('Safety number')");
    await alice.page.locator(".safety-number").waitFor();
    // The same 60 digits as bob's terminal shows (raw in its JSON event), as 12 groups of 5
    // laid out in four columns and three rows, with their QR code; nothing overflows, even
    // at a phone's width.
    await bob.send("fingerprint alice");
    const theirs = (await bob.waitFor("fingerprint", (e) => e.user === "alice")).safety_number;
    assert.match(theirs, /^[0-9]{60}$/);
    const groups = alice.page.locator(".safety-number > span");
    assert.deepEqual(await groups.allTextContents(), theirs.match(/[0-9]{5}/g));
    const qr = alice.page.getByRole("img", { name: "QR code of your safety number with bob" });
    assert.equal(await qr.getAttribute("viewBox"), "0 0 33 33");
    const viewport = alice.page.viewportSize();
    for (const width of [viewport?.width ?? 1280, 360]) {
      await alice.page.setViewportSize({ width, height: viewport?.height ?? 800 });
      const boxes = await Promise.all((await groups.all()).map((g) => g.boundingBox()));
      const dialog = (await alice.page.locator(".dialog").boundingBox())!;
      const layout = {
        columns: new Set(boxes.map((b) => Math.round(b!.x))).size,
        rows: new Set(boxes.map((b) => Math.round(b!.y))).size,
        overflow: dialog.x < 0 || dialog.x + dialog.width > width ||
          await alice.page.locator(".dialog").evaluate((
            d: { scrollWidth: number; clientWidth: number },
          ) => d.scrollWidth > d.clientWidth),
        qr: Math.round((await qr.boundingBox())!.width),
      };
      assert.deepEqual({ ...layout, qr: layout.qr > 100 }, {
        columns: 4,
        rows: 3,
        overflow: false,
        qr: true,
      }, `at ${width} pixels: ${JSON.stringify(layout)}`);
    }
    if (viewport) await alice.page.setViewportSize(viewport);
    await alice.page.click("button:has-text('Mark as verified')");
    await alice.page.locator(".verified-note").waitFor();
    await _shot(alice, "web_safety");
    await alice.page.keyboard.press("Escape");

    // Her server is killed: the page reconnects through the balancer; what she sends while
    // away goes out after, and what was sent to her arrives.
    const status = await alice.page.locator(".conn").textContent() ?? "";
    const server = Number(status.match(/server (\d)/)?.[1]);
    assert.ok(server >= 1 && server <= 3, status);
    await c.kill(server);
    await alice.say(say("sent while reconnecting"));
    await bob.send(`msg alice ${say("sent while she was away")}`);
    await alice.page.locator(".conn.online").waitFor({ timeout: 30_000 });
    await bob.waitFor("message", (e) => e.text === "sent while reconnecting", 30_000);
    await alice.sees("sent while she was away", 30_000);
    c.startServer(server);
    await c.waitServer(server);

    // A reload keeps everything: sign in again, the history is there.
    await alice.page.reload();
    await alice.page.locator("text=Log in as alice").waitFor();
    await alice.signIn();
    await alice.open("@bob");
    await alice.sees("hello from the terminal");
    await alice.sees("sent while she was away");
    await alice.page.locator('.conv[data-conv="@bob"] .verified').waitFor();

    // A phone-sized window: the list folds away behind a menu button.
    await alice.page.setViewportSize({ width: 390, height: 760 });
    assert.equal(await alice.page.locator("#sidebar").isVisible(), false);
    await _shot(alice, "web_phone");
    await alice.page.click(".menu-button");
    await alice.page.locator('#sidebar .conv[data-conv="@carol"]').click();
    await alice.sees("and back again");
    assert.equal(await alice.page.locator("#sidebar").isVisible(), false);

    // The servers' database never saw a plaintext.
    const db = await c.databaseText();
    for (const s of secrets) assert.ok(!db.includes(s), `plaintext in the database: ${s}`);
  } catch (err) {
    for (const u of users) console.error(`--- ${u.name}'s page log:\n${u.log()}`);
    throw err;
  } finally {
    await Promise.allSettled(users.map((u) => u.context.close()));
    await browser.close();
    await bob.kill();
    await c.stop();
  }
});
