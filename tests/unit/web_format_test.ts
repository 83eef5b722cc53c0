/** How the web client writes sizes, file messages and the connection (web/format.ts). */

import assert from "node:assert/strict";
import { connText, fileLabel, formatSize } from "../../web/format.ts";

Deno.test("formatSize() writes bytes, KB, MB and GB as people read them", () => {
  assert.equal(formatSize(0), "0 B");
  assert.equal(formatSize(1023), "1023 B");
  assert.equal(formatSize(1024), "1 KB");
  assert.equal(formatSize(4608), "4.5 KB");
  assert.equal(formatSize(204_800), "200 KB");
  assert.equal(formatSize(50_000), "49 KB");
  assert.equal(formatSize(1_572_864), "1.5 MB");
  assert.equal(formatSize(3 * 1024 ** 3), "3 GB");
});

Deno.test("fileLabel() writes the name and size, or the name alone when the size is unknown", () => {
  assert.equal(fileLabel({ name: "photo.bin", size: 204_800 }), "photo.bin · 200 KB");
  assert.equal(fileLabel({ name: "photo.bin", size: null }), "photo.bin");
});

Deno.test("connText() names the server when online, the attempt when reconnecting", () => {
  assert.equal(connText("online", 3, 0), "Online · server 3");
  assert.equal(connText("reconnecting", 1, 2), "Reconnecting (attempt 2)…");
  assert.equal(connText("reconnecting", 1, 0), "Reconnecting…");
  assert.equal(connText("connecting", null, 0), "Connecting…");
  assert.equal(connText("offline", 1, 0), "Offline");
});
