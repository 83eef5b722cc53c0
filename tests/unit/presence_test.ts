/**
 * The in-memory presence directory: local sessions per user, and each peer's roster.
 */

import assert from "node:assert/strict";
import { ClientSession } from "../../core/server/client_session.ts";
import { PresenceDirectory } from "../../core/server/presence.ts";

function _session(userId: number): ClientSession {
  const s = new ClientSession({
    addr: "x",
    send: () => true,
    close: () => {},
    setMaxMessageBytes: () => {},
    bufferedAmount: 0,
  });
  s.userId = userId;
  return s;
}

Deno.test("PresenceDirectory.addLocal() reports the first session and removeLocal() the last", () => {
  const dir = new PresenceDirectory();
  const a1 = _session(7);
  const a2 = _session(7);
  assert.equal(dir.addLocal(a1), true);
  assert.equal(dir.addLocal(a2), false);
  assert.deepEqual([...dir.localSessions(7)], [a1, a2]);
  assert.equal(dir.localUserCount, 1);
  assert.equal(dir.removeLocal(a1), false);
  assert.equal(dir.removeLocal(a1), false, "removing twice is harmless");
  assert.equal(dir.removeLocal(a2), true);
  assert.equal(dir.localSessions(7).size, 0);
  assert.deepEqual(dir.localUsers(), []);
  assert.equal(dir.removeLocal(_session(8)), false);
});

Deno.test("PresenceDirectory.applyRoster() tracks which peers each user is on", () => {
  const dir = new PresenceDirectory();
  dir.applyRoster(2, { reset: true, online: [5, 6], offline: [] });
  dir.applyRoster(3, { reset: true, online: [6], offline: [] });
  assert.deepEqual([...dir.remoteServers(5)], [2]);
  assert.deepEqual([...dir.remoteServers(6)].sort(), [2, 3]);
  dir.applyRoster(2, { reset: false, online: [7], offline: [6] });
  assert.deepEqual([...dir.remoteServers(6)], [3]);
  assert.deepEqual([...dir.remoteServers(7)], [2]);
  // Repeats and unknown offline users are harmless.
  dir.applyRoster(2, { reset: false, online: [7], offline: [99] });
  assert.deepEqual([...dir.remoteServers(7)], [2]);
  assert.equal(dir.remoteServers(99).size, 0);
});

Deno.test("PresenceDirectory.applyRoster() with reset replaces a peer's whole list", () => {
  const dir = new PresenceDirectory();
  dir.applyRoster(2, { reset: true, online: [5, 6], offline: [] });
  dir.applyRoster(2, { reset: true, online: [8], offline: [] });
  assert.equal(dir.remoteServers(5).size, 0);
  assert.equal(dir.remoteServers(6).size, 0);
  assert.deepEqual([...dir.remoteServers(8)], [2]);
});

Deno.test("PresenceDirectory.applyRoster() applies offline before online in one update", () => {
  const dir = new PresenceDirectory();
  dir.applyRoster(2, { reset: true, online: [5], offline: [] });
  // A user who left and came back within one turn is sent as online only; if both appear,
  // online wins.
  dir.applyRoster(2, { reset: false, online: [5], offline: [5] });
  assert.deepEqual([...dir.remoteServers(5)], [2]);
});

Deno.test("PresenceDirectory.forgetServer() drops only that peer's users", () => {
  const dir = new PresenceDirectory();
  dir.applyRoster(2, { reset: true, online: [5, 6], offline: [] });
  dir.applyRoster(3, { reset: true, online: [6], offline: [] });
  dir.forgetServer(2);
  dir.forgetServer(9);
  assert.equal(dir.remoteServers(5).size, 0);
  assert.deepEqual([...dir.remoteServers(6)], [3]);
});
