/**
 * The chat server's logic in one process: several `ChatServer`s over a fake mesh, fake
 * client connections, one store. No sockets, so the cases that are hard to stage with real
 * processes (a user moving between servers mid-stream, a link cut while a message is in
 * flight, a peer that stops answering) run exactly and fast.
 */

import assert from "node:assert/strict";
import { randomBytes, toBase64Url } from "../../core/crypto/bytes.ts";
import { CLOSE_REASONS, LIMITS } from "../../core/protocol/mod.ts";
import type {
  AcceptedFrame,
  ClientFrame,
  ErrorFrame,
  GroupEventBody,
  GroupEventName,
  GroupFrame,
  GroupsFrame,
  LoggedInFrame,
  MessageFrame,
  ServerFrame,
  UserFrame,
  WireGroup,
} from "../../core/protocol/mod.ts";
import {
  type FakeClient,
  holdingCalls,
  InProcessCluster,
  sendDirect,
} from "../helpers/in_process.ts";
import { FakeClock } from "../helpers/fake_clock.ts";
import { until } from "../helpers/wait.ts";

const _isMessage = (id: number) => (f: ServerFrame) => f.type === "message" && f.msg_id === id;

Deno.test("ChatServer pushes a message to every connection of the recipient on every server", async () => {
  const c = await InProcessCluster.start(3);
  try {
    const alice = await c.user(1, "alice");
    const bob = await c.user(2, "bob");
    const bob3 = await c.login(3, "bob");
    const bob2b = await c.login(2, "bob");
    const id = await sendDirect(alice.client, bob.id, "to every device", "m1");
    for (const conn of [bob.client, bob2b, bob3]) {
      const m = await conn.waitFor(_isMessage(id)) as MessageFrame;
      assert.equal(m.body, "to every device");
    }
    // Older connections were never closed by the newer logins.
    assert.ok(bob.client.open && bob2b.open && bob3.open);
  } finally {
    await c.stop();
  }
});

Deno.test("ChatServer keeps delivering to a user's remaining connection after another closes", async () => {
  const c = await InProcessCluster.start(3);
  try {
    const alice = await c.user(1, "alice");
    const bob = await c.user(2, "bob");
    const bob3 = await c.login(3, "bob");
    bob3.close();
    await until(() => !c.server(1).presence.remoteServers(bob.id).has(3), "news of bob3 gone");
    const id = await sendDirect(alice.client, bob.id, "still here?", "m1");
    await bob.client.waitFor(_isMessage(id), 2_000);
  } finally {
    await c.stop();
  }
});

Deno.test("ChatServer sends a delivered receipt to every connection of the sender", async () => {
  const c = await InProcessCluster.start(3);
  try {
    const alice = await c.user(1, "alice");
    const alice3 = c.connect(3);
    await alice3.request({ type: "login", ref: 0, username: "alice", password: "correct horse 1" });
    await alice3.waitFor((f) => f.type === "synced");
    const bob = await c.user(2, "bob");
    const id = await sendDirect(alice.client, bob.id, "hi", "m1");
    await bob.client.waitFor(_isMessage(id));
    bob.client.write({ type: "ack", ids: [id] });
    for (const conn of [alice.client, alice3]) {
      const d = await conn.waitFor((f) => f.type === "delivered" && f.msg_id === id);
      assert.deepEqual(d, { type: "delivered", msg_id: id, client_msg_id: "m1", to: bob.id });
    }
  } finally {
    await c.stop();
  }
});

Deno.test("ChatServer answers an ack that carries a ref with ok, once it is applied", async () => {
  const c = await InProcessCluster.start(1);
  try {
    const alice = await c.user(1, "alice");
    const bob = await c.user(1, "bob");
    const id = await sendDirect(alice.client, bob.id, "hi", "m1");
    await bob.client.waitFor(_isMessage(id));
    assert.equal((await c.store.pendingFor(bob.id, 0, 10)).length, 1);
    const answer = await bob.client.request({ type: "ack", ids: [id] });
    assert.equal(answer.type, "ok");
    // By the time of the answer, the delivery is gone for every server.
    assert.equal((await c.store.pendingFor(bob.id, 0, 10)).length, 0);
    // An ack without a ref still gets no answer.
    const before = bob.client.frames.length;
    bob.client.write({ type: "ack", ids: [id] });
    // Answers come in request order: an answer to that ack would come before this pong.
    await bob.client.request({ type: "ping", ref: 0 });
    assert.deepEqual(bob.client.frames.slice(before).map((f) => f.type), ["pong"]);
  } finally {
    await c.stop();
  }
});

Deno.test("ChatServer closes a connection that does not log in in time", async () => {
  const clock = new FakeClock();
  const c = await InProcessCluster.start(1, { clock });
  try {
    const stranger = c.connect(1);
    assert.equal(stranger.maxMessageBytes, 16 * 1024, "small frames before login");
    const alice = await c.user(1, "alice");
    assert.equal(alice.client.maxMessageBytes, 256 * 1024, "the full limit after login");
    await clock.advance(LIMITS.loginWithinMs - 1);
    assert.equal(stranger.closedWith, null, "not yet");
    await clock.advance(1);
    assert.deepEqual(stranger.closedWith, {
      code: 1008,
      reason: "Log in within 10 s of connecting",
    });
    assert.ok(alice.client.open, "a logged-in connection stays");
  } finally {
    await c.stop();
  }
});

Deno.test("ChatServer gives a login still being answered two more periods, and no more", async () => {
  const clock = new FakeClock();
  // The store holds every registration: the answer never comes while the test runs.
  const held = Promise.withResolvers<void>();
  const c = await InProcessCluster.start(1, {
    clock,
    wrapStore: (store) => holdingCalls(store, "createUser", held.promise),
  });
  try {
    const slow = c.connect(1);
    slow.write(_register("slowpoke"));
    const idle = c.connect(1);
    await clock.advance(LIMITS.loginWithinMs);
    assert.equal(idle.closedWith?.code, 1008, "a connection owing nothing closes on time");
    assert.equal(slow.closedWith, null, "one owed an answer gets another period");
    await clock.advance(2 * LIMITS.loginWithinMs - 1);
    assert.equal(slow.closedWith, null, "and a second one");
    await clock.advance(1);
    assert.deepEqual(slow.closedWith, {
      code: 1008,
      reason: "Log in within 10 s of connecting",
    }, "30 s after it opened, whatever it is waiting for");
  } finally {
    held.resolve();
    await c.stop();
  }
});

Deno.test("ChatServer.idle() resolves only once the frames being handled are done", async () => {
  const held = Promise.withResolvers<void>();
  const c = await InProcessCluster.start(1, {
    wrapStore: (store) => holdingCalls(store, "createUser", held.promise),
  });
  try {
    const client = c.connect(1);
    client.write(_register("patient"));
    let idle = false;
    const waiting = c.server(1).idle().then(() => idle = true);
    await c.network.settled();
    assert.equal(idle, false, "a registration is still being handled");
    held.resolve();
    await waiting;
    assert.equal(client.frames.some((f) => f.type === "registered"), true, "answered first");
  } finally {
    held.resolve();
    await c.stop();
  }
});

Deno.test("ChatServer loses nothing while a user moves between servers mid-stream", async () => {
  // Alice sends as fast as she can: past the default send rate, which is not what is tested.
  const c = await InProcessCluster.start(3, { quotas: { send: null } });
  try {
    const alice = await c.user(1, "alice");
    const bob = await c.user(2, "bob");
    const token = (bob.client.frames.find((f) => f.type === "registered") as {
      session_token: string;
    }).session_token;
    const sent: number[] = [];
    let sending = true;
    const sender = (async () => {
      for (let i = 0; sending; i++) {
        sent.push(await sendDirect(alice.client, bob.id, `m${i}`, `m${i}`));
      }
    })();
    await until(() => sent.length >= 10, "alice sending");
    // Bob leaves server 2 and comes back on server 3 while alice keeps sending.
    bob.client.close();
    await until(() => c.server(2).presence.localSessions(bob.id).size === 0, "bob off 2");
    const moved = c.connect(3);
    await moved.request({ type: "resume", ref: 0, session_token: token });
    await moved.waitFor((f) => f.type === "synced");
    const atMove = sent.length;
    await until(() => sent.length >= atMove + 10, "alice sending after the move");
    sending = false;
    await sender;
    await c.network.settled(); // the last pushes cross the mesh
    // Without any redelivery sweep: everything alice sent reached bob before or after the
    // move, by push or by replay.
    const got = new Set([...bob.client.messageIds(), ...moved.messageIds()]);
    const missing = sent.filter((id) => !got.has(id));
    assert.ok(sent.length > 20, `alice sent ${sent.length} messages`);
    assert.deepEqual(missing, [], `lost in the move: ${missing.join(", ")}`);
    // Those that reached the new connection came in acceptance order.
    const after = moved.messageIds();
    assert.deepEqual(after, [...after].sort((a, b) => a - b));
  } finally {
    await c.stop();
  }
});

Deno.test("ChatServer routes nothing over a cut link; the sweep delivers from the database", async () => {
  const c = await InProcessCluster.start(2);
  try {
    const alice = await c.user(1, "alice");
    const bob = await c.user(2, "bob");
    c.network.cut(1, 2);
    const id = await sendDirect(alice.client, bob.id, "across the cut", "m1");
    await c.network.settled();
    assert.deepEqual(bob.client.messageIds(), [], "nothing crossed the cut link");
    // Server 2's redelivery sweep finds the delivery in the database.
    assert.equal(await c.server(2).redeliver(0, 10_000), 1);
    await bob.client.waitFor(_isMessage(id));
    // Once healed, routing resumes: server 1 learns bob's presence again.
    c.network.link(1, 2);
    await until(() => c.server(1).presence.remoteServers(bob.id).has(2), "bob's presence again");
    const id2 = await sendDirect(alice.client, bob.id, "after the heal", "m2");
    await bob.client.waitFor(_isMessage(id2), 1_000);
  } finally {
    await c.stop();
  }
});

Deno.test("ChatServer does not stall when a peer hangs, and a login waits for it at most briefly", async () => {
  const c = await InProcessCluster.start(3, { presenceBarrierMs: 200 });
  try {
    const alice = await c.user(1, "alice");
    const bob = await c.user(2, "bob");
    const carol = await c.user(3, "carol");
    c.network.stall(2);
    // Users on healthy servers are unaffected.
    const id = await sendDirect(alice.client, carol.id, "to carol", "m1");
    await carol.client.waitFor(_isMessage(id), 1_000);
    const toBob = await sendDirect(alice.client, bob.id, "to bob", "m2");
    // A login on server 1 waits for server 2's acknowledgement no longer than the barrier.
    const started = performance.now();
    const dan = await c.user(1, "dan");
    const waited = performance.now() - started;
    assert.ok(waited < 1_000, `the login waited ${waited.toFixed(0)} ms for a hung peer`);
    const toDan = await sendDirect(carol.client, dan.id, "to dan", "m3");
    await dan.client.waitFor(_isMessage(toDan), 1_000);
    // When server 2 runs again, bob gets what waited for him.
    c.network.resume(2);
    await bob.client.waitFor(_isMessage(toBob), 1_000);
  } finally {
    c.network.resume(2);
    await c.stop();
  }
});

Deno.test("ChatServer delivers a message sent right after a login on another server live", async () => {
  const c = await InProcessCluster.start(2);
  try {
    const alice = await c.user(1, "alice");
    // The login returns only after server 1 has applied bob's presence: the very next
    // message is pushed, not left for the sweep.
    const bob = await c.user(2, "bob");
    const id = await sendDirect(alice.client, bob.id, "first", "m1");
    await bob.client.waitFor(_isMessage(id), 500);
  } finally {
    await c.stop();
  }
});

Deno.test("ChatServer forgets a peer's users when its link goes down", async () => {
  const c = await InProcessCluster.start(2);
  try {
    const bob = await c.user(2, "bob");
    assert.deepEqual([...c.server(1).presence.remoteServers(bob.id)], [2]);
    c.network.cut(1, 2);
    assert.equal(c.server(1).presence.remoteServers(bob.id).size, 0);
    c.network.link(1, 2);
    await c.network.settled();
    assert.deepEqual([...c.server(1).presence.remoteServers(bob.id)], [2]);
    bob.client.close();
    await c.network.settled();
    assert.equal(c.server(1).presence.remoteServers(bob.id).size, 0);
  } finally {
    await c.stop();
  }
});

Deno.test("ChatServer answers requests in order, errors for bad frames included", async () => {
  const c = await InProcessCluster.start(1);
  try {
    const alice = await c.user(1, "alice");
    const bob = await c.user(1, "bob");
    const client = c.connect(1);
    // A login (slow: scrypt) followed at once by frames that fail to decode.
    client.write({ type: "login", ref: 7, username: "alice", password: "correct horse 1" });
    client.writeRaw("{not json");
    client.writeRaw(JSON.stringify({ type: "ping", ref: 8, extra: 1 }));
    client.write({ type: "ping", ref: 9 });
    await client.waitFor((f) => f.type === "pong");
    const answers = client.frames.filter((f) => f.type !== "welcome" && f.type !== "synced");
    assert.deepEqual(
      answers.map((f) => [f.type, "ref" in f ? f.ref : undefined]),
      [["logged_in", 7], ["error", undefined], ["error", 8], ["pong", 9]],
    );
    // A message's `accepted` waits for its commit; a ping sent after it is answered after it.
    alice.client.frames.length = 0;
    alice.client.write({
      type: "single_message",
      ref: 20,
      client_msg_id: "m1",
      to: bob.id,
      body: "x",
    });
    alice.client.write({ type: "ping", ref: 21 });
    await alice.client.waitFor((f) => f.type === "pong");
    assert.deepEqual(
      alice.client.frames.filter((f) => "ref" in f).map((f) => f.type),
      ["accepted", "pong"],
    );
  } finally {
    await c.stop();
  }
});

Deno.test("ChatServer closes a connection after 10 invalid frames in a row, decode or handler", async () => {
  const c = await InProcessCluster.start(1);
  try {
    const client = c.connect(1);
    // Each decodes but fails in the handler: the RSA key is not a key.
    for (let i = 0; i < 10; i++) {
      client.write({
        type: "register",
        ref: i,
        username: `user${i}`,
        password: "long enough",
        rsa_public_key: "not a key",
        identity_key: "A".repeat(43),
      });
    }
    await until(() => !client.open, "the close after 10 invalid registrations", 5_000);
    assert.deepEqual(client.closedWith, { code: 1008, reason: "Too many invalid frames" });
    // One good frame in between resets the count.
    const other = c.connect(1);
    for (let i = 0; i < 9; i++) other.writeRaw("{");
    other.write({ type: "ping", ref: 1 });
    await other.waitFor((f) => f.type === "pong");
    for (let i = 0; i < 9; i++) other.writeRaw("{");
    // Nine invalid frames are answered (in order) before this pong, and the connection stays.
    other.write({ type: "ping", ref: 2 });
    await other.waitFor((f) => f.type === "pong" && f.ref === 2);
    assert.equal(other.open, true);
  } finally {
    await c.stop();
  }
});

Deno.test("ChatServer's sweep pushes again a message whose ack was dropped, and stops once it is acked", async () => {
  const clock = { t: Date.now() };
  const c = await InProcessCluster.start(1, { now: () => clock.t });
  try {
    const alice = await c.user(1, "alice");
    const bob = await c.user(1, "bob");
    const id = await sendDirect(alice.client, bob.id, "ack me", "m1");
    await bob.client.waitFor(_isMessage(id));
    clock.t += 1_000;
    const later = await sendDirect(alice.client, bob.id, "and me", "m2");
    await bob.client.waitFor(_isMessage(later));
    // Pushed just now: not again yet.
    assert.equal(await c.server(1).redeliver(0, 10_000), 0);
    // bob acknowledges the second and drops the first's acknowledgement.
    bob.client.write({ type: "ack", ref: 1, ids: [later] });
    await bob.client.waitFor((f) => f.type === "ok" && f.ref === 1);
    clock.t += 9_000;
    assert.equal(await c.server(1).redeliver(0, 10_000), 1);
    assert.equal(bob.client.messageIds().filter((m) => m === id).length, 2);
    bob.client.write({ type: "ack", ref: 2, ids: [id] });
    await bob.client.waitFor((f) => f.type === "ok" && f.ref === 2);
    clock.t += 60_000;
    assert.equal(await c.server(1).redeliver(0, 10_000), 0);
  } finally {
    await c.stop();
  }
});

Deno.test("ChatServer's logout closes every connection on that session, on every server", async () => {
  const c = await InProcessCluster.start(2);
  try {
    const alice = await c.user(1, "alice");
    const bob = await c.user(1, "bob");
    const token = (alice.client.frames.find((f) => f.type === "registered") as {
      session_token: string;
    }).session_token;
    // The same session resumed on both servers, and a second session of alice on server 2.
    const resumed = [c.connect(1), c.connect(2)];
    for (const r of resumed) {
      await r.request({ type: "resume", ref: 0, session_token: token });
      await r.waitFor((f) => f.type === "synced");
    }
    const other = c.connect(2);
    await other.request({ type: "login", ref: 0, username: "alice", password: "correct horse 1" });
    await other.waitFor((f) => f.type === "synced");
    const ok = await alice.client.request({ type: "logout", ref: 0 });
    assert.equal(ok.type, "ok");
    await until(
      () => resumed.every((r) => r.closedWith !== null),
      "the session's connections closed",
    );
    for (const r of resumed) {
      assert.equal(r.open, false, "a connection on the logged-out session stayed open");
      assert.equal(r.closedWith?.code, 4003);
      assert.equal(r.closedWith?.reason, CLOSE_REASONS.sessionEnded);
    }
    assert.equal(other.open, true, "another session of the same user is not affected");
    // A frame sent on the ended session afterwards is not accepted.
    const late = c.connect(1);
    const answer = await late.request({ type: "resume", ref: 0, session_token: token });
    assert.equal(answer.type, "error");
    const id = await sendDirect(bob.client, alice.id, "still reaches her other session", "b1");
    await other.waitFor(_isMessage(id));
  } finally {
    await c.stop();
  }
});

Deno.test("ChatServer.checkSessions() closes connections whose session ended unheard", async () => {
  const c = await InProcessCluster.start(2);
  try {
    const alice = await c.user(1, "alice");
    const token = (alice.client.frames.find((f) => f.type === "registered") as {
      session_token: string;
    }).session_token;
    const onTwo = c.connect(2);
    await onTwo.request({ type: "resume", ref: 0, session_token: token });
    await onTwo.waitFor((f) => f.type === "synced");
    // The link is down when alice logs out on server 1: server 2 does not hear of it...
    c.network.cut(1, 2);
    await alice.client.request({ type: "logout", ref: 0 });
    assert.equal(onTwo.open, true);
    // ...until it checks its sessions against the database.
    assert.equal(await c.server(2).checkSessions(), 1);
    assert.equal(onTwo.closedWith?.code, 4003);
  } finally {
    await c.stop();
  }
});

Deno.test("ChatServer's lookup says whether the user is online on any server", async () => {
  const c = await InProcessCluster.start(2);
  try {
    const alice = await c.user(1, "alice");
    const bob = await c.user(2, "bob");
    // Only contacts are told (see server_contacts_test.ts): bob made alice one.
    await bob.client.request({ type: "contacts", ref: 0, users: { [alice.id]: "contact" } });
    const seen = await alice.client.request({ type: "lookup", ref: 0, username: "bob" });
    assert.equal(seen.type === "user" && seen.online, true, "bob is on server 2");
    bob.client.close();
    // Server 2's offline news reaches server 1.
    await until(() => c.server(1).presence.remoteServers(bob.id).size === 0, "bob offline on 1");
    const gone = await alice.client.request({ type: "lookup", ref: 0, user_id: bob.id });
    assert.equal(gone.type === "user" && gone.online, false);
  } finally {
    await c.stop();
  }
});

// ---- Usernames ignore case ----------------------------------------------------------

const _RSA_PUBLIC_KEY = await Deno.readTextFile(
  new URL("../testdata/rsa/rsa2048_spki_public.pem", import.meta.url),
);

function _register(username: string): ClientFrame {
  return {
    type: "register",
    ref: 0,
    username,
    password: "correct horse 1",
    rsa_public_key: _RSA_PUBLIC_KEY,
    identity_key: toBase64Url(randomBytes(32), false),
  };
}

/** Asserts that `answer` is an error with `code` (and a message matching). */
function _isError(answer: ServerFrame, code: string, message?: RegExp): void {
  assert.equal(answer.type, "error", JSON.stringify(answer));
  assert.equal((answer as ErrorFrame).code, code, JSON.stringify(answer));
  if (message) assert.match((answer as ErrorFrame).message, message);
}

Deno.test("ChatServer refuses a username that differs only in case, saying case is ignored", async () => {
  const c = await InProcessCluster.start(1);
  try {
    await c.user(1, "alice");
    const client = c.connect(1);
    _isError(
      await client.request(_register("Alice")),
      "username_taken",
      /^The username "Alice" is taken \("alice" exists; usernames ignore case\)$/,
    );
    _isError(
      await client.request(_register("alice")),
      "username_taken",
      /^The username "alice" is taken$/,
    );
    // Another name still registers on the same connection.
    assert.equal((await client.request(_register("Bob"))).type, "registered");
  } finally {
    await c.stop();
  }
});

Deno.test("ChatServer finds a user by name ignoring case and NFKC, answering the registered spelling", async () => {
  const c = await InProcessCluster.start(1);
  try {
    const alice = await c.user(1, "Alice.B");
    // Full-width letters are their ASCII letters after NFKC.
    for (const name of ["alice.b", "ALICE.B", "ＡＬＩＣＥ.ｂ"]) {
      const client = c.connect(1);
      const answer = await client.request({
        type: "login",
        ref: 0,
        username: name,
        password: "correct horse 1",
      });
      assert.equal(answer.type, "logged_in", JSON.stringify(answer));
      assert.deepEqual(
        [(answer as LoggedInFrame).user_id, (answer as LoggedInFrame).username],
        [alice.id, "Alice.B"],
      );
      const found = await alice.client.request({ type: "lookup", ref: 0, username: name });
      assert.equal(found.type, "user", JSON.stringify(found));
      assert.deepEqual(
        [(found as UserFrame).user_id, (found as UserFrame).username],
        [alice.id, "Alice.B"],
      );
    }
  } finally {
    await c.stop();
  }
});

Deno.test("ChatServer registers one of two names equal but for case sent at once to two servers", async () => {
  const c = await InProcessCluster.start(2);
  try {
    const answers = await Promise.all([
      c.connect(1).request(_register("Bob")),
      c.connect(2).request(_register("bob")),
    ]);
    assert.deepEqual(answers.map((a) => a.type).sort(), ["error", "registered"]);
    const lost = answers.find((a) => a.type === "error")!;
    _isError(lost, "username_taken", /usernames ignore case/);
    assert.equal((await c.store.stats()).users, 1);
  } finally {
    await c.stop();
  }
});

// ---- Handing a group over, deleting it ------------------------------------------------

/** The body of the first `group_event` message about `groupId` announcing `event`. */
async function _groupEvent(
  client: FakeClient,
  groupId: number,
  event: GroupEventName,
): Promise<GroupEventBody> {
  const frame = await client.waitFor((f) =>
    f.type === "message" && f.kind === "group_event" && f.group_id === groupId &&
    (JSON.parse(f.body) as GroupEventBody).event === event
  ) as MessageFrame;
  assert.equal(frame.from, 0);
  return JSON.parse(frame.body) as GroupEventBody;
}

async function _group(client: FakeClient, name: string, members: number[]): Promise<WireGroup> {
  const answer = await client.request({ type: "create_group", ref: 0, name, members });
  assert.equal(answer.type, "group", JSON.stringify(answer));
  return (answer as GroupFrame).group;
}

Deno.test("ChatServer's transfer_group hands the group over and tells every member, on every server", async () => {
  const c = await InProcessCluster.start(2);
  try {
    const alice = await c.user(1, "alice");
    const bob = await c.user(2, "bob");
    const carol = await c.user(2, "carol");
    const group = await _group(alice.client, "climbers", [bob.id, carol.id]);
    const answer = await alice.client.request({
      type: "transfer_group",
      ref: 0,
      group_id: group.id,
      user_id: bob.id,
    });
    const after = { ...group, admin: bob.id };
    assert.deepEqual(answer, { type: "group", ref: (answer as GroupFrame).ref, group: after });
    for (const member of [alice, bob, carol]) {
      assert.deepEqual(await _groupEvent(member.client, group.id, "admin_changed"), {
        event: "admin_changed",
        group: after,
        user_id: bob.id,
        by: alice.id,
      });
    }
    // The new admin administers; the old one is a member like the others.
    _isError(
      await alice.client.request({
        type: "remove_member",
        ref: 0,
        group_id: group.id,
        user_id: carol.id,
      }),
      "not_admin",
    );
    const removed = await bob.client.request({
      type: "remove_member",
      ref: 0,
      group_id: group.id,
      user_id: carol.id,
    });
    assert.deepEqual((removed as GroupFrame).group.members, [alice.id, bob.id]);
  } finally {
    await c.stop();
  }
});

Deno.test("ChatServer lets the old admin leave after a handover, and not the new one", async () => {
  const c = await InProcessCluster.start(2);
  try {
    const alice = await c.user(1, "alice");
    const bob = await c.user(2, "bob");
    const group = await _group(alice.client, "climbers", [bob.id]);
    _isError(
      await alice.client.request({ type: "leave_group", ref: 0, group_id: group.id }),
      "forbidden",
      /transfer_group/,
    );
    await alice.client.request({
      type: "transfer_group",
      ref: 0,
      group_id: group.id,
      user_id: bob.id,
    });
    const left = await alice.client.request({ type: "leave_group", ref: 0, group_id: group.id });
    assert.equal(left.type, "ok", JSON.stringify(left));
    const event = await _groupEvent(bob.client, group.id, "left");
    assert.deepEqual(event, {
      event: "left",
      group: { ...group, admin: bob.id, members: [bob.id] },
      user_id: alice.id,
      by: alice.id,
    });
    await _groupEvent(alice.client, group.id, "left");
    _isError(
      await bob.client.request({ type: "leave_group", ref: 0, group_id: group.id }),
      "forbidden",
    );
    _isError(
      await alice.client.request({ type: "group_info", ref: 0, group_id: group.id }),
      "not_member",
    );
  } finally {
    await c.stop();
  }
});

Deno.test("ChatServer's transfer_group is for the admin, to another member of an existing group", async () => {
  const c = await InProcessCluster.start(1);
  try {
    const alice = await c.user(1, "alice");
    const bob = await c.user(1, "bob");
    const eve = await c.user(1, "eve");
    const group = await _group(alice.client, "g", [bob.id]);
    const transfer = (client: FakeClient, groupId: number, userId: number) =>
      client.request({ type: "transfer_group", ref: 0, group_id: groupId, user_id: userId });
    _isError(await transfer(bob.client, group.id, bob.id), "not_admin");
    _isError(await transfer(eve.client, group.id, eve.id), "not_member");
    _isError(await transfer(alice.client, group.id, eve.id), "not_found", /not a member/);
    _isError(await transfer(alice.client, group.id, 424242), "not_found");
    _isError(await transfer(alice.client, group.id, alice.id), "forbidden", /admin .* already/);
    _isError(await transfer(alice.client, group.id + 100, bob.id), "not_found");
    const info = await bob.client.request({ type: "group_info", ref: 0, group_id: group.id });
    assert.deepEqual((info as GroupFrame).group, group, "nothing changed");
  } finally {
    await c.stop();
  }
});

Deno.test("ChatServer's delete_group removes the group for good and tells every member, on every server", async () => {
  const c = await InProcessCluster.start(2);
  try {
    const alice = await c.user(1, "alice");
    const bob = await c.user(2, "bob");
    const carol = await c.user(2, "carol");
    const group = await _group(alice.client, "climbers", [bob.id, carol.id]);
    // Carol is offline when the group goes: a message to the group waits for her, then the event.
    carol.client.close();
    await until(() => c.server(1).presence.remoteServers(carol.id).size === 0, "carol offline");
    const sent = await alice.client.request({
      type: "group_message",
      ref: 0,
      client_msg_id: "g1",
      group_id: group.id,
      body: "last words",
    });
    assert.equal(sent.type, "accepted", JSON.stringify(sent));
    _isError(
      await bob.client.request({ type: "delete_group", ref: 0, group_id: group.id }),
      "not_admin",
    );
    const deleted = await alice.client.request({
      type: "delete_group",
      ref: 0,
      group_id: group.id,
    });
    assert.equal(deleted.type, "ok", JSON.stringify(deleted));
    const expected = {
      event: "deleted",
      group: { ...group, members: [] },
      user_id: alice.id,
      by: alice.id,
    };
    for (const member of [alice, bob]) {
      assert.deepEqual(await _groupEvent(member.client, group.id, "deleted"), expected);
    }
    const back = c.connect(2);
    await back.request({ type: "login", ref: 0, username: "carol", password: "correct horse 1" });
    await back.waitFor((f) => f.type === "synced");
    const replayed = back.frames.flatMap((f) => f.type === "message" ? [f] : []);
    assert.deepEqual(replayed.map((m) => [m.kind, m.msg_id > (sent as AcceptedFrame).msg_id]), [
      ["group_event", false], // created
      ["group", false], // the message sent before the deletion
      ["group_event", true], // deleted
    ]);
    assert.deepEqual(await _groupEvent(back, group.id, "deleted"), expected);
    // The group is gone for every use.
    const gid = group.id;
    for (
      const frame of [
        { type: "group_info", ref: 0, group_id: gid },
        { type: "group_message", ref: 0, client_msg_id: "g2", group_id: gid, body: "x" },
        { type: "add_member", ref: 0, group_id: gid, user_id: carol.id },
        { type: "remove_member", ref: 0, group_id: gid, user_id: bob.id },
        { type: "transfer_group", ref: 0, group_id: gid, user_id: bob.id },
        { type: "leave_group", ref: 0, group_id: gid },
        { type: "delete_group", ref: 0, group_id: gid },
      ] as ClientFrame[]
    ) {
      _isError(await alice.client.request(frame), "not_found", undefined);
    }
    for (const client of [alice.client, bob.client, back]) {
      const mine = await client.request({ type: "list_groups", ref: 0 });
      assert.deepEqual((mine as GroupsFrame).groups, []);
    }
  } finally {
    await c.stop();
  }
});

Deno.test("ChatServer's delete_group is for the admin of an existing group", async () => {
  const c = await InProcessCluster.start(1);
  try {
    const alice = await c.user(1, "alice");
    const bob = await c.user(1, "bob");
    const eve = await c.user(1, "eve");
    const group = await _group(alice.client, "g", [bob.id]);
    const remove = (client: FakeClient, groupId: number) =>
      client.request({ type: "delete_group", ref: 0, group_id: groupId });
    _isError(await remove(bob.client, group.id), "not_admin");
    _isError(await remove(eve.client, group.id), "not_member");
    _isError(await remove(alice.client, group.id + 100), "not_found");
    const info = await bob.client.request({ type: "group_info", ref: 0, group_id: group.id });
    assert.deepEqual((info as GroupFrame).group, group, "nothing changed");
  } finally {
    await c.stop();
  }
});

Deno.test("ChatServer's group errors name people and groups, not IDs", async () => {
  const c = await InProcessCluster.start(1);
  try {
    const alice = await c.user(1, "alice");
    const bob = await c.user(1, "bob");
    const carol = await c.user(1, "carol");
    const made = await alice.client.request({
      type: "create_group",
      ref: 0,
      name: "hikers",
      members: [bob.id],
    });
    const id = made.type === "group" ? made.group.id : 0;
    const again = await alice.client.request({
      type: "add_member",
      ref: 0,
      group_id: id,
      user_id: bob.id,
    });
    assert.equal(
      again.type === "error" && again.message,
      `bob is already a member of "hikers" (group ${id})`,
    );
    const missing = await alice.client.request({
      type: "remove_member",
      ref: 0,
      group_id: id,
      user_id: carol.id,
    });
    assert.equal(
      missing.type === "error" && missing.message,
      `carol is not a member of "hikers" (group ${id})`,
    );
    const outsider = await carol.client.request({ type: "group_info", ref: 0, group_id: id });
    assert.equal(
      outsider.type === "error" && outsider.message,
      `You are not a member of "hikers" (group ${id})`,
    );
  } finally {
    await c.stop();
  }
});

Deno.test("ChatServer sends the receipt and answers a client's next message without waiting for its ack's commit", async () => {
  const c = await InProcessCluster.start(1);
  try {
    const alice = await c.user(1, "alice");
    const bob = await c.user(1, "bob");
    const id = await sendDirect(alice.client, bob.id, "ack me", "m1");
    await bob.client.waitFor(_isMessage(id));
    // Hold bob's ack in the store, as a long group commit would.
    const release = Promise.withResolvers<void>();
    const real = c.store.ackDeliveries.bind(c.store);
    const written: number[][] = [];
    c.store.ackDeliveries = async (userId, ids) => {
      await release.promise;
      written.push([...ids]);
      return await real(userId, ids);
    };
    bob.client.write({ type: "ack", ids: [id] });
    // bob's only connection was pushed the message: the server knows whom to tell.
    await alice.client.waitFor((f) => f.type === "delivered" && f.msg_id === id);
    const reply = await sendDirect(bob.client, alice.id, "sent while my ack commits", "b1");
    assert.ok(reply > id);
    assert.deepEqual(written, [], "the removal is still waiting");
    release.resolve();
    await c.server(1).idle();
    assert.deepEqual(written, [[id]]);
    assert.deepEqual(await c.store.pendingFor(bob.id, 0, 10), []);
    // An ack with a ref is still answered once applied (an ID not pending for him: ignored).
    const ok = await bob.client.request({ type: "ack", ref: 7, ids: [reply] });
    assert.equal(ok.type, "ok");
  } finally {
    await c.stop();
  }
});
