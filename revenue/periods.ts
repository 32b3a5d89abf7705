// The periods of a revenue series: UTC days, ISO weeks (from Monday) or
// calendar months, as PostgreSQL's date_trunc(unit, t, 'UTC') cuts them, so
// the database can group transfers and this code can list every period of
// the range, the empty ones included (a chart needs its zeros).
import { ValidationError } from '../domain/errors';

export const GROUP_BY = ['day', 'week', 'month'] as const;
export type GroupBy = (typeof GROUP_BY)[number];

/** More periods than this in one series is refused: narrow the range or group coarser. */
export const MAX_PERIODS = 1000;

/** The range a series covers when `from` is not given: this far back from `to`. */
export const DEFAULT_SPAN: Record<GroupBy, { days?: number; months?: number }> = {
  day: { days: 30 },
  week: { days: 7 * 12 },
  month: { months: 12 },
};

export interface SeriesRange {
  /** Inclusive. */
  from: Date;
  /** Exclusive. */
  to: Date;
  groupBy: GroupBy;
  /** The start of every period that meets [from, to), oldest first; the first may start before `from`. */
  periods: Date[];
}

/** A UTC date from its parts, right for every year (Date.UTC reads years 0..99 as 1900..1999). */
function utc(year: number, month: number, day: number): Date {
  const date = new Date(0);
  date.setUTCFullYear(year, month, day);
  return date;
}

/** The start of the period `at` falls in. */
export function periodStart(at: Date, groupBy: GroupBy): Date {
  const day = utc(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate());
  switch (groupBy) {
    case 'day':
      return day;
    case 'week': {
      const sinceMonday = (day.getUTCDay() + 6) % 7;
      return utc(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate() - sinceMonday);
    }
    case 'month':
      return utc(at.getUTCFullYear(), at.getUTCMonth(), 1);
  }
}

/** The start of the period after the one starting at `start`. */
export function nextPeriod(start: Date, groupBy: GroupBy): Date {
  const [y, m, d] = [start.getUTCFullYear(), start.getUTCMonth(), start.getUTCDate()];
  switch (groupBy) {
    case 'day':
      return utc(y, m, d + 1);
    case 'week':
      return utc(y, m, d + 7);
    case 'month':
      return utc(y, m + 1, 1);
  }
}

/**
 * The series' range from the query: `to` defaults to now, `from` to the
 * start of the period DEFAULT_SPAN before `to`. Refused (validation_error) when from >= to or
 * when the range holds more than MAX_PERIODS periods.
 */
export function seriesRange(
  query: { from?: Date | undefined; to?: Date | undefined; groupBy: GroupBy },
  now: Date,
): SeriesRange {
  const { groupBy } = query;
  const to = query.to ?? now;
  // By default whole periods: a first one counted from its middle would chart as a low one.
  const from = query.from ?? periodStart(defaultFrom(to, groupBy), groupBy);
  if (from.getTime() >= to.getTime()) {
    throw new ValidationError('invalid query', [{ path: 'query.from', message: 'must be before to' }]);
  }
  const periods: Date[] = [];
  for (let start = periodStart(from, groupBy); start < to; start = nextPeriod(start, groupBy)) {
    if (periods.length === MAX_PERIODS) {
      throw new ValidationError('invalid query', [
        {
          path: 'query.groupBy',
          message: `more than ${MAX_PERIODS} periods from from to to: narrow the range or group by a longer period`,
        },
      ]);
    }
    periods.push(start);
  }
  return { from, to, groupBy, periods };
}

/**
 * The series a query asks for: none without `groupBy` (then `from` and `to`
 * are refused: the totals are all-time, and silently ignoring a range would
 * let a caller read them as the range's).
 */
export function requestedSeries(
  query: { from?: Date | undefined; to?: Date | undefined; groupBy?: GroupBy | undefined },
  now: Date,
): SeriesRange | undefined {
  if (query.groupBy !== undefined) return seriesRange({ ...query, groupBy: query.groupBy }, now);
  const given = (['from', 'to'] as const).filter((key) => query[key] !== undefined);
  if (given.length === 0) return undefined;
  const message = 'from and to bound the series: give groupBy too (the totals are all-time)';
  throw new ValidationError(
    'invalid query',
    given.map((key) => ({ path: `query.${key}`, message })),
  );
}

function defaultFrom(to: Date, groupBy: GroupBy): Date {
  const span = DEFAULT_SPAN[groupBy];
  const from = new Date(to);
  if (span.days !== undefined) from.setUTCDate(from.getUTCDate() - span.days);
  if (span.months !== undefined) from.setUTCMonth(from.getUTCMonth() - span.months);
  return from;
}
