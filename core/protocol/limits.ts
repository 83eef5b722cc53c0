/**
 * Protocol limits: constants, so clients, servers and docs agree on them.
 *
 * @module
 */

/** Protocol limits; see docs/PROTOCOL.md. */
export const LIMITS = {
  /** Largest WebSocket message accepted, in bytes; larger closes the connection (1009). */
  frameBytes: 256 * 1024,
  /**
   * Largest WebSocket message accepted before login, in bytes: `register` with the largest
   * key and password fits. Larger closes the connection (1009) before its payload is read.
   */
  loginFrameBytes: 16 * 1024,
  /** A connection must be logged in this long after it opens, or it is closed (1008). */
  loginWithinMs: 10_000,
  /** Largest message body (ciphertext), in characters; files travel in chunks below this. */
  bodyChars: 192 * 1024,
  /** Most members in a group, admin included. */
  groupMembers: 256,
  /** Group name length bounds, in characters. */
  groupNameMin: 1,
  groupNameMax: 64,
  /** Usernames: 3 to 32 of letters, digits, `_`, `.`, `-`, starting with a letter or digit. */
  usernamePattern: /^[A-Za-z0-9][A-Za-z0-9_.-]{2,31}$/,
  /** Password length bounds, in characters. */
  passwordMin: 8,
  passwordMax: 1024,
  /** Client message IDs: 1 to 64 of letters, digits, `_`, `-`, `.`, `:`. */
  clientMsgIdPattern: /^[A-Za-z0-9_.:-]{1,64}$/,
  /** Largest PEM public key accepted, in characters (RSA-8192 SPKI is about 1.4 KB). */
  publicKeyChars: 4096,
  /** Session tokens: url-safe base64 of 32 bytes. */
  sessionTokenPattern: /^[A-Za-z0-9_-]{43}$/,
  /** Most message IDs in one ack. */
  ackIds: 1024,
  /** Most user IDs in each list of one `peer_presence` (longer rosters take several frames). */
  presenceIds: 4096,
  /** Most frames in one `peer_batch`. */
  peerBatchFrames: 1024,
  /**
   * Most receipts in one `receipts` frame (more are split over several, in order). 1,024
   * receipts of the longest kind take about 140 KB, well under `frameBytes`.
   */
  receiptItems: 1024,
  /** Most entries in a `features` list (`register`, `login`, `resume` and their answers). */
  features: 16,
  /** Feature names: 1 to 32 lower-case letters and `_` (known or not). */
  featurePattern: /^[a-z_]{1,32}$/,
  /** Most users named in one `contacts` frame (a longer list takes several frames). */
  contactsPerFrame: 256,
  /**
   * Most users one user may have as contacts or blocked, together, on the server; past it
   * a `contacts` frame that adds one is refused (`contacts_full`).
   */
  contactsMax: 10_000,
  /** Consecutive invalid frames tolerated before the connection is closed (1008). */
  invalidFrames: 10,
  /**
   * The default send rate of one user on one server: frames that store a message (sends,
   * keys, group changes) `sendBurst` at once, then one every `sendIntervalMs` (50 a second).
   * A server may be configured otherwise; a client that paces itself to this never meets
   * `rate_limited` from a server with the default.
   */
  sendBurst: 200,
  sendIntervalMs: 20,
  /** Longest wait an `error` frame's `retry_after_ms` may ask for, in milliseconds (1 hour). */
  retryAfterMaxMs: 3_600_000,
  /** Request correlation IDs are integers in [0, 2^31). */
  refMax: 2 ** 31 - 1,
  /** Most devices one account may have in its device list. */
  devices: 10,
  /** Longest signed device list, in characters of its JSON text. */
  deviceListChars: 16 * 1024,
  /** Most device lists in one `device_chain` answer (read on from the next version). */
  deviceListsPerFrame: 12,
  /** Link slot names: the link code's first 4 characters, Crockford base32. */
  linkSlotPattern: /^[0-9A-HJKMNP-TV-Z]{4}$/,
  /** Longest link offer (the new device's first message), in characters. */
  linkOfferChars: 8 * 1024,
  /** Longest link step, in characters (a sealed part of the hand-over). */
  linkStepChars: 160 * 1024,
  /** Most steps in one link slot (the offer, the answer, the confirmation, sealed parts). */
  linkSteps: 80,
  /** Most characters of steps in one `link_steps` answer (at least one step is sent). */
  linkStepsPerFrameChars: 192 * 1024,
  /** How long a link slot lives, in milliseconds. */
  linkTtlMs: 10 * 60_000,
  /** Longest prekey bundle, in characters. */
  prekeyBundleChars: 16 * 1024,
  /** Longest one-time prekey, in characters. */
  oneTimePrekeyChars: 4 * 1024,
  /** Most one-time prekeys in one `publish_prekeys`. */
  prekeysPerFrame: 100,
  /** Most one-time prekeys the server keeps for one device. */
  prekeysMax: 200,
  /** Fewer one-time prekeys than this left: the server sends the device `prekeys_low`. */
  prekeysLow: 10,
} as const;
