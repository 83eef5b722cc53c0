/**
 * The browser client's look, in a real browser against a real server, as a person sees it: the
 * New chat and New group forms stay closed until their buttons are pressed (Escape closes
 * them), the Status entry has a drawn icon, people and groups have initials avatars in their
 * own colour (hidden from screen readers, the name next to them), messages sit under a day
 * separator with times as the browser's locale writes them (the terminal's format), and a
 * group's member panel opens beside the messages without moving the header.
 */

import assert from "node:assert/strict";
import { TimeFormat } from "../core/view/time_format.ts";
import { avatarColor } from "../web/initials.ts";
import { TestCluster } from "./helpers/cluster.ts";
import { launchBrowser, WebUser } from "./helpers/browser.ts";

/** `#2157d5` as a computed style writes it: `rgb(33, 87, 213)`. */
function _rgb(hex: string): string {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  return `rgb(${r}, ${g}, ${b})`;
}

/** Spaces as spaces: ICU writes a narrow no-break space before "PM". */
function _plain(s: string): string {
  return s.replace(/\s/g, " ");
}

/** The little of a DOM element the test reads (Deno has no DOM types). */
interface _Styled {
  ownerDocument: {
    defaultView: { getComputedStyle(el: unknown): { backgroundColor: string } };
  };
}

/** Whether the page's focus is on `selector`. */
async function _focused(u: WebUser, selector: string): Promise<boolean> {
  return await u.page.locator(`${selector}:focus`).count() === 1;
}

Deno.test("web client: forms behind buttons, avatars, day separators, locale times, a member panel", async () => {
  const c = await TestCluster.start(1, { balancer: "round-robin" });
  const browser = await launchBrowser();
  const base = `http://127.0.0.1:${c.balancerPort}/`;
  const users: WebUser[] = [];
  try {
    const alice = await WebUser.open(browser, "alice", base, undefined, "en-US");
    const bob = await WebUser.open(browser, "bob", base, undefined, "de-DE");
    users.push(alice, bob);
    await alice.signIn();
    await bob.signIn();
    const p = alice.page;

    // The forms wait behind their buttons; Escape closes one, back to its button.
    assert.equal(await p.locator("#add-contact, #group-name, #group-members").count(), 0);
    const newChat = p.getByRole("button", { name: "New chat" });
    assert.equal(await newChat.getAttribute("aria-expanded"), "false");
    await newChat.click();
    await p.getByLabel("Chat with (username)").waitFor();
    assert.equal(await newChat.getAttribute("aria-expanded"), "true");
    assert.ok(await _focused(alice, "#add-contact"), "the field is ready to type in");
    await p.keyboard.press("Escape");
    await p.locator("#add-contact").waitFor({ state: "detached" });
    assert.ok(await _focused(alice, "button[aria-controls=new-chat]"));
    await p.getByRole("button", { name: "New group" }).click();
    await p.getByLabel("Group name").waitFor();
    await p.getByLabel("Members", { exact: true }).waitFor();
    await p.getByRole("button", { name: "Cancel" }).click();
    await p.locator("#group-name").waitFor({ state: "detached" });

    // Status has a drawn icon, hidden from screen readers: the entry reads "Status".
    const status = p.locator('.conv[data-conv="*"]');
    assert.equal(await status.locator("svg").count(), 1);
    assert.equal(await status.locator("[aria-hidden=true] svg").count(), 1);
    assert.equal((await status.innerText()).trim(), "Status");

    // alice and bob become contacts and write to each other.
    await alice.addContact("bob");
    await bob.open("*");
    await bob.page.getByRole("button", { name: "Accept alice" }).click();
    await bob.open("@alice");
    await bob.say("hallo alice");
    await alice.open("@bob");
    await alice.sees("hallo alice");
    await alice.say("hi bob");
    await bob.sees("hi bob");

    // Initials in bob's own colour, hidden from screen readers, his name written next to them.
    const entry = p.locator('.conv[data-conv="@bob"]');
    const avatar = entry.locator(".avatar");
    assert.equal(await avatar.innerText(), "B");
    assert.equal(await avatar.getAttribute("aria-hidden"), "true");
    assert.equal(
      await avatar.evaluate((el: _Styled) =>
        el.ownerDocument.defaultView.getComputedStyle(el).backgroundColor
      ),
      _rgb(avatarColor("bob")),
    );
    assert.equal(await entry.locator(".conv-name").innerText(), "bob");
    assert.equal(await p.locator(".pane-title .avatar").innerText(), "B");
    const line = p.locator(".messages .line.in", { hasText: "hallo alice" });
    assert.equal(await line.locator(".avatar").innerText(), "B");
    assert.equal(await line.locator(".from").innerText(), "bob");

    // One separator for today's messages; each browser writes times as its locale does, the
    // same as a terminal in that locale.
    assert.deepEqual(await p.locator(".messages .day-separator").allInnerTexts(), ["Today"]);
    const shapes: [WebUser, string, RegExp][] = [
      [alice, "en-US", /^\d{1,2}:\d\d [AP]M$/],
      [bob, "de-DE", /^\d\d:\d\d$/],
    ];
    for (const [u, locale, shape] of shapes) {
      const time = u.page.locator(".messages .line.in time").first();
      const shown = _plain(await time.innerText());
      assert.match(shown, shape, `${u.name}'s page in ${locale}`);
      const at = Date.parse((await time.getAttribute("datetime"))!);
      assert.equal(shown, _plain(new TimeFormat({ locale }).clock(at)));
    }

    // A group: its member panel opens beside the messages and leaves the header where it was.
    await bob.page.getByRole("button", { name: "New group" }).click();
    await bob.page.fill("#group-name", "hikers");
    await bob.page.fill("#group-members", "alice");
    await bob.page.press("#group-members", "Enter");
    await p.locator(".conv", { hasText: "hikers" }).click();
    const header = p.locator(".pane-header");
    const before = (await header.boundingBox())!;
    const members = p.getByRole("button", { name: "Members (2)" });
    await members.click();
    const panel = p.getByRole("complementary", { name: "Members of hikers" });
    await panel.waitFor();
    assert.deepEqual(await header.boundingBox(), before, "the header did not move");
    const box = (await panel.boundingBox())!;
    assert.ok(box.y >= before.y + before.height - 1, "the panel is below the header");
    assert.deepEqual((await panel.locator(".member-name").allInnerTexts()).sort(), [
      "alice",
      "bob",
    ]);
    assert.deepEqual((await panel.locator(".avatar").allInnerTexts()).sort(), ["A", "B"]);
    assert.equal(
      await p.locator(".conv", { hasText: "hikers" }).locator(".avatar").innerText(),
      "H",
    );
    await p.keyboard.press("Escape");
    await panel.waitFor({ state: "detached" });
    assert.equal(await members.getAttribute("aria-expanded"), "false");

    // On a phone the forms open inside the folded-out list, which stays out until one is sent.
    await p.setViewportSize({ width: 390, height: 760 });
    await p.click(".menu-button");
    await p.getByRole("button", { name: "New chat" }).click();
    await p.getByLabel("Chat with (username)").waitFor();
    assert.ok(await p.locator("#sidebar").isVisible(), "the list stays out with its form");
    await p.fill("#add-contact", "bob");
    await p.press("#add-contact", "Enter");
    await p.locator("#sidebar").waitFor({ state: "hidden" });
    assert.equal(await p.locator(".pane-header h2").innerText(), "bob");
  } catch (err) {
    for (const u of users) console.error(`--- ${u.name}'s page log:\n${u.log()}`);
    throw err;
  } finally {
    await Promise.allSettled(users.map((u) => u.context.close()));
    await browser.close();
    await c.stop();
  }
});
