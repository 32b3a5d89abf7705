// A teacher's statement (GET /wallet/transactions on their earnings): commission
// lines from settled bookings and withdrawal lines whose status follows the
// hold, with the filters and the CSV download a student's statement has.
import assert from 'node:assert/strict';
import { auditLedger, formatAuditReport } from '../../ledger/audit';
import {
  book,
  endWithdrawal,
  fundedStudent,
  isolatedWorld,
  newUser,
  requestWithdrawal,
  settle,
  type RevenueWorld,
} from './support';

const DAY = 86_400_000;
const day = (days: number) => new Date(Date.parse('2026-10-05T00:00:00.000Z') + days * DAY);

describe('teacher statement', () => {
  let world: RevenueWorld;
  before(async () => {
    world = await isolatedWorld();
  });

  it('when a teacher earns and withdraws, then the statement shows commission and withdrawal lines with their signs and statuses, filtered by type, status and period, and as CSV', async () => {
    const teacher = await newUser(world, 'teacher');
    const student = await fundedStudent(world, 10_000);
    const bookingAt = async (price: number, when: Date) =>
      (await book(
        world.db,
        { teacherId: teacher.id, studentId: student.id, price, teacherSharePercent: 70 },
        when,
      ))!;
    await settle(world.db, await bookingAt(1_000, day(0)), 0, day(0)); // +700
    await settle(world.db, await bookingAt(500, day(1)), 50, day(1)); // kept 250: +175
    const paid = (await requestWithdrawal(world.db, teacher.id, 300, day(2)))!;
    const rejected = (await requestWithdrawal(world.db, teacher.id, 100, day(2)))!;
    const failed = (await requestWithdrawal(world.db, teacher.id, 50, day(2)))!;
    const pending = (await requestWithdrawal(world.db, teacher.id, 25, day(3)))!;
    await endWithdrawal(world.db, paid, 'paid', day(4));
    await endWithdrawal(world.db, rejected, 'rejected', day(4));
    await endWithdrawal(world.db, failed, 'failed', day(5));

    const get = (query: string) =>
      world.request('GET', `/api/v1/wallet/transactions?${query}`, { token: teacher.token });
    const all = await get('limit=100');
    assert.equal(all.status, 200, all.text);
    const lines = all.body.data.map((l: any) => ({
      type: l.type,
      amount: l.amount,
      status: l.status,
      reference: l.reference?.type,
      balanceAfter: l.balanceAfter,
    }));
    // Newest first. A withdrawal's hold is one line whose status follows it
    // (the payout adds no line: the money had left the balance at the hold);
    // a returned one (rejected, failed) has a second line giving the money back.
    assert.deepEqual(lines, [
      { type: 'withdrawal', amount: 50, status: 'completed', reference: 'withdrawal', balanceAfter: 550 },
      { type: 'withdrawal', amount: 100, status: 'completed', reference: 'withdrawal', balanceAfter: 500 },
      { type: 'withdrawal', amount: -25, status: 'pending', reference: 'withdrawal', balanceAfter: 400 },
      { type: 'withdrawal', amount: -50, status: 'failed', reference: 'withdrawal', balanceAfter: 425 },
      { type: 'withdrawal', amount: -100, status: 'cancelled', reference: 'withdrawal', balanceAfter: 475 },
      { type: 'withdrawal', amount: -300, status: 'completed', reference: 'withdrawal', balanceAfter: 575 },
      { type: 'commission', amount: 175, status: 'completed', reference: 'booking', balanceAfter: 875 },
      { type: 'commission', amount: 700, status: 'completed', reference: 'booking', balanceAfter: 700 },
    ]);
    assert.ok(all.body.data.every((l: any) => l.balanceBefore + l.amount === l.balanceAfter));
    const wallet = await world.request('GET', '/api/v1/wallet', { token: teacher.token });
    assert.deepEqual(wallet.body, { currency: 'usd', available: 550, held: 25, total: 575 });

    const amounts = async (query: string) => (await get(query)).body.data.map((l: any) => l.amount);
    assert.deepEqual(await amounts('type=commission'), [175, 700]);
    assert.deepEqual(await amounts('type=withdrawal'), [50, 100, -25, -50, -100, -300]);
    assert.deepEqual(await amounts('type=withdrawal&status=pending'), [-25]);
    assert.deepEqual(await amounts('type=withdrawal&status=cancelled'), [-100]);
    assert.deepEqual(await amounts('status=failed'), [-50]);
    assert.deepEqual(await amounts('type=withdrawal&status=completed'), [50, 100, -300]);
    assert.deepEqual(
      await amounts(`from=${day(1).toISOString()}&to=${day(3).toISOString()}`),
      [-50, -100, -300, 175],
    );
    assert.deepEqual(await amounts(`type=commission&to=${day(1).toISOString()}`), [700]);
    const page = await get('type=withdrawal&limit=4');
    assert.equal(page.body.data.length, 4);
    const rest = await get(`type=withdrawal&limit=4&cursor=${page.body.nextCursor}`);
    assert.deepEqual(
      rest.body.data.map((l: any) => l.amount),
      [-100, -300],
    );
    assert.equal(rest.body.nextCursor, null);

    const csv = await get('format=csv&type=withdrawal');
    assert.equal(csv.status, 200, csv.text);
    assert.match(csv.headers.get('content-type') ?? '', /^text\/csv/);
    const rows = csv.text.trim().split('\r\n');
    assert.equal(
      rows[0],
      'id,type,amount,balanceBefore,balanceAfter,status,referenceType,referenceId,description,createdAt',
    );
    assert.deepEqual(
      rows.slice(1).map((r) => {
        const cells = r.split(',');
        return [cells[1], cells[2], cells[5], cells[6], cells[7]];
      }),
      [
        ['withdrawal', '50', 'completed', 'withdrawal', failed],
        ['withdrawal', '100', 'completed', 'withdrawal', rejected],
        ['withdrawal', '-25', 'pending', 'withdrawal', pending],
        ['withdrawal', '-50', 'failed', 'withdrawal', failed],
        ['withdrawal', '-100', 'cancelled', 'withdrawal', rejected],
        ['withdrawal', '-300', 'completed', 'withdrawal', paid],
      ],
    );
    const commissions = await get(`format=csv&type=commission&status=completed&from=${day(1).toISOString()}`);
    assert.deepEqual(
      commissions.text
        .trim()
        .split('\r\n')
        .slice(1)
        .map((r) => r.split(',').slice(1, 6)),
      [['commission', '175', '700', '875', 'completed']],
    );

    const report = await auditLedger(world.db);
    assert.ok(report.ok, formatAuditReport(report));
  });
});
