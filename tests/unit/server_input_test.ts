/**
 * Bad input against in-process servers (no sockets): malformed and forged frames, requests
 * before login, bad registrations, wrong passwords, group rights and untrusted text quoted
 * in errors. Every case gets its clear error and the connection keeps working. What needs
 * a real socket (binary frames, oversized frames refused at the header, close codes on the
 * wire, /peer, the HTTP endpoints) is in tests/server_input_test.ts.
 */

import assert from "node:assert/strict";
import { randomBytes, toBase64Url } from "../../core/crypto/bytes.ts";
import type { ClientFrame, ErrorFrame, ServerFrame } from "../../core/protocol/mod.ts";
import { type FakeClient, InProcessCluster } from "../helpers/in_process.ts";
import { until } from "../helpers/wait.ts";

const _RSA_PUBLIC_KEY = await Deno.readTextFile(
  new URL("../testdata/rsa/rsa2048_spki_public.pem", import.meta.url),
);
const _PASSWORD = "correct horse 1";

/** The error frames `client` received so far (unsolicited ones included). */
function _errors(client: FakeClient): ErrorFrame[] {
  return client.frames.filter((f): f is ErrorFrame => f.type === "error");
}

/** Asserts that the answer is an error with `code` (and a message matching `message`). */
async function _rejects(answer: Promise<ServerFrame>, code: string, message?: RegExp) {
  const f = await answer;
  assert.equal(f.type, "error", `expected an error, got ${JSON.stringify(f)}`);
  assert.equal((f as ErrorFrame).code, code, JSON.stringify(f));
  if (message) assert.match((f as ErrorFrame).message, message);
  return f as ErrorFrame;
}

/** Asserts that the answer is of type `type`; returns it. */
async function _ok<T extends ServerFrame["type"]>(answer: Promise<ServerFrame>, type: T) {
  const f = await answer;
  assert.equal(f.type, type, JSON.stringify(f));
  return f as Extract<ServerFrame, { type: T }>;
}

function _register(username: string, over: Partial<Record<string, string>> = {}): ClientFrame {
  return {
    type: "register",
    ref: 0,
    username,
    password: _PASSWORD,
    rsa_public_key: _RSA_PUBLIC_KEY,
    identity_key: toBase64Url(randomBytes(32), false),
    ...over,
  } as ClientFrame;
}

function _send(client: FakeClient, to: number, body: string) {
  return client.request({
    type: "single_message",
    ref: 0,
    to,
    body,
    client_msg_id: crypto.randomUUID(),
  });
}

function _groupSend(client: FakeClient, groupId: number, body: string) {
  return client.request({
    type: "group_message",
    ref: 0,
    group_id: groupId,
    body,
    client_msg_id: crypto.randomUUID(),
  });
}

Deno.test("server answers malformed frames with error codes and keeps the connection", async () => {
  const c = await InProcessCluster.start(1);
  try {
    const alice = await c.user(1, "alice");
    const bob = await c.user(1, "bob");
    alice.client.writeRaw("{not json");
    alice.client.writeRaw("[1,2,3]");
    alice.client.writeRaw(JSON.stringify({ type: "teleport", ref: 7 }));
    alice.client.writeRaw(
      JSON.stringify({ type: "single_message", ref: 8, to: "bob", body: "x", client_msg_id: "a" }),
    );
    alice.client.writeRaw(
      JSON.stringify({ type: "single_message", ref: 9, to: bob.id, client_msg_id: "a" }),
    );
    alice.client.writeRaw(
      JSON.stringify({ type: "peer_deliver", recipients: [bob.id], message: {} }),
    );
    await until(() => _errors(alice.client).length === 6, "six error frames");
    const errors = _errors(alice.client);
    assert.deepEqual(errors.map((e) => e.code), [
      "bad_json",
      "bad_frame",
      "unknown_type",
      "bad_frame",
      "bad_frame",
      "unknown_type",
    ]);
    assert.equal(errors[2]!.ref, 7);
    assert.match(
      errors[3]!.message,
      /Field "to" of a single_message frame must be a positive integer ID/,
    );
    assert.match(errors[4]!.message, /Field "body" of a single_message frame is required/);
    // Still connected and working.
    const acc = await _ok(_send(alice.client, bob.id, "still here"), "accepted");
    assert.ok(acc.msg_id > 0);
    assert.equal(alice.client.open, true);
  } finally {
    await c.stop();
  }
});

Deno.test("server rejects a forged sender field and always stamps the real sender", async () => {
  const c = await InProcessCluster.start(1);
  try {
    const alice = await c.user(1, "alice");
    const bob = await c.user(1, "bob");
    const mallory = await c.user(1, "mallory");
    mallory.client.writeRaw(JSON.stringify({
      type: "single_message",
      ref: 1,
      to: bob.id,
      from: alice.id,
      body: "I am alice",
      client_msg_id: "forge",
    }));
    await until(() => _errors(mallory.client).length === 1, "the error");
    const [error] = _errors(mallory.client);
    assert.equal(error!.code, "bad_frame");
    assert.match(error!.message, /Unexpected field "from"/);
    await _ok(_send(mallory.client, bob.id, "hi"), "accepted");
    const got = await bob.client.waitFor((f) => f.type === "message");
    assert.equal(got.type === "message" && got.from, mallory.id);
    assert.equal(bob.client.messageIds().length, 1, "the forged one was not delivered");
  } finally {
    await c.stop();
  }
});

Deno.test("server requires login before anything but register, login, resume and ping", async () => {
  const c = await InProcessCluster.start(1);
  try {
    const client = c.connect(1);
    await _ok(client.request({ ref: 0, type: "ping" }), "pong");
    await _rejects(_send(client, 1, "x"), "not_authenticated", /Log in or register/);
    await _rejects(client.request({ ref: 0, type: "list_groups" }), "not_authenticated");
    await _rejects(
      client.request({ ref: 0, type: "lookup", username: "anyone" }),
      "not_authenticated",
    );
  } finally {
    await c.stop();
  }
});

Deno.test("server rejects bad registrations with clear errors", async () => {
  const c = await InProcessCluster.start(1);
  try {
    await c.user(1, "alice");
    const client = c.connect(1);
    const ik = toBase64Url(randomBytes(32), false);
    await _rejects(client.request(_register("alice", { identity_key: ik })), "username_taken");
    await _rejects(client.request(_register("a")), "bad_frame", /username/);
    await _rejects(
      client.request(_register("bob", { password: "short" })),
      "bad_frame",
      /password/,
    );
    await _rejects(
      client.request(_register("bob", { rsa_public_key: "not a key" })),
      "bad_frame",
      /rsa_public_key/,
    );
    const small = await Deno.readTextFile(
      new URL("../testdata/rsa/rsa1024_spki_public.pem", import.meta.url),
    );
    await _rejects(
      client.request(_register("bob", { rsa_public_key: small })),
      "bad_frame",
      /2048/,
    );
    await _rejects(
      client.request(_register("bob", { identity_key: toBase64Url(randomBytes(16), false) })),
      "bad_frame",
      /identity_key/,
    );
    // A good one still works on the same connection.
    const ok = await _ok(client.request(_register("bob", { identity_key: ik })), "registered");
    assert.ok(ok.user_id > 0);
    await _rejects(
      client.request({ ref: 0, type: "login", username: "bob", password: _PASSWORD }),
      "already_authenticated",
    );
  } finally {
    await c.stop();
  }
});

Deno.test("server refuses wrong passwords and slows repeated failures", async () => {
  const c = await InProcessCluster.start(1);
  try {
    const first = c.connect(1);
    const alice = await _ok(first.request(_register("alice")), "registered");
    const client = c.connect(1);
    const login = (who: string | number, password: string) =>
      client.request(
        typeof who === "number"
          ? { ref: 0, type: "login", user_id: who, password }
          : { ref: 0, type: "login", username: who, password },
      );
    await _rejects(login("alice", "wrong password"), "auth_failed", /Wrong username/);
    await _rejects(login("nobody", "whatever1"), "auth_failed", /Wrong username/);
    await _rejects(login(alice.user_id, "wrong again"), "auth_failed");
    await _rejects(login("alice", "wrong 3"), "auth_failed");
    await _rejects(login("alice", "wrong 4"), "auth_failed");
    await _rejects(login("alice", "wrong 5"), "auth_failed");
    // Five failures for one account from one address: now throttled, even with the right
    // password, until the delay passes.
    const throttled = await _rejects(login("alice", _PASSWORD), "rate_limited");
    assert.ok(throttled.retry_after_ms! > 0);
    await _rejects(
      client.request({
        ref: 0,
        type: "resume",
        session_token: toBase64Url(randomBytes(32), false),
      }),
      "auth_failed",
      /unknown or expired/,
    );
    // The session token from registration works.
    const back = await _ok(
      c.connect(1).request({ ref: 0, type: "resume", session_token: alice.session_token }),
      "logged_in",
    );
    assert.equal(back.user_id, alice.user_id);
  } finally {
    await c.stop();
  }
});

Deno.test("server enforces group membership and admin rights", async () => {
  const c = await InProcessCluster.start(2);
  try {
    const alice = await c.user(1, "alice");
    const bob = await c.user(2, "bob");
    const eve = await c.user(2, "eve");
    const g = await _ok(
      alice.client.request({ ref: 0, type: "create_group", name: "g", members: [bob.id] }),
      "group",
    );
    const gid = g.group.id;
    await _rejects(_groupSend(eve.client, gid, "let me in"), "not_member");
    await _rejects(eve.client.request({ ref: 0, type: "group_info", group_id: gid }), "not_member");
    await _rejects(
      bob.client.request({ ref: 0, type: "add_member", group_id: gid, user_id: eve.id }),
      "not_admin",
    );
    await _rejects(
      bob.client.request({ ref: 0, type: "remove_member", group_id: gid, user_id: alice.id }),
      "not_admin",
    );
    await _rejects(_groupSend(alice.client, 999999, "x"), "not_found");
    await _rejects(
      alice.client.request({ ref: 0, type: "add_member", group_id: gid, user_id: bob.id }),
      "forbidden",
      /already a member/,
    );
    await _rejects(
      alice.client.request({ ref: 0, type: "create_group", name: "x", members: [424242] }),
      "not_found",
    );
    await _rejects(
      alice.client.request({ ref: 0, type: "leave_group", group_id: gid }),
      "forbidden",
    );
    // Admin adds eve; eve can post; admin removes eve; eve cannot.
    await alice.client.request({ ref: 0, type: "add_member", group_id: gid, user_id: eve.id });
    assert.ok((await _ok(_groupSend(eve.client, gid, "hi"), "accepted")).msg_id > 0);
    await alice.client.request({ ref: 0, type: "remove_member", group_id: gid, user_id: eve.id });
    await _rejects(_groupSend(eve.client, gid, "still here?"), "not_member");
    // Bob leaves; the group lists only alice.
    await bob.client.request({ ref: 0, type: "leave_group", group_id: gid });
    const info = await _ok(
      alice.client.request({ ref: 0, type: "group_info", group_id: gid }),
      "group",
    );
    assert.deepEqual(info.group.members, [alice.id]);
    const mine = await _ok(bob.client.request({ ref: 0, type: "list_groups" }), "groups");
    assert.deepEqual(mine.groups, []);
  } finally {
    await c.stop();
  }
});

Deno.test("server quotes untrusted input escaped, so its errors obey the string rules", async () => {
  const c = await InProcessCluster.start(1);
  try {
    const alice = await c.user(1, "alice");
    alice.client.writeRaw('{"type":"ping\\u0000"}');
    alice.client.writeRaw('{"type":"\\ud800","ref":3}');
    alice.client.writeRaw('{"type":"x\\udfff y"}');
    alice.client.writeRaw('{"type":"ping","ref":4,"a\\u0000":1}');
    alice.client.writeRaw('\ufeff{"type":"ping","ref":5}');
    // The byte-order mark was dropped: the ping is answered. Answers come in order, and a
    // frame breaking the string rules would fail the fake client's decode (and be missing).
    await alice.client.waitFor((f) => f.type === "pong" && f.ref === 5);
    assert.deepEqual(_errors(alice.client).map((e) => [e.code, e.message]), [
      ["unknown_type", 'Unknown frame type "ping\\u0000"'],
      ["unknown_type", 'Unknown frame type "\\ud800"'],
      ["unknown_type", 'Unknown frame type "x\\udfff y"'],
      ["bad_frame", 'Unexpected field "a\\u0000" in a ping frame'],
    ]);
    await _ok(alice.client.request({ ref: 0, type: "ping" }), "pong");
  } finally {
    await c.stop();
  }
});
