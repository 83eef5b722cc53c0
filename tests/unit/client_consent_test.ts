/**
 * Consent, verification and live key checks in the engine (core/client/engine/consent.ts,
 * key_watch.ts and their wiring), on injected ports: a fake server (client_fakes.ts's
 * dialer) whose directory the test controls, peers that seal real envelopes, a keystore in
 * a temporary directory and files in memory.
 */

import assert from "node:assert/strict";
import { ChatClient } from "../../core/client/engine/chat_client.ts";
import {
  fernetKeyId,
  type FileChunk,
  sealDirect,
  sealFriendKey,
  sealGroup,
  sealGroupKey,
  splitFile,
} from "../../core/e2e/mod.ts";
import type { ClientEvent } from "../../core/client/engine/events.ts";
import { friendKeyMessageId, groupKeyMessageId } from "../../core/client/engine/key_rules.ts";
import type { Keystore } from "../../core/keystore/keystore.ts";
import { createKeystoreFile } from "../../core/client/deno/keystore_file.ts";
import type { RequestFrame } from "../../core/client/transport/protocol_client.ts";
import {
  generateFernetKey,
  generateIdentityKeyPair,
  importRsaPublicKey,
  toBase64Url,
} from "../../core/crypto/mod.ts";
import type { MessageFrame } from "../../core/protocol/mod.ts";
import { FakeDialer, MemoryFiles } from "../helpers/client_fakes.ts";
import { until, untilValue } from "../helpers/wait.ts";

const _rsa = (name: string) =>
  Deno.readTextFileSync(new URL(`../testdata/rsa/${name}`, import.meta.url));
// Everyone shares one RSA pair: these tests are about consent, not RSA.
const _RSA_PRIVATE = _rsa("rsa2048_pkcs8_private.pem");
const _RSA_PUBLIC = _rsa("rsa2048_spki_public.pem");

type _Identity = ReturnType<typeof generateIdentityKeyPair>;

interface _Peer {
  readonly id: number;
  readonly name: string;
  readonly identity: _Identity;
  /** The identity key the directory publishes for them. */
  published: string;
}

const _b64 = (key: Uint8Array) => toBase64Url(key, false);

/** A fake server and the people around alice (#1): bob (#2) and carol (#3). */
class _World {
  readonly alice = generateIdentityKeyPair();
  readonly peers = new Map<number, _Peer>();
  /** The identity key the directory publishes for alice herself. */
  alicePublished = _b64(this.alice.publicKey);
  readonly dialer = new FakeDialer((f) => this.#answer(f));
  readonly events: ClientEvent[] = [];
  readonly files = new MemoryFiles();
  #msgId = 100;

  constructor() {
    for (const [id, name] of [[2, "bob"], [3, "carol"]] as const) {
      const identity = generateIdentityKeyPair();
      this.peers.set(id, { id, name, identity, published: _b64(identity.publicKey) });
    }
  }

  get bob(): _Peer {
    return this.peers.get(2)!;
  }

  get carol(): _Peer {
    return this.peers.get(3)!;
  }

  /** The live fake connection. */
  get conn() {
    return this.dialer.conns.at(-1)!;
  }

  /** A message from the server, as the dialer's handlers get it. */
  deliver(m: Omit<MessageFrame, "type" | "msg_id" | "sent_at"> & { msg_id?: number }): number {
    const msgId = m.msg_id ?? ++this.#msgId;
    this.conn.handlers!.onMessage({ type: "message", sent_at: Date.now(), ...m, msg_id: msgId });
    return msgId;
  }

  /** `from` offers alice the shared key `key`. */
  offerKey(from: _Peer, key: string): number {
    return this.deliver({
      kind: "key",
      from: from.id,
      group_id: null,
      client_msg_id: friendKeyMessageId(fernetKeyId(key)),
      body: sealFriendKey({
        fromId: from.id,
        toId: 1,
        fernetKey: key,
        recipientRsaPublic: importRsaPublicKey(_RSA_PUBLIC),
        senderIdentitySecret: from.identity.secretKey,
      }),
    });
  }

  /** `from` sends alice a text or file chunk sealed with `key`. */
  direct(from: _Peer, key: string, plaintext: string | FileChunk): number {
    const id = `c-${crypto.randomUUID()}`;
    return this.deliver({
      kind: "direct",
      from: from.id,
      group_id: null,
      client_msg_id: id,
      body: sealDirect({
        fromId: from.id,
        toId: 1,
        fernetKey: key,
        plaintext,
        senderIdentitySecret: from.identity.secretKey,
        clientMsgId: id,
      }),
    });
  }

  /** The server announces group `groupId` made by `admin` with these members. */
  groupCreated(groupId: number, admin: _Peer, members: number[]): number {
    return this.deliver({
      kind: "group_event",
      from: 0,
      group_id: groupId,
      client_msg_id: null,
      body: JSON.stringify({
        event: "created",
        group: { id: groupId, name: "team", admin: admin.id, members },
        user_id: admin.id,
        by: admin.id,
      }),
    });
  }

  /** The admin sends alice the group's key for epoch 1. */
  groupKey(admin: _Peer, groupId: number, key: string): number {
    return this.deliver({
      kind: "key",
      from: admin.id,
      group_id: groupId,
      client_msg_id: groupKeyMessageId(groupId, 1, fernetKeyId(key)),
      body: sealGroupKey({
        fromId: admin.id,
        toId: 1,
        groupId,
        epoch: 1,
        fernetKey: key,
        recipientRsaPublic: importRsaPublicKey(_RSA_PUBLIC),
        senderIdentitySecret: admin.identity.secretKey,
      }),
    });
  }

  /** `from` posts to the group. */
  groupMessage(from: _Peer, groupId: number, key: string, plaintext: string | FileChunk) {
    const id = `g-${crypto.randomUUID()}`;
    return this.deliver({
      kind: "group",
      from: from.id,
      group_id: groupId,
      client_msg_id: id,
      body: sealGroup({
        fromId: from.id,
        groupId,
        epoch: 1,
        fernetKey: key,
        plaintext,
        senderIdentitySecret: from.identity.secretKey,
        clientMsgId: id,
      }),
    });
  }

  /** Events of one kind. */
  all<E extends ClientEvent["event"]>(event: E): Extract<ClientEvent, { event: E }>[] {
    return this.events.filter((e) => e.event === event) as Extract<ClientEvent, { event: E }>[];
  }

  /** Waits for an event of this kind matching `pred`. */
  async waitFor<E extends ClientEvent["event"]>(
    event: E,
    pred: (e: Extract<ClientEvent, { event: E }>) => boolean = () => true,
  ): Promise<Extract<ClientEvent, { event: E }>> {
    try {
      return await untilValue(() => this.all(event).find(pred), `a ${event} event`, 5_000);
    } catch {
      throw new Error(
        `No ${event} event. Events:\n${this.events.map((e) => JSON.stringify(e)).join("\n")}`,
      );
    }
  }

  #answer(frame: RequestFrame): unknown {
    switch (frame.type) {
      case "resume":
        return { type: "logged_in", ref: 1, user_id: 1, username: "alice", session_token: "tok" };
      case "ping":
        return { type: "pong", ref: 1, server_id: 1 };
      case "lookup": {
        const peer = [...this.peers.values()].find((p) =>
          p.id === frame.user_id || p.name === frame.username
        );
        const [id, name, identity] = peer
          ? [peer.id, peer.name, peer.published]
          : frame.user_id === 1 || frame.username === "alice"
          ? [1, "alice", this.alicePublished]
          : [0, "", ""];
        if (id === 0) throw new Error(`No such user ${frame.user_id ?? frame.username}`);
        return {
          type: "user",
          ref: 1,
          user_id: id,
          username: name,
          rsa_public_key: _RSA_PUBLIC,
          identity_key: identity,
          online: true,
        };
      }
      case "key":
      case "single_message":
      case "group_message":
        return {
          type: "accepted",
          ref: 1,
          client_msg_id: frame.client_msg_id,
          msg_id: ++this.#msgId,
          duplicate: false,
        };
      default:
        throw new Error(`Unexpected ${frame.type}`);
    }
  }
}

/** Runs `fn` with alice's client started in a fresh world. */
async function _withAlice(
  fn: (w: _World, client: ChatClient, ks: Keystore) => Promise<void>,
  opts: { keyCheckMs?: number; prepare?: (ks: Keystore, w: _World) => void } = {},
) {
  const dir = await Deno.makeTempDir({ prefix: "fastchat_consent_engine_" });
  const w = new _World();
  const ks = await createKeystoreFile(`${dir}/keystore.db`, {
    password: "pw-of-alice",
    account: {
      userId: 1,
      username: "alice",
      rsaPrivateKey: _RSA_PRIVATE,
      rsaPublicKey: _RSA_PUBLIC,
      identitySecretKey: w.alice.secretKey,
      identityPublicKey: _b64(w.alice.publicKey),
      sessionToken: "tok",
    },
    scrypt: { N: 1024 },
  });
  opts.prepare?.(ks, w);
  const client = new ChatClient({
    balancerUrls: "http://unused.invalid",
    saveDir: `${dir}/files`,
    username: "alice",
    password: "pw-of-alice",
    emit: (e) => void w.events.push(e),
    dialer: w.dialer,
    keystore: { open: () => Promise.resolve(ks), create: () => Promise.reject(new Error("no")) },
    files: w.files,
    keyCheckMs: opts.keyCheckMs ?? 0,
  });
  try {
    await client.start();
    await fn(w, client, ks);
  } finally {
    await client.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** Waits until the acks include `ids`. */
async function _acked(w: _World, ...ids: number[]) {
  await until(() => ids.every((id) => w.conn.acks.includes(id)), `acks of ${ids}`, 5_000);
}

Deno.test("a stranger's message that arrives before its key is read once the key comes", async () => {
  await _withAlice(async (w, client) => {
    const key = generateFernetKey();
    const m = w.direct(w.bob, key, "the key is on its way");
    await _acked(w, m);
    const k = w.offerKey(w.bob, key);
    await _acked(w, k);
    await w.waitFor("request", (e) => e.text === "the key is on its way");
    await client.run({ name: "requests" });
    assert.deepEqual(w.all("requests")[0]!.requests.map((r) => [r.user, r.text, r.messages]), [
      ["bob", "the key is on its way", 1],
    ]);
  });
});

Deno.test("a stranger's key and message are kept as a request; accept shows them in order", async () => {
  await _withAlice(async (w, client, ks) => {
    const key = generateFernetKey();
    const k = w.offerKey(w.bob, key);
    const m = w.direct(w.bob, key, "hello alice, it is bob");
    await _acked(w, k, m);
    // The key and the message right behind it make one request, announced once with its text.
    assert.deepEqual(w.all("request"), [
      { event: "request", user: "bob", id: 2, text: "hello alice, it is bob", messages: 1 },
    ]);
    assert.equal(w.all("message").length, 0, "nothing is shown before the user decides");
    assert.equal(w.all("friend").length, 0);
    assert.equal(ks.friend(2)!.contact, false, "pinned, not a contact");
    assert.equal(ks.activeFriendKey(2), null, "the offered key is not taken yet");
    assert.deepEqual(ks.history("direct", 2), []);

    await client.run({ name: "requests" });
    assert.deepEqual(w.all("requests")[0]!.requests.map((r) => [r.user, r.text, r.messages]), [
      ["bob", "hello alice, it is bob", 1],
    ]);
    await client.run({ name: "friends" });
    assert.deepEqual(w.all("friends")[0]!.friends, []);

    const before = w.events.length;
    await client.run({ name: "accept", user: "bob" });
    assert.deepEqual(w.events.slice(before).map((e) => e.event), [
      "contact_added",
      "friend",
      "message",
    ]);
    assert.deepEqual(w.all("contact_added")[0], {
      event: "contact_added",
      user: "bob",
      id: 2,
      messages: 1,
    });
    assert.equal(w.all("message")[0]!.text, "hello alice, it is bob");
    assert.equal(ks.request(2), null);
    assert.equal(ks.friend(2)!.contact, true);
    assert.equal(ks.activeFriendKey(2)!.kid, fernetKeyId(key));
    assert.deepEqual(ks.history("direct", 2).map((r) => r.text), ["hello alice, it is bob"]);
    assert.equal(w.conn.acks.filter((id) => id === m).length, 1, "acknowledged once");
    // From now on bob's messages are shown as they come.
    w.direct(w.bob, key, "second");
    await w.waitFor("message", (e) => e.text === "second");
  });
});

Deno.test("a key announced alone, then the message behind it: accept shows the message", async () => {
  await _withAlice(async (w, client, ks) => {
    const key = generateFernetKey();
    const k = w.offerKey(w.bob, key);
    await _acked(w, k);
    await w.waitFor("request", (e) => e.text === null);
    const m = w.direct(w.bob, key, "right behind the key");
    await _acked(w, m);
    await w.waitFor("request", (e) => e.text === "right behind the key");
    await client.run({ name: "accept", user: "bob" });
    await w.waitFor("message", (e) => e.text === "right behind the key");
    assert.equal(ks.request(2), null);
  });
});

Deno.test("writing to someone who asked takes their request and key; no new key is made", async () => {
  await _withAlice(async (w, client) => {
    const key = generateFernetKey();
    w.offerKey(w.bob, key);
    const m = w.direct(w.bob, key, "are you there?");
    await _acked(w, m);
    await client.run({ name: "single_message", user: "bob", text: "yes!" });
    await w.waitFor("message", (e) => e.text === "are you there?");
    assert.equal(w.all("contact_added").length, 1);
    const sent = w.conn.requests.filter((r) => r.type === "key" || r.type === "single_message");
    assert.deepEqual(sent.map((r) => r.type), ["single_message"]);
    assert.equal(JSON.parse((sent[0] as { body: string }).body).kid, fernetKeyId(key));
  });
});

Deno.test("single_message to someone new sends a key without a word about it", async () => {
  await _withAlice(async (w, client) => {
    await client.run({ name: "single_message", user: "bob", text: "hi bob" });
    const sent = w.conn.requests.filter((r) => r.type === "key" || r.type === "single_message");
    assert.deepEqual(sent.map((r) => r.type), ["key", "single_message"]);
    assert.equal(w.all("friend").length, 0);
  });
});

Deno.test("add_friend says once that the user can write now", async () => {
  await _withAlice(async (w, client) => {
    await client.run({ name: "add_friend", user: "bob" });
    await client.run({ name: "single_message", user: "bob", text: "hi bob" });
    assert.deepEqual(w.all("friend"), [
      { event: "friend", user: "bob", id: 2, initiated_by: "me" },
    ]);
  });
});

Deno.test("a request counts what was written, not the key offered with it", async () => {
  await _withAlice(async (w, client) => {
    const key = generateFernetKey();
    await _acked(w, w.offerKey(w.bob, key), w.direct(w.bob, key, "one message"));
    await client.run({ name: "requests" });
    assert.equal(w.all("requests")[0]!.requests[0]!.messages, 1);
    await client.run({ name: "accept", user: "bob" });
    assert.equal(w.all("contact_added")[0]!.messages, 1);
  });
});

Deno.test("add_friend makes a contact whose later messages are not requests", async () => {
  await _withAlice(async (w, client, ks) => {
    await client.run({ name: "add_friend", user: "bob" });
    assert.equal(ks.friend(2)!.contact, true);
    assert.equal(w.all("contact_added").length, 0, "no request was waiting");
    const key = generateFernetKey();
    w.offerKey(w.bob, key);
    w.direct(w.bob, key, "thanks for the add");
    await w.waitFor("message", (e) => e.text === "thanks for the add");
    assert.equal(w.all("request").length, 0);
  });
});

Deno.test("block drops what a user sends without a word; unblock makes them a stranger again", async () => {
  await _withAlice(async (w, client, ks) => {
    const key = generateFernetKey();
    w.offerKey(w.bob, key);
    await _acked(w, w.direct(w.bob, key, "spam 1"));
    await client.run({ name: "block", user: "bob" });
    assert.deepEqual(w.all("blocked"), [{ event: "blocked", user: "bob", id: 2, dropped: 1 }]);
    assert.equal(ks.request(2), null);
    const count = w.events.length;
    const later = [w.offerKey(w.bob, key), w.direct(w.bob, key, "spam 2")];
    const file = splitFile(new Uint8Array(100), "virus.exe", 1024)[0]!;
    later.push(w.direct(w.bob, key, file));
    await _acked(w, ...later);
    assert.deepEqual(w.events.slice(count), [], "dropped silently, files too");
    assert.equal(w.files.files.size, 0);

    await client.run({ name: "requests" });
    assert.deepEqual(w.all("requests")[0]!.blocked, [{ id: 2, user: "bob" }]);
    await client.run({ name: "single_message", user: "bob", text: "hi" });
    assert.equal(w.all("error").at(-1)!.code, "blocked");
    assert.equal(w.conn.requests.some((r) => r.type === "single_message"), false);

    await client.run({ name: "unblock", user: "bob" });
    assert.deepEqual(w.all("unblocked"), [{ event: "unblocked", user: "bob", id: 2 }]);
    await client.run({ name: "unblock", user: "bob" });
    assert.match(w.all("error").at(-1)!.message, /bob is not blocked/);
    w.offerKey(w.bob, key);
    w.direct(w.bob, key, "sorry");
    await w.waitFor("request", (e) => e.text === "sorry");
    assert.equal(w.all("message").length, 0);
  });
});

Deno.test("block works on someone never seen, by the directory's name", async () => {
  await _withAlice(async (w, client, ks) => {
    await client.run({ name: "block", user: "carol" });
    assert.deepEqual(w.all("blocked"), [{ event: "blocked", user: "carol", id: 3, dropped: 0 }]);
    assert.equal(ks.friend(3), null, "blocking pins nobody");
    const key = generateFernetKey();
    await _acked(w, w.offerKey(w.carol, key), w.direct(w.carol, key, "hi"));
    assert.equal(w.all("request").length, 0);
    await client.run({ name: "block", user: "alice" });
    assert.equal(w.all("error").at(-1)!.code, "is_self");
  });
});

Deno.test("group messages from members are not requests, but their files need a contact", async () => {
  await _withAlice(async (w, client) => {
    const gkey = generateFernetKey();
    w.groupCreated(9, w.carol, [1, 2, 3]);
    // carol is a stranger: being put in her group is a request, accepted first.
    await w.waitFor("group_request", (e) => e.group === 9);
    await client.run({ name: "accept", user: "9" });
    w.groupKey(w.carol, 9, gkey);
    w.groupMessage(w.bob, 9, gkey, "hi team");
    w.groupMessage(w.carol, 9, gkey, "welcome");
    const chunk = splitFile(new Uint8Array(500), "photo.png", 1024)[0]!;
    w.groupMessage(w.bob, 9, gkey, chunk);
    await w.waitFor("message", (e) => e.text === "welcome");
    assert.equal(w.all("message").find((e) => e.text === "hi team")!.group, 9);
    const refused = await w.waitFor("file_refused");
    assert.equal(refused.reason, "not_contact");
    assert.equal(refused.from_name, "bob");
    assert.equal(refused.group, 9);
    assert.equal(refused.group_name, "team");
    assert.equal(refused.name, "photo.png");
    assert.equal(refused.size, 500);
    assert.match(refused.message, /bob is not a contact/);
    assert.equal(w.all("request").length, 0);
    assert.equal(w.all("file").length, 0);
    assert.equal(w.files.files.size, 0);
  });
});

Deno.test("files: saved from a contact up to the limit; a larger one or a stranger's is refused once", async () => {
  await _withAlice(async (w, client, ks) => {
    const key = generateFernetKey();
    w.offerKey(w.bob, key);
    await w.waitFor("request");
    await client.run({ name: "accept", user: "bob" });
    const small = Uint8Array.from({ length: 3000 }, (_, i) => i & 255);
    for (const c of splitFile(small, "small.bin", 1024)) w.direct(w.bob, key, c);
    const saved = await w.waitFor("file");
    assert.deepEqual(w.files.files.get(saved.path), small);

    await client.run({ name: "file_limit", bytes: null });
    assert.deepEqual(w.all("file_limit").at(-1), { event: "file_limit", bytes: 25 * 1024 * 1024 });
    await client.run({ name: "file_limit", bytes: 4096 });
    assert.deepEqual(w.all("file_limit").at(-1), { event: "file_limit", bytes: 4096 });
    assert.equal(ks.setting("file_limit_bytes"), "4096");
    const big = new Uint8Array(5000);
    const ids = splitFile(big, "big.bin", 1024).map((c) => w.direct(w.bob, key, c));
    await _acked(w, ...ids);
    const refused = w.all("file_refused");
    assert.equal(refused.length, 1, "reported once for its 5 chunks");
    assert.equal(refused[0]!.reason, "too_large");
    assert.equal(refused[0]!.limit, 4096);
    assert.equal(refused[0]!.size, 5000);
    assert.equal(w.all("file").length, 1);

    // carol is not a contact: her file is refused, and not kept with her request.
    const ckey = generateFernetKey();
    w.offerKey(w.carol, ckey);
    w.direct(w.carol, ckey, splitFile(new Uint8Array(10), "note.txt", 1024)[0]!);
    const byCarol = await w.waitFor("file_refused", (e) => e.from === 3);
    assert.equal(byCarol.reason, "not_contact");
    assert.equal(ks.request(3)!.messages, 1, "only her key is kept");
    assert.equal(w.files.files.size, 1);
  });
});

Deno.test("verify marks a contact's keys; a later change is flagged loudly by the periodic check", async () => {
  await _withAlice(async (w, client, ks) => {
    await client.run({ name: "add_friend", user: "bob" });
    await client.run({ name: "verify", user: "bob" });
    const v = w.all("verified")[0]!;
    assert.equal(v.user, "bob");
    assert.match(v.safety_number, /^[0-9]{60}$/);
    await client.run({ name: "friends" });
    assert.deepEqual(w.all("friends").at(-1)!.friends, [
      { id: 2, user: "bob", verified_keys: true, verified: true },
    ]);
    assert.notEqual(ks.friend(2)!.verifiedAt, null);

    w.bob.published = _b64(generateIdentityKeyPair().publicKey);
    const changed = await w.waitFor("key_changed");
    assert.equal(changed.verified, true);
    assert.match(changed.message, /bob's keys have changed, and bob is a VERIFIED contact/);
    await client.run({ name: "friends" });
    assert.deepEqual(w.all("friends").at(-1)!.friends, [
      { id: 2, user: "bob", verified_keys: false, verified: false },
    ]);
    await client.run({ name: "verify", user: "bob" });
    assert.equal(w.all("error").at(-1)!.code, "keys_changed");
    assert.equal(w.all("key_changed").length, 1, "reported once");
    await client.run({ name: "accept_key", user: "bob" });
    await client.run({ name: "verify", user: "bob" });
    assert.equal(w.all("verified").length, 2);
  }, { keyCheckMs: 20 });
});

Deno.test("a reconnect re-checks contacts' keys; an unverified change says so without VERIFIED", async () => {
  await _withAlice(async (w, client) => {
    await client.run({ name: "add_friend", user: "bob" });
    w.bob.published = _b64(generateIdentityKeyPair().publicKey);
    w.conn.drop(1006);
    await w.waitFor("reconnected");
    const changed = await w.waitFor("key_changed");
    assert.equal(changed.verified, false);
    assert.doesNotMatch(changed.message, /VERIFIED/);
  });
});

Deno.test("own keys: other keys published for the user are reported loudly once; the client works on", async () => {
  await _withAlice(async (w, client) => {
    const warning = await w.waitFor("own_keys_changed");
    assert.equal(warning.user, "alice");
    assert.match(warning.message, /server publishes keys for you \(alice\)/);
    await client.run({ name: "single_message", user: "bob", text: "still works" });
    assert.ok(w.all("accepted").length === 1);
    w.conn.drop(1006);
    // "reconnected" comes once the check after the login (onAttached) has finished.
    await w.waitFor("reconnected");
    assert.equal(w.all("own_keys_changed").length, 1);
    const lookups = w.conn.requests.filter((r) => r.type === "lookup" && r.user_id === 1);
    assert.equal(lookups.length, 1, "checked again after the reconnect");
  }, {
    prepare: (_ks, w) => void (w.alicePublished = _b64(generateIdentityKeyPair().publicKey)),
  });
});

Deno.test("an accept cut short is finished at the next start", async () => {
  let key = "";
  await _withAlice(async (w, _client, ks) => {
    await w.waitFor("message", (e) => e.text === "kept before the crash");
    assert.equal(ks.request(2), null);
    assert.equal(ks.activeFriendKey(2)!.kid, fernetKeyId(key));
  }, {
    prepare: (ks, w) => {
      key = generateFernetKey();
      ks.addFriend({
        userId: 2,
        username: "bob",
        rsaPublicKey: _RSA_PUBLIC,
        identityKey: w.bob.published,
        contact: false,
      });
      const frame = (msgId: number, kind: MessageFrame["kind"], body: string, id: string) =>
        JSON.stringify({
          type: "message",
          msg_id: msgId,
          kind,
          from: 2,
          group_id: null,
          body,
          sent_at: 1,
          client_msg_id: id,
        });
      ks.addRequestMessage(
        2,
        51,
        frame(
          51,
          "key",
          sealFriendKey({
            fromId: 2,
            toId: 1,
            fernetKey: key,
            recipientRsaPublic: importRsaPublicKey(_RSA_PUBLIC),
            senderIdentitySecret: w.bob.identity.secretKey,
          }),
          friendKeyMessageId(fernetKeyId(key)),
        ),
      );
      ks.addRequestMessage(
        2,
        52,
        frame(
          52,
          "direct",
          sealDirect({
            fromId: 2,
            toId: 1,
            fernetKey: key,
            plaintext: "kept before the crash",
            senderIdentitySecret: w.bob.identity.secretKey,
            clientMsgId: "c-52",
          }),
          "c-52",
        ),
      );
      // accept had made bob a contact when the client stopped.
      ks.setContact(2, true);
    },
  });
});
