/**
 * The client's side of contacts and blocks (`core/client/engine/contact_sync.ts`): what it tells
 * the server at login and at each change, without a server.
 */

import assert from "node:assert/strict";
import {
  CONTACTS_TOLD_SETTING,
  ContactSync,
  type ContactSyncStore,
} from "../../core/client/engine/contact_sync.ts";
import type { BlockedRecord, FriendRecord } from "../../core/keystore/keystore_types.ts";
import { LIMITS } from "../../core/protocol/mod.ts";
import { FakeConn } from "../helpers/client_fakes.ts";

/** The keystore slice ContactSync reads, in memory. */
class _Store implements ContactSyncStore {
  readonly contacts = new Map<number, boolean>();
  readonly blockedIds = new Set<number>();
  readonly settings = new Map<string, string>();
  friends(): FriendRecord[] {
    return [...this.contacts].map(([userId, contact]) => ({ userId, contact }) as FriendRecord);
  }
  friend(userId: number): FriendRecord | null {
    const contact = this.contacts.get(userId);
    return contact === undefined ? null : { userId, contact } as FriendRecord;
  }
  blocked(userId: number): BlockedRecord | null {
    return this.blockedIds.has(userId) ? { userId, username: `u${userId}`, blockedAt: 0 } : null;
  }
  blockedUsers(): BlockedRecord[] {
    return [...this.blockedIds].map((userId) => this.blocked(userId)!);
  }
  setting(name: string): string | null {
    return this.settings.get(name) ?? null;
  }
  setSetting(name: string, value: string | null): void {
    if (value === null) this.settings.delete(name);
    else this.settings.set(name, value);
  }
}

/** A connection whose server turned on `features` and answers `contacts` with `ok`. */
function _conn(features: string[] = ["contacts"], fail = false): FakeConn {
  const conn = new FakeConn((f) => {
    if (fail) throw new Error("refused");
    return { type: "ok", ref: 1, f };
  });
  return Object.assign(conn, { features });
}

function _sync(ks: _Store, conn: () => FakeConn) {
  return new ContactSync({ ks, link: { connected: true, live: conn } });
}

/** Lets answered requests settle. */
const _settle = () => new Promise((r) => setTimeout(r, 0));

Deno.test("ContactSync tells the whole list at login, and not again while it is unchanged", async () => {
  const ks = new _Store();
  ks.contacts.set(2, true).set(3, false);
  ks.blockedIds.add(5);
  let conn = _conn();
  const sync = _sync(ks, () => conn);
  sync.loggedIn(conn);
  assert.deepEqual(conn.requests, [
    { type: "contacts", users: { "2": "contact", "3": "none", "5": "blocked" } },
  ]);
  await _settle();
  assert.notEqual(ks.setting(CONTACTS_TOLD_SETTING), null, "confirmed");
  conn = _conn();
  sync.loggedIn(conn);
  assert.deepEqual(conn.requests, [], "the server has this list already");
  // Changed while offline: the next login tells everything again.
  ks.contacts.set(3, true);
  conn = _conn();
  sync.loggedIn(conn);
  assert.deepEqual(conn.requests, [
    { type: "contacts", users: { "2": "contact", "3": "contact", "5": "blocked" } },
  ]);
});

Deno.test("ContactSync tells a change at once, before anything sent after it", async () => {
  const ks = new _Store();
  const conn = _conn();
  const sync = _sync(ks, () => conn);
  sync.loggedIn(conn);
  assert.deepEqual(conn.requests, [], "nothing to tell");
  ks.contacts.set(7, true); // the user wrote to 7
  sync.changed(7);
  ks.blockedIds.add(8);
  sync.changed(8);
  sync.changed(7); // nothing new
  ks.blockedIds.delete(8);
  sync.changed(8);
  assert.deepEqual(conn.requests, [
    { type: "contacts", users: { "7": "contact" } },
    { type: "contacts", users: { "8": "blocked" } },
    { type: "contacts", users: { "8": "none" } },
  ]);
  await _settle();
  // The server confirmed it all: the next login sends nothing.
  const next = _conn();
  sync.loggedIn(next);
  assert.deepEqual(next.requests, []);
});

Deno.test("ContactSync splits a long list into frames of LIMITS.contactsPerFrame users", () => {
  const ks = new _Store();
  for (let id = 2; id < 2 + LIMITS.contactsPerFrame + 10; id++) ks.contacts.set(id, true);
  const conn = _conn();
  _sync(ks, () => conn).loggedIn(conn);
  assert.deepEqual(
    conn.requests.map((r) => Object.keys((r as { users: object }).users).length),
    [LIMITS.contactsPerFrame, 10],
  );
});

Deno.test("ContactSync tells nothing to a server without the contacts feature", () => {
  const ks = new _Store();
  ks.contacts.set(2, true);
  const conn = _conn([]);
  const sync = _sync(ks, () => conn);
  sync.loggedIn(conn);
  ks.blockedIds.add(3);
  sync.changed(3);
  assert.deepEqual(conn.requests, []);
});

Deno.test("ContactSync tells everything again at the next login after a refusal", async () => {
  const ks = new _Store();
  ks.contacts.set(2, true);
  const refusing = _conn(["contacts"], true);
  const sync = _sync(ks, () => refusing);
  sync.loggedIn(refusing);
  await _settle();
  assert.equal(ks.setting(CONTACTS_TOLD_SETTING), null);
  const conn = _conn();
  sync.loggedIn(conn);
  assert.deepEqual(conn.requests, [{ type: "contacts", users: { "2": "contact" } }]);
});
