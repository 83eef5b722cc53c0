/**
 * The messages between {@linkcode SqliteWorkerStore} (`worker_store.ts`) and the worker that
 * holds the SQLite connection (`worker.ts`): batches of calls one way, batches of
 * replies the other, and errors carried as plain data and rebuilt as the same types, so a
 * caller still decides by `StoreError.code`, never by a message.
 *
 * @module
 */

import type { SqliteStoreOptions } from "./sqlite_store.ts";
import { type Store, STORE_ERRORS, StoreError, type StoreErrorCode } from "../store.ts";

/** The name of a {@linkcode Store} method. */
export type StoreMethod = keyof Store;

/**
 * Every store method by name: the worker proxy forwards exactly these. `deno check` fails
 * while a method of {@linkcode Store} is missing here (see `_Unlisted` below).
 */
export const STORE_METHODS = [
  "createUser",
  "getUserById",
  "getUserByName",
  "createSession",
  "getSession",
  "deleteSession",
  "deleteDeviceSessions",
  "deleteUnboundSessions",
  "putPrekeys",
  "takePrekeys",
  "prekeyCount",
  "deletePrekeys",
  "liveSessions",
  "addPresence",
  "removePresence",
  "clearServerPresence",
  "getPresence",
  "upsertServer",
  "reportLoad",
  "listServers",
  "createGroup",
  "getGroup",
  "addMember",
  "removeMember",
  "listGroupsOf",
  "setGroupAdmin",
  "deleteGroup",
  "saveMessages",
  "pendingFor",
  "pendingOnServer",
  "ackDeliveries",
  "expirePending",
  "settle",
  "takeAttempt",
  "refundAttempt",
  "setContacts",
  "contactState",
  "listContacts",
  "appendDeviceList",
  "deviceLists",
  "latestDeviceList",
  "openLinkSlot",
  "appendLinkStep",
  "linkSlot",
  "deleteLinkSlot",
  "stats",
  "close",
] as const satisfies readonly StoreMethod[];

/** Store methods not in {@linkcode STORE_METHODS}: must be none. */
type _Unlisted = Exclude<StoreMethod, (typeof STORE_METHODS)[number]>;
const _ALL_LISTED: [_Unlisted] extends [never] ? true : { missing: _Unlisted } = true;
void _ALL_LISTED;

/** One call of store method `M`, with that method's own parameters. */
export type StoreCall<M extends StoreMethod = StoreMethod> = {
  readonly [K in M]: {
    readonly id: number;
    readonly method: K;
    readonly args: Parameters<Store[K]>;
  };
}[M];

/** What the worker is asked: `open` first (path and options), then store calls. */
export type WorkerCall =
  | { readonly id: number; readonly method: "open"; readonly args: [string, SqliteStoreOptions] }
  | StoreCall;

/** An error as it crosses to the other thread. */
export interface WorkerError {
  readonly name: string;
  readonly message: string;
  /** A StoreError's code. */
  readonly code?: string;
}

/** The outcome of one call. */
export type WorkerReply =
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly id: number; readonly ok: false; readonly error: WorkerError };

/** The error `err` as data for the other thread. */
export function errorToData(err: unknown): WorkerError {
  if (err instanceof StoreError) return { name: err.name, message: err.message, code: err.code };
  if (err instanceof Error) return { name: err.name, message: err.message };
  return { name: "Error", message: String(err) };
}

/** Rebuilds an error from {@linkcode errorToData}: StoreError, TypeError, RangeError or Error. */
export function errorFromData(e: WorkerError): Error {
  if (e.name === "StoreError" && _isStoreErrorCode(e.code)) {
    return new StoreError(e.code, e.message);
  }
  if (e.name === "TypeError") return new TypeError(e.message);
  if (e.name === "RangeError") return new RangeError(e.message);
  const err = new Error(e.message);
  err.name = e.name;
  return err;
}

function _isStoreErrorCode(code: string | undefined): code is StoreErrorCode {
  return code !== undefined && (Object.values(STORE_ERRORS) as string[]).includes(code);
}
