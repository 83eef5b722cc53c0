/**
 * Linux `/proc` readers for the benchmark: CPU time (`/proc/PID/stat` utime + stime),
 * resident memory (`VmRSS`, `VmHWM` in `/proc/PID/status`), open descriptors and the
 * open-file limit. Parsers are pure (tested). Readers go through a `tail` child process (see
 * {@linkcode readProcFiles}) and leave out a process that is gone, or everything when `/proc`
 * is not there (not Linux).
 *
 * @module
 */

/**
 * Clock ticks per second of the utime/stime fields (`getconf CLK_TCK`). Linux fixes
 * USER_HZ at 100 on every architecture the benchmark runs on.
 */
export const CLOCK_TICKS_PER_SECOND = 100;

/** Memory of a process, in bytes. */
export interface ProcMemory {
  /** Resident set size now (VmRSS). */
  readonly rssBytes: number;
  /** Peak resident set size (VmHWM). */
  readonly peakBytes: number;
}

/**
 * User + system CPU ticks from the text of `/proc/PID/stat`. The command name (field 2) may
 * hold spaces and parentheses, so fields are counted from the last `)`.
 *
 * @throws {TypeError} If the text is not a stat line.
 */
export function parseProcStat(text: string): number {
  const close = text.lastIndexOf(")");
  const fields = close < 0 ? [] : text.slice(close + 2).trim().split(/\s+/);
  // After ")": field 3 (state) is index 0, so utime (14) and stime (15) are 11 and 12.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isSafeInteger(utime) || !Number.isSafeInteger(stime)) {
    throw new TypeError("Expected a /proc/PID/stat line with utime and stime fields");
  }
  return utime + stime;
}

/**
 * VmRSS and VmHWM from the text of `/proc/PID/status`.
 *
 * @throws {TypeError} If either line is missing.
 */
export function parseProcStatus(text: string): ProcMemory {
  const kb = (name: string) => {
    const m = new RegExp(`^${name}:\\s+([0-9]+) kB$`, "m").exec(text);
    if (!m) throw new TypeError(`Expected a ${name} line in /proc/PID/status`);
    return Number(m[1]) * 1024;
  };
  return { rssBytes: kb("VmRSS"), peakBytes: kb("VmHWM") };
}

/** Whole-machine CPU time from `/proc/stat`, in ticks summed over every core. */
export interface MachineCpu {
  /** user + nice + system + irq + softirq + steal. */
  readonly busy: number;
  /** Idle while some I/O (e.g. an fsync) was outstanding. */
  readonly iowait: number;
  /** Every state, idle included. */
  readonly total: number;
}

/**
 * The aggregate `cpu` line of `/proc/stat`.
 *
 * @throws {TypeError} If there is no such line.
 */
export function parseMachineCpu(text: string): MachineCpu {
  const m = /^cpu\s+([0-9 ]+)$/m.exec(text);
  const f = m ? m[1]!.trim().split(/\s+/).map(Number) : [];
  if (f.length < 8 || f.some((x) => !Number.isSafeInteger(x))) {
    throw new TypeError("Expected a /proc/stat cpu line with at least 8 fields");
  }
  const [user, nice, system, idle, iowait, irq, softirq, steal] = f as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const busy = user + nice + system + irq + softirq + steal;
  return { busy, iowait, total: busy + idle + iowait };
}

/** The soft open-file limit from the text of `/proc/PID/limits`; null if unlimited or absent. */
export function parseOpenFileLimit(text: string): number | null {
  const m = /^Max open files\s+(\S+)/m.exec(text);
  if (!m || m[1] === "unlimited") return null;
  const n = Number(m[1]);
  return Number.isSafeInteger(n) ? n : null;
}

/**
 * The text of several `/proc` files, read by one `tail` child process. Deno lets a program
 * read `/proc` only with --allow-all, which FastChat does not ask for; running a program
 * is within its permissions, and one `tail` reads every file at nearly the same instant.
 * A file that cannot be read (the process is gone) is missing from the map.
 */
export async function readProcFiles(paths: readonly string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (paths.length === 0) return out;
  let stdout: Uint8Array;
  try {
    ({ stdout } = await new Deno.Command("tail", {
      args: ["-v", "-n", "+1", "--", ...paths],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).output());
  } catch {
    return out; // no tail, or not Linux
  }
  return parseTailOutput(new TextDecoder().decode(stdout), paths);
}

/** Splits `tail -v` output (`==> PATH <==` before each file) into texts by path. */
export function parseTailOutput(text: string, paths: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  const wanted = new Set(paths);
  const parts = text.split(/^==> (.+) <==\n/m);
  // parts: [before, path1, text1, path2, text2, ...]
  for (let i = 1; i + 1 < parts.length; i += 2) {
    const path = parts[i]!;
    if (wanted.has(path)) out.set(path, parts[i + 1]!.replace(/\n\n$/, "\n"));
  }
  return out;
}

/** CPU ticks (user + system) each process has used so far; a gone process is missing. */
export async function readCpuTicks(pids: readonly number[]): Promise<Map<number, number>> {
  const texts = await readProcFiles(pids.map((p) => `/proc/${p}/stat`));
  const out = new Map<number, number>();
  for (const pid of pids) {
    const text = texts.get(`/proc/${pid}/stat`);
    if (text !== undefined) out.set(pid, parseProcStat(text));
  }
  return out;
}

/** CPU ticks of each process (a gone one is missing) and of the machine, read at once. */
export async function readCpuSnapshot(
  pids: readonly number[],
): Promise<{ ticks: Map<number, number>; machine: MachineCpu | null }> {
  const texts = await readProcFiles(["/proc/stat", ...pids.map((p) => `/proc/${p}/stat`)]);
  const ticks = new Map<number, number>();
  for (const pid of pids) {
    const text = texts.get(`/proc/${pid}/stat`);
    if (text !== undefined) ticks.set(pid, parseProcStat(text));
  }
  const stat = texts.get("/proc/stat");
  return { ticks, machine: stat === undefined ? null : parseMachineCpu(stat) };
}

/** Each process's resident memory; a gone process is missing. */
export async function readMemory(pids: readonly number[]): Promise<Map<number, ProcMemory>> {
  const texts = await readProcFiles(pids.map((p) => `/proc/${p}/status`));
  const out = new Map<number, ProcMemory>();
  for (const pid of pids) {
    const text = texts.get(`/proc/${pid}/status`);
    if (text !== undefined) out.set(pid, parseProcStatus(text));
  }
  return out;
}

/** This process's soft open-file limit; null if unknown or unlimited. */
export async function readOpenFileLimit(): Promise<number | null> {
  const path = `/proc/${Deno.pid}/limits`;
  const text = (await readProcFiles([path])).get(path);
  return text === undefined ? null : parseOpenFileLimit(text);
}

/** How many descriptors a process has open; null if it is gone. */
export async function countOpenFds(pid: number): Promise<number | null> {
  try {
    const { success, stdout } = await new Deno.Command("ls", {
      args: ["-1", "--", `/proc/${pid}/fd`],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).output();
    if (!success) return null;
    return new TextDecoder().decode(stdout).split("\n").filter((l) => l !== "").length;
  } catch {
    return null;
  }
}
