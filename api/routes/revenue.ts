// Revenue: a teacher's earnings and the platform's side, read from the ledger
// (revenue/service.ts says which transfers make each figure).
import { DEFAULT_SPAN, GROUP_BY, MAX_PERIODS } from '../../revenue/periods';
import { platformReport, teacherReport, type RevenueDeps } from '../../revenue/service';
import type { ApiRoutes } from '../route';
import { IsoTimestamp } from '../schemas';
import { z } from '../zod';

const minor = (description: string) => z.number().int().openapi({ description });

const RevenueQuery = z
  .object({
    groupBy: z
      .enum(GROUP_BY)
      .optional()
      .openapi({
        description: `Adds \`series\`: one entry per UTC day, ISO week (from Monday) or calendar month meeting [from, to), empty periods at zero; at most ${MAX_PERIODS} periods`,
      }),
    from: IsoTimestamp.optional().openapi({
      description: `Start of the series, inclusive (with groupBy only). Default: ${DEFAULT_SPAN.day.days} days (day), ${DEFAULT_SPAN.week.days! / 7} weeks (week) or ${DEFAULT_SPAN.month.months} months (month) before to, from the start of that period`,
    }),
    to: IsoTimestamp.optional().openapi({
      description: 'End of the series, exclusive (with groupBy only). Default: now',
    }),
  })
  .strict();

const SeriesRange = z
  .object({ from: IsoTimestamp, to: IsoTimestamp, groupBy: z.enum(GROUP_BY) })
  .openapi('RevenueSeriesRange', { description: 'The range and grouping of `series`, defaults resolved' });

const period = IsoTimestamp.openapi({
  description:
    'Start of the period (UTC). The first and last periods may be partial: only what falls in [from, to) is counted',
});

const TeacherPeriod = z
  .object({
    period,
    earnings: minor('Teacher shares credited in the period (posted teacher_share transfers)'),
    refunds: minor(
      "What students got back in the period from this teacher's bookings: voided holds in full, and the part of a hold a partial settlement did not post",
    ),
    withdrawals: minor('Withdrawals paid out in the period (posted withdrawal payouts)'),
  })
  .openapi('TeacherRevenuePeriod');

const TeacherRevenue = z
  .object({
    currency: z.string().openapi({ example: 'usd' }),
    totalEarnings: minor(
      'All-time: every teacher share credited to the earnings account (posted teacher_share transfers; deposits are not earnings)',
    ),
    available: minor(
      'Now: withdrawable, as GET /wallet shows it (earnings account: posted credits − posted debits − pending debits)',
    ),
    pending: minor(
      "Now: this teacher's share of the money held for their bookings not yet settled (pending booking holds), each rounded down as the settlement rounds it: Σ floor(price × teacherSharePercent / 100)",
    ),
    inWithdrawal: minor(
      'Now: held by withdrawals not yet paid out, rejected or failed (pending debits of the earnings account)',
    ),
    withdrawn: minor('All-time: withdrawals paid out (posted withdrawal payouts)'),
    series: z.array(TeacherPeriod).optional().openapi({ description: 'With groupBy only, oldest first' }),
    seriesRange: SeriesRange.optional(),
  })
  .openapi('TeacherRevenue', {
    description:
      'Figures in minor units, read from the ledger. The totals are all-time (or the position now) whatever the range; from, to and groupBy shape the series only.',
  });

const PlatformPeriod = z
  .object({
    period,
    revenue: minor('Platform fees credited in the period (posted platform_fee transfers)'),
    teacherEarnings: minor(
      'Teacher shares credited in the period (with revenue: everything settled to someone)',
    ),
    refunds: minor(
      'What students got back in the period: voided booking holds in full, and the part of a hold a partial settlement did not post',
    ),
    paidOut: minor('Withdrawals paid out in the period (posted withdrawal payouts)'),
    heldInEscrow: minor(
      "At the period's end (the range's `to`, for the last): booking prices held and not yet settled (pending booking holds)",
    ),
    inWithdrawal: minor(
      "At the period's end (the range's `to`, for the last): withdrawals asked and not yet paid out, rejected or failed (pending withdrawal holds)",
    ),
  })
  .openapi('PlatformRevenuePeriod');

const PlatformRevenue = z
  .object({
    currency: z.string().openapi({ example: 'usd' }),
    revenue: minor('All-time: platform fees (posted platform_fee credits of the platform revenue account)'),
    heldInEscrow: minor('Now: booking prices held and not yet settled (pending booking holds into escrow)'),
    inWithdrawal: minor(
      'Now: withdrawals requested and not yet paid out, rejected or failed (pending withdrawal holds)',
    ),
    paidOut: minor('All-time: withdrawals paid out (posted withdrawal payouts)'),
    series: z.array(PlatformPeriod).optional().openapi({ description: 'With groupBy only, oldest first' }),
    seriesRange: SeriesRange.optional(),
  })
  .openapi('PlatformRevenue', {
    description:
      'The platform’s side, in minor units, read from the ledger. The totals are all-time (or the position now) whatever the range; from, to and groupBy shape the series only.',
  });

const dates = (query: z.infer<typeof RevenueQuery>) => ({
  groupBy: query.groupBy,
  from: query.from === undefined ? undefined : new Date(query.from),
  to: query.to === undefined ? undefined : new Date(query.to),
});

export function revenueRoutes(routes: ApiRoutes, deps: RevenueDeps): void {
  routes.add({
    method: 'get',
    path: '/teachers/me/revenue',
    summary: 'The calling teacher’s earnings: totals, and with groupBy a series to chart',
    tags: ['revenue'],
    access: ['teacher'],
    query: RevenueQuery,
    success: {
      status: 200,
      description:
        'Totals (and the series); 400 when from ≥ to, from/to without groupBy, or too many periods',
      schema: TeacherRevenue,
    },
    handler: async ({ user, query }) => ({
      status: 200,
      body: await teacherReport(deps, user.id, dates(query)),
    }),
  });

  routes.add({
    method: 'get',
    path: '/admin/revenue',
    summary: 'The platform’s side: revenue, escrow, withdrawals; with groupBy a series to chart',
    tags: ['admin', 'revenue'],
    access: ['admin'],
    query: RevenueQuery,
    success: {
      status: 200,
      description:
        'Totals (and the series); 400 when from ≥ to, from/to without groupBy, or too many periods',
      schema: PlatformRevenue,
    },
    handler: async ({ query }) => ({ status: 200, body: await platformReport(deps, dates(query)) }),
  });
}
