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
    "ping",
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
    "synced",
    "group",
    "groups",
    "ok",
    "pong",
    "error",
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
  type: "register";
  ref: number;
  username: string;
  password: string;
  /** RSA public key, PEM (PKCS#1 or SPKI). */
  rsa_public_key: string;
  /** Ed25519 identity public key, url-safe base64 of 32 bytes. */
  identity_key: string;
}
/** Log in by user ID or by username (exactly one). */
export interface LoginFrame {
  type: "login";
  ref: number;
  user_id?: number;
  username?: string;
  password: string;
}
/** Resume a session with the token from `registered`/`logged_in`. */
export interface ResumeFrame {
  type: "resume";
  ref: number;
  session_token: string;
}
/** End the session (the token stops working). */
export interface LogoutFrame {
  type: "logout";
  ref: number;
}
/** Look up a user's public keys by ID or username (exactly one). */
export interface LookupFrame {
  type: "lookup";
  ref: number;
  user_id?: number;
  username?: string;
}
/** A direct message. */
export interface SingleMessageFrame {
  type: "single_message";
  ref: number;
  client_msg_id: string;
  to: number;
  body: string;
}
/** A message to every other member of a group. */
export interface GroupMessageFrame {
  type: "group_message";
  ref: number;
  client_msg_id: string;
  group_id: number;
  body: string;
}
/**
 * Wrapped keys: `to` + `body` for one user, or `group_id` + `keys` (member ID to body)
 * for members of a group.
 */
export interface KeyFrame {
  type: "key";
  ref: number;
  client_msg_id: string;
  to?: number;
  body?: string;
  group_id?: number;
  keys?: Record<string, string>;
}
/** Acknowledge received messages by server message ID. */
export interface AckFrame {
  type: "ack";
  /** When present, the server answers `ok` once the deliveries are removed. */
  ref?: number;
  ids: number[];
}
/** Create a group; the creator becomes its admin. */
export interface CreateGroupFrame {
  type: "create_group";
  ref: number;
  name: string;
  members: number[];
}
/** Admin adds a member. */
export interface AddMemberFrame {
  type: "add_member";
  ref: number;
  group_id: number;
  user_id: number;
}
/** Admin removes a member. */
export interface RemoveMemberFrame {
  type: "remove_member";
  ref: number;
  group_id: number;
  user_id: number;
}
/** Leave a group (not allowed for the admin: hand it over or delete it first). */
export interface LeaveGroupFrame {
  type: "leave_group";
  ref: number;
  group_id: number;
}
/** The admin hands the group to another member, who becomes its admin (answer: `group`). */
export interface TransferGroupFrame {
  type: "transfer_group";
  ref: number;
  group_id: number;
  /** The member who becomes the admin. */
  user_id: number;
}
/** The admin deletes the group: every member is out and the group is gone (answer: `ok`). */
export interface DeleteGroupFrame {
  type: "delete_group";
  ref: number;
  group_id: number;
}
/** List my groups. */
export interface ListGroupsFrame {
  type: "list_groups";
  ref: number;
}
/** One group's details (members only). */
export interface GroupInfoFrame {
  type: "group_info";
  ref: number;
  group_id: number;
}
/** Liveness check. */
export interface PingFrame {
  type: "ping";
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
  | PingFrame;

// ---- Server to client -------------------------------------------------------------

/** A group as sent to clients. */
export interface WireGroup {
  id: number;
  name: string;
  admin: number;
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
  type: "welcome";
  server_id: number;
  version: string;
}
/** Registration succeeded. */
export interface RegisteredFrame {
  type: "registered";
  ref: number;
  user_id: number;
  username: string;
  session_token: string;
}
/** Login or resume succeeded. */
export interface LoggedInFrame {
  type: "logged_in";
  ref: number;
  user_id: number;
  username: string;
  session_token: string;
}
/** A user's public keys. */
export interface UserFrame {
  type: "user";
  ref: number;
  user_id: number;
  username: string;
  rsa_public_key: string;
  identity_key: string;
  /** The user has at least one live connection, on any server. */
  online: boolean;
}
/** The message is durable; `msg_id` is the server's ID for it. */
export interface AcceptedFrame {
  type: "accepted";
  ref: number;
  client_msg_id: string;
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
  type: "message";
  msg_id: number;
  kind: WireKind;
  /** Sender's user ID; 0 for server-made group events. */
  from: number;
  group_id: number | null;
  body: string;
  /** Acceptance time, Unix milliseconds. */
  sent_at: number;
  client_msg_id: string | null;
}
/** A recipient acknowledged one of this client's messages. */
export interface DeliveredFrame {
  type: "delivered";
  msg_id: number;
  client_msg_id: string | null;
  to: number;
}
/** Every pending message has been sent; the client is up to date. */
export interface SyncedFrame {
  type: "synced";
  /** How many pending messages were sent. */
  pending: number;
}
/** One group. */
export interface GroupFrame {
  type: "group";
  ref: number;
  group: WireGroup;
}
/** My groups. */
export interface GroupsFrame {
  type: "groups";
  ref: number;
  groups: WireGroup[];
}
/** A request without a payload succeeded. */
export interface OkFrame {
  type: "ok";
  ref: number;
}
/** Answer to `ping`. */
export interface PongFrame {
  type: "pong";
  ref: number;
  server_id: number;
}
/** A request failed; `ref` echoes the request's when it could be read. */
export interface ErrorFrame {
  type: "error";
  ref?: number;
  code: string;
  message: string;
  /** For `rate_limited`: milliseconds to wait. */
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
  | SyncedFrame
  | GroupFrame
  | GroupsFrame
  | OkFrame
  | PongFrame
  | ErrorFrame;

// ---- Server to server -------------------------------------------------------------

/** Acceptor to dialer: prove you hold the cluster secret. */
export interface PeerChallengeFrame {
  type: "peer_challenge";
  server_id: number;
  nonce: string;
}
/** Dialer to acceptor: the proof, and a challenge back (mutual authentication). */
export interface PeerAuthFrame {
  type: "peer_auth";
  server_id: number;
  mac: string;
  nonce: string;
}
/** Acceptor to dialer: its proof; the link is up. */
export interface PeerReadyFrame {
  type: "peer_ready";
  mac: string;
}
/** One message for the listed recipients on the receiving server (group fan-out). */
export interface PeerDeliverFrame {
  type: "peer_deliver";
  recipients: number[];
  message: Omit<MessageFrame, "type">;
  /** Per-recipient bodies (wrapped keys), by recipient ID. */
  bodies?: Record<string, string>;
}
/** A delivery receipt for a sender connected to the receiving server. */
export interface PeerDeliveredFrame {
  type: "peer_delivered";
  sender_id: number;
  msg_id: number;
  client_msg_id: string | null;
  to: number;
}

/**
 * Who has a live connection on the sending server. Each server keeps every peer's list in
 * memory, so routing a message reads no database.
 */
export interface PeerPresenceFrame {
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
  type: "peer_presence_ack";
  seq: number;
}
/** Sent on an idle link so the receiver can tell a live peer from a hung one. */
export interface PeerHeartbeatFrame {
  type: "peer_heartbeat";
}
/** A session was logged out: the receiver closes its connections on that session. */
export interface PeerSessionEndedFrame {
  type: "peer_session_ended";
  /** SHA-256 of the session token, url-safe base64 without padding (43 characters). */
  token_hash: string;
}

/** The peer frames a `peer_batch` may carry: everything after the handshake. */
export type PeerBatchedFrame =
  | PeerDeliverFrame
  | PeerDeliveredFrame
  | PeerPresenceFrame
  | PeerPresenceAckFrame
  | PeerHeartbeatFrame
  | PeerSessionEndedFrame;

/**
 * Several peer frames (any after the handshake, but not another batch) in one WebSocket
 * frame, handled in order. Servers batch what they send a peer in one event-loop turn (a group commit routes
 * many messages at once), so a busy mesh costs one frame per turn instead of one per message.
 */
export interface PeerBatchFrame {
  type: "peer_batch";
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
  | PeerBatchFrame
  | ErrorFrame;

/** Frames by direction. */
export interface FramesByDirection {
  client: ClientFrame;
  server: ServerFrame;
  peer: PeerFrame;
}

/** Any frame. */
export type Frame = ClientFrame | ServerFrame | PeerFrame;
