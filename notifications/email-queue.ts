// One function per database operation on the email side of notifications:
// pending -> sending (claimed under a lease) -> sent | failed | skipped, or
// back to pending to be tried again.
import type { Conn } from '../db/knex';
import type { Recipient } from './email';
import type { EmailPreferences, NotificationType } from './types';

export interface ClaimedEmail {
  id: string;
  user_id: string;
  event_key: string;
  type: NotificationType;
  payload: Record<string, unknown>;
  email_attempts: number;
}

/**
 * Claims up to `limit` emails of a source that are due, under `claim` (a
 * token of this attempt's own): pending ones, or ones claimed by an attempt
 * whose lease ran out (it died). Rows another attempt is claiming right now
 * are skipped, not waited for; the least tried go first, so one recipient's
 * server saying "later" again and again does not stand in front of the others.
 */
export async function claimDueEmails(
  conn: Conn,
  sourceId: string,
  claim: { token: string; leaseMs: number },
  limit: number,
): Promise<ClaimedEmail[]> {
  const result = await conn.raw<{ rows: ClaimedEmail[] }>(
    `update notifications
        set email_status = 'sending', email_claim = ?,
            email_claimed_until = now() + ? * interval '1 millisecond'
      where id in (
        select id from notifications
         where source_id = ? and (email_status = 'pending' or (email_status = 'sending' and email_claimed_until < now()))
         order by email_attempts, created_at, id
         limit ?
         for update skip locked)
      returning id, user_id, event_key, type, payload, email_attempts`,
    [claim.token, claim.leaseMs, sourceId, limit],
  );
  return result.rows;
}

/** Whether emails of the source are claimed by another attempt still within its lease. */
export async function emailsClaimedElsewhere(conn: Conn, sourceId: string): Promise<boolean> {
  const row: unknown = await conn('notifications')
    .where({ source_id: sourceId, email_status: 'sending' })
    .where('email_claimed_until', '>=', conn.fn.now())
    .first(conn.raw('1 as one'));
  return row !== undefined;
}

export interface EmailFactsRow {
  user_id: string;
  email: string;
  name: string;
  role: Recipient['role'];
  bookings_email: boolean | null;
  money_email: boolean | null;
  reviews_email: boolean | null;
}

/** The recipients of claimed emails with their email preferences (absent: all on). */
export async function recipientsOf(conn: Conn, userIds: string[]): Promise<Map<string, EmailFactsRow>> {
  const rows: EmailFactsRow[] = await conn('users as u')
    .leftJoin('notification_preferences as p', 'p.user_id', 'u.id')
    .whereIn('u.id', [...new Set(userIds)])
    .select(
      'u.id as user_id',
      'u.email',
      'u.name',
      'u.role',
      'p.bookings_email',
      'p.money_email',
      'p.reviews_email',
    );
  return new Map(rows.map((row) => [row.user_id, row]));
}

export function preferencesOf(row: EmailFactsRow): EmailPreferences {
  return {
    bookings: row.bookings_email ?? true,
    money: row.money_email ?? true,
    reviews: row.reviews_email ?? true,
  };
}

/** The titles of the meetings the claimed emails are about. */
export async function meetingTitles(conn: Conn, meetingIds: string[]): Promise<Map<string, string>> {
  if (meetingIds.length === 0) return new Map();
  const rows: { id: string; title: string }[] = await conn('meetings')
    .whereIn('id', [...new Set(meetingIds)])
    .select('id', 'title');
  return new Map(rows.map((row) => [row.id, row.title]));
}

const MAX_ERROR_LENGTH = 1000;

function trimmed(reason: string): string {
  return reason.length <= MAX_ERROR_LENGTH ? reason : `${reason.slice(0, MAX_ERROR_LENGTH - 1)}…`;
}

/** Compare-and-set on this attempt's claim: answers whether it still held the row. */
export async function finishEmail(
  conn: Conn,
  id: string,
  claimToken: string,
  outcome:
    | { status: 'sent' }
    | { status: 'skipped'; reason: string }
    | { status: 'failed'; reason: string }
    | { status: 'pending'; reason: string },
): Promise<boolean> {
  const attempted = outcome.status === 'sent' || outcome.status === 'failed' || outcome.status === 'pending';
  const changed = await conn('notifications')
    .where({ id, email_status: 'sending', email_claim: claimToken })
    .update({
      email_status: outcome.status,
      email_claim: null,
      email_claimed_until: null,
      email_error: outcome.status === 'sent' ? null : trimmed(outcome.reason),
      ...(outcome.status === 'sent' ? { email_sent_at: conn.fn.now() } : {}),
      ...(attempted ? { email_attempts: conn.raw('email_attempts + 1') } : {}),
    });
  return changed === 1;
}

/** Claimed but not tried (the server went away mid-batch): back to pending, no attempt counted. */
export async function releaseEmails(conn: Conn, ids: string[], claimToken: string): Promise<void> {
  if (ids.length === 0) return;
  await conn('notifications')
    .whereIn('id', ids)
    .where({ email_status: 'sending', email_claim: claimToken })
    .update({ email_status: 'pending', email_claim: null, email_claimed_until: null });
}

/** Delivery gave up: what is still due is failed, with the reason. Answers how many. */
export async function failDueEmails(conn: Conn, sourceId: string, reason: string): Promise<number> {
  return conn('notifications')
    .where({ source_id: sourceId })
    .whereIn('email_status', ['pending', 'sending'])
    .update({
      email_status: 'failed',
      email_claim: null,
      email_claimed_until: null,
      email_error: conn.raw('coalesce(email_error, ?)', [trimmed(reason)]),
    });
}

/**
 * Emails still due long after they were recorded have nobody to send them (a
 * run from before email existed, a lane that ended): failed, with the reason,
 * rather than pending forever. Answers how many, at most `limit` per call.
 */
export async function failStaleEmails(conn: Conn, olderThanMs: number, limit: number): Promise<number> {
  const result = await conn.raw<{ rowCount: number | null }>(
    `update notifications
        set email_status = 'failed', email_claim = null, email_claimed_until = null,
            email_error = coalesce(email_error, ?)
      where id in (
        select id from notifications
         where email_status in ('pending', 'sending')
           and created_at < now() - ? * interval '1 millisecond'
           and (email_claimed_until is null or email_claimed_until < now())
         limit ?
         for update skip locked)`,
    [
      trimmed(`no delivery ran for it within ${Math.round(olderThanMs / 3_600_000)} hours`),
      olderThanMs,
      limit,
    ],
  );
  return result.rowCount ?? 0;
}
