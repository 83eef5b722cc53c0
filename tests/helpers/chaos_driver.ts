/**
 * A load driver for failure tests, run as its own process (inside the clients' network
 * namespace in the multi-host test). It plays many users that each send on their own
 * schedule, reconnect through the balancers when their server stops answering, resend what
 * was not accepted (same client message ID), and record everything, so the test can check
 * that nothing accepted was lost or duplicated and that healthy servers kept accepting.
 *
 * Protocol: one JSON command per line on stdin, one JSON event per line on stdout.
 * - `{"op":"setup","balancers":[URL...],"users":N,"group":K}` registers users user0..userN-1
 *   (and a group of the first K users when K > 1); answers `{"ev":"ready","users":[...]}`.
 * - `{"op":"load","perUserPerSecond":R}` starts sending: 80 % direct messages to a random
 *   other user, 20 % to the group for its members; answers `{"ev":"loading"}`.
 * - `{"op":"stop","drainMs":MS}` stops sending, waits (at most MS) until every accepted
 *   message reached every recipient, and answers `{"ev":"report",...}` (see `_report`).
 * - `{"op":"servers"}` answers `{"ev":"servers","users":{name: serverId}}`.
 * - `{"op":"wait_mesh","health":[URL...],"links":L}` waits until every `/healthz` answers
 *   with `peer_links` L; answers `{"ev":"mesh"}`.
 * - `{"op":"mark"}` answers `{"ev":"mark","second":S}`: the driver's clock, in the seconds
 *   its per-second counts use.
 *
 * @module
 */

import { connectViaBalancer } from "../../core/client/transport/assign.ts";
import type { ProtocolClient } from "../../core/client/transport/protocol_client.ts";
import { randomBytes, toBase64Url } from "../../core/crypto/bytes.ts";
import type { MessageFrame } from "../../core/protocol/mod.ts";

const _RSA = await Deno.readTextFile(
  new URL("../testdata/rsa/rsa2048_spki_public.pem", import.meta.url),
);
/** A send not accepted within this long means the server is gone: reconnect elsewhere. */
const _SEND_TIMEOUT_MS = 3_000;
const _PASSWORD = "correct horse 1";

interface _Sent {
  readonly cmid: string;
  readonly to: number | null;
  readonly group: number | null;
  readonly recipients: readonly number[];
  msgId: number | null;
}

class _User {
  readonly name: string;
  id = 0;
  token = "";
  server = 0;
  client: ProtocolClient | null = null;
  /** Message IDs received, across every connection (the application's de-duplication). */
  readonly seen = new Set<number>();
  /** Raw receptions of a message ID already seen (at-least-once on the wire). */
  wireRepeats = 0;
  /** Receipts (`delivered`) for this user's messages. */
  receipts = 0;
  readonly sent = new Map<string, _Sent>();
  /** msg_id per client message ID, for every acceptance (a duplicate shows as a second). */
  readonly acceptedIds = new Map<string, Set<number>>();
  reconnects = 0;
  #connecting: Promise<void> | null = null;
  #next = 0;

  constructor(name: string) {
    this.name = name;
  }

  nextCmid(): string {
    return `${this.name}-${this.#next++}`;
  }

  /** Connects (or reconnects) through the balancers, logs in, and resends what is pending. */
  connect(balancers: string[], fresh: boolean): Promise<void> {
    this.#connecting ??= (async () => {
      try {
        const old = this.client;
        this.client = null;
        old?.close().catch(() => {});
        const { client, assignment } = await connectViaBalancer(balancers, {
          timeoutMs: 60_000,
          seen: this.seen,
          requestTimeoutMs: _SEND_TIMEOUT_MS,
        });
        client.onFrame = (f) => {
          if (f.type === "message" && this.seen.has(f.msg_id)) this.wireRepeats++;
        };
        client.onMessage = (_m: MessageFrame) => {};
        client.onDelivered = () => this.receipts++;
        client.onClose = () => {
          if (this.client === client) void this.connect(balancers, false).catch(() => {});
        };
        if (fresh) {
          const reg = await client.register(
            this.name,
            _PASSWORD,
            _RSA,
            toBase64Url(randomBytes(32), false),
          );
          this.id = reg.user_id;
          this.token = reg.session_token;
        } else {
          await client.resume(this.token);
          this.reconnects++;
        }
        this.server = assignment.id;
        this.client = client;
        for (const s of this.sent.values()) if (s.msgId === null) void this.deliver(s, balancers);
      } finally {
        this.#connecting = null;
      }
    })();
    return this.#connecting;
  }

  /** Sends (or resends) one message until it is accepted. */
  async deliver(s: _Sent, balancers: string[]): Promise<number | null> {
    const client = this.client;
    if (client === null || s.msgId !== null) return null;
    try {
      const a = s.group !== null
        ? await client.groupSend(s.group, `ct-${s.cmid}`, s.cmid)
        : await client.send(s.to!, `ct-${s.cmid}`, s.cmid);
      s.msgId = a.msg_id;
      let ids = this.acceptedIds.get(s.cmid);
      if (ids === undefined) this.acceptedIds.set(s.cmid, ids = new Set());
      ids.add(a.msg_id);
      return this.server;
    } catch {
      // No answer: this server is gone or hung. Reconnect elsewhere; the resend follows.
      if (this.client === client) void this.connect(balancers, false).catch(() => {});
      return null;
    }
  }
}

/** Runs the driver on stdin/stdout. */
async function _main(): Promise<void> {
  const out = (ev: Record<string, unknown>) => console.log(JSON.stringify(ev));
  const users: _User[] = [];
  let balancers: string[] = [];
  let groupId: number | null = null;
  let groupMembers: number[] = [];
  const t0 = performance.now();
  /** Accepted messages per second since start, overall and by the sender's server. */
  const perSecond = new Map<number, number>();
  const perServerSecond = new Map<string, number>();
  let loading = false;
  const loops: Promise<void>[] = [];

  const lines = Deno.stdin.readable.pipeThrough(new TextDecoderStream());
  let buffer = "";
  for await (const chunk of lines) {
    buffer += chunk;
    let nl;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, nl).trim();
      buffer = buffer.slice(nl + 1);
      if (line === "") continue;
      const cmd = JSON.parse(line) as Record<string, unknown>;
      switch (cmd.op) {
        case "setup": {
          balancers = cmd.balancers as string[];
          for (let i = 0; i < (cmd.users as number); i++) users.push(new _User(`user${i}`));
          for (const u of users) await u.connect(balancers, true);
          const k = (cmd.group as number) ?? 0;
          if (k > 1) {
            const g = await users[0]!.client!.request({
              type: "create_group",
              name: "chaos",
              members: users.slice(1, k).map((u) => u.id),
            });
            groupId = g.group.id;
            groupMembers = g.group.members;
          }
          out({
            ev: "ready",
            users: users.map((u) => ({ name: u.name, id: u.id, server: u.server })),
            group: groupId,
          });
          break;
        }
        case "wait_mesh": {
          for (const url of cmd.health as string[]) {
            const deadline = performance.now() + 30_000;
            for (;;) {
              try {
                const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
                const body = await res.json() as { peer_links?: number };
                if (res.ok && body.peer_links === cmd.links) break;
              } catch {
                // not up yet
              }
              if (performance.now() > deadline) throw new Error(`${url} never linked up`);
              await new Promise((r) => setTimeout(r, 100));
            }
          }
          out({ ev: "mesh" });
          break;
        }
        case "mark":
          out({ ev: "mark", second: Math.floor((performance.now() - t0) / 1000) });
          break;
        case "servers":
          out({ ev: "servers", users: Object.fromEntries(users.map((u) => [u.name, u.server])) });
          break;
        case "load": {
          loading = true;
          const interval = 1000 / (cmd.perUserPerSecond as number);
          for (const [i, u] of users.entries()) {
            loops.push((async () => {
              await new Promise((r) => setTimeout(r, (interval * i) / users.length));
              for (let n = 0; loading; n++) {
                const toGroup = groupId !== null && groupMembers.includes(u.id) && n % 5 === 4;
                let s: _Sent;
                if (toGroup) {
                  s = {
                    cmid: u.nextCmid(),
                    to: null,
                    group: groupId,
                    recipients: groupMembers.filter((m) => m !== u.id),
                    msgId: null,
                  };
                } else {
                  const others = users.filter((o) => o !== u);
                  const to = others[Math.floor(Math.random() * others.length)]!;
                  s = {
                    cmid: u.nextCmid(),
                    to: to.id,
                    group: null,
                    recipients: [to.id],
                    msgId: null,
                  };
                }
                u.sent.set(s.cmid, s);
                // Not awaited: a user stuck on a hung server blocks only its own messages.
                void u.deliver(s, balancers).then((server) => {
                  if (server === null) return;
                  const sec = Math.floor((performance.now() - t0) / 1000);
                  perSecond.set(sec, (perSecond.get(sec) ?? 0) + 1);
                  const key = `${server}:${sec}`;
                  perServerSecond.set(key, (perServerSecond.get(key) ?? 0) + 1);
                });
                await new Promise((r) => setTimeout(r, interval));
              }
            })());
          }
          out({ ev: "loading", at: Math.floor((performance.now() - t0) / 1000) });
          break;
        }
        case "stop": {
          loading = false;
          await Promise.all(loops);
          const deadline = performance.now() + (cmd.drainMs as number);
          const byId = new Map(users.map((u) => [u.id, u]));
          const missing = () => {
            const out: string[] = [];
            for (const u of users) {
              for (const s of u.sent.values()) {
                if (s.msgId === null) continue;
                for (const r of s.recipients) {
                  if (!byId.get(r)!.seen.has(s.msgId)) out.push(`${s.cmid}->${r}`);
                }
              }
            }
            return out;
          };
          while (performance.now() < deadline && (missing().length > 0 || _unaccepted(users) > 0)) {
            await new Promise((r) => setTimeout(r, 200));
          }
          out(_report(users, missing(), perSecond, perServerSecond));
          break;
        }
        case "quit":
          for (const u of users) await u.client?.close().catch(() => {});
          return;
        default:
          out({ ev: "error", message: `Unknown op ${String(cmd.op)}` });
      }
    }
  }
}

function _unaccepted(users: readonly _User[]): number {
  let n = 0;
  for (const u of users) for (const s of u.sent.values()) if (s.msgId === null) n++;
  return n;
}

/** What the test checks. */
function _report(
  users: readonly _User[],
  missing: readonly string[],
  perSecond: Map<number, number>,
  perServerSecond: Map<string, number>,
): Record<string, unknown> {
  let accepted = 0;
  const duplicates: string[] = [];
  for (const u of users) {
    for (const [cmid, ids] of u.acceptedIds) {
      accepted++;
      if (ids.size > 1) duplicates.push(`${cmid}: ${[...ids].join(", ")}`);
    }
  }
  return {
    ev: "report",
    accepted,
    unaccepted: _unaccepted(users),
    lost: missing,
    duplicates,
    wireRepeats: users.reduce((n, u) => n + u.wireRepeats, 0),
    receipts: users.reduce((n, u) => n + u.receipts, 0),
    reconnects: users.reduce((n, u) => n + u.reconnects, 0),
    perSecond: Object.fromEntries(perSecond),
    perServerSecond: Object.fromEntries(perServerSecond),
  };
}

if (import.meta.main) {
  try {
    await _main();
  } catch (err) {
    console.log(JSON.stringify({ ev: "fatal", message: (err as Error).stack ?? String(err) }));
    Deno.exit(1);
  }
}
