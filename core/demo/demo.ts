/**
 * `fastchat demo`: a temporary cluster in this process (balancer + three servers on
 * 127.0.0.1, one SQLite file), three users driven through everything FastChat does, a
 * readable transcript, and proof that the server's database holds only ciphertext.
 *
 * @module
 */

import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { ChatClient } from "../client/engine/chat_client.ts";
import type { ClientCommand } from "../client/engine/commands.ts";
import { EventLog } from "../client/engine/events.ts";
import { startBalancer } from "../balancer/mod.ts";
import { freePort } from "../cluster/free_port.ts";
import type { ServerEntry } from "../cluster/servers_file.ts";
import { createLogger } from "../log/logger.ts";
import { newClusterSecret, parseClusterSecret } from "../cluster/secret.ts";
import { type RunningServer, startServer } from "../server/serve.ts";
import { denoClientPorts } from "../client/deno/deno_ports.ts";
import { openSqliteStore } from "../store/sqlite/sqlite_store.ts";
import type { Store } from "../store/store.ts";

class _User {
  readonly name: string;
  readonly client: ChatClient;
  readonly log = new EventLog();

  constructor(name: string, balancerUrl: string, dataDir: string, say: (l: string) => void) {
    this.name = name;
    this.client = new ChatClient({
      balancerUrls: balancerUrl,
      ...denoClientPorts(dataDir, name),
      username: name,
      password: `demo password of ${name}`,
      keystoreScryptN: 1024,
      emit: (e) => {
        this.log.push(e);
        if (e.event === "error") say(`   ! ${name}: ${e.message}`);
      },
    });
  }

  async run(cmd: ClientCommand): Promise<void> {
    await this.client.run(cmd);
  }

  /** Waits for an event; see {@linkcode EventLog.waitFor}. */
  waitFor: EventLog["waitFor"] = (event, pred, timeoutMs) =>
    this.log.waitFor(event, pred, timeoutMs);
}

/** Runs the demo, printing the transcript through `say`; resolves to the exit code. */
export async function runDemo(say: (line: string) => void = console.log): Promise<number> {
  const dir = await Deno.makeTempDir({ prefix: "fastchat_demo_" });
  const servers: ServerEntry[] = [1, 2, 3].map((id) => ({
    id,
    host: "127.0.0.1",
    port: freePort(),
  }));
  const dbPath = join(dir, "server", "fastchat.db");
  await Deno.mkdir(join(dir, "server"), { recursive: true });
  const stores: Store[] = [];
  const running: RunningServer[] = [];
  const users: _User[] = [];
  let balancer: { close(): Promise<void> } | null = null;
  const secret = parseClusterSecret(newClusterSecret());
  const plaintexts: string[] = [];
  try {
    say("== FastChat demo ==");
    say(`Starting a temporary cluster on 127.0.0.1: a balancer and 3 servers sharing ${dbPath}`);
    for (const self of servers) {
      const store = await openSqliteStore(dbPath);
      stores.push(store);
      running.push(
        await startServer({
          self,
          servers,
          store,
          secret,
          logger: createLogger("error"),
          passwordCost: { N: 1024, r: 8, p: 1 },
        }),
      );
    }
    const bstore = await openSqliteStore(dbPath);
    stores.push(bstore);
    const b = await startBalancer({ strategy: "round-robin", port: 0, store: bstore });
    balancer = b;
    const balancerUrl = `http://127.0.0.1:${b.port}`;
    say(
      `  balancer ${balancerUrl} (round-robin), servers on ports ${
        servers.map((s) => s.port).join(", ")
      }`,
    );

    say("");
    say("-- 1. alice, bob and carol join (ID 0 → new accounts; keys are made on their devices)");
    for (const name of ["alice", "bob", "carol"]) {
      const u = new _User(name, balancerUrl, join(dir, "clients"), say);
      users.push(u);
      await u.client.start();
      const r = await u.waitFor("ready");
      say(`  ${name} joined as user #${r.id} on server ${r.server} (RSA-2048 + Ed25519 keys)`);
    }
    const [alice, bob, carol] = users as [_User, _User, _User];

    say("");
    say("-- 2. friendship: alice sends bob a Fernet key, RSA-OAEP-wrapped and Ed25519-signed");
    const hello = "Hi Bob! Lunch on Friday?";
    plaintexts.push(hello);
    await alice.run({ name: "single_message", user: "bob", text: hello });
    await bob.waitFor("request", (e) => e.user === "alice" && e.text === hello);
    say("  alice is not bob's contact yet: bob is asked first, and accepts");
    await bob.run({ name: "accept", user: "alice" });
    await bob.waitFor("friend", (e) => e.user === "alice");
    say("  bob verified alice's signature and stored the shared key");
    const m1 = await bob.waitFor("message", (e) => e.text === hello);
    say(`  alice → bob: "${hello}"`);
    say(`  bob received message #${m1.id}: "${m1.text}"`);
    await alice.waitFor("delivered", (e) => e.id === m1.id);
    say("  alice got the delivered receipt");
    const reply = "Friday works. The usual place?";
    plaintexts.push(reply);
    await bob.run({ name: "single_message", user: "alice", text: reply });
    await alice.waitFor("message", (e) => e.text === reply);
    say(`  bob → alice: "${reply}" (received)`);

    say("");
    say('-- 3. a group: alice creates "hikers" with bob and carol and sends its key to each');
    await alice.run({ name: "create_group", group: "hikers", users: ["bob", "carol"] });
    const created = await carol.waitFor("group_request", (e) => e.name === "hikers");
    say("  alice is not carol's contact: being put in her group is a request, which carol accepts");
    await carol.run({ name: "accept", user: String(created.group) });
    await carol.waitFor("group_joined", (e) => e.group === created.group);
    await bob.waitFor("group_key", (e) => e.group === created.group);
    await carol.waitFor("group_key", (e) => e.group === created.group);
    say(
      `  group #${created.group} "hikers": members ${created.member_names.join(", ")}, key epoch 1`,
    );
    const plan = "Saturday 8:00 at the trailhead";
    plaintexts.push(plan);
    await alice.run({ name: "group_message", group: "hikers", text: plan });
    await bob.waitFor("message", (e) => e.text === plan);
    await carol.waitFor("message", (e) => e.text === plan);
    say(`  alice → hikers: "${plan}" (bob and carol decrypted it)`);

    say("");
    say("-- 4. key rotation: alice removes carol; the group key moves to epoch 2");
    await alice.run({ name: "remove_member", group: "hikers", user: "carol" });
    await carol.waitFor("group", (e) => e.change === "removed");
    await bob.waitFor("group_key", (e) => e.group === created.group && e.epoch === 2);
    say("  carol was told she is out; bob received the epoch 2 key; carol did not");
    const secretPlan = "Change of plan: 7:00, don't tell carol";
    plaintexts.push(secretPlan);
    await alice.run({ name: "group_message", group: "hikers", text: secretPlan });
    await bob.waitFor("message", (e) => e.text === secretPlan);
    say(`  alice → hikers: "${secretPlan}" (bob read it; carol holds no key for epoch 2)`);

    say("");
    say("-- 5. offline delivery: bob goes offline, alice writes, bob comes back");
    await bob.client.close();
    users.splice(users.indexOf(bob), 1);
    const offline = "Bring the map, please";
    plaintexts.push(offline);
    await alice.run({ name: "single_message", user: "bob", text: offline });
    await alice.waitFor("accepted", (e) => e.id > m1.id);
    say(`  alice → bob (offline): "${offline}" — stored, encrypted, on the server:`);
    const pending = _pendingBody(dbPath);
    say(`    ${pending.slice(0, 96)}…`);
    say("    (a signed envelope around a Fernet token; the server cannot read it)");
    const bob2 = new _User("bob", balancerUrl, join(dir, "clients"), say);
    users.push(bob2);
    await bob2.client.start();
    const back = await bob2.waitFor("message", (e) => e.text === offline);
    say(`  bob logged in again and received it: "${back.text}"`);

    say("");
    say("-- 6. a file: alice sends bob a picture in encrypted chunks");
    const picture = new Uint8Array(150_000).map((_, i) => (i * 7919) % 251);
    const picturePath = join(dir, "trail-map.png");
    await Deno.writeFile(picturePath, picture);
    await alice.run({ name: "send_file", target: "bob", path: picturePath });
    const file = await bob2.waitFor("file");
    const same = _equal(await Deno.readFile(file.path), picture);
    say(`  bob saved ${file.name} (${file.size} bytes) to ${file.path}`);
    say(`  SHA-256 ${file.sha256.slice(0, 16)}…, identical to what alice sent: ${same}`);

    say("");
    say("-- 7. what the server stored");
    const rows = _serverRows(dbPath);
    say(`  ${rows.length} messages passed through; delivered ones have had their bodies erased,`);
    say("  so the server keeps only routing metadata once everyone has their copy.");
    // Clients first, so they do not try to reconnect while the servers stop.
    for (const u of users) await u.client.close();
    users.length = 0;
    for (const s of running) await s.close();
    running.length = 0;
    const found = await _scan(join(dir, "server"), [...plaintexts, "trail-map"]);
    say(
      `  scanned every byte of the server database for the ${plaintexts.length} plaintexts ` +
        `and the file name: ${found.length} found`,
    );
    if (!same || found.length > 0) {
      say("The demo FAILED: see above.");
      return 1;
    }
    say("");
    say("Demo complete: the servers only ever saw ciphertext.");
    return 0;
  } finally {
    for (const u of users) await u.client.close().catch(() => {});
    for (const s of running) await s.close().catch(() => {});
    await balancer?.close().catch(() => {});
    for (const s of stores) await s.close().catch(() => {});
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    say("(temporary cluster stopped and its files removed)");
  }
}

function _equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function _serverRows(dbPath: string): { kind: string; body: string }[] {
  const db = new DatabaseSync(dbPath, { readOnly: true });
  try {
    return db.prepare("SELECT kind, body FROM messages ORDER BY id").all() as {
      kind: string;
      body: string;
    }[];
  } finally {
    db.close();
  }
}

/** The newest pending direct message's stored body: what the server holds for bob. */
function _pendingBody(dbPath: string): string {
  const db = new DatabaseSync(dbPath, { readOnly: true });
  try {
    const row = db.prepare(
      "SELECT m.body FROM messages m JOIN deliveries d ON d.message_id = m.id " +
        "WHERE m.kind = 'direct' ORDER BY m.id DESC LIMIT 1",
    ).get() as { body: string } | undefined;
    return row?.body ?? "(none)";
  } finally {
    db.close();
  }
}

async function _scan(dir: string, needles: string[]): Promise<string[]> {
  let text = "";
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile) text += new TextDecoder("latin1").decode(await Deno.readFile(join(dir, e.name)));
  }
  return needles.filter((n) => text.includes(n));
}
