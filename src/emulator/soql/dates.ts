/**
 * SOQL relative date literals (`TODAY`, `LAST_N_DAYS:30`, `THIS_QUARTER` …) as half-open UTC ranges.
 * The emulated org runs in GMT with a January fiscal year start, so fiscal periods equal calendar ones and
 * weeks start on Sunday (en_US locale).
 */

const DAY = 86_400_000;

/** A half-open range [start, end) of epoch milliseconds. */
export interface DateRange {
  start: number;
  end: number;
}

function startOfDay(ms: number): number {
  return Math.floor(ms / DAY) * DAY;
}

function addMonths(ms: number, months: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + months, 1);
}

function startOfMonth(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

function startOfQuarter(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), Math.floor(d.getUTCMonth() / 3) * 3, 1);
}

function startOfYear(ms: number): number {
  return Date.UTC(new Date(ms).getUTCFullYear(), 0, 1);
}

function startOfWeek(ms: number): number {
  const day = startOfDay(ms);
  return day - new Date(day).getUTCDay() * DAY;
}

/** Literals without a number, e.g. `THIS_MONTH`. Returns undefined for a name SOQL does not define. */
export function dateLiteralRange(name: string, now: number): DateRange | undefined {
  const today = startOfDay(now);
  const week = startOfWeek(now);
  const month = startOfMonth(now);
  const quarter = startOfQuarter(now);
  const year = startOfYear(now);
  switch (name.toUpperCase()) {
    case 'YESTERDAY': return { start: today - DAY, end: today };
    case 'TODAY': return { start: today, end: today + DAY };
    case 'TOMORROW': return { start: today + DAY, end: today + 2 * DAY };
    case 'LAST_WEEK': return { start: week - 7 * DAY, end: week };
    case 'THIS_WEEK': return { start: week, end: week + 7 * DAY };
    case 'NEXT_WEEK': return { start: week + 7 * DAY, end: week + 14 * DAY };
    case 'LAST_MONTH': return { start: addMonths(month, -1), end: month };
    case 'THIS_MONTH': return { start: month, end: addMonths(month, 1) };
    case 'NEXT_MONTH': return { start: addMonths(month, 1), end: addMonths(month, 2) };
    // "Starts 00:00:00 of the current day and continues for the last 90 days": today is included.
    case 'LAST_90_DAYS': return { start: today - 90 * DAY, end: today + DAY };
    case 'NEXT_90_DAYS': return { start: today + DAY, end: today + 91 * DAY };
    case 'THIS_QUARTER': case 'THIS_FISCAL_QUARTER': return { start: quarter, end: addMonths(quarter, 3) };
    case 'LAST_QUARTER': case 'LAST_FISCAL_QUARTER': return { start: addMonths(quarter, -3), end: quarter };
    case 'NEXT_QUARTER': case 'NEXT_FISCAL_QUARTER': return { start: addMonths(quarter, 3), end: addMonths(quarter, 6) };
    case 'THIS_YEAR': case 'THIS_FISCAL_YEAR': return { start: year, end: addMonths(year, 12) };
    case 'LAST_YEAR': case 'LAST_FISCAL_YEAR': return { start: addMonths(year, -12), end: year };
    case 'NEXT_YEAR': case 'NEXT_FISCAL_YEAR': return { start: addMonths(year, 12), end: addMonths(year, 24) };
    default: return undefined;
  }
}

/** Literals with a number, e.g. `LAST_N_DAYS:7` is (`LAST_N_DAYS`, 7). */
export function dateNLiteralRange(name: string, n: number, now: number): DateRange | undefined {
  const today = startOfDay(now);
  const week = startOfWeek(now);
  const month = startOfMonth(now);
  const quarter = startOfQuarter(now);
  const year = startOfYear(now);
  switch (name.toUpperCase().replace('_FISCAL', '')) {
    case 'LAST_N_DAYS': return { start: today - n * DAY, end: today + DAY };
    case 'NEXT_N_DAYS': return { start: today + DAY, end: today + (n + 1) * DAY };
    case 'N_DAYS_AGO': return { start: today - n * DAY, end: today - (n - 1) * DAY };
    case 'LAST_N_WEEKS': return { start: week - 7 * n * DAY, end: week };
    case 'NEXT_N_WEEKS': return { start: week + 7 * DAY, end: week + 7 * (n + 1) * DAY };
    case 'N_WEEKS_AGO': return { start: week - 7 * n * DAY, end: week - 7 * (n - 1) * DAY };
    case 'LAST_N_MONTHS': return { start: addMonths(month, -n), end: month };
    case 'NEXT_N_MONTHS': return { start: addMonths(month, 1), end: addMonths(month, n + 1) };
    case 'N_MONTHS_AGO': return { start: addMonths(month, -n), end: addMonths(month, -n + 1) };
    case 'LAST_N_QUARTERS': return { start: addMonths(quarter, -3 * n), end: quarter };
    case 'NEXT_N_QUARTERS': return { start: addMonths(quarter, 3), end: addMonths(quarter, 3 * (n + 1)) };
    case 'N_QUARTERS_AGO': return { start: addMonths(quarter, -3 * n), end: addMonths(quarter, -3 * (n - 1)) };
    case 'LAST_N_YEARS': return { start: addMonths(year, -12 * n), end: year };
    case 'NEXT_N_YEARS': return { start: addMonths(year, 12), end: addMonths(year, 12 * (n + 1)) };
    case 'N_YEARS_AGO': return { start: addMonths(year, -12 * n), end: addMonths(year, -12 * (n - 1)) };
    default: return undefined;
  }
}

/** `2024-03-05` for a UTC midnight instant: date columns are stored as ISO date text. */
export function isoDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}
