/**
 * Types and errors of the client's local database (`Keystore` in `keystore.ts`):
 * what goes in, what comes out, and the stable error codes. Kept apart so code that only
 * passes records around need not import the database.
 *
 * @module
 */

/** Error codes of `KeystoreError`; stable across versions. */
export const KEYSTORE_ERRORS = {
  /** The keystore file, or a friend, group or message asked for, does not exist. */
  notFound: "not_found",
  /** Creating found a file or database already there, or a friend is already added. */
  alreadyExists: "already_exists",
  /** The password does not unlock this keystore. */
  wrongPassword: "wrong_password",
  /** The database is SQLite but not a FastChat keystore (or not SQLite at all). */
  notAKeystore: "not_a_keystore",
  /** The keystore was written by a newer FastChat with a schema this one does not know. */
  unsupportedVersion: "unsupported_version",
  /** Stored data failed to decrypt or parse: the keystore is damaged or was tampered with. */
  corrupt: "corrupt",
  /** A write contradicts what is stored (a different key for a kid or epoch, a reused ID). */
  conflict: "conflict",
  /** `acceptKeyChange()` was called for a friend without a pending key change. */
  noPendingChange: "no_pending_change",
  /** `verifyFriend()` was called for a friend whose keys changed and are not accepted. */
  pendingChange: "pending_change",
  /** The keystore was closed. */
  closed: "closed",
  /**
   * `pinDeviceList()` was given a lower version than the one pinned for that user: a
   * server (or copy) going back to a list the user had moved past, e.g. to bring back a
   * device that was unlinked.
   */
  deviceListRollback: "device_list_rollback",
  /**
   * `pinDeviceList()` was given the version pinned for that user but with another hash:
   * two different lists claim the same place in the chain, so one of them was forged or
   * the account's devices disagree.
   */
  deviceListFork: "device_list_fork",
} as const;

/** One of the codes in {@linkcode KEYSTORE_ERRORS}. */
export type KeystoreErrorCode = (typeof KEYSTORE_ERRORS)[keyof typeof KEYSTORE_ERRORS];

/** A domain error of the keystore, with a stable `KeystoreErrorCode`. */
export class KeystoreError extends Error {
  /** Stable machine-readable code. */
  readonly code: KeystoreErrorCode;
  /** Makes an error with `code` and a message saying what happened and what to do. */
  constructor(code: KeystoreErrorCode, message: string) {
    super(message);
    this.name = "KeystoreError";
    this.code = code;
  }
}

/** scrypt cost parameters of the master key; any left out take the defaults (2^15, 8, 1). */
export interface KeystoreScryptOptions {
  /** CPU/memory cost, a power of two from 2^10 to 2^20; default 2^15. */
  readonly N?: number;
  /** Block size, 1 to 32; default 8. */
  readonly r?: number;
  /** Parallelization, 1 to 16; default 1. */
  readonly p?: number;
}

/** The user's own account, as given to `Keystore.createIn` (or `createKeystoreFile`). */
export interface KeystoreAccountInput {
  /** Server-side user ID, a positive integer. */
  readonly userId: number;
  /** Username as registered. */
  readonly username: string;
  /** Own RSA private key, PEM (PKCS#8, or PKCS#1); kept encrypted. */
  readonly rsaPrivateKey: string;
  /** Own RSA public key, PEM (SPKI or PKCS#1); must match the private key. */
  readonly rsaPublicKey: string;
  /** Own Ed25519 identity secret key, the 32-byte seed; kept encrypted. */
  readonly identitySecretKey: Uint8Array;
  /** Own Ed25519 identity public key, url-safe base64 of 32 bytes; must match the secret. */
  readonly identityPublicKey: string;
  /** Session token for `resume`, if logged in; kept encrypted. */
  readonly sessionToken?: string | null;
}

/** Options of `Keystore.createIn` and `createKeystoreFile`. */
export interface CreateKeystoreOptions {
  /** The password the master key is derived from. */
  readonly password: string;
  /** The user's own account. */
  readonly account: KeystoreAccountInput;
  /** scrypt parameters; tests use `{ N: 2 ** 10 }` for speed. */
  readonly scrypt?: KeystoreScryptOptions;
}

/** Options of `Keystore.changePassword`. */
export interface ChangePasswordOptions {
  /** New scrypt parameters; by default those of the old password are kept. */
  readonly scrypt?: KeystoreScryptOptions;
}

/** The user's own account, decrypted. */
export interface KeystoreAccount {
  /** Server-side user ID. */
  readonly userId: number;
  /** Username. */
  readonly username: string;
  /** RSA private key PEM, as given at creation. */
  readonly rsaPrivateKey: string;
  /** RSA public key PEM, normalized to SPKI. */
  readonly rsaPublicKey: string;
  /** Ed25519 secret key (a fresh copy each call: zeroize it when done). */
  readonly identitySecretKey: Uint8Array;
  /** Ed25519 public key, url-safe base64 without padding. */
  readonly identityPublicKey: string;
  /** Session token, or null when there is none. */
  readonly sessionToken: string | null;
  /** When the keystore was created, Unix milliseconds. */
  readonly createdAt: number;
}

/**
 * This device's own keys (docs/CRYPTO.md, "Keys"): the signing and RSA key pairs it made for
 * itself, which never leave it, and the ID and name the account's device list gives it.
 * The same shape goes in (`Keystore.setDeviceIdentity`) and comes out
 * (`Keystore.deviceIdentity`).
 */
export interface DeviceIdentity {
  /** The device's ID in the account's device list; null until a list names it. */
  readonly deviceId: number | null;
  /** The device's name, 1 to 64 characters without control characters. */
  readonly name: string;
  /** Ed25519 signing public key, url-safe base64 of 32 bytes (stored without padding). */
  readonly signPublicKey: string;
  /**
   * Ed25519 signing secret key, the 32-byte seed; kept encrypted. Read back as a fresh
   * copy each call: zeroize it when done.
   */
  readonly signSecretKey: Uint8Array;
  /** RSA public key, PEM (SPKI or PKCS#1; stored as SPKI). */
  readonly rsaPublicKey: string;
  /** RSA private key, PEM (PKCS#8 or PKCS#1), kept as given; kept encrypted. */
  readonly rsaPrivateKey: string;
}

/**
 * The newest device list checked for a user (a contact, or the user's own account): the
 * keystore keeps it as text, with the version and hash the caller read from it, and never
 * lets it go back (see `Keystore.pinDeviceList`).
 */
export interface PinnedDeviceList {
  /** The list's version, 1 or more. */
  readonly version: number;
  /** SHA-256 of the list's signed bytes, url-safe base64 without padding (43 characters). */
  readonly hash: string;
  /** The signed list, JSON text of at most 64 KiB in UTF-8. */
  readonly body: string;
  /** When the caller checked the list's chain, Unix milliseconds. */
  readonly checkedAt: number;
}

/** A friend's public keys as the directory (the server's `user` frame) shows them. */
export interface FriendKeysInput {
  /** RSA public key, PEM (SPKI or PKCS#1). */
  readonly rsaPublicKey: string;
  /** Ed25519 identity public key, url-safe base64 of 32 bytes (padded or not). */
  readonly identityKey: string;
}

/** A friend to add: their keys are pinned on first sight (trust on first use). */
export interface FriendInput extends FriendKeysInput {
  /** Server-side user ID. */
  readonly userId: number;
  /** Username. */
  readonly username: string;
  /**
   * Whether they are a contact (the user chose to talk to them); default true. A user
   * pinned only to check their signatures (a group member, someone asking to talk) is not.
   */
  readonly contact?: boolean;
}

/** New keys seen in the directory for a friend, waiting for the user's decision. */
export interface PendingKeyChange {
  /** The new RSA public key, SPKI PEM. */
  readonly rsaPublicKey: string;
  /** The new identity key, url-safe base64 without padding. */
  readonly identityKey: string;
  /** When the change was last seen, Unix milliseconds. */
  readonly seenAt: number;
}

/** A friend with their pinned keys. */
export interface FriendRecord {
  /** Server-side user ID. */
  readonly userId: number;
  /** Username. */
  readonly username: string;
  /** Pinned RSA public key, normalized to SPKI PEM. */
  readonly rsaPublicKey: string;
  /** Pinned identity key, url-safe base64 without padding. */
  readonly identityKey: string;
  /** When the current keys were pinned, Unix milliseconds. */
  readonly pinnedAt: number;
  /** When the friend was added, Unix milliseconds. */
  readonly addedAt: number;
  /** Keys that differ from the pinned ones, until accepted; null when there are none. */
  readonly pendingKeyChange: PendingKeyChange | null;
  /** Whether they are a contact (see {@linkcode FriendInput.contact}). */
  readonly contact: boolean;
  /**
   * When the user marked the pinned keys verified (safety numbers compared), Unix
   * milliseconds; null when not verified, or since the keys changed.
   */
  readonly verifiedAt: number | null;
}

/** Someone who is not a contact and sent messages, kept until the user decides. */
export interface RequestRecord {
  /** Their user ID (they are pinned, not a contact). */
  readonly userId: number;
  /** Their username. */
  readonly username: string;
  /** When their first message arrived, Unix milliseconds. */
  readonly firstAt: number;
  /** When their latest message arrived, Unix milliseconds. */
  readonly lastAt: number;
  /** The first text they sent that could be read, or null. */
  readonly preview: string | null;
  /** How many of their messages are kept. */
  readonly messages: number;
}

/** One message kept with a request, as received (decrypted from the keystore). */
export interface RequestMessageRecord {
  /** The server's message ID. */
  readonly msgId: number;
  /** The requester's user ID. */
  readonly userId: number;
  /** The message as the caller stored it (the engine stores the frame's JSON). */
  readonly frame: string;
  /** When it arrived, Unix milliseconds. */
  readonly receivedAt: number;
}

/** A user the user blocked. */
export interface BlockedRecord {
  /** Their user ID. */
  readonly userId: number;
  /** Their username when blocked. */
  readonly username: string;
  /** When they were blocked, Unix milliseconds. */
  readonly blockedAt: number;
}

/** What a shared key is for: `active` encrypts what we send, `old` only reads history. */
export type FriendKeyRole = "active" | "old";

/** A Fernet key shared with a friend, decrypted. */
export interface FriendKeyRecord {
  /** The friend's user ID. */
  readonly friendId: number;
  /** Key ID, as carried in messages. */
  readonly kid: string;
  /** The Fernet key (url-safe base64 of 32 bytes). */
  readonly key: string;
  /** When the key was added, Unix milliseconds. */
  readonly createdAt: number;
  /** Whether it is the one used for sending. */
  readonly role: FriendKeyRole;
}

/** Options of `Keystore.addFriendKey`. */
export interface AddFriendKeyOptions {
  /** Make it the active key (the previous active one becomes `old`); default false. */
  readonly active?: boolean;
  /** When the key was made, Unix milliseconds; default now. */
  readonly createdAt?: number;
}

/** A group as the server describes it. */
export interface GroupInput {
  /** Server-side group ID. */
  readonly groupId: number;
  /** Group name (not unique). */
  readonly name: string;
  /** The admin's user ID. */
  readonly adminId: number;
  /** Member user IDs, each once. */
  readonly members: readonly number[];
}

/** A group as the keystore keeps it. */
export interface GroupRecord {
  /** Server-side group ID. */
  readonly groupId: number;
  /** Group name. */
  readonly name: string;
  /** The admin's user ID. */
  readonly adminId: number;
  /** Member user IDs in ascending order (the last known list once left). */
  readonly members: readonly number[];
  /** Highest epoch with a key, or null before the first key arrives. */
  readonly epoch: number | null;
  /** False once the user left or was removed; history and keys are kept. */
  readonly isMember: boolean;
  /** When the user left, Unix milliseconds; null while a member. */
  readonly leftAt: number | null;
  /** Who ended the user's membership (the user, or the admin); null if not known. */
  readonly leftBy: number | null;
  /** How the membership ended; null while a member, or if not known. */
  readonly leftHow: GroupLeaving | null;
  /** Last change to name, admin, members or membership, Unix milliseconds. */
  readonly updatedAt: number;
}

/** How a membership ended: the user left, the admin removed them, or deleted the group. */
export type GroupLeaving = "left" | "removed" | "deleted";

/** Who ended a membership, and how (see `Keystore.removeGroup`). */
export interface GroupLeavingInput {
  /** Who ended the membership: the user (left), or the admin (removed, deleted). */
  readonly by: number;
  /** How it ended. */
  readonly how: GroupLeaving;
}

/**
 * A group someone who is not a contact put the user in: its messages are stored but not
 * shown until the user accepts (or leaves it).
 */
export interface GroupInviteRecord {
  /** The group's ID. */
  readonly groupId: number;
  /** The group's name. */
  readonly name: string;
  /** Who added the user. */
  readonly byId: number;
  /** Their username. */
  readonly byName: string;
  /** When the user was added, Unix milliseconds. */
  readonly invitedAt: number;
}

/** Options of `Keystore.groups` and `Keystore.groupsByName`. */
export interface GroupListOptions {
  /** Include groups the user has left; default false. */
  readonly includeLeft?: boolean;
}

/** A group key of one epoch, decrypted. */
export interface GroupKeyRecord {
  /** The epoch (0, 1, 2, ...). */
  readonly epoch: number;
  /** The Fernet key. */
  readonly key: string;
}

/** Whether a message was sent or received by this user. */
export type MessageDirection = "in" | "out";

/** A conversation is with one user (`direct`) or a group. */
export type ConversationKind = "direct" | "group";

/**
 * State of an outgoing message: `queued` (typed, not yet accepted by a server), `accepted`
 * (durable on the server), `delivered` (a recipient acknowledged it), `failed` (refused).
 */
export type OutgoingState = "queued" | "accepted" | "delivered" | "failed";

/** File details of a file message. */
export interface FileMeta {
  /** File name as shown (no directory). */
  readonly name: string;
  /** Where the file is saved locally, or null if not saved (yet). */
  readonly path: string | null;
  /** Size in bytes. */
  readonly size: number;
  /** SHA-256 of the content, 64 lowercase hex digits. */
  readonly sha256: string;
}

/** A message the user typed, before it is sent. */
export interface OutgoingMessageInput {
  /** This client's ID for the message, unique (the protocol's `client_msg_id`). */
  readonly clientMsgId: string;
  /** Direct or group. */
  readonly kind: ConversationKind;
  /** The recipient's user ID (direct) or the group ID. */
  readonly peerId: number;
  /** The plaintext (may be empty for a file). */
  readonly text: string;
  /** File details for a file message. */
  readonly file?: FileMeta | null;
  /** When it was typed, Unix milliseconds; default now. */
  readonly sentAt?: number;
}

/** A message received and decrypted. */
export interface IncomingMessageInput {
  /** The server's message ID. */
  readonly msgId: number;
  /** The sender's client message ID, if the server passed one. */
  readonly clientMsgId: string | null;
  /** Direct or group. */
  readonly kind: ConversationKind;
  /** The sender's user ID (direct; must equal `senderId`) or the group ID. */
  readonly peerId: number;
  /** The sender's user ID. */
  readonly senderId: number;
  /** The plaintext. */
  readonly text: string;
  /** File details for a file message. */
  readonly file?: FileMeta | null;
  /** When the server accepted it, Unix milliseconds (the frame's `sent_at`). */
  readonly sentAt: number;
  /** When it arrived here, Unix milliseconds; default now. */
  readonly receivedAt?: number;
}

/** A stored message, decrypted. */
export interface MessageRecord {
  /** Local row ID, increasing in the order messages were stored. */
  readonly id: number;
  /** The server's message ID; null until an outgoing message is accepted. */
  readonly msgId: number | null;
  /** The sender's client message ID; always set for outgoing messages. */
  readonly clientMsgId: string | null;
  /** In or out. */
  readonly direction: MessageDirection;
  /** Direct or group. */
  readonly kind: ConversationKind;
  /** The other user (direct) or the group. */
  readonly peerId: number;
  /** Who sent it (this user for outgoing messages). */
  readonly senderId: number;
  /** The plaintext. */
  readonly text: string;
  /** File details, or null for a text message. */
  readonly file: FileMeta | null;
  /** Typed (outgoing) or accepted by the server (incoming), Unix milliseconds. */
  readonly sentAt: number;
  /** When an incoming message arrived; null for outgoing ones. */
  readonly receivedAt: number | null;
  /** State of an outgoing message; null for incoming ones. */
  readonly state: OutgoingState | null;
}
