/**
 * The one error class of the end-to-end layer. Every failure to open something that came
 * from the network throws an {@linkcode E2eError} with a stable `code` from
 * {@linkcode E2E_ERRORS}, so the UI can branch on it ("cannot decrypt: you do not have the
 * key for epoch 3") without parsing messages. Bad arguments from our own code (a key of the
 * wrong type, a negative ID) are programming errors and throw `TypeError` / `RangeError`.
 *
 * @module
 */

/** Every {@linkcode E2eError} code, with what it means. */
export const E2E_ERRORS = {
  /** Not JSON, wrong shape, wrong version, unknown type, or a field out of its rules. */
  bad_envelope: "The envelope is malformed; the message says which part",
  /**
   * The sender's Ed25519 signature does not verify for this sender and recipient; or a device
   * list is not signed by a key allowed to sign it (the account key, or a device of the
   * version before).
   */
  bad_signature: "The signature does not verify for its signer (and recipient)",
  /** The recipient has no key with this key ID, or none for this group epoch. */
  no_key: "The recipient does not hold the key the message was encrypted with",
  /** A wrapped key does not unwrap, is not a Fernet key, or does not match its key ID. */
  bad_key: "The key is wrong: it does not unwrap or does not match its key ID",
  /** The signature is valid but the content does not decrypt or is not valid inside. */
  bad_content: "The signed content does not decrypt or does not parse",
  /** File chunks disagree with each other or the assembled file fails its checksum. */
  bad_file: "The file chunks are inconsistent or the file fails its checksum",
  /** What we are sealing does not fit in one message body (LIMITS.bodyChars). */
  too_large: "The envelope would be longer than a message body may be",
  /** A link code typed or pasted by a person is not 12 Crockford base32 characters. */
  bad_link_code: "The link code is not 12 letters and digits",
  /** Linking a device failed its key confirmation: the code did not match, or was tampered with. */
  link_failed: "The link code did not match on both devices",
  /** A linked device's hand-over does not open: a part is altered, missing, extra or reordered. */
  bad_handover: "The hand-over from the other device does not open",
  // Device lists (device_list.ts, docs/CRYPTO.md "The device list").
  /** A device list is malformed, or breaks a rule of the chain (a removed device back, a key changed). */
  bad_device_list: "The device list is malformed or breaks a rule of the chain",
  /** A device list is older than the newest version already checked for that user. */
  device_list_rollback: "The device list is older than the one already checked",
  /** Two different device lists claim the same version (or one does not follow its version). */
  device_list_fork: "Two different device lists claim the same version",
  /** Versions are missing between the known device list and the next one given. */
  device_list_gap: "Versions are missing between the known device list and the next",
  /** Adding a device would pass DEVICE_LIMIT. */
  too_many_devices: "The account already has as many devices as it may",
  /** Another device of the account already has this name. */
  device_name_taken: "Another device of the account already has this name",
  /** The change would remove the account's last device. */
  last_device: "An account keeps at least one device",
  // The Double Ratchet (double_ratchet.ts, docs/CRYPTO.md "Forward secrecy: the Double Ratchet").
  /** The message does not open with the key its header leads to: altered, forged, or another session's. */
  ratchet_bad_message: "The message does not decrypt with its chain's key",
  /** The message opens but was sealed with another header or associated data (e.g. `pn` altered). */
  ratchet_bad_header: "The message's header or associated data is not the one it was sealed with",
  /** The message's key is gone: it was already decrypted (a replay or duplicate), or dropped. */
  ratchet_replay: "The message was already decrypted, or its key is no longer held",
  /** Reading the message would skip more than MAX_SKIP message keys in one chain. */
  ratchet_too_many_skipped: "The message is too far ahead in its chain",
  /** This side cannot send yet: the responder sends only after the first message arrives. */
  ratchet_not_ready: "The session cannot send before it has received the first message",
  /** A stored ratchet state is malformed. */
  ratchet_bad_state: "The stored ratchet state is malformed",
  // Session handshakes (prekeys.ts, pqxdh.ts, docs/CRYPTO.md "Forward secrecy: the session handshake").
  /** A prekey bundle or prekey secrets are malformed, or a prekey signature does not verify. */
  bad_prekeys: "The prekey bundle is malformed or a prekey signature does not verify",
  /** An initial message names a one-time prekey that was already used (a replay) or retired. */
  prekey_used: "The one-time prekey was already used; the handshake is a replay",
  /** An initial message names a prekey this device never made. */
  unknown_prekey: "The handshake names a prekey this device does not know",
  /** An initial message is malformed, its identity key is not the sender's, or its RSA part does not open. */
  bad_handshake: "The session handshake is malformed or does not open",
  // Group sender keys (sender_keys.ts, docs/CRYPTO.md "Forward secrecy: group sender keys").
  /** A sender key distribution is malformed, or not for the group, user or device expected. */
  sender_key_bad_distribution: "The sender key distribution is malformed or not from its sender",
  /** A group message is under a sender key (or group) this device does not hold. */
  sender_key_unknown: "The message is under a sender key this device does not hold",
  /** A group message's signature does not verify under its sender key: altered or forged. */
  sender_key_bad_signature: "The message is not signed by its sender key",
  /** A group message is from before this device received the sender key (e.g. before it joined). */
  sender_key_too_old: "The message is from before this device received the sender key",
  /** A group message's key is gone: it was already decrypted (a replay or duplicate), or dropped. */
  sender_key_replay: "The message was already decrypted, or its key is no longer held",
  /** Reading the group message would skip more than SENDER_KEY_MAX_SKIP keys of its chain. */
  sender_key_too_far: "The message is too far ahead in its sender's chain",
  /** A group message is signed but does not decrypt with its chain's key. */
  sender_key_bad_message: "The message does not decrypt with its sender key",
  /** A stored sender key state is malformed. */
  sender_key_bad_state: "The stored sender key state is malformed",
} as const;

/** A stable code of {@linkcode E2eError}. */
export type E2eErrorCode = keyof typeof E2E_ERRORS;

/** An envelope or file chunk could not be opened; `code` says why (see {@linkcode E2E_ERRORS}). */
export class E2eError extends Error {
  /** Stable machine-readable code. */
  readonly code: E2eErrorCode;
  /** Values the UI may show, e.g. `{ epoch: 3 }` with `no_key`. */
  readonly details: Readonly<Record<string, string | number>>;
  /**
   * Makes an error with a stable code.
   *
   * @param code One of {@linkcode E2E_ERRORS}.
   * @param message A specific, sentence-case description.
   * @param details Values worth showing, e.g. the missing epoch.
   */
  constructor(
    code: E2eErrorCode,
    message: string,
    details: Readonly<Record<string, string | number>> = {},
  ) {
    super(message);
    this.name = "E2eError";
    this.code = code;
    this.details = details;
  }
}
