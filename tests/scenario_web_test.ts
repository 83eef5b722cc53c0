/**
 * The browser client as people use it (issue 18's user test, written down): alice, bob and
 * carol each in their own browser profile (Debian's Chromium) and dave, a stranger, on the
 * scriptable client, all against one real cluster. Every command `/help` lists is typed in
 * the composer at least once and the page's text is read after it; the test fails when a
 * command of the table (`COMMAND_SPECS`) has no step here. The buttons people use instead
 * (Accept, the file button, Log out) are pressed too; alice logs out and in again, first with
 * a wrong password; a mistake names what was wrong; and with no server left, signing in says
 * so.
 *
 * What is asserted sits in the small helpers and the `_TEXT` table, so that a change of
 * wording or of the page's layout is one edit.
 */

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { join } from "node:path";
import { COMMAND_SPECS, parseCommand } from "../core/client/engine/commands.ts";
import { generateIdentityKeyPair, toBase64Url } from "../core/crypto/mod.ts";
import { ClientProc } from "./helpers/client_proc.ts";
import { TestCluster } from "./helpers/cluster.ts";
import { launchBrowser, WebUser } from "./helpers/browser.ts";

/** What the page says after each step: the stable words, in one place. */
const _TEXT = {
  whoami: (user: string) => new RegExp(`You are ${user} \\(#\\d+\\) on server \\d`),
  added: (user: string) => new RegExp(`You added ${user}`),
  request: (user: string) => new RegExp(`${user}\\s+wants to talk to you`),
  requestList: (user: string) =>
    new RegExp(`Requests \\(accept USER, or block USER\\):\\s*\\n.*${user}`),
  accepted: (user: string) => new RegExp(`You accepted ${user}`),
  blocked: (user: string) => new RegExp(`You blocked ${user}`),
  blockedList: (user: string) => new RegExp(`Blocked: ${user}`),
  unblocked: (user: string) => new RegExp(`Unblocked ${user}`),
  verified: (user: string) => new RegExp(`You verified ${user}'s keys`),
  friend: (user: string, verified: boolean) =>
    new RegExp(`\\b${user}\\s+#\\d+${verified ? "\\s+verified" : ""}`),
  pickFile: /use its "File…" button/,
  fileLimit: (mib: string) => new RegExp(`saved up to ${mib.replace(".", "\\.")} MiB`),
  fileLine: (name: string) => new RegExp(`${name.replace(".", "\\.")} · [\\d.]+ [KM]?B`),
  groupLine: (group: string) => new RegExp(`#\\d*\\s*${group}.*admin (\\w+), members ([^\\n]*)`),
  created: (who: string) => new RegExp(`${who} created the group`),
  // What a member sees of a group made with them in it.
  addedYou: (who: string, group: string) =>
    new RegExp(`${who} (created the group|added you to group "?${group})`),
  joined: (who: string) => new RegExp(`${who} joined the group`),
  removed: (who: string) => new RegExp(`${who} was removed`),
  admin: (who: string) => new RegExp(`${who} is now the admin`),
  youAdmin: /You are now the admin/,
  left: (who: string) => new RegExp(`${who} left the group`),
  deleted: (who: string) => new RegExp(`${who} deleted the group`),
  loginForm: (user: string) => new RegExp(`Log in as ${user}`),
  wrongPassword: (user: string) => new RegExp(`Wrong password for ${user}`),
  keysChanged: (user: string) => new RegExp(`${user} is a VERIFIED contact`),
  keysAccepted: (user: string) => new RegExp(`You accepted ${user}'s new keys`),
  noServer: /No live server is available/,
  nothingToResend: /No failed messages.* to resend/,
  noUser: (user: string) => new RegExp(`No user named "${user}"`),
} as const;

/** Commands typed so far, by the name `parseCommand` gives them (aliases count). */
const _exercised = new Set<string>();

/** Types `/line` in `u`'s composer and sends it. */
async function _cmd(u: WebUser, line: string): Promise<void> {
  _exercised.add(parseCommand(line)!.name);
  await u.say(`/${line}`);
}

/** Waits until the page's text shows `what`; returns that text. */
async function _sees(u: WebUser, what: string | RegExp, timeoutMs = 20_000): Promise<string> {
  const re = typeof what === "string" ? { source: _escape(what), flags: "" } : what;
  try {
    await u.page.waitForFunction(
      ([source, flags]) =>
        new RegExp(source!, flags).test((globalThis as unknown as _Page).document.body.innerText),
      [re.source, re.flags],
      { timeout: timeoutMs },
    );
  } catch (err) {
    const text = await u.page.locator("body").innerText().catch(() => "");
    throw new Error(`${u.name}'s page never showed ${what}:\n${text}`, { cause: err });
  }
  return await u.page.locator("body").innerText();
}

/** The part of a page's globals read here (the test is type-checked without the DOM). */
type _Page = { document: { body: { innerText: string } } };

function _escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Fails if the page's text shows `what` now. */
async function _seesNot(u: WebUser, what: string | RegExp, why: string): Promise<void> {
  const text = await u.page.locator("body").innerText();
  const found = typeof what === "string" ? text.includes(what) : what.test(text);
  assert.ok(!found, `${why}:\n${text}`);
}

/** The conversation list's entry for `name` (a contact, a group, or "Status"). */
function _entry(u: WebUser, name: string) {
  return u.page.getByRole("navigation", { name: "Conversations" }).getByRole("button", {
    name: new RegExp(`(^|\\s)${name}(\\s|$)`),
  });
}

/** Opens the conversation `name` from the list and waits until it is the one shown. */
async function _open(u: WebUser, name: string): Promise<void> {
  await _entry(u, name).click();
  await u.page.getByRole("heading", { name: new RegExp(name) }).first().waitFor();
}

/** Presses the page's Log out button; waits for the login form. */
async function _logOutButton(u: WebUser): Promise<void> {
  await u.page.getByRole("button", { name: "Log out" }).click();
  await _sees(u, _TEXT.loginForm(u.name));
}

Deno.test("scenario, browser client: every /help command, buttons, groups, log out and in", async (t) => {
  const c = await TestCluster.start(1, { balancer: "round-robin" });
  const browser = await launchBrowser();
  const base = `http://127.0.0.1:${c.balancerPort}/`;
  const dave = new ClientProc("dave", { balancer: base, data: join(c.dir, "clients") });
  const users: WebUser[] = [];
  // A failed step stops the scenario: the ones after it build on it.
  const step = async (name: string, fn: () => Promise<void> | void) => {
    if (!(await t.step(name, fn))) throw new Error(`Stopped after the step "${name}"`);
  };
  try {
    const [alice, bob, carol] = await Promise.all(
      ["alice", "bob", "carol"].map((n) => WebUser.open(browser, n, base)),
    ) as [WebUser, WebUser, WebUser];
    users.push(alice, bob, carol);

    await step("three people sign up in their browsers; each is online", async () => {
      for (const u of users) await u.signIn();
      await dave.waitFor("ready", undefined, 60_000);
    });

    await step("alice reads the help and asks who she is", async () => {
      await _cmd(alice, "help");
      const text = await _sees(alice, COMMAND_SPECS.quit.usage);
      const missing = Object.values(COMMAND_SPECS).filter((s) => !text.includes(s.usage));
      assert.deepEqual(missing.map((s) => s.usage), [], `not in /help:\n${text}`);
      await _cmd(alice, "whoami");
      await _sees(alice, _TEXT.whoami("alice"));
      // The browser became alice's first device; she has no other to unlink.
      await _cmd(alice, "devices");
      await _sees(alice, /Your devices \(list version 1\):/);
      await _sees(alice, /Chrome on Linux +#1 +linked .*\(this device\)/);
      await _cmd(alice, "unlink phone");
      await _sees(alice, 'No device is named "phone"; "devices" lists them');
    });

    await step("carol adds alice; alice lists her requests and accepts carol", async () => {
      await _cmd(carol, "add_friend alice");
      await _sees(carol, _TEXT.added("alice"));
      await _sees(alice, _TEXT.request("carol"));
      await _cmd(alice, "requests");
      await _sees(alice, _TEXT.requestList("carol"));
      await _cmd(alice, "accept carol");
      await _sees(alice, _TEXT.accepted("carol"));
      await _entry(alice, "carol").waitFor();
    });

    await step(
      "alice adds bob, who accepts with the button; they write to each other",
      async () => {
        await _cmd(alice, "add_friend bob");
        await _sees(alice, _TEXT.added("bob"));
        await bob.page.getByRole("button", { name: "Accept alice" }).click();
        await _sees(bob, _TEXT.accepted("alice"));
        await _cmd(alice, "msg bob hello bob");
        await _open(bob, "alice");
        await bob.sees("hello bob");
        await bob.say("hi alice");
        await _open(alice, "bob");
        await alice.sees("hi alice");
        await alice.sees("hello bob");
      },
    );

    await step("alice compares safety numbers with bob, verifies him, lists contacts", async () => {
      await _cmd(alice, "fingerprint bob");
      await alice.page.getByRole("dialog").waitFor();
      await _sees(alice, /(\d{5}\s+){11}\d{5}/);
      await alice.page.keyboard.press("Escape");
      await _cmd(alice, "verify bob");
      await _sees(alice, _TEXT.verified("bob"));
      // The safety number dialog says so too; closed like any dialog.
      await alice.page.getByRole("dialog").waitFor();
      await alice.page.keyboard.press("Escape");
      await alice.page.getByRole("dialog").waitFor({ state: "detached" });
      await _entry(alice, "bob").getByTitle("Keys verified").waitFor();
      await _cmd(alice, "friends");
      const text = await _sees(alice, _TEXT.friend("bob", true));
      assert.match(text, _TEXT.friend("carol", false));
      await _open(alice, "Status");
      await _cmd(alice, "history bob 5");
      const history = await _sees(alice, /alice: hello bob/);
      assert.match(history, /bob: hi alice/);
    });

    await step(
      "a stranger's request: alice blocks dave, sees him listed, unblocks him",
      async () => {
        await dave.send("msg alice buy cheap watches");
        await _sees(alice, /dave\s+wants to talk to you: "buy cheap watches"/);
        await _cmd(alice, "block dave");
        await _sees(alice, _TEXT.blocked("dave"));
        await dave.send("msg alice are you there?");
        await _cmd(alice, "requests");
        await _sees(alice, _TEXT.blockedList("dave"));
        await _cmd(alice, "unblock dave");
        await _sees(alice, _TEXT.unblocked("dave"));
        await _seesNot(alice, "are you there", "nothing of a blocked user arrives");
      },
    );

    await step("alice shows and sets her file limit, then sends bob files", async () => {
      await _cmd(alice, "file_limit");
      await _sees(alice, _TEXT.fileLimit("25.0"));
      await _cmd(alice, "file_limit 1");
      await _sees(alice, _TEXT.fileLimit("1.0"));
      await _open(alice, "bob");
      await _cmd(alice, "send_file bob notes.txt");
      await _sees(alice, _TEXT.pickFile);
      await alice.page.setInputFiles("#file-input", {
        name: "notes.txt",
        mimeType: "text/plain",
        buffer: Buffer.from("trail notes\n".repeat(200)),
      });
      await _sees(bob, _TEXT.fileLine("notes.txt"), 30_000);
    });

    await step("alice makes a group with bob and writes to it", async () => {
      await _cmd(alice, "create_group hikers bob");
      await _open(alice, "hikers");
      await _sees(alice, _TEXT.created("You"));
      await _open(bob, "hikers");
      await _sees(bob, _TEXT.addedYou("alice", "hikers"));
      await _cmd(alice, "gmsg hikers hello hikers");
      await bob.sees("hello hikers");
    });

    await step(
      "carol logs out; alice adds dave, a stranger online, and carol, offline",
      async () => {
        await _logOutButton(carol);
        await _cmd(alice, "add_member hikers dave");
        await _strangerAdded(alice, bob, dave);
        await _cmd(alice, "add_member hikers carol");
        await _sees(alice, _TEXT.joined("carol"));
        await _sees(bob, _TEXT.joined("carol"));
        await alice.say("while carol was away");
        await bob.sees("while carol was away");
      },
    );

    await step(
      "carol logs in again, finds the group, reads what came while away, posts",
      async () => {
        await carol.signIn();
        await _open(carol, "hikers");
        await carol.sees("while carol was away");
        await carol.say("carol is back");
        await alice.sees("carol is back");
        await bob.sees("carol is back");
        await _cmd(alice, "groups");
        const m = _TEXT.groupLine("hikers").exec(await _sees(alice, _TEXT.groupLine("hikers")))!;
        assert.equal(m[1], "alice");
        for (const u of ["alice", "bob", "carol", "dave"]) assert.match(m[2]!, new RegExp(u));
      },
    );

    await step(
      "alice removes dave, hands the group to bob and leaves; bob deletes it",
      async () => {
        await _cmd(alice, "remove_member hikers dave");
        await _sees(alice, _TEXT.removed("dave"));
        await _sees(carol, _TEXT.removed("dave"));
        await _cmd(alice, "transfer_group hikers bob");
        await _sees(alice, _TEXT.admin("bob"));
        await _sees(bob, _TEXT.youAdmin);
        await _cmd(alice, "leave_group hikers");
        await _sees(alice, _TEXT.left("You"));
        await _sees(bob, _TEXT.left("alice"));
        await _sees(carol, _TEXT.left("alice"));
        await _cmd(bob, "delete_group hikers");
        await _sees(bob, _TEXT.deleted("You"));
        await _sees(carol, _TEXT.deleted("bob"));
      },
    );

    await step("alice types /logout; with a wrong password first, she logs in again", async () => {
      await _cmd(alice, "logout");
      await _sees(alice, _TEXT.loginForm("alice"));
      // Meanwhile bob's keys change (a new device, or someone in between).
      await c.query("UPDATE users SET identity_key = $1 WHERE username = 'bob'", [
        toBase64Url(generateIdentityKeyPair().publicKey, false),
      ]);
      await alice.page.fill("#password", "not my password");
      await alice.page.getByRole("button", { name: "Log in" }).click();
      await _sees(alice, _TEXT.wrongPassword("alice"), 30_000);
      await alice.signIn();
      await _open(alice, "bob");
      await alice.sees("hi alice");
    });

    await step("alice is warned of bob's new keys and accepts them", async () => {
      await _sees(alice, _TEXT.keysChanged("bob"));
      await _cmd(alice, "accept_key bob");
      await _sees(alice, _TEXT.keysAccepted("bob"));
    });

    await step("mistakes are told in words that name what was wrong", async () => {
      await _cmd(alice, "resend");
      await _sees(alice, _TEXT.nothingToResend);
      await _cmd(alice, "msg zed hello");
      await _sees(alice, _TEXT.noUser("zed"));
      await alice.say("/bogus");
      await _sees(alice, /Unknown command "bogus"/);
    });

    await step("/quit leaves the chat for the login form", async () => {
      await _cmd(bob, "quit");
      await _sees(bob, _TEXT.loginForm("bob"));
    });

    await step("with no server left, signing in says so", async () => {
      await c.kill(1, "SIGTERM");
      await bob.page.fill("#password", "pw-of-bob");
      await bob.page.getByRole("button", { name: "Log in" }).click();
      // Said while it tries, not only when the attempts run out.
      await _sees(bob, _TEXT.noServer);
    });

    await step("every command of /help was typed in this scenario", () => {
      const all = Object.keys(COMMAND_SPECS);
      assert.deepEqual(all.filter((n) => !_exercised.has(n)), [], "commands without a step");
    });
  } catch (err) {
    for (const u of users) console.error(`--- ${u.name}'s page log:\n${u.log()}`);
    throw err;
  } finally {
    await Promise.allSettled(users.map((u) => u.context.close()));
    await browser.close();
    await dave.kill();
    await c.stop();
  }
});

/** dave, a stranger to alice, added to her group while online: everyone sees him join. */
async function _strangerAdded(alice: WebUser, bob: WebUser, dave: ClientProc): Promise<void> {
  await _sees(alice, _TEXT.joined("dave"));
  await _sees(bob, _TEXT.joined("dave"));
  await dave.waitFor("group", (e) => e.change === "added" && e.name === "hikers");
}
