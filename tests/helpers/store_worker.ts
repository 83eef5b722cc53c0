/**
 * A child process for the store tests: it plays one server process sharing the main
 * database, so the tests can check real multi-process behaviour (locking, ID assignment,
 * schema creation), which two connections in one process cannot show.
 *
 * Usage: `deno run -A store_worker.ts LOCATION MODE ...`, where LOCATION is what
 * `openStore()` takes (a SQLite path or a PostgreSQL URL).
 * - `init TAG`: open (creating the schema if needed), register user `init-TAG`, print
 *   `{"userId":N}`.
 * - `register NAME`: open, print `ready`, wait for a line on stdin, then register user NAME
 *   and print `{"userId":N}`, or `{"error":CODE}` for a StoreError.
 * - `messages TAG RECIPIENT_ID COUNT BATCH`: register user `worker-TAG`, print `ready`, wait
 *   for a line on stdin, then save COUNT messages to RECIPIENT_ID in batches of BATCH and
 *   print `{"userId":N,"ids":[...]}`.
 * - `hold MS` (SQLite): take SQLite's write lock with a raw connection, print `locked`, hold
 *   it MS milliseconds, then commit.
 * - `holdwriter MS` (SQLite): take the store's writer lock file (`PATH-writer.lock`), print
 *   `locked`, hold it MS milliseconds, then release it.
 *
 * Any failure exits with code 1 and the error on stderr.
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import { type NewMessage, StoreError } from "../../core/store/store.ts";
import { openStore } from "../../core/store/open_store.ts";

async function _main(args: string[]): Promise<void> {
  const [location, mode, ...rest] = args;
  if (location === undefined || mode === undefined) {
    throw new TypeError(
      "Usage: store_worker.ts LOCATION init|register|messages|hold|holdwriter ...",
    );
  }
  if (mode === "holdwriter") {
    const file = await Deno.open(`${location}-writer.lock`, {
      read: true,
      write: true,
      create: true,
    });
    await file.lock(true);
    console.log("locked");
    await new Promise((resolve) => setTimeout(resolve, Number(rest[0])));
    await file.unlock();
    file.close();
    return;
  }
  if (mode === "hold") {
    const db = new DatabaseSync(location);
    db.exec("PRAGMA busy_timeout = 5000");
    db.exec("BEGIN IMMEDIATE");
    console.log("locked");
    await new Promise((resolve) => setTimeout(resolve, Number(rest[0])));
    db.exec("COMMIT");
    db.close();
    return;
  }
  const store = await openStore(location);
  try {
    if (mode === "init") {
      const user = await store.createUser(_user(`init-${rest[0]}`));
      console.log(JSON.stringify({ userId: user.id }));
      return;
    }
    if (mode === "register") {
      console.log("ready");
      await _readLine();
      try {
        const user = await store.createUser(_user(rest[0]!));
        console.log(JSON.stringify({ userId: user.id }));
      } catch (err) {
        if (!(err instanceof StoreError)) throw err;
        console.log(JSON.stringify({ error: err.code }));
      }
      return;
    }
    if (mode !== "messages") throw new TypeError(`Unknown mode "${mode}"`);
    const [tag, recipientText, countText, batchText] = rest;
    const recipientId = Number(recipientText);
    const count = Number(countText);
    const batch = Number(batchText);
    const me = await store.createUser(_user(`worker-${tag}`));
    console.log("ready");
    await _readLine();
    const ids: number[] = [];
    for (let start = 0; start < count; start += batch) {
      const messages: NewMessage[] = [];
      for (let i = start; i < Math.min(start + batch, count); i++) {
        messages.push({
          senderId: me.id,
          clientMsgId: `${tag}-${i}`,
          kind: "direct",
          groupId: null,
          body: `message ${i} from ${tag}`,
          recipients: [{ userId: recipientId }],
        });
      }
      const saved = await store.saveMessages(messages);
      for (const s of saved) {
        if (s.duplicate) throw new Error(`Message ${s.id} was unexpectedly a duplicate`);
        ids.push(s.id);
      }
    }
    console.log(JSON.stringify({ userId: me.id, ids }));
  } finally {
    await store.close();
  }
}

function _user(username: string) {
  return {
    username,
    passwordHash: "$scrypt$x",
    rsaPublicKey: "-----BEGIN PUBLIC KEY-----\nx\n-----END PUBLIC KEY-----\n",
    identityKey: "id",
  };
}

async function _readLine(): Promise<void> {
  const buf = new Uint8Array(64);
  for (;;) {
    const n = await Deno.stdin.read(buf);
    if (n === null || buf.subarray(0, n).includes(10)) return;
  }
}

if (import.meta.main) {
  try {
    await _main(Deno.args);
  } catch (err) {
    console.error(err instanceof Error ? err.stack ?? err.message : String(err));
    Deno.exit(1);
  }
}
