/**
 * How both front ends write times: the clock time of a message (`14:03` where the locale
 * counts 24 hours, `2:03 PM` where it counts 12) and the day a run of messages belongs to
 * ("Today", "Yesterday", or the date in the locale's words). The terminal client and the web
 * client make one {@linkcode TimeFormat} each, for the user's locale, so a message shows the
 * same time in both. Pure: the locale and the time zone are arguments.
 *
 * @module
 */

/** Where a {@linkcode TimeFormat} gets its conventions. */
export interface TimeFormatOptions {
  /** A BCP 47 tag such as `de-DE`; the runtime's default locale when absent. */
  readonly locale?: string;
  /** An IANA time zone such as `Europe/Berlin`; the runtime's own when absent. */
  readonly timeZone?: string;
}

/** Writes times and days for one locale and time zone (see the module documentation). */
export class TimeFormat {
  readonly #clock: Intl.DateTimeFormat;
  readonly #date: Intl.DateTimeFormat;
  readonly #ymd: Intl.DateTimeFormat;

  constructor(opts: TimeFormatOptions = {}) {
    const { locale, timeZone } = opts;
    // The locale's own hour cycle decides the shape: a 24-hour clock pads the hour (09:05) as
    // such locales write it, a 12-hour one does not (9:05 AM).
    const cycle = new Intl.DateTimeFormat(locale, { hour: "numeric", timeZone }).resolvedOptions()
      .hourCycle;
    const twelve = cycle === "h11" || cycle === "h12";
    this.#clock = new Intl.DateTimeFormat(locale, {
      hour: twelve ? "numeric" : "2-digit",
      minute: "2-digit",
      timeZone,
    });
    this.#date = new Intl.DateTimeFormat(locale, {
      weekday: "short",
      day: "numeric",
      month: "short",
      year: "numeric",
      timeZone,
    });
    this.#ymd = new Intl.DateTimeFormat("en-US", {
      year: "numeric",
      month: "numeric",
      day: "numeric",
      timeZone,
    });
  }

  /** The clock time of `at` (Unix milliseconds): `14:03`, `09:05`, `2:03 PM`. */
  clock(at: number): string {
    return this.#clock.format(at);
  }

  /** The calendar day of `at` in this time zone, as a day count: equal for the same day. */
  dayNumber(at: number): number {
    const parts = this.#ymd.formatToParts(at);
    const part = (type: string) => Number(parts.find((p) => p.type === type)?.value);
    // Whole days between calendar dates: no daylight saving hour can shift it.
    return Math.round(Date.UTC(part("year"), part("month") - 1, part("day")) / 86_400_000);
  }

  /** The day of `at` as a separator says it: "Today", "Yesterday", or the locale's date. */
  day(at: number, now: number): string {
    switch (this.dayNumber(now) - this.dayNumber(at)) {
      case 0:
        return "Today";
      case 1:
        return "Yesterday";
      default:
        return this.#date.format(at);
    }
  }
}

/**
 * The locale a terminal asks for, from its environment (`LC_ALL`, then `LC_TIME`, then
 * `LANG`, as POSIX orders them): `de_DE.UTF-8` is `de-DE`. The C and POSIX locales, or none,
 * name no convention: they get `en-GB`, a 24-hour clock as `date` shows there.
 */
export function terminalLocale(env: Readonly<Record<string, string | undefined>>): string {
  const raw = [env.LC_ALL, env.LC_TIME, env.LANG].find((v) => v !== undefined && v !== "") ?? "";
  const tag = raw.split(/[.@]/)[0]!.replace(/_/g, "-");
  if (tag === "" || tag === "C" || tag === "POSIX") return "en-GB";
  try {
    return Intl.getCanonicalLocales(tag)[0] ?? "en-GB";
  } catch (err) {
    if (err instanceof RangeError) return "en-GB"; // not a locale tag
    throw err;
  }
}
