/**
 * The consent rules, as pure decisions: whose incoming messages are opened, kept as a
 * request until the user decides, or dropped; which received files are saved. The I/O
 * that applies them is `consent.ts`'s.
 *
 * A contact is someone the user chose to talk to (`add_friend`, a message or file sent to
 * them, `accept`). Anyone else who sends a direct message or offers a friend key is asking
 * to talk: what they send is kept, unread by the rest of the engine, until the user
 * accepts or blocks them. Being put in a group is consent's business too: by a contact, the
 * user is told who did it; by anyone else, it is a request (the group's messages are kept
 * unseen until the user accepts, or leaves); by a blocked user, the group is left at once.
 * Traffic in a group the user accepted is not screened: the group is shared already.
 *
 * @module
 */

/** How big a received file may be unless the user sets a limit (`file_limit`): 25 MiB. */
export const DEFAULT_FILE_LIMIT_BYTES = 25 * 1024 * 1024;

/**
 * Most messages kept for one request; later ones are dropped unseen, so a stranger cannot
 * fill the user's disk before the user decides.
 */
export const MAX_REQUEST_MESSAGES = 50;

/** Where the user's file limit is kept among the keystore's settings. */
export const FILE_LIMIT_SETTING = "file_limit_bytes";

/** What becomes of an incoming message: opened as usual, kept as a request, or dropped. */
export type Screening = "open" | "request" | "drop";

/** What the rules know about an incoming message and its sender. */
export interface ScreeningFacts {
  /** The envelope's type (`friend_key`, `dm`, `group_key`, `gm`), or null if unreadable. */
  readonly envelopeType: string | null;
  /** The sender is a contact. */
  readonly contact: boolean;
  /** The user blocked the sender. */
  readonly blocked: boolean;
}

/**
 * Screens an incoming message before it is opened. A group key is always opened (the key
 * rules decide: only the group's admin makes keys, even one the user blocked, so the rest
 * of the group stays readable). Anything else from a blocked user is dropped without a
 * word. A friend key or a direct message from someone who is not a contact is a request.
 * Group messages are opened. What the rules do not know is opened, and refused there.
 */
export function screenMessage(facts: ScreeningFacts): Screening {
  if (facts.envelopeType === "group_key") return "open";
  if (facts.blocked) return "drop";
  if (facts.envelopeType === "friend_key" || facts.envelopeType === "dm") {
    return facts.contact ? "open" : "request";
  }
  return "open";
}

/** What becomes of being put in a group: nothing to decide, told, a request, or left. */
export type GroupJoining = "none" | "told" | "request" | "leave";

/** What the rules know about a group event and whoever caused it. */
export interface GroupJoinFacts {
  /** The user's own ID. */
  readonly myId: number;
  /** The event's change (`created`, `added`, ...). */
  readonly change: string;
  /** The event's `user_id`: the member it is about (the creator, for `created`). */
  readonly userId: number;
  /** The event's `by`: who made the change. */
  readonly by: number;
  /** `by` is a contact of the user. */
  readonly contact: boolean;
  /** The user blocked `by`. */
  readonly blocked: boolean;
}

/**
 * Screens a group event: whether it put the user in a group (someone created one with
 * them in it, or added them), and if so what follows. Added by a contact, the user is told
 * who did it; by a blocked user, the group is left without a word; by anyone else, it is a
 * request, as their direct message would be.
 */
export function screenGroupJoin(facts: GroupJoinFacts): GroupJoining {
  if (facts.by === facts.myId) return "none";
  const addedMe = facts.change === "created" ||
    (facts.change === "added" && facts.userId === facts.myId);
  if (!addedMe) return "none";
  if (facts.blocked) return "leave";
  return facts.contact ? "told" : "request";
}

/** Why a received file is not saved. */
export type FileRefusal = "not_contact" | "too_large";

/**
 * Why a received file must not be saved, or null to save it: files are taken only from
 * contacts (in a group too: being put in a group with someone is not consent to their
 * files), and only up to the user's limit.
 */
export function fileRefusal(
  file: { readonly size: number },
  sender: { readonly contact: boolean },
  limitBytes: number,
): FileRefusal | null {
  if (!sender.contact) return "not_contact";
  if (file.size > limitBytes) return "too_large";
  return null;
}

/**
 * The user's file limit from its stored setting: the default when it is missing or
 * malformed (a damaged setting must not open the door to any size).
 */
export function fileLimitFrom(setting: string | null): number {
  if (setting === null || !/^[0-9]{1,15}$/.test(setting)) return DEFAULT_FILE_LIMIT_BYTES;
  return Number(setting);
}

/** Whether a request holding `kept` messages may keep one more. */
export function requestHasRoom(kept: number): boolean {
  return kept < MAX_REQUEST_MESSAGES;
}
