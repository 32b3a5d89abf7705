// The steps a withdrawal's workflow takes, each one database transaction: the
// withdrawal row, its ledger transfer and its notifications change together or
// not at all. Each is idempotent: run again after it committed (an activity
// retried after a crash), it finds its work done and changes nothing.
import assert from 'node:assert/strict';
import type { Db, Trx } from '../db/knex';
import { createTransfers } from '../ledger/transfers';
import type { TransferSpec } from '../ledger/types';
import { forAdmins, recordNotifications } from '../notifications/service';
import type { NotificationType } from '../notifications/types';
import { withdrawalPayout, withdrawalReturn } from './ledger';
import {
  lockWithdrawal,
  markCompleted,
  markFailed,
  markProcessing,
  markRejected,
  type WithdrawalRow,
  type WithdrawalStatus,
} from './repository';

export interface WithdrawalStepDeps {
  db: Db;
}

async function locked(trx: Trx, withdrawalId: string): Promise<WithdrawalRow> {
  const row = await lockWithdrawal(trx, withdrawalId);
  // The workflow exists only for a withdrawal committed before it started.
  assert(row !== undefined, `withdrawal ${withdrawalId} does not exist`);
  return row;
}

/** What notifications of a withdrawal carry: never the bank details. */
function facts(row: WithdrawalRow, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { withdrawalId: row.id, amount: row.amount, ...extra };
}

function toTeacher(row: WithdrawalRow, type: NotificationType, extra: Record<string, unknown> = {}) {
  return {
    userId: row.teacher_id,
    eventKey: `${type}:${row.id}`,
    type,
    payload: facts(row, extra),
    sourceId: row.id,
  };
}

/**
 * Runs `change` when the row is in `from`; a row already in `to` was changed
 * by an earlier run of this step. Any other status contradicts the workflow's
 * own decision: a bug, never retried into something else.
 */
async function transition(
  deps: WithdrawalStepDeps,
  withdrawalId: string,
  from: WithdrawalStatus,
  to: WithdrawalStatus,
  change: (trx: Trx, row: WithdrawalRow) => Promise<void>,
): Promise<void> {
  await deps.db.transaction(async (trx) => {
    const row = await locked(trx, withdrawalId);
    if (row.status === to) return;
    assert(
      row.status === from,
      `withdrawal ${withdrawalId} is ${row.status}, not ${from}: cannot become ${to}`,
    );
    await change(trx, row);
  });
}

async function moveMoney(trx: Trx, transfer: TransferSpec): Promise<void> {
  const result = await createTransfers(trx, [transfer]);
  // The hold exists (committed with the row) and only this step resolves it.
  assert(result.status !== 'refused', `withdrawal transfer refused: ${JSON.stringify(result)}`);
}

/** Approved: processing, the teacher told. */
export async function approveStep(
  deps: WithdrawalStepDeps,
  input: { withdrawalId: string; adminId: string },
): Promise<void> {
  await transition(deps, input.withdrawalId, 'pending', 'processing', async (trx, row) => {
    assert(await markProcessing(trx, row.id, input.adminId));
    await recordNotifications(trx, [toTeacher(row, 'withdrawal_processing')]);
  });
}

/** Rejected: the held amount back in the teacher's earnings, the teacher told why. */
export async function rejectStep(
  deps: WithdrawalStepDeps,
  input: { withdrawalId: string; adminId: string; reason: string },
): Promise<void> {
  await transition(deps, input.withdrawalId, 'pending', 'rejected', async (trx, row) => {
    await moveMoney(trx, withdrawalReturn(row.id, 'rejected', `Withdrawal rejected: ${input.reason}`));
    assert(await markRejected(trx, row.id, input.adminId, input.reason));
    await recordNotifications(trx, [toTeacher(row, 'withdrawal_rejected', { reason: input.reason })]);
  });
}

/** Paid out: the hold posted (the money left the platform), the teacher told. */
export async function completeStep(
  deps: WithdrawalStepDeps,
  input: { withdrawalId: string; reference: string },
): Promise<void> {
  await transition(deps, input.withdrawalId, 'processing', 'completed', async (trx, row) => {
    await moveMoney(trx, withdrawalPayout(row.id, `Withdrawal paid out (${input.reference})`));
    assert(await markCompleted(trx, row.id, input.reference));
    await recordNotifications(trx, [toTeacher(row, 'withdrawal_completed', { reference: input.reference })]);
  });
}

/** The payout failed for good: the held amount back in the teacher's earnings, the teacher told why. */
export async function failStep(
  deps: WithdrawalStepDeps,
  input: { withdrawalId: string; reason: string },
): Promise<void> {
  const reason = input.reason.slice(0, 1000);
  await transition(deps, input.withdrawalId, 'processing', 'failed', async (trx, row) => {
    await moveMoney(trx, withdrawalReturn(row.id, 'failed', `Withdrawal failed: ${reason}`));
    assert(await markFailed(trx, row.id, reason));
    await recordNotifications(trx, [toTeacher(row, 'withdrawal_failed', { reason })]);
  });
}

/** Admins reminded of a withdrawal waiting for them (once per reminder number). */
export async function remindAdminsStep(
  deps: WithdrawalStepDeps,
  input: { withdrawalId: string; reminder: number; waitingFor: 'decision' | 'payout_confirmation' },
): Promise<void> {
  await deps.db.transaction(async (trx) => {
    const row = await locked(trx, input.withdrawalId);
    await recordNotifications(
      trx,
      await forAdmins(trx, {
        eventKey: `withdrawal_reminder:${row.id}:${input.waitingFor}:${input.reminder}`,
        type: 'withdrawal_reminder',
        payload: facts(row, { reminder: input.reminder, waitingFor: input.waitingFor }),
        sourceId: row.id,
      }),
    );
  });
}
