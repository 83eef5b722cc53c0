/**
 * FastChat's end-to-end layer: seal and open the message bodies servers carry but cannot read.
 * Pure functions over keys and strings; no I/O, storage or sockets.
 *
 * Envelope format, version 1 (the `body` of a wire frame), one JSON object each:
 *
 * | `t`          | Fields                              | Carries                                 |
 * | ------------ | ----------------------------------- | --------------------------------------- |
 * | `friend_key` | `kid, wrapped, ts, sig`             | a friend's Fernet key, RSA-wrapped      |
 * | `dm`         | `kid, ct, sig`                      | a direct text or file chunk             |
 * | `group_key`  | `group, epoch, kid, wrapped, sig`   | a group epoch's Fernet key, RSA-wrapped |
 * | `gm`         | `group, epoch, kid, ct, sig`        | a group text or file chunk              |
 *
 * - `wrapped`: RSAES-OAEP with SHA-256 and MGF1-SHA-256 (RFC 8017 section 7.1) of the Fernet
 *   key's 44-character text, under the recipient's RSA key, with the label
 *   `"fastchat friend key"` or `"fastchat group key"` so one kind cannot pass for the other.
 * - `ct`: a Fernet token (the Fernet spec, github.com/fernet/spec) of the inner JSON
 *   (`e2e_content.ts`): `{ "text", "ts" }` or `{ "file", "data", "ts" }`.
 * - `kid`: url-safe base64 of the first 8 bytes of SHA-256(raw 32-byte Fernet key).
 * - `sig`: Ed25519 (RFC 8032) by the sender's identity key over
 *   `"fastchat-e2e-v1\n" + t + "\n" + fields, one per line`, in this order:
 *   - `friend_key`: from, to, kid, wrapped, ts
 *   - `dm`: from, to, kid, ct, client message ID
 *   - `group_key`: from, to, group, epoch, kid, wrapped
 *   - `gm`: from, group, epoch, kid, ct, client message ID
 *
 *   `from`, `to`, the group of a "gm" and the client message ID come from the routing
 *   context (the server-stamped sender, our own ID, the group the message arrived in, the
 *   message's client ID), never from the envelope, so a server or another member cannot
 *   re-address a message, re-attribute it, replay it into another group, or replay it as a
 *   new message: the signature would not verify (and a repeated client ID is dropped).
 *
 * Opening checks, in order: the arguments, the envelope's shape (`bad_envelope`), the
 * signature (`bad_signature`; also when a "gm" names another group than the one it arrived
 * in), before anything is decrypted; then the key (`no_key` when we do not hold it, `bad_key`
 * when it does not unwrap or match its ID), then the content (`bad_content`). Not handled
 * here: replays of the very same envelope to the same recipient (the client de-duplicates by
 * server message ID) and whether a group key's sender is the admin and its epoch new (the
 * caller knows the group).
 *
 * Files travel as one "dm" or "gm" per chunk: {@linkcode splitFile} cuts them,
 * {@linkcode FileAssembler} puts opened chunks back together and checks the SHA-256, and
 * {@linkcode safeFileName} cleans names. Device lists (which devices speak for an account,
 * docs/CRYPTO.md) are parsed, signed and checked in `device_list.ts`. Layout:
 * `e2e_envelope.ts` (format, parsing, signed bytes), `e2e_keys.ts`, `e2e_messages.ts`,
 * `e2e_content.ts` (inner JSON), `e2e_file.ts`, `e2e_errors.ts`, `device_list.ts`; this module
 * re-exports the public API.
 *
 * Linking a device (docs/CRYPTO.md): {@linkcode newLinkCode} and {@linkcode parseLinkCode} for
 * the 12-character code; {@linkcode startLink}, {@linkcode answerLink}, {@linkcode confirmLink},
 * {@linkcode checkConfirm}, {@linkcode sealHandover}, {@linkcode openHandover} for the CPace
 * exchange and the sealed hand-over (`link_code.ts`, `link_messages.ts`, `link_seal.ts`).
 *
 * Sessions between devices (docs/CRYPTO.md, "Forward secrecy: the session handshake"): prekey
 * bundles with {@linkcode makePrekeys}, {@linkcode parsePrekeyBundle} and
 * {@linkcode verifyPrekeyBundle} (`prekeys.ts`); the PQXDH handshake with the RSA secret mixed in,
 * {@linkcode initiateSession} and {@linkcode acceptSession} (`pqxdh.ts`).
 *
 * Group sender keys (docs/CRYPTO.md, "Forward secrecy: group sender keys"): one per member
 * device per group, {@linkcode newSenderKey} and {@linkcode acceptSenderKey} from its
 * distribution message, {@linkcode senderKeyEncrypt} and {@linkcode senderKeyDecrypt}, replaced
 * when {@linkcode senderKeyNeedsReplacing} says so (`sender_keys.ts`, `sender_key_state.ts`).
 *
 * Cost: a "dm" or "gm" is one Fernet operation plus one Ed25519 signature (about 0.25 ms) to
 * seal, or verification (about 0.5 ms) to open; RSA is only used for key envelopes.
 *
 * @example A direct message
 * ```ts
 * import { generateFernetKey, generateIdentityKeyPair } from "../crypto/mod.ts";
 * import { fernetKeyId, openDirect, sealDirect } from "./mod.ts";
 * const alice = generateIdentityKeyPair();
 * const key = generateFernetKey();
 * const body = sealDirect({
 *   fromId: 1, toId: 2, fernetKey: key, plaintext: "hi", senderIdentitySecret: alice.secretKey,
 * });
 * const opened = openDirect(body, {
 *   fromId: 1, toId: 2, senderIdentityPublic: alice.publicKey,
 *   keysByKid: (kid) => kid === fernetKeyId(key) ? key : undefined,
 * });
 * ```
 *
 * @module
 */

export type { RsaPrivateKey, RsaPublicKey } from "../crypto/rsa_types.ts";
export {
  FRIEND_KEY_LABEL,
  GROUP_KEY_LABEL,
  type OpenedFriendKey,
  type OpenedGroupKey,
  openFriendKey,
  type OpenFriendKeyContext,
  openGroupKey,
  type OpenGroupKeyContext,
  sealFriendKey,
  type SealFriendKeyOptions,
  sealGroupKey,
  type SealGroupKeyOptions,
} from "./e2e_keys.ts";
export {
  openDirect,
  type OpenDirectContext,
  type OpenedDirect,
  type OpenedGroup,
  openGroup,
  type OpenGroupContext,
  sealDirect,
  type SealDirectOptions,
  sealGroup,
  type SealGroupOptions,
} from "./e2e_messages.ts";
export { E2E_ERRORS, E2eError, type E2eErrorCode } from "./e2e_errors.ts";
export {
  checkDeviceListChain,
  checkDeviceListStep,
  DEVICE_LIMIT,
  DEVICE_LIST_FORMAT,
  DEVICE_LIST_MAX_CHARS,
  DEVICE_LIST_SIGNED_PREFIX,
  DEVICE_NAME_MAX,
  DEVICE_RSA_MIN_BITS,
  type DeviceChange,
  type DeviceEntry,
  type DeviceList,
  type DeviceListChainResult,
  deviceListHash,
  deviceListSignedBytes,
  type DeviceListSigner,
  type DeviceListStep,
  deviceNameProblem,
  findDevice,
  type FirstDeviceListOptions,
  type NewDevice,
  parseDeviceList,
  serializeDeviceList,
  signFirstDeviceList,
  signNextDeviceList,
  signRecoveryDeviceList,
} from "./device_list.ts";
export {
  type DirectEnvelope,
  E2E_VERSION,
  type Envelope,
  ENVELOPE_TYPES,
  type EnvelopeType,
  fernetKeyId,
  type FriendKeyEnvelope,
  type GroupEnvelope,
  type GroupKeyEnvelope,
  parseEnvelope,
  parseEnvelopeType,
} from "./e2e_envelope.ts";
export type { OpenedContent, OpenedFileChunk, OpenedText } from "./e2e_content.ts";
export {
  type AssembledFile,
  DEFAULT_CHUNK_SIZE,
  FileAssembler,
  type FileAssemblerOptions,
  type FileChunk,
  type FileMeta,
  type FileProgress,
  MAX_CHUNK_SIZE,
  MAX_FILE_NAME_BYTES,
  MAX_FILE_SIZE,
  MIN_CHUNK_SIZE,
  safeFileName,
  splitFile,
} from "./e2e_file.ts";
export {
  DEVICE_LOGIN_PREFIX,
  deviceLoginBytes,
  signDeviceLogin,
  verifyDeviceLogin,
} from "./device_login.ts";
export {
  LINK_CODE_ALPHABET,
  LINK_CODE_CHARS,
  LINK_SLOT_CHARS,
  type LinkCode,
  newLinkCode,
  parseLinkCode,
} from "./link_code.ts";
export {
  answerAssociatedData,
  LINK_NAME_MAX_CHARS,
  LINK_SID_BYTES,
  LINK_VERSION,
  type LinkAccount,
  type LinkAnswer,
  type LinkConfirm,
  type LinkDeviceKeys,
  linkDeviceKeysProblem,
  type LinkOffer,
  offerAssociatedData,
  parseLinkAnswer,
  parseLinkConfirm,
  parseLinkOffer,
} from "./link_messages.ts";
export {
  answerLink,
  checkConfirm,
  confirmLink,
  endLink,
  HANDOVER_MAX_BYTES,
  HANDOVER_MAX_PARTS,
  HANDOVER_PART_MAX_BYTES,
  LINK_CI,
  LINK_SEAL_INFO,
  type NewDeviceLinkState,
  type OldDeviceLinkState,
  openHandover,
  sealHandover,
  startLink,
} from "./link_seal.ts";
export {
  type AddedPrekeys,
  addOneTimePrekeys,
  identityKeyPair,
  isVerifiedBundle,
  joinBundleFromServer,
  type KemPrekeySecret,
  keyBytes,
  keyText,
  type MadePrekeys,
  makePrekeys,
  type MakePrekeysOptions,
  MAX_ONE_TIME_PREKEYS,
  type OneTimePrekey,
  oneTimePrekeyText,
  parsePrekeyBundle,
  parsePrekeySecrets,
  PREKEY_BUNDLE_MAX_CHARS,
  PREKEY_SECRETS_MAX_CHARS,
  PREKEY_SIGNED_PREFIX,
  type PrekeyBundle,
  type PrekeyKind,
  PREKEYS_VERSION,
  type PrekeySecrets,
  prekeySignedBytes,
  serializePrekeyBundle,
  serializePrekeySecrets,
  type ServerPrekeys,
  type SignedPrekey,
  splitBundleForServer,
  validPrekeySecrets,
  verifyPrekeyBundle,
  type X25519KeyPair,
  type X25519PrekeySecret,
} from "./prekeys.ts";
export {
  type AcceptedSession,
  acceptSession,
  type AcceptSessionOptions,
  type ClassicalInitiatorOptions,
  type ClassicalResponderOptions,
  classicalX3dhInitiator,
  classicalX3dhResponder,
  deriveSessionKey,
  encodeX25519PublicKey,
  INITIAL_MESSAGE_MAX_CHARS,
  type InitialMessage,
  type InitiatedSession,
  initiateSession,
  type InitiateSessionOptions,
  parseInitialMessage,
  PQXDH_INFO,
  PQXDH_RSA_LABEL,
  PQXDH_SECRET_BYTES,
  PQXDH_VERSION,
  type SenderDevice,
  serializeInitialMessage,
  sessionAssociatedData,
  type SessionIdentity,
  sessionIdentity,
  sessionIdsBytes,
  type SessionKeyParts,
  X25519_ENCODING_BYTE,
} from "./pqxdh.ts";
export {
  acceptSenderKey,
  endSenderKey,
  type ExpectedSender,
  type NewSenderKey,
  newSenderKey,
  type NewSenderKeyOptions,
  parseSenderKeyDistribution,
  parseSenderKeyMessage,
  parseSenderKeyState,
  SENDER_KEY_DISTRIBUTION_MAX_CHARS,
  SENDER_KEY_DISTRIBUTION_TYPE,
  SENDER_KEY_FERNET_INFO,
  SENDER_KEY_ID_BYTES,
  SENDER_KEY_LABEL,
  SENDER_KEY_MAX_AGE_MS,
  SENDER_KEY_MAX_ITERATION,
  SENDER_KEY_MAX_MESSAGES,
  SENDER_KEY_MAX_SKIP,
  SENDER_KEY_MAX_SKIPPED_KEYS,
  SENDER_KEY_MESSAGE_TYPE,
  SENDER_KEY_VERSION,
  senderKeyDecrypt,
  type SenderKeyDistribution,
  senderKeyDistribution,
  senderKeyEncrypt,
  type SenderKeyMessage,
  senderKeyNeedsReplacing,
  senderKeySignedBytes,
  type SenderKeyState,
  serializeSenderKeyState,
} from "./sender_keys.ts";
