/**
 * Contacts and blocks as servers apply them (`core/server/contacts.ts`): online state is
 * told only to the people who were made contacts, and a blocked sender gets no delivery
 * receipts, across servers and logins. In process: several servers over a fake mesh.
 */

import assert from "node:assert/strict";
import type { ServerFrame } from "../../core/protocol/mod.ts";
import { StoreError } from "../../core/store/store.ts";
import { type FakeClient, InProcessCluster, sendDirect } from "../helpers/in_process.ts";

const _PASSWORD = "correct horse 1";

/** Logs in again on `server` asking for `features`; resolves once the replay is over. */
async function _login(c: InProcessCluster, server: number, username: string, features?: string[]) {
  const client = c.connect(server);
  const answer = await client.request({
    type: "login",
    ref: 0,
    username,
    password: _PASSWORD,
    ...(features ? { features } : {}),
  });
  assert.equal(answer.type, "logged_in", JSON.stringify(answer));
  await client.waitFor((f) => f.type === "synced");
  return client;
}

async function _lookup(client: FakeClient, userId: number) {
  const u = await client.request({ type: "lookup", ref: 0, user_id: userId });
  assert.equal(u.type, "user", JSON.stringify(u));
  return u as Extract<ServerFrame, { type: "user" }>;
}

async function _contacts(client: FakeClient, users: Record<string, string>) {
  // deno-lint-ignore no-explicit-any
  return await client.request({ type: "contacts", ref: 0, users: users as any });
}

function _receipts(client: FakeClient): number[] {
  return client.frames.flatMap((f) => f.type === "delivered" ? [f.msg_id] : []);
}

Deno.test("lookup tells whether a user is online only to the people they made contacts", async () => {
  const c = await InProcessCluster.start(2);
  try {
    const alice = await c.user(1, "alice");
    const bob = await c.user(2, "bob");
    // A stranger: nothing. A client with the contacts feature sees no field; an older one
    // sees false, what an offline user looks like, so neither learns anything.
    const modern = await _login(c, 1, "alice", ["contacts"]);
    assert.equal("online" in await _lookup(modern, bob.id), false);
    assert.equal((await _lookup(alice.client, bob.id)).online, false);
    // Bob writes to alice (his client says she is a contact): now she is told.
    assert.equal((await _contacts(bob.client, { [alice.id]: "contact" })).type, "ok");
    assert.equal((await _lookup(modern, bob.id)).online, true);
    assert.equal((await _lookup(alice.client, bob.id)).online, true);
    // One direction only: bob is not told about alice, who never made him a contact.
    assert.equal((await _lookup(bob.client, alice.id)).online, false);
    // Everyone is told about themselves.
    assert.equal((await _lookup(modern, alice.id)).online, true);
    // Bob blocks alice: she is told nothing again; "none" forgets too.
    await _contacts(bob.client, { [alice.id]: "blocked" });
    assert.equal("online" in await _lookup(modern, bob.id), false);
    await _contacts(bob.client, { [alice.id]: "contact" });
    assert.equal((await _lookup(modern, bob.id)).online, true);
    await _contacts(bob.client, { [alice.id]: "none" });
    assert.equal("online" in await _lookup(modern, bob.id), false);
  } finally {
    await c.stop();
  }
});

Deno.test("a sender bob blocked gets no delivered receipt; others still do", async () => {
  const c = await InProcessCluster.start(2);
  try {
    const alice = await c.user(1, "alice");
    const carol = await c.user(1, "carol");
    const bob = await c.user(2, "bob");
    // Before the block, alice gets her receipt.
    const before = await sendDirect(alice.client, bob.id, "hello", "a-1");
    await bob.client.waitFor((f) => f.type === "message" && f.msg_id === before);
    await bob.client.request({ type: "ack", ref: 0, ids: [before] });
    await alice.client.waitFor((f) => f.type === "delivered" && f.msg_id === before);

    await _contacts(bob.client, { [alice.id]: "blocked" });
    const fromAlice = await sendDirect(alice.client, bob.id, "are you there?", "a-2");
    const fromCarol = await sendDirect(carol.client, bob.id, "hi bob", "c-1");
    await bob.client.waitFor((f) => f.type === "message" && f.msg_id === fromCarol);
    await bob.client.request({ type: "ack", ref: 0, ids: [fromAlice, fromCarol] });
    // Both receipts would leave server 2 in the same turn, alice's first: carol's arriving
    // means alice's would have.
    await carol.client.waitFor((f) => f.type === "delivered" && f.msg_id === fromCarol);
    assert.deepEqual(_receipts(alice.client), [before], "no receipt after the block");

    // The block holds on bob's next login (loaded from the database), on any server.
    bob.client.close();
    const bobAgain = await _login(c, 1, "bob");
    const later = await sendDirect(alice.client, bob.id, "still there?", "a-3");
    const carolLater = await sendDirect(carol.client, bob.id, "lunch?", "c-2");
    await bobAgain.waitFor((f) => f.type === "message" && f.msg_id === carolLater);
    await bobAgain.request({ type: "ack", ref: 0, ids: [later, carolLater] });
    await carol.client.waitFor((f) => f.type === "delivered" && f.msg_id === carolLater);
    assert.deepEqual(_receipts(alice.client), [before]);

    // Unblocked, alice's receipts come again.
    await _contacts(bobAgain, { [alice.id]: "none" });
    const after = await sendDirect(alice.client, bob.id, "hi again", "a-4");
    await bobAgain.waitFor((f) => f.type === "message" && f.msg_id === after);
    await bobAgain.request({ type: "ack", ref: 0, ids: [after] });
    await alice.client.waitFor((f) => f.type === "delivered" && f.msg_id === after);
  } finally {
    await c.stop();
  }
});

Deno.test("a contacts frame naming the sender or an unknown user changes nothing", async () => {
  const c = await InProcessCluster.start(1);
  try {
    const alice = await c.user(1, "alice");
    const bob = await c.user(1, "bob");
    const self = await _contacts(alice.client, { [bob.id]: "contact", [alice.id]: "contact" });
    assert.equal(self.type === "error" && self.code, "forbidden", JSON.stringify(self));
    const unknown = await _contacts(alice.client, { [bob.id]: "contact", "999": "blocked" });
    assert.equal(unknown.type === "error" && unknown.code, "not_found", JSON.stringify(unknown));
    assert.match((unknown as { message: string }).message, /999/);
    assert.equal(await c.store.contactState(alice.id, bob.id), null);
    // Before login it is refused like any other request.
    const stranger = c.connect(1);
    const early = await _contacts(stranger, { [bob.id]: "contact" });
    assert.equal(early.type === "error" && early.code, "not_authenticated");
  } finally {
    await c.stop();
  }
});

Deno.test("contacts frames count against the sender's send rate", async () => {
  const c = await InProcessCluster.start(1, {
    quotas: { send: { burst: 2, intervalMs: 60_000 } },
  });
  try {
    const alice = await c.user(1, "alice");
    const bob = await c.user(1, "bob");
    assert.equal((await _contacts(alice.client, { [bob.id]: "contact" })).type, "ok");
    assert.equal((await _contacts(alice.client, { [bob.id]: "blocked" })).type, "ok");
    const third = await _contacts(alice.client, { [bob.id]: "none" });
    assert.equal(third.type === "error" && third.code, "rate_limited", JSON.stringify(third));
    assert.equal(await c.store.contactState(alice.id, bob.id), "blocked", "nothing changed");
  } finally {
    await c.stop();
  }
});

Deno.test("a contacts frame past the store's bound is answered contacts_full", async () => {
  const c = await InProcessCluster.start(1);
  try {
    const alice = await c.user(1, "alice");
    const bob = await c.user(1, "bob");
    // 10,000 users are slow to make: the store's own bound is covered by the conformance
    // suite; here its refusal stands in.
    c.store.setContacts = (owner, _changes, max) =>
      Promise.reject(new StoreError("too_many", `User ${owner} would have more than ${max}`));
    const full = await _contacts(alice.client, { [bob.id]: "contact" });
    assert.equal(full.type === "error" && full.code, "contacts_full", JSON.stringify(full));
    assert.match((full as { message: string }).message, /more than 10000/);
  } finally {
    await c.stop();
  }
});

Deno.test("a block made through one server holds at once on the user's other servers", async () => {
  const c = await InProcessCluster.start(2);
  try {
    const alice = await c.user(1, "alice");
    const bob = await c.user(2, "bob");
    const bobOnOne = await _login(c, 1, "bob");
    // Bob blocks alice through server 2; his connection to server 1 acknowledges.
    await _contacts(bob.client, { [alice.id]: "blocked" });
    const blocked = await sendDirect(alice.client, bob.id, "hello?", "a-1");
    const control = await sendDirect(bob.client, bob.id, "note to self", "b-1");
    await bobOnOne.waitFor((f) => f.type === "message" && f.msg_id === control);
    await bobOnOne.request({ type: "ack", ref: 0, ids: [blocked, control] });
    // Bob's own receipt (sent after alice's would be) arriving means alice's would have.
    await bob.client.waitFor((f) => f.type === "delivered" && f.msg_id === control);
    assert.deepEqual(_receipts(alice.client), []);
    // Unblocked through server 2: server 1 hears that too.
    await _contacts(bob.client, { [alice.id]: "none" });
    const after = await sendDirect(alice.client, bob.id, "hi", "a-2");
    await bobOnOne.waitFor((f) => f.type === "message" && f.msg_id === after);
    await bobOnOne.request({ type: "ack", ref: 0, ids: [after] });
    await alice.client.waitFor((f) => f.type === "delivered" && f.msg_id === after);
  } finally {
    await c.stop();
  }
});
