/**
 * FastChat's frames: JSON objects with a `type`, sent as WebSocket text frames. Three
 * directions share one table of types: client to server, server to client, and server to
 * server (the mesh). docs/PROTOCOL.md documents each field.
 *
 * Field names are snake_case on the wire. Bodies are opaque strings (ciphertext); servers
 * route them and never look inside, except `group_event` bodies, which servers write.
 *
 * @module
 */

import type { DeviceClientFrame, DeviceServerFrame } from "./device_frames.ts";

/** Every frame type, by direction. */
export const FRAME_TYPES = {
  /** Client to server. */
  client: [
    "register",
    "login",
    "resume",
    "logout",
    "lookup",
    "single_message",
    "group_message",
    "key",
    "ack",
    "create_group",
    "add_member",
    "remove_member",
    "leave_group",
    "transfer_group",
    "delete_group",
    "list_groups",
    "group_info",
    "contacts",
    "ping",
    "device_lists",
    "publish_device_list",
    "device_challenge",
    "login_device",
    "link_open",
    "link_read",
    "link_write",
    "link_cancel",
    "publish_prekeys",
    "fetch_prekeys",
  ],
  /** Server to client. */
  server: [
    "welcome",
    "registered",
    "logged_in",
    "user",
    "accepted",
    "message",
    "delivered",
    "receipts",
    "synced",
    "group",
    "groups",
    "ok",
    "pong",
    "error",
    "device_chain",
    "device_list_stored",
    "challenge",
    "link_steps",
    "prekeys_stored",
    "prekeys",
    "prekeys_low",
  ],
  /** Server to server. */
  peer: [
    "peer_challenge",
    "peer_auth",
    "peer_ready",
    "peer_deliver",
    "peer_delivered",
    "peer_presence",
    "peer_presence_ack",
    "peer_heartbeat",
    "peer_session_ended",
    "peer_blocks",
    "peer_batch",
    "error",
  ],
} as const;

/** A direction frames travel in; `decode` validates against that direction's types. */
export type Direction = keyof typeof FRAME_TYPES;

/** Message kinds on the wire (same as the store's). */
export type WireKind = "direct" | "group" | "key" | "group_event";

// ---- Client to server -------------------------------------------------------------

/** Register a new user (the seed's "join with ID 0"). */
export interface RegisterFrame {
  /** Frame type. */
  type: "register";
  /** Client's request number; the answer carries it back. */
  ref: number;
  /** Name to register: 3 to 32 ASCII letters, digits, `_`, `.` or `-`. */
  username: string;
  /** Password, 8 to 1024 characters; the server keeps only a scrypt hash. */
  password: string;
  /** RSA public key, PEM (PKCS#1 or SPKI). */
  rsa_public_key: string;
  /** Ed25519 identity public key, url-safe base64 of 32 bytes. */
  identity_key: string;
  /**
   * Optional protocol features to turn on for this connection (`FEATURES`), at most 16 names
   * of 1 to 32 lower-case letters and `_`; names the server does not know are ignored. The
   * answer lists those enabled.
   */
  features?: string[];
}
/** Log in by user ID or by username (exactly one). */
export interface LoginFrame {
  /** Frame type. */
  type: "login";
  /** Client's request number; the answer carries it back. */
  ref: number;
  /** The account's user ID (give this or `username`). */
  user_id?: number;
  /** The account's username, case ignored (give this or `user_id`). */
  username?: string;
  /** The account's password. */
  password: string;
  /**
   * Optional protocol features to turn on for this connection (`FEATURES`), at most 16 names
   * of 1 to 32 lower-case letters and `_`; names the server does not know are ignored. The
   * answer lists those enabled.
   */
  features?: string[];
}
/** Resume a session with the token from `registered`/`logged_in`. */
export interface ResumeFrame {
  /** Frame type. */
  type: "resume";
  /** Client's request number; the answer carries it back. */
  ref: number;
  /** The session token from `registered` or `logged_in`. */
  session_token: string;
  /**
   * Optional protocol features to turn on for this connection (`FEATURES`), at most 16 names
   * of 1 to 32 lower-case letters and `_`; names the server does not know are ignored. The
   * answer lists those enabled.
   */
  features?: string[];
}
/** End the session (the token stops working). */
export interface LogoutFrame {
  /** Frame type. */
  type: "logout";
  /** Client's request number; the answer carries it back. */
  ref: number;
}
/** Look up a user's public keys by ID or username (exactly one). */
export interface LookupFrame {
  /** Frame type. */
  type: "lookup";
  /** Client's request number; the answer carries it back. */
  ref: number;
  /** The user's ID (give this or `username`). */
  user_id?: number;
  /** The user's name, case ignored (give this or `user_id`). */
  username?: string;
}
/** A direct message. */
export interface SingleMessageFrame {
  /** Frame type. */
  type: "single_message";
  /** Client's request number; the answer carries it back. */
  ref: number;
  /** Sender-chosen ID of this message; a resend with the same ID is stored once. */
  client_msg_id: string;
  /** The recipient's user ID. */
  to: number;
  /** Ciphertext; the server stores and forwards it unread. */
  body: string;
}
/** A message to every other member of a group. */
export interface GroupMessageFrame {
  /** Frame type. */
  type: "group_message";
  /** Client's request number; the answer carries it back. */
  ref: number;
  /** Sender-chosen ID of this message; a resend with the same ID is stored once. */
  client_msg_id: string;
  /** The group; the sender must be a member. */
  group_id: number;
  /** Ciphertext; the server stores and forwards it unread. */
  body: string;
}
/** A key wrapped for one user: `to` and `body`, never `group_id` or `keys`. */
export interface DirectKeyFrame {
  /** Frame type. */
  type: "key";
  /** Client's request number; the answer carries it back. */
  ref: number;
  /** Sender-chosen ID of this message; a resend with the same ID is stored once. */
  client_msg_id: string;
  /** The recipient's user ID. */
  to: number;
  /** The key wrapped for `to`. */
  body: string;
  /** Never with `to`. */
  group_id?: never;
  /** Never with `to`. */
  keys?: never;
}
/** A group's key wrapped for each member: `group_id` and `keys`, never `to` or `body`. */
export interface GroupKeyFrame {
  /** Frame type. */
  type: "key";
  /** Client's request number; the answer carries it back. */
  ref: number;
  /** Sender-chosen ID of this message; a resend with the same ID is stored once. */
  client_msg_id: string;
  /** The group the keys are for. */
  group_id: number;
  /** The key wrapped for each member, by member user ID in decimal. */
  keys: Record<string, string>;
  /** Never with `group_id`. */
  to?: never;
  /** Never with `group_id`. */
  body?: never;
}
/** Wrapped keys, for one user or for the members of a group (`decode` checks which). */
export type KeyFrame = DirectKeyFrame | GroupKeyFrame;
/** Acknowledge received messages by server message ID. */
export interface AckFrame {
  /** Frame type. */
  type: "ack";
  /** When present, the server answers `ok` once the deliveries are removed. */
  ref?: number;
  /** The `msg_id`s of the messages received. */
  ids: number[];
}
/** Create a group; the creator becomes its admin. */
export interface CreateGroupFrame {
  /** Frame type. */
  type: "create_group";
  /** Client's request number; the answer carries it back. */
  ref: number;
  /** The group's name, 1 to 64 characters. */
  name: string;
  /** Members besides the creator, who is always added. */
  members: number[];
}
/** Admin adds a member. */
export interface AddMemberFrame {
  /** Frame type. */
  type: "add_member";
  /** Client's request number; the answer carries it back. */
  ref: number;
  /** The group. */
  group_id: number;
  /** The user to add. */
  user_id: number;
}
/** Admin removes a member. */
export interface RemoveMemberFrame {
  /** Frame type. */
  type: "remove_member";
  /** Client's request number; the answer carries it back. */
  ref: number;
  /** The group. */
  group_id: number;
  /** The member to remove. */
  user_id: number;
}
/** Leave a group (not allowed for the admin: hand it over or delete it first). */
export interface LeaveGroupFrame {
  /** Frame type. */
  type: "leave_group";
  /** Client's request number; the answer carries it back. */
  ref: number;
  /** The group to leave. */
  group_id: number;
}
/** The admin hands the group to another member, who becomes its admin (answer: `group`). */
export interface TransferGroupFrame {
  /** Frame type. */
  type: "transfer_group";
  /** Client's request number; the answer carries it back. */
  ref: number;
  /** The group to hand over. */
  group_id: number;
  /** The member who becomes the admin. */
  user_id: number;
}
/** The admin deletes the group: every member is out and the group is gone (answer: `ok`). */
export interface DeleteGroupFrame {
  /** Frame type. */
  type: "delete_group";
  /** Client's request number; the answer carries it back. */
  ref: number;
  /** The group to delete. */
  group_id: number;
}
/** List my groups. */
export interface ListGroupsFrame {
  /** Frame type. */
  type: "list_groups";
  /** Client's request number; the answer carries it back. */
  ref: number;
}
/** One group's details (members only). */
export interface GroupInfoFrame {
  /** Frame type. */
  type: "group_info";
  /** Client's request number; the answer carries it back. */
  ref: number;
  /** The group to describe. */
  group_id: number;
}
/**
 * What a user is to the sender of a `contacts` frame: a contact (they wrote to them or
 * accepted them), blocked, or neither ("none" forgets what was said before).
 */
export const CONTACT_STATES = ["contact", "blocked", "none"] as const;

/** One of {@linkcode CONTACT_STATES}. */
export type ContactState = (typeof CONTACT_STATES)[number];

/**
 * Tells the server who the user's contacts are and whom they blocked: only contacts are told
 * whether the user is online, and a blocked user gets no delivery receipts from them.
 */
export interface ContactsFrame {
  /** Frame type. */
  type: "contacts";
  /** Client's request number; the answer (`ok`) carries it back. */
  ref: number;
  /** The new state of each user named, by user ID (1 to `LIMITS.contactsPerFrame`). */
  users: Record<string, ContactState>;
}
/** Liveness check. */
export interface PingFrame {
  /** Frame type. */
  type: "ping";
  /** Client's request number; the answer carries it back. */
  ref: number;
}

/** Any client-to-server frame. */
export type ClientFrame =
  | RegisterFrame
  | LoginFrame
  | ResumeFrame
  | LogoutFrame
  | LookupFrame
  | SingleMessageFrame
  | GroupMessageFrame
  | KeyFrame
  | AckFrame
  | CreateGroupFrame
  | AddMemberFrame
  | RemoveMemberFrame
  | LeaveGroupFrame
  | TransferGroupFrame
  | DeleteGroupFrame
  | ListGroupsFrame
  | GroupInfoFrame
  | ContactsFrame
  | PingFrame
  | DeviceClientFrame;

// ---- Server to client -------------------------------------------------------------

/** A group as sent to clients. */
export interface WireGroup {
  /** The group's ID. */
  id: number;
  /** The group's name. */
  name: string;
  /** The admin's user ID; the admin is always a member. */
  admin: number;
  /** Members' user IDs in ascending order, the admin included. */
  members: number[];
}

/** What a `group_event` message announces; see {@linkcode GroupEventBody}. */
export const GROUP_EVENTS = [
  "created",
  "added",
  "removed",
  "left",
  "admin_changed",
  "deleted",
] as const;

/** One of {@linkcode GROUP_EVENTS}. */
export type GroupEventName = (typeof GROUP_EVENTS)[number];

/**
 * The JSON body of a `group_event` message, which the server writes (docs/PROTOCOL.md,
 * "Group events").
 */
export interface GroupEventBody {
  /** What changed. */
  event: GroupEventName;
  /**
   * The group after the change. After `deleted` its `members` is empty (the group is gone);
   * the event still goes to everyone who was a member.
   */
  group: WireGroup;
  /**
   * Whom the event is about: the creator, the member added, removed or leaving, the new
   * admin (`admin_changed`), the admin who deleted the group (`deleted`).
   */
  user_id: number;
  /** Who made the change (for `admin_changed`, the admin before it). */
  by: number;
}

/** First frame on every connection. */
export interface WelcomeFrame {
  /** Frame type. */
  type: "welcome";
  /** The ID of the server this connection reached. */
  server_id: number;
  /** The server's version. */
  version: string;
}
/** Registration succeeded. */
export interface RegisteredFrame {
  /** Frame type. */
  type: "registered";
  /** The `ref` of the request this answers. */
  ref: number;
  /** The new user's ID. */
  user_id: number;
  /** The username as registered. */
  username: string;
  /** Token for `resume`. */
  session_token: string;
  /**
   * The features enabled for this connection: those asked for that the server knows.
   * Present exactly when the request had `features` (then possibly empty).
   */
  features?: string[];
}
/** Login or resume succeeded. */
export interface LoggedInFrame {
  /** Frame type. */
  type: "logged_in";
  /** The `ref` of the request this answers. */
  ref: number;
  /** The user's ID. */
  user_id: number;
  /** The username as registered (its spelling, whatever case was given). */
  username: string;
  /** A new token after `login`; the same token after `resume`. */
  session_token: string;
  /**
   * The features enabled for this connection: those asked for that the server knows.
   * Present exactly when the request had `features` (then possibly empty).
   */
  features?: string[];
}
/** A user's public keys. */
export interface UserFrame {
  /** Frame type. */
  type: "user";
  /** The `ref` of the request this answers. */
  ref: number;
  /** The user's ID. */
  user_id: number;
  /** The username as registered. */
  username: string;
  /** RSA public key, PEM, as registered. */
  rsa_public_key: string;
  /** Ed25519 identity public key, url-safe base64 without padding. */
  identity_key: string;
  /**
   * The user has at least one live connection, on any server. Told only to the user's
   * contacts (and the user); for anyone else it is absent on a connection with the
   * `contacts` feature, else `false` (see docs/PROTOCOL.md, "Contacts and blocks").
   */
  online?: boolean;
}
/** The message is durable; `msg_id` is the server's ID for it. */
export interface AcceptedFrame {
  /** Frame type. */
  type: "accepted";
  /** The `ref` of the request this answers. */
  ref: number;
  /** Echo of the request's `client_msg_id`. */
  client_msg_id: string;
  /** The server's ID for the message (the original's, for a resend). */
  msg_id: number;
  /** True when this client message ID was accepted before (a resend). */
  duplicate: boolean;
  /**
   * Recipients the message was not stored for because they have too much waiting (group
   * messages and group keys; a direct message to a full recipient is refused instead with
   * `recipient_full`). Absent when everyone got it.
   */
  full_recipients?: number[];
}
/** A message for this client; acknowledge it with `ack`. */
export interface MessageFrame {
  /** Frame type. */
  type: "message";
  /** The server's message ID; acknowledge and de-duplicate by it. */
  msg_id: number;
  /** What the message is: direct, group, wrapped key or group event. */
  kind: WireKind;
  /** Sender's user ID; 0 for server-made group events. */
  from: number;
  /** The group, for group, group event and group key messages; `null` otherwise. */
  group_id: number | null;
  /** Ciphertext, this recipient's wrapped key, or a group event's JSON. */
  body: string;
  /** Acceptance time, Unix milliseconds. */
  sent_at: number;
  /** The sender's `client_msg_id`; `null` for group events. */
  client_msg_id: string | null;
}
/** A recipient acknowledged one of this client's messages. */
export interface DeliveredFrame {
  /** Frame type. */
  type: "delivered";
  /** The server's ID of the message acknowledged. */
  msg_id: number;
  /** That message's `client_msg_id`. */
  client_msg_id: string | null;
  /** The recipient who acknowledged. */
  to: number;
}
/** One delivery receipt inside a `receipts` frame: a `delivered` frame without its `type`. */
export interface Receipt {
  /** The server's ID of the message acknowledged. */
  msg_id: number;
  /** That message's `client_msg_id`. */
  client_msg_id: string | null;
  /** The recipient who acknowledged. */
  to: number;
}
/**
 * Several delivery receipts at once, in the order they happened; sent instead of `delivered`
 * frames to connections that enabled the `receipt_batch` feature.
 */
export interface ReceiptsFrame {
  /** Frame type. */
  type: "receipts";
  /** 1 to `LIMITS.receiptItems` receipts, oldest first. */
  items: Receipt[];
}
/** Every pending message has been sent; the client is up to date. */
export interface SyncedFrame {
  /** Frame type. */
  type: "synced";
  /** How many pending messages were sent. */
  pending: number;
}
/** One group. */
export interface GroupFrame {
  /** Frame type. */
  type: "group";
  /** The `ref` of the request this answers. */
  ref: number;
  /** The group (after the change, when answering one). */
  group: WireGroup;
}
/** My groups. */
export interface GroupsFrame {
  /** Frame type. */
  type: "groups";
  /** The `ref` of the request this answers. */
  ref: number;
  /** The user's groups by ascending ID, each with all its members. */
  groups: WireGroup[];
}
/** A request without a payload succeeded. */
export interface OkFrame {
  /** Frame type. */
  type: "ok";
  /** The `ref` of the request this answers. */
  ref: number;
}
/** Answer to `ping`. */
export interface PongFrame {
  /** Frame type. */
  type: "pong";
  /** The `ref` of the request this answers. */
  ref: number;
  /** The ID of the server that answered. */
  server_id: number;
}
/** A peer's request failed (on the mesh: a failed handshake proof); no retry hint. */
export interface PeerErrorFrame {
  /** Frame type. */
  type: "error";
  /** The failed frame's `ref`, when it could be read. */
  ref?: number;
  /** One of the error codes. */
  code: string;
  /** What went wrong, for people. */
  message: string;
}
/** A request failed; `ref` echoes the request's when it could be read. */
export interface ErrorFrame {
  /** Frame type. */
  type: "error";
  /** The failed request's `ref`, when it could be read. */
  ref?: number;
  /** One of the error codes; programs branch on it. */
  code: string;
  /** What went wrong, for people. */
  message: string;
  /** For `rate_limited` and `busy`: milliseconds to wait before sending the frame again. */
  retry_after_ms?: number;
}

/** Any server-to-client frame. */
export type ServerFrame =
  | WelcomeFrame
  | RegisteredFrame
  | LoggedInFrame
  | UserFrame
  | AcceptedFrame
  | MessageFrame
  | DeliveredFrame
  | ReceiptsFrame
  | SyncedFrame
  | GroupFrame
  | GroupsFrame
  | OkFrame
  | PongFrame
  | ErrorFrame
  | DeviceServerFrame;

// ---- Server to server -------------------------------------------------------------

/** Acceptor to dialer: prove you hold the cluster secret. */
export interface PeerChallengeFrame {
  /** Frame type. */
  type: "peer_challenge";
  /** The acceptor's server ID. */
  server_id: number;
  /** A fresh 32-byte nonce, url-safe base64, for the dialer's proof. */
  nonce: string;
}
/** Dialer to acceptor: the proof, and a challenge back (mutual authentication). */
export interface PeerAuthFrame {
  /** Frame type. */
  type: "peer_auth";
  /** The dialer's server ID. */
  server_id: number;
  /** The dialer's proof: an HMAC keyed with the cluster secret over the acceptor's nonce. */
  mac: string;
  /** The dialer's fresh nonce, for the acceptor's proof. */
  nonce: string;
}
/** Acceptor to dialer: its proof; the link is up. */
export interface PeerReadyFrame {
  /** Frame type. */
  type: "peer_ready";
  /** The acceptor's proof over the dialer's nonce. */
  mac: string;
}
/** One message for the listed recipients on the receiving server (group fan-out). */
export interface PeerDeliverFrame {
  /** Frame type. */
  type: "peer_deliver";
  /** Users on the receiving server to push the message to. */
  recipients: number[];
  /** The `message` frame without its `type`. */
  message: Omit<MessageFrame, "type">;
  /** Per-recipient bodies (wrapped keys), by recipient ID. */
  bodies?: Record<string, string>;
}
/** A delivery receipt for a sender connected to the receiving server. */
export interface PeerDeliveredFrame {
  /** Frame type. */
  type: "peer_delivered";
  /** The message's sender, connected to the receiving server. */
  sender_id: number;
  /** The server's ID of the message acknowledged. */
  msg_id: number;
  /** That message's `client_msg_id`. */
  client_msg_id: string | null;
  /** The recipient who acknowledged. */
  to: number;
}

/**
 * Who has a live connection on the sending server. Each server keeps every peer's list in
 * memory, so routing a message reads no database.
 */
export interface PeerPresenceFrame {
  /** Frame type. */
  type: "peer_presence";
  /**
   * True: forget what the sender said before; `online` starts its full list (continued by the
   * frames that follow without `reset`). Sent first on every new link.
   */
  reset: boolean;
  /** Users now connected to the sender (at least one connection). */
  online: number[];
  /** Users whose last connection to the sender closed. */
  offline: number[];
  /** When present, the receiver answers `peer_presence_ack` once it has applied the frame. */
  seq?: number;
}
/** The receiver applied the `peer_presence` frame with this `seq`. */
export interface PeerPresenceAckFrame {
  /** Frame type. */
  type: "peer_presence_ack";
  /** The `seq` of the `peer_presence` frame applied. */
  seq: number;
}
/** Sent on an idle link so the receiver can tell a live peer from a hung one. */
export interface PeerHeartbeatFrame {
  /** Frame type. */
  type: "peer_heartbeat";
}
/** A session was logged out: the receiver closes its connections on that session. */
export interface PeerSessionEndedFrame {
  /** Frame type. */
  type: "peer_session_ended";
  /** SHA-256 of the session token, url-safe base64 without padding (43 characters). */
  token_hash: string;
}

/**
 * A user connected to both servers changed whom they block: the receiver updates its copy
 * (it sends no receipts to a user the acknowledging user blocked).
 */
export interface PeerBlocksFrame {
  /** Frame type. */
  type: "peer_blocks";
  /** The user whose blocks changed. */
  user_id: number;
  /** Users now blocked. */
  blocked: number[];
  /** Users no longer blocked. */
  unblocked: number[];
}

/** The peer frames a `peer_batch` may carry: everything after the handshake. */
export type PeerBatchedFrame =
  | PeerDeliverFrame
  | PeerDeliveredFrame
  | PeerPresenceFrame
  | PeerPresenceAckFrame
  | PeerHeartbeatFrame
  | PeerSessionEndedFrame
  | PeerBlocksFrame;

/**
 * Several peer frames (any after the handshake, but not another batch) in one WebSocket
 * frame, handled in order. Servers batch what they send a peer in one event-loop turn (a group commit routes
 * many messages at once), so a busy mesh costs one frame per turn instead of one per message.
 */
export interface PeerBatchFrame {
  /** Frame type. */
  type: "peer_batch";
  /** The batched frames, handled in order. */
  frames: PeerBatchedFrame[];
}

/** Any server-to-server frame. */
export type PeerFrame =
  | PeerChallengeFrame
  | PeerAuthFrame
  | PeerReadyFrame
  | PeerDeliverFrame
  | PeerDeliveredFrame
  | PeerPresenceFrame
  | PeerPresenceAckFrame
  | PeerHeartbeatFrame
  | PeerSessionEndedFrame
  | PeerBlocksFrame
  | PeerBatchFrame
  | PeerErrorFrame;

/** Frames by direction. */
export interface FramesByDirection {
  /** Frames a client sends to a server. */
  client: ClientFrame;
  /** Frames a server sends to a client. */
  server: ServerFrame;
  /** Frames servers send each other. */
  peer: PeerFrame;
}

/** Any frame. */
export type Frame = ClientFrame | ServerFrame | PeerFrame;
