/**
 * Wall-clock arithmetic in IANA time zones through `Intl`, with no time-zone database of
 * our own. Instants are epoch milliseconds; a `WallTime` is what a clock on the wall of
 * that zone shows, with no offset attached.
 */
export interface WallTime {
  year: number;
  /** 0–11, as `Date.UTC` takes it. */
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  millisecond: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** True when `Intl` knows the zone (`Europe/Berlin`, `UTC`); false for anything else. */
export function isTimeZone(timeZone: unknown): timeZone is string {
  if (typeof timeZone !== 'string' || timeZone.length === 0) return false;
  try {
    formatterOf(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** The wall time in `timeZone` at the instant `ms`. */
export function wallTimeAt(ms: number, timeZone: string): WallTime {
  if (timeZone === 'UTC') return utcWallTime(ms);
  const fields: Record<string, number> = {};
  for (const part of formatterOf(timeZone).formatToParts(new Date(ms))) {
    if (part.type !== 'literal') fields[part.type] = Number(part.value);
  }
  return {
    year: fields.year!,
    month: fields.month! - 1,
    day: fields.day!,
    hour: fields.hour!,
    minute: fields.minute!,
    second: fields.second!,
    millisecond: ((ms % 1000) + 1000) % 1000,
  };
}

/**
 * The instant a wall time names in `timeZone`. A wall time that occurs twice (the hour
 * repeated when clocks go back) names its first occurrence. A wall time that does not
 * occur (skipped when clocks go forward) names the first instant after the gap, which is
 * the instant of the transition itself.
 */
export function instantOf(wall: WallTime, timeZone: string): number {
  const asUtc = wallAsUtc(wall);
  if (timeZone === 'UTC') return asUtc;

  // Offsets are at most ±18 hours; the two offsets around `asUtc` are the candidates.
  const candidates = [offsetAt(asUtc - 86_400_000, timeZone), offsetAt(asUtc, timeZone)]
    .concat(offsetAt(asUtc + 86_400_000, timeZone))
    .map((offsetMs) => asUtc - offsetMs)
    .filter((ms) => wallAsUtc(wallTimeAt(ms, timeZone)) === asUtc)
    .sort((left, right) => left - right);
  if (candidates.length > 0) return candidates[0]!;
  return firstInstantAfterGap(asUtc, timeZone);
}

/** The zone's offset from UTC at `ms`, in milliseconds (east positive). */
export function offsetAt(ms: number, timeZone: string): number {
  const whole = Math.floor(ms / 1000) * 1000;
  return wallAsUtc({ ...wallTimeAt(whole, timeZone), millisecond: 0 }) - whole;
}

/** Milliseconds since the epoch of a wall time read as if it were UTC. */
export function wallAsUtc(wall: WallTime): number {
  return Date.UTC(
    wall.year,
    wall.month,
    wall.day,
    wall.hour,
    wall.minute,
    wall.second,
    wall.millisecond,
  );
}

/**
 * A skipped wall time W lies in the gap `[T + before, T + after)` of a transition at T, so
 * T lies in `(W - after, W - before]`. A binary search over that span (under a day, so
 * about 27 halvings to the millisecond) finds the first instant with the later offset.
 */
function firstInstantAfterGap(asUtc: number, timeZone: string): number {
  const beforeMs = offsetAt(asUtc - 86_400_000, timeZone);
  const afterMs = offsetAt(asUtc + 86_400_000, timeZone);
  let low = asUtc - afterMs;
  let high = asUtc - beforeMs;
  for (let step = 0; step < 64 && high - low > 1; step += 1) {
    const middle = Math.floor((low + high) / 2);
    if (offsetAt(middle, timeZone) === beforeMs) low = middle;
    else high = middle;
  }
  return high;
}

function utcWallTime(ms: number): WallTime {
  const date = new Date(ms);
  return {
    year: date.getUTCFullYear(),
    month: date.getUTCMonth(),
    day: date.getUTCDate(),
    hour: date.getUTCHours(),
    minute: date.getUTCMinutes(),
    second: date.getUTCSeconds(),
    millisecond: date.getUTCMilliseconds(),
  };
}

function formatterOf(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}
