/**
 * The main database on SQLite, run in a worker thread: a {@linkcode Store} that forwards each
 * call to a {@linkcode SqliteStore} in `sqlite_worker.ts` and resolves with its answer.
 *
 * Why: node:sqlite is synchronous. On a server's own thread each write transaction, and the
 * fsync of its commit, stopped the event loop for 15–30 ms at a time under load, so sockets
 * went unread meanwhile and, with one saturated server, send→`accepted` p99 was 14–31 times
 * its p50 (PostgreSQL, whose commits wait on a socket, 1.7 times). In the worker they stop only
 * the worker. The calls of one event-loop turn go in one message and start there in the same
 * order, so the store's group commit and its ordering promises are unchanged; the replies of
 * one turn come back in one message too.
 *
 * Errors keep their type and code (`worker_calls.ts`). If the worker dies, every call waiting
 * and every later call fails with StoreError `unavailable`.
 *
 * @module
 */

import { setImmediate } from "node:timers";
import type { SqliteStoreOptions } from "./sqlite_store.ts";
import {
  type AckedDelivery,
  type ContactChange,
  type ContactRelation,
  type GroupRecord,
  type NewMessage,
  type NewUser,
  type PendingBounds,
  type PendingMessage,
  type PresenceRecord,
  type RateLimit,
  type SavedMessage,
  type ServerRecord,
  type SessionRecord,
  type SettleOptions,
  type Store,
  STORE_ERRORS,
  StoreError,
  type UserRecord,
} from "./store.ts";
import { errorFromData, type WorkerCall, type WorkerReply } from "./worker_calls.ts";

/**
 * Opens the SQLite database at `path` in a new worker (see the module documentation);
 * rejects as {@linkcode SqliteStore.open} would, and then no worker is left running.
 */
export async function openSqliteWorkerStore(
  path: string,
  opts: SqliteStoreOptions = {},
): Promise<SqliteWorkerStore> {
  const store = new SqliteWorkerStore();
  try {
    await store.open(path, opts);
  } catch (err) {
    store.terminate();
    throw err;
  }
  return store;
}

/** A {@linkcode Store} whose SQLite connection lives in a worker; see the module documentation. */
export class SqliteWorkerStore implements Store {
  readonly #worker: Worker;
  readonly #pending = new Map<number, PromiseWithResolvers<unknown>>();
  #nextId = 1;
  #outbox: WorkerCall[] = [];
  #flushScheduled = false;
  /** Why calls fail from now on; null while the worker runs. */
  #dead: StoreError | null = null;

  /** Starts the worker; {@linkcode openSqliteWorkerStore} also opens the database in it. */
  constructor() {
    this.#worker = new Worker(new URL("./sqlite_worker.ts", import.meta.url).href, {
      type: "module",
    });
    this.#worker.onmessage = (ev: MessageEvent<WorkerReply[]>) => {
      for (const reply of ev.data) {
        const call = this.#pending.get(reply.id);
        if (call === undefined) continue;
        this.#pending.delete(reply.id);
        if (reply.ok) call.resolve(reply.value);
        else call.reject(errorFromData(reply.error));
      }
    };
    this.#worker.onerror = (ev: ErrorEvent) => {
      ev.preventDefault();
      this.#fail(`The database worker failed: ${ev.message}`);
    };
  }

  /** Opens the database at `path` in the worker; the first call, and only once. */
  open(path: string, opts: SqliteStoreOptions = {}): Promise<void> {
    return this.#call("open", [path, opts]) as Promise<void>;
  }

  /** See {@linkcode Store.createUser}. */
  createUser(user: NewUser): Promise<UserRecord> {
    return this.#call("createUser", [user]);
  }

  /** See {@linkcode Store.getUserById}. */
  getUserById(id: number): Promise<UserRecord | null> {
    return this.#call("getUserById", [id]);
  }

  /** See {@linkcode Store.getUserByName}. */
  getUserByName(username: string): Promise<UserRecord | null> {
    return this.#call("getUserByName", [username]);
  }

  /** See {@linkcode Store.createSession}. */
  createSession(tokenHash: Uint8Array, session: SessionRecord): Promise<void> {
    return this.#call("createSession", [tokenHash, session]);
  }

  /** See {@linkcode Store.getSession}. */
  getSession(tokenHash: Uint8Array, now: number): Promise<SessionRecord | null> {
    return this.#call("getSession", [tokenHash, now]);
  }

  /** See {@linkcode Store.deleteSession}. */
  deleteSession(tokenHash: Uint8Array): Promise<void> {
    return this.#call("deleteSession", [tokenHash]);
  }

  /** See {@linkcode Store.liveSessions}. */
  liveSessions(tokenHashes: readonly Uint8Array[], now: number): Promise<Uint8Array[]> {
    return this.#call("liveSessions", [tokenHashes, now]);
  }

  /** See {@linkcode Store.addPresence}. */
  addPresence(userId: number, serverId: number): Promise<void> {
    return this.#call("addPresence", [userId, serverId]);
  }

  /** See {@linkcode Store.removePresence}. */
  removePresence(userId: number, serverId: number): Promise<void> {
    return this.#call("removePresence", [userId, serverId]);
  }

  /** See {@linkcode Store.clearServerPresence}. */
  clearServerPresence(serverId: number): Promise<void> {
    return this.#call("clearServerPresence", [serverId]);
  }

  /** See {@linkcode Store.getPresence}. */
  getPresence(userIds: readonly number[]): Promise<PresenceRecord[]> {
    return this.#call("getPresence", [userIds]);
  }

  /** See {@linkcode Store.upsertServer}. */
  upsertServer(server: { id: number; host: string; port: number }): Promise<void> {
    return this.#call("upsertServer", [server]);
  }

  /** See {@linkcode Store.reportLoad}. */
  reportLoad(
    serverId: number,
    load: { clients: number; lagMs: number },
    at: number,
  ): Promise<void> {
    return this.#call("reportLoad", [serverId, load, at]);
  }

  /** See {@linkcode Store.listServers}. */
  listServers(): Promise<ServerRecord[]> {
    return this.#call("listServers", []);
  }

  /** See {@linkcode Store.createGroup}. */
  createGroup(name: string, adminId: number, memberIds: readonly number[]): Promise<GroupRecord> {
    return this.#call("createGroup", [name, adminId, memberIds]);
  }

  /** See {@linkcode Store.getGroup}. */
  getGroup(groupId: number): Promise<GroupRecord | null> {
    return this.#call("getGroup", [groupId]);
  }

  /** See {@linkcode Store.addMember}. */
  addMember(groupId: number, userId: number): Promise<boolean> {
    return this.#call("addMember", [groupId, userId]);
  }

  /** See {@linkcode Store.removeMember}. */
  removeMember(groupId: number, userId: number): Promise<boolean> {
    return this.#call("removeMember", [groupId, userId]);
  }

  /** See {@linkcode Store.listGroupsOf}. */
  listGroupsOf(userId: number): Promise<GroupRecord[]> {
    return this.#call("listGroupsOf", [userId]);
  }

  /** See {@linkcode Store.setGroupAdmin}. */
  setGroupAdmin(groupId: number, adminId: number, newAdminId: number): Promise<GroupRecord> {
    return this.#call("setGroupAdmin", [groupId, adminId, newAdminId]);
  }

  /** See {@linkcode Store.deleteGroup}. */
  deleteGroup(groupId: number, adminId: number): Promise<GroupRecord> {
    return this.#call("deleteGroup", [groupId, adminId]);
  }

  /** See {@linkcode Store.saveMessages}. */
  saveMessages(messages: readonly NewMessage[], bounds?: PendingBounds): Promise<SavedMessage[]> {
    return this.#call("saveMessages", [messages, bounds]);
  }

  /** See {@linkcode Store.pendingFor}. */
  pendingFor(userId: number, afterId: number, limit: number): Promise<PendingMessage[]> {
    return this.#call("pendingFor", [userId, afterId, limit]);
  }

  /** See {@linkcode Store.pendingOnServer}. */
  pendingOnServer(serverId: number, before: number, limit: number): Promise<PendingMessage[]> {
    return this.#call("pendingOnServer", [serverId, before, limit]);
  }

  /** See {@linkcode Store.ackDeliveries}. */
  ackDeliveries(userId: number, messageIds: readonly number[]): Promise<AckedDelivery[]> {
    return this.#call("ackDeliveries", [userId, messageIds]);
  }

  /** See {@linkcode Store.expirePending}. */
  expirePending(before: number, limit: number): Promise<number> {
    return this.#call("expirePending", [before, limit]);
  }

  /** See {@linkcode Store.settle}. */
  settle(limit: number, opts?: SettleOptions): Promise<number> {
    return this.#call("settle", [limit, opts]);
  }

  /** See {@linkcode Store.takeAttempt}. */
  takeAttempt(limits: readonly RateLimit[], now: number): Promise<number> {
    return this.#call("takeAttempt", [limits, now]);
  }

  /** See {@linkcode Store.refundAttempt}. */
  refundAttempt(limits: readonly RateLimit[], now: number): Promise<void> {
    return this.#call("refundAttempt", [limits, now]);
  }

  /** See {@linkcode Store.setContacts}. */
  setContacts(ownerId: number, changes: readonly ContactChange[], max: number): Promise<void> {
    return this.#call("setContacts", [ownerId, changes, max]);
  }

  /** See {@linkcode Store.contactState}. */
  contactState(ownerId: number, userId: number): Promise<ContactRelation | null> {
    return this.#call("contactState", [ownerId, userId]);
  }

  /** See {@linkcode Store.listContacts}. */
  listContacts(ownerId: number, state: ContactRelation): Promise<number[]> {
    return this.#call("listContacts", [ownerId, state]);
  }

  /** See {@linkcode Store.stats}. */
  stats(): Promise<{ users: number; messages: number; pendingDeliveries: number }> {
    return this.#call("stats", []);
  }

  /** Closes the database, then stops the worker. */
  async close(): Promise<void> {
    if (this.#dead !== null) return;
    try {
      await this.#call("close", []);
    } finally {
      this.terminate();
    }
  }

  /** Stops the worker at once; calls still waiting fail with StoreError `unavailable`. */
  terminate(): void {
    this.#worker.terminate();
    this.#fail("The database is closed");
  }

  #fail(why: string): void {
    this.#dead ??= new StoreError(STORE_ERRORS.unavailable, why);
    for (const call of this.#pending.values()) call.reject(this.#dead);
    this.#pending.clear();
  }

  // deno-lint-ignore no-explicit-any
  #call(method: string, args: unknown[]): Promise<any> {
    if (this.#dead !== null) return Promise.reject(this.#dead);
    const id = this.#nextId++;
    const call = Promise.withResolvers<unknown>();
    this.#pending.set(id, call);
    this.#outbox.push({ id, method, args });
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      // The calls of this event-loop turn leave together, in order. While earlier calls are
      // still in the worker, wait for the end of the turn (a macrotask), so every socket
      // read of the turn joins: at saturation, a third fewer messages of 12 calls each. With
      // nothing in flight, go at once: a quiet server should not add a turn to a message's
      // latency.
      if (this.#pending.size > 1) setImmediate(() => this.#flush());
      else queueMicrotask(() => this.#flush());
    }
    return call.promise;
  }

  #flush(): void {
    this.#flushScheduled = false;
    const batch = this.#outbox;
    this.#outbox = [];
    if (this.#dead !== null) return;
    try {
      this.#worker.postMessage(batch);
    } catch {
      // Some argument cannot be cloned: send the calls one by one, so only its call fails.
      for (const call of batch) {
        try {
          this.#worker.postMessage([call]);
        } catch (err) {
          const p = this.#pending.get(call.id);
          this.#pending.delete(call.id);
          p?.reject(new TypeError(`Arguments of ${call.method}() cannot be sent: ${err}`));
        }
      }
    }
  }
}
