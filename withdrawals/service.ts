// Withdrawals as the API asks for them: a teacher asks (the amount held in the
// same transaction as the row, then the workflow started), everyone looks at
// what they may see, admins decide through the workflow, which answers.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Db } from '../db/knex';
import {
  ConflictError,
  IdempotencyKeyReusedError,
  InsufficientFundsError,
  NotFoundError,
  UnavailableError,
  ValidationError,
} from '../domain/errors';
import { nameUuid } from '../ledger/ids';
import { createTransfers } from '../ledger/transfers';
import { startUnstartedWorkflows } from '../db/workflow-started';
import { forAdmins, recordNotifications } from '../notifications/service';
import { WorkflowGoneError } from '../temporal-client/updates';
import type { WorkflowLinks } from '../temporal-client/workflow-links';
import type { UserModel } from '../users/user-model';
import { withdrawalWorkflowId, type WithdrawalState } from '../workflows/shared';
import {
  maskBankAccount,
  sealBankAccount,
  type BankAccount,
  type DataKeyring,
  type MaskedBankAccount,
} from './bank-details';
import { withdrawalHold } from './ledger';
import {
  findWithdrawal,
  insertWithdrawal,
  listWithdrawals,
  markWithdrawalWorkflowStarted,
  setStripeAccount,
  stalledPayouts,
  stripeAccountOf,
  type PayoutProvider,
  type WithdrawalRow,
  type WithdrawalStatus,
} from './repository';
import type { WithdrawalWorkflows } from './workflow-gateway';

export interface WithdrawalDeps {
  db: Db;
  currency: string;
  /** WITHDRAWAL_MIN_AMOUNT. */
  minAmount: number;
  /** PAYOUT_PROVIDER, copied into each withdrawal when it is asked. */
  provider: PayoutProvider;
  keyring: DataKeyring;
  workflows: WithdrawalWorkflows;
  logger: Logger;
  /** Links to withdrawal workflows, shown to admins. */
  workflowLinks: WorkflowLinks;
}

type Actor = Pick<UserModel, 'id' | 'role'>;

export interface WithdrawalView {
  id: string;
  teacherId: string;
  amount: number;
  currency: string;
  status: WithdrawalStatus;
  provider: PayoutProvider;
  bankAccount: MaskedBankAccount;
  /** Why it was rejected, or why its payout failed. */
  reason: string | null;
  /** The bank transfer's reference or the Stripe transfer id, once paid. */
  reference: string | null;
  decidedAt: string | null;
  completedAt: string | null;
  workflowId: string;
  /** The workflow in the Temporal UI or the dev server's inspector: for admins only, null for others. */
  workflowUrl: string | null;
  createdAt: string;
}

export function withdrawalView(row: WithdrawalRow): WithdrawalView {
  return {
    id: row.id,
    teacherId: row.teacher_id,
    amount: row.amount,
    currency: row.currency,
    status: row.status,
    provider: row.provider,
    bankAccount: row.bank_account_masked,
    reason: row.reject_reason ?? row.failure_reason,
    reference: row.payout_reference,
    decidedAt: row.decided_at?.toISOString() ?? null,
    completedAt: row.completed_at?.toISOString() ?? null,
    workflowId: withdrawalWorkflowId(row.id),
    workflowUrl: null,
    createdAt: row.created_at.toISOString(),
  };
}

/** A withdrawal as `viewer` sees it: admins also get the link to its workflow. */
function viewFor(
  deps: Pick<WithdrawalDeps, 'workflowLinks'>,
  viewer: Actor,
  row: WithdrawalRow,
): WithdrawalView {
  const view = withdrawalView(row);
  return viewer.role === 'admin' ? { ...view, workflowUrl: deps.workflowLinks.of(view.workflowId) } : view;
}

/**
 * Holds `amount` of the teacher's available earnings and starts the
 * withdrawal's workflow. With an idempotency key the withdrawal's id (and so
 * its hold's) is derived from it: a retried request holds nothing more.
 */
export async function requestWithdrawal(
  deps: WithdrawalDeps,
  teacher: Actor,
  input: { amount: number; bankAccount: BankAccount; idempotencyKey?: string | undefined },
): Promise<WithdrawalView> {
  if (input.amount < deps.minAmount) {
    throw new ValidationError(`the smallest withdrawal is ${deps.minAmount}`, [
      { path: 'amount', message: `must be at least ${deps.minAmount}` },
    ]);
  }
  const id =
    input.idempotencyKey === undefined
      ? randomUUID()
      : nameUuid('withdrawal', teacher.id, input.idempotencyKey);
  const stripeAccountId = deps.provider === 'stripe' ? await stripeAccountOf(deps.db, teacher.id) : null;
  if (deps.provider === 'stripe' && stripeAccountId === null) {
    throw new ConflictError(
      'payout_account_missing',
      'withdrawals are paid through Stripe: name your connected account first (PUT /teachers/me/stripe-account)',
    );
  }
  const sealed = sealBankAccount(deps.keyring, input.bankAccount, id);
  const { row, replay } = await deps.db.transaction(async (trx) => {
    const inserted = await insertWithdrawal(trx, {
      id,
      teacher_id: teacher.id,
      amount: input.amount,
      currency: deps.currency,
      provider: deps.provider,
      stripe_account_id: stripeAccountId,
      bank_account_sealed: sealed.sealed,
      bank_account_key_id: sealed.keyId,
      bank_account_masked: maskBankAccount(input.bankAccount),
    });
    if (inserted === undefined) {
      // This key asked before: the same request again answers that withdrawal.
      const first = await findWithdrawal(trx, id);
      const asked = maskBankAccount(input.bankAccount);
      // After the API's stored answer is purged, the key with another account must not answer this one.
      const sameAccount =
        first !== undefined &&
        first.bank_account_masked.holderName === asked.holderName &&
        first.bank_account_masked.bankName === asked.bankName &&
        first.bank_account_masked.last4 === asked.last4;
      if (first?.teacher_id !== teacher.id || first.amount !== input.amount || !sameAccount) {
        throw new IdempotencyKeyReusedError();
      }
      return { row: first, replay: true };
    }
    const hold = await createTransfers(trx, [
      withdrawalHold({ id, teacherId: teacher.id, amount: input.amount }, deps.currency),
    ]);
    if (hold.status === 'refused') {
      if (hold.reason === 'exceeds_credits') {
        throw new InsufficientFundsError('your available earnings do not cover this withdrawal');
      }
      throw new Error(`withdrawal hold refused: ${hold.reason}`);
    }
    await recordNotifications(
      trx,
      await forAdmins(trx, {
        eventKey: `withdrawal_requested:${id}`,
        type: 'withdrawal_requested',
        payload: { withdrawalId: id, amount: input.amount, teacherId: teacher.id },
        sourceId: id,
      }),
    );
    return { row: inserted, replay: false };
  });
  if (!replay || !row.workflow_started) await startWorkflow(deps, row);
  return withdrawalView(row);
}

/** Starts the workflow and notes it; a failure is logged, and the reconciler starts it later. */
async function startWorkflow(deps: WithdrawalDeps, row: WithdrawalRow): Promise<void> {
  try {
    await deps.workflows.start(row);
    await markWithdrawalWorkflowStarted(deps.db, [row.id]);
  } catch (error) {
    deps.logger.warn({ err: error, withdrawalId: row.id }, 'withdrawal workflow not started yet');
  }
}

export async function withdrawalsOf(
  deps: WithdrawalDeps,
  actor: Actor,
  query: { status?: WithdrawalStatus; limit: number; before?: { createdAt: string; id: string } },
): Promise<{ data: WithdrawalView[]; next: { createdAt: string; id: string } | null }> {
  const rows = await listWithdrawals(deps.db, {
    ...(actor.role === 'admin' ? {} : { teacherId: actor.id }),
    ...(query.status === undefined ? {} : { status: query.status }),
    ...(query.before === undefined ? {} : { before: query.before }),
    limit: query.limit + 1,
  });
  const page = rows.slice(0, query.limit);
  const last = page[page.length - 1];
  return {
    data: page.map((row) => viewFor(deps, actor, row)),
    next: rows.length > query.limit && last !== undefined ? { createdAt: last.keyset_at, id: last.id } : null,
  };
}

/** A teacher sees their own withdrawals, admins all; anything else is not found. */
export async function getWithdrawal(deps: WithdrawalDeps, actor: Actor, id: string): Promise<WithdrawalView> {
  return viewFor(deps, actor, await visibleWithdrawal(deps, actor, id));
}

async function visibleWithdrawal(deps: WithdrawalDeps, actor: Actor, id: string): Promise<WithdrawalRow> {
  const row = await findWithdrawal(deps.db, id);
  if (row === undefined || (actor.role !== 'admin' && row.teacher_id !== actor.id)) {
    throw new NotFoundError('withdrawal');
  }
  return row;
}

const FINAL: readonly WithdrawalStatus[] = ['completed', 'rejected', 'failed'];

export type AdminAction =
  | { kind: 'approve' }
  | { kind: 'reject'; reason: string }
  | { kind: 'complete'; reference: string }
  | { kind: 'fail'; reason: string };

/**
 * An admin's decision or payout report, carried to the workflow, which
 * validates it against its own state (one winner when two admins race) and
 * answers once its step has run.
 */
export async function actOnWithdrawal(
  deps: WithdrawalDeps,
  admin: Actor,
  id: string,
  action: AdminAction,
): Promise<WithdrawalView> {
  const row = await visibleWithdrawal(deps, admin, id);
  if (FINAL.includes(row.status)) {
    throw new ConflictError('already_resolved', `the withdrawal is already ${row.status}`);
  }
  const send = (): Promise<WithdrawalState> => {
    switch (action.kind) {
      case 'approve':
        return deps.workflows.approve(id, { adminId: admin.id });
      case 'reject':
        return deps.workflows.reject(id, { adminId: admin.id, reason: action.reason });
      case 'complete':
        return deps.workflows.reportManualPayout(id, {
          adminId: admin.id,
          outcome: 'completed',
          reference: action.reference,
        });
      case 'fail':
        return deps.workflows.reportManualPayout(id, {
          adminId: admin.id,
          outcome: 'failed',
          reason: action.reason,
        });
    }
  };
  try {
    await send();
  } catch (error) {
    if (!(error instanceof WorkflowGoneError)) throw error;
    const now = await findWithdrawal(deps.db, id);
    if (now !== undefined && FINAL.includes(now.status)) {
      throw new ConflictError('already_resolved', `the withdrawal is already ${now.status}`);
    }
    // Its workflow is not running: never started (its request died before the reconciler came
    // round), or its run failed or was terminated. Start it from the row and ask again.
    try {
      await deps.workflows.start(now ?? row);
    } catch (cause) {
      deps.logger.warn({ err: cause, withdrawalId: row.id }, 'could not start the withdrawal workflow again');
      throw new UnavailableError('the withdrawal’s workflow could not be started just now; try again later');
    }
    await markWithdrawalWorkflowStarted(deps.db, [row.id]);
    try {
      await send();
    } catch (retried) {
      if (!(retried instanceof WorkflowGoneError)) throw retried;
      throw new UnavailableError(
        'the withdrawal’s workflow is not running and could not be started again; try again later',
      );
    }
  }
  return viewFor(deps, admin, (await findWithdrawal(deps.db, id))!);
}

/** The teacher's Stripe connected account, where `stripe` payouts go. */
export async function nameStripeAccount(
  deps: Pick<WithdrawalDeps, 'db'>,
  teacher: Actor,
  accountId: string,
): Promise<{ stripeAccountId: string }> {
  await setStripeAccount(deps.db, teacher.id, accountId);
  return { stripeAccountId: accountId };
}

/** A withdrawal's own request gets this long to start its workflow before the reconciler does. */
export const START_GRACE_MS = 30_000;
/** A payout this long in progress has its run started again (a no-op while one runs). */
export const STALLED_PAYOUT_MS = 60 * 60_000;

/**
 * Starts again the runs of approved Stripe withdrawals whose payout has been
 * in progress for an hour: a no-op while their run is alive (one id, one run);
 * a run that was terminated or failed resumes the payout from the row, so the
 * money is not held until an admin happens to act. Answers how many were asked.
 */
export async function restartStalledPayouts(
  deps: Pick<WithdrawalDeps, 'db' | 'workflows' | 'logger'>,
  now: Date,
  limit: number,
): Promise<number> {
  let asked = 0;
  for (const row of await stalledPayouts(deps.db, new Date(now.getTime() - STALLED_PAYOUT_MS), limit)) {
    try {
      await deps.workflows.start(row);
      asked++;
    } catch (error) {
      deps.logger.warn({ err: error, withdrawalId: row.id }, 'reconciler could not restart a payout');
    }
  }
  return asked;
}

/** Starts the workflows of withdrawals whose request died before starting them; answers how many. */
export async function startMissingWithdrawalWorkflows(
  deps: Pick<WithdrawalDeps, 'db' | 'workflows' | 'logger'>,
  now: Date,
  limit: number,
): Promise<number> {
  return startUnstartedWorkflows<WithdrawalRow>(deps.db, 'withdrawals', {
    olderThan: new Date(now.getTime() - START_GRACE_MS),
    limit,
    start: (row) => deps.workflows.start(row),
    onFailure: (row, error) =>
      deps.logger.warn(
        { err: error, withdrawalId: row.id },
        'reconciler could not start a withdrawal workflow',
      ),
  });
}
