/**
 * GroupKeys on fakes: the key frames the admin sends, without a server. The server keeps one
 * message per sender and client message ID, so what matters here is which members each
 * frame is for and under which ID it goes.
 */

import assert from "node:assert/strict";
import { GroupKeys } from "../../core/client/engine/group_keys.ts";
import type { FriendRecord, GroupRecord } from "../../core/keystore/keystore_types.ts";
import type { Secrets } from "../../core/client/engine/secrets.ts";
import { Tracker } from "../../core/client/engine/tracker.ts";
import { generateIdentityKeyPair } from "../../core/crypto/mod.ts";
import type { RequestFrame } from "../../core/client/transport/protocol_client.ts";
import { eventLog, FakeConn, FakeLink } from "../helpers/client_fakes.ts";

const _RSA_PUBLIC = await Deno.readTextFile(
  new URL("../testdata/rsa/rsa2048_spki_public.pem", import.meta.url),
);

/** alice (#1) is the admin; every other user is pinned with the same test RSA key. */
function _groupKeys() {
  const keys = new Map<number, { epoch: number; key: string }>();
  const ks = {
    userId: 1,
    currentGroupKey: (groupId: number) => keys.get(groupId) ?? null,
    addGroupKey: (groupId: number, epoch: number, key: string) => {
      keys.set(groupId, { epoch, key });
      return true;
    },
    friendKeysUsable: () => true,
  };
  const friends = {
    pin: (uid: number | string) =>
      Promise.resolve({ userId: uid, username: `user${uid}`, rsaPublicKey: _RSA_PUBLIC }),
  };
  // The server's idempotency: a second frame under a client message ID it has seen is the
  // first message again, delivered to nobody new.
  const seen = new Map<string, number>();
  const conn = new FakeConn((frame) => {
    const f = frame as Extract<RequestFrame, { type: "key" }>;
    const duplicate = seen.has(f.client_msg_id);
    if (!duplicate) seen.set(f.client_msg_id, 100 + seen.size);
    return {
      type: "accepted",
      ref: 1,
      client_msg_id: f.client_msg_id,
      msg_id: seen.get(f.client_msg_id)!,
      duplicate,
    };
  });
  const identity = generateIdentityKeyPair();
  const secrets = { userId: 1, identitySecret: identity.secretKey } as unknown as Secrets;
  const log = eventLog();
  const groupKeys = new GroupKeys({
    ks: ks as unknown as ConstructorParameters<typeof GroupKeys>[0]["ks"],
    friends: friends as unknown as { pin(uid: number): Promise<FriendRecord> },
    link: new FakeLink(conn),
    emit: log.emit,
    secrets,
    tracker: new Tracker(),
  });
  /** The key frames sent: the members each was for, and whether the server took it as new. */
  const sent = () =>
    conn.requests.map((r) => {
      const f = r as Extract<RequestFrame, { type: "key" }>;
      return { to: Object.keys(f.keys!).map(Number), id: f.client_msg_id };
    });
  return { groupKeys, sent, seen, events: log.events };
}

function _group(members: number[]): GroupRecord {
  return {
    groupId: 7,
    name: "team",
    adminId: 1,
    members,
    epoch: null,
    isMember: true,
    leftAt: null,
    leftBy: null,
    leftHow: null,
    updatedAt: 0,
  };
}

Deno.test("GroupKeys.apply() sends an added member the current key as a message of its own", async () => {
  const t = _groupKeys();
  await t.groupKeys.rotate(_group([1, 2]), true);
  await t.groupKeys.apply(_group([1, 2, 3]), { action: "send_current", to: [3] });
  await t.groupKeys.apply(_group([1, 2, 3, 4]), { action: "send_current", to: [4] });
  const sent = t.sent();
  assert.deepEqual(sent.map((s) => s.to), [[2], [3], [4]]);
  // Three IDs, so the server delivers all three (issue 18: the second and third were taken
  // for resends of the first, and the added members never got the key).
  assert.equal(new Set(sent.map((s) => s.id)).size, 3);
  assert.equal(t.seen.size, 3);
  assert.deepEqual(t.events, []);
});

Deno.test("GroupKeys.apply() sends the same addition again under the same ID", async () => {
  // The group event is handled again after a reconnect: the server recognizes the resend.
  const t = _groupKeys();
  await t.groupKeys.rotate(_group([1, 2]), true);
  await t.groupKeys.apply(_group([1, 2, 3]), { action: "send_current", to: [3] });
  await t.groupKeys.apply(_group([1, 2, 3]), { action: "send_current", to: [3] });
  const [, first, again] = t.sent();
  assert.equal(again!.id, first!.id);
  assert.equal(t.seen.size, 2);
});

Deno.test("GroupKeys.rotate() sends each epoch's key to every member under that epoch's ID", async () => {
  const t = _groupKeys();
  await t.groupKeys.rotate(_group([1, 2, 3]), true);
  await t.groupKeys.rotate(_group([1, 2, 3]), true); // has a key: nothing
  await t.groupKeys.rotate(_group([1, 3]));
  const sent = t.sent();
  assert.deepEqual(sent.map((s) => s.to), [[2, 3], [3]]);
  assert.match(sent[0]!.id, /^gk-7-1-[A-Za-z0-9_-]{11}$/);
  assert.match(sent[1]!.id, /^gk-7-2-[A-Za-z0-9_-]{11}$/);
});
