/**
 * The advisory lock keys of the PostgreSQL store, in one place so that the migration code
 * (`schema.ts`) and the functions (`functions.ts`) cannot pick the same key twice.
 *
 * @module
 */

/** Advisory lock keys ("FC" in the high bytes, so they do not clash with other users). */
export const PG_LOCKS = {
  /** Held while migrating and setting the functions. */
  migrate: 0x4643_0000,
  /**
   * Held by a message-saving transaction while it takes its transaction ID and a block of
   * message IDs (microseconds), so both come in the same order (the "Order" promise in
   * `store.ts`).
   */
  messageIds: 0x4643_0001,
  /** Held by the one `fastchat_settle` call running in the cluster. */
  settle: 0x4643_0002,
  /** Held by the one `fastchat_expire` call running in the cluster. */
  expire: 0x4643_0003,
} as const;
