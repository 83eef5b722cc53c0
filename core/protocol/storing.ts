/**
 * The client frames that store a message (the sender's own, or a group event the server
 * makes): the send rate applies to them, admission control may answer them `busy`, and a
 * client sends them again with the same `client_msg_id` (or the same group change) after
 * such a refusal.
 *
 * @module
 */

import type { ClientFrame } from "./frames.ts";

/** Client frame types that store a message; see the module documentation. */
export const STORING_FRAME_TYPES: ReadonlySet<ClientFrame["type"]> = new Set([
  "single_message",
  "group_message",
  "key",
  "create_group",
  "add_member",
  "remove_member",
  "leave_group",
  "transfer_group",
  "delete_group",
]);
