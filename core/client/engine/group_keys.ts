/**
 * Group keys: the admin makes a key per epoch and sends it to every member, wrapped for each
 * and signed; members keep every epoch's key (older ones read history). When the admin
 * rotates and what a membership change asks for are `key_rules.ts`'s decisions; this module
 * carries them out, one rotation at a time per group.
 *
 * @module
 */

import { generateFernetKey, importRsaPublicKey } from "../../crypto/mod.ts";
import type { LiveConnection } from "./connection.ts";
import { fernetKeyId, type OpenedGroupKey, sealGroupKey } from "../../e2e/mod.ts";
import { CLIENT_ERRORS, ClientError, isRetryable } from "./errors.ts";
import type { EventSink } from "./events.ts";
import type { Friends } from "./friends.ts";
import { groupKeyMessageId, type GroupKeyPlan, nextEpoch } from "./key_rules.ts";
import type { GroupRecord } from "../../keystore/keystore_types.ts";
import { userName } from "./lookup.ts";
import type { FriendsPort, GroupsPort } from "./ports.ts";
import type { Secrets } from "./secrets.ts";
import type { Tracker } from "./tracker.ts";

/** What {@linkcode GroupKeys} needs. */
export interface GroupKeysDeps {
  readonly ks: FriendsPort & GroupsPort;
  readonly friends: Pick<Friends, "pin">;
  readonly link: LiveConnection;
  readonly emit: EventSink;
  readonly secrets: Secrets;
  readonly tracker: Tracker;
}

/** Making, sending and keeping group keys. */
export class GroupKeys {
  readonly #d: GroupKeysDeps;
  /** Rotations per group, one at a time (a command and an event can both ask). */
  readonly #rotations = new Map<number, Promise<void>>();

  constructor(deps: GroupKeysDeps) {
    this.#d = deps;
  }

  /** Carries out the admin's plan after a membership change. */
  async apply(group: GroupRecord, plan: GroupKeyPlan): Promise<void> {
    switch (plan.action) {
      case "none":
        return;
      case "rotate":
        return await this.rotate(group, plan.onlyIfNone);
      case "send_current": {
        const current = this.#d.ks.currentGroupKey(group.groupId);
        if (current) await this.distribute(group, current.epoch, current.key, plan.to);
        else await this.rotate(group);
      }
    }
  }

  /**
   * Makes the next epoch's key and sends it to every member. With `onlyIfNone`, does nothing
   * when the group has a key already.
   */
  rotate(group: GroupRecord, onlyIfNone = false): Promise<void> {
    const ks = this.#d.ks;
    const previous = this.#rotations.get(group.groupId) ?? Promise.resolve();
    const next = previous.catch(() => {}).then(async () => {
      if (onlyIfNone && ks.currentGroupKey(group.groupId)) return;
      const epoch = nextEpoch(ks.currentGroupKey(group.groupId)?.epoch ?? null);
      const key = generateFernetKey();
      // Sent first, stored after: a failed send must not leave us on an epoch nobody has.
      await this.distribute(group, epoch, key, null);
      ks.addGroupKey(group.groupId, epoch, key);
    });
    this.#rotations.set(group.groupId, next);
    return next.finally(() => {
      if (this.#rotations.get(group.groupId) === next) this.#rotations.delete(group.groupId);
    });
  }

  /**
   * Sends the key of `epoch` to every member (`to` null) or to the members in `to`, but me.
   * A member who cannot be looked up, or whose keys changed, is skipped with an error event;
   * a lost connection stops it. Each send has its own client message ID (see
   * `groupKeyMessageId`): the server would take a second send under the first one's ID for
   * a resend, and deliver it to nobody.
   */
  async distribute(
    group: GroupRecord,
    epoch: number,
    key: string,
    to: readonly number[] | null,
  ): Promise<void> {
    const { ks, emit } = this.#d;
    const keys: Record<string, string> = {};
    for (const uid of to ?? group.members) {
      if (uid === ks.userId) continue;
      let f;
      try {
        f = await this.#d.friends.pin(uid);
      } catch (err) {
        if (!this.#d.link.connected || isRetryable(err)) throw err;
        emit({
          event: "error",
          message: `Not sending group ${group.name}'s key to #${uid}: ${(err as Error).message}`,
        });
        continue;
      }
      if (!ks.friendKeysUsable(uid)) {
        emit({
          event: "error",
          message: `Not sending group ${group.name}'s key to ${f.username}: their keys changed`,
        });
        continue;
      }
      keys[uid] = sealGroupKey({
        fromId: ks.userId,
        toId: uid,
        groupId: group.groupId,
        epoch,
        fernetKey: key,
        recipientRsaPublic: importRsaPublicKey(f.rsaPublicKey),
        senderIdentitySecret: this.#d.secrets.identitySecret,
      });
    }
    if (Object.keys(keys).length === 0) return;
    await this.#d.tracker.track(
      this.#d.link.live().request({
        type: "key",
        group_id: group.groupId,
        keys,
        client_msg_id: groupKeyMessageId(group.groupId, epoch, fernetKeyId(key), to),
      }),
    );
  }

  /** Keeps a key the admin `from` sent for `group` (already checked by the key rules). */
  receive(group: GroupRecord, from: number, opened: OpenedGroupKey): void {
    if (opened.groupId !== group.groupId) {
      throw new ClientError(CLIENT_ERRORS.badMessage, "Group key for another group");
    }
    this.#d.ks.addGroupKey(group.groupId, opened.epoch, opened.fernetKey);
    this.#d.emit({
      event: "group_key",
      group: group.groupId,
      epoch: opened.epoch,
      from,
      group_name: group.name,
      from_name: userName(this.#d.ks, from),
    });
  }
}
