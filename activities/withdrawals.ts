// Activities of the withdrawal workflow: each carries out a decision the
// workflow took, as one idempotent database step (withdrawals/steps.ts), or
// pays the withdrawal out through Stripe.
import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/activity';
import type { Logger } from 'pino';
import { PAYOUT_REFUSED } from '../workflows/shared';
import type { ConnectPayouts } from '../withdrawals/payouts';
import { findWithdrawal } from '../withdrawals/repository';
import {
  approveStep,
  completeStep,
  failStep,
  rejectStep,
  remindAdminsStep,
  type WithdrawalStepDeps,
} from '../withdrawals/steps';

export interface WithdrawalActivityDeps extends WithdrawalStepDeps {
  payouts: ConnectPayouts;
  logger: Logger;
}

export function createWithdrawalActivities(deps: WithdrawalActivityDeps) {
  return {
    approveWithdrawal: (input: { withdrawalId: string; adminId: string }) => approveStep(deps, input),
    rejectWithdrawal: (input: { withdrawalId: string; adminId: string; reason: string }) =>
      rejectStep(deps, input),
    completeWithdrawal: (input: { withdrawalId: string; reference: string }) => completeStep(deps, input),
    failWithdrawal: (input: { withdrawalId: string; reason: string }) => failStep(deps, input),
    remindAdminsOfWithdrawal: (input: {
      withdrawalId: string;
      reminder: number;
      waitingFor: 'decision' | 'payout_confirmation';
    }) => remindAdminsStep(deps, input),

    /**
     * Pays the withdrawal out through Stripe Connect and answers the transfer's
     * id. A refusal that will not change is a non-retryable `payout_refused`
     * failure (the workflow then returns the money); anything else is retried,
     * and the idempotency key makes a retry after a payout that went through
     * answer that payout.
     */
    payOutWithdrawal: async (input: { withdrawalId: string }): Promise<{ reference: string }> => {
      const row = await findWithdrawal(deps.db, input.withdrawalId);
      assert(row !== undefined, `withdrawal ${input.withdrawalId} does not exist`);
      assert(row.provider === 'stripe' && row.stripe_account_id !== null, 'a Stripe payout has an account');
      try {
        const { transferId } = await deps.payouts.transfer({
          withdrawalId: row.id,
          amount: row.amount,
          currency: row.currency,
          destination: row.stripe_account_id,
        });
        return { reference: transferId };
      } catch (error) {
        if (!deps.payouts.isPermanentFailure(error)) throw error;
        const message = error instanceof Error ? error.message : String(error);
        deps.logger.error({ withdrawalId: row.id, reason: message }, 'payout refused');
        throw ApplicationFailure.create({ message, type: PAYOUT_REFUSED, nonRetryable: true });
      }
    },
  };
}

export type WithdrawalActivities = ReturnType<typeof createWithdrawalActivities>;
