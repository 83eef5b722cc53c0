/**
 * The redelivery rule of one connection (`ClientSession.markRepushed`): a message is pushed
 * again only when its acknowledgement was lost (the connection acknowledged a message
 * pushed after it), never because the connection or the server is slow, so a late
 * acknowledgement never costs a second push and a dropped one is still recovered.
 */

import assert from "node:assert/strict";
import { ClientSession } from "../../core/server/client_session.ts";

function _session() {
  const clock = { t: 1_000_000 };
  const conn = {
    addr: "x",
    bufferedAmount: 0,
    send: () => true,
    close: () => {},
    setMaxMessageBytes: () => {},
  };
  const s = new ClientSession(conn, () => clock.t);
  return { s, conn, clock };
}

Deno.test("ClientSession.markRepushed() pushes what was never pushed here, at once", () => {
  const { s } = _session();
  assert.equal(s.markRepushed(7, 10_000), true);
  assert.equal(s.markRepushed(7, 10_000), false, "pushed just now");
});

Deno.test("ClientSession.markRepushed() recovers a dropped acknowledgement once a later one arrives", () => {
  const { s, clock } = _session();
  s.markPushed(1);
  clock.t += 1;
  s.markPushed(2);
  clock.t += 1_000;
  s.markAcked([2]); // 1's acknowledgement never came
  clock.t += 8_998;
  assert.equal(s.markRepushed(1, 10_000), false, "not yet 10 s");
  clock.t += 1;
  assert.equal(s.markRepushed(1, 10_000), true);
  assert.equal(s.markRepushed(1, 10_000), false, "the time is updated");
});

Deno.test("ClientSession.markRepushed() never pushes an acknowledged message again", () => {
  const { s, clock } = _session();
  s.markPushed(1);
  s.markAcked([1]);
  clock.t += 60_000;
  assert.equal(s.markRepushed(1, 10_000), false);
});

Deno.test("ClientSession.markRepushed() spares a connection that acknowledges late, in order", () => {
  const { s, clock } = _session();
  s.markPushed(1);
  clock.t += 5_000;
  s.markPushed(2);
  clock.t += 7_000;
  s.markAcked([1]); // 12 s late: the client is behind, and 2 comes next
  clock.t += 60_000;
  assert.equal(s.markRepushed(2, 10_000), false);
});

Deno.test("ClientSession.markRepushed() queues no copy for a connection that acknowledges nothing", () => {
  const { s, clock } = _session();
  s.markPushed(1);
  clock.t += 600_000; // slow or gone: a copy behind the first helps in neither case
  assert.equal(s.markRepushed(1, 10_000), false);
});

Deno.test("ClientSession.markRepushed() waits while the connection's frames or our output wait here", () => {
  const { s, conn, clock } = _session();
  s.markPushed(1);
  clock.t += 1;
  s.markPushed(2);
  s.markAcked([2]);
  clock.t += 20_000;
  s.backlog = 3;
  assert.equal(s.markRepushed(1, 10_000), false, "its acknowledgement may be among the frames");
  s.backlog = 0;
  s.acksInFlight = 1;
  assert.equal(s.markRepushed(1, 10_000), false, "an acknowledgement is being applied");
  s.acksInFlight = 0;
  conn.bufferedAmount = 512;
  assert.equal(s.markRepushed(1, 10_000), false, "the push itself may not have left");
  conn.bufferedAmount = 0;
  assert.equal(s.markRepushed(1, 10_000), true);
});
