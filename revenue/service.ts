// Revenue figures, read from the ledger and nowhere else: a teacher's side
// (earnings, what is held for them, withdrawn) and the platform's (fees,
// escrow, payouts), as totals and as a series per period. Nothing here is
// stored: every figure is a sum over transfers or a balance counter, so it
// always agrees with the ledger and its audit.
//
// Totals are the position now, over all time (a balance has no period); a
// series covers [from, to), each transfer counted in the period of its
// created_at (UTC), a resolution (payout, refund) in the period it was made.
//
// Which transfers (see bookings/ledger.ts, withdrawals/ledger.ts):
//   booking_hold      pending  student wallet -> escrow, ref booking
//   booking_charge    post     the kept part of the hold (less than it: partial refund)
//   booking_refund    void     the whole hold back to the student
//   teacher_share     posted   escrow -> teacher earnings
//   platform_fee      posted   escrow -> platform_revenue
//   withdrawal_hold   pending  teacher earnings -> payouts, ref withdrawal
//   withdrawal_payout post     paid out
//   withdrawal_rejected / withdrawal_failed  void: back to the teacher
//
// Efficiency: a teacher's figures read that teacher's transfers through the
// account indexes (credit/debit account, seq) and their bookings' transfers
// through the reference index; the platform's totals are balance counters
// (a few shard rows each); the platform's series reads the transfers of its
// range through a BRIN index on created_at (its migration says why).
import assert from 'node:assert/strict';
import type { Conn, Db } from '../db/knex';
import type { Clock } from '../domain/clock';
import { percentOf } from '../domain/money';
import { getBalances, ownerView, systemAccountId, userAccountId } from '../ledger/accounts';
import { requestedSeries, type GroupBy, type SeriesRange } from './periods';

export interface RevenueDeps {
  db: Db;
  currency: string;
  clock: Clock;
}

export interface RevenueQuery {
  from?: Date | undefined;
  to?: Date | undefined;
  groupBy?: GroupBy | undefined;
}

/** How a series was cut (the defaults resolved), answered beside it. */
export interface SeriesInfo {
  from: string;
  to: string;
  groupBy: GroupBy;
}

/** A teacher's figures, and with `groupBy` their series over [from, to). */
export async function teacherReport(
  deps: RevenueDeps,
  teacherId: string,
  query: RevenueQuery,
): Promise<TeacherRevenue & { series?: TeacherPeriod[]; seriesRange?: SeriesInfo }> {
  const range = requestedSeries(query, deps.clock.now());
  return inOneSnapshot(deps, async (conn) => {
    const totals = await teacherRevenue(conn, deps.currency, teacherId);
    if (range === undefined) return totals;
    return { ...totals, series: await teacherSeries(conn, teacherId, range), seriesRange: infoOf(range) };
  });
}

/** The platform's figures, and with `groupBy` its series over [from, to). */
export async function platformReport(
  deps: RevenueDeps,
  query: RevenueQuery,
): Promise<PlatformRevenue & { series?: PlatformPeriod[]; seriesRange?: SeriesInfo }> {
  const range = requestedSeries(query, deps.clock.now());
  return inOneSnapshot(deps, async (conn) => {
    const totals = await platformRevenue(conn, deps.currency);
    if (range === undefined) return totals;
    return {
      ...totals,
      series: await platformSeries(conn, deps.currency, range),
      seriesRange: infoOf(range),
    };
  });
}

/** Every figure of one answer from the same snapshot: a settlement committing meanwhile is in all of them or none. */
function inOneSnapshot<T>(deps: RevenueDeps, fn: (conn: Conn) => Promise<T>): Promise<T> {
  return deps.db.transaction(fn, { isolationLevel: 'repeatable read', readOnly: true });
}

function infoOf(range: SeriesRange): SeriesInfo {
  return { from: range.from.toISOString(), to: range.to.toISOString(), groupBy: range.groupBy };
}

export interface TeacherRevenue {
  currency: string;
  totalEarnings: number;
  available: number;
  pending: number;
  inWithdrawal: number;
  withdrawn: number;
}

export interface TeacherPeriod {
  period: string;
  earnings: number;
  refunds: number;
  withdrawals: number;
}

export interface PlatformRevenue {
  currency: string;
  revenue: number;
  heldInEscrow: number;
  inWithdrawal: number;
  paidOut: number;
}

export interface PlatformPeriod {
  period: string;
  revenue: number;
  teacherEarnings: number;
  refunds: number;
  paidOut: number;
  /** At the period's end: booking prices held and not yet settled. */
  heldInEscrow: number;
  /** At the period's end: withdrawals asked and not yet paid out, rejected or failed. */
  inWithdrawal: number;
}

/** date_trunc's unit for each grouping (a fixed table: never the caller's text in SQL). */
const UNIT: Record<GroupBy, string> = { day: 'day', week: 'week', month: 'month' };

/** What a resolution of a booking's hold gave back to the student: all of a void, the unposted rest of a post. */
const REFUNDED = `(h.amount - case when r.kind = 'void_pending' then 0 else r.amount end)`;

export async function teacherRevenue(
  conn: Conn,
  currency: string,
  teacherId: string,
): Promise<TeacherRevenue> {
  const account = userAccountId(teacherId, 'earnings');
  const { rows } = await conn.raw<{ rows: { total_earnings: number; withdrawn: number }[] }>(
    `select (select coalesce(sum(amount), 0)::int8 from ledger_transfers
              where credit_account_id = ? and code = 'teacher_share') as total_earnings,
            (select coalesce(sum(amount), 0)::int8 from ledger_transfers
              where debit_account_id = ? and code = 'withdrawal_payout') as withdrawn`,
    [account, account],
  );
  const [balance] = await getBalances(conn, [account]);
  const view = ownerView(balance!);
  return {
    currency,
    totalEarnings: rows[0]!.total_earnings,
    available: view.available,
    pending: await pendingShare(conn, teacherId),
    // Only withdrawal holds reserve a teacher's earnings.
    inWithdrawal: view.held,
    withdrawn: rows[0]!.withdrawn,
  };
}

/**
 * The teacher's share of the money held for their bookings: every booking of
 * theirs whose hold is still pending in the ledger (booked, not yet settled:
 * upcoming, running or in review), at the share it will be settled with, as
 * the settlement rounds it (down). Holds are grouped by (amount, share) so the
 * domain's own rounding applies to each group, not to a sum.
 */
async function pendingShare(conn: Conn, teacherId: string): Promise<number> {
  const { rows } = await conn.raw<{ rows: { amount: number; percent: number; holds: number }[] }>(
    `select h.amount, (b.policy ->> 'teacherSharePercent')::int as percent, count(*)::int8 as holds
       from bookings b
       join ledger_transfers h on h.reference_id = b.id and h.reference_type = 'booking' and h.code = 'booking_hold'
      where b.teacher_id = ?
        and not exists (select 1 from ledger_transfers r where r.pending_id = h.id)
      group by 1, 2`,
    [teacherId],
  );
  return rows.reduce((sum, r) => sum + r.holds * percentOf(r.amount, r.percent), 0);
}

export async function teacherSeries(
  conn: Conn,
  teacherId: string,
  range: SeriesRange,
): Promise<TeacherPeriod[]> {
  const account = userAccountId(teacherId, 'earnings');
  const unit = UNIT[range.groupBy];
  const { rows } = await conn.raw<{ rows: { period: Date; figure: string; amount: number }[] }>(
    `select date_trunc('${unit}', created_at, 'UTC') as period, 'earnings' as figure, sum(amount)::int8 as amount
       from ledger_transfers
      where credit_account_id = ? and code = 'teacher_share' and created_at >= ? and created_at < ?
      group by 1
     union all
     select date_trunc('${unit}', created_at, 'UTC'), 'withdrawals', sum(amount)::int8
       from ledger_transfers
      where debit_account_id = ? and code = 'withdrawal_payout' and created_at >= ? and created_at < ?
      group by 1
     union all
     select date_trunc('${unit}', r.created_at, 'UTC'), 'refunds', sum(${REFUNDED})::int8
       from bookings b
       join ledger_transfers r on r.reference_id = b.id and r.reference_type = 'booking'
                              and r.code in ('booking_refund', 'booking_charge')
       join ledger_transfers h on h.id = r.pending_id
      where b.teacher_id = ? and r.created_at >= ? and r.created_at < ?
      group by 1`,
    [account, range.from, range.to, account, range.from, range.to, teacherId, range.from, range.to],
  );
  const series = emptySeries(range, (period) => ({ period, earnings: 0, refunds: 0, withdrawals: 0 }));
  for (const row of rows) {
    const entry = periodOf(series, row.period);
    entry[row.figure as 'earnings' | 'refunds' | 'withdrawals'] = row.amount;
  }
  return [...series.values()];
}

export async function platformRevenue(conn: Conn, currency: string): Promise<PlatformRevenue> {
  const [revenue, escrow, payouts] = await getBalances(
    conn,
    (['platform_revenue', 'escrow', 'payouts'] as const).map((code) => systemAccountId(code, currency)),
  );
  // Each of these counters is moved by one code only (see the header).
  return {
    currency,
    revenue: revenue!.creditsPosted,
    heldInEscrow: escrow!.creditsPending,
    inWithdrawal: payouts!.creditsPending,
    paidOut: payouts!.creditsPosted,
  };
}

export async function platformSeries(
  conn: Conn,
  currency: string,
  range: SeriesRange,
): Promise<PlatformPeriod[]> {
  const unit = UNIT[range.groupBy];
  const { rows } = await conn.raw<{
    rows: { period: Date; revenue: number; teacher_earnings: number; refunds: number; paid_out: number }[];
  }>(
    // The hold of a refund is looked up per refund (a correlated subquery:
    // an index probe each), never joined: a join is planned as a hash over
    // the whole table.
    `select date_trunc('${unit}', r.created_at, 'UTC') as period,
            coalesce(sum(r.amount) filter (where r.code = 'platform_fee'), 0)::int8 as revenue,
            coalesce(sum(r.amount) filter (where r.code = 'teacher_share'), 0)::int8 as teacher_earnings,
            coalesce(sum((select h.amount from ledger_transfers h where h.id = r.pending_id)
                         - case when r.kind = 'void_pending' then 0 else r.amount end)
                     filter (where r.code in ('booking_refund', 'booking_charge')), 0)::int8 as refunds,
            coalesce(sum(r.amount) filter (where r.code = 'withdrawal_payout'), 0)::int8 as paid_out
       from ledger_transfers r
      where r.created_at >= ? and r.created_at < ?
        and r.code in ('platform_fee', 'teacher_share', 'booking_refund', 'booking_charge', 'withdrawal_payout')
      group by 1`,
    [range.from, range.to],
  );
  const series = emptySeries(range, (period) => ({
    period,
    revenue: 0,
    teacherEarnings: 0,
    refunds: 0,
    paidOut: 0,
    heldInEscrow: 0,
    inWithdrawal: 0,
  }));
  for (const row of rows) {
    Object.assign(periodOf(series, row.period), {
      revenue: row.revenue,
      teacherEarnings: row.teacher_earnings,
      refunds: row.refunds,
      paidOut: row.paid_out,
    });
  }
  await addHeldPositions(conn, currency, range, series);
  return [...series.values()];
}

/**
 * What was held at each period's end, in escrow (booking holds) and in
 * withdrawal (withdrawal holds): the position now, taken back through every
 * hold made and resolved since. A hold adds its amount when made and takes it
 * away when posted or voided (a partial post releases the whole hold), so the
 * position at T is now's minus the net change of everything from T on. Only
 * the transfers since the range's start are read (the BRIN index on
 * created_at), never the whole ledger.
 */
async function addHeldPositions(
  conn: Conn,
  currency: string,
  range: SeriesRange,
  series: Map<string, PlatformPeriod>,
): Promise<void> {
  const unit = UNIT[range.groupBy];
  const { rows } = await conn.raw<{ rows: { period: Date | null; escrow: number; withdrawal: number }[] }>(
    `select case when t.created_at >= ? then null else date_trunc('${unit}', t.created_at, 'UTC') end as period,
            coalesce(sum(case when t.code = 'booking_hold' then t.amount
                              when t.code in ('booking_charge', 'booking_refund')
                                then -(select h.amount from ledger_transfers h where h.id = t.pending_id)
                              else 0 end), 0)::int8 as escrow,
            coalesce(sum(case when t.code = 'withdrawal_hold' then t.amount
                              when t.code in ('withdrawal_payout', 'withdrawal_rejected', 'withdrawal_failed')
                                then -(select h.amount from ledger_transfers h where h.id = t.pending_id)
                              else 0 end), 0)::int8 as withdrawal
       from ledger_transfers t
      where t.created_at >= ?
        and t.code in ('booking_hold', 'booking_charge', 'booking_refund',
                       'withdrawal_hold', 'withdrawal_payout', 'withdrawal_rejected', 'withdrawal_failed')
      group by 1`,
    [range.to, range.from],
  );
  const [escrow, payouts] = await getBalances(conn, [
    systemAccountId('escrow', currency),
    systemAccountId('payouts', currency),
  ]);
  const change = new Map(rows.map((r) => [r.period === null ? 'after' : r.period.toISOString(), r]));
  // Backwards from now: the end of the last period is now's position less what happened after the range.
  let held = escrow!.creditsPending - (change.get('after')?.escrow ?? 0);
  let withdrawing = payouts!.creditsPending - (change.get('after')?.withdrawal ?? 0);
  for (const entry of [...series.values()].reverse()) {
    entry.heldInEscrow = held;
    entry.inWithdrawal = withdrawing;
    held -= change.get(entry.period)?.escrow ?? 0;
    withdrawing -= change.get(entry.period)?.withdrawal ?? 0;
  }
}

/** Every period of the range, in order, at zero. */
function emptySeries<T>(range: SeriesRange, zero: (period: string) => T): Map<string, T> {
  return new Map(range.periods.map((start) => [start.toISOString(), zero(start.toISOString())]));
}

function periodOf<T>(series: Map<string, T>, period: Date): T {
  const entry = series.get(period.toISOString());
  assert(entry !== undefined, `date_trunc gave ${period.toISOString()}, not a period of the range`);
  return entry;
}
