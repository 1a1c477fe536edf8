/**
 * A model of Python's `datetime.datetime` that keeps naive and aware values
 * apart and microsecond precision, with `isoformat()` and the parsing rules
 * of Python 3.12's `datetime.fromisoformat` (the C implementation). Pure: no
 * I/O.
 *
 * @module
 */

const US_PER_SECOND = 1_000_000;
const US_PER_DAY = 86_400 * US_PER_SECOND;

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}

function isLeap(year: number): boolean {
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeap(year) ? 29 : 28;
  return MONTH_DAYS[month - 1]!;
}

function ok(v: number, min: number, max: number): boolean {
  return Number.isInteger(v) && v >= min && v <= max;
}

/** `"00"` to `"99"`. */
const PAD2: string[] = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, "0"));

/** Days from 1970-01-01 to a date of the proleptic Gregorian calendar (negative before). */
function daysFromEpoch(year: number, month: number, day: number): number {
  // Counted in 400-year eras from 0000-03-01, so that February ends each year.
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

/** Days from 0001-01-01 (day 1) to the date, as Python's `toordinal()`. */
function toOrdinal(year: number, month: number, day: number): number {
  const y = year - 1;
  let days = y * 365 + Math.floor(y / 4) - Math.floor(y / 100) + Math.floor(y / 400);
  for (let m = 1; m < month; m++) days += daysInMonth(year, m);
  return days + day;
}

function fromOrdinal(ordinal: number): [number, number, number] {
  const d = new Date(Date.UTC(1970, 0, 1) + (ordinal - toOrdinal(1970, 1, 1)) * 86_400_000);
  return [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate()];
}

/** The calendar fields of one UTC second, kept by `fromEpochMicroseconds`. */
interface SecondFields {
  at: number;
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

let lastSecond: SecondFields | undefined;

/**
 * Python's `isoformat()` of a datetime, with or without its offset (without:
 * as `replace(tzinfo=None).isoformat()`).
 *
 * @param t The datetime.
 * @param withOffset Whether to write the offset of an aware value.
 * @returns The ISO string.
 */
export function formatIso(t: PyDateTime, withOffset: boolean): string {
  const y = t.year;
  let s = (y >= 1000 ? String(y) : String(y).padStart(4, "0")) + "-" + PAD2[t.month]! + "-" + PAD2[t.day]! + "T" +
    PAD2[t.hour]! + ":" + PAD2[t.minute]! + ":" + PAD2[t.second]!;
  const us = t.microsecond;
  if (us !== 0) s += "." + (us >= 100_000 ? String(us) : String(us).padStart(6, "0"));
  if (withOffset && t.utcOffset !== null) {
    let off = t.utcOffset;
    const sign = off < 0 ? "-" : "+";
    off = Math.abs(off);
    const ous = off % US_PER_SECOND;
    const secs = (off - ous) / US_PER_SECOND;
    s += `${sign}${pad(Math.floor(secs / 3600), 2)}:${pad(Math.floor(secs / 60) % 60, 2)}`;
    if (secs % 60 !== 0 || ous !== 0) s += `:${pad(secs % 60, 2)}`;
    if (ous !== 0) s += `.${pad(ous, 6)}`;
  }
  return s;
}

/** The fields of a {@linkcode PyDateTime}. */
export interface PyDateTimeFields {
  /** 1 to 9999. */
  year: number;
  /** 1 to 12. */
  month: number;
  /** 1 to the month's length. */
  day: number;
  /** 0 to 23. Default 0. */
  hour?: number | undefined;
  /** 0 to 59. Default 0. */
  minute?: number | undefined;
  /** 0 to 59. Default 0. */
  second?: number | undefined;
  /** 0 to 999999. Default 0. */
  microsecond?: number | undefined;
  /**
   * The UTC offset in microseconds (strictly between -24 h and 24 h); `null`
   * or absent for a naive value.
   */
  utcOffset?: number | null | undefined;
}

/**
 * A Python `datetime.datetime`: calendar fields to the microsecond, and a
 * UTC offset for an aware value or none (`utcOffset === null`) for a naive
 * one. PostTroll writes datetimes with `isoformat()` and reads them with
 * `fromisoformat()`, so both are here, byte for byte.
 *
 * @example
 * ```ts
 * import { PyDateTime } from "@x/pubsub/posttroll";
 *
 * const t = PyDateTime.fromisoformat("2024-05-06T07:08:09+02:00");
 * console.log(t.isoformat()); // 2024-05-06T07:08:09+02:00
 * console.log(t.toDate().toISOString()); // 2024-05-06T05:08:09.000Z
 * console.log(t.naive().isoformat()); // 2024-05-06T07:08:09
 * ```
 */
export class PyDateTime {
  /** 1 to 9999. */
  readonly year: number;
  /** 1 to 12. */
  readonly month: number;
  /** 1 to 31. */
  readonly day: number;
  /** 0 to 23. */
  readonly hour: number;
  /** 0 to 59. */
  readonly minute: number;
  /** 0 to 59. */
  readonly second: number;
  /** 0 to 999999. */
  readonly microsecond: number;
  /** The UTC offset in microseconds; `null` for a naive value. */
  readonly utcOffset: number | null;

  /**
   * Creates a datetime.
   *
   * @param fields The calendar fields and the offset.
   * @throws {RangeError} When a field is out of range, as Python's `datetime()` would raise.
   */
  constructor(fields: PyDateTimeFields) {
    const { year, month, day } = fields;
    const hour = fields.hour ?? 0;
    const minute = fields.minute ?? 0;
    const second = fields.second ?? 0;
    const microsecond = fields.microsecond ?? 0;
    const offset = fields.utcOffset ?? null;
    if (
      !(ok(year, 1, 9999) && ok(month, 1, 12) && ok(day, 1, 31) && day <= daysInMonth(year, month) &&
        ok(hour, 0, 23) && ok(minute, 0, 59) && ok(second, 0, 59) && ok(microsecond, 0, 999_999) &&
        (offset === null || ok(offset, -US_PER_DAY + 1, US_PER_DAY - 1)))
    ) {
      const check = (name: string, v: number, min: number, max: number): void => {
        if (!ok(v, min, max)) {
          throw new RangeError(
            `Creating a datetime failed: ${name} ${String(v)} is not an integer from ${min} to ${max}`,
          );
        }
      };
      check("year", year, 1, 9999);
      check("month", month, 1, 12);
      check("day", day, 1, daysInMonth(year, month));
      check("hour", hour, 0, 23);
      check("minute", minute, 0, 59);
      check("second", second, 0, 59);
      check("microsecond", microsecond, 0, 999_999);
      if (offset !== null) check("utcOffset", offset, -US_PER_DAY + 1, US_PER_DAY - 1);
    }
    this.year = year;
    this.month = month;
    this.day = day;
    this.hour = hour;
    this.minute = minute;
    this.second = second;
    this.microsecond = microsecond;
    this.utcOffset = offset;
  }

  /** Whether the value has a UTC offset. */
  get aware(): boolean {
    return this.utcOffset !== null;
  }

  /**
   * Microseconds since 1970-01-01T00:00:00 UTC (a naive value is read as
   * UTC).
   *
   * @returns The instant, in microseconds.
   */
  epochMicroseconds(): number {
    const seconds = ((daysFromEpoch(this.year, this.month, this.day) * 24 + this.hour) * 60 + this.minute) * 60 +
      this.second;
    return seconds * US_PER_SECOND + this.microsecond - (this.utcOffset ?? 0);
  }

  /**
   * The instant as a `Date` (millisecond precision; a naive value is read as
   * UTC, as PostTroll's naive times are).
   *
   * @returns The date.
   */
  toDate(): Date {
    return new Date(Math.floor(this.epochMicroseconds() / 1000));
  }

  /**
   * The same fields without the offset (Python's `replace(tzinfo=None)`): the
   * wall time is kept, not converted to UTC.
   *
   * @returns A naive datetime.
   */
  naive(): PyDateTime {
    if (this.utcOffset === null) return this;
    return new PyDateTime({ ...this, utcOffset: null });
  }

  /**
   * Python's `isoformat()`: `YYYY-MM-DDTHH:MM:SS`, then `.ffffff` unless the
   * microseconds are 0, then the offset as `+HH:MM` (with `:SS` and
   * `.ffffff` where needed) for an aware value.
   *
   * @returns The ISO string.
   */
  isoformat(): string {
    return formatIso(this, true);
  }

  /**
   * The ISO string.
   *
   * @returns {@linkcode PyDateTime.isoformat}.
   */
  toString(): string {
    return this.isoformat();
  }

  /**
   * The ISO string, for `JSON.stringify`.
   *
   * @returns {@linkcode PyDateTime.isoformat}.
   */
  toJSON(): string {
    return this.isoformat();
  }

  /**
   * An aware UTC datetime from an instant in microseconds since the epoch.
   *
   * @param us Microseconds since 1970-01-01T00:00:00 UTC.
   * @param aware Whether to make it aware (`+00:00`), default true.
   * @returns The datetime.
   * @throws {RangeError} When the instant is outside years 1 to 9999.
   */
  static fromEpochMicroseconds(us: number, aware = true): PyDateTime {
    if (!Number.isFinite(us)) {
      throw new RangeError(`Creating a datetime failed: ${String(us)} is not a finite number of microseconds`);
    }
    us = Math.floor(us);
    const micro = ((us % 1000) + 1000) % 1000;
    // As `new Date(ms)` reads it (beyond 2^53 µs the division may leave a fraction).
    const ms = Math.trunc((us - micro) / 1000);
    const msInSecond = ((ms % 1000) + 1000) % 1000;
    const second = ms - msInSecond;
    // The calendar fields of the last second seen are kept: clocks ask for the same second many times.
    let f = lastSecond;
    if (f === undefined || f.at !== second) {
      const d = new Date(ms);
      if (Number.isNaN(d.getTime())) throw new RangeError(`Creating a datetime failed: ${us} is out of range`);
      f = {
        at: second,
        year: d.getUTCFullYear(),
        month: d.getUTCMonth() + 1,
        day: d.getUTCDate(),
        hour: d.getUTCHours(),
        minute: d.getUTCMinutes(),
        second: d.getUTCSeconds(),
      };
      if (f.year >= 1 && f.year <= 9999) lastSecond = f;
    }
    return new PyDateTime({
      year: f.year,
      month: f.month,
      day: f.day,
      hour: f.hour,
      minute: f.minute,
      second: f.second,
      microsecond: msInSecond * 1000 + micro,
      utcOffset: aware ? 0 : null,
    });
  }

  /**
   * An aware UTC datetime from a `Date`.
   *
   * @param date The instant.
   * @returns The datetime, with offset `+00:00`.
   * @throws {RangeError} When the date is invalid or outside years 1 to 9999.
   */
  static fromDate(date: Date): PyDateTime {
    return PyDateTime.fromEpochMicroseconds(date.getTime() * 1000);
  }

  /**
   * The current UTC time, aware, to the microsecond where the clock allows
   * (Python's `datetime.now(timezone.utc)`).
   *
   * @returns The datetime.
   */
  static now(): PyDateTime {
    return PyDateTime.fromEpochMicroseconds((performance.timeOrigin + performance.now()) * 1000);
  }

  /**
   * Parses as Python 3.12's `datetime.fromisoformat` does.
   *
   * @param text The string.
   * @returns The datetime: aware when the string has an offset (or `Z`), else naive.
   * @throws {SyntaxError} When Python would raise `ValueError`.
   */
  static fromisoformat(text: string): PyDateTime {
    const parsed = parseIsoformat(text);
    if (parsed === null) throw new SyntaxError(`Parsing a datetime failed: ${JSON.stringify(text)} is not ISO format`);
    return parsed;
  }
}

// deno-lint-ignore no-control-regex
const ASCII = /^[\x00-\x7f]*$/;

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c.length === 1 && c >= "0" && c <= "9";
}

function digits(chars: ArrayLike<string>, pos: number, n: number): number | null {
  let v = 0;
  for (let i = pos; i < pos + n; i++) {
    const c = chars[i];
    if (!isDigit(c)) return null;
    v = v * 10 + (c!.charCodeAt(0) - 48);
  }
  return v;
}

/** Python's `_find_isoformat_datetime_separator`. */
function findSeparator(s: ArrayLike<string>): number {
  const len = s.length;
  if (len === 7) return 7;
  if (s[4] === "-") {
    if (s[5] === "W") {
      if (len > 8 && s[8] === "-") {
        if (len === 9) return -1;
        if (len > 10 && isDigit(s[10])) return 8;
        return 10;
      }
      return 8;
    }
    return 10;
  }
  if (s[4] === "W") {
    let idx = 7;
    while (idx < len && isDigit(s[idx])) idx++;
    if (idx < 9) return idx;
    return idx % 2 === 0 ? 7 : 8;
  }
  return 8;
}

function isoWeekToDate(year: number, week: number, day: number): [number, number, number] | null {
  if (week < 1 || day < 1 || day > 7) return null;
  if (week === 53) {
    // Only years starting on a Thursday, or leap years starting on a Wednesday, have 53 weeks.
    const first = new Date(Date.UTC(2000, 0, 1));
    first.setUTCFullYear(year, 0, 1);
    const wd = first.getUTCDay();
    if (!(wd === 4 || (wd === 3 && isLeap(year)))) return null;
  } else if (week > 53) return null;
  // Monday of ISO week 1: the Monday on or before January 4th.
  const jan4 = toOrdinal(year, 1, 4);
  const jan4Weekday = (jan4 + 6) % 7; // 0 = Monday (ordinal 1 = Monday 0001-01-01)
  const week1Monday = jan4 - jan4Weekday;
  return fromOrdinal(week1Monday + (week - 1) * 7 + (day - 1));
}

/**
 * The date part, read as CPython's C parser reads it: the length only
 * decides whether an ISO week day follows; what comes after is the
 * separator's business.
 */
function parseDate(s: ArrayLike<string>, len: number): [number, number, number] | null {
  const year = digits(s, 0, 4);
  if (year === null) return null;
  const sep = s[4] === "-";
  let pos = sep ? 5 : 4;
  if (s[pos] === "W") {
    pos++;
    const week = digits(s, pos, 2);
    if (week === null) return null;
    pos += 2;
    let day = 1;
    if (pos < len) {
      if (sep) {
        if (s[pos] !== "-") return null;
        pos++;
      }
      const d = digits(s, pos, 1);
      if (d === null) return null;
      day = d;
    }
    if (year < 1) return null;
    return isoWeekToDate(year, week, day);
  }
  const month = digits(s, pos, 2);
  if (month === null) return null;
  pos += 2;
  if (sep) {
    if (s[pos] !== "-") return null;
    pos++;
  }
  const day = digits(s, pos, 2);
  if (day === null) return null;
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  return [year, month, day];
}

/** `[h, m, s, us]` and whether something other than the end of the string follows. */
type Hms = [number, number, number, number, boolean];

/**
 * `HH[:MM[:SS[.f+]]]` or the basic form, as CPython's C parser reads it
 * between `start` and `end` (digits may be read past `end`, as C reads the
 * whole string).
 */
function parseHms(s: ArrayLike<string>, start: number, end: number): Hms | null {
  const vals = [0, 0, 0];
  let pos = start;
  let hasSep = true;
  let i = 0;
  for (; i < 3; i++) {
    const v = digits(s, pos, 2);
    if (v === null) return null;
    vals[i] = v;
    pos += 2;
    const c = s[pos];
    pos++;
    if (i === 0) hasSep = c === ":";
    if (pos >= end) return [vals[0]!, vals[1]!, vals[2]!, 0, c !== undefined];
    if (hasSep && c === ":") continue;
    if (c === "." || c === ",") break;
    if (!hasSep) {
      pos--;
      continue;
    }
    return null;
  }
  // The fraction: up to 6 digits count, more digits are skipped.
  const take = Math.min(end - pos, 6);
  if (take < 1) return null;
  let us = digits(s, pos, take);
  if (us === null) return null;
  us *= 10 ** (6 - take);
  pos += take;
  while (isDigit(s[pos])) pos++;
  return [vals[0]!, vals[1]!, vals[2]!, us, pos < s.length];
}

/** The value of `n` ASCII digits at `pos`, or -1. */
function digitsAt(s: string, pos: number, n: number): number {
  let v = 0;
  for (let i = pos; i < pos + n; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/**
 * The shapes `isoformat()` writes (`YYYY-MM-DDTHH:MM:SS`, then optionally
 * `.ffffff`, then optionally `Z` or `+HH:MM`), read directly; `undefined`
 * for anything else, which {@linkcode parseIsoformatSlow} decides.
 */
function parseIsoformatFast(s: string): PyDateTime | undefined {
  const len = s.length;
  if (len !== 19 && len !== 20 && len !== 25 && len !== 26 && len !== 27 && len !== 32) return undefined;
  if (
    s.charCodeAt(4) !== 0x2d || s.charCodeAt(7) !== 0x2d || s.charCodeAt(10) !== 0x54 || s.charCodeAt(13) !== 0x3a ||
    s.charCodeAt(16) !== 0x3a
  ) return undefined;
  const year = digitsAt(s, 0, 4);
  const month = digitsAt(s, 5, 2);
  const day = digitsAt(s, 8, 2);
  const hour = digitsAt(s, 11, 2);
  const minute = digitsAt(s, 14, 2);
  const second = digitsAt(s, 17, 2);
  if (year < 1 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 || minute > 59) {
    return undefined;
  }
  if (second < 0 || second > 59 || day > daysInMonth(year, month)) return undefined;
  let pos = 19;
  let microsecond = 0;
  if (len === 26 || len === 27 || len === 32) {
    if (s.charCodeAt(19) !== 0x2e) return undefined;
    microsecond = digitsAt(s, 20, 6);
    if (microsecond < 0) return undefined;
    pos = 26;
  }
  let utcOffset: number | null = null;
  const rest = len - pos;
  if (rest === 1) {
    if (s.charCodeAt(pos) !== 0x5a) return undefined;
    utcOffset = 0;
  } else if (rest === 6) {
    const sign = s.charCodeAt(pos);
    if ((sign !== 0x2b && sign !== 0x2d) || s.charCodeAt(pos + 3) !== 0x3a) return undefined;
    const oh = digitsAt(s, pos + 1, 2);
    const om = digitsAt(s, pos + 4, 2);
    if (oh < 0 || om < 0) return undefined;
    // As the general parser (and CPython): minutes are not range-checked, only the total.
    const seconds = (oh * 60 + om) * 60;
    if (seconds >= 86_400) return undefined;
    utcOffset = seconds === 0 ? 0 : (sign === 0x2d ? -seconds : seconds) * US_PER_SECOND;
  } else if (rest !== 0) return undefined;
  return new PyDateTime({ year, month, day, hour, minute, second, microsecond, utcOffset });
}

/**
 * Python 3.12 `datetime.fromisoformat` (its C implementation), or `null`
 * where it raises `ValueError`.
 *
 * @example
 * ```ts
 * import { parseIsoformat } from "@x/pubsub/posttroll/wire";
 *
 * console.log(parseIsoformat("20240102T030405Z")?.isoformat(), parseIsoformat("2024-13-01")); // 2024-01-02T03:04:05+00:00 null
 * ```
 *
 * @param text The string.
 * @returns The datetime, or `null`.
 */
export function parseIsoformat(text: string): PyDateTime | null {
  // Every valid string starts with four ASCII digits: most strings stop here.
  if (text.length < 7 || !isDigit(text[0]) || !isDigit(text[3])) return null;
  return parseIsoformatFast(text) ?? parseIsoformatSlow(text);
}

/**
 * {@linkcode parseIsoformat} without its fast path for the shapes
 * `isoformat()` writes: the general parser, kept to check the fast path
 * against.
 *
 * @param text The string.
 * @returns The datetime, or `null`.
 */
export function parseIsoformatSlow(text: string): PyDateTime | null {
  // Every valid string starts with four ASCII digits: most strings stop here.
  if (text.length < 7 || !isDigit(text[0]) || !isDigit(text[3])) return null;
  const s: ArrayLike<string> = ASCII.test(text) ? text : Array.from(text);
  const len = s.length;
  if (len < 7) return null;
  const sepAt = findSeparator(s);
  if (sepAt < 0) return null;
  const date = parseDate(s, sepAt);
  if (date === null) return null;
  for (let i = sepAt + 1; i < len; i++) if (s[i]!.length !== 1 || s[i]!.charCodeAt(0) > 127) return null;
  let time: Hms = [0, 0, 0, 0, false];
  let offset: number | null = null;
  if (len > sepAt) {
    const start = sepAt + 1;
    let tz = start;
    do {
      const c = s[tz];
      if (c === "Z" || c === "+" || c === "-") break;
    } while (++tz < len);
    const t = parseHms(s, start, tz);
    if (t === null) return null;
    time = t;
    if (tz === len) {
      if (t[4]) return null;
    } else if (s[tz] === "Z") {
      if (tz + 1 !== len) return null;
      offset = 0;
    } else {
      const o = parseHms(s, tz + 1, len);
      if (o === null || o[4]) return null;
      const seconds = (o[0] * 60 + o[1]) * 60 + o[2];
      if (seconds >= 86_400) return null;
      // As CPython: an offset of 0 whole seconds is UTC, whatever its fraction.
      const total = seconds === 0 ? 0 : seconds * US_PER_SECOND + o[3];
      if (total >= US_PER_DAY) return null;
      offset = s[tz] === "-" ? -total : total;
    }
  }
  const [h, m, sec, us] = time;
  if (h > 23 || m > 59 || sec > 59) return null;
  try {
    return new PyDateTime({
      year: date[0],
      month: date[1],
      day: date[2],
      hour: h,
      minute: m,
      second: sec,
      microsecond: us,
      utcOffset: offset === 0 ? 0 : offset,
    });
  } catch {
    return null;
  }
}
