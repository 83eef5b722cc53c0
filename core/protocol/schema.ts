/**
 * Field schemas for every frame type: what `decode` checks before any handler sees a frame.
 * Unknown fields are rejected too, so a typo never silently drops data.
 *
 * @module
 */

import { LIMITS } from "./limits.ts";
import type { ClientFrame, Direction, PeerFrame, ServerFrame } from "./frames.ts";

/** One field's rule. */
export type FieldRule =
  | { kind: "id"; optional?: boolean; zero?: boolean }
  | { kind: "int"; min: number; max: number; optional?: boolean }
  | { kind: "str"; min: number; max: number; pattern?: RegExp; optional?: boolean }
  | { kind: "ids"; min: number; max: number; optional?: boolean }
  | { kind: "bool"; optional?: boolean }
  | { kind: "null_or_id"; optional?: boolean }
  | { kind: "null_or_str"; max: number; optional?: boolean }
  | { kind: "bodies"; max: number; optional?: boolean }
  | { kind: "enum"; values: readonly string[]; optional?: boolean }
  | { kind: "groups"; optional?: boolean }
  | { kind: "group"; optional?: boolean }
  | { kind: "message"; optional?: boolean }
  | { kind: "peer_frames"; max: number; optional?: boolean }
  | { kind: "features"; max: number; pattern: RegExp; optional?: boolean }
  | { kind: "receipts"; max: number; optional?: boolean }
  | { kind: "contact_states"; max: number; optional?: boolean }
  | { kind: "strs"; max: number; maxChars: number; optional?: boolean };

/** A frame's fields (besides `type`), and which of a set is required (exactly one). */
export interface FrameSchema {
  fields: Record<string, FieldRule>;
  /** Exactly one of these fields must be present. */
  oneOf?: readonly (readonly string[])[];
  /** Each set's fields come together: one present means all present. */
  together?: readonly (readonly string[])[];
}

// ---- The table typed against the frame types ---------------------------------------
// A frame type and its schema are written apart; these types make `deno check` fail when a
// field is in one and not the other, or optional in one and required in the other.

/** Every key of any variant of `F`. */
type _KeysOf<F> = F extends unknown ? keyof F : never;
/** The keys present and required in every variant of `F`. */
type _RequiredKeys<F> = {
  [K in _KeysOf<F>]: [F] extends [unknown]
    ? (F extends unknown
      ? (K extends keyof F ? (Partial<Pick<F, K>> extends Pick<F, K> ? 0 : 1) : 0)
      : never) extends 1 ? K
    : never
    : never;
}[_KeysOf<F>];
/** A rule that says the field may be absent, or one that says it may not. */
type _Rule<Optional extends boolean> = Optional extends true
  ? FieldRule & { readonly optional: true }
  : FieldRule & { readonly optional?: false };
/** The schema a frame type `F` must have: exactly its fields, optional where `F` says. */
export type SchemaOf<F> = {
  readonly fields: {
    readonly [K in Exclude<_KeysOf<F>, "type">]: K extends _RequiredKeys<F> ? _Rule<false>
      : _Rule<true>;
  };
  readonly oneOf?: readonly (readonly Exclude<_KeysOf<F>, "type">[])[];
  readonly together?: readonly (readonly Exclude<_KeysOf<F>, "type">[])[];
};
/** One schema per frame type of the union `U`, and no other. */
type _Table<U extends { type: string }> = {
  readonly [T in U["type"]]: SchemaOf<Extract<U, { type: T }>>;
};

const _ref = { kind: "int", min: 0, max: LIMITS.refMax } as const satisfies FieldRule;
const _id = { kind: "id" } as const satisfies FieldRule;
const _body = { kind: "str", min: 1, max: LIMITS.bodyChars } as const satisfies FieldRule;
const _clientMsgId = {
  kind: "str",
  min: 1,
  max: 64,
  pattern: LIMITS.clientMsgIdPattern,
} as const satisfies FieldRule;
const _username = {
  kind: "str",
  min: 3,
  max: 32,
  pattern: LIMITS.usernamePattern,
} as const satisfies FieldRule;
const _password = { kind: "str", min: 1, max: LIMITS.passwordMax } as const satisfies FieldRule;
const _token = {
  kind: "str",
  min: 43,
  max: 43,
  pattern: LIMITS.sessionTokenPattern,
} as const satisfies FieldRule;
const _kind = {
  kind: "enum",
  values: ["direct", "group", "key", "group_event"],
} as const satisfies FieldRule;
const _nonce = _token;
const _slot = {
  kind: "str",
  min: 4,
  max: 4,
  pattern: LIMITS.linkSlotPattern,
} as const satisfies FieldRule;
const _version = { kind: "int", min: 1, max: Number.MAX_SAFE_INTEGER } as const satisfies FieldRule;
const _signature = {
  kind: "str",
  min: 86,
  max: 86,
  pattern: /^[A-Za-z0-9_-]{86}$/,
} as const satisfies FieldRule;
const _features = {
  kind: "features",
  max: LIMITS.features,
  pattern: LIMITS.featurePattern,
  optional: true,
} as const satisfies FieldRule;

/** Schemas by direction and frame type, checked against the frame types. */
const _SCHEMAS = {
  client: {
    register: {
      fields: {
        ref: _ref,
        username: _username,
        password: { kind: "str", min: LIMITS.passwordMin, max: LIMITS.passwordMax },
        rsa_public_key: { kind: "str", min: 1, max: LIMITS.publicKeyChars },
        identity_key: { kind: "str", min: 43, max: 44, pattern: /^[A-Za-z0-9_-]{43}=?$/ },
        features: _features,
      },
    },
    login: {
      fields: {
        ref: _ref,
        user_id: { kind: "id", optional: true },
        username: { kind: "str", min: 1, max: 32, optional: true },
        password: _password,
        features: _features,
      },
      oneOf: [["user_id", "username"]],
    },
    resume: { fields: { ref: _ref, session_token: _token, features: _features } },
    logout: { fields: { ref: _ref } },
    lookup: {
      fields: {
        ref: _ref,
        user_id: { kind: "id", optional: true },
        username: { kind: "str", min: 1, max: 32, optional: true },
      },
      oneOf: [["user_id", "username"]],
    },
    single_message: { fields: { ref: _ref, client_msg_id: _clientMsgId, to: _id, body: _body } },
    group_message: {
      fields: { ref: _ref, client_msg_id: _clientMsgId, group_id: _id, body: _body },
    },
    key: {
      fields: {
        ref: _ref,
        client_msg_id: _clientMsgId,
        to: { kind: "id", optional: true },
        body: { ..._body, optional: true },
        group_id: { kind: "id", optional: true },
        keys: { kind: "bodies", max: LIMITS.groupMembers, optional: true },
      },
      oneOf: [["to", "group_id"]],
      together: [["to", "body"], ["group_id", "keys"]],
    },
    ack: {
      fields: {
        ref: { ..._ref, optional: true },
        ids: { kind: "ids", min: 1, max: LIMITS.ackIds },
      },
    },
    create_group: {
      fields: {
        ref: _ref,
        name: { kind: "str", min: LIMITS.groupNameMin, max: LIMITS.groupNameMax },
        members: { kind: "ids", min: 0, max: LIMITS.groupMembers - 1 },
      },
    },
    add_member: { fields: { ref: _ref, group_id: _id, user_id: _id } },
    remove_member: { fields: { ref: _ref, group_id: _id, user_id: _id } },
    leave_group: { fields: { ref: _ref, group_id: _id } },
    transfer_group: { fields: { ref: _ref, group_id: _id, user_id: _id } },
    delete_group: { fields: { ref: _ref, group_id: _id } },
    list_groups: { fields: { ref: _ref } },
    group_info: { fields: { ref: _ref, group_id: _id } },
    contacts: {
      fields: { ref: _ref, users: { kind: "contact_states", max: LIMITS.contactsPerFrame } },
    },
    ping: { fields: { ref: _ref } },
    device_lists: { fields: { ref: _ref, user_id: _id, from_version: _version } },
    publish_device_list: {
      fields: { ref: _ref, list: { kind: "str", min: 1, max: LIMITS.deviceListChars } },
    },
    device_challenge: { fields: { ref: _ref } },
    login_device: {
      fields: {
        ref: _ref,
        user_id: _id,
        device_id: _id,
        signature: _signature,
        features: _features,
      },
    },
    link_open: {
      fields: {
        ref: _ref,
        slot: _slot,
        offer: { kind: "str", min: 1, max: LIMITS.linkOfferChars },
      },
    },
    link_read: {
      fields: { ref: _ref, slot: _slot, from: { kind: "int", min: 0, max: LIMITS.linkSteps } },
    },
    link_write: {
      fields: {
        ref: _ref,
        slot: _slot,
        step: { kind: "int", min: 1, max: LIMITS.linkSteps - 1 },
        value: { kind: "str", min: 1, max: LIMITS.linkStepChars },
      },
    },
    link_cancel: { fields: { ref: _ref, slot: _slot } },
    publish_prekeys: {
      fields: {
        ref: _ref,
        bundle: { kind: "str", min: 1, max: LIMITS.prekeyBundleChars },
        one_time: {
          kind: "strs",
          max: LIMITS.prekeysPerFrame,
          maxChars: LIMITS.oneTimePrekeyChars,
        },
        replace: { kind: "bool" },
      },
    },
    fetch_prekeys: { fields: { ref: _ref, user_id: _id, device_id: _id } },
  },
  server: {
    welcome: {
      fields: { server_id: _id, version: { kind: "str", min: 1, max: 64 } },
    },
    registered: {
      fields: {
        ref: _ref,
        user_id: _id,
        username: _username,
        session_token: _token,
        features: _features,
      },
    },
    logged_in: {
      fields: {
        ref: _ref,
        user_id: _id,
        username: _username,
        session_token: _token,
        features: _features,
      },
    },
    user: {
      fields: {
        ref: _ref,
        user_id: _id,
        username: _username,
        rsa_public_key: { kind: "str", min: 1, max: LIMITS.publicKeyChars },
        identity_key: { kind: "str", min: 43, max: 44 },
        online: { kind: "bool", optional: true },
      },
    },
    accepted: {
      fields: {
        ref: _ref,
        client_msg_id: _clientMsgId,
        msg_id: _id,
        duplicate: { kind: "bool" },
        full_recipients: { kind: "ids", min: 1, max: LIMITS.groupMembers, optional: true },
      },
    },
    message: {
      fields: {
        msg_id: _id,
        kind: _kind,
        from: { kind: "id", zero: true },
        group_id: { kind: "null_or_id" },
        // Empty only for a group key message, whose recipients each get their own body.
        body: { kind: "str", min: 0, max: LIMITS.bodyChars },
        sent_at: { kind: "int", min: 0, max: Number.MAX_SAFE_INTEGER },
        client_msg_id: { kind: "null_or_str", max: 64 },
      },
    },
    delivered: {
      fields: { msg_id: _id, client_msg_id: { kind: "null_or_str", max: 64 }, to: _id },
    },
    receipts: { fields: { items: { kind: "receipts", max: LIMITS.receiptItems } } },
    synced: { fields: { pending: { kind: "int", min: 0, max: Number.MAX_SAFE_INTEGER } } },
    group: { fields: { ref: _ref, group: { kind: "group" } } },
    groups: { fields: { ref: _ref, groups: { kind: "groups" } } },
    ok: { fields: { ref: _ref } },
    pong: { fields: { ref: _ref, server_id: _id } },
    error: {
      fields: {
        ref: { ..._ref, optional: true },
        code: { kind: "str", min: 1, max: 64 },
        message: { kind: "str", min: 0, max: 1024 },
        retry_after_ms: { kind: "int", min: 0, max: LIMITS.retryAfterMaxMs, optional: true },
      },
    },
    device_chain: {
      fields: {
        ref: _ref,
        user_id: _id,
        lists: {
          kind: "strs",
          max: LIMITS.deviceListsPerFrame,
          maxChars: LIMITS.deviceListChars,
        },
        latest: { kind: "int", min: 0, max: Number.MAX_SAFE_INTEGER },
      },
    },
    device_list_stored: {
      fields: { ref: _ref, version: _version, session_token: { ..._token, optional: true } },
    },
    challenge: { fields: { ref: _ref, nonce: _nonce } },
    link_steps: {
      fields: {
        ref: _ref,
        slot: _slot,
        from: { kind: "int", min: 0, max: LIMITS.linkSteps },
        steps: { kind: "strs", max: LIMITS.linkSteps, maxChars: LIMITS.linkStepChars },
        total: { kind: "int", min: 1, max: LIMITS.linkSteps },
        expires_at: { kind: "int", min: 0, max: Number.MAX_SAFE_INTEGER },
      },
    },
    prekeys_stored: {
      fields: { ref: _ref, one_time: { kind: "int", min: 0, max: LIMITS.prekeysMax } },
    },
    prekeys: {
      fields: {
        ref: _ref,
        user_id: _id,
        device_id: _id,
        bundle: { kind: "str", min: 1, max: LIMITS.prekeyBundleChars },
        one_time: { kind: "null_or_str", max: LIMITS.oneTimePrekeyChars },
      },
    },
    prekeys_low: { fields: { remaining: { kind: "int", min: 0, max: LIMITS.prekeysMax } } },
  },
  peer: {
    peer_challenge: { fields: { server_id: _id, nonce: _nonce } },
    peer_auth: { fields: { server_id: _id, mac: _nonce, nonce: _nonce } },
    peer_ready: { fields: { mac: _nonce } },
    peer_deliver: {
      fields: {
        recipients: { kind: "ids", min: 1, max: LIMITS.groupMembers },
        message: { kind: "message" },
        bodies: { kind: "bodies", max: LIMITS.groupMembers, optional: true },
      },
    },
    peer_delivered: {
      fields: {
        sender_id: _id,
        msg_id: _id,
        client_msg_id: { kind: "null_or_str", max: 64 },
        to: _id,
      },
    },
    peer_presence: {
      fields: {
        reset: { kind: "bool" },
        online: { kind: "ids", min: 0, max: LIMITS.presenceIds },
        offline: { kind: "ids", min: 0, max: LIMITS.presenceIds },
        seq: { kind: "int", min: 1, max: Number.MAX_SAFE_INTEGER, optional: true },
      },
    },
    peer_presence_ack: { fields: { seq: { kind: "int", min: 1, max: Number.MAX_SAFE_INTEGER } } },
    peer_heartbeat: { fields: {} },
    peer_session_ended: { fields: { token_hash: _nonce } },
    peer_blocks: {
      fields: {
        user_id: _id,
        blocked: { kind: "ids", min: 0, max: LIMITS.contactsPerFrame },
        unblocked: { kind: "ids", min: 0, max: LIMITS.contactsPerFrame },
      },
    },
    peer_batch: { fields: { frames: { kind: "peer_frames", max: LIMITS.peerBatchFrames } } },
    error: {
      fields: {
        ref: { ..._ref, optional: true },
        code: { kind: "str", min: 1, max: 64 },
        message: { kind: "str", min: 0, max: 1024 },
      },
    },
  },
} satisfies {
  readonly client: _Table<ClientFrame>;
  readonly server: _Table<ServerFrame>;
  readonly peer: _Table<PeerFrame>;
};

/** Schemas by direction and frame type: what `decode` checks. */
export const SCHEMAS: Readonly<Record<Direction, Readonly<Record<string, FrameSchema>>>> = _SCHEMAS;

/** The frame types a `peer_batch` may carry. */
export const PEER_BATCHED_TYPES: readonly string[] = [
  "peer_deliver",
  "peer_delivered",
  "peer_presence",
  "peer_presence_ack",
  "peer_heartbeat",
  "peer_session_ended",
  "peer_blocks",
];
