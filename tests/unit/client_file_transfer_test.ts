import assert from "node:assert/strict";
import { fernetKeyId, MAX_FILE_SIZE, openDirect, splitFile } from "../../core/e2e/mod.ts";
import { ClientError } from "../../core/client/engine/errors.ts";
import { FileTransfer, numberedName } from "../../core/client/engine/file_transfer.ts";
import { Tracker } from "../../core/client/engine/tracker.ts";
import { generateFernetKey, generateIdentityKeyPair } from "../../core/crypto/mod.ts";
import type { MessageFrame } from "../../core/protocol/mod.ts";
import {
  eventLog,
  FakeConn,
  FakeLink,
  MemoryFiles,
  MemoryKeystore,
} from "../helpers/client_fakes.ts";

function _transfer(userId: number, username: string) {
  const ks = new MemoryKeystore(userId, username);
  const files = new MemoryFiles();
  let nextId = 500;
  const conn = new FakeConn((f) => ({
    type: "accepted",
    ref: 1,
    client_msg_id: (f as { client_msg_id: string }).client_msg_id,
    msg_id: nextId++,
    duplicate: false,
  }));
  const log = eventLog();
  const identity = generateIdentityKeyPair();
  const transfer = new FileTransfer({
    ks,
    files,
    saveDir: "/data/files",
    link: new FakeLink(conn),
    emit: log.emit,
    identitySecret: identity.secretKey,
    tracker: new Tracker(),
  });
  return { transfer, ks, files, conn, events: log.events, identity };
}

Deno.test("numberedName() numbers a taken name before its extension", () => {
  assert.equal(numberedName("photo.png", 1), "photo.png");
  assert.equal(numberedName("photo.png", 2), "photo (2).png");
  assert.equal(numberedName("archive.tar.gz", 3), "archive.tar (3).gz");
  assert.equal(numberedName("README", 2), "README (2)");
  assert.equal(numberedName(".hidden", 2), ".hidden (2)");
});

Deno.test("FileTransfer.read() refuses a file too large by its size, without reading it", async () => {
  const t = _transfer(1, "alice");
  t.files.sizes.set("/big.iso", MAX_FILE_SIZE + 1);
  await assert.rejects(
    t.transfer.read("/big.iso"),
    (err: unknown) => err instanceof ClientError && err.code === "too_large",
  );
  assert.equal(t.files.reads, 0);
  await assert.rejects(
    t.transfer.read("/missing.txt"),
    (err: unknown) =>
      err instanceof ClientError && err.code === "cannot_read" &&
      /Cannot read \/missing\.txt/.test(err.message),
  );
});

Deno.test("FileTransfer.send() seals every chunk for the friend and reports the file once", async () => {
  const t = _transfer(1, "alice");
  const key = generateFernetKey();
  const bob = t.ks.befriend(2, "bob", key);
  t.ks.friendKeys.set(2, { ...t.ks.friendKeys.get(2)!, kid: fernetKeyId(key) });
  const bytes = Uint8Array.from({ length: 200 * 1024 }, (_, i) => (i * 31 + (i >> 8)) & 255);
  t.files.files.set("/home/alice/photo.png", bytes);
  const file = await t.transfer.read("/home/alice/photo.png");
  await t.transfer.send(file, "/home/alice/photo.png", { friend: bob, label: "bob" });

  const frames = t.conn.requests as {
    type: string;
    to: number;
    body: string;
    client_msg_id: string;
  }[];
  assert.equal(frames.length, Math.ceil(bytes.length / (48 * 1024)));
  const got = new Uint8Array(bytes.length);
  for (const f of frames) {
    assert.equal(f.type, "single_message");
    const opened = openDirect(f.body, {
      fromId: 1,
      toId: 2,
      keysByKid: () => key,
      senderIdentityPublic: t.identity.publicKey,
      clientMsgId: f.client_msg_id,
    });
    if (opened.kind !== "file") throw new Error("expected a file chunk");
    assert.equal(f.client_msg_id, `file-${opened.chunk.file.id}-${opened.chunk.file.index}`);
    got.set(opened.chunk.data, opened.chunk.file.index * 48 * 1024);
  }
  assert.deepEqual(got, bytes);
  const [sent, accepted] = t.events.filter((e) => e.event !== "progress");
  assert.ok(sent?.event === "sent" && accepted?.event === "accepted");
  assert.equal(sent.state, "accepted");
  assert.equal(sent.to, "bob");
  assert.equal(sent.to_id, 2);
  assert.equal(sent.text, "[file] photo.png");
  assert.equal(accepted.client_msg_id, sent.client_msg_id);
  assert.equal(accepted.id, 500 + frames.length - 1, "the file's ID is its last chunk's");
  assert.ok(t.events.filter((e) => e.event === "progress").length >= 2);
  const record = t.ks.outgoingByMsgId(accepted.id)!;
  assert.equal(record.file?.size, bytes.length);
});

Deno.test("FileTransfer.receive() saves a completed file under a free name and reports it", async () => {
  const t = _transfer(2, "bob");
  t.ks.befriend(1, "alice", generateFernetKey());
  t.files.files.set("/data/files/notes.txt", new Uint8Array([1]));
  const bytes = crypto.getRandomValues(new Uint8Array(3 * 1024));
  const chunks = splitFile(bytes, "notes.txt", 1024);
  const frame = (i: number): MessageFrame => ({
    type: "message",
    msg_id: 40 + i,
    kind: "direct",
    from: 1,
    group_id: null,
    body: "",
    sent_at: 1_000,
    client_msg_id: `file-x-${i}`,
  });
  for (const i of [2, 0, 1]) await t.transfer.receive(frame(i), chunks[i]!, null);
  assert.deepEqual(t.files.files.get("/data/files/notes (2).txt"), bytes);
  assert.deepEqual(t.events, [{
    event: "file",
    id: 41,
    from: 1,
    from_name: "alice",
    group: null,
    name: "notes.txt",
    path: "/data/files/notes (2).txt",
    size: bytes.length,
    sha256: chunks[0]!.file.sha256,
    group_name: null,
  }]);
  assert.equal(t.ks.messages.at(-1)!.file?.path, "/data/files/notes (2).txt");
});
