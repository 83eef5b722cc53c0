/**
 * `servers.txt`: the cluster's servers, one per line as `ID HOST PORT`. Blank lines and
 * `#` comments (whole-line or trailing) are allowed. Anything else is a clear error naming
 * the file, the line and what was expected.
 *
 * @module
 */

/** One server entry. */
export interface ServerEntry {
  readonly id: number;
  readonly host: string;
  readonly port: number;
}

/** A malformed servers file; `message` names the file, line and what was expected. */
export class ServersFileError extends Error {
  readonly code = "bad_servers_file";
  constructor(message: string) {
    super(message);
    this.name = "ServersFileError";
  }
}

/** The largest server ID a servers file may list. */
export const MAX_SERVER_ID = 999_999_999;

const _HOST =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])$/;

/** Parses servers.txt text; `file` is used in error messages. */
export function parseServers(text: string, file = "servers.txt"): ServerEntry[] {
  const out: ServerEntry[] = [];
  const ids = new Set<number>();
  const addrs = new Set<string>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const where = `${file}:${i + 1}`;
    const line = lines[i]!.replace(/#.*$/, "").trim();
    if (line === "") continue;
    const parts = line.split(/\s+/);
    if (parts.length !== 3) {
      throw new ServersFileError(
        `${where}: expected "ID HOST PORT" (three fields), got ${parts.length} field(s): "${line}"`,
      );
    }
    const [idText, host, portText] = parts as [string, string, string];
    if (!/^[1-9][0-9]{0,8}$/.test(idText)) {
      throw new ServersFileError(
        `${where}: expected a server ID from 1 to ${MAX_SERVER_ID}, got "${idText}"`,
      );
    }
    if (!_HOST.test(host)) {
      throw new ServersFileError(`${where}: expected a host name or IP address, got "${host}"`);
    }
    const port = /^[0-9]{1,5}$/.test(portText) ? Number(portText) : NaN;
    if (!(port >= 1 && port <= 65535)) {
      throw new ServersFileError(`${where}: expected a port from 1 to 65535, got "${portText}"`);
    }
    const id = Number(idText);
    if (ids.has(id)) throw new ServersFileError(`${where}: server ID ${id} is listed twice`);
    const addr = `${host.toLowerCase()}:${port}`;
    if (addrs.has(addr)) throw new ServersFileError(`${where}: address ${addr} is listed twice`);
    ids.add(id);
    addrs.add(addr);
    out.push({ id, host, port });
  }
  if (out.length === 0) {
    throw new ServersFileError(
      `${file}: lists no servers; expected at least one "ID HOST PORT" line`,
    );
  }
  return out;
}

/** Reads and parses a servers file. A missing file is a {@linkcode ServersFileError} too. */
export async function readServersFile(path: string): Promise<ServerEntry[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new ServersFileError(
        `${path}: file not found; expected a servers file ("ID HOST PORT" per line)`,
      );
    }
    throw err;
  }
  return parseServers(text, path);
}

/** The WebSocket URL clients use for a server. */
export function serverUrl(entry: ServerEntry, tls = false): string {
  return `${tls ? "wss" : "ws"}://${entry.host}:${entry.port}/ws`;
}
