/**
 * The client engine: {@linkcode ChatClient} logs in through a `Dialer`, keeps the user's
 * keystore, encrypts end to end (`core/e2e/`), reconnects by itself, runs
 * {@linkcode ClientCommand}s and reports what happens as {@linkcode ClientEvent}s. One file
 * per concern: the connection and its send pacing (`connection.ts`, `send_pacer.ts`,
 * `sender.ts`), what arrives (`inbox.ts`, `incoming.ts`), friends and their keys
 * (`friends.ts`, `key_watch.ts`, `key_rules.ts`), groups (`group_admin.ts`, `group_keys.ts`,
 * `group_consent.ts`), who may reach the user (`consent.ts`, `consent_rules.ts`,
 * `contact_sync.ts`), files (`file_transfer.ts`), stored messages (`stored_messages.ts`),
 * and commands (`commands.ts` parses them, `command_runner.ts` dispatches them to those
 * parts). It reaches the world only through the ports of `ports.ts`, so it
 * uses no `Deno` and runs in a browser.
 *
 * @example Parse and run a command
 * ```ts ignore
 * import { ChatClient, parseCommand } from "./mod.ts";
 *
 * const client = new ChatClient(options); // ChatClientOptions: balancer, user, ports, emit
 * await client.start();
 * const cmd = parseCommand("add_friend bob");
 * if (cmd) await client.run(cmd);
 * ```
 *
 * @module
 */

export { ChatClient, type ChatClientOptions, type ShutOut } from "./chat_client.ts";
export type {
  AccountPort,
  ChatConnection,
  ConnectionHandlers,
  ConsentPort,
  DevicesPort,
  Dialer,
  DialOptions,
  FilePort,
  FriendsPort,
  GroupsPort,
  KeystoreOpener,
  KeystorePort,
  MessagesPort,
} from "./ports.ts";
export type { ClientEvent, EventSink, SentState } from "./events.ts";
export {
  type ClientCommand,
  COMMAND_SPECS,
  CommandError,
  type CommandSpec,
  helpText,
  parseCommand,
} from "./commands.ts";
export {
  CLIENT_ERRORS,
  ClientError,
  type ClientErrorCode,
  ConnectionClosedError,
  errorCode,
  isRetryable,
  RequestError,
  RequestTimeoutError,
} from "./errors.ts";

// The types this API names from the layers below: the transport's requests, the keystore's
// records, and the protocol's frames and error codes.
export type { RequestFrame, RequestReply } from "../transport/protocol_client.ts";
export type * from "../../keystore/mod.ts";
export type * from "../../protocol/mod.ts";

// The time and timers their options take (core/async).
export type { Clock, TimerHandle } from "../../async/clock.ts";
