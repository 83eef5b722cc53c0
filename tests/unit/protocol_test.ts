/**
 * The wire protocol's pure codec: every frame type decodes in its own direction and only
 * there, round-trips through `encode`, and every malformed input is refused with the right
 * error code (and the request's `ref` when it could be read).
 */

import assert from "node:assert/strict";
import {
  decode,
  type Direction,
  encode,
  ERROR_CODES,
  FEATURES,
  type Frame,
  FRAME_TYPES,
  frameFits,
  GROUP_EVENTS,
  isFeature,
  LIMITS,
  negotiateFeatures,
  normalizeUsername,
  ProtocolError,
  usernameKey,
  utf8Length,
} from "../../core/protocol/mod.ts";
import { SCHEMAS } from "../../core/protocol/schema.ts";

type Json = Record<string, unknown>;

const _TOKEN = "U0dDrZOejF0mJAsXRq67zBlz3I7jkKjsV9IZgIDcgcU";
const _NONCE = "YtQmvcuS5Dk7cCXXwqCk0Zk8r2DK6CHUPsNMLFyDO8w";
const _MAC = "AB-lCx_Zf80VhpMM7RuucZAB5XS-mzjwIZXKNVQJMRU";
const _IDENTITY = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
const _SIG = "A".repeat(86);
const _PEM =
  "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n-----END PUBLIC KEY-----\n";
const _GROUP = { id: 7, name: "climbers", admin: 1, members: [1, 2, 3] };
const _MESSAGE = {
  msg_id: 42,
  kind: "direct",
  from: 1,
  group_id: null,
  body: "gAAAAABl-ciphertext",
  sent_at: 1_700_000_000_000,
  client_msg_id: "c-1",
};

/** One valid frame of every type, by direction. */
const EXAMPLES: Record<Direction, Record<string, Json>> = {
  client: {
    register: {
      type: "register",
      ref: 1,
      username: "alice",
      password: "correct horse battery staple",
      rsa_public_key: _PEM,
      identity_key: _IDENTITY,
    },
    login: { type: "login", ref: 2, user_id: 1, password: "correct horse battery staple" },
    resume: { type: "resume", ref: 3, session_token: _TOKEN },
    logout: { type: "logout", ref: 4 },
    lookup: { type: "lookup", ref: 5, username: "bob" },
    single_message: {
      type: "single_message",
      ref: 6,
      client_msg_id: "c-1",
      to: 2,
      body: "gAAAAABl-ciphertext",
    },
    group_message: {
      type: "group_message",
      ref: 7,
      client_msg_id: "c-2",
      group_id: 7,
      body: "gAAAAABl-ciphertext",
    },
    key: { type: "key", ref: 8, client_msg_id: "k-1", to: 2, body: "wrapped-key" },
    ack: { type: "ack", ids: [42, 43] },
    create_group: { type: "create_group", ref: 9, name: "climbers", members: [2, 3] },
    add_member: { type: "add_member", ref: 10, group_id: 7, user_id: 4 },
    remove_member: { type: "remove_member", ref: 11, group_id: 7, user_id: 4 },
    contacts: { type: "contacts", ref: 18, users: { "2": "contact", "5": "blocked" } },
    leave_group: { type: "leave_group", ref: 12, group_id: 7 },
    transfer_group: { type: "transfer_group", ref: 16, group_id: 7, user_id: 2 },
    delete_group: { type: "delete_group", ref: 17, group_id: 7 },
    list_groups: { type: "list_groups", ref: 13 },
    group_info: { type: "group_info", ref: 14, group_id: 7 },
    ping: { type: "ping", ref: 0 },
    device_lists: { type: "device_lists", ref: 19, user_id: 2, from_version: 1 },
    publish_device_list: { type: "publish_device_list", ref: 20, list: '{"v":1}' },
    device_challenge: { type: "device_challenge", ref: 21 },
    login_device: {
      type: "login_device",
      ref: 22,
      user_id: 1,
      device_id: 2,
      signature: _SIG,
    },
    link_open: { type: "link_open", ref: 23, slot: "7KQ2", offer: '{"v":1}' },
    link_read: { type: "link_read", ref: 24, slot: "7KQ2", from: 1 },
    link_write: { type: "link_write", ref: 25, slot: "7KQ2", step: 1, value: '{"v":1}' },
    link_cancel: { type: "link_cancel", ref: 26, slot: "7KQ2" },
    publish_prekeys: {
      type: "publish_prekeys",
      ref: 27,
      bundle: '{"v":1}',
      one_time: ['{"id":1}'],
      replace: false,
    },
    fetch_prekeys: { type: "fetch_prekeys", ref: 28, user_id: 2, device_id: 1 },
  },
  server: {
    welcome: { type: "welcome", server_id: 1, version: "0.1.0" },
    registered: {
      type: "registered",
      ref: 1,
      user_id: 1,
      username: "alice",
      session_token: _TOKEN,
    },
    logged_in: {
      type: "logged_in",
      ref: 2,
      user_id: 1,
      username: "alice",
      session_token: _TOKEN,
    },
    user: {
      type: "user",
      ref: 5,
      user_id: 2,
      username: "bob",
      rsa_public_key: _PEM,
      identity_key: _IDENTITY,
      online: true,
    },
    accepted: { type: "accepted", ref: 6, client_msg_id: "c-1", msg_id: 42, duplicate: false },
    message: { type: "message", ..._MESSAGE },
    delivered: { type: "delivered", msg_id: 42, client_msg_id: "c-1", to: 2 },
    receipts: {
      type: "receipts",
      items: [
        { msg_id: 42, client_msg_id: "c-1", to: 2 },
        { msg_id: 42, client_msg_id: "c-1", to: 3 },
        { msg_id: 43, client_msg_id: null, to: 2 },
      ],
    },
    synced: { type: "synced", pending: 0 },
    group: { type: "group", ref: 9, group: _GROUP },
    groups: { type: "groups", ref: 13, groups: [_GROUP] },
    ok: { type: "ok", ref: 12 },
    pong: { type: "pong", ref: 0, server_id: 1 },
    device_chain: { type: "device_chain", ref: 19, user_id: 2, lists: ['{"v":1}'], latest: 1 },
    device_list_stored: { type: "device_list_stored", ref: 20, version: 1, session_token: _TOKEN },
    challenge: { type: "challenge", ref: 21, nonce: _NONCE },
    link_steps: {
      type: "link_steps",
      ref: 24,
      slot: "7KQ2",
      from: 1,
      steps: ['{"v":1}'],
      total: 2,
      expires_at: 1_700_000_600_000,
    },
    prekeys_stored: { type: "prekeys_stored", ref: 27, one_time: 1 },
    prekeys: {
      type: "prekeys",
      ref: 28,
      user_id: 2,
      device_id: 1,
      bundle: '{"v":1}',
      one_time: null,
    },
    prekeys_low: { type: "prekeys_low", remaining: 3 },
    error: {
      type: "error",
      ref: 2,
      code: "auth_failed",
      message: "Wrong username, ID or password",
    },
  },
  peer: {
    peer_challenge: { type: "peer_challenge", server_id: 1, nonce: _NONCE },
    peer_auth: { type: "peer_auth", server_id: 2, mac: _MAC, nonce: _TOKEN },
    peer_ready: { type: "peer_ready", mac: _MAC },
    peer_deliver: { type: "peer_deliver", recipients: [2, 3], message: _MESSAGE },
    peer_delivered: {
      type: "peer_delivered",
      sender_id: 1,
      msg_id: 42,
      client_msg_id: "c-1",
      to: 2,
    },
    peer_presence: { type: "peer_presence", reset: false, online: [4, 9], offline: [2], seq: 7 },
    peer_presence_ack: { type: "peer_presence_ack", seq: 7 },
    peer_heartbeat: { type: "peer_heartbeat" },
    peer_session_ended: { type: "peer_session_ended", token_hash: _NONCE },
    peer_blocks: { type: "peer_blocks", user_id: 2, blocked: [1], unblocked: [5, 9] },
    peer_batch: {
      type: "peer_batch",
      frames: [
        { type: "peer_deliver", recipients: [2], message: _MESSAGE },
        { type: "peer_delivered", sender_id: 1, msg_id: 42, client_msg_id: null, to: 2 },
      ],
    },
    error: { type: "error", code: "bad_frame", message: "Frame must be a JSON object" },
  },
};

/** More valid shapes: the other branch of each choice, optional fields, nulls. */
const VARIANTS: [Direction, Json][] = [
  ["client", { type: "login", ref: 1, username: "alice", password: "x" }],
  ["client", { type: "lookup", ref: 1, user_id: 9 }],
  [
    "client",
    { type: "key", ref: 1, client_msg_id: "k-2", group_id: 7, keys: { "2": "a", "3": "b" } },
  ],
  ["client", { type: "create_group", ref: 1, name: "solo", members: [] }],
  ["client", { ...EXAMPLES.client.register, identity_key: `${_IDENTITY}=` }],
  ["client", { type: "ping", ref: LIMITS.refMax }],
  ["server", { type: "error", code: "bad_json", message: "" }],
  ["server", { type: "error", ref: 2, code: "rate_limited", message: "wait", retry_after_ms: 250 }],
  [
    "server",
    {
      type: "message",
      ..._MESSAGE,
      kind: "group_event",
      from: 0,
      group_id: 7,
      client_msg_id: null,
    },
  ],
  ["server", { type: "delivered", msg_id: 42, client_msg_id: null, to: 2 }],
  // Online state untold (the looked-up user has not made the asker a contact).
  ["server", _with("server", "user", { online: undefined })],
  ["client", { type: "contacts", ref: 1, users: { "9": "none" } }],
  ["server", { type: "receipts", items: [{ msg_id: 1, client_msg_id: null, to: 2 }] }],
  ["client", { ...EXAMPLES.client.register, features: ["receipt_batch"] }],
  ["client", { ...EXAMPLES.client.login, features: [] }],
  ["client", { ...EXAMPLES.client.resume, features: ["receipt_batch", "not_yet_invented"] }],
  ["server", { ...EXAMPLES.server.registered, features: ["receipt_batch"] }],
  ["server", { ...EXAMPLES.server.logged_in, features: [] }],
  ["server", { type: "groups", ref: 1, groups: [] }],
  ["server", { type: "accepted", ref: 1, client_msg_id: "c-1", msg_id: 42, duplicate: true }],
  [
    "peer",
    {
      type: "peer_deliver",
      recipients: [2, 3],
      message: { ..._MESSAGE, kind: "key", group_id: 7 },
      bodies: { "2": "wrapped-for-2", "3": "wrapped-for-3" },
    },
  ],
  ["peer", { type: "error", ref: 1, code: "internal", message: "The server failed" }],
];

/** Asserts that decoding `value` (JSON-encoded unless a string) fails with `code`. */
function assertRejected(
  value: unknown,
  direction: Direction,
  code: string,
  opts: { ref?: number; message?: RegExp } = {},
): ProtocolError {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  let caught: unknown;
  try {
    decode(text, direction);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ProtocolError, `expected a ProtocolError for ${text.slice(0, 200)}`);
  assert.equal(caught.code, code, `code for ${text.slice(0, 200)}: ${caught.message}`);
  if ("ref" in opts) assert.equal(caught.ref, opts.ref);
  if (opts.message) assert.match(caught.message, opts.message);
  return caught;
}

/** A copy of the example of `type` with `changes` applied (undefined deletes a field). */
function _with(direction: Direction, type: string, changes: Json): Json {
  const out: Json = { ...EXAMPLES[direction][type]! };
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined) delete out[k];
    else out[k] = v;
  }
  return out;
}

// ---- Tables -------------------------------------------------------------------------

Deno.test("FRAME_TYPES and SCHEMAS list the same frame types in every direction", () => {
  assert.deepEqual(Object.keys(SCHEMAS).sort(), Object.keys(FRAME_TYPES).sort());
  for (const direction of Object.keys(FRAME_TYPES) as Direction[]) {
    assert.deepEqual(
      [...FRAME_TYPES[direction]].sort(),
      Object.keys(SCHEMAS[direction]).sort(),
      direction,
    );
    assert.equal(new Set(FRAME_TYPES[direction]).size, FRAME_TYPES[direction].length);
  }
});

Deno.test("EXAMPLES cover every frame type in every direction", () => {
  for (const direction of Object.keys(FRAME_TYPES) as Direction[]) {
    assert.deepEqual(
      Object.keys(EXAMPLES[direction]).sort(),
      [...FRAME_TYPES[direction]].sort(),
      direction,
    );
  }
});

// ---- Valid frames -------------------------------------------------------------------

for (const direction of Object.keys(FRAME_TYPES) as Direction[]) {
  for (const type of FRAME_TYPES[direction]) {
    Deno.test(`decode() accepts a valid ${type} frame in the ${direction} direction`, () => {
      const example = EXAMPLES[direction][type]!;
      const frame = decode(JSON.stringify(example), direction);
      assert.deepEqual(frame, example);
    });
    Deno.test(`encode() and decode() round-trip a ${type} frame in the ${direction} direction`, () => {
      const example = EXAMPLES[direction][type]! as unknown as Frame;
      const text = encode(example);
      assert.equal(text, JSON.stringify(example));
      assert.deepEqual(decode(text, direction), example);
      assert.equal(encode(decode(text, direction)), text);
    });
  }
}

Deno.test("decode() accepts the other valid shapes of frames (choices, optional fields, nulls)", () => {
  for (const [direction, frame] of VARIANTS) {
    const text = encode(frame as unknown as Frame);
    assert.deepEqual(decode(text, direction), frame, text);
  }
});

Deno.test("decode() accepts values exactly at their bounds", () => {
  const ok = (direction: Direction, frame: Json) =>
    assert.deepEqual(decode(JSON.stringify(frame), direction), frame);
  ok("client", _with("client", "register", { username: "abc" }));
  ok("client", _with("client", "register", { username: `a${"b".repeat(31)}` }));
  ok("client", _with("client", "register", { username: "A0_.-z" }));
  ok("client", _with("client", "register", { password: "12345678" }));
  ok("client", _with("client", "login", { password: "p".repeat(LIMITS.passwordMax) }));
  ok("client", _with("client", "single_message", { client_msg_id: "x".repeat(64) }));
  ok("client", _with("client", "single_message", { client_msg_id: "a_b.c:d-e" }));
  ok("client", _with("client", "single_message", { body: "b", to: Number.MAX_SAFE_INTEGER }));
  ok("client", _with("client", "create_group", { name: "n".repeat(LIMITS.groupNameMax) }));
  const ids = Array.from({ length: LIMITS.ackIds }, (_, i) => i + 1);
  ok("client", { type: "ack", ids });
  ok("client", { type: "ack", ref: 3, ids });
  const members = Array.from({ length: LIMITS.groupMembers - 1 }, (_, i) => i + 2);
  ok("client", { type: "create_group", ref: 1, name: "big", members });
  const keys = Object.fromEntries(
    Array.from({ length: LIMITS.groupMembers }, (_, i) => [String(i + 1), "k"]),
  );
  ok("client", { type: "key", ref: 1, client_msg_id: "k", group_id: 1, keys });
});

Deno.test("decode() accepts a body of LIMITS.bodyChars characters", () => {
  const frame = _with("client", "single_message", { body: "b".repeat(LIMITS.bodyChars) });
  assert.equal(decode(JSON.stringify(frame), "client").type, "single_message");
});

Deno.test("decode() accepts a frame of exactly LIMITS.frameBytes characters", () => {
  const json = JSON.stringify({ type: "ping", ref: 1 });
  const text = json + " ".repeat(LIMITS.frameBytes - json.length);
  assert.equal(text.length, LIMITS.frameBytes);
  assert.deepEqual(decode(text, "client"), { type: "ping", ref: 1 });
});

// ---- Malformed input ----------------------------------------------------------------

Deno.test("decode() rejects text that is not JSON with bad_json", () => {
  for (const text of ["{not json", "", "{", '{"type":"ping","ref":1', "undefined", "{'a':1}"]) {
    assertRejected(text, "client", ERROR_CODES.badJson, { ref: undefined });
  }
});

Deno.test("decode() rejects arrays, null, strings and numbers with bad_frame", () => {
  for (const text of ["[1,2,3]", "[]", "null", '"ping"', "42", "true"]) {
    assertRejected(text, "client", ERROR_CODES.badFrame, { message: /JSON object/ });
  }
});

Deno.test("decode() rejects input that is not a string with bad_frame", () => {
  for (const value of [42, undefined, null, { type: "ping", ref: 1 }]) {
    assert.throws(
      () => decode(value as unknown as string, "client"),
      (err: unknown) => err instanceof ProtocolError && err.code === ERROR_CODES.badFrame,
    );
  }
});

Deno.test("decode() rejects a frame with a missing or non-string type", () => {
  assertRejected({ ref: 3 }, "client", ERROR_CODES.badFrame, { ref: 3, message: /"type"/ });
  for (const type of [1, null, true, ["ping"], { t: "ping" }]) {
    assertRejected({ type, ref: 4 }, "client", ERROR_CODES.badFrame, { ref: 4 });
  }
});

Deno.test("decode() rejects an unknown type with unknown_type and echoes the ref", () => {
  assertRejected({ type: "teleport", ref: 7 }, "client", ERROR_CODES.unknownType, {
    ref: 7,
    message: /Unknown frame type "teleport"/,
  });
  assertRejected({ type: "PING", ref: 1 }, "client", ERROR_CODES.unknownType, { ref: 1 });
  const err = assertRejected({ type: "x".repeat(500) }, "server", ERROR_CODES.unknownType);
  assert.ok(err.message.length < 100, "the echoed type is truncated");
});

Deno.test("decode() rejects inherited property names as frame types", () => {
  for (const type of ["__proto__", "constructor", "toString", "hasOwnProperty", "valueOf"]) {
    for (const direction of Object.keys(FRAME_TYPES) as Direction[]) {
      assertRejected({ type, ref: 1 }, direction, ERROR_CODES.unknownType, { ref: 1 });
    }
  }
});

Deno.test("decode() rejects unknown extra fields", () => {
  assertRejected(_with("client", "ping", { extra: 1 }), "client", ERROR_CODES.badFrame, {
    ref: 0,
    message: /Unexpected field "extra" in a ping frame/,
  });
  assertRejected(_with("client", "single_message", { To: 2 }), "client", ERROR_CODES.badFrame, {
    message: /Unexpected field "To"/,
  });
  // `ack`'s ref is optional; a bad one is refused like any field, and `null` counts as present.
  assertRejected({ type: "ack", ref: null, ids: [1] }, "client", ERROR_CODES.badFrame, {
    message: /Field "ref" of a ack frame must be an integer/,
  });
  assertRejected({ type: "ack", ids: [1], extra: 5, ref: 5 }, "client", ERROR_CODES.badFrame, {
    ref: 5,
    message: /Unexpected field "extra" in a ack frame/,
  });
  // A literal "__proto__" key is an own property after JSON.parse, and unknown.
  assertRejected('{"type":"ping","ref":1,"__proto__":{"x":1}}', "client", ERROR_CODES.badFrame, {
    ref: 1,
    message: /Unexpected field "__proto__"/,
  });
  // The same holds for server and peer frames.
  assertRejected(_with("server", "ok", { note: "hi" }), "server", ERROR_CODES.badFrame);
  assertRejected(_with("peer", "peer_ready", { server_id: 1 }), "peer", ERROR_CODES.badFrame);
  assertRejected(
    _with("peer", "error", { retry_after_ms: 5 }),
    "peer",
    ERROR_CODES.badFrame,
    { message: /Unexpected field "retry_after_ms"/ },
  );
});

Deno.test("decode() rejects a frame missing a required field", () => {
  assertRejected(
    _with("client", "single_message", { body: undefined }),
    "client",
    ERROR_CODES.badFrame,
    {
      ref: 6,
      message: /Field "body" of a single_message frame is required/,
    },
  );
  assertRejected(_with("client", "ping", { ref: undefined }), "client", ERROR_CODES.badFrame, {
    ref: undefined,
    message: /Field "ref" of a ping frame is required/,
  });
  assertRejected({ type: "ack" }, "client", ERROR_CODES.badFrame, { message: /"ids"/ });
  assertRejected(
    _with("server", "welcome", { version: undefined }),
    "server",
    ERROR_CODES.badFrame,
  );
  assertRejected(_with("peer", "peer_auth", { nonce: undefined }), "peer", ERROR_CODES.badFrame);
});

Deno.test("decode() rejects refs that are not integers from 0 to 2^31-1 and does not echo them", () => {
  for (const ref of [-1, 2 ** 31, 1.5, "1", null, true, [1]]) {
    assertRejected(_with("client", "ping", { ref }), "client", ERROR_CODES.badFrame, {
      ref: undefined,
      message: /Field "ref" of a ping frame must be an integer from 0 to 2147483647/,
    });
  }
});

Deno.test("decode() rejects strings where integer IDs are required", () => {
  assertRejected(_with("client", "single_message", { to: "2" }), "client", ERROR_CODES.badFrame, {
    ref: 6,
    message: /Field "to" of a single_message frame must be a positive integer ID/,
  });
  assertRejected(_with("client", "group_info", { group_id: "7" }), "client", ERROR_CODES.badFrame);
  assertRejected(_with("client", "login", { user_id: "1" }), "client", ERROR_CODES.badFrame);
  assertRejected(_with("server", "pong", { server_id: "1" }), "server", ERROR_CODES.badFrame);
});

Deno.test("decode() rejects integers where strings are required", () => {
  assertRejected(_with("client", "single_message", { body: 5 }), "client", ERROR_CODES.badFrame, {
    message: /Field "body" of a single_message frame must be a string/,
  });
  assertRejected(_with("client", "login", { password: 12345678 }), "client", ERROR_CODES.badFrame);
  assertRejected(
    _with("client", "single_message", { client_msg_id: 1 }),
    "client",
    ERROR_CODES.badFrame,
  );
  assertRejected(_with("server", "error", { code: 1 }), "server", ERROR_CODES.badFrame);
});

Deno.test("decode() rejects zero, negative, non-integer and unsafe IDs", () => {
  for (const id of [0, -1, 1.5, Number.MAX_SAFE_INTEGER + 1, 1e300]) {
    assertRejected(_with("client", "single_message", { to: id }), "client", ERROR_CODES.badFrame, {
      message: /must be a positive integer ID/,
    });
    assertRejected(_with("client", "add_member", { user_id: id }), "client", ERROR_CODES.badFrame);
    assertRejected(_with("server", "message", { msg_id: id }), "server", ERROR_CODES.badFrame);
    assertRejected(
      _with("peer", "peer_delivered", { sender_id: id }),
      "peer",
      ERROR_CODES.badFrame,
    );
  }
});

Deno.test("decode() accepts from 0 in a message but no other zero ID", () => {
  const event = _with("server", "message", { from: 0 });
  assert.equal(decode(JSON.stringify(event), "server").type, "message");
  assertRejected(_with("server", "message", { from: -1 }), "server", ERROR_CODES.badFrame);
  assertRejected(_with("server", "message", { group_id: 0 }), "server", ERROR_CODES.badFrame, {
    message: /Field "group_id" of a message frame must be null or a positive integer ID/,
  });
  assertRejected(_with("server", "delivered", { to: 0 }), "server", ERROR_CODES.badFrame);
});

Deno.test("decode() rejects strings that are too short or too long", () => {
  const cases: [Direction, string, Json][] = [
    ["client", "single_message", { body: "" }],
    ["client", "single_message", { body: "b".repeat(LIMITS.bodyChars + 1) }],
    ["client", "group_message", { body: "" }],
    ["client", "single_message", { client_msg_id: "" }],
    ["client", "single_message", { client_msg_id: "x".repeat(65) }],
    ["client", "register", { password: "1234567" }],
    ["client", "register", { password: "p".repeat(LIMITS.passwordMax + 1) }],
    ["client", "register", { rsa_public_key: "" }],
    ["client", "register", { rsa_public_key: "k".repeat(LIMITS.publicKeyChars + 1) }],
    ["client", "login", { password: "" }],
    ["client", "login", { password: "p".repeat(LIMITS.passwordMax + 1) }],
    ["client", "lookup", { username: "" }],
    ["client", "lookup", { username: "u".repeat(33) }],
    ["client", "create_group", { name: "" }],
    ["client", "create_group", { name: "n".repeat(LIMITS.groupNameMax + 1) }],
    ["server", "welcome", { version: "" }],
    ["server", "error", { code: "" }],
    ["server", "error", { message: "m".repeat(1025) }],
    ["server", "message", { client_msg_id: "x".repeat(65) }],
    ["server", "message", { body: "x".repeat(LIMITS.bodyChars + 1) }],
  ];
  for (const [direction, type, changes] of cases) {
    assertRejected(_with(direction, type, changes), direction, ERROR_CODES.badFrame, {
      ref: EXAMPLES[direction][type]!.ref as number | undefined,
    });
  }
});

Deno.test("decode() rejects usernames that do not match the pattern", () => {
  for (const username of ["ab", "_alice", ".alice", "-alice", "al ice", "a".repeat(33), "ålice"]) {
    assertRejected(_with("client", "register", { username }), "client", ERROR_CODES.badFrame, {
      ref: 1,
      message: /Field "username" of a register frame/,
    });
  }
  assertRejected(
    _with("server", "registered", { username: "a b" }),
    "server",
    ERROR_CODES.badFrame,
  );
});

Deno.test("decode() rejects client_msg_id values that do not match the pattern", () => {
  for (const id of ["a b", "a/b", "a+b", "é", "a\nb", "a#b"]) {
    assertRejected(
      _with("client", "single_message", { client_msg_id: id }),
      "client",
      ERROR_CODES.badFrame,
      {
        ref: 6,
        message: /Field "client_msg_id" of a single_message frame/,
      },
    );
  }
});

Deno.test("decode() rejects session tokens that are not 43 url-safe base64 characters", () => {
  for (
    const token of [_TOKEN.slice(1), `${_TOKEN}A`, `${_TOKEN.slice(1)}+`, `${_TOKEN.slice(1)}=`]
  ) {
    assertRejected(
      _with("client", "resume", { session_token: token }),
      "client",
      ERROR_CODES.badFrame,
      {
        ref: 3,
        message: /Field "session_token" of a resume frame/,
      },
    );
  }
  assertRejected(
    _with("server", "logged_in", { session_token: "short" }),
    "server",
    ERROR_CODES.badFrame,
  );
});

Deno.test("decode() rejects identity keys that are not 43 url-safe base64 characters", () => {
  for (
    const key of [_IDENTITY.slice(1), `${_IDENTITY}==`, `${_IDENTITY.slice(1)}/`, `${_IDENTITY}A`]
  ) {
    assertRejected(
      _with("client", "register", { identity_key: key }),
      "client",
      ERROR_CODES.badFrame,
      {
        message: /Field "identity_key" of a register frame/,
      },
    );
  }
});

Deno.test("decode() rejects peer nonces and macs of the wrong form", () => {
  assertRejected(_with("peer", "peer_challenge", { nonce: "abc" }), "peer", ERROR_CODES.badFrame);
  assertRejected(_with("peer", "peer_auth", { mac: `${_MAC}=` }), "peer", ERROR_CODES.badFrame);
  assertRejected(_with("peer", "peer_ready", { mac: 1 }), "peer", ERROR_CODES.badFrame);
});

Deno.test("decode() rejects duplicate ids in ids lists", () => {
  assertRejected({ type: "ack", ids: [1, 2, 1] }, "client", ERROR_CODES.badFrame, {
    message: /Field "ids" of a ack frame must not repeat an ID/,
  });
  assertRejected(
    _with("client", "create_group", { members: [2, 2] }),
    "client",
    ERROR_CODES.badFrame,
    {
      ref: 9,
    },
  );
  assertRejected(
    _with("peer", "peer_deliver", { recipients: [3, 3] }),
    "peer",
    ERROR_CODES.badFrame,
  );
});

Deno.test("decode() rejects empty, oversized and non-array ids lists", () => {
  assertRejected({ type: "ack", ids: [] }, "client", ERROR_CODES.badFrame, {
    message: /must hold 1 to 1024 IDs, got 0/,
  });
  const tooMany = Array.from({ length: LIMITS.ackIds + 1 }, (_, i) => i + 1);
  assertRejected({ type: "ack", ids: tooMany }, "client", ERROR_CODES.badFrame, {
    message: /got 1025/,
  });
  assertRejected({ type: "ack", ids: 5 }, "client", ERROR_CODES.badFrame, {
    message: /must be an array of IDs/,
  });
  assertRejected({ type: "ack", ids: [1, "2"] }, "client", ERROR_CODES.badFrame, {
    message: /must hold only positive integer IDs/,
  });
  assertRejected({ type: "ack", ids: [0] }, "client", ERROR_CODES.badFrame);
  const members = Array.from({ length: LIMITS.groupMembers }, (_, i) => i + 2);
  assertRejected(_with("client", "create_group", { members }), "client", ERROR_CODES.badFrame, {
    message: /must hold 0 to 255 IDs, got 256/,
  });
  assertRejected(_with("peer", "peer_deliver", { recipients: [] }), "peer", ERROR_CODES.badFrame);
  const recipients = Array.from({ length: LIMITS.groupMembers + 1 }, (_, i) => i + 1);
  assertRejected(_with("peer", "peer_deliver", { recipients }), "peer", ERROR_CODES.badFrame);
});

Deno.test("decode() rejects a bodies map with non-numeric keys", () => {
  for (const key of ["abc", "0", "01", "-1", "1.5", " 1", "1e3", "12345678901234567"]) {
    const frame = { type: "key", ref: 8, client_msg_id: "k", group_id: 7, keys: { [key]: "b" } };
    assertRejected(frame, "client", ERROR_CODES.badFrame, {
      ref: 8,
      message: /Field "keys" of a key frame has a key ".*" that is not a user ID/,
    });
  }
  assertRejected(
    _with("peer", "peer_deliver", { bodies: { alice: "b" } }),
    "peer",
    ERROR_CODES.badFrame,
    { message: /Field "bodies" of a peer_deliver frame/ },
  );
});

Deno.test("decode() rejects a bodies map with non-string or empty values", () => {
  for (const value of [1, null, true, ["b"], { b: 1 }, "", "b".repeat(LIMITS.bodyChars + 1)]) {
    const frame = { type: "key", ref: 8, client_msg_id: "k", group_id: 7, keys: { "2": value } };
    assertRejected(frame, "client", ERROR_CODES.badFrame, {
      message: /has a body for 2 that is not a string/,
    });
  }
});

Deno.test("decode() rejects a bodies map that is empty, too large or not an object", () => {
  const base = { type: "key", ref: 8, client_msg_id: "k", group_id: 7 };
  assertRejected({ ...base, keys: {} }, "client", ERROR_CODES.badFrame, {
    message: /must hold 1 to 256 entries, got 0/,
  });
  const keys = Object.fromEntries(
    Array.from({ length: LIMITS.groupMembers + 1 }, (_, i) => [String(i + 1), "k"]),
  );
  assertRejected({ ...base, keys }, "client", ERROR_CODES.badFrame, { message: /got 257/ });
  for (const keys of [null, ["a"], "a", 1]) {
    assertRejected({ ...base, keys }, "client", ERROR_CODES.badFrame, {
      message: /must be an object mapping user IDs to bodies/,
    });
  }
});

Deno.test("decode() rejects a contacts frame that is empty, too large, or names bad IDs or states", () => {
  const base = { type: "contacts", ref: 18 };
  assertRejected({ ...base, users: {} }, "client", ERROR_CODES.badFrame, {
    ref: 18,
    message: /Field "users" of a contacts frame must hold 1 to 256 entries, got 0/,
  });
  const users = Object.fromEntries(
    Array.from({ length: LIMITS.contactsPerFrame + 1 }, (_, i) => [String(i + 1), "contact"]),
  );
  assertRejected({ ...base, users }, "client", ERROR_CODES.badFrame, { message: /got 257/ });
  for (const users of [null, ["2"], "2", 1]) {
    assertRejected({ ...base, users }, "client", ERROR_CODES.badFrame, {
      message: /must be an object mapping user IDs to contact states/,
    });
  }
  for (const key of ["0", "-1", "x", "01", "1.5", "99999999999999999"]) {
    assertRejected({ ...base, users: { [key]: "contact" } }, "client", ERROR_CODES.badFrame, {
      message: /that is not a user ID/,
    });
  }
  for (const state of ["friend", "", null, true, 1, "Contact"]) {
    assertRejected({ ...base, users: { "2": state } }, "client", ERROR_CODES.badFrame, {
      message: /has a state for 2 that is not one of contact, blocked, none/,
    });
  }
  assertRejected({ ...base }, "client", ERROR_CODES.badFrame, { message: /"users"/ });
});

Deno.test("decode() rejects a login frame with both user_id and username", () => {
  const frame = { type: "login", ref: 2, user_id: 1, username: "alice", password: "pw" };
  assertRejected(frame, "client", ERROR_CODES.badFrame, {
    ref: 2,
    message: /A login frame needs exactly one of "user_id", "username"/,
  });
});

Deno.test("decode() rejects a login frame with neither user_id nor username", () => {
  assertRejected({ type: "login", ref: 2, password: "pw" }, "client", ERROR_CODES.badFrame, {
    ref: 2,
    message: /A login frame needs exactly one of "user_id", "username"/,
  });
});

Deno.test("decode() rejects a lookup frame with both or neither of user_id and username", () => {
  assertRejected(
    { type: "lookup", ref: 5, user_id: 1, username: "bob" },
    "client",
    ERROR_CODES.badFrame,
    {
      ref: 5,
      message: /A lookup frame needs exactly one of/,
    },
  );
  assertRejected({ type: "lookup", ref: 5 }, "client", ERROR_CODES.badFrame, {
    ref: 5,
    message: /A lookup frame needs exactly one of/,
  });
});

Deno.test("decode() rejects a key frame with both to and group_id", () => {
  const frame = { type: "key", ref: 8, client_msg_id: "k", to: 2, group_id: 7, body: "b" };
  assertRejected(frame, "client", ERROR_CODES.badFrame, {
    ref: 8,
    message: /A key frame needs exactly one of "to", "group_id"/,
  });
});

Deno.test("decode() rejects a key frame with neither to nor group_id", () => {
  const frame = { type: "key", ref: 8, client_msg_id: "k", body: "b" };
  assertRejected(frame, "client", ERROR_CODES.badFrame, {
    ref: 8,
    message: /A key frame needs exactly one of "to", "group_id"/,
  });
});

Deno.test("decode() takes a key frame only as to with body, or group_id with keys", () => {
  for (
    const [frame, message] of [
      [{ to: 2, keys: { "2": "b" } }, /A key frame with "to" needs "body" too/],
      [{ group_id: 7, body: "b" }, /A key frame with "body" needs "to" too/],
      [{ to: 2 }, /A key frame with "to" needs "body" too/],
      [{ group_id: 7 }, /A key frame with "group_id" needs "keys" too/],
      [{ to: 2, body: "b", group_id: 7 }, /exactly one of "to", "group_id"/],
      [{ body: "b", keys: { "2": "b" } }, /exactly one of "to", "group_id"/],
    ] as const
  ) {
    assertRejected(
      { type: "key", ref: 8, client_msg_id: "k", ...frame },
      "client",
      ERROR_CODES.badFrame,
      { message },
    );
  }
  const direct = { type: "key", ref: 8, client_msg_id: "k", to: 2, body: "b" };
  assert.deepEqual(decode(JSON.stringify(direct), "client"), direct);
  const group = { type: "key", ref: 8, client_msg_id: "k", group_id: 7, keys: { "2": "b" } };
  assert.deepEqual(decode(JSON.stringify(group), "client"), group);
});

Deno.test("decode() rejects bad booleans, enums, counts and null-or fields in server frames", () => {
  assertRejected(
    _with("server", "accepted", { duplicate: "false" }),
    "server",
    ERROR_CODES.badFrame,
    {
      message: /must be true or false/,
    },
  );
  assertRejected(_with("server", "accepted", { duplicate: 0 }), "server", ERROR_CODES.badFrame);
  assertRejected(_with("server", "message", { kind: "video" }), "server", ERROR_CODES.badFrame, {
    message: /must be one of direct, group, key, group_event/,
  });
  assertRejected(_with("server", "message", { kind: null }), "server", ERROR_CODES.badFrame);
  assertRejected(_with("server", "message", { group_id: "7" }), "server", ERROR_CODES.badFrame);
  assertRejected(_with("server", "message", { client_msg_id: 5 }), "server", ERROR_CODES.badFrame);
  assertRejected(_with("server", "message", { sent_at: -1 }), "server", ERROR_CODES.badFrame);
  assertRejected(
    _with("server", "message", { group_id: undefined }),
    "server",
    ERROR_CODES.badFrame,
    {
      message: /Field "group_id" of a message frame is required/,
    },
  );
  assertRejected(_with("server", "synced", { pending: -1 }), "server", ERROR_CODES.badFrame);
  assertRejected(_with("server", "synced", { pending: 1.5 }), "server", ERROR_CODES.badFrame);
  assertRejected(
    _with("server", "error", { retry_after_ms: 3_600_001 }),
    "server",
    ERROR_CODES.badFrame,
  );
  assertRejected(_with("server", "error", { retry_after_ms: -1 }), "server", ERROR_CODES.badFrame);
});

Deno.test("decode() rejects malformed groups in group and groups frames", () => {
  const bad: unknown[] = [
    null,
    [],
    "g",
    { ..._GROUP, id: 0 },
    { ..._GROUP, admin: "1" },
    { ..._GROUP, name: 5 },
    { ..._GROUP, name: "n".repeat(LIMITS.groupNameMax + 1) },
    { ..._GROUP, members: [1, 0] },
    { ..._GROUP, members: "1,2" },
    { id: 7, admin: 1, members: [1] },
  ];
  for (const group of bad) {
    assertRejected(_with("server", "group", { group }), "server", ERROR_CODES.badFrame, {
      ref: 9,
      message: /Field "group" of a group frame must/,
    });
    assertRejected(
      _with("server", "groups", { groups: [_GROUP, group] }),
      "server",
      ERROR_CODES.badFrame,
      {
        ref: 13,
        message: /Field "groups" of a groups frame has a group that does not/,
      },
    );
  }
  assertRejected(_with("server", "groups", { groups: _GROUP }), "server", ERROR_CODES.badFrame, {
    message: /must be an array of groups/,
  });
});

Deno.test("decode() rejects a peer_deliver message with unknown, missing or bad fields", () => {
  const cases: [unknown, RegExp][] = [
    [null, /must be an object/],
    [[_MESSAGE], /must be an object/],
    [{ ..._MESSAGE, type: "message" }, /has an unexpected field "type"/],
    [{ ..._MESSAGE, extra: 1 }, /has an unexpected field "extra"/],
    [{ ..._MESSAGE, msg_id: 0 }, /has a field "msg_id" that must be a positive integer ID/],
    [{ ..._MESSAGE, kind: "video" }, /has a field "kind"/],
    [{ ..._MESSAGE, body: undefined }, /has a field "body" that is required/],
  ];
  for (const [message, pattern] of cases) {
    assertRejected(_with("peer", "peer_deliver", { message }), "peer", ERROR_CODES.badFrame, {
      message: pattern,
    });
  }
});

Deno.test("decode() rejects text longer than LIMITS.frameBytes with too_large", () => {
  const json = JSON.stringify({ type: "ping", ref: 1 });
  const text = json + " ".repeat(LIMITS.frameBytes - json.length + 1);
  assertRejected(text, "client", ERROR_CODES.tooLarge, { ref: undefined, message: /262144/ });
  // The size is checked before parsing, so huge non-JSON is too_large, not bad_json.
  assertRejected("x".repeat(LIMITS.frameBytes + 1), "client", ERROR_CODES.tooLarge);
  assertRejected("x".repeat(LIMITS.frameBytes + 1), "peer", ERROR_CODES.tooLarge);
});

Deno.test("decode() echoes the ref in ProtocolError when it is readable", () => {
  assertRejected(_with("client", "single_message", { to: "x" }), "client", ERROR_CODES.badFrame, {
    ref: 6,
  });
  assertRejected({ type: "nope", ref: 0 }, "client", ERROR_CODES.unknownType, { ref: 0 });
  assertRejected({ ref: LIMITS.refMax }, "client", ERROR_CODES.badFrame, { ref: LIMITS.refMax });
  assertRejected({ type: "nope", ref: "6" }, "client", ERROR_CODES.unknownType, { ref: undefined });
  assertRejected({ type: "nope", ref: -6 }, "client", ERROR_CODES.unknownType, { ref: undefined });
  assertRejected({ type: "nope" }, "client", ERROR_CODES.unknownType, { ref: undefined });
  assertRejected("{bad", "client", ERROR_CODES.badJson, { ref: undefined });
});

Deno.test("decode() rejects peer frames on the client direction and vice versa", () => {
  for (const type of FRAME_TYPES.peer) {
    if (type === "error") continue; // "error" is a server frame too; checked below
    assertRejected(EXAMPLES.peer[type], "client", ERROR_CODES.unknownType);
    assertRejected(EXAMPLES.peer[type], "server", ERROR_CODES.unknownType);
  }
  for (const type of FRAME_TYPES.client) {
    assertRejected(EXAMPLES.client[type], "peer", ERROR_CODES.unknownType, {
      ref: EXAMPLES.client[type]!.ref as number | undefined,
    });
    assertRejected(EXAMPLES.client[type], "server", ERROR_CODES.unknownType);
  }
  for (const type of FRAME_TYPES.server) {
    assertRejected(EXAMPLES.server[type], "client", ERROR_CODES.unknownType);
  }
  for (const type of FRAME_TYPES.server.filter((t) => t !== "error")) {
    assertRejected(EXAMPLES.server[type], "peer", ERROR_CODES.unknownType);
  }
  assertRejected(EXAMPLES.peer.error, "client", ERROR_CODES.unknownType);
});

Deno.test("decode() rejects a peer_batch that is empty, too long, nested or holds a bad frame", () => {
  const deliver = EXAMPLES.peer.peer_deliver!;
  const delivered = EXAMPLES.peer.peer_delivered!;
  assertRejected({ type: "peer_batch", frames: [] }, "peer", ERROR_CODES.badFrame, {
    message: /Field "frames" of a peer_batch frame must hold 1 to 1024 frames, got 0/,
  });
  assertRejected(
    { type: "peer_batch", frames: Array(LIMITS.peerBatchFrames + 1).fill(delivered) },
    "peer",
    ERROR_CODES.badFrame,
  );
  assertRejected({ type: "peer_batch", frames: deliver }, "peer", ERROR_CODES.badFrame, {
    message: /must be an array of peer frames/,
  });
  // Only deliveries and receipts: no handshake frames, errors or batches inside a batch.
  for (const inner of ["peer_batch", "peer_auth", "peer_ready", "error"]) {
    assertRejected(
      { type: "peer_batch", frames: [delivered, EXAMPLES.peer[inner]!] },
      "peer",
      ERROR_CODES.badFrame,
      {
        message:
          /frame at index 1 that has type .*expected one of peer_deliver, peer_delivered, peer_presence/,
      },
    );
  }
  assertRejected({ type: "peer_batch", frames: [delivered, null] }, "peer", ERROR_CODES.badFrame, {
    message: /index 1 that is not a JSON object/,
  });
  assertRejected(
    { type: "peer_batch", frames: [{ ...delivered, msg_id: 0 }] },
    "peer",
    ERROR_CODES.badFrame,
    { message: /index 0 that is invalid: Field "msg_id" of a peer_delivered frame must be/ },
  );
  assertRejected(
    { type: "peer_batch", frames: [{ ...deliver, extra: 1 }] },
    "peer",
    ERROR_CODES.badFrame,
    { message: /index 0 that is invalid: Unexpected field "extra" in a peer_deliver frame/ },
  );
  const ok = decode(encode(EXAMPLES.peer.peer_batch as unknown as Frame), "peer");
  assert.equal(ok.type, "peer_batch");
});
Deno.test("decode() rejects peer_presence lists that repeat, hold non-IDs or run too long", () => {
  const base = EXAMPLES.peer.peer_presence!;
  assertRejected({ ...base, online: [3, 3] }, "peer", ERROR_CODES.badFrame, {
    message: /"online" of a peer_presence frame must not repeat an ID/,
  });
  assertRejected({ ...base, offline: [0] }, "peer", ERROR_CODES.badFrame, {
    message: /"offline" of a peer_presence frame must hold only positive integer IDs/,
  });
  const long = Array.from({ length: LIMITS.presenceIds + 1 }, (_, i) => i + 1);
  assertRejected({ ...base, online: long }, "peer", ERROR_CODES.badFrame, {
    message: /must hold 0 to 4096 IDs/,
  });
  assertRejected({ ...base, reset: "yes" }, "peer", ERROR_CODES.badFrame);
  assertRejected({ ...base, seq: 0 }, "peer", ERROR_CODES.badFrame);
  const { seq: _seq, ...noSeq } = base;
  assert.equal(
    decode(JSON.stringify({ ...noSeq, online: [], offline: [] }), "peer").type,
    "peer_presence",
  );
  assertRejected({ type: "peer_presence_ack" }, "peer", ERROR_CODES.badFrame);
  assertRejected({ type: "peer_heartbeat", at: 1 }, "peer", ERROR_CODES.badFrame, {
    message: /Unexpected field "at"/,
  });
  // Presence, acks and heartbeats may travel inside a batch.
  const batch = {
    type: "peer_batch",
    frames: [base, EXAMPLES.peer.peer_presence_ack!, EXAMPLES.peer.peer_heartbeat!],
  };
  assert.equal(decode(JSON.stringify(batch), "peer").type, "peer_batch");
});

Deno.test("encode() writes plain JSON without re-encoding any field", () => {
  const frame = EXAMPLES.server.message as unknown as Frame;
  assert.equal(encode(frame), JSON.stringify(frame));
  assert.deepEqual(JSON.parse(encode(frame)), frame);
});

Deno.test("ProtocolError carries its code, message and ref", () => {
  const err = new ProtocolError(ERROR_CODES.notFound, "No such user", 12);
  assert.ok(err instanceof Error);
  assert.equal(err.name, "ProtocolError");
  assert.equal(err.code, "not_found");
  assert.equal(err.message, "No such user");
  assert.equal(err.ref, 12);
  assert.equal(new ProtocolError(ERROR_CODES.internal, "x").ref, undefined);
});

Deno.test("decode() accepts every example frame in docs/PROTOCOL.md", async () => {
  const doc = await Deno.readTextFile(new URL("../../docs/PROTOCOL.md", import.meta.url));
  const blocks = [...doc.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => m[1]!);
  assert.ok(blocks.length >= 40, `expected the examples, found ${blocks.length} json blocks`);
  let frames = 0;
  for (const block of blocks) {
    const value = JSON.parse(block) as Json;
    if (!("type" in value)) continue; // e.g. a group event's body
    frames++;
    const text = JSON.stringify(value);
    const accepted = (Object.keys(FRAME_TYPES) as Direction[]).filter((d) => {
      try {
        decode(text, d);
        return true;
      } catch {
        return false;
      }
    });
    assert.ok(accepted.length > 0, `no direction accepts the documented frame ${text}`);
  }
  const documented = new Set(
    blocks.map((b) => JSON.parse(b) as Json).filter((v) => "type" in v).map((v) => v.type),
  );
  for (const types of Object.values(FRAME_TYPES)) {
    for (const type of types) assert.ok(documented.has(type), `no example of ${type}`);
  }
  assert.ok(frames >= 40);
});

Deno.test("decode() measures the frame limit in UTF-8 bytes, not characters", () => {
  // 100,000 three-byte characters: under the limit in characters, over it in bytes.
  const text = JSON.stringify({ type: "ping", ref: 1, pad: "€".repeat(100_000) });
  assert.ok(text.length < LIMITS.frameBytes);
  assert.throws(() => decode(text, "client"), (e: unknown) => {
    assert.ok(e instanceof ProtocolError);
    assert.equal(e.code, "too_large");
    assert.match(e.message, /Frame is 3000\d\d bytes/);
    return true;
  });
  assert.equal(utf8Length("a€😀"), 1 + 3 + 4);
  assert.equal(frameFits("€".repeat(87_381)), true);
  assert.equal(frameFits("€".repeat(87_382)), false);
});

Deno.test("decode() accepts an empty message body, as group key messages carry per-member bodies", () => {
  const frame = _with("server", "message", { body: "", kind: "key" });
  assert.equal(decode(JSON.stringify(frame), "server").type, "message");
  const peer = {
    type: "peer_deliver",
    recipients: [2, 3],
    message: { ..._MESSAGE, kind: "key", body: "" },
    bodies: { "2": "for two", "3": "for three" },
  };
  assert.equal(decode(JSON.stringify(peer), "peer").type, "peer_deliver");
});

Deno.test("decode() rejects NUL and lone surrogates in every string field with bad_frame", () => {
  const bad = ["a\0b", "A\ud800B", "\udc00", "x\ud83d"];
  const cases: [Direction, string, Json][] = [
    ["client", "single_message", { body: "?" }],
    ["client", "group_message", { body: "?" }],
    ["client", "register", { password: "?" }],
    ["client", "login", { password: "?" }],
    ["client", "create_group", { name: "?" }],
    ["client", "key", { body: "?" }],
    ["server", "message", { body: "?" }],
  ];
  for (const text of bad) {
    for (const [direction, type, field] of cases) {
      const [name] = Object.keys(field) as [string];
      // Long enough for the password's minimum length.
      const value = text.padEnd(10, "x");
      assertRejected(_with(direction, type, { [name]: value }), direction, ERROR_CODES.badFrame, {
        message: new RegExp(
          `Field "${name}" of a ${type} frame must not contain (NUL|a lone UTF-16 surrogate)`,
        ),
      });
    }
    assertRejected(
      {
        type: "key",
        ref: 1,
        client_msg_id: "k-1",
        group_id: 7,
        keys: { "2": `ok${text}` },
      },
      "client",
      ERROR_CODES.badFrame,
      { message: /has a body for 2 that must not contain (NUL|a lone UTF-16 surrogate)/ },
    );
  }
  // Well-formed text of every kind passes, and comes back exactly.
  const good = "e\u0301 \u{1F3F3}\uFE0F\u200D\u{1F308} \u0645\u06CC\u200C \t\u202E";
  const frame = _with("client", "single_message", { body: good });
  const decoded = decode(JSON.stringify(frame), "client") as { body: string };
  assert.equal(decoded.body, good);
});

Deno.test("normalizeUsername() applies NFKC and keeps case", () => {
  assert.equal(normalizeUsername("Alice"), "Alice");
  assert.equal(normalizeUsername("ＡＬＩＣＥ"), "ALICE"); // full-width letters
  assert.equal(normalizeUsername("ﬁona"), "fiona"); // a ligature
  assert.equal(normalizeUsername("e\u0301mile"), "\u00e9mile"); // composed
});

Deno.test("usernameKey() is equal exactly for names that name one account", () => {
  assert.equal(usernameKey("Alice.B"), "alice.b");
  assert.equal(usernameKey("ＡＬＩＣＥ.b"), usernameKey("alice.B"));
  assert.notEqual(usernameKey("alice"), usernameKey("alice_"));
  // Only ASCII letters fold, as in the store.
  assert.notEqual(usernameKey("Émile"), usernameKey("émile"));
});

Deno.test("GROUP_EVENTS lists every group event, the handover and deletion included", () => {
  assert.deepEqual([...GROUP_EVENTS], [
    "created",
    "added",
    "removed",
    "left",
    "admin_changed",
    "deleted",
  ]);
});

// ---- Features and receipts ------------------------------------------------------------

Deno.test("FEATURES names match the feature pattern, and negotiateFeatures() keeps known ones", () => {
  for (const name of Object.values(FEATURES)) {
    assert.match(name, LIMITS.featurePattern);
    assert.ok(isFeature(name));
  }
  assert.equal(isFeature("zstd"), false);
  assert.equal(isFeature("toString"), false);
  assert.equal(negotiateFeatures(undefined), undefined, "no field: no answer field");
  assert.deepEqual(negotiateFeatures([]), []);
  assert.deepEqual(negotiateFeatures(["zstd", "receipt_batch", "future"]), ["receipt_batch"]);
  assert.deepEqual(negotiateFeatures(["receipt_batch", "receipt_batch"]), ["receipt_batch"]);
});

Deno.test("decode() accepts features lists at their bounds, unknown names included", () => {
  const names = Array.from({ length: LIMITS.features }, (_, i) => `f${"_".repeat(i)}x`);
  for (const type of ["register", "login", "resume"]) {
    const frame = _with("client", type, { features: names });
    assert.deepEqual(decode(JSON.stringify(frame), "client"), frame);
  }
  const long = _with("client", "login", { features: ["a".repeat(32), "_"] });
  assert.deepEqual(decode(JSON.stringify(long), "client"), long);
});

Deno.test("decode() rejects malformed features lists with bad_frame and echoes the ref", () => {
  const bad: [unknown, RegExp][] = [
    ["receipt_batch", /must be an array of feature names/],
    [null, /must be an array of feature names/],
    [{ receipt_batch: true }, /must be an array of feature names/],
    [
      Array.from({ length: LIMITS.features + 1 }, (_, i) => "f".repeat(i + 1)),
      /must hold at most 16 names, got 17/,
    ],
    [[""], /must hold only names matching/],
    [["a".repeat(33)], /must hold only names matching/],
    [["Receipt_Batch"], /must hold only names matching/],
    [["receipt-batch"], /must hold only names matching/],
    [["receipt batch"], /must hold only names matching/],
    [[1], /must hold only names matching/],
    [[null], /must hold only names matching/],
    [["receipt_batch", "receipt_batch"], /must not repeat a name/],
  ];
  for (const [features, message] of bad) {
    for (const type of ["register", "login", "resume"]) {
      assertRejected(_with("client", type, { features }), "client", ERROR_CODES.badFrame, {
        ref: EXAMPLES.client[type]!.ref as number,
        message: new RegExp(`Field "features" of a ${type} frame ${message.source}`),
      });
    }
    for (const type of ["registered", "logged_in"]) {
      assertRejected(_with("server", type, { features }), "server", ERROR_CODES.badFrame);
    }
  }
  // Only these five frames have the field.
  assertRejected(_with("client", "ping", { features: [] }), "client", ERROR_CODES.badFrame, {
    message: /Unexpected field "features" in a ping frame/,
  });
  assertRejected(_with("server", "user", { features: [] }), "server", ERROR_CODES.badFrame);
});

Deno.test("decode() rejects a receipts frame that is empty, too long or holds a bad receipt", () => {
  const item = { msg_id: 42, client_msg_id: "c-1", to: 2 };
  const full = { type: "receipts", items: Array(LIMITS.receiptItems).fill(item) };
  assert.equal(decode(JSON.stringify(full), "server").type, "receipts");
  assertRejected({ type: "receipts", items: [] }, "server", ERROR_CODES.badFrame, {
    message: /Field "items" of a receipts frame must hold 1 to 1024 receipts, got 0/,
  });
  assertRejected(
    { type: "receipts", items: Array(LIMITS.receiptItems + 1).fill(item) },
    "server",
    ERROR_CODES.badFrame,
    { message: /must hold 1 to 1024 receipts, got 1025/ },
  );
  assertRejected({ type: "receipts", items: item }, "server", ERROR_CODES.badFrame, {
    message: /must be an array of receipts/,
  });
  assertRejected({ type: "receipts" }, "server", ERROR_CODES.badFrame, {
    message: /Field "items" of a receipts frame is required/,
  });
  const cases: [unknown, RegExp][] = [
    [null, /receipt at index 1 that must be an object/],
    [[item], /receipt at index 1 that must be an object/],
    [{ ...item, msg_id: 0 }, /index 1 that has a field "msg_id" that must be a positive integer/],
    [{ ...item, to: "2" }, /index 1 that has a field "to" that must be a positive integer/],
    [{ msg_id: 1, to: 2 }, /index 1 that has a field "client_msg_id" that is required/],
    [{ ...item, client_msg_id: "x".repeat(65) }, /field "client_msg_id" that must be null or/],
    [{ ...item, client_msg_id: "a\0b" }, /field "client_msg_id" that must not contain NUL/],
    [{ ...item, type: "delivered" }, /index 1 that has an unexpected field "type"/],
    [{ ...item, sender_id: 1 }, /index 1 that has an unexpected field "sender_id"/],
  ];
  for (const [bad, message] of cases) {
    assertRejected({ type: "receipts", items: [item, bad] }, "server", ERROR_CODES.badFrame, {
      message,
    });
  }
  assertRejected({ type: "receipts", items: [item], extra: 1 }, "server", ERROR_CODES.badFrame, {
    message: /Unexpected field "extra" in a receipts frame/,
  });
  // Server to client only.
  assertRejected({ type: "receipts", items: [item] }, "client", ERROR_CODES.unknownType);
  assertRejected({ type: "receipts", items: [item] }, "peer", ERROR_CODES.unknownType);
});

Deno.test("docs/PROTOCOL.md's frame tables list every frame type and field of SCHEMAS", async () => {
  const doc = await Deno.readTextFile(new URL("../../docs/PROTOCOL.md", import.meta.url));
  const sections: Record<Direction, string> = {
    client: "## Client to server frames",
    server: "## Server to client frames",
    peer: "## Server to server frames",
  };
  for (const direction of Object.keys(sections) as Direction[]) {
    const start = doc.indexOf(sections[direction]);
    assert.ok(start >= 0, sections[direction]);
    const table = doc.slice(start).split("\n### ")[0]!;
    const fields = new Map<string, string[]>();
    let current = "";
    for (const line of table.split("\n")) {
      const cells = line.split("|").map((c) => c.trim());
      if (cells.length < 4 || !line.startsWith("|")) continue;
      const frame = /^`([a-z_]+)`$/.exec(cells[1]!)?.[1];
      if (frame !== undefined) current = frame;
      if (current === "") continue;
      if (!fields.has(current)) fields.set(current, []);
      const field = /^`([a-z_]+)`$/.exec(cells[2]!)?.[1];
      if (field !== undefined) fields.get(current)!.push(field);
    }
    assert.deepEqual([...fields.keys()].sort(), [...FRAME_TYPES[direction]].sort(), direction);
    for (const [type, listed] of fields) {
      assert.deepEqual(
        listed.sort(),
        Object.keys(SCHEMAS[direction][type]!.fields).sort(),
        `${direction} ${type}`,
      );
    }
  }
  // The overview table lists every type of each direction, in the order of FRAME_TYPES.
  for (const direction of Object.keys(sections) as Direction[]) {
    const row = doc.split("\n").find((l) => l.startsWith(`| \`${direction}\``))!;
    const listed = [...row.split("|")[4]!.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]);
    assert.deepEqual(listed, [...FRAME_TYPES[direction]], direction);
  }
});
