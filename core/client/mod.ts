/**
 * FastChat's client engine, shared by the terminal client and the web client (web/).
 * {@linkcode ChatClient} joins a cluster through the balancer, keeps the user's keystore,
 * encrypts end to end, reconnects by itself, runs {@linkcode ClientCommand}s and reports
 * what happens as {@linkcode ClientEvent}s. It reaches the world only through small ports
 * ({@linkcode KeystoreOpener}, {@linkcode FilePort}, {@linkcode Dialer}), so each runtime
 * plugs in its own: the terminal client a keystore file and Deno's file system
 * (`deno/`, not exported here), a browser IndexedDB with {@linkcode SqlJsDatabase},
 * tests fakes. Nothing exported here uses `Deno` or Node built-ins, so the module runs in
 * a browser.
 *
 * @example Run the engine with the ports of your runtime
 * ```ts ignore
 * import { ChatClient, parseCommand } from "./mod.ts";
 *
 * const client = new ChatClient({
 *   balancerUrls: "http://127.0.0.1:7100",
 *   username: "alice",
 *   password: "correct horse battery staple",
 *   keystore, // a KeystoreOpener
 *   files, // a FilePort
 *   saveDir: "received/alice",
 *   emit: (e) => console.log(e),
 * });
 * await client.start();
 * const cmd = parseCommand("add_friend bob");
 * if (cmd) await client.run(cmd);
 * await client.close();
 * ```
 *
 * @module
 */

export { ChatClient, type ChatClientOptions, type ShutOut } from "./engine/chat_client.ts";
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
} from "./engine/ports.ts";
export type { RequestFrame, RequestReply } from "./transport/protocol_client.ts";
export type { ClientEvent, EventSink, SentState } from "./engine/events.ts";
export {
  type ClientCommand,
  COMMAND_SPECS,
  CommandError,
  type CommandSpec,
  parseCommand,
} from "./engine/commands.ts";
export {
  CLIENT_ERRORS,
  ClientError,
  type ClientErrorCode,
  ConnectionClosedError,
  RequestError,
  RequestTimeoutError,
} from "./engine/errors.ts";
export { Keystore } from "../keystore/keystore.ts";
export {
  type AddFriendKeyOptions,
  type BlockedRecord,
  type ChangePasswordOptions,
  type ConversationKind,
  type CreateKeystoreOptions,
  type DeviceIdentity,
  type FileMeta,
  type FriendInput,
  type FriendKeyRecord,
  type FriendKeyRole,
  type FriendKeysInput,
  type FriendRecord,
  type GroupInput,
  type GroupInviteRecord,
  type GroupKeyRecord,
  type GroupLeaving,
  type GroupLeavingInput,
  type GroupListOptions,
  type GroupRecord,
  type IncomingMessageInput,
  KEYSTORE_ERRORS,
  type KeystoreAccount,
  type KeystoreAccountInput,
  KeystoreError,
  type KeystoreErrorCode,
  type KeystoreScryptOptions,
  type MessageDirection,
  type MessageRecord,
  type OutgoingMessageInput,
  type OutgoingState,
  type PendingKeyChange,
  type PinnedDeviceList,
  type RequestMessageRecord,
  type RequestRecord,
} from "../keystore/keystore_types.ts";
export type {
  SqlDatabase,
  SqlRow,
  SqlRunResult,
  SqlStatement,
  SqlValue,
} from "../keystore/sql_database.ts";
export {
  loadSqlJs,
  type LoadSqlJsOptions,
  SqlJsDatabase,
  type SqlJsRawDatabase,
  type SqlJsRawStatement,
  type SqlJsStatic,
} from "../keystore/sqljs_database.ts";
export { balancerDialer, type BalancerDialerOptions } from "./transport/balancer_dialer.ts";
// The clock the client's timers run on (`ChatClientOptions.clock`): tests pass a fake one.
export { type Clock, SYSTEM_CLOCK, type TimerHandle } from "../async/clock.ts";

// The protocol's frames and error codes, defined in core/protocol: a `ChatConnection` sends
// and receives them (`request()`, `ConnectionHandlers`), and `RequestError.code` is one of
// `ERROR_CODES`.
export { CONTACT_STATES, ERROR_CODES } from "../protocol/mod.ts";
export type {
  AcceptedFrame,
  AckFrame,
  AddMemberFrame,
  ChallengeFrame,
  ClientFrame,
  ContactsFrame,
  ContactState,
  CreateGroupFrame,
  DeleteGroupFrame,
  DeliveredFrame,
  DeviceChainFrame,
  DeviceChallengeFrame,
  DeviceClientFrame,
  DeviceListsFrame,
  DeviceListStoredFrame,
  DeviceServerFrame,
  DirectKeyFrame,
  ErrorCode,
  ErrorFrame,
  FetchPrekeysFrame,
  GroupFrame,
  GroupInfoFrame,
  GroupKeyFrame,
  GroupMessageFrame,
  GroupsFrame,
  KeyFrame,
  LeaveGroupFrame,
  LinkCancelFrame,
  LinkOpenFrame,
  LinkReadFrame,
  LinkStepsFrame,
  LinkWriteFrame,
  ListGroupsFrame,
  LoggedInFrame,
  LoginDeviceFrame,
  LoginFrame,
  LogoutFrame,
  LookupFrame,
  MessageFrame,
  OkFrame,
  PingFrame,
  PongFrame,
  PrekeysFrame,
  PrekeysLowFrame,
  PrekeysStoredFrame,
  PublishDeviceListFrame,
  PublishPrekeysFrame,
  Receipt,
  ReceiptsFrame,
  RegisteredFrame,
  RegisterFrame,
  RemoveMemberFrame,
  ResumeFrame,
  ServerFrame,
  SingleMessageFrame,
  SyncedFrame,
  TransferGroupFrame,
  UserFrame,
  WelcomeFrame,
  WireGroup,
  WireKind,
} from "../protocol/mod.ts";
