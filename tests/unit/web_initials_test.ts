/** What the web client's initials avatars show (web/initials.ts). */

import assert from "node:assert/strict";
import { AVATAR_COLORS, avatarColor, initials } from "../../web/initials.ts";

Deno.test("initials() takes the first letters of up to two words, upper case", () => {
  assert.equal(initials("alice"), "A");
  assert.equal(initials("alice smith"), "AS");
  assert.equal(initials("bob_jones"), "BJ");
  assert.equal(initials("bob.jones.jr"), "BJ");
  assert.equal(initials("émile"), "É");
  assert.equal(initials("_x"), "X");
  assert.equal(initials("日本 語"), "日語");
  assert.equal(initials("__"), "?");
});

Deno.test("avatarColor() gives a name the same colour each time, spread over the palette", () => {
  assert.equal(avatarColor("alice"), avatarColor("alice"));
  assert.ok(AVATAR_COLORS.includes(avatarColor("bob")));
  const used = new Set(["alice", "bob", "carol", "dora", "erin", "frank"].map(avatarColor));
  assert.ok(used.size >= 4, `six names, ${used.size} colours`);
});

Deno.test("AVATAR_COLORS all carry white initials at a WCAG AA contrast", () => {
  const linear = (v: number) => v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  for (const hex of AVATAR_COLORS) {
    const [r, g, b] = [1, 3, 5].map((i) => linear(parseInt(hex.slice(i, i + 2), 16) / 255));
    const contrast = 1.05 / (0.2126 * r! + 0.7152 * g! + 0.0722 * b! + 0.05);
    assert.ok(contrast >= 4.5, `${hex}: ${contrast.toFixed(2)}:1`);
  }
});
