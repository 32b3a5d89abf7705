// Activities of Stripe top-ups: the reconciler that catches webhooks that
// never came, run by the maintenance workflow each round.
import type { Logger } from 'pino';
import type { Db } from '../db/knex';
import type { StripeGateway } from '../payments/stripe';
import { reconcileOpenTopups, type TopupReconciliation } from '../payments/topups';

export type { TopupReconciliation };

/** Top-ups still open this long after their creation are looked up at Stripe. */
export const TOPUP_RECONCILE_AFTER_MINUTES = 5;
/** Sessions looked up per round at most (the least recently checked first). */
export const TOPUP_RECONCILE_BATCH = 50;

export function createTopupActivities(deps: {
  db: Db;
  logger: Logger;
  stripe: StripeGateway;
  currency: string;
}) {
  return {
    /**
     * Asks Stripe about open top-ups older than a few minutes and credits the
     * paid ones (payments/topups.ts), exactly as their webhook would have.
     */
    async reconcileTopups(
      input: { olderThanMinutes?: number; limit?: number } = {},
    ): Promise<TopupReconciliation> {
      const summary = await reconcileOpenTopups(deps, {
        olderThanMinutes: input.olderThanMinutes ?? TOPUP_RECONCILE_AFTER_MINUTES,
        limit: input.limit ?? TOPUP_RECONCILE_BATCH,
      });
      if (summary.credited > 0 || summary.mismatched > 0 || summary.errors > 0)
        deps.logger.info({ ...summary }, 'top-ups reconciled with Stripe');
      return summary;
    },
  };
}

export type TopupActivities = ReturnType<typeof createTopupActivities>;
