import assert from "node:assert/strict";
import {
  CROSSING_MS,
  friendKeyMessageId,
  friendKeyWins,
  groupKeyMessageId,
  groupKeyPlan,
  groupKeyRefusal,
  isMember,
  nextEpoch,
} from "../../core/client/engine/key_rules.ts";
import { LIMITS } from "../../core/protocol/mod.ts";

Deno.test("friendKeyWins() takes an offer when I have no key", () => {
  assert.equal(friendKeyWins({ fromId: 9, offeredAt: 1_000 }, null, 2), true);
});

Deno.test("friendKeyWins() settles crossed offers on the lower user ID's key on both sides", () => {
  const alice = { id: 1, madeAt: 100_000 };
  const bob = { id: 2, madeAt: 100_000 + CROSSING_MS - 1 };
  // Alice receives Bob's offer while hers is in flight, and Bob receives Alice's.
  const aliceTakesBobs = friendKeyWins(
    { fromId: bob.id, offeredAt: bob.madeAt },
    { createdAt: alice.madeAt },
    alice.id,
  );
  const bobTakesAlices = friendKeyWins(
    { fromId: alice.id, offeredAt: alice.madeAt },
    { createdAt: bob.madeAt },
    bob.id,
  );
  assert.equal(aliceTakesBobs, false, "alice keeps her own key");
  assert.equal(bobTakesAlices, true, "bob adopts alice's key");
});

Deno.test("friendKeyWins() otherwise takes the newer key and refuses an older one", () => {
  const mine = { createdAt: 100_000 };
  const later = 100_000 + CROSSING_MS;
  assert.equal(friendKeyWins({ fromId: 9, offeredAt: later }, mine, 2), true);
  assert.equal(friendKeyWins({ fromId: 1, offeredAt: 100_000 - CROSSING_MS }, mine, 2), false);
});

Deno.test("groupKeyPlan() has only a member admin act on keys", () => {
  const base = { myId: 1, adminId: 1, members: [1, 2, 3], userId: 2, hasKey: true };
  assert.deepEqual(groupKeyPlan({ ...base, change: "added", myId: 2 }), { action: "none" });
  assert.deepEqual(
    groupKeyPlan({ ...base, change: "removed", members: [2, 3] }),
    { action: "none" },
    "an admin no longer in the member list does nothing",
  );
});

Deno.test("groupKeyPlan() makes the first key once, rotates on departures, shares on joins", () => {
  const base = { myId: 1, adminId: 1, members: [1, 2, 3], userId: 3, hasKey: true };
  assert.deepEqual(groupKeyPlan({ ...base, change: "created", hasKey: false }), {
    action: "rotate",
    onlyIfNone: true,
  });
  for (const change of ["removed", "left"] as const) {
    assert.deepEqual(groupKeyPlan({ ...base, change, members: [1, 2] }), {
      action: "rotate",
      onlyIfNone: false,
    });
  }
  assert.deepEqual(groupKeyPlan({ ...base, change: "added" }), {
    action: "send_current",
    to: [3],
  });
  assert.deepEqual(groupKeyPlan({ ...base, change: "added", hasKey: false }), {
    action: "rotate",
    onlyIfNone: false,
  });
});

Deno.test("groupKeyRefusal() accepts keys only from the admin of a group I am in", () => {
  const group = { name: "team", adminId: 1, isMember: true };
  assert.equal(groupKeyRefusal(group, 1), null);
  assert.match(groupKeyRefusal(group, 2)!, /from #2, who is not its admin/);
  assert.match(groupKeyRefusal({ ...group, isMember: false }, 1)!, /which you have left/);
});

Deno.test("isMember() and nextEpoch() follow the member list and count from 1", () => {
  assert.equal(isMember(3, [1, 2, 3]), true);
  assert.equal(isMember(4, [1, 2, 3]), false);
  assert.equal(nextEpoch(null), 1);
  assert.equal(nextEpoch(4), 5);
});

Deno.test("friendKeyMessageId() and groupKeyMessageId() name one key each", () => {
  assert.equal(friendKeyMessageId("abc"), "fk-abc");
  assert.equal(groupKeyMessageId(7, 2, "abc"), "gk-7-2-abc");
});

Deno.test("groupKeyMessageId() gives a send of the epoch's key to added members an ID of its own", () => {
  // The server takes a second frame under an ID it has seen for a resend and delivers it to
  // nobody: the key sent later to a new member must not reuse the rotation's ID (issue 18).
  const all = groupKeyMessageId(7, 2, "abc");
  const toCarol = groupKeyMessageId(7, 2, "abc", [9]);
  const toDan = groupKeyMessageId(7, 2, "abc", [12]);
  assert.equal(toCarol, "gk-7-2-abc-to-9");
  assert.equal(new Set([all, toCarol, toDan]).size, 3);
  // The same send again has the same ID, whatever the order of its recipients.
  assert.equal(groupKeyMessageId(7, 2, "abc", [9]), toCarol);
  const several = groupKeyMessageId(7, 2, "abc", [12, 9, 40]);
  assert.equal(groupKeyMessageId(7, 2, "abc", [40, 9, 12, 9]), several);
  assert.notEqual(several, groupKeyMessageId(7, 2, "abc", [12, 9]));
  // Within the protocol's pattern, even for the longest IDs and a full group.
  const big = 999_999_999_999_999;
  const full = Array.from({ length: LIMITS.groupMembers }, (_, i) => big - i);
  for (
    const id of [
      groupKeyMessageId(big, big, "A".repeat(11), [big]),
      groupKeyMessageId(big, big, "A".repeat(11), full),
    ]
  ) {
    assert.match(id, LIMITS.clientMsgIdPattern);
  }
});

Deno.test("groupKeyPlan() leaves keys alone when the admin changes or the group is deleted", () => {
  const base = { myId: 2, adminId: 2, members: [1, 2, 3], userId: 2, hasKey: true };
  assert.deepEqual(groupKeyPlan({ ...base, change: "admin_changed" }), { action: "none" });
  // A new admin of a group that never got a key makes its first one.
  assert.deepEqual(groupKeyPlan({ ...base, change: "admin_changed", hasKey: false }), {
    action: "rotate",
    onlyIfNone: true,
  });
  assert.deepEqual(groupKeyPlan({ ...base, change: "deleted", members: [] }), { action: "none" });
});
