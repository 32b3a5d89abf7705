// Revenue tests drive the ledger directly, as the booking and withdrawal
// steps do (the same transfer builders), at chosen times, in a database of
// their own: the platform's figures are sums over every transfer, so no
// other test may write beside them, and moving a transfer's time is only
// safe where nothing else runs.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { holdTransfer, settlementChain } from '../../bookings/ledger';
import type { Db, Trx } from '../../db/knex';
import type { BookingPolicy } from '../../domain/booking';
import { planSettlement, type SettlementPlan } from '../../domain/settlement';
import { createUserAccount, systemAccountId, userAccountId } from '../../ledger/accounts';
import { createTransfers } from '../../ledger/transfers';
import type { ChainResult, TransferSpec } from '../../ledger/types';
import { withdrawalHold, withdrawalPayout, withdrawalReturn } from '../../withdrawals/ledger';
import { appOn, testApi, type ApiResponse, type RequestOptions, type TestApi } from '../support/api';
import { isolatedDb, TEST_CURRENCY } from '../support/db';
import { insertUser } from '../support/fixtures';

export interface RevenueWorld {
  db: Db;
  request<T = any>(method: string, path: string, options?: RequestOptions): Promise<ApiResponse<T>>;
  tokens: TestApi['tokens'];
}

/** The application as testApi() runs it, over a database of its own. */
export async function isolatedWorld(): Promise<RevenueWorld> {
  const api = await appOn(await isolatedDb(), await testApi());
  return {
    db: api.db,
    tokens: api.tokens,
    request: (method, path, options) => api.request(method, path, options),
  };
}

export interface Person {
  id: string;
  token: string;
}

export async function newUser(world: RevenueWorld, role: 'student' | 'teacher' | 'admin'): Promise<Person> {
  const id = await insertUser(world.db, role);
  await createUserAccount(world.db, id, role === 'teacher' ? 'earnings' : 'wallet', TEST_CURRENCY);
  return { id, token: await world.tokens.sign({ userId: id, role }) };
}

/**
 * Runs `fn` in a transaction whose ledger transfers are stamped `at` instead
 * of now (the column default, changed and restored inside the transaction:
 * nobody else ever sees it). Only for a database of the test's own.
 */
export async function at<T>(db: Db, when: Date, fn: (trx: Trx) => Promise<T>): Promise<T> {
  return db.transaction(async (trx) => {
    await trx.raw(
      `alter table ledger_transfers alter column created_at set default '${when.toISOString()}'::timestamptz`,
    );
    const result = await fn(trx);
    await trx.raw('alter table ledger_transfers alter column created_at set default now()');
    return result;
  });
}

export async function apply(db: Db, when: Date, chain: TransferSpec[]): Promise<ChainResult> {
  return at(db, when, (trx) => createTransfers(trx, chain));
}

export async function deposit(db: Db, accountId: string, amount: number, when = new Date()): Promise<void> {
  const result = await apply(db, when, [
    {
      id: randomUUID(),
      kind: 'posted',
      debitAccountId: systemAccountId('external', TEST_CURRENCY),
      creditAccountId: accountId,
      amount,
      code: 'deposit',
    },
  ]);
  assert.equal(result.status, 'created');
}

export async function fundedStudent(world: RevenueWorld, amount: number): Promise<Person> {
  const student = await newUser(world, 'student');
  await deposit(world.db, userAccountId(student.id, 'wallet'), amount);
  return student;
}

export interface TestBooking {
  id: string;
  teacherId: string;
  studentId: string;
  price: number;
  teacherSharePercent: number;
}

const POLICY: Omit<BookingPolicy, 'teacherSharePercent'> = {
  openBeforeMinutes: 15,
  endGraceMinutes: 5,
  attendanceReleasePercent: 20,
  lateCancelHours: 24,
  lateCancelRefundPercent: 50,
  disputeWindowHours: 0,
  reviewReminderHours: 24,
};

/** A booking as POST /bookings makes it: the meeting, the row, and the price held, at `when`. */
export async function book(
  db: Db,
  input: { teacherId: string; studentId: string; price: number; teacherSharePercent: number },
  when: Date,
): Promise<TestBooking | undefined> {
  const booking: TestBooking = { id: randomUUID(), ...input };
  const startsAt = new Date(when.getTime() + 86_400_000);
  const endsAt = new Date(startsAt.getTime() + 3_600_000);
  return at(db, when, async (trx) => {
    const meetingId = randomUUID();
    await trx('meetings').insert({
      id: meetingId,
      teacher_id: input.teacherId,
      starts_at: startsAt,
      ends_at: endsAt,
      price: input.price,
      capacity: 1,
      seats_taken: 1,
      created_at: when,
    });
    await trx('bookings').insert({
      id: booking.id,
      meeting_id: meetingId,
      student_id: input.studentId,
      teacher_id: input.teacherId,
      price: input.price,
      starts_at: startsAt,
      ends_at: endsAt,
      policy: JSON.stringify({ ...POLICY, teacherSharePercent: input.teacherSharePercent }),
      created_at: when,
    });
    const result = await createTransfers(trx, [
      holdTransfer(
        { id: booking.id, studentId: input.studentId, price: input.price, title: 'Class' },
        TEST_CURRENCY,
      ),
    ]);
    if (result.status === 'created') return booking;
    assert.deepEqual(result, { status: 'refused', reason: 'exceeds_credits', index: 0 });
    throw new NotBooked(); // rolls the rows back
  }).catch((error: unknown) => {
    if (error instanceof NotBooked) return undefined;
    throw error;
  });
}

class NotBooked extends Error {}

/** Settles as the settlement step does: `refundPercent` back to the student, the rest split. */
export async function settle(
  db: Db,
  booking: TestBooking,
  refundPercent: number,
  when: Date,
): Promise<SettlementPlan> {
  const plan = planSettlement(booking.price, booking.teacherSharePercent, refundPercent, 'admin_partial');
  await at(db, when, async (trx) => {
    const result = await createTransfers(trx, settlementChain(booking, plan, TEST_CURRENCY));
    assert.equal(result.status, 'created', JSON.stringify(result));
    await trx('bookings').where({ id: booking.id }).update({
      status: 'completed',
      settlement: plan.settlement,
      outcome: plan.outcome,
      refunded_amount: plan.amounts.refund,
      teacher_amount: plan.amounts.teacher,
      platform_amount: plan.amounts.platform,
    });
  });
  return plan;
}

/** Holds a withdrawal on the teacher's earnings; undefined when more than is available. */
export async function requestWithdrawal(
  db: Db,
  teacherId: string,
  amount: number,
  when: Date,
): Promise<string | undefined> {
  const id = randomUUID();
  const result = await apply(db, when, [withdrawalHold({ id, teacherId, amount }, TEST_CURRENCY)]);
  if (result.status === 'created') return id;
  assert.deepEqual(result, { status: 'refused', reason: 'exceeds_credits', index: 0 });
  return undefined;
}

export type WithdrawalEnd = 'paid' | 'rejected' | 'failed';

export async function endWithdrawal(db: Db, id: string, end: WithdrawalEnd, when: Date): Promise<void> {
  const transfer =
    end === 'paid'
      ? withdrawalPayout(id, 'Paid out: ref 42')
      : withdrawalReturn(id, end, `Withdrawal ${end}`);
  const result = await apply(db, when, [transfer]);
  assert.equal(result.status, 'created', JSON.stringify(result));
}
