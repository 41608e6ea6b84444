/** ISO 8601 durations as used in policy (`P1D`, `P7D`, `PT12H`, `P2Y`). */
export interface Duration {
  years: number;
  months: number;
  weeks: number;
  days: number;
  hours: number;
  minutes: number;
  seconds: number;
}

const DURATION = /^P(?!$)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/;

export function parseDuration(text: string): Duration | undefined {
  const m = DURATION.exec(text);
  if (!m) return undefined;
  const [years, months, weeks, days, hours, minutes, seconds] = m.slice(1).map((v) => (v === undefined ? 0 : Number(v)));
  const duration = { years: years!, months: months!, weeks: weeks!, days: days!, hours: hours!, minutes: minutes!, seconds: seconds! };
  return Object.values(duration).some((v) => v > 0) ? duration : undefined;
}

/** The instant `duration` before `instant`, with calendar years and months (UTC). */
export function subtractDuration(instant: Date, d: Duration): Date {
  const t = new Date(instant.getTime());
  t.setUTCFullYear(t.getUTCFullYear() - d.years, t.getUTCMonth() - d.months, t.getUTCDate() - d.weeks * 7 - d.days);
  return new Date(t.getTime() - ((d.hours * 60 + d.minutes) * 60 + d.seconds) * 1000);
}

/** The instant `duration` after `instant`, with calendar years and months (UTC). */
export function addDuration(instant: Date, d: Duration): Date {
  const t = new Date(instant.getTime());
  t.setUTCFullYear(t.getUTCFullYear() + d.years, t.getUTCMonth() + d.months, t.getUTCDate() + d.weeks * 7 + d.days);
  return new Date(t.getTime() + ((d.hours * 60 + d.minutes) * 60 + d.seconds) * 1000);
}
