/**
 * Quiet hours in the subject's own time zone. Windows may cross midnight
 * ("21:00"–"08:00"); wall-clock arithmetic goes through the IANA zone, so the
 * answer is right on the nights clocks change.
 */
export interface QuietWindow {
  start: string;
  end: string;
}

interface LocalParts {
  year: number;
  month: number;
  day: number;
  minutes: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    formatters.set(timeZone, f);
  }
  return f;
}

export function localParts(instant: Date, timeZone: string): LocalParts & { seconds: number } {
  const parts = Object.fromEntries(
    formatter(timeZone)
      .formatToParts(instant)
      .map((p) => [p.type, p.value]),
  );
  return { year: Number(parts.year), month: Number(parts.month), day: Number(parts.day), minutes: Number(parts.hour) * 60 + Number(parts.minute), seconds: Number(parts.second) };
}

/** Offset of the zone from UTC at an instant, in milliseconds. */
function offsetAt(instant: Date, timeZone: string): number {
  const p = localParts(instant, timeZone);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, Math.floor(p.minutes / 60), p.minutes % 60, p.seconds);
  return asUtc - Math.floor(instant.getTime() / 1000) * 1000;
}

/**
 * The instant of a wall-clock time in the zone. A wall time skipped by a
 * spring-forward change moves forward by the length of the gap (02:30 becomes
 * 03:30), as Temporal's "compatible" disambiguation does.
 */
export function wallTimeToInstant(year: number, month: number, day: number, minutes: number, timeZone: string): Date {
  const naive = Date.UTC(year, month - 1, day, Math.floor(minutes / 60), minutes % 60);
  let guess = naive - offsetAt(new Date(naive), timeZone);
  guess = naive - offsetAt(new Date(guess), timeZone);
  const landed = localParts(new Date(guess), timeZone);
  if (landed.minutes !== minutes || landed.day !== day) {
    // Not a real local time (inside a DST gap): read it with the offset from before the gap.
    const after = naive - Math.min(offsetAt(new Date(guess - 3_600_000), timeZone), offsetAt(new Date(guess + 3_600_000), timeZone));
    return new Date(after);
  }
  return new Date(guess);
}

const toMinutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

type QuietAnswer = { quiet: false } | { quiet: true; until: Date };

// A campaign scrub asks about one instant for 100,000 people in a handful of zones; each answer costs several Intl calls.
const recent = new Map<string, QuietAnswer>();

/** Whether `now` falls in the window (local time), and if so when it ends. */
export function quietHoursAt(now: Date, timeZone: string, window: QuietWindow): QuietAnswer {
  const key = `${now.getTime()} ${timeZone} ${window.start} ${window.end}`;
  let answer = recent.get(key);
  if (!answer) {
    if (recent.size >= 256) recent.clear();
    recent.set(key, (answer = computeQuietHours(now, timeZone, window)));
  }
  return answer;
}

function computeQuietHours(now: Date, timeZone: string, window: QuietWindow): QuietAnswer {
  const start = toMinutes(window.start);
  const end = toMinutes(window.end);
  if (start === end) return { quiet: false };
  const local = localParts(now, timeZone);
  const t = local.minutes;
  const crossesMidnight = start > end;
  const quiet = crossesMidnight ? t >= start || t < end : t >= start && t < end;
  if (!quiet) return { quiet: false };
  // The window ends today if the end time is still ahead of us, else tomorrow.
  let { year, month, day } = local;
  if (crossesMidnight && t >= start) {
    const tomorrow = new Date(Date.UTC(year, month - 1, day + 1));
    [year, month, day] = [tomorrow.getUTCFullYear(), tomorrow.getUTCMonth() + 1, tomorrow.getUTCDate()];
  }
  return { quiet: true, until: wallTimeToInstant(year, month, day, end, timeZone) };
}
