/**
 * The full-screen client as a person uses it, in a real terminal (tmux) against a real
 * cluster: typing while messages arrive, conversations and unread counts, message states,
 * history, completion, a 100 KB paste arriving whole, Unicode arriving intact, lists and
 * help written out, notices that clear.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { selfCommand } from "../core/cluster/self_command.ts";
import { generateIdentityKeyPair, toBase64Url } from "../core/crypto/mod.ts";
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
  // CI=true as CI machines set it: the client must still draw on a terminal (Ink alone
  // would draw nothing until exit there).
  return ["env", "CI=true", `FASTCHAT_PASSWORD=pw-of-${user}`, cmd, ...args];
}

/** The notice line: the one above the input line (whose prompt ends in "> "). */
function _noticeLine(screen: string): string {
  const lines = screen.split("\n");
  const input = lines.findLastIndex((l) => /^(?:[@#]\S*)?> /.test(l));
  return input > 0 ? lines[input - 1]! : "";
}

Deno.test("full-screen client: chat while messages arrive, switch, history, completion, paste", async () => {
  const c = await TestCluster.start(2, { balancer: "round-robin" });
  const tmux = new Tmux();
  const data = join(c.dir, "clients");
  const balancer = `http://127.0.0.1:${c.balancerPort}`;
  const bob = new ClientProc("bob", { balancer, data });
  const carol = new ClientProc("carol", { balancer, data });
  const dave = new ClientProc("dave", { balancer, data });
  try {
    await bob.waitFor("ready");
    await carol.waitFor("ready");
    await tmux.start("alice", _tuiArgv(balancer, data, "alice"), 120, 30);
    // Registration makes an RSA-2048 key first: allow for a busy machine.
    let screen = await tmux.until("alice", /alice #\d+\s+│\s+online · server \d/, 60_000);

    // Friends, from the status pane without a slash.
    await tmux.type("alice", "add_friend bob");
    await tmux.keys("alice", ["Enter"]);
    // A contact; whether he is online is not told: bob has not made her a contact.
    await tmux.until("alice", /2 @bob/);
    // A stranger's first contact is a request: shown, then accepted (or blocked).
    await carol.send("add_friend alice");
    await tmux.until("alice", /carol wants to talk to you/);
    assert.doesNotMatch(await tmux.screen("alice"), /3 ●carol/, "not a contact before accept");
    await tmux.type("alice", "accept carol");
    await tmux.keys("alice", ["Enter"]);
    await tmux.until("alice", /3 ●carol/);
    // A second stranger is blocked: nothing of theirs arrives.
    await dave.waitFor("ready");
    await dave.send("msg alice buy cheap watches");
    await tmux.until("alice", /dave wants to talk to you: "buy cheap watches"/);
    await tmux.type("alice", "block dave");
    await tmux.keys("alice", ["Enter"]);
    await tmux.until("alice", /You blocked dave/);
    await dave.send("msg alice are you there?");
    // Answered requests leave no notice above the prompt.
    assert.doesNotMatch(_noticeLine(await tmux.screen("alice")), /wants to talk/);

    // Lists asked for are written out; a notice stays only until the next command.
    await tmux.type("alice", "/bogus");
    await tmux.keys("alice", ["Enter"]);
    await tmux.until("alice", /Unknown command "bogus"/);
    await tmux.type("alice", "/friends");
    await tmux.keys("alice", ["Enter"]);
    screen = await tmux.until("alice", /\bbob\s+#\d+/);
    assert.match(screen, /\bcarol\s+#\d+/);
    assert.doesNotMatch(_noticeLine(screen), /Unknown command/, "the notice cleared");
    await tmux.type("alice", "groups");
    await tmux.keys("alice", ["Enter"]);
    await tmux.until("alice", /No groups yet: create_group NAME USER/);
    await tmux.type("alice", "/history bob 5");
    await tmux.keys("alice", ["Enter"]);
    await tmux.until("alice", /No messages with bob\./);

    // Typing while a message arrives: the half-typed line stays, the unread count shows.
    await tmux.type("alice", "half typed");
    await bob.waitFor("request"); // alice is a stranger to bob until he writes back
    await bob.send("msg alice ping from bob");
    screen = await tmux.until("alice", /[●@]bob \(1\)/);
    assert.match(screen, /> half typed/);

    // Switch to bob (Ctrl-N twice from the status pane... once to bob): unread clears.
    await tmux.keys("alice", ["C-u"]);
    await tmux.keys("alice", ["C-n"]);
    screen = await tmux.until("alice", /bob: ping from bob/);
    assert.doesNotMatch(screen, /[●@]bob \(1\)/);
    assert.match(screen, /@bob>/);

    // Plain text goes to the open conversation; its state goes to delivered in place.
    await tmux.type("alice", "hello bob");
    await tmux.keys("alice", ["Enter"]);
    const got = await bob.waitFor("message", (m) => m.text === "hello bob");
    assert.equal(got.from_name, "alice");
    await tmux.until("alice", /you: hello bob ✓✓/);

    // History: Up brings the sent line back.
    await tmux.keys("alice", ["Up"]);
    await tmux.until("alice", /@bob> hello bob/);
    await tmux.keys("alice", ["C-u"]);

    // Tab completes commands and names.
    await tmux.type("alice", "/fingerp");
    await tmux.keys("alice", ["Tab"]);
    await tmux.until("alice", /@bob> \/fingerprint$/m); // the completion adds a space
    await tmux.type("alice", "ca");
    await tmux.keys("alice", ["Tab"]);
    await tmux.until("alice", /@bob> \/fingerprint carol$/m);
    await tmux.keys("alice", ["Enter"]);
    // Three rows of four 5-digit groups, under the line that names carol.
    await tmux.until("alice", /Safety number with carol:.*\n(.*• (\d{5} ){3}\d{5} .*\n){3}/);
    // Compared in person: verify, shown as ✓ in the list.
    await tmux.type("alice", "/verify carol");
    await tmux.keys("alice", ["Enter"]);
    await tmux.until("alice", /3 ●carol ✓/);

    // A 100 KB paste (newlines included) arrives whole, as one message.
    const big = Array.from({ length: 1000 }, (_, i) => `line ${i} ${"x".repeat(92)}`).join("\n");
    assert.ok(big.length > 100_000);
    await tmux.paste("alice", big);
    await tmux.until("alice", /\[\d{6} chars\]/);
    await tmux.keys("alice", ["Enter"]);
    const pasted = await bob.waitFor("message", (m) => m.text.startsWith("line 0 "), 30_000);
    assert.equal(pasted.text, big);

    // Scrollback through the long message, and the help: every command, then keys above.
    await tmux.until("alice", /line 999/);
    await tmux.keys("alice", ["PPage"]);
    screen = await tmux.until("alice", /scrolled \d+ up \(PgDn\)/);
    assert.doesNotMatch(screen, /line 999/);
    await tmux.keys("alice", ["NPage"]);
    screen = await tmux.until("alice", /line 999/);
    assert.doesNotMatch(screen, /scrolled \d+ up/);
    await tmux.type("alice", "/help");
    await tmux.keys("alice", ["Enter"]);
    await tmux.until("alice", /file_limit \[MB\]\s+Show or set/);
    await tmux.keys("alice", ["PPage"]);
    await tmux.until("alice", /query NAME\s+open a conversation/);
    await tmux.keys("alice", ["NPage"]);
    await tmux.until("alice", /quit\s+Leave \(queued messages are sent first\)/);

    // Unicode arrives intact: a ZWJ family, the rainbow flag, Persian with ZWNJ.
    const unicode = "👩‍👩‍👧‍👦 🏳️‍🌈 می‌خواهم e\u0301";
    await bob.send(`msg alice ${unicode}`);
    screen = await tmux.until("alice", /bob: .*می‌خواهم/);
    // Exactly what this terminal shows for the raw text: nothing replaced or dropped by us.
    assert.ok(screen.includes(await tmux.rendered(unicode)), screen);
    assert.doesNotMatch(screen, /\uFFFD/);

    // A right-to-left override is closed inside its message: it cannot reverse what follows.
    await bob.send("msg alice invoice\u202Efdp.exe now");
    screen = await tmux.until("alice", /bob: .*invoice/);
    const line = screen.split("\n").find((l) => l.includes("invoice"))!;
    // (Ink draws cell by cell and drops zero-width controls; either way none may stay open.)
    const count = (ch: string) => [...line].filter((x) => x === ch).length;
    assert.equal(count("\u202E"), count("\u202C"), "every override is closed in its message");
    assert.match(line, /invoice\u202E?fdp\.exe now/);

    // Messages elsewhere count as unread; Alt-3 jumps there.
    await carol.send("msg alice hi from carol");
    await tmux.until("alice", /●carol ✓ \(1\)/);
    await tmux.keys("alice", ["M-3"]);
    await tmux.until("alice", /carol: hi from carol/);

    assert.doesNotMatch(await tmux.screen("alice"), /are you there/, "blocked stays blocked");

    // Groups: a second group of the same name is flagged; the admin hands one over, then leaves.
    await tmux.type("alice", "/create_group hikers bob carol");
    await tmux.keys("alice", ["Enter"]);
    await tmux.until("alice", /4 #hikers/); // dave, blocked, left the list
    await tmux.type("alice", "/create_group hikers carol");
    await tmux.keys("alice", ["Enter"]);
    await tmux.until("alice", /You are now in 2 groups named "hikers"/);
    await tmux.until("alice", /5 #hikers/);
    await tmux.keys("alice", ["M-4"]);
    await tmux.until("alice", /#hikers>/);
    const first = await bob.waitFor("group", (g) => g.change === "created" && g.name === "hikers");
    await tmux.type("alice", `/transfer_group ${first.group} bob`);
    await tmux.keys("alice", ["Enter"]);
    const handed = await bob.waitFor("group", (g) => g.change === "admin_changed");
    assert.equal(handed.admin, handed.user);
    assert.equal(handed.user_name, "bob");
    await tmux.until("alice", /bob is now the admin/);
    await tmux.type("alice", `/leave_group ${handed.group}`);
    await tmux.keys("alice", ["Enter"]);
    await bob.waitFor("group", (g) => g.change === "left" && g.user_name === "alice");

    // A live key change: the directory now shows other keys for carol (verified above). Alice's
    // server dies; on the reconnect the client checks again and flags carol loudly.
    await c.query("UPDATE users SET identity_key = $1 WHERE username = 'carol'", [
      toBase64Url(generateIdentityKeyPair().publicKey, false),
    ]);
    const server = Number(/online · server (\d+)/.exec(await tmux.screen("alice"))![1]);
    await c.kill(server, "SIGKILL");
    await tmux.until("alice", new RegExp(`online · server ${3 - server}`), 40_000);
    screen = await tmux.until("alice", /carol is a VERIFIED contact/, 30_000);
    assert.match(screen, /3 [●○@]carol !/, "flagged in the list");
    assert.doesNotMatch(screen, /carol ✓/, "the verified mark is gone");

    await tmux.keys("alice", ["C-c"]);
    await untilAsync(
      async () => !(await tmux.has("alice")),
      "the client to exit on Ctrl-C",
      15_000,
      100,
    );
  } finally {
    await tmux.kill();
    await bob.kill();
    await carol.kill();
    await dave.kill();
    await c.stop();
  }
});
