// Email delivery of one source's notifications (a booking's), as one attempt
// of its workflow's delivery activity. Each email is claimed under a lease and
// this attempt's own token before it is sent, and marked sent right after, so
// a retried attempt, or two racing, send nothing already sent, and an attempt
// that outlived its lease can no longer touch a row claimed since. The window
// left: the server took a message but the attempt never recorded it (the
// process died, or the server's last reply was lost); the message then goes
// again, with the same Message-ID, which mail stores and clients use to
// recognise a duplicate.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Db } from '../db/knex';
import { composeEmail, type EmailSettings } from './email';
import {
  claimDueEmails,
  emailsClaimedElsewhere,
  finishEmail,
  preferencesOf,
  releaseEmails,
  type ClaimedEmail,
} from './email-queue';
import type { Mailer } from './mailer';
import { CATEGORY_OF } from './types';

export interface DeliveryDeps {
  db: Db;
  mailer: Mailer;
  email: EmailSettings;
  logger: Logger;
}

/**
 * Longer than the delivery activity's start-to-close timeout (1 minute), and
 * than the send budget plus one send (SEND_TIMEOUT_MS): a live attempt never
 * loses its claim.
 */
export const EMAIL_LEASE_MS = 2 * 60_000;
/** Emails claimed (and sent one by one) per round of an attempt. */
export const EMAIL_BATCH = 10;
/** Rounds per attempt: a source with more due (many admins) asks for another attempt. */
const MAX_ROUNDS = 5;
/**
 * No new send starts after this much of an attempt: with each send cut at the
 * mailer's SEND_TIMEOUT_MS (40 s), an attempt ends inside its minute.
 */
const SEND_BUDGET_MS = 10_000;

export interface DeliveryReport {
  sent: number;
  skipped: number;
  failed: number;
  /** Why some emails must be tried again later (empty: nothing left to retry). */
  retry: string[];
  /** More are due than one attempt sends. */
  more: boolean;
}

export async function deliverEmails(deps: DeliveryDeps, sourceId: string): Promise<DeliveryReport> {
  const report: DeliveryReport = { sent: 0, skipped: 0, failed: 0, retry: [], more: false };
  const sendUntilMs = performance.now() + SEND_BUDGET_MS;
  for (let round = 0; round < MAX_ROUNDS && performance.now() < sendUntilMs; round++) {
    const claim = { token: randomUUID(), leaseMs: EMAIL_LEASE_MS };
    const claimed = await claimDueEmails(deps.db, sourceId, claim, EMAIL_BATCH);
    const stopped = await sendClaimed(deps, claimed, claim.token, report, sendUntilMs);
    // A deferred email is pending again: another round now would only ask that server again.
    if (stopped || claimed.length < EMAIL_BATCH || report.retry.length > 0) {
      if (report.retry.length === 0 && (await emailsClaimedElsewhere(deps.db, sourceId))) {
        report.retry.push('another attempt is sending this source’s emails');
      }
      return report;
    }
  }
  report.more = true;
  return report;
}

/** Sends what was claimed; answers whether it stopped early (the server failing for now, or out of time). */
async function sendClaimed(
  deps: DeliveryDeps,
  claimed: ClaimedEmail[],
  claimToken: string,
  report: DeliveryReport,
  sendUntilMs: number,
): Promise<boolean> {
  if (claimed.length === 0) return false;
  for (const [index, row] of claimed.entries()) {
    if (performance.now() >= sendUntilMs) {
      await releaseEmails(
        deps.db,
        claimed.slice(index).map((rest) => rest.id),
        claimToken,
      );
      report.more = true;
      return true;
    }
    const { recipient } = row;
    if (recipient === undefined) throw new Error(`notification ${row.id} names no user`);
    if (!preferencesOf(recipient)[CATEGORY_OF[row.type]]) {
      await finishEmail(deps.db, row.id, claimToken, {
        status: 'skipped',
        reason: 'email off in the preferences',
      });
      report.skipped++;
      continue;
    }
    const meetingId = row.payload['meetingId'];
    const email = composeEmail(
      {
        type: row.type,
        eventKey: row.event_key,
        payload: row.payload,
        recipient: {
          id: recipient.user_id,
          email: recipient.email,
          name: recipient.name,
          role: recipient.role,
        },
        title: typeof meetingId === 'string' ? row.meeting_title : null,
      },
      deps.email,
    );
    const result = await deps.mailer.send(email);
    if (result.status === 'sent') {
      await finishEmail(deps.db, row.id, claimToken, { status: 'sent' });
      report.sent++;
    } else if (result.status === 'refused') {
      deps.logger.warn({ notificationId: row.id, reason: result.reason }, 'email refused for good');
      await finishEmail(deps.db, row.id, claimToken, { status: 'failed', reason: result.reason });
      report.failed++;
    } else if (result.status === 'deferred') {
      // This recipient later; the others now.
      await finishEmail(deps.db, row.id, claimToken, { status: 'pending', reason: result.reason });
      report.retry.push(result.reason);
    } else {
      // The server is failing for now: the rest of the batch waits for the next attempt.
      await finishEmail(deps.db, row.id, claimToken, { status: 'pending', reason: result.reason });
      await releaseEmails(
        deps.db,
        claimed.slice(index + 1).map((rest) => rest.id),
        claimToken,
      );
      report.retry.push(result.reason);
      return true;
    }
  }
  return false;
}
