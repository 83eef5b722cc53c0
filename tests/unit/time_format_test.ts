/**
 * The one time format of both front ends (core/view/time_format.ts), at fixed instants, in
 * fixed locales and time zones: a 12-hour clock where the locale counts 12 hours, a padded
 * 24-hour one where it counts 24, and days as "Today", "Yesterday" or the locale's date.
 */

import assert from "node:assert/strict";
import { terminalLocale, TimeFormat } from "../../core/view/time_format.ts";

/** 2026-11-27 09:05 and 14:03 UTC. */
const _MORNING = Date.UTC(2026, 10, 27, 9, 5);
const _AFTERNOON = Date.UTC(2026, 10, 27, 14, 3);

/** Spaces as spaces: ICU puts a narrow no-break space before "PM". */
function _plain(s: string): string {
  return s.replace(/\s/g, " ");
}

Deno.test("TimeFormat.clock() writes 12 hours in en-US and 24 hours in en-GB and de-DE", () => {
  const us = new TimeFormat({ locale: "en-US", timeZone: "UTC" });
  assert.equal(_plain(us.clock(_MORNING)), "9:05 AM");
  assert.equal(_plain(us.clock(_AFTERNOON)), "2:03 PM");
  const gb = new TimeFormat({ locale: "en-GB", timeZone: "UTC" });
  assert.equal(gb.clock(_MORNING), "09:05");
  assert.equal(gb.clock(_AFTERNOON), "14:03");
  const de = new TimeFormat({ locale: "de-DE", timeZone: "UTC" });
  assert.equal(de.clock(_MORNING), "09:05");
  assert.equal(de.clock(_AFTERNOON), "14:03");
});

Deno.test("TimeFormat.clock() writes the time in its time zone", () => {
  const berlin = new TimeFormat({ locale: "de-DE", timeZone: "Europe/Berlin" });
  assert.equal(berlin.clock(_AFTERNOON), "15:03");
});

Deno.test("TimeFormat.day() says Today, Yesterday, or the date in the locale's words", () => {
  const now = Date.UTC(2026, 10, 28, 8, 0);
  const gb = new TimeFormat({ locale: "en-GB", timeZone: "UTC" });
  assert.equal(gb.day(Date.UTC(2026, 10, 28, 0, 1), now), "Today");
  assert.equal(gb.day(_AFTERNOON, now), "Yesterday");
  assert.equal(gb.day(Date.UTC(2026, 10, 26, 23, 59), now), "Thu, 26 Nov 2026");
  const us = new TimeFormat({ locale: "en-US", timeZone: "UTC" });
  assert.equal(us.day(Date.UTC(2026, 10, 26, 12), now), "Thu, Nov 26, 2026");
  const de = new TimeFormat({ locale: "de-DE", timeZone: "UTC" });
  assert.equal(de.day(Date.UTC(2026, 10, 26, 12), now), "Do., 26. Nov. 2026");
});

Deno.test("TimeFormat.day() counts calendar days in its time zone, across a DST change", () => {
  // 23:30 UTC on 27 Nov is already 28 Nov in Berlin.
  const berlin = new TimeFormat({ locale: "de-DE", timeZone: "Europe/Berlin" });
  assert.equal(berlin.day(Date.UTC(2026, 10, 27, 23, 30), Date.UTC(2026, 10, 28, 12)), "Today");
  // Berlin's clocks went back on 25 Oct 2026: 00:30 and 23:59 that day are 24.5 hours apart.
  assert.equal(berlin.day(Date.UTC(2026, 9, 24, 22, 30), Date.UTC(2026, 9, 25, 22, 59)), "Today");
  assert.equal(
    berlin.day(Date.UTC(2026, 9, 24, 21, 59), Date.UTC(2026, 9, 25, 22, 59)),
    "Yesterday",
  );
});

Deno.test("terminalLocale() reads LC_ALL, LC_TIME, LANG; C and POSIX mean en-GB", () => {
  assert.equal(terminalLocale({ LANG: "de_DE.UTF-8" }), "de-DE");
  assert.equal(terminalLocale({ LANG: "en_US.UTF-8", LC_TIME: "en_GB.UTF-8" }), "en-GB");
  assert.equal(terminalLocale({ LC_ALL: "fr_FR@euro", LANG: "de_DE.UTF-8" }), "fr-FR");
  assert.equal(terminalLocale({ LANG: "C.UTF-8" }), "en-GB");
  assert.equal(terminalLocale({ LANG: "POSIX" }), "en-GB");
  assert.equal(terminalLocale({}), "en-GB");
  assert.equal(terminalLocale({ LANG: "not a locale!" }), "en-GB");
});
