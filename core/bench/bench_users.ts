/**
 * The benchmark's simulated users: each one connects THROUGH THE BALANCER (`GET /assign`,
 * then the assigned server's `/ws`) with the reference protocol client, registers
 * (`benchN`), and keeps its connection. Registration runs a bounded number at a time. Groups
 * for the group share of the mix are made here too, and the setup waits until every member
 * has its group's `created` event, so setup traffic is over before measuring starts.
 *
 * @module
 */

import { connectViaBalancer } from "../client/transport/assign.ts";
import type { ProtocolClient } from "../client/transport/protocol_client.ts";
import { randomBytes, toBase64Url } from "../crypto/mod.ts";
import type { ServerFrame } from "../protocol/mod.ts";
import { mapLimited, waitFor } from "./async_util.ts";
import { BENCH_RSA_PUBLIC_KEY } from "./bench_key.ts";

/** Registrations in flight at once. */
export const CONNECT_CONCURRENCY = 64;

/** The password of every benchmark user. */
const _PASSWORD = "fastchat-bench-password";

/** A connected, registered benchmark user. */
export interface BenchUser {
  /** Position in the user list (username `benchN`). */
  readonly index: number;
  readonly userId: number;
  /** The server the balancer assigned. */
  readonly serverId: number;
  /** The session it registered with: a generator process resumes it (`load_slice.ts`). */
  readonly sessionToken: string;
  readonly client: ProtocolClient;
  /** Every raw frame this user receives goes here; phases replace it. */
  onFrame: (f: ServerFrame) => void;
  /** The group this user sends group messages to; null if none. */
  groupId: number | null;
  /** Why the connection closed ("CODE reason"); null while it is open. */
  closed: string | null;
}

/** A group made for the benchmark. */
export interface BenchGroup {
  readonly id: number;
  /** Indices of the members in the user list (the admin first). */
  readonly members: readonly number[];
}

/**
 * Connects and registers `count` users named `${prefix}0` ... through the balancer,
 * {@linkcode CONNECT_CONCURRENCY} at a time; `onProgress` hears the running total.
 */
export function connectUsers(opts: {
  balancerUrl: string;
  count: number;
  signal: AbortSignal;
  prefix?: string;
  onProgress?: (done: number) => void;
}): Promise<BenchUser[]> {
  const prefix = opts.prefix ?? "bench";
  return _connectAll(opts, opts.count, async (client, index) => {
    try {
      return await client.register(
        `${prefix}${index}`,
        _PASSWORD,
        BENCH_RSA_PUBLIC_KEY,
        toBase64Url(randomBytes(32), false),
      );
    } catch (err) {
      throw new Error(`Registering ${prefix}${index} failed: ${(err as Error).message}`);
    }
  });
}

/**
 * Connects users registered before (by {@linkcode connectUsers}, in another process) again
 * through the balancer and resumes their sessions, {@linkcode CONNECT_CONCURRENCY} at a
 * time: `tokens[i]` is the session of the user at index `first + i`.
 */
export async function resumeUsers(opts: {
  balancerUrl: string;
  first: number;
  tokens: readonly string[];
  signal: AbortSignal;
  onProgress?: (done: number) => void;
}): Promise<BenchUser[]> {
  return await _connectAll(opts, opts.tokens.length, async (client, i) => {
    try {
      const r = await client.resume(opts.tokens[i]!);
      return { user_id: r.user_id, session_token: opts.tokens[i]! };
    } catch (err) {
      throw new Error(`Resuming user ${opts.first + i} failed: ${(err as Error).message}`);
    }
  }, opts.first);
}

/**
 * Connects `count` users through the balancer, each authenticated by `auth`; the user
 * authenticated as `i` gets the index `first + i` and position `i` in the list.
 */
async function _connectAll(
  opts: { balancerUrl: string; signal: AbortSignal; onProgress?: (done: number) => void },
  count: number,
  auth: (
    client: ProtocolClient,
    index: number,
  ) => Promise<{ user_id: number; session_token: string }>,
  first = 0,
): Promise<BenchUser[]> {
  const users: BenchUser[] = [];
  let done = 0;
  try {
    await mapLimited(
      Array.from({ length: count }, (_, i) => i),
      CONNECT_CONCURRENCY,
      opts.signal,
      async (index) => {
        const { client, assignment } = await connectViaBalancer(opts.balancerUrl, {
          timeoutMs: 30_000,
          signal: opts.signal,
          requestTimeoutMs: 60_000,
        });
        let user: BenchUser | null = null;
        client.onFrame = (f) => user?.onFrame(f);
        client.onClose = (code, reason) => {
          if (user && user.closed === null) user.closed = `${code} ${reason}`;
        };
        try {
          const reg = await auth(client, index);
          user = {
            index: first + index,
            userId: reg.user_id,
            serverId: assignment.id,
            sessionToken: reg.session_token,
            client,
            onFrame: () => {},
            groupId: null,
            closed: null,
          };
        } catch (err) {
          await client.close();
          throw err;
        }
        users[index] = user;
        done++;
        opts.onProgress?.(done);
      },
    );
  } catch (err) {
    await closeUsers(users.filter((u) => u !== undefined));
    throw err;
  }
  return users;
}

/**
 * How many groups `clients` users form with a target size of `groupSize`: as close to
 * `clients / groupSize` as possible, with every group of 2 to 256 members.
 */
export function groupCount(clients: number, groupSize: number): number {
  const target = Math.round(clients / groupSize);
  return Math.max(1, Math.min(Math.floor(clients / 2), Math.max(target, Math.ceil(clients / 256))));
}

/**
 * Splits the users into {@linkcode groupCount} groups (user i joins group i mod G), has
 * each group's first member create it, sets every user's `groupId`, and waits until every
 * member has received the group's `created` event.
 */
export async function createGroups(
  users: readonly BenchUser[],
  groupSize: number,
  signal: AbortSignal,
): Promise<BenchGroup[]> {
  const g = groupCount(users.length, groupSize);
  const memberLists: number[][] = Array.from({ length: g }, () => []);
  users.forEach((u) => memberLists[u.index % g]!.push(u.index));
  let events = 0;
  for (const u of users) {
    u.onFrame = (f) => {
      if (f.type === "message" && f.kind === "group_event") events++;
    };
  }
  const groups = await mapLimited(memberLists, CONNECT_CONCURRENCY, signal, async (members, i) => {
    const admin = users[members[0]!]!;
    const reply = await admin.client.request({
      type: "create_group",
      name: `bench-group-${i}`,
      members: members.slice(1).map((m) => users[m]!.userId),
    });
    for (const m of members) users[m]!.groupId = reply.group.id;
    return { id: reply.group.id, members };
  });
  const expected = users.length;
  if (!(await waitFor(() => events >= expected, 30_000, signal))) {
    throw new Error(
      `Only ${events} of ${expected} group "created" events arrived within 30 s`,
    );
  }
  for (const u of users) u.onFrame = () => {};
  return groups;
}

/** Closes every user's connection, waiting at most `timeoutMs` in total. */
export async function closeUsers(users: readonly BenchUser[], timeoutMs = 5_000): Promise<void> {
  for (const u of users) if (u.closed === null) u.closed = "closed by the benchmark";
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    Promise.allSettled(users.map((u) => u.client.close())),
    new Promise((r) => timer = setTimeout(r, timeoutMs)),
  ]);
  clearTimeout(timer);
}
