/**
 * A member added to a group after it was made gets the group key (issue 18): real
 * `ChatClient`s with keystores on disk, on real chat server logic in this process
 * (`in_process_dialer.ts`), no sockets and no balancer. Each test makes a group of alice
 * and bob, then alice adds carol, a stranger to her, while carol is online or offline;
 * carol must read what is posted after, and what she posts must be read by the others.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { ChatClient } from "../core/client/chat_client.ts";
import type { ClientEvent } from "../core/client/events.ts";
import { fileKeystore } from "../core/client/file_keystore.ts";
import { MemoryFiles } from "./helpers/client_fakes.ts";
import { InProcessCluster } from "./helpers/in_process.ts";
import { inProcessDialer } from "./helpers/in_process_dialer.ts";

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

/** alice makes group "team" with bob, who gets its key; resolves with the group's ID. */
async function _team(alice: _User, bob: _User): Promise<number> {
  await alice.run({ name: "create_group", group: "team", users: ["bob"] });
  const created = await bob.waitFor("group", (e) => e.change === "created");
  await bob.waitFor("group_key", (e) => e.group === created.group && e.epoch === 1);
  return created.group;
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
    await carol.waitFor("group", (e) => e.change === "added" && e.group === gid);
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
    await carol.waitFor("group", (e) => e.change === "added" && e.group === gid);
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
    const gid = (await dan.waitFor("group", (e) => e.change === "created")).group;
    await dan.waitFor("group_key", (e) => e.group === gid && e.epoch === 1);
    await alice.run({ name: "remove_member", group: "team", user: "dan" });
    await bob.waitFor("group_key", (e) => e.group === gid && e.epoch === 2);

    const carol = await t.start("carol");
    await alice.run({ name: "add_member", group: "team", user: "carol" });
    await _carolTakesPart(alice, bob, carol, gid);
    assert.deepEqual(carol.events.flatMap((e) => e.event === "group_key" ? [e.epoch] : []), [2]);
  } finally {
    await t.close();
  }
});
