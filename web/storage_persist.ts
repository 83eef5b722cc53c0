/**
 * Persistent storage: a browser may delete a site's IndexedDB when space runs low, and with
 * it the keystore (this device's keys, contacts and history). Asking for persistent storage
 * (`navigator.storage.persist()`, the Storage Standard) keeps it unless the person clears it;
 * when the browser refuses, the page says so, so nobody learns it by losing their keys.
 *
 * @module
 */

/** What the browser answered. */
export type PersistOutcome = "granted" | "refused" | "unsupported";

/** The part of `navigator.storage` this uses. */
export interface PersistPort {
  persisted?(): Promise<boolean>;
  persist?(): Promise<boolean>;
}

/** The warning shown when the browser refuses (or cannot keep storage). */
export const STORAGE_WARNING =
  "This browser did not agree to keep FastChat's storage: it may delete this device's keys, " +
  "contacts and history when space runs low, and they cannot be recovered then. To keep them, " +
  "allow this site to store data persistently in the browser's settings.";

/**
 * Asks for persistent storage unless it is granted already; never throws (a browser that
 * fails to answer counts as refusing).
 */
export async function askPersistentStorage(
  storage: PersistPort | undefined = (globalThis.navigator as { storage?: PersistPort } | undefined)
    ?.storage,
): Promise<PersistOutcome> {
  if (storage?.persist === undefined) return "unsupported";
  try {
    if (await storage.persisted?.()) return "granted";
    return (await storage.persist()) ? "granted" : "refused";
  } catch {
    return "refused";
  }
}
