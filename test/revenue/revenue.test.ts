// GET /teachers/me/revenue and GET /admin/revenue on known ledgers: who may
// call them, each figure on a worked example, the edges of [from, to), the
// defaults and the refusals.
import assert from 'node:assert/strict';
import { userAccountId } from '../../ledger/accounts';
import { auditLedger, formatAuditReport } from '../../ledger/audit';
import { MAX_PERIODS } from '../../revenue/periods';
import {
  book,
  deposit,
  endWithdrawal,
  fundedStudent,
  isolatedWorld,
  newUser,
  requestWithdrawal,
  settle,
  type Person,
  type RevenueWorld,
} from './support';

const DAY = 86_400_000;
const TEACHER_PATH = '/api/v1/teachers/me/revenue';
const ADMIN_PATH = '/api/v1/admin/revenue';

function assertRefused(response: { status: number; body: any; text: string }, status: number, code: string) {
  assert.equal(response.status, status, response.text);
  assert.equal(response.body.error.code, code, response.text);
  assert.equal(typeof response.body.error.message, 'string');
}

/** Midnight UTC, `days` from a fixed Wednesday in the past. */
const day = (days: number, hours = 0) =>
  new Date(Date.parse('2026-09-02T00:00:00.000Z') + days * DAY + hours * 3_600_000);

describe('revenue API', () => {
  let world: RevenueWorld;
  let student: Person;
  let teacher: Person;
  let admin: Person;

  before(async () => {
    world = await isolatedWorld();
    student = await newUser(world, 'student');
    teacher = await newUser(world, 'teacher');
    admin = await newUser(world, 'admin');
  });

  it('when someone other than a teacher asks for teacher revenue, or other than an admin for the platform’s, then 403; without a token 401', async () => {
    for (const who of [student, admin]) {
      assertRefused(await world.request('GET', TEACHER_PATH, { token: who.token }), 403, 'forbidden');
    }
    for (const who of [student, teacher]) {
      assertRefused(await world.request('GET', ADMIN_PATH, { token: who.token }), 403, 'forbidden');
    }
    for (const path of [TEACHER_PATH, ADMIN_PATH]) {
      assertRefused(await world.request('GET', path), 401, 'unauthorized');
    }
  });

  it('when a teacher has released, partly refunded, refunded and held bookings, a deposit and withdrawals in every state, then each figure is the ledger’s and the series puts each in its day', async () => {
    // A world of its own: the platform's figures are those of every transfer.
    const w = await isolatedWorld();
    const [t, other, a] = [
      await newUser(w, 'teacher'),
      await newUser(w, 'teacher'),
      await newUser(w, 'admin'),
    ];
    const s = await fundedStudent(w, 100_000);
    const booking = async (teacherId: string, price: number, teacherSharePercent: number, when: Date) =>
      (await book(w.db, { teacherId, studentId: s.id, price, teacherSharePercent }, when))!;

    const released = await booking(t.id, 1_000, 30, day(0));
    const partial = await booking(t.id, 999, 70, day(0));
    const refunded = await booking(t.id, 800, 30, day(0));
    await booking(t.id, 1_001, 70, day(1)); // held: floor(700.7) = 700
    await booking(t.id, 5, 30, day(1)); // held: floor(1.5) = 1
    const othersBooking = await booking(other.id, 2_000, 30, day(1));
    await settle(w.db, released, 0, day(0)); // 300 teacher, 700 platform, at the very start of the range
    await settle(w.db, partial, 50, day(2, 5)); // 499 back; kept 500: 350 teacher, 150 platform
    await settle(w.db, refunded, 100, day(2, 23)); // 800 back
    await settle(w.db, othersBooking, 100, day(2)); // another teacher's refund: not this teacher's
    await deposit(w.db, userAccountId(t.id, 'earnings'), 100, day(1)); // available, but not earnings

    const paid = (await requestWithdrawal(w.db, t.id, 200, day(3)))!;
    const rejected = (await requestWithdrawal(w.db, t.id, 50, day(3)))!;
    const failed = (await requestWithdrawal(w.db, t.id, 30, day(3)))!;
    await requestWithdrawal(w.db, t.id, 40, day(3)); // still pending
    await endWithdrawal(w.db, rejected, 'rejected', day(4));
    await endWithdrawal(w.db, failed, 'failed', day(4));
    await endWithdrawal(w.db, paid, 'paid', day(5)); // exactly at `to` below: outside the range

    const query = `?groupBy=day&from=${day(0).toISOString()}&to=${day(5).toISOString()}`;
    const mine = await w.request('GET', TEACHER_PATH + query, { token: t.token });
    assert.equal(mine.status, 200, mine.text);
    const zero = { earnings: 0, refunds: 0, withdrawals: 0 };
    assert.deepEqual(mine.body, {
      currency: 'usd',
      totalEarnings: 650,
      available: 300 + 350 + 100 - 200 - 40,
      pending: 701,
      inWithdrawal: 40,
      withdrawn: 200,
      series: [
        { period: day(0).toISOString(), ...zero, earnings: 300 },
        { period: day(1).toISOString(), ...zero },
        { period: day(2).toISOString(), ...zero, earnings: 350, refunds: 499 + 800 },
        { period: day(3).toISOString(), ...zero },
        { period: day(4).toISOString(), ...zero },
      ],
      seriesRange: { from: day(0).toISOString(), to: day(5).toISOString(), groupBy: 'day' },
    });
    // One millisecond later on both ends: the release at from leaves, the payout at to comes in.
    const shifted = `?groupBy=week&from=${new Date(day(0).getTime() + 1).toISOString()}&to=${new Date(day(5).getTime() + 1).toISOString()}`;
    const week = await w.request('GET', TEACHER_PATH + shifted, { token: t.token });
    assert.deepEqual(week.body.series, [
      { period: '2026-08-31T00:00:00.000Z', earnings: 350, refunds: 1_299, withdrawals: 0 },
      { period: '2026-09-07T00:00:00.000Z', earnings: 0, refunds: 0, withdrawals: 200 },
    ]);
    // Without groupBy: the totals alone.
    const totals = await w.request('GET', TEACHER_PATH, { token: t.token });
    assert.deepEqual(Object.keys(totals.body).sort(), [
      'available',
      'currency',
      'inWithdrawal',
      'pending',
      'totalEarnings',
      'withdrawn',
    ]);
    assert.equal(
      (await w.request('GET', '/api/v1/wallet', { token: t.token })).body.available,
      totals.body.available,
    );

    const platform = await w.request(
      'GET',
      `${ADMIN_PATH}?groupBy=month&from=${day(0).toISOString()}&to=${day(6).toISOString()}`,
      {
        token: a.token,
      },
    );
    assert.equal(platform.status, 200, platform.text);
    assert.deepEqual(platform.body, {
      currency: 'usd',
      revenue: 700 + 150,
      heldInEscrow: 1_001 + 5,
      inWithdrawal: 40,
      paidOut: 200,
      series: [
        {
          period: '2026-09-01T00:00:00.000Z',
          revenue: 850,
          teacherEarnings: 650,
          refunds: 499 + 800 + 2_000,
          paidOut: 200,
          // At the range's end (day 6): the two held bookings, the one withdrawal still pending.
          heldInEscrow: 1_001 + 5,
          inWithdrawal: 40,
        },
      ],
      seriesRange: { from: day(0).toISOString(), to: day(6).toISOString(), groupBy: 'month' },
    });
    const report = await auditLedger(w.db);
    assert.ok(report.ok, formatAuditReport(report));
  });

  it('when groupBy comes without from and to, then the series covers the default span up to now from the start of its first period, every period present', async () => {
    const now = Date.now();
    for (const [groupBy, days] of [
      ['day', 30],
      ['week', 84],
    ] as const) {
      const response = await world.request('GET', `${TEACHER_PATH}?groupBy=${groupBy}`, {
        token: teacher.token,
      });
      assert.equal(response.status, 200, response.text);
      const { from, to } = response.body.seriesRange;
      assert.ok(Math.abs(Date.parse(to) - now) < 60_000, 'to is now');
      // The span back from to, then back to where that period starts (a UTC midnight; a Monday's).
      const spanStart = Date.parse(to) - days * DAY;
      assert.ok(
        Date.parse(from) <= spanStart && Date.parse(from) > spanStart - (groupBy === 'day' ? 1 : 7) * DAY,
      );
      assert.equal(from.slice(11), '00:00:00.000Z');
      if (groupBy === 'week') assert.equal(new Date(from).getUTCDay(), 1);
      assert.equal(response.body.series[0].period, from);
      assert.equal(response.body.series.length, groupBy === 'day' ? 31 : 13, groupBy);
      assert.ok(
        response.body.series.every((p: any) => p.earnings === 0 && p.refunds === 0 && p.withdrawals === 0),
      );
    }
    const monthly = await world.request('GET', `${ADMIN_PATH}?groupBy=month`, { token: admin.token });
    assert.equal(monthly.status, 200, monthly.text);
    assert.equal(monthly.body.series.length, 13);
    assert.equal(
      monthly.body.series[12].period.slice(0, 7),
      new Date(Date.parse(monthly.body.seriesRange.to)).toISOString().slice(0, 7),
    );
  });

  it('when from is not before to, from or to come without groupBy, groupBy is unknown or the range holds too many periods, then 400 validation_error naming the parameter', async () => {
    const cases: [string, string][] = [
      [`groupBy=day&from=${day(1).toISOString()}&to=${day(1).toISOString()}`, 'query.from'],
      [`groupBy=day&from=${day(2).toISOString()}&to=${day(1).toISOString()}`, 'query.from'],
      [`from=${day(1).toISOString()}`, 'query.from'],
      [`to=${day(1).toISOString()}`, 'query.to'],
      ['groupBy=year', 'query.groupBy'],
      ['groupBy=day&from=yesterday', 'query.from'],
      [`groupBy=day&from=${day(-MAX_PERIODS).toISOString()}&to=${day(0, 1).toISOString()}`, 'query.groupBy'],
      ['groupBy=day&groupBy=week', 'query.groupBy'],
    ];
    for (const [query, path] of cases) {
      for (const [route, who] of [
        [TEACHER_PATH, teacher],
        [ADMIN_PATH, admin],
      ] as const) {
        const response = await world.request('GET', `${route}?${query}`, { token: who.token });
        assertRefused(response, 400, 'validation_error');
        assert.equal(response.body.error.details[0].path, path, `${query}: ${response.text}`);
      }
    }
    // Exactly the most periods there may be.
    const most = await world.request(
      'GET',
      `${TEACHER_PATH}?groupBy=day&from=${day(-MAX_PERIODS).toISOString()}&to=${day(0).toISOString()}`,
      {
        token: teacher.token,
      },
    );
    assert.equal(most.status, 200, most.text);
    assert.equal(most.body.series.length, MAX_PERIODS);
  });
});
