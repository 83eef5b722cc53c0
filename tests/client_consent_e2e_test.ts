/**
 * Consent, verification and live key checks end to end: a real cluster and real
 * `fastchat client --json` processes on 127.0.0.1. A first message from someone who is not
 * a contact is a request; blocked users are dropped silently; files are taken only from
 * contacts and up to the limit; a verified contact's key change and the server publishing
 * other keys for the user are reported loudly.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { generateIdentityKeyPair, toBase64Url } from "../core/crypto/mod.ts";
import { ClientProc } from "./helpers/client_proc.ts";
import { TestCluster } from "./helpers/cluster.ts";
import { untilAsync } from "./helpers/wait.ts";

async function _setup(n = 2) {
  const cluster = await TestCluster.start(n, { balancer: "round-robin" });
  const data = join(cluster.dir, "clients");
  const procs: ClientProc[] = [];
  const start = async (user: string) => {
    const p = new ClientProc(user, { balancer: `http://127.0.0.1:${cluster.balancerPort}`, data });
    procs.push(p);
    await p.waitFor("ready");
    return p;
  };
  const stop = async () => {
    for (const p of procs) await p.kill();
    await cluster.stop();
  };
  return { cluster, start, stop };
}

/** Waits until nothing waits in the database for user `userId`: their client acknowledged it all. */
async function _untilAcked(cluster: TestCluster, userId: number): Promise<void> {
  await untilAsync(
    async () => {
      const [row] = await cluster.query(
        "SELECT count(*) AS n FROM deliveries WHERE recipient_id = $1",
        [userId],
      );
      return Number(row?.["n"]) === 0;
    },
    `user ${userId}'s acks`,
    20_000,
  );
}

async function _file(dir: string, name: string, size: number): Promise<string> {
  const path = join(dir, name);
  await Deno.writeFile(path, Uint8Array.from({ length: size }, (_, i) => (i * 13) & 255));
  return path;
}

Deno.test("client consent: requests, accept, block, and files only from contacts up to the limit", async () => {
  const t = await _setup();
  try {
    const alice = await t.start("alice");
    const bob = await t.start("bob");
    const bobId = (await bob.waitFor("ready")).id;
    const mallory = await t.start("mallory");

    // A stranger's first message is a request, shown with its text but not as a message.
    await alice.send("msg bob hi bob, it is alice");
    const req = await bob.waitFor("request", (e) => e.text === "hi bob, it is alice");
    assert.equal(req.user, "alice");
    await mallory.send("msg bob buy cheap watches");
    await bob.waitFor("request", (e) => e.user === "mallory" && e.text !== null);
    await bob.send("requests");
    const list = await bob.waitFor("requests");
    assert.deepEqual(list.requests.map((r) => r.user), ["alice", "mallory"]);
    assert.equal(bob.all("message").length, 0);

    // Blocked: mallory's request is gone, and what she sends next vanishes without a word.
    await bob.send("block mallory");
    assert.equal((await bob.waitFor("blocked")).user, "mallory");
    const events = bob.events.length;
    await mallory.waitFor("delivered", (e) => e.to_name === "bob"); // the request, before
    await mallory.send("msg bob are you there?");
    await mallory.waitFor("accepted", () => mallory.all("accepted").length >= 2);
    await _untilAcked(t.cluster, bobId);
    // Bob's client took it and dropped it; mallory learns nothing of it: no receipt.
    assert.equal(mallory.all("delivered").length, 1);
    assert.deepEqual(
      bob.events.slice(events).filter((e) => e.event !== "delivered" && e.event !== "progress"),
      [],
    );

    // Accepted: alice's message is shown, and she is a contact from now on.
    await bob.send("accept alice");
    assert.equal((await bob.waitFor("message")).text, "hi bob, it is alice");
    await bob.send("friends");
    assert.deepEqual((await bob.waitFor("friends")).friends.map((f) => f.user), ["alice"]);

    // Files: a contact's is saved; above the limit it is refused; a stranger's is refused.
    const small = await _file(t.cluster.dir, "small.bin", 30 * 1024);
    await alice.send(`send_file bob ${small}`);
    const saved = await bob.waitFor("file", undefined, 30_000);
    assert.equal(saved.size, 30 * 1024);
    await bob.send("file_limit 0.02");
    assert.equal((await bob.waitFor("file_limit")).bytes, Math.round(0.02 * 1024 * 1024));
    const big = await _file(t.cluster.dir, "big.bin", 30 * 1024 + 1);
    await alice.send(`send_file bob ${big}`);
    const tooLarge = await bob.waitFor("file_refused", (e) => e.name === "big.bin", 30_000);
    assert.equal(tooLarge.reason, "too_large");
    assert.equal(tooLarge.from_name, "alice");
    const carol = await t.start("carol");
    const note = await _file(t.cluster.dir, "note.txt", 100);
    await carol.send(`send_file bob ${note}`);
    const notContact = await bob.waitFor("file_refused", (e) => e.name === "note.txt", 30_000);
    assert.equal(notContact.reason, "not_contact");
    await bob.waitFor("request", (e) => e.user === "carol");
    assert.deepEqual(bob.all("file").map((f) => f.name), ["small.bin"]);
    const files = [...Deno.readDirSync(join(t.cluster.dir, "clients", "bob", "files"))];
    assert.deepEqual(files.map((f) => f.name), ["small.bin"]);

    // Settings and blocks are kept: a new session of bob still drops mallory.
    assert.equal((await bob.finish()).code, 0);
    const bob2 = await t.start("bob");
    await bob2.send("file_limit");
    assert.equal((await bob2.waitFor("file_limit")).bytes, Math.round(0.02 * 1024 * 1024));
    // Her first message was kept as a request, the second dropped; this third is dropped too,
    // and she still gets no receipt (the block is known at bob's new login).
    await mallory.send("msg bob one more");
    await mallory.waitFor("accepted", () => mallory.all("accepted").length >= 3);
    await _untilAcked(t.cluster, bobId);
    assert.equal(mallory.all("delivered").length, 1);
    await bob2.send("requests");
    const again = await bob2.waitFor("requests");
    assert.deepEqual(again.requests.map((r) => r.user), ["carol"]);
    assert.deepEqual(again.blocked.map((b) => b.user), ["mallory"]);
    assert.equal(bob2.all("message").length, 0);
  } finally {
    await t.stop();
  }
});

Deno.test("client verify: a verified contact's key change is flagged after a reconnect; own keys at login", async () => {
  const t = await _setup();
  try {
    const alice = await t.start("alice");
    const bob = await t.start("bob");
    await alice.send("add_friend bob");
    await bob.waitFor("request", (e) => e.user === "alice");
    await bob.send("accept alice");
    await bob.waitFor("friend", (e) => e.user === "alice");
    await alice.send("verify bob");
    const verified = await alice.waitFor("verified", (e) => e.user === "bob");
    await alice.send("fingerprint bob");
    assert.equal((await alice.waitFor("fingerprint")).safety_number, verified.safety_number);
    await alice.send("friends");
    assert.deepEqual((await alice.waitFor("friends")).friends, [
      { id: verified.id, user: "bob", verified_keys: true, verified: true },
    ]);

    // The directory now shows other keys for bob; alice's server goes away, and on the
    // reconnect alice checks again and says loudly that a VERIFIED contact changed.
    await t.cluster.query("UPDATE users SET identity_key = $1 WHERE username = 'bob'", [
      toBase64Url(generateIdentityKeyPair().publicKey, false),
    ]);
    await t.cluster.kill((await alice.waitFor("ready")).server, "SIGKILL");
    await alice.waitFor("reconnected", undefined, 30_000);
    const changed = await alice.waitFor("key_changed", (e) => e.user === "bob", 30_000);
    assert.equal(changed.verified, true);
    assert.match(changed.message, /bob is a VERIFIED contact/);
    await alice.send("friends");
    await alice.waitFor("friends", () => alice.all("friends").length === 2);
    assert.deepEqual(alice.all("friends")[1]!.friends[0]!.verified, false);

    // The server publishes other keys for alice herself: said loudly at her next login; she
    // keeps working.
    assert.equal((await alice.finish()).code, 0);
    assert.equal(alice.all("own_keys_changed").length, 0);
    await t.cluster.query("UPDATE users SET identity_key = $1 WHERE username = 'alice'", [
      toBase64Url(generateIdentityKeyPair().publicKey, false),
    ]);
    const alice2 = await t.start("alice");
    const own = await alice2.waitFor("own_keys_changed");
    assert.match(own.message, /server publishes keys for you \(alice\)/);
    await alice2.send("whoami");
    assert.equal((await alice2.waitFor("whoami")).connected, true);
  } finally {
    await t.stop();
  }
});
