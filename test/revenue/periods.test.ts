// The periods of a revenue series: the same cuts as PostgreSQL's date_trunc
// in UTC (the database groups, this code lists), defaults and bounds.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DomainError } from '../../domain/errors';
import { MAX_PERIODS, nextPeriod, periodStart, requestedSeries, seriesRange } from '../../revenue/periods';
import { testDb } from '../support/db';

const iso = (s: string) => new Date(s);

describe('revenue periods', () => {
  it('when a time is cut into periods, then days start at UTC midnight, weeks on Monday and months on the first, even in years below 100', () => {
    const at = iso('2026-03-01T23:59:59.999Z'); // a Sunday
    assert.equal(periodStart(at, 'day').toISOString(), '2026-03-01T00:00:00.000Z');
    assert.equal(periodStart(at, 'week').toISOString(), '2026-02-23T00:00:00.000Z');
    assert.equal(periodStart(at, 'month').toISOString(), '2026-03-01T00:00:00.000Z');
    assert.equal(nextPeriod(iso('2026-12-01T00:00:00Z'), 'month').toISOString(), '2027-01-01T00:00:00.000Z');
    assert.equal(periodStart(iso('0050-06-15T12:00:00Z'), 'month').toISOString(), '0050-06-01T00:00:00.000Z');
  });

  it('when random times are cut here and by PostgreSQL’s date_trunc in UTC, then both give the same period start', async () => {
    const db = await testDb();
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.date({
            min: iso('1900-01-01T00:00:00Z'),
            max: iso('2200-01-01T00:00:00Z'),
            noInvalidDate: true,
          }),
          { minLength: 1, maxLength: 50 },
        ),
        fc.constantFrom('day' as const, 'week' as const, 'month' as const),
        async (dates, groupBy) => {
          const { rows } = await db.raw<{ rows: { p: Date }[] }>(
            `select date_trunc(?, t, 'UTC') as p from unnest(?::timestamptz[]) with ordinality as u(t, n) order by n`,
            [groupBy, dates.map((d) => d.toISOString())],
          );
          rows.forEach((row, i) =>
            assert.equal(periodStart(dates[i]!, groupBy).toISOString(), row.p.toISOString()),
          );
        },
      ),
      { numRuns: 30 },
    );
  });

  it('when a range is asked for, then its periods are every start from the one holding from to the last before to; defaults reach back from to to the start of a whole period', () => {
    const range = seriesRange(
      { from: iso('2026-01-30T10:00:00Z'), to: iso('2026-04-01T00:00:00Z'), groupBy: 'month' },
      new Date(),
    );
    assert.deepEqual(
      range.periods.map((p) => p.toISOString().slice(0, 10)),
      ['2026-01-01', '2026-02-01', '2026-03-01'],
    );
    const now = iso('2026-05-20T08:00:00Z');
    const daily = seriesRange({ groupBy: 'day' }, now);
    assert.equal(daily.to, now);
    assert.equal(daily.from.toISOString(), '2026-04-20T00:00:00.000Z');
    assert.equal(daily.periods.length, 31);
    assert.equal(seriesRange({ groupBy: 'month' }, now).from.toISOString(), '2025-05-01T00:00:00.000Z');
    assert.equal(seriesRange({ groupBy: 'week' }, now).from.getUTCDay(), 1); // weeks start on Monday
    assert.equal(requestedSeries({}, now), undefined);
  });

  it('when from is not before to, or the range holds more than the most periods, then a validation error', () => {
    const refused = (fn: () => unknown, path: string) =>
      assert.throws(fn, (e: unknown) => e instanceof DomainError && e.details?.[0]?.path === path);
    refused(
      () =>
        seriesRange(
          { from: iso('2026-01-02T00:00:00Z'), to: iso('2026-01-01T00:00:00Z'), groupBy: 'day' },
          new Date(),
        ),
      'query.from',
    );
    refused(() => requestedSeries({ to: new Date() }, new Date()), 'query.to');
    const from = iso('2000-01-01T00:00:00Z');
    const to = new Date(from.getTime() + MAX_PERIODS * 86_400_000);
    assert.equal(seriesRange({ from, to, groupBy: 'day' }, new Date()).periods.length, MAX_PERIODS);
    refused(
      () => seriesRange({ from, to: new Date(to.getTime() + 1), groupBy: 'day' }, new Date()),
      'query.groupBy',
    );
  });
});
