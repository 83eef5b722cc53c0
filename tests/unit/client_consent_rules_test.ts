import assert from "node:assert/strict";
import {
  DEFAULT_FILE_LIMIT_BYTES,
  fileLimitFrom,
  fileRefusal,
  MAX_REQUEST_MESSAGES,
  requestHasRoom,
  screenGroupJoin,
  screenMessage,
} from "../../core/client/engine/consent_rules.ts";

Deno.test("screenMessage() opens contacts' messages and keeps strangers' as requests", () => {
  for (const type of ["friend_key", "dm"]) {
    assert.equal(screenMessage({ envelopeType: type, contact: true, blocked: false }), "open");
    assert.equal(screenMessage({ envelopeType: type, contact: false, blocked: false }), "request");
  }
});

Deno.test("screenMessage() opens group traffic from anyone in the group", () => {
  for (const type of ["gm", "group_key"]) {
    assert.equal(screenMessage({ envelopeType: type, contact: false, blocked: false }), "open");
  }
});

Deno.test("screenMessage() drops all but group keys from a blocked user", () => {
  for (const contact of [true, false]) {
    for (const type of ["friend_key", "dm", "gm", null]) {
      assert.equal(screenMessage({ envelopeType: type, contact, blocked: true }), "drop");
    }
    // An admin's group key still serves the rest of the group.
    assert.equal(screenMessage({ envelopeType: "group_key", contact, blocked: true }), "open");
  }
});

Deno.test("screenMessage() leaves what it does not know to be opened (and refused there)", () => {
  assert.equal(screenMessage({ envelopeType: null, contact: false, blocked: false }), "open");
});

Deno.test("fileRefusal() takes files only from contacts, up to the limit", () => {
  assert.equal(fileRefusal({ size: 10 }, { contact: false }, 100), "not_contact");
  assert.equal(fileRefusal({ size: 1000 }, { contact: false }, 100), "not_contact");
  assert.equal(fileRefusal({ size: 101 }, { contact: true }, 100), "too_large");
  assert.equal(fileRefusal({ size: 100 }, { contact: true }, 100), null);
  assert.equal(fileRefusal({ size: 0 }, { contact: true }, 0), null);
});

Deno.test("fileLimitFrom() reads the setting, else the default (also for a damaged one)", () => {
  assert.equal(DEFAULT_FILE_LIMIT_BYTES, 25 * 1024 * 1024);
  assert.equal(fileLimitFrom(null), DEFAULT_FILE_LIMIT_BYTES);
  assert.equal(fileLimitFrom("0"), 0);
  assert.equal(fileLimitFrom("1048576"), 1048576);
  for (const bad of ["", "-1", "1e9", "12abc", "9".repeat(16)]) {
    assert.equal(fileLimitFrom(bad), DEFAULT_FILE_LIMIT_BYTES, bad);
  }
});

Deno.test("requestHasRoom() bounds what one request keeps", () => {
  assert.equal(requestHasRoom(0), true);
  assert.equal(requestHasRoom(MAX_REQUEST_MESSAGES - 1), true);
  assert.equal(requestHasRoom(MAX_REQUEST_MESSAGES), false);
});

Deno.test("screenGroupJoin() asks when a stranger puts you in a group, tells you for a contact", () => {
  const facts = { myId: 1, userId: 1, by: 2, contact: false, blocked: false };
  // Added, or in a group someone created with you in it.
  assert.equal(screenGroupJoin({ ...facts, change: "added" }), "request");
  assert.equal(screenGroupJoin({ ...facts, change: "created", userId: 2 }), "request");
  assert.equal(screenGroupJoin({ ...facts, change: "added", contact: true }), "told");
  assert.equal(screenGroupJoin({ ...facts, change: "created", userId: 2, contact: true }), "told");
  // A blocked user's group is left without a word, contact or not.
  assert.equal(screenGroupJoin({ ...facts, change: "added", blocked: true }), "leave");
});

Deno.test("screenGroupJoin() leaves alone what did not put you in a group", () => {
  const facts = { myId: 1, userId: 3, by: 2, contact: false, blocked: false };
  assert.equal(screenGroupJoin({ ...facts, change: "added" }), "none", "someone else added");
  assert.equal(screenGroupJoin({ ...facts, change: "created", userId: 1, by: 1 }), "none");
  for (const change of ["removed", "left", "admin_changed", "deleted"]) {
    assert.equal(screenGroupJoin({ ...facts, change, userId: 1 }), "none", change);
  }
});
