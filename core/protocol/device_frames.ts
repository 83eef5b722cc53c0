/**
 * Frames of linked devices (issue 21; docs/CRYPTO.md has the design, docs/PROTOCOL.md
 * "Devices" the rules): an account's signed device lists, logging in with a device's key,
 * and the link slots through which a new device and a logged-in one agree on a key.
 * `frames.ts` puts them in its unions; `schema.ts` checks them.
 *
 * @module
 */

// ---- Client to server -------------------------------------------------------------

/** Ask for part of a user's chain of device lists. */
export interface DeviceListsFrame {
  /** Frame type. */
  type: "device_lists";
  /** Client's request number; the answer carries it back. */
  ref: number;
  /** Whose lists. */
  user_id: number;
  /** The first version wanted (1 for the whole chain). */
  from_version: number;
}
/** Store the next version of the user's own device list (signed JSON text). */
export interface PublishDeviceListFrame {
  /** Frame type. */
  type: "publish_device_list";
  /** Client's request number; the answer carries it back. */
  ref: number;
  /** The signed list, as `core/e2e/device_list.ts` serializes it. */
  list: string;
}
/** Ask for a nonce to sign for `login_device`. */
export interface DeviceChallengeFrame {
  /** Frame type. */
  type: "device_challenge";
  /** Client's request number; the answer carries it back. */
  ref: number;
}
/** Log in as one device of an account, with a signature by its key over the nonce. */
export interface LoginDeviceFrame {
  /** Frame type. */
  type: "login_device";
  /** Client's request number; the answer carries it back. */
  ref: number;
  /** The account. */
  user_id: number;
  /** The device, as the account's current list names it. */
  device_id: number;
  /** Ed25519 signature (url-safe base64, 86 characters) of `deviceLoginBytes()`. */
  signature: string;
  /** Optional protocol features, as for `login`. */
  features?: string[];
}
/** A new device opens a link slot with its first message (no login needed). */
export interface LinkOpenFrame {
  /** Frame type. */
  type: "link_open";
  /** Client's request number; the answer carries it back. */
  ref: number;
  /** The slot's name: the link code's first 4 characters. */
  slot: string;
  /** The new device's offer (JSON text, opaque to the server). */
  offer: string;
}
/** Read a link slot's steps from index `from`. */
export interface LinkReadFrame {
  /** Frame type. */
  type: "link_read";
  /** Client's request number; the answer carries it back. */
  ref: number;
  /** The slot's name. */
  slot: string;
  /** The first step wanted (0 is the offer). */
  from: number;
}
/** Write a link slot's next step. */
export interface LinkWriteFrame {
  /** Frame type. */
  type: "link_write";
  /** Client's request number; the answer carries it back. */
  ref: number;
  /** The slot's name. */
  slot: string;
  /** The step's index: exactly the number of steps written so far. */
  step: number;
  /** The step (JSON text, opaque to the server). */
  value: string;
}
/** Give up a link: the slot is deleted (a wrong code burns it). */
export interface LinkCancelFrame {
  /** Frame type. */
  type: "link_cancel";
  /** Client's request number; the answer carries it back. */
  ref: number;
  /** The slot's name. */
  slot: string;
}

/** A device stores its prekeys (issue 22): its bundle and one-time prekeys to add. */
export interface PublishPrekeysFrame {
  /** Frame type. */
  type: "publish_prekeys";
  /** Client's request number; the answer carries it back. */
  ref: number;
  /** The device's prekey bundle (signed prekeys; JSON text, opaque to the server). */
  bundle: string;
  /** One-time prekeys to add (each opaque text), at most `LIMITS.prekeysPerFrame`. */
  one_time: string[];
  /** Drop the one-time prekeys stored before. */
  replace: boolean;
}
/** Ask for a device's prekeys, to start a session with it; takes one one-time prekey. */
export interface FetchPrekeysFrame {
  /** Frame type. */
  type: "fetch_prekeys";
  /** Client's request number; the answer carries it back. */
  ref: number;
  /** The device's account. */
  user_id: number;
  /** The device, as the account's newest list names it. */
  device_id: number;
}

/** Every client frame of linked devices. */
export type DeviceClientFrame =
  | DeviceListsFrame
  | PublishDeviceListFrame
  | DeviceChallengeFrame
  | LoginDeviceFrame
  | LinkOpenFrame
  | LinkReadFrame
  | LinkWriteFrame
  | LinkCancelFrame
  | PublishPrekeysFrame
  | FetchPrekeysFrame;

// ---- Server to client -------------------------------------------------------------

/** Part of a user's chain of device lists, oldest first. */
export interface DeviceChainFrame {
  /** Frame type. */
  type: "device_chain";
  /** The `ref` of the request this answers. */
  ref: number;
  /** Whose lists. */
  user_id: number;
  /** Signed lists from the version asked for, ascending; empty when there are none. */
  lists: string[];
  /** The newest version stored (0 when the user has no list): more to read when higher. */
  latest: number;
}
/** A device list was stored. */
export interface DeviceListStoredFrame {
  /** Frame type. */
  type: "device_list_stored";
  /** The `ref` of the request this answers. */
  ref: number;
  /** The version stored. */
  version: number;
  /**
   * With the first list only: a new session token bound to device 1, replacing the
   * connection's password session (every other password session of the account ends).
   */
  session_token?: string;
}
/** A nonce for `login_device`, valid on this connection only. */
export interface ChallengeFrame {
  /** Frame type. */
  type: "challenge";
  /** The `ref` of the request this answers. */
  ref: number;
  /** 32 random bytes, url-safe base64 without padding. */
  nonce: string;
}
/** A link slot's steps. */
export interface LinkStepsFrame {
  /** Frame type. */
  type: "link_steps";
  /** The `ref` of the request this answers. */
  ref: number;
  /** The slot's name. */
  slot: string;
  /** Index of the first step in `steps`. */
  from: number;
  /** Steps from `from` on, as many as fit in one frame (read again from the next). */
  steps: string[];
  /** How many steps the slot holds in all. */
  total: number;
  /** When the slot expires, Unix milliseconds. */
  expires_at: number;
}

/** Prekeys were stored. */
export interface PrekeysStoredFrame {
  /** Frame type. */
  type: "prekeys_stored";
  /** The `ref` of the request this answers. */
  ref: number;
  /** How many one-time prekeys the device now has on the server. */
  one_time: number;
}
/** A device's prekeys, for a session with it. */
export interface PrekeysFrame {
  /** Frame type. */
  type: "prekeys";
  /** The `ref` of the request this answers. */
  ref: number;
  /** The device's account. */
  user_id: number;
  /** The device. */
  device_id: number;
  /** Its prekey bundle, as it published it. */
  bundle: string;
  /** One of its one-time prekeys, now used up; null when none is left (use the bundle's last resort). */
  one_time: string | null;
}
/** The server tells a device that few one-time prekeys are left: publish more. */
export interface PrekeysLowFrame {
  /** Frame type. */
  type: "prekeys_low";
  /** How many are left. */
  remaining: number;
}

/** Every server frame of linked devices. */
export type DeviceServerFrame =
  | DeviceChainFrame
  | DeviceListStoredFrame
  | ChallengeFrame
  | LinkStepsFrame
  | PrekeysStoredFrame
  | PrekeysFrame
  | PrekeysLowFrame;
