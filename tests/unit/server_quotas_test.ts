/**
 * What bounds a client at the server (`core/server/quotas.ts`): login, resume and
 * registration limits held in the shared store (concurrent guesses, other addresses, other
 * servers, restarts), the per-recipient pending bound and its protocol errors, the send rate,
 * and the pending expiry. In-process servers over one SQLite store, fake connections with
 * chosen addresses.
 */

import assert from "node:assert/strict";
import { randomBytes, toBase64Url } from "../../core/crypto/bytes.ts";
import { createLogger } from "../../core/log/logger.ts";
import type { ClientFrame, ServerFrame } from "../../core/protocol/mod.ts";
import { ChatServer } from "../../core/server/chat_server.ts";
import { QUOTAS, type Quotas, resolveQuotas } from "../../core/server/quotas.ts";
import { FakeClient, InProcessCluster } from "../helpers/in_process.ts";

const _RSA_PUBLIC_KEY = await Deno.readTextFile(
  new URL("../testdata/rsa/rsa2048_spki_public.pem", import.meta.url),
);

const _OWNER = "198.51.100.10";
const _ATTACKER = "203.0.113.66";
const _PASSWORD = "correct horse 1";

type _Error = Extract<ServerFrame, { type: "error" }>;

/** Registers `username` on server `id` from `addr`; resolves after its replay. */
async function _register(c: InProcessCluster, id: number, username: string, addr = _OWNER) {
  const client = c.connect(id, addr);
  const reg = await client.request(_registerFrame(username));
  assert.equal(reg.type, "registered", JSON.stringify(reg));
  await client.waitFor((f) => f.type === "synced");
  const r = reg as Extract<ServerFrame, { type: "registered" }>;
  return { client, id: r.user_id, token: r.session_token };
}

function _registerFrame(username: string): ClientFrame {
  return {
    type: "register",
    ref: 0,
    username,
    password: _PASSWORD,
    rsa_public_key: _RSA_PUBLIC_KEY,
    identity_key: toBase64Url(randomBytes(32), false),
  };
}

/** One login on a fresh connection to `server` from `addr`; the answer. */
function _login(c: InProcessCluster, server: number, addr: string, password: string) {
  return c.connect(server, addr).request({
    type: "login",
    ref: 0,
    username: "alice",
    password,
  });
}

function _codes(frames: readonly ServerFrame[]): string[] {
  return frames.map((f) => (f.type === "error" ? f.code : f.type));
}

function _count(frames: readonly ServerFrame[], code: string): number {
  return _codes(frames).filter((c) => c === code).length;
}

async function _send(client: FakeClient, to: number, cmid: string, body = "ciphertext") {
  return await client.request({ type: "single_message", ref: 0, client_msg_id: cmid, to, body });
}

// ---- Login, resume and registration ---------------------------------------------------

Deno.test("ChatServer checks only as many passwords as the limit allows when guesses come at once", async () => {
  const c = await InProcessCluster.start(1);
  try {
    await _register(c, 1, "alice");
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) => _login(c, 1, _ATTACKER, `guess ${i}`)),
    );
    // The default account-and-address bucket: five at once.
    assert.equal(_count(answers, "auth_failed"), 5, _codes(answers).join());
    assert.equal(_count(answers, "rate_limited"), 7, _codes(answers).join());
    assert.equal(c.server(1).metrics.authFailures, 5, "passwords checked");
    for (const a of answers.filter((f) => f.type === "error" && f.code === "rate_limited")) {
      const e = a as _Error;
      assert.ok(e.retry_after_ms! > 0 && e.retry_after_ms! <= 60_000, JSON.stringify(e));
      assert.match(e.message, /Too many failed logins; try again in \d+ s/);
    }
  } finally {
    await c.stop();
  }
});

Deno.test("ChatServer lets the owner log in from another address while a guesser is locked out", async () => {
  const c = await InProcessCluster.start(1);
  try {
    await _register(c, 1, "alice");
    for (let i = 0; i < 12; i++) await _login(c, 1, _ATTACKER, `guess ${i}`);
    // Even the right password is refused to the guesser's address...
    const blocked = await _login(c, 1, _ATTACKER, _PASSWORD);
    assert.equal((blocked as _Error).code, "rate_limited");
    // ...and not to the owner's.
    assert.equal((await _login(c, 1, _OWNER, _PASSWORD)).type, "logged_in");
    assert.equal((await _login(c, 1, "2001:db8::7", _PASSWORD)).type, "logged_in");
  } finally {
    await c.stop();
  }
});

Deno.test("ChatServer limits logins per address across accounts", async () => {
  const quotas: Partial<Quotas> = { loginAddress: { burst: 3, intervalMs: 60_000 } };
  const c = await InProcessCluster.start(1, { quotas });
  try {
    const answers: ServerFrame[] = [];
    for (const name of ["ann", "ben", "cat", "dan"]) {
      answers.push(
        await c.connect(1, _ATTACKER).request({
          type: "login",
          ref: 0,
          username: name,
          password: "whatever",
        }),
      );
    }
    assert.deepEqual(_codes(answers), [
      "auth_failed",
      "auth_failed",
      "auth_failed",
      "rate_limited",
    ]);
  } finally {
    await c.stop();
  }
});

Deno.test("ChatServer gives a successful login's attempt back", async () => {
  const c = await InProcessCluster.start(1);
  try {
    await _register(c, 1, "alice");
    const tries: ServerFrame[] = [];
    for (let i = 0; i < 4; i++) tries.push(await _login(c, 1, _OWNER, `typo ${i}`));
    tries.push(await _login(c, 1, _OWNER, _PASSWORD));
    tries.push(await _login(c, 1, _OWNER, "typo again"));
    tries.push(await _login(c, 1, _OWNER, "and again"));
    assert.deepEqual(_codes(tries), [
      "auth_failed",
      "auth_failed",
      "auth_failed",
      "auth_failed",
      "logged_in",
      "auth_failed", // the fifth failure: the success did not count
      "rate_limited",
    ]);
  } finally {
    await c.stop();
  }
});

Deno.test("ChatServer shares login limits between servers on one store and keeps them across a restart", async () => {
  const c = await InProcessCluster.start(2);
  try {
    await _register(c, 1, "alice");
    const answers: ServerFrame[] = [];
    for (let i = 0; i < 6; i++) answers.push(await _login(c, 1 + (i % 2), _ATTACKER, `g${i}`));
    assert.deepEqual(_codes(answers).slice(4), ["auth_failed", "rate_limited"]);
    // A server started afresh on the same database knows it too.
    const restarted = new ChatServer({
      id: 3,
      store: c.store,
      logger: createLogger("error"),
      passwordCost: { N: 1024, r: 8, p: 1 },
    });
    const client = new FakeClient(restarted, _ATTACKER);
    try {
      const again = await client.request({
        type: "login",
        ref: 0,
        username: "alice",
        password: _PASSWORD,
      });
      assert.equal((again as _Error).code, "rate_limited");
    } finally {
      client.close();
      restarted.closeAll();
    }
  } finally {
    await c.stop();
  }
});

Deno.test("ChatServer limits registrations per address, except from loopback by default", async () => {
  const quotas: Partial<Quotas> = { register: { burst: 3, intervalMs: 3_600_000 } };
  const c = await InProcessCluster.start(1, { quotas });
  try {
    const answers: ServerFrame[] = [];
    for (let i = 0; i < 4; i++) {
      answers.push(await c.connect(1, _ATTACKER).request(_registerFrame(`spam${i}`)));
    }
    assert.deepEqual(_codes(answers), ["registered", "registered", "registered", "rate_limited"]);
    const limited = answers[3] as _Error;
    assert.ok(limited.retry_after_ms! > 0);
    assert.match(limited.message, /Too many registrations from your address; try again in \d+ min/);
    assert.equal((await c.store.stats()).users, 3, "the refused one was not created");
    // Another address is not held up, nor a loopback peer (a local proxy or benchmark).
    assert.equal((await c.connect(1, _OWNER).request(_registerFrame("owner"))).type, "registered");
    for (let i = 0; i < 4; i++) {
      const r = await c.connect(1, "127.0.0.1").request(_registerFrame(`local${i}`));
      assert.equal(r.type, "registered");
    }
  } finally {
    await c.stop();
  }
  // With limitLoopback, loopback peers are limited like any other.
  const strict = await InProcessCluster.start(1, { quotas: { ...quotas, limitLoopback: true } });
  try {
    const answers: ServerFrame[] = [];
    for (let i = 0; i < 4; i++) {
      answers.push(await strict.connect(1, "::1").request(_registerFrame(`local${i}`)));
    }
    assert.equal(_codes(answers).at(-1), "rate_limited");
  } finally {
    await strict.stop();
  }
});

Deno.test("ChatServer limits failed resumes per address and gives successful ones back", async () => {
  const quotas: Partial<Quotas> = { resumeAddress: { burst: 2, intervalMs: 3_600_000 } };
  const c = await InProcessCluster.start(1, { quotas });
  try {
    const alice = await _register(c, 1, "alice");
    const resume = (addr: string, token: string) =>
      c.connect(1, addr).request({ type: "resume", ref: 0, session_token: token });
    // Successes cost nothing: many devices behind one address may resume at once.
    for (let i = 0; i < 5; i++) assert.equal((await resume(_OWNER, alice.token)).type, "logged_in");
    const wrong = toBase64Url(randomBytes(32), false);
    const answers = [
      await resume(_ATTACKER, wrong),
      await resume(_ATTACKER, wrong),
      await resume(_ATTACKER, alice.token),
    ];
    assert.deepEqual(_codes(answers), ["auth_failed", "auth_failed", "rate_limited"]);
    assert.equal((await resume(_OWNER, alice.token)).type, "logged_in");
  } finally {
    await c.stop();
  }
});

// ---- Pending bound ------------------------------------------------------------------

Deno.test("ChatServer refuses a direct message to a full recipient with recipient_full", async () => {
  const quotas: Partial<Quotas> = { pending: { messages: 3, bytes: 1_000_000 } };
  const c = await InProcessCluster.start(2, { quotas });
  try {
    const alice = await _register(c, 1, "alice");
    const bob = await _register(c, 2, "bob"); // online, never acknowledging
    const ids: number[] = [];
    for (let i = 0; i < 3; i++) {
      const a = await _send(alice.client, bob.id, `m${i}`);
      assert.equal(a.type, "accepted");
      ids.push((a as { msg_id: number }).msg_id);
    }
    const refused = await _send(alice.client, bob.id, "m3") as _Error;
    assert.equal(refused.code, "recipient_full");
    assert.equal(
      refused.message,
      `User ${bob.id} has too many undelivered messages (at most 3 or 1000000 bytes may wait); ` +
        "nothing was stored; try again after they come online",
    );
    assert.equal((await c.store.stats()).messages, 3);
    assert.equal(c.server(1).metrics.recipientFull, 1);
    // Once bob acknowledges one, the same message goes through, as new.
    await bob.client.request({ type: "ack", ref: 0, ids: [ids[0]!] } as ClientFrame);
    const later = await _send(alice.client, bob.id, "m3");
    assert.equal(later.type, "accepted");
    assert.equal((later as { duplicate: boolean }).duplicate, false);
    await bob.client.waitFor((f) => f.type === "message" && f.client_msg_id === "m3");
  } finally {
    await c.stop();
  }
});

Deno.test("ChatServer stores a group message for members with room and names the full ones", async () => {
  const quotas: Partial<Quotas> = { pending: { messages: 2, bytes: 1_000_000 } };
  const c = await InProcessCluster.start(1, { quotas });
  try {
    const alice = await _register(c, 1, "alice");
    const bob = await _register(c, 1, "bob");
    const cy = await _register(c, 1, "cyd");
    const g = await alice.client.request({
      type: "create_group",
      ref: 0,
      name: "climbers",
      members: [bob.id, cy.id],
    });
    const groupId = (g as Extract<ServerFrame, { type: "group" }>).group.id;
    // The "created" event is one pending message each; one more direct message fills bob.
    await bob.client.waitFor((f) => f.type === "message" && f.kind === "group_event");
    assert.equal((await _send(alice.client, bob.id, "fill")).type, "accepted");
    const sent = await alice.client.request({
      type: "group_message",
      ref: 0,
      client_msg_id: "g1",
      group_id: groupId,
      body: "to the group",
    });
    assert.equal(sent.type, "accepted", JSON.stringify(sent));
    const accepted = sent as Extract<ServerFrame, { type: "accepted" }>;
    assert.deepEqual(accepted.full_recipients, [bob.id]);
    await cy.client.waitFor((f) => f.type === "message" && f.msg_id === accepted.msg_id);
    await c.network.settled(); // pushes to everyone routed with cy's have arrived
    assert.ok(!bob.client.messageIds().includes(accepted.msg_id), "bob got nothing");
    // Everyone full: refused, naming them all.
    const none = await alice.client.request({
      type: "group_message",
      ref: 0,
      client_msg_id: "g2",
      group_id: groupId,
      body: "again",
    }) as _Error;
    assert.equal(none.code, "recipient_full");
    assert.match(none.message, new RegExp(`^Users ${bob.id}, ${cy.id} have too many`));
  } finally {
    await c.stop();
  }
});

// ---- Send rate ----------------------------------------------------------------------

Deno.test("ChatServer answers sends past the sender's rate with rate_limited and stores nothing", async () => {
  const quotas: Partial<Quotas> = { send: { burst: 5, intervalMs: 60_000 } };
  // A clock that stands still, so the wait is exact however long the sends take.
  const now = Date.now();
  const c = await InProcessCluster.start(1, { quotas, now: () => now });
  try {
    const alice = await _register(c, 1, "alice");
    const bob = await _register(c, 1, "bob");
    const answers = await Promise.all(
      Array.from({ length: 7 }, (_, i) => _send(alice.client, bob.id, `m${i}`)),
    );
    assert.deepEqual(_codes(answers), [
      "accepted",
      "accepted",
      "accepted",
      "accepted",
      "accepted",
      "rate_limited",
      "rate_limited",
    ]);
    const limited = answers[5] as _Error;
    assert.equal(limited.retry_after_ms, 60_000);
    assert.match(limited.message, /^Too many messages; slow down and try again in 60 s$/);
    assert.equal((await c.store.stats()).messages, 5);
    // Group changes count too; other senders do not.
    const g = await alice.client.request({ type: "create_group", ref: 0, name: "g", members: [] });
    assert.equal((g as _Error).code, "rate_limited");
    assert.equal((await _send(bob.client, alice.id, "b1")).type, "accepted");
  } finally {
    await c.stop();
  }
});

Deno.test("ChatServer does not limit sends when quotas.send is null", async () => {
  const c = await InProcessCluster.start(1, { quotas: { send: null } });
  try {
    const alice = await _register(c, 1, "alice");
    const bob = await _register(c, 1, "bob");
    const answers = await Promise.all(
      Array.from({ length: 250 }, (_, i) => _send(alice.client, bob.id, `m${i}`)),
    );
    assert.equal(_count(answers, "accepted"), 250);
  } finally {
    await c.stop();
  }
});

// ---- Pending expiry -----------------------------------------------------------------

Deno.test("ChatServer drops deliveries pending longer than pendingExpiryMs, in its sweep", async () => {
  // The server's clock runs ahead when the test says so: no waiting for the expiry.
  let ahead = 0;
  const c = await InProcessCluster.start(1, {
    quotas: { pendingExpiryMs: 1 },
    now: () => Date.now() + ahead,
  });
  try {
    const alice = await _register(c, 1, "alice");
    const bob = await _register(c, 1, "bob");
    bob.client.close();
    for (let i = 0; i < 3; i++) await _send(alice.client, bob.id, `m${i}`);
    ahead = 60_000; // a minute later
    // The once-a-second sweep runs the expiry (at most once a minute).
    await c.server(1).redeliver(0, 60_000);
    assert.equal(c.server(1).metrics.deliveriesExpired, 3);
    assert.equal((await c.store.stats()).pendingDeliveries, 0);
    const back = c.connect(1, _OWNER);
    await back.request({ type: "resume", ref: 0, session_token: bob.token });
    const synced = await back.waitFor((f) => f.type === "synced");
    assert.deepEqual(synced, { type: "synced", pending: 0 });
    assert.equal(await c.server(1).expirePending(), 0);
  } finally {
    await c.stop();
  }
});

Deno.test("ChatServer keeps deliveries younger than pendingExpiryMs", async () => {
  const c = await InProcessCluster.start(1);
  try {
    const alice = await _register(c, 1, "alice");
    const bob = await _register(c, 1, "bob");
    bob.client.close();
    await _send(alice.client, bob.id, "m0");
    assert.equal(await c.server(1).expirePending(), 0);
    assert.equal((await c.store.stats()).pendingDeliveries, 1);
  } finally {
    await c.stop();
  }
});

Deno.test("ChatServer refuses quotas that are not positive integers", () => {
  const make = (quotas: Partial<Quotas>) => () =>
    new ChatServer({ id: 1, store: null!, logger: createLogger("error"), quotas });
  assert.throws(make({ pendingExpiryMs: 0 }), /quotas.pendingExpiryMs must be a positive integer/);
  assert.throws(make({ send: { burst: 1.5, intervalMs: 1 } }), /quotas.send.burst/);
  assert.throws(make({ loginPair: [] }), /quotas.loginPair must list at least one bucket/);
  assert.throws(make({ pending: { messages: 1, bytes: -1 } }), /quotas.pending.bytes/);
  // An option left undefined keeps its default.
  assert.deepEqual(resolveQuotas({ pendingExpiryMs: undefined, send: undefined }), QUOTAS);
});
