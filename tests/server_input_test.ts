/**
 * Bad input against a real server process: every case gets its clear error and the server
 * keeps serving everyone else.
 */

import assert from "node:assert/strict";
import { ProtocolClient, RequestError } from "../core/client/transport/protocol_client.ts";
import { encode, type ErrorFrame, LIMITS } from "../core/protocol/mod.ts";
import { randomBytes, toBase64Url } from "../core/crypto/bytes.ts";
import { TEST_RSA_PUBLIC_KEY, TestCluster, until } from "./helpers/cluster.ts";

/** Collects unsolicited error frames. */
function _errors(client: ProtocolClient): ErrorFrame[] {
  const out: ErrorFrame[] = [];
  client.onFrame = (f) => f.type === "error" && out.push(f);
  return out;
}

async function _rejects(p: Promise<unknown>, code: string, message?: RegExp) {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof RequestError, `expected a RequestError, got ${err}`);
    assert.equal(err.code, code);
    if (message) assert.match(err.message, message);
    return true;
  });
}

Deno.test("server answers malformed frames with error codes and keeps the connection", async () => {
  const c = await TestCluster.start(1);
  try {
    const alice = await c.user(1, "alice");
    const bob = await c.user(1, "bob");
    const errors = _errors(alice.client);
    alice.client.sendRaw("{not json");
    alice.client.sendRaw("[1,2,3]");
    alice.client.sendRaw(JSON.stringify({ type: "teleport", ref: 7 }));
    alice.client.sendRaw(
      JSON.stringify({ type: "single_message", ref: 8, to: "bob", body: "x", client_msg_id: "a" }),
    );
    alice.client.sendRaw(
      JSON.stringify({ type: "single_message", ref: 9, to: bob.id, client_msg_id: "a" }),
    );
    alice.client.sendRaw(
      JSON.stringify({ type: "peer_deliver", recipients: [bob.id], message: {} }),
    );
    await until(() => errors.length === 6, "six error frames");
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
    const acc = await alice.client.send(bob.id, "still here");
    assert.ok(acc.msg_id > 0);
  } finally {
    await c.stop();
  }
});

Deno.test("server rejects a forged sender field and always stamps the real sender", async () => {
  const c = await TestCluster.start(1);
  try {
    const alice = await c.user(1, "alice");
    const bob = await c.user(1, "bob");
    const mallory = await c.user(1, "mallory");
    const errors = _errors(mallory.client);
    mallory.client.sendRaw(JSON.stringify({
      type: "single_message",
      ref: 1,
      to: bob.id,
      from: alice.id,
      body: "I am alice",
      client_msg_id: "forge",
    }));
    await until(() => errors.length === 1, "the error");
    assert.equal(errors[0]!.code, "bad_frame");
    assert.match(errors[0]!.message, /Unexpected field "from"/);
    const got: number[] = [];
    bob.client.onMessage = (m) => got.push(m.from);
    await mallory.client.send(bob.id, "hi");
    await until(() => got.length === 1, "bob's message");
    assert.deepEqual(got, [mallory.id]);
  } finally {
    await c.stop();
  }
});

Deno.test("server closes a connection that sends an oversized frame with 1009", async () => {
  const c = await TestCluster.start(1);
  try {
    const alice = await c.user(1, "alice");
    const bob = await c.user(1, "bob");
    alice.client.sendRaw(
      encode({
        type: "single_message",
        ref: 1,
        to: bob.id,
        client_msg_id: "big",
        body: "x".repeat(LIMITS.frameBytes + 1),
      }),
    );
    const closed = await alice.client.whenClosed;
    assert.equal(closed.code, 1009);
    // Everyone else is still served.
    const carol = await c.user(1, "carol");
    assert.ok((await carol.client.send(bob.id, "fine")).msg_id > 0);
  } finally {
    await c.stop();
  }
});

Deno.test("server closes a connection after repeated invalid frames with 1008", async () => {
  const c = await TestCluster.start(1);
  try {
    const client = await c.connect(1);
    for (let i = 0; i < LIMITS.invalidFrames; i++) client.sendRaw("nope");
    const closed = await client.whenClosed;
    assert.equal(closed.code, 1008);
  } finally {
    await c.stop();
  }
});

Deno.test("server requires login before anything but register, login, resume and ping", async () => {
  const c = await TestCluster.start(1);
  try {
    const client = await c.connect(1);
    const pong = await client.request({ type: "ping" });
    assert.equal(pong.type, "pong");
    await _rejects(client.send(1, "x"), "not_authenticated", /Log in or register/);
    await _rejects(client.request({ type: "list_groups" }), "not_authenticated");
    await _rejects(client.lookup("anyone"), "not_authenticated");
  } finally {
    await c.stop();
  }
});

Deno.test("server rejects bad registrations with clear errors", async () => {
  const c = await TestCluster.start(1);
  try {
    await c.user(1, "alice");
    const client = await c.connect(1);
    const ik = toBase64Url(randomBytes(32), false);
    await _rejects(
      client.register("alice", "long enough", TEST_RSA_PUBLIC_KEY, ik),
      "username_taken",
    );
    await _rejects(
      client.register("a", "long enough", TEST_RSA_PUBLIC_KEY, ik),
      "bad_frame",
      /username/,
    );
    await _rejects(
      client.register("bob", "short", TEST_RSA_PUBLIC_KEY, ik),
      "bad_frame",
      /password/,
    );
    await _rejects(
      client.register("bob", "long enough", "not a key", ik),
      "bad_frame",
      /rsa_public_key/,
    );
    const small = await Deno.readTextFile(
      new URL("./testdata/rsa/rsa1024_spki_public.pem", import.meta.url),
    );
    await _rejects(client.register("bob", "long enough", small, ik), "bad_frame", /2048/);
    await _rejects(
      client.register(
        "bob",
        "long enough",
        TEST_RSA_PUBLIC_KEY,
        toBase64Url(randomBytes(16), false),
      ),
      "bad_frame",
      /identity_key/,
    );
    // A good one still works on the same connection.
    const ok = await client.register("bob", "long enough", TEST_RSA_PUBLIC_KEY, ik);
    assert.ok(ok.user_id > 0);
    await _rejects(client.login("bob", "long enough"), "already_authenticated");
  } finally {
    await c.stop();
  }
});

Deno.test("server refuses wrong passwords and slows repeated failures", async () => {
  const c = await TestCluster.start(1);
  try {
    const alice = await c.user(1, "alice", "right password");
    const client = await c.connect(1);
    await _rejects(client.login("alice", "wrong password"), "auth_failed", /Wrong username/);
    await _rejects(client.login("nobody", "whatever1"), "auth_failed", /Wrong username/);
    await _rejects(client.login(alice.id, "wrong again"), "auth_failed");
    await _rejects(client.login("alice", "wrong 3"), "auth_failed");
    await _rejects(client.login("alice", "wrong 4"), "auth_failed");
    await _rejects(client.login("alice", "wrong 5"), "auth_failed");
    // Five failures for one account from one address: now throttled, even with the right
    // password, until the delay passes.
    await assert.rejects(client.login("alice", "right password"), (err: unknown) => {
      assert.ok(err instanceof RequestError);
      assert.equal(err.code, "rate_limited");
      assert.ok(err.retryAfterMs! > 0);
      return true;
    });
    await _rejects(
      client.resume(toBase64Url(randomBytes(32), false)),
      "auth_failed",
      /unknown or expired/,
    );
    // The session token from registration works.
    const other = await c.connect(1);
    const back = await other.resume(alice.token);
    assert.equal(back.user_id, alice.id);
  } finally {
    await c.stop();
  }
});

Deno.test("server enforces group membership and admin rights", async () => {
  const c = await TestCluster.start(2);
  try {
    const alice = await c.user(1, "alice");
    const bob = await c.user(2, "bob");
    const eve = await c.user(2, "eve");
    const g = await alice.client.request({ type: "create_group", name: "g", members: [bob.id] });
    const gid = g.group.id;
    await _rejects(eve.client.groupSend(gid, "let me in"), "not_member");
    await _rejects(eve.client.request({ type: "group_info", group_id: gid }), "not_member");
    await _rejects(
      bob.client.request({ type: "add_member", group_id: gid, user_id: eve.id }),
      "not_admin",
    );
    await _rejects(
      bob.client.request({ type: "remove_member", group_id: gid, user_id: alice.id }),
      "not_admin",
    );
    await _rejects(alice.client.groupSend(999999, "x"), "not_found");
    await _rejects(
      alice.client.request({ type: "add_member", group_id: gid, user_id: bob.id }),
      "forbidden",
      /already a member/,
    );
    await _rejects(
      alice.client.request({ type: "create_group", name: "x", members: [424242] }),
      "not_found",
    );
    await _rejects(alice.client.request({ type: "leave_group", group_id: gid }), "forbidden");
    // Admin adds eve; eve can post; admin removes eve; eve cannot.
    await alice.client.request({ type: "add_member", group_id: gid, user_id: eve.id });
    assert.ok((await eve.client.groupSend(gid, "hi")).msg_id > 0);
    await alice.client.request({ type: "remove_member", group_id: gid, user_id: eve.id });
    await _rejects(eve.client.groupSend(gid, "still here?"), "not_member");
    // Bob leaves; the group lists only alice.
    await bob.client.request({ type: "leave_group", group_id: gid });
    const info = await alice.client.request({ type: "group_info", group_id: gid });
    assert.deepEqual(info.group.members, [alice.id]);
    const mine = await bob.client.request({ type: "list_groups" });
    assert.deepEqual(mine.groups, []);
  } finally {
    await c.stop();
  }
});

Deno.test("server quotes untrusted input escaped, so its errors obey the string rules", async () => {
  const c = await TestCluster.start(1);
  try {
    const alice = await c.user(1, "alice");
    const errors = _errors(alice.client);
    alice.client.sendRaw('{"type":"ping\\u0000"}');
    alice.client.sendRaw('{"type":"\\ud800","ref":3}');
    alice.client.sendRaw('{"type":"x\\udfff y"}');
    alice.client.sendRaw('{"type":"ping","ref":4,"a\\u0000":1}');
    alice.client.sendRaw('\ufeff{"type":"ping","ref":5}');
    await until(() => errors.length === 4, "four error frames");
    assert.deepEqual(errors.map((e) => [e.code, e.message]), [
      ["unknown_type", 'Unknown frame type "ping\\u0000"'],
      ["unknown_type", 'Unknown frame type "\\ud800"'],
      ["unknown_type", 'Unknown frame type "x\\udfff y"'],
      ["bad_frame", 'Unexpected field "a\\u0000" in a ping frame'],
    ]);
    // The byte-order mark was dropped: the ping is answered, and the connection still works.
    assert.equal((await alice.client.request({ type: "ping" })).type, "pong");
    assert.equal(errors.length, 4, "answers come in order, so an error for it would be here");
    assert.deepEqual(alice.client.invalidFrames, []);
  } finally {
    await c.stop();
  }
});

Deno.test("server rejects a client posing as a peer server on /peer", async () => {
  const c = await TestCluster.start(1);
  try {
    const ws = new WebSocket(`ws://127.0.0.1:${c.port(1)}/peer`);
    const closed = Promise.withResolvers<number>();
    const frames: { type: string; code?: string }[] = [];
    ws.onmessage = (ev) => {
      const f = JSON.parse(ev.data);
      frames.push(f);
      if (f.type !== "peer_challenge") return;
      ws.send(JSON.stringify({
        type: "peer_auth",
        server_id: 2,
        mac: toBase64Url(randomBytes(32), false),
        nonce: toBase64Url(randomBytes(32), false),
      }));
    };
    ws.onclose = (ev) => closed.resolve(ev.code);
    assert.equal(await closed.promise, 4001);
    assert.deepEqual(frames.map((f) => f.code ?? f.type), ["peer_challenge", "bad_peer_auth"]);
  } finally {
    await c.stop();
  }
});

Deno.test("server serves /healthz and Prometheus /metrics", async () => {
  const c = await TestCluster.start(1);
  try {
    const alice = await c.user(1, "alice");
    const bob = await c.user(1, "bob");
    await alice.client.send(bob.id, "x");
    // A second connection of alice and one not logged in: `clients` counts users (documented).
    const again = await c.connect(1);
    await again.login("alice", "correct horse 1");
    await c.connect(1);
    const health = await (await fetch(`http://127.0.0.1:${c.port(1)}/healthz`)).json();
    assert.equal(health.status, "ok");
    assert.equal(health.server_id, 1);
    assert.equal(health.clients, 2);
    const res = await fetch(`http://127.0.0.1:${c.port(1)}/metrics`);
    assert.match(res.headers.get("content-type")!, /text\/plain/);
    const text = await res.text();
    assert.match(text, /# TYPE fastchat_connected_clients gauge/);
    assert.match(text, /fastchat_connected_clients\{server="1"\} 2/);
    assert.match(text, /fastchat_connections\{server="1"\} 4/);
    assert.match(text, /fastchat_messages_stored_total\{server="1"\} 1/);
    assert.match(text, /fastchat_peer_links\{server="1"\} 0/);
  } finally {
    await c.stop();
  }
});
