import assert from "node:assert/strict";
import {
  ConnectionClosedError,
  ProtocolClient,
  RequestError,
  RequestTimeoutError,
} from "../core/client/transport/protocol_client.ts";
import {
  decode,
  type DeliveredFrame,
  encode,
  FEATURES,
  serverTakesFeatures,
} from "../core/protocol/mod.ts";
import { VERSION } from "../core/version.ts";
import { FakeClock } from "./helpers/fake_clock.ts";
import { until } from "./helpers/wait.ts";

/**
 * A fake server on 127.0.0.1 that sends a welcome, records every client frame, and answers
 * only what `answer` returns something for.
 */
function _fakeServer(
  answer: (frame: Record<string, unknown>) => unknown[] = () => [],
  version: string = VERSION,
) {
  const received: Record<string, unknown>[] = [];
  let socket: WebSocket | null = null;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const up = Deno.upgradeWebSocket(req);
    socket = up.socket;
    up.socket.onopen = () => up.socket.send(encode({ type: "welcome", server_id: 1, version }));
    up.socket.onmessage = (ev) => {
      const frame = decode(String(ev.data), "client") as unknown as Record<string, unknown>;
      received.push(frame);
      for (const reply of answer(frame)) up.socket.send(JSON.stringify(reply));
    };
    return up.response;
  });
  return {
    url: `ws://127.0.0.1:${server.addr.port}/ws`,
    received,
    push: (frame: unknown) => socket!.send(JSON.stringify(frame)),
    close: () => server.shutdown(),
  };
}

Deno.test("ProtocolClient.request() fails a request nobody answers, after its timeout", async () => {
  const srv = _fakeServer();
  const clock = new FakeClock();
  const client = await ProtocolClient.connect(srv.url, { requestTimeoutMs: 100, clock });
  try {
    let failed = false;
    const ping = assert.rejects(client.request({ type: "ping" }), /No answer to ping within 100 ms/)
      .then(() => failed = true);
    await until(() => srv.received.length === 1, "the ping at the server");
    await clock.advance(99);
    assert.equal(failed, false, "rejected before the timeout");
    await clock.advance(1);
    await ping;
    // Later requests still time out one by one.
    const groups = assert.rejects(
      client.request({ type: "list_groups" }),
      /No answer to list_groups/,
    );
    await clock.advance(100);
    await groups;
    assert.equal(clock.pending, 0, "no sweep is left with nothing pending");
  } finally {
    await client.close();
    await srv.close();
  }
});

Deno.test("ProtocolClient.request() resolves many concurrent requests by their refs", async () => {
  const srv = _fakeServer((f) =>
    f.type === "ping" ? [{ type: "pong", ref: f.ref, server_id: 1 }] : []
  );
  const client = await ProtocolClient.connect(srv.url, { requestTimeoutMs: 200 });
  try {
    const answers = await Promise.all(
      Array.from({ length: 50 }, () => client.request({ type: "ping" })),
    );
    assert.equal(answers.length, 50);
    assert.ok(answers.every((a) => a.type === "pong"));
  } finally {
    await client.close();
    await srv.close();
  }
});

Deno.test("ProtocolClient.close() rejects pending requests with the close reason", async () => {
  const srv = _fakeServer();
  const client = await ProtocolClient.connect(srv.url, { requestTimeoutMs: 10_000 });
  const pending = client.request({ type: "ping" });
  await client.close(1000, "bye");
  await assert.rejects(pending, /Connection closed \(1000/);
  await srv.close();
});

Deno.test("ProtocolClient acks a burst of messages in one ack frame", async () => {
  const srv = _fakeServer();
  const client = await ProtocolClient.connect(srv.url);
  try {
    const shown: number[] = [];
    client.onMessage = (m) => void shown.push(m.msg_id);
    for (let id = 1; id <= 20; id++) {
      srv.push({
        type: "message",
        msg_id: id,
        kind: "direct",
        from: 2,
        group_id: null,
        body: "gAAAAAB-body",
        sent_at: 1,
        client_msg_id: `c-${id}`,
      });
    }
    const acked = () => srv.received.flatMap((f) => f.type === "ack" ? f.ids as number[] : []);
    await until(() => acked().length >= 20, "acks of the 20 messages");
    assert.deepEqual(acked(), Array.from({ length: 20 }, (_, i) => i + 1));
    assert.deepEqual(shown, Array.from({ length: 20 }, (_, i) => i + 1));
    const frames = srv.received.filter((f) => f.type === "ack").length;
    assert.ok(frames < 20, `expected the burst's acks batched, got ${frames} ack frames`);
  } finally {
    await client.close();
    await srv.close();
  }
});

Deno.test("ProtocolClient with keepAliveMs pings a quiet server and closes on a silent one", async () => {
  // This server answers pings: the connection stays up through several quiet periods.
  const live = _fakeServer((f) =>
    f.type === "ping" ? [{ type: "pong", ref: f.ref, server_id: 1 }] : []
  );
  const clock = new FakeClock();
  const opts = { keepAliveMs: 40, deadAfterMs: 60, clock };
  const alive = await ProtocolClient.connect(live.url, opts);
  // This one never answers, like a stopped (SIGSTOP) server whose socket stays open.
  const hung = _fakeServer();
  const dead = await ProtocolClient.connect(hung.url, opts);
  const pings = (srv: { received: Record<string, unknown>[] }) =>
    srv.received.filter((f) => f.type === "ping").length;
  try {
    await clock.advance(39);
    assert.equal(pings(live) + pings(hung), 0, "no ping before 40 ms of silence");
    await clock.advance(1);
    await until(() => pings(live) === 1 && pings(hung) === 1, "a ping to each server");
    // Answers come in order: once this ping is answered, the keep-alive's pong is in too.
    await alive.request({ type: "ping" });
    await clock.advance(59);
    assert.equal(dead.closed, false, "not dead before 60 ms after the ping");
    await clock.advance(1);
    const closed = await dead.whenClosed;
    assert.equal(closed.code, 1006);
    assert.match(closed.reason, /No answer from the server/);
    assert.equal(dead.closed, true);
    assert.ok(hung.received.some((f) => f.type === "ping"), "the quiet server was pinged");
    await assert.rejects(dead.request({ type: "ping" }), /closed/);
    // The live one answered, so it is pinged again after 40 quiet ms, and stays.
    await until(() => pings(live) === 3, "the next keep-alive ping");
    await alive.request({ type: "ping" });
    assert.equal(alive.closed, false, "a server that answers pings stays connected");
  } finally {
    await alive.close();
    await live.close();
    await hung.close();
  }
});

Deno.test("ProtocolClient.request() rejects with typed errors, whatever their messages", async () => {
  const srv = _fakeServer((f) =>
    f.type === "lookup"
      ? [{ type: "error", ref: f.ref, code: "not_found", message: "No such user" }]
      : f.type === "list_groups"
      ? [{ type: "error", ref: f.ref, code: "from_the_future", message: "New" }]
      : []
  );
  const clock = new FakeClock();
  const client = await ProtocolClient.connect(srv.url, { requestTimeoutMs: 50, clock });
  try {
    await assert.rejects(
      client.request({ type: "lookup", username: "nobody" }),
      (err: unknown) => err instanceof RequestError && err.code === "not_found" && !err.retryable,
    );
    await assert.rejects(
      client.request({ type: "list_groups" }),
      (err: unknown) => err instanceof RequestError && err.code === "internal",
    );
    const unanswered = assert.rejects(
      client.request({ type: "ping" }),
      (err: unknown) => err instanceof RequestTimeoutError && err.requestType === "ping",
    );
    await clock.advance(50);
    await unanswered;
    const pending = client.request({ type: "ping" });
    await client.close(1000, "bye");
    await assert.rejects(
      pending,
      (err: unknown) => err instanceof ConnectionClosedError && err.closeCode === 1000,
    );
    await assert.rejects(client.request({ type: "ping" }), ConnectionClosedError);
  } finally {
    await client.close();
    await srv.close();
  }
});

// ---- Features and batched receipts ----------------------------------------------------

const _TOKEN = "U0dDrZOejF0mJAsXRq67zBlz3I7jkKjsV9IZgIDcgcU";

/** A `logged_in` answer to `f`, listing the known features it asked for (a current server). */
function _loggedIn(f: Record<string, unknown>) {
  const asked = f.features as string[] | undefined;
  return {
    type: "logged_in",
    ref: f.ref,
    user_id: 1,
    username: "alice",
    session_token: _TOKEN,
    ...(asked ? { features: asked.filter((n) => n === FEATURES.receiptBatch) } : {}),
  };
}

Deno.test("ProtocolClient hands every item of a receipts frame to onDelivered, in order", async () => {
  const srv = _fakeServer();
  const client = await ProtocolClient.connect(srv.url);
  try {
    const got: DeliveredFrame[] = [];
    client.onDelivered = (d) => void got.push(d);
    srv.push({ type: "delivered", msg_id: 7, client_msg_id: "c-7", to: 2 });
    srv.push({
      type: "receipts",
      items: [
        { msg_id: 8, client_msg_id: "c-8", to: 2 },
        { msg_id: 8, client_msg_id: "c-8", to: 3 },
        { msg_id: 9, client_msg_id: null, to: 2 },
      ],
    });
    srv.push({ type: "delivered", msg_id: 10, client_msg_id: "c-10", to: 4 });
    await until(() => got.length >= 5, "five receipts");
    assert.deepEqual(got, [
      { type: "delivered", msg_id: 7, client_msg_id: "c-7", to: 2 },
      { type: "delivered", msg_id: 8, client_msg_id: "c-8", to: 2 },
      { type: "delivered", msg_id: 8, client_msg_id: "c-8", to: 3 },
      { type: "delivered", msg_id: 9, client_msg_id: null, to: 2 },
      { type: "delivered", msg_id: 10, client_msg_id: "c-10", to: 4 },
    ]);
  } finally {
    await client.close();
    await srv.close();
  }
});

Deno.test("ProtocolClient hands prekeys_low to onPrekeysLow with how many are left", async () => {
  const srv = _fakeServer();
  const client = await ProtocolClient.connect(srv.url);
  try {
    const got: number[] = [];
    client.onPrekeysLow = (remaining) => void got.push(remaining);
    srv.push({ type: "prekeys_low", remaining: 9 });
    await until(() => got.length >= 1, "a prekeys_low");
    assert.deepEqual(got, [9]);
  } finally {
    await client.close();
    await srv.close();
  }
});

Deno.test("ProtocolClient asks for receipt_batch, contacts and devices at login, register and resume, and records the answer", async () => {
  const srv = _fakeServer((f) =>
    f.type === "login" || f.type === "resume"
      ? [_loggedIn(f)]
      : f.type === "register"
      ? [{ ..._loggedIn(f), type: "registered" }]
      : []
  );
  const client = await ProtocolClient.connect(srv.url);
  try {
    assert.deepEqual(client.features, []);
    const answer = await client.login("alice", "correct horse 1");
    assert.deepEqual(answer.features, ["receipt_batch"]);
    assert.deepEqual(client.features, ["receipt_batch"]);
    await client.resume(_TOKEN);
    await client.register("alice", "correct horse 1", "pem", "k".repeat(43));
    // A request naming its own features keeps them.
    await client.request({ type: "resume", session_token: _TOKEN, features: [] });
    assert.deepEqual(client.features, []);
    assert.deepEqual(
      srv.received.map((f) => [f.type, f.features]),
      [
        ["login", ["receipt_batch", "contacts", "devices"]],
        ["resume", ["receipt_batch", "contacts", "devices"]],
        ["register", ["receipt_batch", "contacts", "devices"]],
        ["resume", []],
      ],
    );
  } finally {
    await client.close();
    await srv.close();
  }
  // `features: []` asks for none: no field at all, as a client from before features.
  const srv2 = _fakeServer((f) => f.type === "login" ? [_loggedIn(f)] : []);
  const plain = await ProtocolClient.connect(srv2.url, { features: [] });
  try {
    const answer = await plain.login(1, "correct horse 1");
    assert.equal("features" in answer, false);
    assert.equal("features" in srv2.received[0]!, false);
    assert.deepEqual(plain.features, []);
  } finally {
    await plain.close();
    await srv2.close();
  }
});

Deno.test("ProtocolClient asks a server older than 0.2.0 for no features, and gets delivered frames", async () => {
  // A server from before features would refuse the unknown field: it is never sent one.
  const srv = _fakeServer(
    (f) =>
      f.type !== "login"
        ? []
        : "features" in f
        ? [{ type: "error", ref: f.ref, code: "bad_frame", message: "Unexpected field" }]
        : [_loggedIn(f)],
    "0.1.0",
  );
  const client = await ProtocolClient.connect(srv.url);
  try {
    const got: DeliveredFrame[] = [];
    client.onDelivered = (d) => void got.push(d);
    const answer = await client.login("alice", "correct horse 1");
    assert.equal(answer.type, "logged_in");
    assert.deepEqual(client.features, []);
    assert.deepEqual(srv.received.map((f) => "features" in f), [false]);
    srv.push({ type: "delivered", msg_id: 3, client_msg_id: null, to: 2 });
    await until(() => got.length >= 1, "the receipt");
    assert.deepEqual(got, [{ type: "delivered", msg_id: 3, client_msg_id: null, to: 2 }]);
  } finally {
    await client.close();
    await srv.close();
  }
});

Deno.test("serverTakesFeatures() compares welcome versions with 0.2.0", () => {
  assert.equal(serverTakesFeatures("0.2.0"), true);
  assert.equal(serverTakesFeatures("0.10.1"), true);
  assert.equal(serverTakesFeatures("1.0.0-rc.1"), true);
  assert.equal(serverTakesFeatures(VERSION), true);
  assert.equal(serverTakesFeatures("0.1.9"), false);
  assert.equal(serverTakesFeatures("0.1.0"), false);
  assert.equal(serverTakesFeatures("t"), false);
  assert.equal(serverTakesFeatures(""), false);
});
