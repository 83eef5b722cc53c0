/**
 * The command rules moved out of `CommandRunner` into the engine parts they belong to:
 * which failed messages `resend` means and what `history` shows (stored_messages.ts), and
 * which group the user may write to (group_admin.ts). Over an in-memory keystore.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ClientError } from "../../core/client/engine/errors.ts";
import { GroupAdmin } from "../../core/client/engine/group_admin.ts";
import type { KeystorePort } from "../../core/client/engine/ports.ts";
import { failedToResend, historyEvent } from "../../core/client/engine/stored_messages.ts";
import type {
  FriendRecord,
  GroupInviteRecord,
  GroupRecord,
  MessageRecord,
} from "../../core/keystore/keystore_types.ts";
import { eventLog, MemoryKeystore } from "../helpers/client_fakes.ts";

/** The memory keystore with the lookups by name, history and group invitations. */
class Keystore extends MemoryKeystore {
  readonly invites = new Map<number, GroupInviteRecord>();
  friendByName(name: string): FriendRecord | null {
    return [...this.friendsById.values()].find((f) => f.username === name) ?? null;
  }
  groupsByName(name: string, opts: { includeLeft?: boolean } = {}): GroupRecord[] {
    return [...this.groupsById.values()].filter((g) =>
      g.name === name && (g.isMember || opts.includeLeft === true)
    );
  }
  history(kind: string, peerId: number, limit = 50): MessageRecord[] {
    return this.messages.filter((m) => m.kind === kind && m.peerId === peerId).slice(-limit);
  }
  groupInvite(groupId: number): GroupInviteRecord | null {
    return this.invites.get(groupId) ?? null;
  }
  get port(): KeystorePort {
    return this as unknown as KeystorePort;
  }
}

/** Alice (1) with friend bob (2) and group team (7); failed texts "b1", "b2" to bob, "t1" to team. */
function _setup(): Keystore {
  const ks = new Keystore(1, "alice");
  ks.befriend(2, "bob", "k");
  ks.join(7, "team", [1, 2], "g");
  for (
    const [kind, peerId, text] of [["direct", 2, "b1"], ["group", 7, "t1"], ["direct", 2, "b2"]]
  ) {
    ks.addOutgoing({
      kind: kind as "direct" | "group",
      peerId: peerId as number,
      text: text as string,
      clientMsgId: text as string,
    });
    ks.markFailed(text as string);
  }
  return ks;
}

function _texts(messages: readonly MessageRecord[]): string[] {
  return messages.map((m) => m.text);
}

/** Asserts a `ClientError` with `code` whose message matches `message`. */
function _throws(fn: () => unknown, code: string, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ClientError, String(err));
    assert.equal(err.code, code);
    assert.match(err.message, message);
    return true;
  });
}

Deno.test("failedToResend() picks every failed text, one conversation's, or the Nth newest", () => {
  const ks = _setup().port;
  assert.deepEqual(_texts(failedToResend(ks, { target: null, index: null })), ["b1", "t1", "b2"]);
  assert.deepEqual(_texts(failedToResend(ks, { target: "bob", index: null })), ["b1", "b2"]);
  assert.deepEqual(_texts(failedToResend(ks, { target: "team", index: null })), ["t1"]);
  assert.deepEqual(_texts(failedToResend(ks, { target: "bob", index: 1 })), ["b2"]);
  assert.deepEqual(
    _texts(failedToResend(ks, { target: null, index: null, clientMsgId: "t1" })),
    ["t1"],
  );
});

Deno.test("failedToResend() says what was not found", () => {
  const ks = _setup();
  _throws(
    () => failedToResend(ks.port, { target: "carol", index: null }),
    "not_found",
    /No friend or group "carol"/,
  );
  _throws(
    () => failedToResend(ks.port, { target: "bob", index: 3 }),
    "not_found",
    /There are 2 failed messages to bob; N must be 1 to 2/,
  );
  ks.messages.length = 0;
  _throws(
    () => failedToResend(ks.port, { target: "bob", index: null }),
    "not_found",
    /No failed messages to bob to resend/,
  );
});

Deno.test("historyEvent() answers a conversation's messages, and refuses a group not joined", () => {
  const ks = _setup().port;
  const h = historyEvent(ks, () => false, "bob", 10);
  assert.deepEqual(h.messages.map((m) => [m.text, m.from_name, m.state]), [
    ["b1", "alice", "failed"],
    ["b2", "alice", "failed"],
  ]);
  _throws(() => historyEvent(ks, (id) => id === 7, "team", 10), "not_member", /accept team/);
  _throws(() => historyEvent(ks, () => false, "carol", 10), "not_found", /"carol"/);
});

Deno.test("GroupAdmin.writable() refuses a group not joined or left, saying why", () => {
  const ks = _setup();
  const admin = new GroupAdmin({
    ks: ks.port,
    link: { live: () => assert.fail("no request expected") },
    friends: { pin: () => assert.fail("no lookup"), nameOf: () => assert.fail("no lookup") },
    groupKeys: { rotate: () => assert.fail("no rotation") },
    groupConsent: { pending: () => false, decline: () => assert.fail("no decline") },
    emit: eventLog().emit,
  });
  assert.equal(admin.writable("team").groupId, 7);
  assert.equal(admin.writable("7").groupId, 7);
  ks.invites.set(7, { groupId: 7, name: "team", byId: 2, byName: "bob", invitedAt: 0 });
  _throws(() => admin.writable("team"), "not_member", /bob added you \("accept team" joins it/);
  ks.invites.clear();
  ks.groupsById.set(7, { ...ks.group(7)!, isMember: false, leftBy: 2, leftHow: "removed" });
  _throws(
    () => admin.writable("team"),
    "not_member",
    /You are no longer a member of group "team" \(bob removed you\)/,
  );
  _throws(() => admin.writable("nope"), "not_found", /No group "nope"/);
});
