/**
 * The client's Deno side, the only part of the client that may use `Deno.*`: the ports that
 * plug the engine into a computer's file system ({@linkcode denoClientPorts}: a keystore file
 * per user through {@linkcode fileKeystore}, received files through {@linkcode denoFiles}),
 * the keystore file itself ({@linkcode createKeystoreFile}, {@linkcode openKeystoreFile},
 * created `0600`), and the terminal's password prompt and input lines. Browsers use
 * `web/`'s ports instead, so nothing browser-bound imports this module.
 *
 * @example The ports of a terminal client
 * ```ts ignore
 * import { denoClientPorts } from "./mod.ts";
 *
 * const { keystore, files } = denoClientPorts("~/.fastchat", "alice");
 * ```
 *
 * @module
 */

export { denoFiles, expandHome } from "./deno_files.ts";
export { type DenoClientPorts, denoClientPorts } from "./deno_ports.ts";
export { fileKeystore } from "./file_keystore.ts";
export { checkKeystorePath, createKeystoreFile, openKeystoreFile } from "./keystore_file.ts";
export { promptPassword, stdinLines } from "./terminal.ts";

// The types of the client's API these reach: the engine's ports they implement, the
// keystore a keystore file holds, and what those name in turn.
export type * from "../mod.ts";
