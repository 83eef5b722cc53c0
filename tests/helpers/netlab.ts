/**
 * NetLab: several "hosts" on one Linux machine for multi-host tests, built from network
 * namespaces. Each host is a namespace with `lo` and one veth interface on a private /24; a Linux
 * bridge in one more namespace of the lab joins them. Nothing of the lab lives in the root
 * namespace (no interface, route or firewall rule is added there) and the hosts have no default
 * route, so lab traffic can neither leave the machine nor meet the machine's own.
 *
 * Every namespace name carries its owner: `netlab-<pid>.<start>-<n>[-<host>]`, with the test
 * process's PID, its start time (so a reused PID is not mistaken for the owner) and a counter.
 * That lets `NetLab.sweepStale()` remove what a crashed run left behind, while `destroy()` (also
 * run on `unload`) removes what a finished or failed test made.
 *
 * Needs root, `ip` (iproute2), `nft` (nftables) and `runuser` (util-linux);
 * {@linkcode netlabUnavailable} says in one line what is missing.
 *
 * @module
 */

const _PREFIX = "netlab-";
const _HOST_NAME = /^[a-z][a-z0-9]{0,7}$/;
const _FIRST_HOST_OCTET = 11;
const _MAX_HOSTS = 255 - _FIRST_HOST_OCTET;
/** Linux refuses interface names longer than this (IFNAMSIZ - 1). */
const _MAX_IFNAME = 15;
/** A lab namespace and its owner: PID and start time. */
const _OWNED_NS = /^netlab-(\d+)\.(\d+)-/;
const _READY_TIMEOUT_MS = 5000;
const _KILL_ROUNDS = 50;

/** Stable codes of {@linkcode NetLabError}. */
export type NetLabErrorCode =
  | "unavailable"
  | "command_failed"
  | "create_failed"
  | "destroyed"
  | "teardown_incomplete";

/** A lab operation that failed on the machine (as opposed to a bad argument). */
export class NetLabError extends Error {
  readonly code: NetLabErrorCode;
  constructor(code: NetLabErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "NetLabError";
    this.code = code;
  }
}

/** Where a child's standard stream goes. */
export type NetStdio = "piped" | "null" | "inherit";

/** Options of {@linkcode NetLab.create}. */
export interface NetLabOptions {
  /** Host names, `[a-z][a-z0-9]{0,7}`; they get .11, .12, ... in this order. */
  hosts: readonly string[];
  /** A private `a.b.c.0/24`; by default a random 10.2xx.yyy.0/24. */
  subnet?: string;
}

/** One host of a lab. */
export interface NetHost {
  readonly name: string;
  /** Its network namespace, for `ip netns exec`. */
  readonly ns: string;
  /** Its IPv4 address on the lab's /24. */
  readonly addr: string;
  /** Its interface inside `ns` (for `tc` shaping, say). */
  readonly iface: string;
}

/** Options of {@linkcode NetLab.command}. */
export interface NetCommandOptions {
  /** Run as this user (`runuser -u USER --` inside the namespace). */
  user?: string;
  /** Added to the inherited environment. */
  env?: Record<string, string>;
  cwd?: string;
  /** Defaults to "null", so a child never reads the test runner's stdin. */
  stdin?: NetStdio;
  stdout?: NetStdio;
  stderr?: NetStdio;
}

/** What {@linkcode NetLab.exec} returns. */
export interface NetExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

interface _Host extends NetHost {
  /** The bridge side of the host's veth pair, inside the bridge namespace. */
  readonly port: string;
}

interface _Output {
  code: number;
  stdout: string;
  stderr: string;
}

interface _Tools {
  ip: string | null;
  nft: string | null;
  runuser: string | null;
  cat: string | null;
}

/** Starts at a random value: parallel test workers of one process share its PID but not this
 * module, and should rarely race for (or reuse) each other's names. The bridge namespace settles
 * it when they do (see `create`). */
let _labCounter = crypto.getRandomValues(new Uint32Array(1))[0]! % 1_000_000;
/** Subnets of this process's live labs, so a random pick avoids them (only for clarity in logs:
 * labs are isolated from each other, equal subnets would not clash). */
const _subnetsInUse = new Map<string, number>();
let _toolCache: _Tools | undefined;
let _ownerCache: string | undefined;

/** Several network-namespace hosts joined by a private bridge. */
export class NetLab {
  readonly #ip: string;
  readonly #bridgeNs: string;
  readonly #bridge: string;
  readonly #subnet: string;
  readonly #hosts = new Map<string, _Host>();
  /** Hosts whose nftables table exists. */
  readonly #firewalled = new Set<string>();
  /** The last nft run per host: runs on one host go one after another, in call order. */
  readonly #nftQueue = new Map<string, Promise<void>>();
  /** Partitioned pairs, as `a|b` with a < b. */
  readonly #partitions = new Set<string>();
  #destroyed = false;
  #teardown: Promise<void> | undefined;
  readonly #onUnload = (): void => {
    try {
      this.#destroySync();
    } catch {
      // the process is exiting: there is no one left to report to, and sweepStale() catches up
    }
  };

  private constructor(ip: string, base: string, n: number, subnet: string, names: string[]) {
    this.#ip = ip;
    this.#bridgeNs = base;
    this.#subnet = subnet;
    // Interface names live inside the lab's namespaces, yet carry PID and counter too, so any
    // of them seen in a log or a stray listing says which lab it belongs to. With the counter
    // below 1.6 million they stay within 15 characters.
    const tag = `${Deno.pid.toString(36)}-${n.toString(36)}`;
    this.#bridge = `br${tag}`;
    names.forEach((name, i) =>
      this.#hosts.set(name, {
        name,
        ns: `${base}-${name}`,
        addr: `${subnet}.${_FIRST_HOST_OCTET + i}`,
        iface: `vh${tag}-${i.toString(36)}`,
        port: `vb${tag}-${i.toString(36)}`,
      })
    );
    _subnetsInUse.set(subnet, (_subnetsInUse.get(subnet) ?? 0) + 1);
    globalThis.addEventListener("unload", this.#onUnload);
  }

  /**
   * Creates one namespace per host and a bridge namespace joining them, and waits until every
   * bridge port forwards. Removes stale labs of dead test processes first. If any step fails,
   * removes what was made and throws NetLabError `create_failed`.
   */
  static async create(opts: NetLabOptions): Promise<NetLab> {
    const names = _checkHosts(opts?.hosts);
    const subnet = opts.subnet === undefined ? _randomSubnet() : _parseSubnet(opts.subnet);
    const ip = _tools().ip;
    if (ip === null) throw new NetLabError("unavailable", _missing("ip", "iproute2"));
    try {
      await NetLab.sweepStale();
    } catch {
      // a stale lab that cannot be removed (a process stuck in the kernel) must not block new ones
    }
    const owner = _owner();
    // The bridge namespace is made first and doubles as a lock on the lab's names: `ip netns add`
    // fails if the name exists, as when a parallel test worker of this process has the same
    // counter value.
    let n = 0;
    for (let tries = 0;; tries++) {
      n = ++_labCounter;
      const r = await _run(ip, ["netns", "add", `${_PREFIX}${owner}-${n}`]);
      if (r.code === 0) break;
      if (!/exists/i.test(r.stderr) || tries >= 20) {
        throw new NetLabError(
          "create_failed",
          `Could not create the lab's bridge namespace: ${_firstLine(r.stderr)}`,
        );
      }
    }
    const base = `${_PREFIX}${owner}-${n}`;
    const lab = new NetLab(ip, base, n, subnet, names);
    try {
      await lab.#build();
    } catch (e) {
      try {
        await lab.destroy();
      } catch {
        // the build error is the one worth reporting; sweepStale() retries the rest later
      }
      throw new NetLabError(
        "create_failed",
        `Could not create a lab of ${names.length} hosts: ${(e as Error).message}`,
        { cause: e },
      );
    }
    return lab;
  }

  /**
   * Removes the namespaces of labs whose owning process is gone (crashed test runs), killing
   * whatever still runs in them. Labs of live processes are left alone. Returns the removed names.
   */
  static async sweepStale(): Promise<string[]> {
    const ip = _tools().ip;
    if (ip === null) return [];
    const listed = await _run(ip, ["netns", "list"]);
    if (listed.code !== 0) return [];
    const stale = _nsNames(listed.stdout).filter((ns) => {
      const m = _OWNED_NS.exec(ns);
      return m !== null && !_ownerAlive(Number(m[1]), m[2]!);
    });
    if (stale.length > 0) _teardownSync(ip, stale);
    return stale;
  }

  /** The lab's subnet, like `10.231.4.0/24`. */
  get subnet(): string {
    return `${this.#subnet}.0/24`;
  }

  /** Every host, in the order given to `create`. */
  get hosts(): NetHost[] {
    return [...this.#hosts.values()].map(_public);
  }

  /** Every namespace of the lab, the bridge's included. */
  get namespaces(): string[] {
    return [this.#bridgeNs, ...[...this.#hosts.values()].map((h) => h.ns)];
  }

  /** The host called `name`; throws RangeError if the lab has none. */
  host(name: string): NetHost {
    return _public(this.#host(name));
  }

  /**
   * A command that runs inside the host's namespace (via `ip netns exec`; with `user`, via
   * `runuser -u USER --` inside it). `cmd` is looked up in PATH.
   */
  command(
    host: string,
    cmd: string,
    args: readonly string[] = [],
    opts: NetCommandOptions = {},
  ): Deno.Command {
    this.#checkLive();
    const h = this.#host(host);
    const asUser: string[] = [];
    if (opts.user !== undefined) {
      const runuser = _tools().runuser;
      if (runuser === null) throw new NetLabError("unavailable", _missing("runuser", "util-linux"));
      asUser.push(runuser, "-u", opts.user, "--");
    }
    return new Deno.Command(this.#ip, {
      args: ["netns", "exec", h.ns, ...asUser, cmd, ...args],
      stdin: opts.stdin ?? "null",
      ...(opts.stdout === undefined ? {} : { stdout: opts.stdout }),
      ...(opts.stderr === undefined ? {} : { stderr: opts.stderr }),
      ...(opts.env === undefined ? {} : { env: opts.env }),
      ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }),
    });
  }

  /** Runs a command inside the host's namespace to the end; see {@linkcode NetLab.command}. */
  async exec(
    host: string,
    cmd: string,
    args: readonly string[] = [],
    opts: Pick<NetCommandOptions, "user" | "env" | "cwd"> = {},
  ): Promise<NetExecResult> {
    const out = await this.command(host, cmd, args, {
      ...opts,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  }

  /**
   * Takes the host's link down, like pulling its cable at the switch: it keeps its address and
   * sockets but reaches no other host, and packets to or from it are dropped (connections time
   * out rather than fail fast).
   */
  async cut(host: string): Promise<void> {
    this.#checkLive();
    const h = this.#host(host);
    await _must(this.#ip, ["-n", this.#bridgeNs, "link", "set", h.port, "down"]);
  }

  /**
   * Brings back a link taken down by {@linkcode NetLab.cut} and waits until it forwards; new
   * connections to and from the host work at once.
   */
  async restore(host: string): Promise<void> {
    this.#checkLive();
    const h = this.#host(host);
    await _must(this.#ip, ["-n", this.#bridgeNs, "link", "set", h.port, "up"]);
    await this.#waitForwarding([h.port]);
    // ARP lookups that failed during the cut would otherwise hold new packets until their next
    // retry, up to a second later: forget them on both sides.
    await Promise.all(
      [...this.#hosts.values()].map((o) =>
        o === h
          ? _must(this.#ip, ["-n", h.ns, "neigh", "flush", "dev", h.iface])
          : _must(this.#ip, ["-n", o.ns, "neigh", "flush", "to", h.addr])
      ),
    );
  }

  /**
   * Drops all traffic between hosts `a` and `b`, both ways, while both still reach every other
   * host. Each of the two drops what comes from the other, before connection tracking, so
   * neither side sees an error: their packets just vanish, as in a real partition. Idempotent.
   */
  async partition(a: string, b: string): Promise<void> {
    this.#checkLive();
    const [ha, hb] = this.#pair(a, b);
    const key = _pairKey(a, b);
    if (this.#partitions.has(key)) return;
    this.#partitions.add(key); // before awaiting, so a second call at once is a no-op
    try {
      await Promise.all([
        this.#nft(ha, `add element ip netlab cut_off { ${hb.addr} }`),
        this.#nft(hb, `add element ip netlab cut_off { ${ha.addr} }`),
      ]);
    } catch (e) {
      this.#partitions.delete(key);
      throw e;
    }
  }

  /** Undoes exactly one {@linkcode NetLab.partition}; other partitions stay. Idempotent. */
  async heal(a: string, b: string): Promise<void> {
    this.#checkLive();
    const [ha, hb] = this.#pair(a, b);
    const key = _pairKey(a, b);
    if (!this.#partitions.has(key)) return;
    this.#partitions.delete(key);
    await Promise.all([
      this.#nft(ha, `delete element ip netlab cut_off { ${hb.addr} }`),
      this.#nft(hb, `delete element ip netlab cut_off { ${ha.addr} }`),
    ]);
  }

  /**
   * Kills every process still running in the lab's namespaces and deletes the namespaces (which
   * removes the veth pairs and the bridge). Idempotent: later calls return the first call's
   * promise. Throws NetLabError `teardown_incomplete` if something could not be removed.
   */
  destroy(): Promise<void> {
    // Teardown is synchronous so that the `unload` handler, which cannot await, runs this same
    // code; it blocks the event loop for a few milliseconds. A throw rejects the promise.
    this.#teardown ??= new Promise<void>((resolve) => {
      this.#destroySync();
      resolve();
    });
    return this.#teardown;
  }

  #destroySync(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    globalThis.removeEventListener("unload", this.#onUnload);
    const left = _subnetsInUse.get(this.#subnet) ?? 0;
    if (left <= 1) _subnetsInUse.delete(this.#subnet);
    else _subnetsInUse.set(this.#subnet, left - 1);
    _teardownSync(this.#ip, this.namespaces);
  }

  async #build(): Promise<void> {
    const hosts = [...this.#hosts.values()];
    for (const name of [this.#bridge, ...hosts.flatMap((h) => [h.iface, h.port])]) {
      _checkIfname(name);
    }
    await _must(this.#ip, ["-batch", "-"], hosts.map((h) => `netns add ${h.ns}`));
    // The veth pairs are made inside the bridge namespace with their host end sent straight to
    // the host's namespace, so no lab interface ever appears in the root namespace. No IPv6
    // link-local addresses (addrgenmode none): no DAD, router or MLD chatter between hosts.
    const br = this.#bridge;
    await _must(this.#ip, ["-n", this.#bridgeNs, "-batch", "-"], [
      `link add ${br} type bridge`,
      `link set ${br} addrgenmode none`,
      `link set ${br} up`,
      ...hosts.flatMap((h) => [
        `link add ${h.port} type veth peer name ${h.iface} netns ${h.ns}`,
        `link set ${h.port} addrgenmode none`,
        `link set ${h.port} master ${br} up`,
      ]),
    ]);
    await Promise.all(hosts.map((h) =>
      _must(this.#ip, ["-n", h.ns, "-batch", "-"], [
        "link set lo up",
        `link set ${h.iface} addrgenmode none`,
        `addr add ${h.addr}/24 dev ${h.iface}`,
        `link set ${h.iface} up`,
      ])
    ));
    await this.#waitForwarding(hosts.map((h) => h.port));
  }

  /** Waits until these bridge ports are up and forwarding (carrier changes reach the bridge
   * through the kernel's link watcher, which may lag). */
  async #waitForwarding(ports: string[]): Promise<void> {
    const deadline = Date.now() + _READY_TIMEOUT_MS;
    let states: Record<string, string> = {};
    while (Date.now() < deadline) {
      const out = await _must(this.#ip, [
        "-n",
        this.#bridgeNs,
        "-d",
        "-j",
        "link",
        "show",
        "master",
        this.#bridge,
      ]);
      states = _portStates(out);
      if (ports.every((p) => states[p] === "UP forwarding")) return;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new NetLabError(
      "create_failed",
      `Bridge ports did not start forwarding within ${_READY_TIMEOUT_MS} ms, expected ${
        ports.join(", ")
      } to be "UP forwarding", got ${JSON.stringify(states)}`,
    );
  }

  /** Runs an nft script in the host's namespace after any earlier one there. */
  #nft(h: _Host, script: string): Promise<void> {
    const run = (this.#nftQueue.get(h.name) ?? Promise.resolve())
      .catch(() => {}) // an earlier failure was reported to its own caller
      .then(() => this.#nftNow(h, script));
    this.#nftQueue.set(h.name, run);
    return run;
  }

  /** Runs an nft script in the host's namespace, creating the lab's table there the first time:
   * one set of cut-off source addresses, dropped in prerouting at raw priority. */
  async #nftNow(h: _Host, script: string): Promise<void> {
    const nft = _tools().nft;
    if (nft === null) throw new NetLabError("unavailable", _missing("nft", "nftables"));
    const setup = this.#firewalled.has(h.name) ? [] : [
      "table ip netlab {",
      "  set cut_off { type ipv4_addr; }",
      "  chain prerouting {",
      "    type filter hook prerouting priority -300; policy accept;",
      "    ip saddr @cut_off drop",
      "  }",
      "}",
    ];
    // one nft transaction: the table and the element come together or not at all
    await _must(this.#ip, ["netns", "exec", h.ns, nft, "-f", "-"], [...setup, script]);
    this.#firewalled.add(h.name);
  }

  #host(name: string): _Host {
    const h = this.#hosts.get(name);
    if (h === undefined) {
      throw new RangeError(
        `Unknown host ${JSON.stringify(name)}, expected one of ${
          [...this.#hosts.keys()].join(", ")
        }`,
      );
    }
    return h;
  }

  #pair(a: string, b: string): [_Host, _Host] {
    const pair: [_Host, _Host] = [this.#host(a), this.#host(b)];
    if (a === b) throw new RangeError(`Cannot partition host ${a} from itself, expected two hosts`);
    return pair;
  }

  #checkLive(): void {
    if (this.#destroyed) {
      throw new NetLabError("destroyed", "This lab was destroyed, expected a live lab");
    }
  }
}

/**
 * Null if this machine can run a {@linkcode NetLab}; otherwise one line saying why not. Tries
 * the real thing in a throwaway namespace: a veth pair, a bridge and an nftables table.
 */
export async function netlabUnavailable(): Promise<string | null> {
  if (Deno.build.os !== "linux") {
    return `NetLab needs Linux network namespaces, but this system is ${Deno.build.os}`;
  }
  for (const name of ["run", "read"] as const) {
    if ((await Deno.permissions.query({ name })).state !== "granted") {
      return `NetLab needs --allow-${name} (it finds and runs ip, nft, runuser and cat)`;
    }
  }
  let uid: number | null = null;
  try {
    uid = Deno.uid();
  } catch {
    // no --allow-sys: the namespace probe below still tells
  }
  if (uid !== null && uid !== 0) {
    return `NetLab needs root to create network namespaces, but this process runs as uid ${uid}`;
  }
  const tools = _tools();
  if (tools.ip === null) return _missing("ip", "iproute2");
  if (tools.nft === null) return _missing("nft", "nftables");
  if (tools.runuser === null) return _missing("runuser", "util-linux");
  try {
    await NetLab.sweepStale();
  } catch {
    // leftovers of another run do not make this machine unfit
  }
  const ns = `${_PREFIX}${_owner()}-probe${crypto.randomUUID().slice(0, 8)}`;
  const made = await _run(tools.ip, ["netns", "add", ns]);
  if (made.code !== 0) {
    return `NetLab cannot create a network namespace here: ${_firstLine(made.stderr)}`;
  }
  const reason = await _probeNamespace(tools.ip, tools.nft, ns);
  try {
    _teardownSync(tools.ip, [ns]);
  } catch (e) {
    return reason ?? `NetLab cannot remove a namespace it made: ${(e as Error).message}`;
  }
  return reason;
}

/** Why the lab's building blocks fail in this fresh namespace, or null if they work. */
async function _probeNamespace(ip: string, nft: string, ns: string): Promise<string | null> {
  const links = await _run(ip, ["-n", ns, "-batch", "-"], [
    "link add nlprobe0 type veth peer name nlprobe1",
    "link add nlprobebr type bridge",
    "link set nlprobe0 master nlprobebr up",
  ]);
  if (links.code !== 0) {
    return `NetLab cannot create veth pairs and bridges in a namespace: ${
      _firstLine(links.stderr)
    }`;
  }
  const rules = await _run(ip, ["netns", "exec", ns, nft, "-f", "-"], [
    "table ip netlab_probe {",
    "  chain prerouting { type filter hook prerouting priority -300; policy accept; }",
    "}",
  ]);
  if (rules.code !== 0) {
    return `NetLab cannot add nftables rules in a namespace: ${_firstLine(rules.stderr)}`;
  }
  return null;
}

function _public(h: _Host): NetHost {
  return { name: h.name, ns: h.ns, addr: h.addr, iface: h.iface };
}

function _checkHosts(hosts: unknown): string[] {
  if (!Array.isArray(hosts)) {
    throw new TypeError(`Hosts must be an array of names, got ${typeof hosts}`);
  }
  if (hosts.length === 0 || hosts.length > _MAX_HOSTS) {
    throw new RangeError(`A lab needs 1 to ${_MAX_HOSTS} hosts, got ${hosts.length}`);
  }
  const seen = new Set<string>();
  for (const h of hosts) {
    if (typeof h !== "string" || !_HOST_NAME.test(h)) {
      throw new RangeError(
        `Host name ${JSON.stringify(h)} is invalid, expected [a-z][a-z0-9]{0,7}`,
      );
    }
    if (seen.has(h)) throw new RangeError(`Host name ${h} is given twice, expected unique names`);
    seen.add(h);
  }
  return [...seen];
}

/** `a.b.c.0/24` (private) to `a.b.c`. */
function _parseSubnet(subnet: string): string {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.0\/24$/.exec(subnet);
  const [a, b, c] = m === null ? [] : m.slice(1).map(Number);
  if (a === undefined || b === undefined || c === undefined || Math.max(a, b, c) > 255) {
    throw new RangeError(
      `Subnet ${JSON.stringify(subnet)} is invalid, expected like 10.201.7.0/24`,
    );
  }
  // a private range: should anything ever leak, it cannot mean a real host on the internet
  const isPrivate = a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168);
  if (!isPrivate) {
    throw new RangeError(
      `Subnet ${subnet} is not private, expected one in 10/8, 172.16/12 or 192.168/16`,
    );
  }
  return `${a}.${b}.${c}`;
}

function _randomSubnet(): string {
  for (;;) {
    const [b, c] = crypto.getRandomValues(new Uint8Array(2));
    const subnet = `10.${200 + (b! % 56)}.${c}`;
    if (!_subnetsInUse.has(subnet)) return subnet;
  }
}

function _checkIfname(name: string): void {
  if (name.length > _MAX_IFNAME) {
    throw new RangeError(
      `Interface name ${name} has ${name.length} characters, expected at most ${_MAX_IFNAME}`,
    );
  }
}

function _pairKey(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

/** This process as a namespace-name owner: `<pid>.<start time>` (start 0 if unreadable). */
function _owner(): string {
  _ownerCache ??= `${Deno.pid}.${_startTime(Deno.pid) ?? "0"}`;
  return _ownerCache;
}

/**
 * The process's start time in clock ticks since boot (field 22 of /proc/PID/stat); null if no
 * such process runs, undefined if that cannot be told.
 */
function _startTime(pid: number): string | null | undefined {
  const stat = _procStat(pid);
  if (typeof stat !== "string") return stat;
  // the command name (field 2) may hold spaces and parentheses: count from the last ")"
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
}

/** /proc/PID/stat; null if there is no such process, undefined if it cannot be read. */
function _procStat(pid: number): string | null | undefined {
  const path = `/proc/${pid}/stat`;
  try {
    return Deno.readTextFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
  }
  // Deno 2 asks for --allow-all to read anything under /proc; `cat` needs only --allow-run,
  // which the lab needs anyway.
  const cat = _tools().cat;
  if (cat === null) return undefined;
  try {
    const r = _runSync(cat, [path]);
    if (r.code === 0) return r.stdout;
    return /No such file/i.test(r.stderr) ? null : undefined;
  } catch {
    return undefined;
  }
}

function _ownerAlive(pid: number, start: string): boolean {
  const now = _startTime(pid);
  if (now === null) return false;
  // unsure (unreadable, or the owner's start unknown): keep a stale lab, never break a live one
  if (now === undefined || start === "0") return true;
  return now === start;
}

function _tools(): _Tools {
  _toolCache ??= {
    ip: _which("ip"),
    nft: _which("nft"),
    runuser: _which("runuser"),
    cat: _which("cat"),
  };
  return _toolCache;
}

/** The executable `name` in PATH or the sbin directories (root tools live there, and a test
 * runner's PATH may lack them). */
function _which(name: string): string | null {
  let path = "";
  try {
    path = Deno.env.get("PATH") ?? "";
  } catch {
    // no --allow-env: the usual directories below still count
  }
  for (const dir of [...path.split(":"), "/usr/sbin", "/sbin", "/usr/bin", "/bin"]) {
    if (dir === "") continue;
    try {
      const st = Deno.statSync(`${dir}/${name}`);
      if (st.isFile && ((st.mode ?? 0) & 0o111) !== 0) return `${dir}/${name}`;
    } catch {
      // not here
    }
  }
  return null;
}

function _missing(cmd: string, pkg: string): string {
  return `NetLab needs the ${cmd} command (Debian package ${pkg}), ` +
    "but it was not found in PATH, /usr/sbin or /sbin";
}

/** Kills everything running in these namespaces, then deletes them. */
function _teardownSync(ip: string, namespaces: string[]): void {
  let pids: number[] = [];
  for (let round = 0; round < _KILL_ROUNDS; round++) {
    pids = namespaces.flatMap((ns) => {
      const r = _runSync(ip, ["netns", "pids", ns]);
      return r.code === 0 ? r.stdout.split("\n").filter((l) => l !== "").map(Number) : [];
    });
    if (pids.length === 0) break;
    for (const pid of pids) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch {
        // exited since it was listed
      }
    }
    // A killed process leaves its namespace as it exits, a moment after the signal.
    _sleepSync(round === 0 ? 5 : 20);
  }
  // Judged per name, not by listing afterwards: a parallel worker may already reuse a freed name.
  const left = namespaces.filter((ns) =>
    _runSync(ip, ["netns", "del", ns]).code !== 0 && _nsFileExists(ns)
  );
  if (pids.length > 0 || left.length > 0) {
    throw new NetLabError(
      "teardown_incomplete",
      `Lab teardown left processes ${pids.join(", ") || "none"} and namespaces ${
        left.join(", ") || "none"
      }, expected nothing left`,
    );
  }
}

/** Whether iproute2's file for a named namespace exists. */
function _nsFileExists(ns: string): boolean {
  try {
    Deno.lstatSync(`/run/netns/${ns}`);
    return true;
  } catch (e) {
    // unsure (no permission, say): report it rather than claim it is gone
    return !(e instanceof Deno.errors.NotFound);
  }
}

/** Namespace names from `ip netns list` ("name" or "name (id: 3)" per line). */
function _nsNames(listing: string): string[] {
  return listing.split("\n").map((l) => l.split(" ")[0]!).filter((n) => n !== "");
}

/** `{ port: "<operstate> <bridge state>" }` from `ip -d -j link show master BR`. */
function _portStates(json: string): Record<string, string> {
  const states: Record<string, string> = {};
  const links = JSON.parse(json) as {
    ifname: string;
    operstate?: string;
    linkinfo?: { info_slave_data?: { state?: string } };
  }[];
  for (const l of links) {
    states[l.ifname] = `${l.operstate} ${l.linkinfo?.info_slave_data?.state}`;
  }
  return states;
}

function _firstLine(text: string): string {
  return text.trim().split("\n")[0] || "no error output";
}

function _sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Runs a command; `input` lines go to its stdin. */
async function _run(cmd: string, args: string[], input?: string[]): Promise<_Output> {
  const child = new Deno.Command(cmd, {
    args,
    stdin: input === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (input !== undefined) {
    const w = child.stdin.getWriter();
    try {
      await w.write(new TextEncoder().encode(input.map((l) => l + "\n").join("")));
      await w.close();
    } catch {
      // it exited before reading everything: its exit code and stderr say why
    }
  }
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

function _runSync(cmd: string, args: string[]): _Output {
  const out = new Deno.Command(cmd, { args, stdin: "null" }).outputSync();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Like {@linkcode _run}, but a failure throws NetLabError `command_failed`; returns stdout. */
async function _must(cmd: string, args: string[], input?: string[]): Promise<string> {
  const r = await _run(cmd, args, input);
  if (r.code !== 0) {
    const what = [cmd, ...args].join(" ");
    const given = input === undefined ? "" : ` with input ${JSON.stringify(input.join("; "))}`;
    throw new NetLabError(
      "command_failed",
      `Command ${what}${given} exited with ${r.code}, expected 0: ${_firstLine(r.stderr)}`,
    );
  }
  return r.stdout;
}
