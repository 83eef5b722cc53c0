/**
 * The NetLab harness against the real kernel: TCP between namespace hosts, isolation from the
 * root namespace, cut/restore, partition/heal, teardown and stale-lab sweeping. Needs root; on a
 * machine that cannot run a lab every test fails with the one line netlabUnavailable() gives.
 */

import assert from "node:assert/strict";
import { NetLab, NetLabError, netlabUnavailable } from "./helpers/netlab.ts";

/** The real Deno binary (the one in node_modules/.bin is a shim), started inside namespaces. */
const DENO = Deno.execPath();
const PORT = 7411;
/** Root tools by full path: a test runner's PATH may lack /usr/sbin. */
const IP = _find("ip");
const NFT = _find("nft");
const CAT = _find("cat");
/** Waits this long for a connection that should work: only reached when something is broken. */
const REACHABLE_MS = 5000;
/** Waits this long for a connection that should not work. Well under the ~3 s after which a
 * failed ARP lookup turns into EHOSTUNREACH, so dropped traffic shows as "timeout". */
const BLOCKED_MS = 300;

/** Accepts TCP connections on `host:port` and answers each with `token`. */
const LISTEN = `
const [hostname, port, token] = Deno.args;
const listener = Deno.listen({ hostname, port: Number(port) });
console.log("ready");
for await (const conn of listener) {
  conn.write(new TextEncoder().encode(token)).catch(() => {}).finally(() => conn.close());
}`;

/** Connects to each `addr:port` at once; prints a JSON array of "ok:<token>", "timeout" or
 * "error:<name>". */
const PROBE = `
const [ms, ...targets] = Deno.args;
async function probe(target) {
  const [hostname, port] = target.split(":");
  let timer;
  const timeout = new Promise((r) => (timer = setTimeout(() => r("timeout"), Number(ms))));
  const attempt = (async () => {
    try {
      const conn = await Deno.connect({ hostname, port: Number(port) });
      const buf = new Uint8Array(64);
      const n = await conn.read(buf);
      conn.close();
      return "ok:" + new TextDecoder().decode(buf.subarray(0, n ?? 0));
    } catch (e) {
      return "error:" + e.name;
    }
  })();
  const result = await Promise.race([attempt, timeout]);
  clearTimeout(timer);
  return result;
}
console.log(JSON.stringify(await Promise.all(targets.map(probe))));
Deno.exit(0);`;

let _unavailable: Promise<string | null> | undefined;

function _find(name: string): string {
  for (const dir of ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]) {
    try {
      if (Deno.statSync(`${dir}/${name}`).isFile) return `${dir}/${name}`;
    } catch {
      // not here
    }
  }
  return name;
}

/** A new lab, or a failure with the reason this machine cannot run one. */
async function _lab(hosts: string[], subnet?: string): Promise<NetLab> {
  _unavailable ??= netlabUnavailable();
  const reason = await _unavailable;
  if (reason !== null) assert.fail(reason);
  return await NetLab.create(subnet === undefined ? { hosts } : { hosts, subnet });
}

/** Processes a test started in each lab: its destroy() kills them, `_teardown` awaits them. */
const _children = new WeakMap<NetLab, Deno.ChildProcess[]>();

/** Starts `cmd` in a host of the lab, to be awaited by `_teardown`. */
function _spawn(lab: NetLab, host: string, cmd: string, args: string[]): Deno.ChildProcess {
  const child = lab.command(host, cmd, args, { stdout: "piped", stderr: "inherit" }).spawn();
  _children.set(lab, [...(_children.get(lab) ?? []), child]);
  return child;
}

/** Destroys the lab, then waits for the processes started in it; returns their statuses. */
async function _teardown(lab: NetLab): Promise<Deno.CommandStatus[]> {
  await lab.destroy();
  return await Promise.all((_children.get(lab) ?? []).map(async (c) => {
    await c.stdout.cancel().catch(() => {}); // not read to the end (or locked by a reader)
    return await c.status;
  }));
}

/** Starts a listener on every host of the lab, answering `<prefix><host>`; resolves when all
 * listen. */
async function _listenAll(lab: NetLab, prefix = ""): Promise<void> {
  await Promise.all(lab.hosts.map(async (h) => {
    const child = _spawn(lab, h.name, DENO, [
      "eval",
      LISTEN,
      h.addr,
      String(PORT),
      prefix + h.name,
    ]);
    const reader = child.stdout.getReader();
    let seen = "";
    while (!seen.includes("ready\n")) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`Listener on ${h.name} exited before it was ready`);
      seen += new TextDecoder().decode(value);
    }
    await reader.cancel();
  }));
}

/** What host `from` gets when it connects to each of `to` (see PROBE). */
async function _reach(
  lab: NetLab,
  from: string,
  to: string[],
  ms: number,
  addrOf: (host: string) => string = (h) => lab.host(h).addr,
): Promise<Record<string, string>> {
  const targets = to.map((h) => `${addrOf(h)}:${PORT}`);
  const r = await lab.exec(from, DENO, ["eval", PROBE, String(ms), ...targets]);
  assert.equal(r.code, 0, `probe from ${from} failed: ${r.stderr}`);
  const results = JSON.parse(r.stdout) as string[];
  return Object.fromEntries(to.map((h, i) => [h, results[i]!]));
}

/** Asserts `from` gets each host's own answer. */
async function _assertReaches(lab: NetLab, from: string, to: string[], prefix = ""): Promise<void> {
  const expected = Object.fromEntries(to.map((h) => [h, `ok:${prefix}${h}`]));
  assert.deepEqual(await _reach(lab, from, to, REACHABLE_MS), expected, `from ${from}`);
}

/** Asserts connections from `from` to each host are silently dropped. */
async function _assertBlocked(lab: NetLab, from: string, to: string[]): Promise<void> {
  const expected = Object.fromEntries(to.map((h) => [h, "timeout"]));
  assert.deepEqual(await _reach(lab, from, to, BLOCKED_MS), expected, `from ${from}`);
}

async function _rootText(args: string[]): Promise<string> {
  const out = await new Deno.Command(IP, { args, stdin: "null" }).output();
  return new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
}

/** A process's state letter (R, S, Z, ...), or null once it is gone. Read through `cat`: Deno
 * wants --allow-all for /proc, which `deno task test` does not give. */
async function _procState(pid: number): Promise<string | null> {
  const out = await new Deno.Command(CAT, { args: [`/proc/${pid}/stat`], stdin: "null" }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  if (!out.success && /No such file/.test(stderr)) return null;
  assert.ok(out.success, `cannot read the state of process ${pid}: ${stderr}`);
  const stat = new TextDecoder().decode(out.stdout);
  return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
}

async function _netnsList(): Promise<string[]> {
  const text = await _rootText(["netns", "list"]);
  return text.split("\n").map((l) => l.split(" ")[0]!).filter((n) => n !== "");
}

Deno.test("netlabUnavailable() finds nothing missing on a machine that runs labs", async () => {
  _unavailable ??= netlabUnavailable();
  assert.equal(await _unavailable, null);
});

Deno.test("NetLab.create() gives hosts .11, .12, ... that reach each other by TCP", async () => {
  const lab = await _lab(["pg", "srv1", "lb"]);
  try {
    await _listenAll(lab);
    const prefix = lab.subnet.replace(/\.0\/24$/, "");
    assert.match(lab.subnet, /^10\.2\d\d\.\d+\.0\/24$/);
    assert.deepEqual(lab.hosts.map((h) => h.addr), [11, 12, 13].map((n) => `${prefix}.${n}`));
    assert.equal(new Set(lab.namespaces).size, 4);
    // owner PID and start time (not 0: sweepStale() needs it to tell a reused PID)
    const owned = new RegExp(`^netlab-${Deno.pid}\\.[1-9]\\d*-\\d+-[a-z0-9]+$`);
    assert.ok(lab.hosts.every((h) => owned.test(h.ns) && h.iface.length <= 15), lab.namespaces[0]);
    await Promise.all([
      _assertReaches(lab, "pg", ["srv1", "lb"]),
      _assertReaches(lab, "srv1", ["pg", "lb"]),
      _assertReaches(lab, "lb", ["pg", "srv1"]),
    ]);
    assert.throws(() => lab.host("nope"), RangeError);
    await assert.rejects(lab.partition("pg", "pg"), RangeError);
  } finally {
    await _teardown(lab);
  }
});

Deno.test("NetLab.exec() runs inside the host's namespace, as a user, with env and cwd", async () => {
  const lab = await _lab(["a"]);
  try {
    const { addr, iface } = lab.host("a");
    const links = await lab.exec("a", IP, ["-o", "addr", "show"]);
    assert.equal(links.code, 0, links.stderr);
    assert.match(links.stdout, new RegExp(`${iface}\\s+inet ${addr.replaceAll(".", "\\.")}/24`));
    const who = await lab.exec("a", "sh", ["-c", 'echo "$(id -un) $NETLAB_X $(pwd)"'], {
      user: "nobody",
      env: { NETLAB_X: "x1" },
      cwd: "/tmp",
    });
    assert.deepEqual(who, { code: 0, stdout: "nobody x1 /tmp\n", stderr: "" });
    assert.equal((await lab.exec("a", "sh", ["-c", "exit 3"])).code, 3);
  } finally {
    await _teardown(lab);
  }
});

Deno.test("NetLab.create() adds nothing to the root namespace and gives hosts no way out", async () => {
  const lab = await _lab(["a", "b"]);
  try {
    const ifaces = lab.hosts.map((h) => h.iface);
    const rootLinks = await _rootText(["-o", "link", "show"]);
    const rootAddrs = await _rootText(["-o", "addr", "show"]);
    const rootRoutes = await _rootText(["route", "show", "table", "all"]);
    const prefix = lab.subnet.replace(/0\/24$/, "");
    assert.ok(!/(vh|vb|br)[0-9a-z]+-[0-9a-z]+/.test(rootLinks), rootLinks);
    assert.ok(!rootAddrs.includes(` ${prefix}`), rootAddrs);
    assert.ok(!rootRoutes.includes(prefix), rootRoutes);
    // No packet is sent from the root namespace to prove it: its default route would carry it
    // off the machine. What the kernel would do instead is enough: a route through none of the
    // lab's interfaces (there are none here), to a host that has no route back.
    for (const h of lab.hosts) {
      const how = await _rootText(["route", "get", h.addr]);
      assert.ok(!ifaces.some((i) => how.includes(i)), how);
      const routes = (await lab.exec(h.name, IP, ["route", "show", "table", "all"])).stdout;
      assert.ok(!/default|via/.test(routes), `${h.name} has a way out: ${routes}`);
      const out = await lab.exec(h.name, IP, ["route", "get", "192.0.2.1"]);
      assert.notEqual(out.code, 0, `${h.name} routes to the outside: ${out.stdout}`);
    }
  } finally {
    await _teardown(lab);
  }
});

Deno.test("NetLab.cut() isolates a host from every other and restore() brings it back", async () => {
  const lab = await _lab(["a", "b", "c"]);
  try {
    await _listenAll(lab);
    await lab.cut("b");
    await Promise.all([
      _assertBlocked(lab, "a", ["b"]),
      _assertBlocked(lab, "b", ["a", "c"]),
      _assertBlocked(lab, "c", ["b"]),
      _assertReaches(lab, "a", ["c"]),
    ]);
    await lab.restore("b");
    await Promise.all([
      _assertReaches(lab, "a", ["b"]),
      _assertReaches(lab, "b", ["a", "c"]),
    ]);
  } finally {
    await _teardown(lab);
  }
});

Deno.test("NetLab.partition() drops a<->b only, and heal() removes exactly that one", async () => {
  const lab = await _lab(["a", "b", "c"]);
  try {
    await _listenAll(lab);
    await lab.partition("a", "b");
    await lab.partition("a", "b"); // idempotent
    await Promise.all([
      _assertBlocked(lab, "a", ["b"]),
      _assertBlocked(lab, "b", ["a"]),
      _assertReaches(lab, "a", ["c"]),
      _assertReaches(lab, "b", ["c"]),
      _assertReaches(lab, "c", ["a", "b"]),
    ]);
    // every host now drops two others: healing one pair must leave the other entries alone
    // at once, so c's first table and its second element race unless the harness orders them
    await Promise.all([lab.partition("c", "a"), lab.partition("b", "c")]);
    await lab.heal("b", "a");
    await Promise.all([
      _assertReaches(lab, "a", ["b"]),
      _assertReaches(lab, "b", ["a"]),
      _assertBlocked(lab, "a", ["c"]),
      _assertBlocked(lab, "b", ["c"]),
      _assertBlocked(lab, "c", ["a", "b"]),
    ]);
    await lab.heal("a", "c");
    await lab.heal("a", "c"); // idempotent
    await lab.heal("c", "b");
    await Promise.all(["a", "b", "c"].map((h) => _assertReaches(lab, h, ["a", "b", "c"])));
    for (const h of ["a", "b", "c"]) {
      const set = await lab.exec(h, NFT, ["list", "set", "ip", "netlab", "cut_off"]);
      assert.ok(!set.stdout.includes("elements"), `${h} still drops: ${set.stdout}`);
      const chain = await lab.exec(h, NFT, ["list", "chain", "ip", "netlab", "prerouting"]);
      assert.equal(chain.stdout.match(/drop/g)?.length, 1, chain.stdout);
    }
  } finally {
    await _teardown(lab);
  }
});

Deno.test("NetLab.destroy() kills what runs inside and leaves no namespace behind", async () => {
  const lab = await _lab(["a", "b"]);
  const names = lab.namespaces;
  await _listenAll(lab);
  // a child that leaves a grandchild behind, which no ChildProcess handle reaches
  _spawn(lab, "b", "sh", ["-c", "sleep 60 & sleep 61"]);
  const pids: number[] = [];
  for (let i = 0; i < 100 && pids.length < 3; i++) {
    pids.splice(
      0,
      pids.length,
      ...(await _rootText(["netns", "pids", lab.host("b").ns]))
        .split("\n").filter((l) => l !== "").map(Number),
    );
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.ok(pids.length >= 3, `expected listener, sh and two sleeps in b, got ${pids}`);

  const statuses = await _teardown(lab);
  assert.deepEqual(statuses.map((s) => s.signal), ["SIGKILL", "SIGKILL", "SIGKILL"]);
  const listed = await _netnsList();
  assert.deepEqual(names.filter((n) => listed.includes(n)), []);
  for (const pid of pids) {
    // orphans are reaped by init a moment after they die
    let state = await _procState(pid);
    for (let i = 0; i < 100 && state !== null && state !== "Z"; i++) {
      await new Promise((r) => setTimeout(r, 10));
      state = await _procState(pid);
    }
    assert.ok(state === null || state === "Z", `process ${pid} outlived the lab`);
  }

  await lab.destroy(); // idempotent
  assert.throws(
    () => lab.command("a", "true"),
    (e) => e instanceof NetLabError && e.code === "destroyed",
  );
});

Deno.test("NetLab.create() rolls back what it made when a step fails", async () => {
  const probe = await _lab(["a"]);
  await probe.destroy();
  // The next lab of this process takes the next counter value; occupy its host "b" namespace
  // so that creating it fails halfway, after host "a" exists.
  const next = probe.namespaces[0]!.replace(/-(\d+)$/, (_, n) => `-${Number(n) + 1}`);
  await _rootText(["netns", "add", `${next}-b`]);
  try {
    await assert.rejects(
      NetLab.create({ hosts: ["a", "b", "c"] }),
      (e) => e instanceof NetLabError && e.code === "create_failed" && /exists/i.test(e.message),
    );
    assert.deepEqual((await _netnsList()).filter((n) => n.startsWith(next)), []);
  } finally {
    await _rootText(["netns", "del", `${next}-b`]);
  }
});

Deno.test("NetLab.create() rejects bad host lists and subnets before touching anything", async () => {
  await assert.rejects(NetLab.create({ hosts: [] }), RangeError);
  await assert.rejects(NetLab.create({ hosts: ["Pg"] }), RangeError);
  await assert.rejects(NetLab.create({ hosts: ["a-b"] }), RangeError);
  await assert.rejects(NetLab.create({ hosts: ["toolongname"] }), RangeError);
  await assert.rejects(NetLab.create({ hosts: ["a", "a"] }), RangeError);
  await assert.rejects(NetLab.create({ hosts: ["a"], subnet: "8.8.8.0/24" }), RangeError);
  await assert.rejects(NetLab.create({ hosts: ["a"], subnet: "10.1.2.0/16" }), RangeError);
  await assert.rejects(NetLab.create({ hosts: ["a"], subnet: "10.1.300.0/24" }), RangeError);
});

Deno.test("NetLab.create() runs two labs at once, each on its own bridge", async () => {
  const [one, two] = await Promise.all([_lab(["a", "b"]), _lab(["a", "b"])]);
  const [same1, same2] = await Promise.all([
    _lab(["a", "b"], "10.199.77.0/24"),
    _lab(["a", "b", "c"], "10.199.77.0/24"),
  ]);
  try {
    await Promise.all([
      _listenAll(one, "1"),
      _listenAll(two, "2"),
      _listenAll(same1, "s1"),
      _listenAll(same2, "s2"),
    ]);
    assert.notEqual(one.subnet, two.subnet);
    const all = [one, two, same1, same2].flatMap((l) => l.namespaces);
    assert.equal(new Set(all).size, all.length);
    await Promise.all([
      _assertReaches(one, "a", ["b"], "1"),
      _assertReaches(two, "a", ["b"], "2"),
      // equal addresses, separate worlds: each "a" meets its own "b"
      _assertReaches(same1, "a", ["b"], "s1"),
      _assertReaches(same2, "a", ["b"], "s2"),
    ]);
    // .13 exists only in the second lab: a shared wire would let the first one reach it
    const across = await _reach(same1, "a", ["c"], BLOCKED_MS, () => same2.host("c").addr);
    assert.deepEqual(across, { c: "timeout" });
  } finally {
    await Promise.all([one, two, same1, same2].map(_teardown));
  }
});

Deno.test("NetLab.sweepStale() removes labs of dead owners and keeps live ones", async () => {
  const live = await _lab(["a"]);
  const gone = new Deno.Command("true").spawn();
  await gone.status;
  // a dead PID, and this live PID with another start time: a PID reused after a crash
  const stale = [`netlab-${gone.pid}.1-1`, `netlab-${Deno.pid}.1-1-a`];
  for (const ns of stale) await _rootText(["netns", "add", ns]);
  const orphan = new Deno.Command(IP, {
    args: ["netns", "exec", stale[1]!, "sleep", "60"],
    stdin: "null",
  }).spawn();
  try {
    for (let i = 0; i < 100; i++) {
      if ((await _rootText(["netns", "pids", stale[1]!])).trim() !== "") break;
      await new Promise((r) => setTimeout(r, 10));
    }
    const removed = await NetLab.sweepStale();
    // the listing, not `removed`, says whether they are gone: with `deno test --parallel` another
    // test file's sweep may win the race for them
    assert.deepEqual(removed.filter((n) => live.namespaces.includes(n)), []);
    const listed = await _netnsList();
    assert.deepEqual(stale.filter((n) => listed.includes(n)), []);
    assert.ok(live.namespaces.every((n) => listed.includes(n)));
    assert.equal((await orphan.status).signal, "SIGKILL");
  } finally {
    await live.destroy();
    try {
      orphan.kill("SIGKILL");
    } catch {
      // killed by the sweep, as it should be
    }
    await orphan.status;
    for (const ns of stale) await _rootText(["netns", "del", ns]);
  }
});
