/**
 * The commands (`commands.ts` parses them) dispatched to the engine's parts that own their
 * rules: friends and their keys (`friends.ts`), requests (`consent.ts`, `group_consent.ts`),
 * groups (`group_admin.ts`), sending (`sender.ts`, `file_transfer.ts`) and the stored
 * messages (`stored_messages.ts`). A failure becomes an `error` event, never an exception.
 *
 * @module
 */

import type { ClientCommand } from "./commands.ts";
import { helpText } from "./commands.ts";
import type { Connection } from "./connection.ts";
import type { Consent } from "./consent.ts";
import type { Devices } from "./devices.ts";
import { errorCode } from "./errors.ts";
import type { EventSink } from "./events.ts";
import type { FileTransfer } from "./file_transfer.ts";
import type { Friends } from "./friends.ts";
import { GroupAdmin } from "./group_admin.ts";
import type { GroupConsent } from "./group_consent.ts";
import type { GroupKeys } from "./group_keys.ts";
import { maybeGroup } from "./lookup.ts";
import type { KeystorePort } from "./ports.ts";
import type { Sender } from "./sender.ts";
import { failedToResend, historyEvent } from "./stored_messages.ts";

/** What {@linkcode CommandRunner} needs. */
export interface CommandRunnerDeps {
  readonly ks: KeystorePort;
  readonly link: Pick<Connection, "connected" | "serverId" | "live" | "logout">;
  readonly devices: Pick<Devices, "list" | "unlink">;
  readonly friends: Friends;
  readonly groupKeys: GroupKeys;
  readonly sender: Sender;
  readonly files: FileTransfer;
  readonly consent: Consent;
  readonly groupConsent: GroupConsent;
  readonly emit: EventSink;
}

/** Runs commands. */
export class CommandRunner {
  readonly #d: CommandRunnerDeps;
  readonly #groups: GroupAdmin;

  constructor(deps: CommandRunnerDeps) {
    this.#d = deps;
    this.#groups = new GroupAdmin(deps);
  }

  /** Runs one command; errors become `error` events. */
  async run(cmd: ClientCommand): Promise<void> {
    try {
      await this.#run(cmd);
    } catch (err) {
      const code = errorCode(err);
      this.#d.emit({ event: "error", message: (err as Error).message, ...(code ? { code } : {}) });
    }
  }

  async #run(cmd: ClientCommand): Promise<void> {
    const { ks, link, friends, sender, consent, groupConsent, emit } = this.#d;
    const groups = this.#groups;
    switch (cmd.name) {
      case "help":
        return emit({ event: "help", text: helpText() });
      case "whoami":
        return emit({
          event: "whoami",
          user: ks.username,
          id: ks.userId,
          server: link.serverId,
          connected: link.connected,
        });
      case "quit":
        return;
      case "logout":
        return await link.logout();
      case "friends":
        return friends.list();
      case "devices":
        return await this.#d.devices.list();
      case "unlink":
        return await this.#d.devices.unlink(cmd.device);
      case "groups":
        return await groups.list();
      case "add_friend":
        await consent.contact(cmd.user);
        return await friends.add(cmd.user);
      case "single_message":
        await consent.contact(cmd.user);
        return await sender.sendDirect(await friends.ensure(cmd.user), cmd.text);
      case "group_message":
        return await sender.sendGroup(groups.writable(cmd.group), cmd.text);
      case "create_group":
        return await groups.create(cmd.group, cmd.users);
      case "add_member":
      case "remove_member":
      case "transfer_group":
        return await groups.change(cmd.name, cmd.group, cmd.user);
      case "delete_group":
        return await groups.delete(cmd.group);
      case "leave_group":
        return await groups.leave(cmd.group);
      case "send_file":
        return await this.#sendFile(cmd.target, cmd.path);
      case "history":
        return emit(historyEvent(ks, (id) => groupConsent.pending(id), cmd.target, cmd.count));
      case "resend":
        await sender.resend(failedToResend(ks, cmd));
        return;
      case "fingerprint":
        return await friends.fingerprint(cmd.user);
      case "accept_key":
        return await friends.acceptKey(cmd.user);
      case "verify":
        return await friends.verify(cmd.user);
      case "requests":
        return consent.list(groupConsent.list());
      case "accept": {
        const invite = groupConsent.acceptTarget(cmd.user);
        if (invite !== null) return groupConsent.accept(invite);
        return await consent.accept(cmd.user);
      }
      case "block":
        await consent.block(cmd.user);
        return await groupConsent.declineBlocked(cmd.user);
      case "unblock":
        return consent.unblock(cmd.user);
      case "file_limit":
        return consent.setFileLimit(cmd.bytes);
    }
  }

  /** A file to a group, or to a person (who becomes a contact, as by writing to them). */
  async #sendFile(target: string, path: string): Promise<void> {
    const { ks, friends, files, consent } = this.#d;
    const file = await files.read(path);
    const group = maybeGroup(ks, target);
    if (!group) await consent.contact(target);
    await files.send(
      file,
      path,
      group
        ? { group, label: group.name }
        : { friend: await friends.ensure(target), label: target },
    );
  }
}
