import assert from "node:assert/strict";
import { sha256 } from "@noble/hashes/sha2.js";
import {
  generateFernetKey,
  generateIdentityKeyPair,
  randomBytes,
  sign,
  toBase64Url,
  toHex,
  utf8,
} from "../../core/crypto/mod.ts";
import { fernetEncrypt } from "../../core/crypto/fernet.ts";
import { LIMITS } from "../../core/protocol/limits.ts";
import {
  DEFAULT_CHUNK_SIZE,
  E2eError,
  type E2eErrorCode,
  fernetKeyId,
  FileAssembler,
  type FileChunk,
  MAX_CHUNK_SIZE,
  MAX_FILE_NAME_BYTES,
  MAX_FILE_SIZE,
  MIN_CHUNK_SIZE,
  openDirect,
  type OpenedContent,
  openGroup,
  safeFileName,
  sealDirect,
  sealGroup,
  splitFile,
} from "../../core/e2e/mod.ts";
import { envelopeSignedData } from "../../core/e2e/e2e_envelope.ts";

const ALICE = generateIdentityKeyPair();

/** Random bytes of any length (the core's randomBytes stops at 64 KiB per call). */
function randomFile(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let o = 0; o < n; o += 65536) out.set(randomBytes(Math.min(65536, n - o)), o);
  return out;
}
const KEY = generateFernetKey();
const KID = fernetKeyId(KEY);

function assertE2e(fn: () => unknown, code: E2eErrorCode, message?: RegExp): E2eError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof E2eError, `expected E2eError(${code}), got ${caught}`);
  assert.equal(caught.code, code, `expected ${code}, got ${caught.code}: ${caught.message}`);
  if (message !== undefined) assert.match(caught.message, message);
  return caught;
}

/** A deterministic shuffle (seeded LCG), so failures reproduce. */
function shuffle<T>(items: T[], seed = 12345): T[] {
  const out = items.slice();
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function sealDm(chunk: FileChunk): string {
  return sealDirect({
    fromId: 1,
    toId: 2,
    fernetKey: KEY,
    plaintext: chunk,
    senderIdentitySecret: ALICE.secretKey,
  });
}

function openDm(body: string): OpenedContent {
  return openDirect(body, {
    fromId: 1,
    toId: 2,
    keysByKid: (kid) => (kid === KID ? KEY : undefined),
    senderIdentityPublic: ALICE.publicKey,
  });
}

function fileOf(opened: OpenedContent): FileChunk {
  assert.equal(opened.kind, "file");
  return (opened as Extract<OpenedContent, { kind: "file" }>).chunk;
}

/** Seals every chunk as a dm, shuffles and duplicates the bodies, opens and assembles. */
function sendFile(bytes: Uint8Array, name: string, chunkSize?: number) {
  const chunks = splitFile(bytes, name, chunkSize);
  const bodies = chunks.map(sealDm);
  for (const body of bodies) assert.ok(body.length < LIMITS.bodyChars);
  const delivered = shuffle([...bodies, ...bodies.slice(0, 2)]);
  const assembler = new FileAssembler();
  const results = delivered.map((b) => assembler.add(fileOf(openDm(b)), "dm:1"));
  const done = results.filter((r) => r !== undefined);
  assert.equal(done.length, 1, "exactly one add completes the file");
  assert.deepEqual(assembler.progress(), []);
  return { chunks, file: done[0]! };
}

// ------------------------------------------------------------------------------------------
// Round trips

Deno.test("file round trip: empty, 1 byte, exactly one chunk, one chunk + 1 byte", () => {
  const sizes = [0, 1, DEFAULT_CHUNK_SIZE, DEFAULT_CHUNK_SIZE + 1];
  const counts = [1, 1, 1, 2];
  sizes.forEach((size, i) => {
    const bytes = randomFile(size);
    const { chunks, file } = sendFile(bytes, "notes.txt");
    assert.equal(chunks.length, counts[i]);
    assert.equal(file.name, "notes.txt");
    assert.equal(file.size, size);
    assert.equal(file.sha256, toHex(sha256(bytes)));
    assert.deepEqual(file.bytes, bytes);
  });
});

Deno.test("file round trip: 300 KiB random, shuffled and duplicated chunks", () => {
  const bytes = randomFile(300 * 1024);
  const { chunks, file } = sendFile(bytes, "photo.jpg");
  assert.equal(chunks.length, Math.ceil(bytes.length / DEFAULT_CHUNK_SIZE));
  assert.deepEqual(file.bytes, bytes);
  // Every chunk names the same file.
  assert.equal(new Set(chunks.map((c) => c.file.id)).size, 1);
  assert.match(chunks[0]!.file.id, /^[A-Za-z0-9_-]{22}$/);
});

Deno.test("file round trip over group messages, with a small chunk size", () => {
  const bytes = randomBytes(10_000);
  const chunks = splitFile(bytes, "../../etc/passwd", MIN_CHUNK_SIZE);
  assert.equal(chunks.length, 10);
  assert.equal(chunks[0]!.file.name, "passwd");
  const assembler = new FileAssembler();
  let done;
  for (const chunk of shuffle(chunks, 99)) {
    const body = sealGroup({
      fromId: 1,
      groupId: 4,
      epoch: 3,
      fernetKey: KEY,
      plaintext: chunk,
      senderIdentitySecret: ALICE.secretKey,
    });
    const opened = openGroup(body, {
      fromId: 1,
      groupId: 4,
      keyForEpoch: (e) => (e === 3 ? KEY : undefined),
      senderIdentityPublic: ALICE.publicKey,
    });
    assert.equal(opened.epoch, 3);
    done = assembler.add(fileOf(opened), "gm:4:1") ?? done;
  }
  assert.deepEqual(done?.bytes, bytes);
});

Deno.test("splitFile: argument checks", () => {
  assert.throws(() => splitFile("x" as unknown as Uint8Array, "a"), TypeError);
  assert.throws(() => splitFile(new Uint8Array(1), 1 as unknown as string), TypeError);
  assert.throws(() => splitFile(new Uint8Array(1), "a", MIN_CHUNK_SIZE - 1), RangeError);
  assert.throws(() => splitFile(new Uint8Array(1), "a", MAX_CHUNK_SIZE + 1), RangeError);
  assert.throws(() => splitFile(new Uint8Array(1), "a", 2000.5), RangeError);
  assert.throws(() => splitFile(new Uint8Array(MAX_FILE_SIZE + 1), "a"), /File too large/);
});

// ------------------------------------------------------------------------------------------
// Body size

Deno.test("the largest chunk's envelope stays below LIMITS.bodyChars", () => {
  // Worst case: largest chunk, longest name (255 UTF-8 bytes), largest numbers everywhere.
  const name = "€".repeat(85);
  assert.equal(utf8(name).length, MAX_FILE_NAME_BYTES);
  const count = Math.ceil(MAX_FILE_SIZE / MIN_CHUNK_SIZE);
  const chunk: FileChunk = {
    file: {
      id: toBase64Url(randomBytes(16), false),
      name,
      size: MAX_FILE_SIZE,
      sha256: "f".repeat(64),
      index: count - 1,
      count,
    },
    data: randomFile(MAX_CHUNK_SIZE),
  };
  const body = sealGroup({
    fromId: Number.MAX_SAFE_INTEGER,
    groupId: Number.MAX_SAFE_INTEGER,
    epoch: Number.MAX_SAFE_INTEGER,
    fernetKey: KEY,
    plaintext: chunk,
    senderIdentitySecret: ALICE.secretKey,
    now: Number.MAX_SAFE_INTEGER,
  });
  assert.ok(
    body.length < LIMITS.bodyChars,
    `max chunk body is ${body.length} characters, limit ${LIMITS.bodyChars}`,
  );
  // The default chunk is far below: about 88,000 characters.
  const small = sealDm({ ...chunk, data: randomBytes(DEFAULT_CHUNK_SIZE) });
  assert.ok(small.length < 90_000, `default chunk body is ${small.length} characters`);
});

// ------------------------------------------------------------------------------------------
// Assembler checks

function chunksOf(size: number, name = "a.bin") {
  return splitFile(randomBytes(size), name, MIN_CHUNK_SIZE);
}

Deno.test("FileAssembler: checksum mismatch is bad_file and drops the file", () => {
  const chunks = chunksOf(3000);
  const bad = chunks.map((c, i) => {
    if (i !== 1) return c;
    const data = c.data.slice();
    data[0] = data[0]! ^ 1;
    return { ...c, data };
  });
  const a = new FileAssembler();
  a.add(bad[0]!);
  a.add(bad[1]!);
  assertE2e(() => a.add(bad[2]!), "bad_file", /fails its SHA-256 checksum/);
  assert.deepEqual(a.progress(), []);
  // The good chunks still assemble afterwards.
  let done;
  for (const c of chunks) done = a.add(c) ?? done;
  assert.equal(done?.size, 3000);
});

Deno.test("FileAssembler: inconsistent metadata is bad_file", () => {
  const chunks = chunksOf(3000);
  const [c0, c1] = [chunks[0]!, chunks[1]!];
  const variants: [string, FileChunk][] = [
    ["name", { ...c1, file: { ...c1.file, name: "other.bin" } }],
    ["size", { ...c1, file: { ...c1.file, size: 3001 } }],
    ["count", { ...c1, file: { ...c1.file, count: 2 } }],
    ["sha256", { ...c1, file: { ...c1.file, sha256: "0".repeat(64) } }],
  ];
  for (const [what, variant] of variants) {
    const a = new FileAssembler();
    a.add(c0);
    assertE2e(() => a.add(variant), "bad_file", /disagrees with earlier chunks/);
    assert.equal(a.progress()[0]?.received, 1, what);
  }
});

Deno.test("FileAssembler: index out of range, bad shapes and sizes are bad_file", () => {
  const c = chunksOf(3000)[0]!;
  const cases: [FileChunk, RegExp][] = [
    [{ ...c, file: { ...c.file, index: 3 } }, /index/],
    [{ ...c, file: { ...c.file, index: -1 } }, /index/],
    [{ ...c, file: { ...c.file, count: 0 } }, /count/],
    [{ ...c, file: { ...c.file, count: 4 } }, /count/],
    [{ ...c, file: { ...c.file, id: "short" } }, /file ID/],
    [{ ...c, file: { ...c.file, name: "../x" } }, /safe file name/],
    [{ ...c, file: { ...c.file, sha256: "F".repeat(64) } }, /SHA-256/],
    [{ ...c, file: { ...c.file, size: -1 } }, /size/],
    [{ ...c, data: new Uint8Array(0) }, /empty/],
    [{ ...c, data: new Uint8Array(MAX_CHUNK_SIZE + 1) }, /larger/],
    [{ ...c, data: "x" as unknown as Uint8Array }, /bytes/],
  ];
  for (const [chunk, message] of cases) {
    assertE2e(() => new FileAssembler().add(chunk), "bad_file", message);
  }
});

Deno.test("FileAssembler: total size mismatch is bad_file", () => {
  // Three chunks claiming 3000 bytes but holding 3 * 500.
  const c = chunksOf(3000);
  const short = c.map((x) => ({ ...x, data: x.data.subarray(0, 500) }));
  const a = new FileAssembler();
  a.add(short[0]!);
  a.add(short[1]!);
  assertE2e(() => a.add(short[2]!), "bad_file", /1500 bytes once assembled, but declares 3000/);
  // More data than declared is caught as it arrives.
  const big = c.map((x) => ({ ...x, data: new Uint8Array(1024) }));
  const b = new FileAssembler();
  b.add(big[0]!);
  b.add(big[1]!);
  assertE2e(() => b.add(big[2]!), "bad_file", /more data than its declared 3000 bytes/);
});

Deno.test("FileAssembler: duplicates are ignored, different duplicates rejected", () => {
  const c = chunksOf(3000);
  const a = new FileAssembler();
  assert.equal(a.add(c[0]!), undefined);
  assert.equal(a.add(c[0]!), undefined);
  assert.equal(a.progress()[0]?.received, 1);
  const altered = { ...c[0]!, data: c[0]!.data.map((b) => b ^ 0xff) };
  assertE2e(() => a.add(altered), "bad_file", /arrived twice with different data/);
  a.add(c[1]!);
  const done = a.add(c[2]!);
  assert.equal(done?.size, 3000);
  // Late duplicates after completion are ignored too.
  assert.equal(a.add(c[1]!), undefined);
  assert.deepEqual(a.progress(), []);
});

Deno.test("FileAssembler: sources keep senders apart; limits; discard", () => {
  const c = chunksOf(3000);
  const a = new FileAssembler();
  a.add(c[0]!, "dm:1");
  // Mallory reuses the file ID with other metadata: her own source, no interference.
  a.add({ ...c[0]!, file: { ...c[0]!.file, name: "evil.exe" } }, "dm:666");
  assert.equal(a.progress().length, 2);
  assert.equal(a.discard(c[0]!.file.id, "dm:666"), true);
  assert.equal(a.discard(c[0]!.file.id, "dm:666"), false);
  a.add(c[1]!, "dm:1");
  assert.equal(a.add(c[2]!, "dm:1")?.name, "a.bin");

  const small = new FileAssembler({ maxBytes: 2000 });
  assertE2e(() => small.add(c[0]!), "bad_file", /more than the 2000 accepted/);
  const two = new FileAssembler({ maxBytes: 3000 });
  const other = chunksOf(3000);
  two.add(c[0]!);
  two.add(other[0]!);
  assertE2e(() => two.add(c[1]!), "bad_file", /more than 3000 bytes/);
  // Completing or discarding a file frees its bytes.
  assert.equal(two.discard(other[0]!.file.id), true);
  two.add(c[1]!);
  assert.equal(two.add(c[2]!)?.size, 3000);
  assert.throws(() => new FileAssembler({ maxBytes: -1 }), RangeError);
});

Deno.test("opened file names are sanitized; malformed file content is bad_content", () => {
  const build = (inner: string) => {
    const ct = fernetEncrypt(KEY, utf8(inner));
    const sig = toBase64Url(
      sign(ALICE.secretKey, envelopeSignedData("dm", [1, 2, KID, ct, ""])),
      false,
    );
    return JSON.stringify({ v: 1, t: "dm", kid: KID, ct, sig });
  };
  const data = new Uint8Array([1, 2, 3]);
  const file = {
    id: toBase64Url(randomBytes(16), false),
    name: "../../.bashrc\u202Etxt.exe",
    size: 3,
    sha256: toHex(sha256(data)),
    index: 0,
    count: 1,
  };
  const ok = fileOf(openDm(build(JSON.stringify({ file, data: toBase64Url(data, false), ts: 1 }))));
  assert.equal(ok.file.name, "bashrctxt.exe");
  assert.equal(new FileAssembler().add(ok)?.name, "bashrctxt.exe");
  const bad: [string, RegExp][] = [
    [JSON.stringify({ file, data: "AQID=", ts: 1 }), /"data"/],
    [JSON.stringify({ file, data: "AQJ", ts: 1 }), /canonical/],
    [JSON.stringify({ file, data: "AQIDBA", ts: 1 }), /larger than the file/],
    [JSON.stringify({ file: { ...file, extra: 1 }, data: "AQID", ts: 1 }), /unknown field/],
    [JSON.stringify({ file: { ...file, name: 5 }, data: "AQID", ts: 1 }), /file name/],
    [JSON.stringify({ file: { ...file, name: "x".repeat(1025) }, data: "AQID", ts: 1 }), /name/],
    [JSON.stringify({ file: { ...file, index: 1 }, data: "AQID", ts: 1 }), /index/],
    [JSON.stringify({ file, data: "AQID" }), /"ts"/],
    [JSON.stringify({ file: [], data: "AQID", ts: 1 }), /"file" must be an object/],
  ];
  for (const [inner, message] of bad) {
    assertE2e(() => openDm(build(inner)), "bad_content", message);
  }
});

// ------------------------------------------------------------------------------------------
// safeFileName

Deno.test("safeFileName: cases", () => {
  const cases: [string, string][] = [
    ["report.pdf", "report.pdf"],
    ["../../etc/passwd", "passwd"],
    ["C:\\Windows\\System32\\evil.dll", "evil.dll"],
    ["dir/sub/", "sub"],
    ["..", "file"],
    [".", "file"],
    ["", "file"],
    ["/", "file"],
    ["...", "file"],
    [".bashrc", "bashrc"],
    ["..hidden", "hidden"],
    ["file..txt", "file.txt"],
    ["a\u0000b\u0007c\u007f\u0085d", "abcd"],
    ["line\nbreak\r.txt", "linebreak.txt"],
    ["photo\u202Egpj.exe", "photogpj.exe"],
    ["zero\u200Bwidth", "zerowidth"],
    ['a<b>c:d"e|f?g*h', "a_b_c_d_e_f_g_h"],
    ["  spaced out  ", "spaced out"],
    ["trailing. . .", "trailing"],
    ["con", "_con"],
    ["CON.txt", "_CON.txt"],
    ["lpt1", "_lpt1"],
    ["console.txt", "console.txt"],
    ["e\u0301t\u00e9.txt", "\u00e9t\u00e9.txt"],
    ["lone\uD800surrogate", "lone\uFFFDsurrogate"],
    ["日本語のファイル.txt", "日本語のファイル.txt"],
  ];
  for (const [input, expected] of cases) {
    assert.equal(safeFileName(input), expected, JSON.stringify(input));
  }
  assert.throws(() => safeFileName(5 as unknown as string), TypeError);
});

Deno.test("safeFileName: long names keep their extension and at most 255 UTF-8 bytes", () => {
  const long = safeFileName("a".repeat(300) + ".txt");
  assert.equal(utf8(long).length, MAX_FILE_NAME_BYTES);
  assert.ok(long.endsWith(".txt"));
  const wide = safeFileName("😀".repeat(100) + ".jpeg");
  assert.ok(utf8(wide).length <= MAX_FILE_NAME_BYTES);
  assert.ok(wide.endsWith(".jpeg"));
  assert.equal(wide.toWellFormed(), wide, "no split surrogate pairs");
  const noExt = safeFileName("é".repeat(200));
  assert.equal(utf8(noExt).length, 254);
  // An "extension" too long to be one is cut like the rest.
  const longExt = safeFileName("a." + "b".repeat(400));
  assert.equal(utf8(longExt).length, MAX_FILE_NAME_BYTES);
});

Deno.test("safeFileName: idempotent on random input", () => {
  const alphabet = [
    "a",
    "Z",
    ".",
    " ",
    "/",
    "\\",
    ":",
    "\u0000",
    "\u200B",
    "\u0301",
    "e",
    "é",
    "😀",
    "\uD800",
    "\u202E",
    "\u2028",
    "€",
    "c",
    "o",
    "n",
  ];
  let s = 42;
  const next = () => (s = (s * 1103515245 + 12345) % 2 ** 31);
  for (let i = 0; i < 2000; i++) {
    let name = "";
    const len = next() % 300;
    for (let j = 0; j < len; j++) name += alphabet[next() % alphabet.length];
    const once = safeFileName(name);
    assert.equal(safeFileName(once), once, JSON.stringify(name));
    assert.ok(once.length > 0);
    assert.ok(utf8(once).length <= MAX_FILE_NAME_BYTES);
    assert.ok(!/[/\\\p{Cc}\p{Cf}]/u.test(once));
    assert.ok(!once.includes(".."));
    assert.ok(!once.startsWith("."));
  }
});
