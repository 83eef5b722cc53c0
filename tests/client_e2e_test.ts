/**
 * The terminal client end to end: real cluster processes, real client processes in
 * scriptable JSON mode, everything on 127.0.0.1.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { sha256 } from "@noble/hashes/sha2.js";
import { toBase64Url, toHex } from "../core/crypto/bytes.ts";
import { generateFernetKey, generateIdentityKeyPair } from "../core/crypto/mod.ts";
import { sealDirect } from "../core/e2e/mod.ts";
import { openStore } from "../core/store/open_store.ts";
import { acceptGroup, ClientProc } from "./helpers/client_proc.ts";
import { freePort, Proc, TestCluster, testEachBackend, waitHealthy } from "./helpers/cluster.ts";
import type { StoreBackend } from "../core/store/open_store.ts";
import { openKeystoreFile } from "../core/client/deno/keystore_file.ts";

async function _setup(backend: StoreBackend, n = 3, strategy = "round-robin") {
  const cluster = await TestCluster.start(n, { balancer: strategy, backend });
  const data = join(cluster.dir, "clients");
  const procs: ClientProc[] = [];
  const start = async (user: string, password?: string) => {
    const p = new ClientProc(user, {
      balancer: `http://127.0.0.1:${cluster.balancerPort}`,
      data,
      password,
    });
    procs.push(p);
    await p.waitFor("ready");
    return p;
  };
  const stop = async () => {
    for (const p of procs) await p.kill();
    await cluster.stop();
  };
  return { cluster, data, start, stop };
}

/**
 * Makes `a` and `b` contacts: `a` adds `b`, and `b` accepts the request (a first message
 * from someone who is not a contact is only a request until then).
 */
async function _befriend(a: ClientProc, b: ClientProc) {
  await a.send(`add_friend ${b.user}`);
  await b.waitFor("request", (e) => e.user === a.user);
  await b.send(`accept ${a.user}`);
  await b.waitFor("friend", (e) => e.user === a.user && e.initiated_by === "them");
}

/** Stores a direct message straight into the server database, as a malicious server could. */
async function _inject(db: string, from: number, id: string, body: string, to: number) {
  const store = await openStore(db);
  try {
    await store.saveMessages([{
      senderId: from,
      clientMsgId: id,
      kind: "direct",
      groupId: null,
      body,
      recipients: [{ userId: to }],
    }]);
  } finally {
    await store.close();
  }
}

testEachBackend(
  "client users become friends and exchange encrypted direct messages",
  async (backend) => {
    const t = await _setup(backend);
    try {
      const alice = await t.start("alice");
      const bob = await t.start("bob");
      await alice.send("single_message bob hello bob, this is alice");
      // alice is not bob's contact: her first message is a request until bob accepts.
      const req = await bob.waitFor("request", (e) => e.text === "hello bob, this is alice");
      assert.equal(req.user, "alice");
      assert.equal(bob.all("message").length, 0);
      await bob.send("accept alice");
      const m = await bob.waitFor("message", (e) => e.from_name === "alice");
      assert.equal(m.text, "hello bob, this is alice");
      assert.equal(m.group, null);
      await bob.waitFor("friend", (e) => e.user === "alice" && e.initiated_by === "them");
      await alice.waitFor("delivered", (e) => e.to_name === "bob");
      await bob.send("msg alice hi alice!");
      const back = await alice.waitFor("message", (e) => e.from_name === "bob");
      assert.equal(back.text, "hi alice!");
      // Both ends exit 0 once their messages are acknowledged.
      assert.equal((await alice.finish()).code, 0);
      assert.equal((await bob.finish()).code, 0);
    } finally {
      await t.stop();
    }
  },
);

testEachBackend(
  "client groups: members read, a removed member gets no key for what follows",
  async (backend) => {
    const t = await _setup(backend);
    try {
      const alice = await t.start("alice");
      const bob = await t.start("bob");
      const carol = await t.start("carol");
      await alice.send("create_group team bob carol");
      // alice is a stranger to both: her group is a request each accepts.
      const gid = await acceptGroup(bob, "team");
      await acceptGroup(carol, "team");
      await bob.waitFor("group_key", (e) => e.group === gid && e.epoch === 1);
      await carol.waitFor("group_key", (e) => e.group === gid && e.epoch === 1);
      await alice.send("group_message team hello team");
      for (const p of [bob, carol]) {
        const m = await p.waitFor("message", (e) => e.group === gid);
        assert.equal(m.text, "hello team");
        assert.equal(m.from_name, "alice");
        assert.equal(m.group_name, "team");
      }
      // Members post too, by group ID.
      await carol.send(`group_message ${gid} carol here`);
      await bob.waitFor("message", (e) => e.text === "carol here");

      await alice.send("remove_member team carol");
      await carol.waitFor("group", (e) => e.change === "removed" && e.user_name === "carol");
      await bob.waitFor("group_key", (e) => e.group === gid && e.epoch === 2);
      await alice.send("group_message team after carol left");
      await bob.waitFor("message", (e) => e.text === "after carol left");
      // Carol is told, is no longer a member, and cannot post.
      await carol.send(`group_message ${gid} let me back`);
      const told = await carol.waitFor("error", (e) => e.code === "not_member");
      assert.equal(told.message, 'You are no longer a member of group "team" (alice removed you)');
      // One sender's messages reach a recipient in order (PROTOCOL.md, "Order"): once a later
      // one from alice is in, anything of hers before it would be too.
      await alice.send("msg carol a later word");
      await carol.waitFor("request", (e) => e.text === "a later word");
      assert.equal(carol.all("message").some((m) => m.text === "after carol left"), false);
      assert.equal(carol.all("group_key").some((k) => k.epoch === 2), false);
    } finally {
      await t.stop();
    }
  },
);

testEachBackend(
  "client add_member: a member added later, online or offline, gets the key, reads and posts",
  async (backend) => {
    const t = await _setup(backend);
    try {
      const alice = await t.start("alice");
      const bob = await t.start("bob");
      // carol and dan are strangers to alice; dan is offline when he is added.
      const carol = await t.start("carol");
      const dan = await t.start("dan");
      assert.equal((await dan.finish()).code, 0);
      await alice.send("create_group team bob");
      const gid = await acceptGroup(bob, "team");
      await bob.waitFor("group_key", (e) => e.group === gid && e.epoch === 1);

      await alice.send("add_member team carol");
      await acceptGroup(carol, "team");
      await carol.waitFor("group_key", (e) => e.group === gid && e.from_name === "alice");
      await alice.send("add_member team dan");
      await bob.waitFor("group", (e) => e.change === "added" && e.user_name === "dan");
      await alice.send("group_message team welcome both");
      await carol.waitFor("message", (e) => e.text === "welcome both" && e.group === gid);
      await carol.send(`group_message ${gid} carol here`);
      for (const p of [alice, bob]) await p.waitFor("message", (e) => e.text === "carol here");

      const dan2 = await t.start("dan");
      await acceptGroup(dan2, "team");
      await dan2.waitFor("group_key", (e) => e.group === gid && e.from_name === "alice");
      await dan2.waitFor("message", (e) => e.text === "welcome both");
      await dan2.waitFor("message", (e) => e.text === "carol here");
      await dan2.send(`group_message ${gid} dan is back`);
      for (const p of [alice, bob, carol]) {
        const m = await p.waitFor("message", (e) => e.text === "dan is back");
        assert.equal(m.from_name, "dan");
      }
      for (const p of [alice, carol, dan2]) assert.deepEqual(p.all("error"), []);
    } finally {
      await t.stop();
    }
  },
);

testEachBackend("client receives messages sent while it was offline, in order", async (backend) => {
  const t = await _setup(backend);
  try {
    const alice = await t.start("alice");
    const bob = await t.start("bob");
    await _befriend(alice, bob);
    assert.equal((await bob.finish()).code, 0);
    for (let i = 1; i <= 5; i++) await alice.send(`msg bob offline ${i}`);
    await alice.waitFor("accepted", () => alice.all("accepted").length >= 5);
    const again = await t.start("bob");
    await again.waitFor("message", (e) => e.text === "offline 5");
    assert.deepEqual(
      again.all("message").map((m) => m.text),
      [1, 2, 3, 4, 5].map((i) => `offline ${i}`),
    );
    // History is kept locally, encrypted, across restarts.
    await again.send("history alice 3");
    const h = await again.waitFor("history");
    assert.deepEqual(h.messages.map((m) => m.text), ["offline 3", "offline 4", "offline 5"]);
  } finally {
    await t.stop();
  }
});

testEachBackend(
  "client sends a file in chunks and the recipient saves identical bytes",
  async (backend) => {
    const t = await _setup(backend);
    try {
      const alice = await t.start("alice");
      const bob = await t.start("bob");
      await _befriend(alice, bob);
      const bytes = new Uint8Array(300 * 1024);
      for (let o = 0; o < bytes.length; o += 65536) {
        crypto.getRandomValues(bytes.subarray(o, Math.min(bytes.length, o + 65536)));
      }
      const path = join(t.cluster.dir, "photo.png");
      await Deno.writeFile(path, bytes);
      await alice.send(`send_file bob ${path}`);
      const f = await bob.waitFor("file", undefined, 30_000);
      assert.equal(f.name, "photo.png");
      assert.equal(f.size, bytes.length);
      assert.equal(f.sha256, toHex(sha256(bytes)));
      assert.deepEqual(await Deno.readFile(f.path), bytes);
      assert.ok(alice.all("progress").length >= 2, "the sender saw progress");
      assert.equal((await alice.finish()).code, 0);
      assert.equal(alice.all("error").length, 0, JSON.stringify(alice.all("error")));
    } finally {
      await t.stop();
    }
  },
);

testEachBackend(
  "client settles simultaneous friend requests on one shared key",
  async (backend) => {
    const t = await _setup(backend);
    try {
      const alice = await t.start("alice");
      const bob = await t.start("bob");
      await Promise.all([alice.send("add_friend bob"), bob.send("add_friend alice")]);
      await alice.waitFor("friend", (e) => e.initiated_by === "them");
      await bob.waitFor("friend", (e) => e.initiated_by === "them");
      await alice.send("msg bob one");
      await bob.send("msg alice two");
      assert.equal((await bob.waitFor("message")).text, "one");
      assert.equal((await alice.waitFor("message")).text, "two");
      assert.equal((await alice.finish()).code, 0);
      assert.equal((await bob.finish()).code, 0);
      // Both keystores now send with the same key: the one made by the lower user ID.
      const ka = await openKeystoreFile(join(t.data, "alice", "keystore.db"), "pw-of-alice");
      const kb = await openKeystoreFile(join(t.data, "bob", "keystore.db"), "pw-of-bob");
      try {
        assert.equal(ka.activeFriendKey(kb.userId)!.kid, kb.activeFriendKey(ka.userId)!.kid);
      } finally {
        ka.close();
        kb.close();
      }
    } finally {
      await t.stop();
    }
  },
);

testEachBackend(
  "client reconnects through the balancer when its server dies and sends what was typed",
  async (backend) => {
    const t = await _setup(backend);
    try {
      const alice = await t.start("alice");
      const bob = await t.start("bob");
      await _befriend(alice, bob);
      await alice.send("msg bob before");
      await bob.waitFor("message", (e) => e.text === "before");
      const server = (await alice.waitFor("ready")).server;
      const bobServer = (await bob.waitFor("ready")).server;
      assert.notEqual(server, bobServer, "round-robin put them on different servers");
      await t.cluster.kill(server, "SIGKILL");
      await alice.send("msg bob typed while disconnected");
      await alice.waitFor("reconnected", undefined, 30_000);
      await bob.waitFor("message", (e) => e.text === "typed while disconnected", 30_000);
      await alice.send("msg bob after");
      await bob.waitFor("message", (e) => e.text === "after");
      assert.deepEqual(
        bob.all("message").map((m) => m.text),
        ["before", "typed while disconnected", "after"],
      );
    } finally {
      await t.stop();
    }
  },
);

testEachBackend(
  "client rejects a message whose signature does not match the claimed sender",
  async (backend) => {
    const t = await _setup(backend);
    try {
      const alice = await t.start("alice");
      const bob = await t.start("bob");
      await _befriend(alice, bob);
      await alice.send("msg bob genuine");
      await bob.waitFor("message", (e) => e.text === "genuine");
      const aliceId = (await alice.waitFor("ready")).id;
      const bobId = (await bob.waitFor("ready")).id;
      // A malicious server (or anyone with database access) injects a message "from alice",
      // signed with a key that is not alice's.
      const mallory = generateIdentityKeyPair();
      const forged = sealDirect({
        fromId: aliceId,
        toId: bobId,
        fernetKey: generateFernetKey(),
        plaintext: "send me your password",
        senderIdentitySecret: mallory.secretKey,
      });
      await _inject(t.cluster.db, aliceId, "forged-1", forged, bobId);
      const err = await bob.waitFor("error", (e) => e.code === "bad_signature", 15_000);
      assert.match(err.message, /rejected/);
      assert.equal(bob.all("message").some((m) => m.text === "send me your password"), false);
    } finally {
      await t.stop();
    }
  },
);

testEachBackend(
  "client warns loudly when a friend's keys change and refuses to encrypt to them",
  async (backend) => {
    const t = await _setup(backend);
    try {
      const alice = await t.start("alice");
      const bob = await t.start("bob");
      await _befriend(alice, bob);
      await alice.send("msg bob hi");
      await bob.waitFor("message");
      assert.equal((await alice.finish()).code, 0);
      // The directory now publishes other keys for bob (a compromised server, say).
      await t.cluster.query("UPDATE users SET identity_key = $1 WHERE username = 'bob'", [
        toBase64Url(generateIdentityKeyPair().publicKey, false),
      ]);
      const again = await t.start("alice");
      const warning = await again.waitFor("key_changed", (e) => e.user === "bob");
      assert.match(warning.message, /bob's keys have changed/);
      assert.match(warning.safety_number, /^[0-9]{60}$/);
      await again.send("msg bob are you still you?");
      await again.waitFor("error", (e) => /keys have changed/.test(e.message));
      await again.send("friends");
      const f = await again.waitFor("friends");
      assert.equal(f.friends.find((x) => x.user === "bob")!.verified_keys, false);
      await again.send("fingerprint bob");
      const fp = await again.waitFor("fingerprint");
      assert.equal(fp.safety_number, warning.safety_number);
      await again.send("accept_key bob");
      await again.waitFor("key_accepted", (e) => e.user === "bob");
    } finally {
      await t.stop();
    }
  },
);

testEachBackend("client traffic leaves no plaintext in the server database", async (backend) => {
  const t = await _setup(backend);
  try {
    const alice = await t.start("alice");
    const bob = await t.start("bob");
    const carol = await t.start("carol");
    await _befriend(alice, bob);
    const secrets = [
      "the eagle lands at midnight",
      "group plan: meet by the old mill",
      "carol's reply in the group",
    ];
    await alice.send(`msg bob ${secrets[0]}`);
    await bob.waitFor("message", (e) => e.text === secrets[0]);
    await alice.send("create_group plans bob carol");
    await acceptGroup(carol, "plans"); // alice is bob's contact, a stranger to carol
    await carol.waitFor("group_key");
    await bob.waitFor("group_key");
    await alice.send(`group_message plans ${secrets[1]}`);
    await carol.waitFor("message", (e) => e.text === secrets[1]);
    await carol.send(`group_message plans ${secrets[2]}`);
    await bob.waitFor("message", (e) => e.text === secrets[2]);
    const fileText = "file contents nobody else may read";
    const path = join(t.cluster.dir, "note.txt");
    await Deno.writeTextFile(path, fileText);
    await alice.send(`send_file bob ${path}`);
    await bob.waitFor("file");
    // Stop the clients, then read everything the database holds.
    for (const p of [alice, bob, carol]) assert.equal((await p.finish()).code, 0, p.user);
    const bytes = await t.cluster.databaseText();
    assert.ok(bytes.includes("alice"), "the scan reads the database (usernames are there)");
    for (const s of [...secrets, fileText, "note.txt"]) {
      assert.equal(bytes.includes(s), false, `plaintext found in the server database: ${s}`);
    }
  } finally {
    await t.stop();
  }
});

testEachBackend(
  "client handles a first contact and a group key that arrived while it was offline",
  async (backend) => {
    const t = await _setup(backend);
    try {
      const alice = await t.start("alice");
      const bob = await t.start("bob");
      const carol = await t.start("carol");
      assert.equal((await bob.finish()).code, 0);
      assert.equal((await carol.finish()).code, 0);
      // bob: never talked to alice; the friend key and the message wait on the server.
      await alice.send("msg bob hello while you were away");
      // carol: the group and its key are made while she is offline.
      await alice.send("create_group team carol");
      await alice.send("group_message team the plan");
      await alice.waitFor("accepted", () => alice.all("accepted").length >= 2);
      const bob2 = await t.start("bob");
      const carol2 = await t.start("carol");
      // A first contact is a request; accepted, it is shown.
      const req = await bob2.waitFor("request", (e) => e.text === "hello while you were away");
      assert.equal(req.user, "alice");
      await bob2.send("accept alice");
      assert.equal((await bob2.waitFor("message")).text, "hello while you were away");
      // So is a group a stranger put her in; accepted, what it holds is shown.
      await acceptGroup(carol2, "team");
      assert.equal((await carol2.waitFor("message")).text, "the plan");
      assert.equal(bob2.all("error").length, 0, JSON.stringify(bob2.all("error")));
      assert.equal(carol2.all("error").length, 0, JSON.stringify(carol2.all("error")));
      // Everything was acknowledged: nothing is replayed next time.
      assert.equal((await bob2.finish()).code, 0);
      const bob3 = await t.start("bob");
      // Replayed messages come before live ones (PROTOCOL.md, "Order"): once a new one is
      // shown, any replay would have been.
      await alice.send("msg bob back again");
      await bob3.waitFor("message", (e) => e.text === "back again");
      assert.equal(bob3.all("message").length, 1);
      assert.equal(bob3.all("request").length, 0);
      await alice.waitFor("delivered", (e) => e.to_name === "bob");
    } finally {
      await t.stop();
    }
  },
);

testEachBackend(
  "client admin rotates the group key on its return when a member left meanwhile",
  async (backend) => {
    const t = await _setup(backend);
    try {
      const alice = await t.start("alice");
      const bob = await t.start("bob");
      const carol = await t.start("carol");
      await alice.send("create_group team bob carol");
      await acceptGroup(bob, "team");
      await acceptGroup(carol, "team");
      await bob.waitFor("group_key", (e) => e.epoch === 1);
      await carol.waitFor("group_key", (e) => e.epoch === 1);
      assert.equal((await alice.finish()).code, 0);
      await carol.send("leave_group team");
      await bob.waitFor("group", (e) => e.change === "left");
      const alice2 = await t.start("alice");
      await bob.waitFor("group_key", (e) => e.epoch === 2, 20_000);
      await alice2.send("group_message team only bob now");
      assert.equal(
        (await bob.waitFor("message", (e) => e.text === "only bob now")).text,
        "only bob now",
      );
      assert.equal(bob.all("error").length, 0, JSON.stringify(bob.all("error")));
    } finally {
      await t.stop();
    }
  },
);

testEachBackend(
  "client can message a group right after creating it in a script",
  async (backend) => {
    const t = await _setup(backend);
    try {
      const alice = await t.start("alice");
      const bob = await t.start("bob");
      await alice.send("create_group quick bob");
      await alice.send("group_message quick straight away");
      await acceptGroup(bob, "quick");
      assert.equal((await bob.waitFor("message")).text, "straight away");
      assert.equal((await alice.finish()).code, 0);
      assert.equal(alice.all("error").length, 0, JSON.stringify(alice.all("error")));
    } finally {
      await t.stop();
    }
  },
);

testEachBackend(
  "client keeps reconnecting while every server is down, then resumes",
  async (backend) => {
    const t = await _setup(backend, 1);
    try {
      const alice = await t.start("alice");
      const bob = new ClientProc("bob", {
        balancer: `http://127.0.0.1:${t.cluster.balancerPort}`,
        data: t.data,
        extraArgs: ["--connect-timeout", "2"],
      });
      try {
        await bob.waitFor("ready");
        await _befriend(alice, bob);
        await t.cluster.kill(1, "SIGKILL");
        // Each attempt tries for the connect timeout (2 s): a third one means bob kept on
        // well past it rather than giving up.
        await bob.waitFor("connecting", (e) => e.attempt >= 3, 30_000);
        t.cluster.startServer(1);
        await t.cluster.waitServer(1);
        await bob.waitFor("reconnected", undefined, 30_000);
        await alice.waitFor("reconnected", undefined, 30_000);
        await alice.send("msg bob you are back");
        assert.equal((await bob.waitFor("message")).text, "you are back");
      } finally {
        await bob.kill();
      }
    } finally {
      await t.stop();
    }
  },
);

testEachBackend("client exits cleanly on SIGTERM while waiting for input", async (backend) => {
  const t = await _setup(backend, 1);
  try {
    const alice = await t.start("alice");
    alice.child.kill("SIGTERM");
    const status = await alice.done;
    assert.equal(status.code, 0);
    await alice.waitFor("quit");
  } finally {
    await t.stop();
  }
});

testEachBackend("client rejects an old message a server replays as a new one", async (backend) => {
  const t = await _setup(backend);
  try {
    const alice = await t.start("alice");
    const bob = await t.start("bob");
    await _befriend(alice, bob);
    assert.equal((await bob.finish()).code, 0);
    await alice.send("msg bob pay carol 10");
    await alice.waitFor("accepted");
    // While bob is away the server holds the envelope; it stores a copy as a new message.
    const [row] = await t.cluster.query(
      "SELECT m.body, m.sender_id FROM messages m JOIN deliveries d ON d.message_id = m.id " +
        "WHERE m.kind = 'direct'",
    );
    const body = row!["body"] as string;
    const senderId = Number(row!["sender_id"]);
    const bobId = (await bob.waitFor("ready")).id;
    await _inject(t.cluster.db, senderId, "replayed-as-new", body, bobId);
    const again = await t.start("bob");
    await again.waitFor("message", (e) => e.text === "pay carol 10");
    await again.waitFor("error", (e) => e.code === "bad_signature");
    // A live message comes after the replay (PROTOCOL.md, "Order"): once it is shown, the
    // replayed copy was handled.
    await alice.send("msg bob that is all");
    await again.waitFor("message", (e) => e.text === "that is all");
    assert.deepEqual(
      again.all("message").map((m) => m.text),
      ["pay carol 10", "that is all"],
      "the replay was not shown",
    );
  } finally {
    await t.stop();
  }
});

Deno.test("client joins through the next balancer when the first is down", async () => {
  const t = await _setup("sqlite");
  const second = freePort();
  const dead = `http://127.0.0.1:${freePort()}`;
  const balancer2 = new Proc("balancer 2", [
    "balance",
    "--strategy",
    "round-robin",
    "--port",
    String(second),
    "--servers",
    t.cluster.serversFile,
    "--db",
    t.cluster.db,
  ]);
  try {
    await waitHealthy(`http://127.0.0.1:${second}/healthz`, balancer2);
    const live = `http://127.0.0.1:${t.cluster.balancerPort}`;
    const both = `${dead},${live},http://127.0.0.1:${second}`;
    const alice = new ClientProc("alice", { balancer: both, data: t.data });
    const bob = new ClientProc("bob", { balancer: both, data: t.data });
    try {
      await alice.waitFor("ready");
      await bob.waitFor("ready");
      await _befriend(alice, bob);
      await alice.send("msg bob through the first live balancer");
      await bob.waitFor("message", (e) => e.text === "through the first live balancer");
      // The first live balancer and alice's server go away: she reconnects through the
      // second balancer and what she typed meanwhile arrives.
      t.cluster.balancer!.kill("SIGTERM");
      await t.cluster.balancer!.done;
      await t.cluster.kill((await alice.waitFor("ready")).server, "SIGKILL");
      await alice.send("msg bob via the other balancer");
      await alice.waitFor("reconnected", undefined, 30_000);
      await bob.waitFor("message", (e) => e.text === "via the other balancer", 30_000);
    } finally {
      await alice.kill();
      await bob.kill();
    }
  } finally {
    balancer2.kill("SIGTERM");
    await balancer2.done;
    await t.stop();
  }
});

testEachBackend(
  "client: two clients of one user both receive, and a logout shuts the other out",
  async (backend) => {
    const t = await _setup(backend);
    try {
      const alice = await t.start("alice");
      const bob = await t.start("bob");
      await _befriend(alice, bob);
      await alice.send("msg bob hello");
      await bob.waitFor("message", (e) => e.text === "hello");
      // A second client of bob (same device data, same session) on another server.
      const bob2 = await t.start("bob");
      const servers = [(await bob.waitFor("ready")).server, (await bob2.waitFor("ready")).server];
      await alice.send("msg bob to both of you");
      await bob.waitFor("message", (e) => e.text === "to both of you");
      await bob2.waitFor("message", (e) => e.text === "to both of you");
      // bob closes one: the other keeps receiving.
      assert.equal((await bob2.finish()).code, 0);
      await alice.send("msg bob still there?");
      await bob.waitFor("message", (e) => e.text === "still there?");
      // A third client logs the session out: the first says so and stops.
      const bob3 = await t.start("bob");
      await bob3.send("logout");
      await bob3.waitFor("logged_out");
      assert.equal((await bob3.finish()).code, 0);
      const ended = await bob.waitFor("error", (e) => e.code === "session_ended");
      assert.match(ended.message, /logged out/);
      assert.equal((await bob.done).code, 1, "the shut-out client stops by itself");
      assert.ok(servers.length === 2);
    } finally {
      await t.stop();
    }
  },
);

testEachBackend(
  "client groups: the admin hands a group over and leaves; the new admin deletes it",
  async (backend) => {
    const t = await _setup(backend, 2);
    try {
      const alice = await t.start("alice");
      const bob = await t.start("bob");
      const carol = await t.start("carol");
      await alice.send("create_group team bob carol");
      const gid = await acceptGroup(bob, "team");
      await acceptGroup(carol, "team");
      await carol.waitFor("group_key", (e) => e.group === gid && e.epoch === 1);
      await alice.send("transfer_group team bob");
      const handed = await carol.waitFor("group", (e) => e.change === "admin_changed");
      assert.equal(handed.admin_name, "bob");
      assert.equal(handed.by_name, "alice");
      await alice.send("leave_group team");
      await carol.waitFor("group", (e) => e.change === "left" && e.user_name === "alice");
      // The new admin rotates the key for the one who left, as an admin does.
      await carol.waitFor("group_key", (e) => e.group === gid && e.epoch === 2);
      await bob.send(`group_message ${gid} still here`);
      await carol.waitFor("message", (e) => e.text === "still here");
      await bob.send(`delete_group ${gid}`);
      const gone = await carol.waitFor("group", (e) => e.change === "deleted");
      assert.equal(gone.by_name, "bob");
      await carol.send(`group_message ${gid} hello?`);
      const told = await carol.waitFor("error", (e) => e.code === "not_member");
      assert.equal(told.message, 'You are no longer a member of group "team" (bob deleted it)');
      await carol.send("groups");
      assert.deepEqual((await carol.waitFor("groups")).groups, []);
    } finally {
      await t.stop();
    }
  },
);

testEachBackend(
  "clients become devices, log back in with their device key, and catch a device list forged in the database",
  async (backend) => {
    const t = await _setup(backend, 2);
    try {
      const alice = await t.start("alice");
      const bob = await t.start("bob");
      await alice.send("devices");
      const mine = await alice.waitFor("devices");
      assert.equal(mine.version, 1);
      assert.equal(mine.devices.length, 1);
      assert.equal(mine.devices[0]!.current, true);
      await bob.send("add_friend alice");
      await bob.waitFor("friend", (e) => e.user === "alice");
      const aliceId = (await alice.waitFor("ready")).id;
      // A hostile database adds a device to alice's account that none of her devices signed.
      const store = await openStore(t.cluster.db);
      try {
        const [v1] = await store.deviceLists(aliceId, 1, 1);
        const list = JSON.parse(v1!.body);
        const evil = generateIdentityKeyPair();
        const forged = {
          ...list,
          version: 2,
          prev: toBase64Url(sha256(new TextEncoder().encode("anything")), false),
          next_id: 3,
          devices: [...list.devices, {
            ...list.devices[0],
            id: 2,
            name: "evil",
            sign: toBase64Url(evil.publicKey, false),
          }],
          by: 1,
        };
        await store.appendDeviceList({
          userId: aliceId,
          version: 2,
          prevHash: v1!.hash,
          hash: toBase64Url(sha256(new TextEncoder().encode(JSON.stringify(forged))), false),
          body: JSON.stringify(forged),
          createdAt: Date.now(),
        });
      } finally {
        await store.close();
      }
      // At their next login both clients check the lists: the forgery is reported loudly, and
      // each logs in again with its device key (a password alone no longer would).
      for (const who of [alice, bob]) await who.kill();
      const bob2 = await t.start("bob");
      const warned = await bob2.waitFor("device_list_invalid", (e) => e.user === "alice");
      assert.match(warned.message, /^WARNING: the server shows alice's list of devices/);
      const alice2 = await t.start("alice");
      await alice2.waitFor("device_list_invalid", (e) => e.user === "alice");
      await alice2.send("devices");
      const still = await alice2.waitFor("devices");
      assert.deepEqual(
        still.devices.map((d) => d.name),
        [mine.devices[0]!.name],
        "the forged device is not shown",
      );
    } finally {
      await t.stop();
    }
  },
);
