// Activities that mail a source's notifications (pushed to sockets already
// when they were recorded). Delivery never touches money: a workflow runs it
// beside its own work, and an SMTP server that is down only keeps it retrying.
import { ApplicationFailure } from '@temporalio/activity';
import { deliverEmails, type DeliveryDeps } from '../notifications/delivery';
import { failDueEmails } from '../notifications/email-queue';

export const EMAIL_NOT_DELIVERED = 'EmailNotDelivered';

export function createNotificationActivities(deps: DeliveryDeps) {
  return {
    /**
     * Mails the source's due notifications. Throws a retryable failure while
     * some could not be sent for now (the server down, a 4xx answer), so
     * Temporal tries again with backoff; answers whether more are due.
     */
    deliverNotifications: async (input: { sourceId: string }): Promise<{ sent: number; more: boolean }> => {
      const report = await deliverEmails(deps, input.sourceId);
      if (report.retry.length > 0) {
        throw ApplicationFailure.retryable(
          `email not delivered yet: ${report.retry.join('; ')}`,
          EMAIL_NOT_DELIVERED,
        );
      }
      return { sent: report.sent, more: report.more };
    },

    /** Delivery gave up: what is still due is marked failed, with the last reason. */
    abandonNotifications: async (input: { sourceId: string; reason: string }): Promise<number> =>
      failDueEmails(deps.db, input.sourceId, input.reason),
  };
}

export type NotificationActivities = ReturnType<typeof createNotificationActivities>;
