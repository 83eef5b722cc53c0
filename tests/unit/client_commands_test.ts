import assert from "node:assert/strict";
import {
  COMMAND_SPECS,
  CommandError,
  helpText,
  parseCommand,
} from "../../core/client/engine/commands.ts";

Deno.test("parseCommand() parses every seed command", () => {
  assert.deepEqual(parseCommand("add_friend bob"), { name: "add_friend", user: "bob" });
  assert.deepEqual(parseCommand("single_message bob hello  there, bob!"), {
    name: "single_message",
    user: "bob",
    text: "hello  there, bob!",
  });
  assert.deepEqual(parseCommand("group_message 7 hi all"), {
    name: "group_message",
    group: "7",
    text: "hi all",
  });
  assert.deepEqual(parseCommand("create_group team bob carol bob"), {
    name: "create_group",
    group: "team",
    users: ["bob", "carol"],
  });
  assert.deepEqual(parseCommand("add_member team dan"), {
    name: "add_member",
    group: "team",
    user: "dan",
  });
  assert.deepEqual(parseCommand("remove_member team dan"), {
    name: "remove_member",
    group: "team",
    user: "dan",
  });
  assert.deepEqual(parseCommand("leave_group team"), { name: "leave_group", group: "team" });
  assert.deepEqual(parseCommand("send_file bob /tmp/a file.png"), {
    name: "send_file",
    target: "bob",
    path: "/tmp/a file.png",
  });
  assert.deepEqual(parseCommand("history bob"), { name: "history", target: "bob", count: 20 });
  assert.deepEqual(parseCommand("history team 5"), { name: "history", target: "team", count: 5 });
  for (const bare of ["friends", "groups", "whoami", "help", "quit"]) {
    assert.deepEqual(parseCommand(bare), { name: bare });
  }
  assert.deepEqual(parseCommand("fingerprint bob"), { name: "fingerprint", user: "bob" });
  assert.deepEqual(parseCommand("accept_key bob"), { name: "accept_key", user: "bob" });
});

Deno.test("parseCommand() accepts aliases, a leading slash and any case of the command", () => {
  assert.deepEqual(parseCommand("/msg bob hi"), {
    name: "single_message",
    user: "bob",
    text: "hi",
  });
  assert.deepEqual(parseCommand("DM bob hi"), { name: "single_message", user: "bob", text: "hi" });
  assert.deepEqual(parseCommand("  q  "), { name: "quit" });
});

Deno.test("parseCommand() ignores blank lines and comments", () => {
  assert.equal(parseCommand(""), null);
  assert.equal(parseCommand("   "), null);
  assert.equal(parseCommand("# a comment"), null);
});

Deno.test("parseCommand() rejects unknown commands and wrong arguments with a usage line", () => {
  assert.throws(() => parseCommand("teleport bob"), CommandError);
  assert.throws(() => parseCommand("teleport bob"), /Unknown command "teleport"/);
  assert.throws(
    () => parseCommand("single_message bob"),
    /single_message: expected USER and TEXT\. Usage: single_message USER TEXT/,
  );
  assert.throws(() => parseCommand("add_friend"), /Usage: add_friend USER/);
  assert.throws(() => parseCommand("add_friend a b"), /Usage: add_friend USER/);
  assert.throws(() => parseCommand("whoami now"), /whoami: takes no arguments/);
  assert.throws(() => parseCommand("history bob lots"), /N must be a whole number/);
  assert.throws(() => parseCommand("history bob 0"), /N must be a whole number/);
  assert.throws(() => parseCommand("create_group"), /Usage: create_group NAME/);
});

Deno.test("helpText() lists every command once", () => {
  const text = helpText();
  for (const spec of Object.values(COMMAND_SPECS)) assert.ok(text.includes(spec.usage));
  assert.equal(text.split("\n").length, Object.keys(COMMAND_SPECS).length);
});

Deno.test("parseCommand() parses the consent and verification commands", () => {
  assert.deepEqual(parseCommand("accept bob"), { name: "accept", user: "bob" });
  assert.deepEqual(parseCommand("block bob"), { name: "block", user: "bob" });
  assert.deepEqual(parseCommand("unblock bob"), { name: "unblock", user: "bob" });
  assert.deepEqual(parseCommand("requests"), { name: "requests" });
  assert.deepEqual(parseCommand("reqs"), { name: "requests" });
  assert.deepEqual(parseCommand("verify bob"), { name: "verify", user: "bob" });
  assert.deepEqual(parseCommand("file_limit"), { name: "file_limit", bytes: null });
  assert.deepEqual(parseCommand("file_limit 10"), { name: "file_limit", bytes: 10 * 1024 * 1024 });
  assert.deepEqual(parseCommand("file_limit 0.5"), { name: "file_limit", bytes: 512 * 1024 });
  assert.deepEqual(parseCommand("file_limit 0"), { name: "file_limit", bytes: 0 });
  assert.deepEqual(parseCommand("file_limit 64"), {
    name: "file_limit",
    bytes: 64 * 1024 * 1024,
  });
  for (const bad of ["file_limit 65", "file_limit -1", "file_limit ten", "file_limit 1 2"]) {
    assert.throws(() => parseCommand(bad), /MB must be a number from 0 to 64/, bad);
  }
  assert.throws(() => parseCommand("accept"), /Usage: accept USER\|GROUP/);
  assert.throws(() => parseCommand("requests bob"), /requests: takes no arguments/);
  for (const name of ["accept", "block", "unblock", "requests", "verify", "file_limit"]) {
    assert.ok(helpText().includes(COMMAND_SPECS[name as keyof typeof COMMAND_SPECS].usage));
  }
});

Deno.test("parseCommand() parses the group hand-over and delete commands", () => {
  assert.deepEqual(parseCommand("transfer_group hikers bob"), {
    name: "transfer_group",
    group: "hikers",
    user: "bob",
  });
  assert.deepEqual(parseCommand("/handover 7 bob"), {
    name: "transfer_group",
    group: "7",
    user: "bob",
  });
  assert.deepEqual(parseCommand("delete_group hikers"), { name: "delete_group", group: "hikers" });
  assert.throws(() => parseCommand("transfer_group hikers"), CommandError);
});

Deno.test("parseCommand() parses resend: all, one conversation, the Nth latest", () => {
  const resend = (target: string | null, index: number | null) => ({
    name: "resend",
    target,
    index,
  });
  assert.deepEqual(parseCommand("resend"), resend(null, null));
  assert.deepEqual(parseCommand("/resend 2"), resend(null, 2));
  assert.deepEqual(parseCommand("resend bob"), resend("bob", null));
  assert.deepEqual(parseCommand("resend bob 1"), resend("bob", 1));
  assert.deepEqual(parseCommand("retry 7 3"), resend("7", 3), "a group by ID, then N");
  assert.throws(() => parseCommand("resend bob carol"), CommandError);
});
