/**
 * Being added to a group (issue 18): a member added after it was made gets the group key,
 * and being added is consent's business (a stranger's group is a request whose messages
 * are held until accepted; a contact's is told with who added you). Real
 * `ChatClient`s with keystores on disk, on real chat server logic in this process
 * (`in_process_dialer.ts`), no sockets and no balancer. Each test makes a group of alice
 * and bob, then alice adds carol, a stranger to her, while carol is online or offline;
 * carol must read what is posted after, and what she posts must be read by the others.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { ChatClient } from "../../core/client/engine/chat_client.ts";
import type { ClientEvent } from "../../core/client/engine/events.ts";
import { fileKeystore } from "../../core/client/deno/file_keystore.ts";
import { MemoryFiles } from "../helpers/client_fakes.ts";
import { InProcessCluster } from "../helpers/in_process.ts";
import { inProcessDialer } from "../helpers/in_process_dialer.ts";

type _Event<E extends ClientEvent["event"]> = Extract<ClientEvent, { event: E }>;

/** One user's client and the events it emitted, with a wait for the next that matches. */
class _User {
  readonly name: string;
  readonly events: ClientEvent[] = [];
  client: ChatClient | null = null;
  #waiters: { match: (e: ClientEvent) => boolean; resolve: (e: ClientEvent) => void }[] = [];

  constructor(name: string) {
    this.name = name;
  }

  emit(e: ClientEvent): void {
    this.events.push(e);
    this.#waiters = this.#waiters.filter((w) => {
      if (!w.match(e)) return true;
      w.resolve(e);
      return false;
    });
  }

  /** Runs a command line's worth of command. */
  async run(cmd: Parameters<ChatClient["run"]>[0]): Promise<void> {
    await this.client!.run(cmd);
  }

  /** The first event of kind `kind` (seen already or to come) that passes `match`. */
  waitFor<E extends ClientEvent["event"]>(
    kind: E,
    match: (e: _Event<E>) => boolean = () => true,
    timeoutMs = 10_000,
  ): Promise<_Event<E>> {
    const ok = (e: ClientEvent): e is _Event<E> => e.event === kind && match(e as _Event<E>);
    const seen = this.events.find(ok);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w.resolve !== done);
        reject(
          new Error(
            `${this.name}: no ${kind} event in time; errors: ${
              JSON.stringify(this.events.filter((e) => e.event === "error"))
            }`,
          ),
        );
      }, timeoutMs);
      const done = (e: ClientEvent) => {
        clearTimeout(timer);
        resolve(e as _Event<E>);
      };
      this.#waiters.push({ match: ok, resolve: done });
    });
  }

  /** The messages this user was shown, as "sender: text". */
  texts(): string[] {
    return this.events.flatMap((e) => e.event === "message" ? [`${e.from_name}: ${e.text}`] : []);
  }
}

async function _setup() {
  const cluster = await InProcessCluster.start(1);
  const dir = await Deno.makeTempDir({ prefix: "fastchat_group_add_" });
  const users: _User[] = [];
  /** Starts (or starts again) `user`'s client; resolves once it is ready. */
  const start = async (user: _User | string): Promise<_User> => {
    const u = typeof user === "string" ? new _User(user) : user;
    if (!users.includes(u)) users.push(u);
    u.client = new ChatClient({
      balancerUrls: "http://unused.invalid",
      username: u.name,
      password: `pw of ${u.name}`,
      emit: (e) => u.emit(e),
      keystoreScryptN: 1024,
      dialer: inProcessDialer(cluster),
      keystore: fileKeystore(join(dir, u.name)),
      files: new MemoryFiles(),
      saveDir: join(dir, u.name, "files"),
    });
    await u.client.start();
    await u.waitFor("ready");
    return u;
  };
  /** Stops `user`'s client (it is offline until started again). */
  const stop = async (user: _User) => {
    await user.client!.close();
    user.client = null;
  };
  const close = async () => {
    for (const u of users) if (u.client) await u.client.close();
    await cluster.stop();
    await Deno.remove(dir, { recursive: true });
  };
  return { start, stop, close };
}

/** Makes `a` and `b` contacts: `a` adds `b`, `b` accepts. */
async function _befriend(a: _User, b: _User): Promise<void> {
  await a.run({ name: "add_friend", user: b.name });
  await b.waitFor("request", (e) => e.user === a.name);
  await b.run({ name: "accept", user: a.name });
  await b.waitFor("contact_added", (e) => e.user === a.name);
}

/**
 * alice makes group "team" with bob, who gets its key and (alice being a stranger to him)
 * accepts it; resolves with the group's ID.
 */
async function _team(alice: _User, bob: _User): Promise<number> {
  await alice.run({ name: "create_group", group: "team", users: ["bob"] });
  const asked = await bob.waitFor("group_request", (e) => e.name === "team");
  await bob.run({ name: "accept", user: String(asked.group) });
  await bob.waitFor("group_key", (e) => e.group === asked.group && e.epoch === 1);
  return asked.group;
}

/** `user`, added to group `gid` by a stranger, accepts it. */
async function _accept(user: _User, gid: number): Promise<void> {
  await user.waitFor("group_request", (e) => e.group === gid);
  await user.run({ name: "accept", user: String(gid) });
  await user.waitFor("group_joined", (e) => e.group === gid);
}

/**
 * carol, just added to group `gid`, reads alice's and bob's posts that follow, and both read
 * hers.
 */
async function _carolTakesPart(alice: _User, bob: _User, carol: _User, gid: number) {
  await carol.waitFor("group_key", (e) => e.group === gid && e.from_name === "alice");
  await alice.run({ name: "group_message", group: "team", text: "welcome carol" });
  await bob.run({ name: "group_message", group: "team", text: "hi carol, bob here" });
  await carol.waitFor("message", (e) => e.text === "welcome carol");
  await carol.waitFor("message", (e) => e.text === "hi carol, bob here");
  await carol.run({ name: "group_message", group: String(gid), text: "thanks, carol here" });
  for (const u of [alice, bob]) {
    const m = await u.waitFor("message", (e) => e.text === "thanks, carol here");
    assert.equal(m.from_name, "carol");
    assert.equal(m.group, gid);
  }
  await carol.waitFor("delivered", (e) => e.group === gid && e.to_name === "alice");
  await carol.waitFor("delivered", (e) => e.group === gid && e.to_name === "bob");
  assert.deepEqual(carol.events.filter((e) => e.event === "error"), []);
  assert.deepEqual(alice.events.filter((e) => e.event === "error"), []);
}

Deno.test("add_member gives an online member the group key: carol, a stranger to alice, reads and posts", async () => {
  const t = await _setup();
  try {
    const alice = await t.start("alice");
    const bob = await t.start("bob");
    const carol = await t.start("carol");
    const gid = await _team(alice, bob);
    await alice.run({ name: "group_message", group: "team", text: "before carol" });
    await bob.waitFor("message", (e) => e.text === "before carol");

    await alice.run({ name: "add_member", group: "team", user: "carol" });
    await _accept(carol, gid);
    await _carolTakesPart(alice, bob, carol, gid);
    // She has the epoch's key, not a new one: nothing rotated for an addition.
    assert.deepEqual(carol.events.flatMap((e) => e.event === "group_key" ? [e.epoch] : []), [1]);
  } finally {
    await t.close();
  }
});

Deno.test("add_member gives an offline member the group key when she comes back", async () => {
  const t = await _setup();
  try {
    const alice = await t.start("alice");
    const bob = await t.start("bob");
    const carol = await t.start("carol");
    await t.stop(carol);
    const gid = await _team(alice, bob);

    await alice.run({ name: "add_member", group: "team", user: "carol" });
    await bob.waitFor("group", (e) => e.change === "added" && e.user_name === "carol");
    await alice.run({ name: "group_message", group: "team", text: "while carol was away" });
    await bob.waitFor("message", (e) => e.text === "while carol was away");
    assert.equal(await alice.client!.drain(5_000), true);

    await t.start(carol);
    await _accept(carol, gid);
    // What was posted after she was added and before she came back is readable too.
    await carol.waitFor("message", (e) => e.text === "while carol was away");
    await _carolTakesPart(alice, bob, carol, gid);
  } finally {
    await t.close();
  }
});

Deno.test("add_member after a member left: the new member gets the rotated key", async () => {
  const t = await _setup();
  try {
    const alice = await t.start("alice");
    const bob = await t.start("bob");
    const dan = await t.start("dan");
    await alice.run({ name: "create_group", group: "team", users: ["bob", "dan"] });
    const gid = (await dan.waitFor("group_request", (e) => e.name === "team")).group;
    await _accept(bob, gid);
    await dan.waitFor("group_key", (e) => e.group === gid && e.epoch === 1);
    await alice.run({ name: "remove_member", group: "team", user: "dan" });
    await bob.waitFor("group_key", (e) => e.group === gid && e.epoch === 2);

    const carol = await t.start("carol");
    await alice.run({ name: "add_member", group: "team", user: "carol" });
    await _accept(carol, gid);
    await _carolTakesPart(alice, bob, carol, gid);
    assert.deepEqual(carol.events.flatMap((e) => e.event === "group_key" ? [e.epoch] : []), [2]);
  } finally {
    await t.close();
  }
});

Deno.test("a stranger's group is a request: its messages are held until carol accepts", async () => {
  const t = await _setup();
  try {
    const mallory = await t.start("mallory");
    const carol = await t.start("carol");
    await mallory.run({ name: "create_group", group: "Trip", users: ["carol"] });
    const asked = await carol.waitFor("group_request", (e) => e.name === "Trip");
    assert.equal(asked.by_name, "mallory");
    assert.deepEqual(asked.member_names, ["mallory", "carol"]);
    await carol.waitFor("group_key", (e) => e.group === asked.group);
    await mallory.run({ name: "group_message", group: "Trip", text: "cheap watches" });
    await mallory.waitFor("delivered", (e) => e.group === asked.group);
    // Held: not shown, not listed, not writable, no history, until carol answers.
    assert.deepEqual(carol.texts(), []);
    assert.equal(carol.events.some((e) => e.event === "group"), false, "no group line");
    await carol.run({ name: "groups" });
    assert.deepEqual((await carol.waitFor("groups")).groups, []);
    await carol.run({ name: "group_message", group: "Trip", text: "hi" });
    const refused = await carol.waitFor("error", (e) => e.code === "not_member");
    assert.match(refused.message, /You have not joined group "Trip" yet: mallory added you/);
    await carol.run({ name: "requests" });
    const listed = await carol.waitFor("requests");
    assert.deepEqual(listed.groups?.map((g) => [g.name, g.by_name]), [["Trip", "mallory"]]);

    await carol.run({ name: "accept", user: "Trip" });
    const joined = await carol.waitFor("group_joined", (e) => e.group === asked.group);
    assert.equal(joined.messages, 1);
    assert.deepEqual(carol.texts(), ["mallory: cheap watches"]);
    await mallory.run({ name: "group_message", group: "Trip", text: "after the accept" });
    await carol.waitFor("message", (e) => e.text === "after the accept");
    assert.equal(carol.events.some((e) => e.event === "error" && e.code !== "not_member"), false);
  } finally {
    await t.close();
  }
});

Deno.test("a contact's group says who added you; receipts and member lists name everyone", async () => {
  const t = await _setup();
  try {
    const alice = await t.start("alice");
    const bob = await t.start("bob");
    const carol = await t.start("carol");
    await _befriend(carol, alice); // alice is carol's contact
    await _befriend(bob, alice);
    await alice.run({ name: "create_group", group: "Trip", users: ["bob", "carol"] });
    const told = await carol.waitFor("group", (e) => e.change === "created");
    assert.equal(told.by_name, "alice");
    assert.deepEqual(told.member_names, ["alice", "bob", "carol"], "bob is not #2");
    await carol.waitFor("group_key", (e) => e.group === told.group);
    await bob.waitFor("group_key", (e) => e.group === told.group);
    await carol.run({ name: "group_message", group: "Trip", text: "hi both" });
    for (const to of ["alice", "bob"]) {
      await carol.waitFor("delivered", (e) => e.group === told.group && e.to_name === to);
    }
    await carol.run({ name: "groups" });
    const list = await carol.waitFor("groups");
    assert.deepEqual(list.groups[0]!.member_names, ["alice", "bob", "carol"]);
    assert.equal(carol.events.some((e) => e.event === "group_request"), false);
  } finally {
    await t.close();
  }
});

Deno.test("a removed member who writes to the group is told she was removed, and by whom", async () => {
  const t = await _setup();
  try {
    const alice = await t.start("alice");
    const carol = await t.start("carol");
    await _befriend(carol, alice);
    await alice.run({ name: "create_group", group: "Trip", users: ["carol"] });
    const gid = (await carol.waitFor("group", (e) => e.change === "created")).group;
    await alice.run({ name: "remove_member", group: "Trip", user: "carol" });
    await carol.waitFor("group", (e) => e.change === "removed");
    await carol.run({ name: "group_message", group: String(gid), text: "let me back" });
    const e = await carol.waitFor("error");
    assert.equal(e.message, 'You are no longer a member of group "Trip" (alice removed you)');
    assert.equal(e.code, "not_member");
  } finally {
    await t.close();
  }
});

Deno.test("blocking whoever added you declines their group; a blocked user's group is left at once", async () => {
  const t = await _setup();
  try {
    const mallory = await t.start("mallory");
    const carol = await t.start("carol");
    await mallory.run({ name: "create_group", group: "Spam", users: ["carol"] });
    const asked = await carol.waitFor("group_request", (e) => e.name === "Spam");
    await carol.run({ name: "block", user: "mallory" });
    await carol.waitFor("group_declined", (e) => e.group === asked.group);
    await mallory.waitFor("group", (e) => e.change === "left" && e.user_name === "carol");
    // Blocked: her next group is left without a word.
    await mallory.run({ name: "create_group", group: "Spam2", users: ["carol"] });
    const left = await mallory.waitFor("group", (e) => e.change === "left" && e.name === "Spam2");
    assert.equal(left.user_name, "carol");
    assert.equal(
      carol.events.some((e) => e.event === "group_request" && e.name === "Spam2"),
      false,
    );
    await carol.run({ name: "requests" });
    assert.deepEqual((await carol.waitFor("requests")).groups, []);
  } finally {
    await t.close();
  }
});

Deno.test("leave_group declines a group request: carol leaves, and sees none of it", async () => {
  const t = await _setup();
  try {
    const mallory = await t.start("mallory");
    const carol = await t.start("carol");
    await mallory.run({ name: "create_group", group: "Spam", users: ["carol"] });
    const asked = await carol.waitFor("group_request", (e) => e.name === "Spam");
    await mallory.run({ name: "group_message", group: "Spam", text: "buy now" });
    await mallory.waitFor("delivered", (e) => e.group === asked.group);
    await carol.run({ name: "leave_group", group: "Spam" });
    await carol.waitFor("group_declined", (e) => e.group === asked.group);
    await mallory.waitFor("group", (e) => e.change === "left" && e.user_name === "carol");
    await carol.run({ name: "groups" });
    assert.deepEqual((await carol.waitFor("groups")).groups, []);
    assert.deepEqual(carol.texts(), []);
    assert.equal(carol.events.some((e) => e.event === "group"), false, "nothing of it shown");
    assert.equal(mallory.events.some((e) => e.event === "error"), false);
  } finally {
    await t.close();
  }
});
