import assert from "node:assert/strict";
import { Connection, type ConnectionHooks } from "../../core/client/engine/connection.ts";
import { ConnectionClosedError, RequestError } from "../../core/client/engine/errors.ts";
import type { RequestFrame } from "../../core/client/transport/protocol_client.ts";
import { eventLog, FakeDialer } from "../helpers/client_fakes.ts";
import { FakeClock } from "../helpers/fake_clock.ts";
import { until } from "../helpers/wait.ts";

/** A server that resumes only the session "good" and logs in with password "pw". */
function _answer(frame: RequestFrame): unknown {
  switch (frame.type) {
    case "ping":
      return { type: "pong", ref: 1, server_id: 1 };
    case "resume":
      if (frame.session_token === "good") {
        return { type: "logged_in", ref: 1, user_id: 1, username: "alice", session_token: "good" };
      }
      throw new RequestError("auth_failed", "Unknown session");
    case "login":
      if (frame.password !== "pw") throw new RequestError("auth_failed", "Wrong password");
      return { type: "logged_in", ref: 1, user_id: 1, username: "alice", session_token: "fresh" };
    case "logout":
      return { type: "ok", ref: 1 };
    default:
      throw new RequestError("unknown_type", frame.type);
  }
}

function _connection(token: string | null) {
  const dialer = new FakeDialer(_answer);
  const log = eventLog();
  const session = {
    username: "alice",
    token,
    sessionToken: () => session.token,
    setSessionToken: (t: string | null) => void (session.token = t),
  };
  let attached = 0;
  const hooks: ConnectionHooks = {
    onMessage: () => {},
    onDelivered: () => {},
    inboxIdle: () => Promise.resolve(),
    onAttached: () => {
      attached++;
      return Promise.resolve();
    },
  };
  const clock = new FakeClock();
  const conn = new Connection({ dialer, emit: log.emit, hooks, password: "pw", clock });
  conn.useSession(session);
  return { conn, dialer, session, clock, events: log.events, attached: () => attached };
}

/** Whether the client started reconnecting (it says so at once, before it dials). */
function _reconnecting(events: readonly { event: string }[]): boolean {
  return events.some((e) => e.event === "connecting");
}

Deno.test("Connection.connect() resumes the stored session, else logs in and keeps the new one", async () => {
  const good = _connection("good");
  await good.conn.connect("start");
  assert.deepEqual(good.dialer.conns[0]!.requests.map((r) => r.type), ["resume", "ping"]);
  assert.equal(good.conn.connected, true);
  assert.equal(good.attached(), 1);
  await good.conn.close();

  const stale = _connection("expired");
  await stale.conn.connect("start");
  assert.deepEqual(stale.dialer.conns[0]!.requests.map((r) => r.type), [
    "resume",
    "login",
    "ping",
  ]);
  assert.equal(stale.session.token, "fresh");
  await stale.conn.close();
});

Deno.test("Connection.live() throws ConnectionClosedError while there is no connection", () => {
  const t = _connection("good");
  assert.throws(() => t.conn.live(), ConnectionClosedError);
  assert.equal(t.conn.connected, false);
});

Deno.test("Connection reconnects after a drop, with backoff between failed attempts", async () => {
  const t = _connection("good");
  await t.conn.connect("start");
  t.dialer.failures = 1;
  t.dialer.conns[0]!.drop(1006);
  await until(() => t.clock.pending === 1, "the first attempt to fail and wait");
  assert.equal(t.dialer.conns.length, 1, "no second attempt before the backoff");
  await t.clock.advance(15_000); // the longest backoff
  await until(() => t.events.some((e) => e.event === "reconnected"), "the reconnect");
  assert.deepEqual(t.events.map((e) => e.event === "connecting" ? `${e.attempt}` : e.event), [
    "1",
    "2",
    "reconnected",
  ]);
  assert.deepEqual(t.events[0], {
    event: "connecting",
    attempt: 1,
    reason: "connection closed (1006)",
  });
  assert.equal(t.conn.serverId, 2);
  assert.equal(t.attached(), 2, "queued messages are sent again after the reconnect");
  await t.conn.close();
});

Deno.test("Connection shuts the client out when the server ends the session", async () => {
  const t = _connection("good");
  await t.conn.connect("start");
  t.dialer.conns[0]!.drop(4003);
  const why = await t.conn.shutOut;
  assert.equal(why.reason, "session_ended");
  assert.equal(t.session.token, null);
  assert.deepEqual(t.events.map((e) => e.event), ["error"]);
  assert.equal(t.dialer.conns.length, 1, "no reconnect with an ended session");
  await t.conn.close();
});

Deno.test("Connection.logout() ends the session and stops without reconnecting", async () => {
  const t = _connection("good");
  await t.conn.connect("start");
  await t.conn.logout();
  assert.deepEqual(await t.conn.shutOut, { reason: "logout", message: "Logged out" });
  assert.equal(t.session.token, null);
  t.dialer.conns[0]!.drop(1000); // the server closes the logged-out connection
  assert.equal(_reconnecting(t.events), false);
  await t.clock.advance(60_000);
  assert.equal(t.dialer.conns.length, 1);
  assert.deepEqual(t.events.map((e) => e.event), ["logged_out"]);
});

Deno.test("Connection.close() stops a reconnect loop that keeps failing", async () => {
  const t = _connection("good");
  await t.conn.connect("start");
  t.dialer.failures = 1_000;
  t.dialer.conns[0]!.drop(1006);
  await until(() => t.clock.pending === 1, "the reconnect loop to wait out a backoff");
  // The fake clock never moves: close() returning shows it does not wait for the backoff.
  await t.conn.close();
  assert.equal(t.clock.pending, 0, "the backoff's timer is cancelled");
  await t.clock.advance(60_000);
  assert.equal(t.events.filter((e) => e.event === "connecting").length, 1);
});

Deno.test("Connection closes a connection whose login fails, without reconnecting for it", async () => {
  const t = _connection(null);
  const log = eventLog();
  const wrong = new Connection({
    dialer: t.dialer,
    emit: log.emit,
    clock: t.clock,
    hooks: {
      onMessage: () => {},
      onDelivered: () => {},
      inboxIdle: () => Promise.resolve(),
      onAttached: () => Promise.resolve(),
    },
    password: "not the password",
  });
  wrong.useSession(t.session);
  await assert.rejects(wrong.connect("start"), RequestError);
  assert.equal(t.dialer.conns[0]!.closed, true, "the failed connection is closed");
  // Its close is reported on a microtask, already run by now.
  assert.equal(_reconnecting(log.events), false);
  await t.clock.advance(60_000);
  assert.equal(t.dialer.conns.length, 1);
  await wrong.close();
});

Deno.test("Connection hands over messages that came during login only once attached, in order", async () => {
  const dialer = new FakeDialer((frame) => {
    if (frame.type !== "resume") return _answer(frame);
    // The server's replay follows its answer at once, before the client has attached.
    const conn = dialer.conns.at(-1)!;
    queueMicrotask(() => {
      for (const id of [1, 2]) {
        conn.handlers!.onMessage({
          type: "message",
          msg_id: id,
          kind: "direct",
          from: 2,
          group_id: null,
          body: "x",
          sent_at: 1,
          client_msg_id: null,
        });
      }
    });
    return _answer(frame);
  });
  const seen: { id: number; live: boolean }[] = [];
  let conn: Connection | null = null;
  const hooks: ConnectionHooks = {
    onMessage: (m) => {
      // What handles it can use the connection (a lookup, a key) at once.
      let live = true;
      try {
        conn!.live();
      } catch {
        live = false;
      }
      seen.push({ id: m.msg_id, live });
    },
    onDelivered: () => {},
    inboxIdle: () => Promise.resolve(),
    onAttached: () => Promise.resolve(),
  };
  conn = new Connection({
    dialer,
    emit: eventLog().emit,
    hooks,
    password: "pw",
    clock: new FakeClock(),
  });
  conn.useSession({
    username: "alice",
    sessionToken: () => "good",
    setSessionToken: () => {},
  });
  await conn.connect("test");
  assert.deepEqual(seen, [{ id: 1, live: true }, { id: 2, live: true }]);
  await conn.close();
});
