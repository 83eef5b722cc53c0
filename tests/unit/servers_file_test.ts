/**
 * servers.txt parsing: every accepted form, and every mistake named with its file and line.
 */

import assert from "node:assert/strict";
import {
  parseServers,
  readServersFile,
  type ServerEntry,
  ServersFileError,
  serverUrl,
} from "../../core/cluster/servers_file.ts";

/** Asserts that parsing `text` throws a ServersFileError whose message equals `message`. */
function assertBad(text: string, message: string, file?: string): void {
  assert.throws(
    () => (file === undefined ? parseServers(text) : parseServers(text, file)),
    (err: unknown) => {
      assert.ok(err instanceof ServersFileError, `expected a ServersFileError, got ${err}`);
      assert.equal(err.name, "ServersFileError");
      assert.equal(err.code, "bad_servers_file");
      assert.equal(err.message, message);
      return true;
    },
  );
}

Deno.test("parseServers() reads ID HOST PORT lines with comments and blank lines", () => {
  const text = [
    "# FastChat servers",
    "",
    "1 127.0.0.1 7101",
    "   ",
    "2 localhost 7102   # trailing comment",
    "\t# indented comment",
    "3\tchat-3.example.com\t7103",
    "4   10.0.0.4     65535  ",
    "",
  ].join("\n");
  assert.deepEqual(parseServers(text), [
    { id: 1, host: "127.0.0.1", port: 7101 },
    { id: 2, host: "localhost", port: 7102 },
    { id: 3, host: "chat-3.example.com", port: 7103 },
    { id: 4, host: "10.0.0.4", port: 65535 },
  ]);
});

Deno.test("parseServers() accepts CRLF line endings", () => {
  const text = "# servers\r\n1 127.0.0.1 7101\r\n\r\n2 127.0.0.1 7102 # two\r\n";
  assert.deepEqual(parseServers(text), [
    { id: 1, host: "127.0.0.1", port: 7101 },
    { id: 2, host: "127.0.0.1", port: 7102 },
  ]);
});

Deno.test("parseServers() accepts IPv6 addresses in brackets", () => {
  assert.deepEqual(parseServers("1 [::1] 7101\n2 [fe80::1:2] 7102\n3 [::ffff:10.0.0.1] 1\n"), [
    { id: 1, host: "[::1]", port: 7101 },
    { id: 2, host: "[fe80::1:2]", port: 7102 },
    { id: 3, host: "[::ffff:10.0.0.1]", port: 1 },
  ]);
});

Deno.test("parseServers() accepts host names of one or more labels", () => {
  const hosts = ["a", "chat", "Chat-1", "a.b.c", "x1.example.org", `${"a".repeat(63)}.com`];
  const text = hosts.map((h, i) => `${i + 1} ${h} ${7000 + i}`).join("\n");
  assert.deepEqual(parseServers(text).map((s) => s.host), hosts);
});

Deno.test("parseServers() accepts the largest server ID", () => {
  assert.deepEqual(parseServers("999999999 h 1"), [{ id: 999999999, host: "h", port: 1 }]);
});

Deno.test("readServersFile() reads the project's servers.txt", async () => {
  const servers = await readServersFile(new URL("../../servers.txt", import.meta.url).pathname);
  assert.ok(servers.length >= 1);
  assert.equal(new Set(servers.map((s) => s.id)).size, servers.length);
});

Deno.test("parseServers() rejects a line with the wrong number of fields", () => {
  assertBad(
    "1 127.0.0.1 7101\n2 localhost\n",
    'servers.txt:2: expected "ID HOST PORT" (three fields), got 2 field(s): "2 localhost"',
  );
  assertBad(
    "# c\n\n1 a 1 extra # comment",
    'servers.txt:3: expected "ID HOST PORT" (three fields), got 4 field(s): "1 a 1 extra"',
  );
  assertBad(
    "7101",
    'servers.txt:1: expected "ID HOST PORT" (three fields), got 1 field(s): "7101"',
  );
});

Deno.test("parseServers() rejects bad server IDs", () => {
  for (const id of ["abc", "-1", "1.5", "01", "1000000000", "0x1", "+1"]) {
    assertBad(
      `1 h 1\n${id} h2 2`,
      `servers.txt:2: expected a server ID from 1 to 999999999, got "${id}"`,
    );
  }
});

Deno.test("parseServers() rejects server ID 0", () => {
  assertBad("0 127.0.0.1 7100", 'servers.txt:1: expected a server ID from 1 to 999999999, got "0"');
});

Deno.test("parseServers() rejects bad ports", () => {
  for (const port of ["http", "-1", "7101.5", "123456", "0x10", "1e3"]) {
    assertBad(`1 h ${port}`, `servers.txt:1: expected a port from 1 to 65535, got "${port}"`);
  }
});

Deno.test("parseServers() rejects ports 0 and 65536", () => {
  assertBad("1 h 0", 'servers.txt:1: expected a port from 1 to 65535, got "0"');
  assertBad("1 h 65536", 'servers.txt:1: expected a port from 1 to 65535, got "65536"');
  assertBad("1 h 99999", 'servers.txt:1: expected a port from 1 to 65535, got "99999"');
});

Deno.test("parseServers() rejects bad hosts", () => {
  const hosts = [
    "-bad",
    "bad-",
    "a_b",
    "host:7101",
    "a..b",
    ".a",
    "a.",
    "::1",
    "[zz::1]",
    "[::1",
    "ws://h",
    `${"a".repeat(64)}.com`,
  ];
  for (const host of hosts) {
    assertBad(
      `1 ${host} 7101`,
      `servers.txt:1: expected a host name or IP address, got "${host}"`,
    );
  }
});

Deno.test("parseServers() rejects a duplicate server ID", () => {
  assertBad(
    "1 a 7101\n# x\n1 b 7102",
    "servers.txt:3: server ID 1 is listed twice",
  );
});

Deno.test("parseServers() rejects a duplicate address, ignoring host case", () => {
  assertBad(
    "1 localhost 7101\n2 localhost 7101",
    "servers.txt:2: address localhost:7101 is listed twice",
  );
  assertBad(
    "1 Chat.Example.com 7101\n\n2 chat.example.COM 7101",
    "servers.txt:3: address chat.example.com:7101 is listed twice",
  );
  // The same host on another port is another address.
  assert.equal(parseServers("1 localhost 7101\n2 localhost 7102").length, 2);
});

Deno.test("parseServers() rejects an empty file and one with only comments", () => {
  const message = 'servers.txt: lists no servers; expected at least one "ID HOST PORT" line';
  assertBad("", message);
  assertBad("\n\n  \r\n", message);
  assertBad("# 1 127.0.0.1 7101\n# nothing here\n", message);
});

Deno.test("parseServers() names the given file in its errors", () => {
  assertBad(
    "1 h 1\n\n\n\nx h 2",
    'conf/cluster.txt:5: expected a server ID from 1 to 999999999, got "x"',
    "conf/cluster.txt",
  );
  assertBad(
    "",
    'conf/cluster.txt: lists no servers; expected at least one "ID HOST PORT" line',
    "conf/cluster.txt",
  );
});

Deno.test("readServersFile() reads and parses a file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/servers.txt`;
    await Deno.writeTextFile(path, "1 127.0.0.1 7101\r\n2 [::1] 7102\n");
    assert.deepEqual(await readServersFile(path), [
      { id: 1, host: "127.0.0.1", port: 7101 },
      { id: 2, host: "[::1]", port: 7102 },
    ]);
    await Deno.writeTextFile(path, "1 127.0.0.1 7101\n1 127.0.0.1 7102\n");
    await assert.rejects(
      readServersFile(path),
      (err: unknown) =>
        err instanceof ServersFileError &&
        err.message === `${path}:2: server ID 1 is listed twice`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readServersFile() rejects a missing file with a ServersFileError", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/missing.txt`;
    await assert.rejects(readServersFile(path), (err: unknown) => {
      assert.ok(err instanceof ServersFileError);
      assert.equal(
        err.message,
        `${path}: file not found; expected a servers file ("ID HOST PORT" per line)`,
      );
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serverUrl() builds ws:// and wss:// URLs for the /ws endpoint", () => {
  const entry: ServerEntry = { id: 1, host: "127.0.0.1", port: 7101 };
  assert.equal(serverUrl(entry), "ws://127.0.0.1:7101/ws");
  assert.equal(serverUrl(entry, false), "ws://127.0.0.1:7101/ws");
  assert.equal(serverUrl(entry, true), "wss://127.0.0.1:7101/ws");
  assert.equal(serverUrl({ id: 2, host: "[::1]", port: 7102 }), "ws://[::1]:7102/ws");
  assert.equal(
    serverUrl({ id: 3, host: "chat.example.com", port: 443 }, true),
    "wss://chat.example.com:443/ws",
  );
  // The URL parses and names the same host and port.
  const url = new URL(serverUrl({ id: 2, host: "[::1]", port: 7102 }));
  assert.equal(url.hostname, "[::1]");
  assert.equal(url.port, "7102");
  assert.equal(url.pathname, "/ws");
});
