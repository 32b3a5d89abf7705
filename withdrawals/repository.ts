// One function per database operation on withdrawals; each takes the
// connection or transaction to run in. Status changes are compare-and-set
// (`where status = ?`) and answer whether they changed the row.
import type { Conn } from '../db/knex';
import { KEYSET_TIME, OLDER_THAN_KEYSET } from '../db/keyset';
import { markWorkflowsStarted } from '../db/workflow-started';
import type { MaskedBankAccount } from './bank-details';

export const WITHDRAWAL_STATUSES = ['pending', 'processing', 'completed', 'rejected', 'failed'] as const;
export type WithdrawalStatus = (typeof WITHDRAWAL_STATUSES)[number];
export type PayoutProvider = 'manual' | 'stripe';

export interface WithdrawalRow {
  id: string;
  teacher_id: string;
  amount: number;
  currency: string;
  status: WithdrawalStatus;
  provider: PayoutProvider;
  stripe_account_id: string | null;
  bank_account_sealed: string;
  bank_account_key_id: string;
  bank_account_masked: MaskedBankAccount;
  decided_by: string | null;
  decided_at: Date | null;
  reject_reason: string | null;
  failure_reason: string | null;
  payout_reference: string | null;
  completed_at: Date | null;
  workflow_started: boolean;
  created_at: Date;
  updated_at: Date;
}

export type NewWithdrawalRow = Pick<
  WithdrawalRow,
  | 'id'
  | 'teacher_id'
  | 'amount'
  | 'currency'
  | 'provider'
  | 'stripe_account_id'
  | 'bank_account_sealed'
  | 'bank_account_key_id'
  | 'bank_account_masked'
>;

/** Inserts the withdrawal; answers undefined when one with this id exists (a retried request). */
export async function insertWithdrawal(
  conn: Conn,
  row: NewWithdrawalRow,
): Promise<WithdrawalRow | undefined> {
  const [inserted] = await conn<WithdrawalRow>('withdrawals')
    .insert({ ...row, bank_account_masked: JSON.stringify(row.bank_account_masked) as never })
    .onConflict('id')
    .ignore()
    .returning('*');
  return inserted;
}

export async function findWithdrawal(conn: Conn, id: string): Promise<WithdrawalRow | undefined> {
  return conn<WithdrawalRow>('withdrawals').where({ id }).first();
}

export async function lockWithdrawal(conn: Conn, id: string): Promise<WithdrawalRow | undefined> {
  return conn<WithdrawalRow>('withdrawals').where({ id }).forUpdate().first();
}

export async function listWithdrawals(
  conn: Conn,
  filter: {
    teacherId?: string;
    status?: WithdrawalStatus;
    before?: { createdAt: string; id: string };
    limit: number;
  },
): Promise<(WithdrawalRow & { keyset_at: string })[]> {
  const query = conn('withdrawals');
  if (filter.teacherId !== undefined) void query.where({ teacher_id: filter.teacherId });
  if (filter.status !== undefined) void query.where({ status: filter.status });
  if (filter.before !== undefined) {
    void query.whereRaw(OLDER_THAN_KEYSET, [filter.before.createdAt, filter.before.id]);
  }
  return query
    .select('*', conn.raw(`${KEYSET_TIME} as keyset_at`))
    .orderBy([
      { column: 'created_at', order: 'desc' },
      { column: 'id', order: 'desc' },
    ])
    .limit(filter.limit);
}

/** pending -> processing (an admin approved); answers whether it changed. */
export async function markProcessing(conn: Conn, id: string, adminId: string): Promise<boolean> {
  const changed = await conn('withdrawals').where({ id, status: 'pending' }).update({
    status: 'processing',
    decided_by: adminId,
    decided_at: conn.fn.now(),
    updated_at: conn.fn.now(),
  });
  return changed === 1;
}

/** pending -> rejected; answers whether it changed. */
export async function markRejected(
  conn: Conn,
  id: string,
  adminId: string,
  reason: string,
): Promise<boolean> {
  const changed = await conn('withdrawals').where({ id, status: 'pending' }).update({
    status: 'rejected',
    decided_by: adminId,
    decided_at: conn.fn.now(),
    reject_reason: reason,
    updated_at: conn.fn.now(),
  });
  return changed === 1;
}

/** processing -> completed; answers whether it changed. */
export async function markCompleted(conn: Conn, id: string, reference: string): Promise<boolean> {
  const changed = await conn('withdrawals').where({ id, status: 'processing' }).update({
    status: 'completed',
    payout_reference: reference,
    completed_at: conn.fn.now(),
    updated_at: conn.fn.now(),
  });
  return changed === 1;
}

/** processing -> failed; answers whether it changed. */
export async function markFailed(conn: Conn, id: string, reason: string): Promise<boolean> {
  const changed = await conn('withdrawals')
    .where({ id, status: 'processing' })
    .update({ status: 'failed', failure_reason: reason, updated_at: conn.fn.now() });
  return changed === 1;
}

export function markWithdrawalWorkflowStarted(conn: Conn, ids: string[]): Promise<void> {
  return markWorkflowsStarted(conn, 'withdrawals', ids);
}

export async function stripeAccountOf(conn: Conn, teacherId: string): Promise<string | null> {
  const row: { stripe_account_id: string | null } | undefined = await conn('users')
    .where({ id: teacherId })
    .first('stripe_account_id');
  return row?.stripe_account_id ?? null;
}

export async function setStripeAccount(conn: Conn, teacherId: string, accountId: string): Promise<void> {
  await conn('users').where({ id: teacherId, role: 'teacher' }).update({ stripe_account_id: accountId });
}

/**
 * Approved Stripe withdrawals whose payout has not ended since `updatedBefore`:
 * their run may have stopped (terminated by support staff), with the money
 * held. Manual payouts wait for an admin, whose report starts a stopped run
 * again; they would only fill the batch with live runs.
 */
export async function stalledPayouts(
  conn: Conn,
  updatedBefore: Date,
  limit: number,
): Promise<WithdrawalRow[]> {
  return conn<WithdrawalRow>('withdrawals')
    .where({ status: 'processing', provider: 'stripe', workflow_started: true })
    .andWhere('updated_at', '<', updatedBefore)
    .orderBy('updated_at')
    .limit(limit);
}
