/**
 * The full-screen client as people use it (issue 18's user test, written down): alice, bob
 * and carol each in a real terminal (tmux) and dave, a stranger, on the scriptable client,
 * all against one real cluster. Every command `/help` lists is typed at least once and the
 * screen is read after it; the test fails when a command of the table (`COMMAND_SPECS`) has
 * no step here. Groups are made, grown by an online stranger and an offline contact (who
 * then logs in and reads), shrunk, handed over, left and deleted; requests are accepted and
 * blocked; a contact is verified and their changed keys accepted; alice logs out and in
 * again, first with a wrong password; mistakes are told in words that name what was wrong;
 * and a client with no cluster says so.
 *
 * What is asserted sits in the small `_sees*` helpers and the `_TEXT` table, so that a change
 * of wording is one edit.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { COMMAND_SPECS, parseCommand } from "../core/client/engine/commands.ts";
import { selfCommand } from "../core/cluster/self_command.ts";
import { generateIdentityKeyPair, toBase64Url } from "../core/crypto/mod.ts";
import { TUI_COMMANDS } from "../core/tui/controller.ts";
import { ClientProc } from "./helpers/client_proc.ts";
import { freePort, TestCluster } from "./helpers/cluster.ts";
import { Tmux } from "./helpers/tmux.ts";

/** What the screen says after each step: the stable words, in one place. */
const _TEXT = {
  online: /online · server \d/,
  exited: (code: number) => new RegExp(`\\[exited ${code}\\]`),
  whoami: (user: string) => new RegExp(`You are ${user} \\(#\\d+\\) on server \\d`),
  added: (user: string) => new RegExp(`You added ${user}`),
  request: (user: string) => new RegExp(`${user} wants to talk to you`),
  requestList: (user: string) =>
    new RegExp(`Requests \\(accept USER, or block USER\\):.*\\n.*${user}`),
  accepted: (user: string) => new RegExp(`You accepted ${user}`),
  blocked: (user: string) => new RegExp(`You blocked ${user}`),
  blockedList: (user: string) => new RegExp(`Blocked: ${user}`),
  unblocked: (user: string) => new RegExp(`Unblocked ${user}`),
  safety: (user: string) =>
    new RegExp(`Safety number with ${user}:.*\\n(.*(\\d{5} ){3}\\d{5}.*\\n){3}`),
  verified: (user: string) => new RegExp(`You verified ${user}'s keys`),
  friend: (user: string, verified: boolean) =>
    new RegExp(`\\b${user}\\s+#\\d+${verified ? "\\s+verified" : ""}`),
  fileLimit: (mib: string) => new RegExp(`saved up to ${mib.replace(".", "\\.")} MiB`),
  fileIn: (from: string, name: string) => new RegExp(`${from}: sent a file: ${name}`),
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
  loggedOut: /Logged out/,
  // At the start of its line: not glued to a half-drawn screen.
  wrongPassword: (user: string) => new RegExp(`^Wrong password for ${user}; try again`, "m"),
  keysChanged: (user: string) => new RegExp(`${user} is a VERIFIED contact`),
  keysAccepted: (user: string) => new RegExp(`You accepted ${user}'s new keys`),
  noCluster: /No FastChat cluster answers at/,
  nothingToResend: /No failed messages.* to resend/,
  noUser: (user: string) => new RegExp(`No user named "${user}"`),
  noGroup: (group: string) => new RegExp(`No group "${group}"`),
  notAdmin: (group: string) => new RegExp(`Only the admin of "?${group}\\b.* can do that`),
} as const;

/** Commands typed so far, by the name `parseCommand` gives them (aliases count). */
const _exercised = new Set<string>();

/** A pattern that matches `s` literally. */
function _re(s: string): RegExp {
  return new RegExp(s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
}

/** One person at a terminal: a tmux session running `fastchat client`. */
class _Person {
  constructor(
    readonly tmux: Tmux,
    readonly name: string,
    readonly balancer: string,
    readonly data: string,
  ) {}

  /**
   * Starts the client in the session (again, after it exited); `password: null` leaves the
   * password to be typed. The session stays after the client exits, showing its last words
   * and `[exited CODE]`.
   */
  async start(password: string | null = `pw-of-${this.name}`, balancer = this.balancer) {
    if (await this.tmux.has(this.name)) await this.tmux.run("kill-session", "-t", this.name);
    const { cmd, args } = selfCommand([
      "client",
      "--balancer",
      balancer,
      "--user",
      this.name,
      "--data",
      this.data,
      "--keystore-scrypt-n",
      "1024",
    ]);
    const q = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
    const env = password === null
      ? "env -u FASTCHAT_PASSWORD"
      : `env FASTCHAT_PASSWORD=${q(password)}`;
    // CI=true as CI machines set it: the client must still draw on a terminal.
    const line = `${env} CI=true ${[cmd, ...args].map(q).join(" ")}; echo "[exited $?]"; sleep 600`;
    await this.tmux.start(this.name, ["sh", "-c", line], 120, 32);
  }

  /** Types `line` as a command (with a slash) and presses Enter. */
  async cmd(line: string): Promise<void> {
    const word = line.trim().split(/\s+/)[0]!;
    if ((TUI_COMMANDS as readonly string[]).includes(word)) _exercised.add(word);
    else _exercised.add(parseCommand(line)!.name);
    await this.type(`/${line}`);
  }

  /** Types `text` (a message to the open conversation, or a password) and presses Enter. */
  async type(text: string): Promise<void> {
    await this.tmux.type(this.name, text);
    await this.tmux.keys(this.name, ["Enter"]);
  }

  /** Waits until the screen shows `what`; returns the screen. */
  sees(what: string | RegExp, timeoutMs = 20_000): Promise<string> {
    return this.tmux.until(this.name, typeof what === "string" ? _re(what) : what, timeoutMs);
  }

  /** Fails if the screen shows `what` now. */
  async seesNot(what: string | RegExp, why: string): Promise<void> {
    const screen = await this.screen();
    assert.doesNotMatch(screen, typeof what === "string" ? _re(what) : what, `${why}:\n${screen}`);
  }

  screen(): Promise<string> {
    return this.tmux.screen(this.name);
  }

  /** Opens the conversation `name` (a contact or a group) and waits until it shows. */
  async open(name: string): Promise<void> {
    await this.cmd(`query ${name}`);
    await this.sees(new RegExp(`^[@#]${name}>( |$)`, "m"));
  }
}

/** The side list's entry for `name`: `2 ●bob`, `4 #hikers`, with a ✓ when verified. */
function _listed(name: string, verified = false): RegExp {
  return new RegExp(`\\d [●○@#]${name}${verified ? " ✓" : ""}`);
}

/** Every usage line of the command table is on one of the help's screens. */
async function _seesWholeHelp(p: _Person): Promise<void> {
  let screen = await p.sees(/quit\s+Leave/);
  const screens = [screen];
  // Page up to the help's first line, each page read once it is drawn.
  for (let pages = 0; !/\bKeys\b/.test(screen); pages++) {
    assert.ok(pages < 10, `the help's top never came into view:\n${screen}`);
    const before = /scrolled (\d+) up/.exec(screen)?.[1] ?? "0";
    await p.tmux.keys(p.name, ["PPage"]);
    screen = await p.sees(new RegExp(`scrolled (?!${before} )\\d+ up`));
    screens.push(screen);
  }
  const all = screens.join("\n");
  const missing = Object.values(COMMAND_SPECS).filter((s) => !all.includes(s.usage));
  assert.deepEqual(missing.map((s) => s.usage), [], `not in /help:\n${all}`);
  assert.match(all, /query NAME\s+open a conversation/);
  for (let i = 0; i < screens.length; i++) await p.tmux.keys(p.name, ["NPage"]);
  await p.sees(/quit\s+Leave/);
}

Deno.test("scenario, full-screen client: every /help command, groups, requests, log out and in", async (t) => {
  const c = await TestCluster.start(1, { balancer: "round-robin" });
  const tmux = new Tmux();
  const data = join(c.dir, "clients");
  const balancer = `http://127.0.0.1:${c.balancerPort}`;
  const [alice, bob, carol] = ["alice", "bob", "carol"].map((n) =>
    new _Person(tmux, n, balancer, data)
  ) as [_Person, _Person, _Person];
  const dave = new ClientProc("dave", { balancer, data });
  const notes = join(c.dir, "notes.txt");
  await Deno.writeTextFile(notes, "trail notes\n".repeat(200));
  // A failed step stops the scenario: the ones after it build on it.
  const step = async (name: string, fn: () => Promise<void> | void) => {
    if (!(await t.step(name, fn))) throw new Error(`Stopped after the step "${name}"`);
  };
  try {
    await step("three people start the client; each is online", async () => {
      await Promise.all([alice.start(), bob.start(), carol.start()]);
      // Registration makes an RSA-2048 key first: allow for a busy machine.
      await Promise.all([alice, bob, carol].map((p) => p.sees(_TEXT.online, 60_000)));
      await dave.waitFor("ready", undefined, 60_000);
    });

    await step("carol reads the help, asks who she is, adds alice and quits", async () => {
      await carol.cmd("help");
      await _seesWholeHelp(carol);
      await carol.cmd("whoami");
      await carol.sees(_TEXT.whoami("carol"));
      // The keystore became carol's first device; she has no other to unlink.
      await carol.cmd("devices");
      await carol.sees(/Your devices \(list version 1\):/);
      await carol.sees(/#1 +linked .*\(this device\)/);
      await carol.cmd("unlink phone");
      await carol.sees(/No device is named "phone"; "devices" lists them/);
      await carol.cmd("add_friend alice");
      await carol.sees(_TEXT.added("alice"));
      await carol.sees(_listed("alice"));
      await carol.cmd("quit");
      await carol.sees(_TEXT.exited(0));
    });

    await step("alice lists her requests and accepts carol", async () => {
      await alice.sees(_TEXT.request("carol"));
      await alice.cmd("requests");
      await alice.sees(_TEXT.requestList("carol"));
      await alice.seesNot(_listed("carol"), "not a contact before accepting");
      await alice.cmd("accept carol");
      await alice.sees(_TEXT.accepted("carol"));
      await alice.sees(_listed("carol"));
    });

    await step("alice and bob become contacts and write to each other", async () => {
      await alice.cmd("add_friend bob");
      await alice.sees(_TEXT.added("bob"));
      await bob.sees(_TEXT.request("alice"));
      await bob.cmd("accept alice");
      await bob.sees(_TEXT.accepted("alice"));
      await alice.cmd("msg bob hello bob");
      await bob.sees(/alice \(1\)/);
      await bob.open("alice");
      await bob.sees("alice: hello bob");
      await bob.type("hi alice");
      await bob.sees(/you: hi alice ✓✓/);
      await alice.open("bob");
      await alice.sees("bob: hi alice");
      await alice.sees(/you: hello bob ✓✓/);
    });

    await step(
      "alice compares safety numbers with bob, verifies him, lists contacts",
      async () => {
        await alice.cmd("fingerprint bob");
        await alice.sees(_TEXT.safety("bob"));
        await alice.cmd("verify bob");
        await alice.sees(_TEXT.verified("bob"));
        await alice.sees(_listed("bob", true));
        await alice.cmd("friends");
        const screen = await alice.sees(_TEXT.friend("bob", true));
        assert.match(screen, _TEXT.friend("carol", false));
        await alice.cmd("close");
        await alice.sees(/^>( |$)/m);
        await alice.cmd("history bob 5");
        const history = await alice.sees(/alice: hello bob/);
        assert.match(history, /bob: hi alice/);
      },
    );

    await step(
      "a stranger's request: alice blocks dave, sees him listed, unblocks him",
      async () => {
        await dave.send("msg alice buy cheap watches");
        await alice.sees(/dave wants to talk to you: "buy cheap watches"/);
        await alice.cmd("block dave");
        await alice.sees(_TEXT.blocked("dave"));
        await dave.send("msg alice are you there?");
        await alice.cmd("requests");
        await alice.sees(_TEXT.blockedList("dave"));
        await alice.cmd("unblock dave");
        await alice.sees(_TEXT.unblocked("dave"));
        await alice.seesNot("are you there", "nothing of a blocked user arrives");
      },
    );

    await step("alice shows and sets her file limit, then sends bob a file", async () => {
      await alice.cmd("file_limit");
      await alice.sees(_TEXT.fileLimit("25.0"));
      await alice.cmd("file_limit 1");
      await alice.sees(_TEXT.fileLimit("1.0"));
      await alice.cmd(`send_file bob ${notes}`);
      await bob.sees(_TEXT.fileIn("alice", "notes.txt"));
    });

    await step("alice makes a group with bob and writes to it", async () => {
      await alice.cmd("create_group hikers bob");
      await alice.sees(_listed("hikers"));
      await alice.open("hikers");
      await alice.sees(_TEXT.created("You"));
      await bob.sees(_listed("hikers"));
      await bob.open("hikers");
      await bob.sees(_TEXT.addedYou("alice", "hikers"));
      await alice.cmd("gmsg hikers hello hikers");
      await bob.sees("alice: hello hikers");
    });

    await step("alice adds dave, a stranger online, and carol, a contact offline", async () => {
      await alice.cmd("add_member hikers dave");
      await _strangerAdded(alice, bob, dave);
      await alice.cmd("add_member hikers carol");
      await alice.sees(_TEXT.joined("carol"));
      await bob.sees(_TEXT.joined("carol"));
      await alice.type("while carol was away");
      await bob.sees("alice: while carol was away");
      await alice.sees(/you: while carol was away ✓✓/);
    });

    await step(
      "carol logs in, finds the group, reads what came while away and posts",
      async () => {
        await carol.start();
        await carol.sees(_TEXT.online);
        await carol.sees(_listed("hikers"));
        await carol.open("hikers");
        await carol.sees("alice: while carol was away");
        await carol.type("carol is back");
        await alice.sees("carol: carol is back");
        await bob.sees("carol: carol is back");
        await alice.cmd("groups");
        const m = _TEXT.groupLine("hikers").exec(await alice.sees(_TEXT.groupLine("hikers")))!;
        assert.equal(m[1], "alice");
        for (const u of ["alice", "bob", "carol", "dave"]) assert.match(m[2]!, new RegExp(u));
      },
    );

    await step(
      "alice removes dave, hands the group to bob and leaves; bob deletes it",
      async () => {
        await bob.cmd("remove_member hikers carol");
        await bob.sees(_TEXT.notAdmin("hikers"));
        await alice.cmd("remove_member hikers dave");
        await alice.sees(_TEXT.removed("dave"));
        await carol.sees(_TEXT.removed("dave"));
        await alice.cmd("transfer_group hikers bob");
        await alice.sees(_TEXT.admin("bob"));
        await bob.sees(_TEXT.youAdmin);
        await alice.cmd("leave_group hikers");
        await alice.sees(_TEXT.left("You"));
        await bob.sees(_TEXT.left("alice"));
        await carol.sees(_TEXT.left("alice"));
        await bob.cmd("delete_group hikers");
        await bob.sees(_TEXT.deleted("You"));
        await carol.sees(_TEXT.deleted("bob"));
        await bob.cmd("groups");
        await bob.sees(/No groups yet/);
      },
    );

    await step("alice logs out; with a wrong password first, she logs in again", async () => {
      await alice.cmd("logout");
      await alice.sees(_TEXT.loggedOut);
      await alice.sees(_TEXT.exited(0));
      // Meanwhile bob's keys change (a new device, or someone in between).
      await c.query("UPDATE users SET identity_key = $1 WHERE username = 'bob'", [
        toBase64Url(generateIdentityKeyPair().publicKey, false),
      ]);
      await alice.start(null);
      await alice.sees(/Password: *$/m);
      await alice.type("not my password");
      await alice.sees(_TEXT.wrongPassword("alice"));
      await alice.type("pw-of-alice");
      await alice.sees(_TEXT.online, 30_000);
      await alice.open("bob");
      await alice.sees("bob: hi alice");
    });

    await step("alice is warned of bob's new keys, compares and accepts them", async () => {
      await alice.sees(_TEXT.keysChanged("bob"));
      await alice.sees(/[●○@]bob !/);
      await alice.cmd("fingerprint bob");
      await alice.sees(_TEXT.safety("bob"));
      await alice.cmd("accept_key bob");
      await alice.sees(_TEXT.keysAccepted("bob"));
      await alice.seesNot(/[●○@]bob !/, "the flag is gone");
    });

    await step("mistakes are told in words that name what was wrong", async () => {
      await alice.cmd("resend");
      await alice.sees(_TEXT.nothingToResend);
      await alice.cmd("msg zed hello");
      await alice.sees(_TEXT.noUser("zed"));
      await alice.cmd("add_member nosuchgroup carol");
      await alice.sees(_TEXT.noGroup("nosuchgroup"));
      await alice.type("/history");
      await alice.sees(/Usage: history USER\|GROUP \[N\]/);
      await alice.type("/bogus");
      await alice.sees(/Unknown command "bogus"/);
    });

    await step("a client with no cluster says so", async () => {
      const nobody = new _Person(tmux, "nobody", balancer, data);
      await nobody.start(undefined, `http://127.0.0.1:${freePort()}`);
      await nobody.sees(_TEXT.noCluster);
      await nobody.sees(_TEXT.exited(1));
    });

    await step("every command of /help was typed in this scenario", () => {
      const all = [...Object.keys(COMMAND_SPECS), ...TUI_COMMANDS];
      assert.deepEqual(all.filter((n) => !_exercised.has(n)), [], "commands without a step");
    });
  } finally {
    await tmux.kill();
    await dave.kill();
    await c.stop();
  }
});

/** dave, a stranger to alice, added to her group while online: everyone sees him join. */
async function _strangerAdded(alice: _Person, bob: _Person, dave: ClientProc): Promise<void> {
  await alice.sees(_TEXT.joined("dave"));
  await bob.sees(_TEXT.joined("dave"));
  await dave.waitFor("group", (e) => e.change === "added" && e.name === "hikers");
}
