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
  /** The recipient with their email preferences (undefined: no such user). */
  recipient: EmailFactsRow | undefined;
  /** The title of the meeting the payload names (`meetingId`), if any. */
  meeting_title: string | null;
}

/**
 * Claims up to `limit` emails of a source that are due, under `claim` (a
 * token of this attempt's own): pending ones, or ones claimed by an attempt
 * whose lease ran out (it died). Rows another attempt is claiming right now
 * are skipped, not waited for; the least tried go first, so one recipient's
 * server saying "later" again and again does not stand in front of the others.
 * The same statement reads what composing them needs (recipient, preferences,
 * meeting title): one round trip, not three.
 */
export async function claimDueEmails(
  conn: Conn,
  sourceId: string,
  claim: { token: string; leaseMs: number },
  limit: number,
): Promise<ClaimedEmail[]> {
  const result = await conn.raw<{
    rows: (Omit<ClaimedEmail, 'recipient'> & Omit<EmailFactsRow, 'user_id'> & { has_user: boolean })[];
  }>(
    `with claimed as (
       update notifications
          set email_status = 'sending', email_claim = ?,
              email_claimed_until = now() + ? * interval '1 millisecond'
        where id in (
          select id from notifications
           where source_id = ? and (email_status = 'pending' or (email_status = 'sending' and email_claimed_until < now()))
           order by email_attempts, created_at, id
           limit ?
           for update skip locked)
       returning id, user_id, event_key, type, payload, email_attempts, created_at
     )
     select c.id, c.user_id, c.event_key, c.type, c.payload, c.email_attempts,
            u.id is not null as has_user, u.email, u.name, u.role,
            p.bookings_email, p.money_email, p.reviews_email, m.title as meeting_title
       from claimed c
       left join users u on u.id = c.user_id
       left join notification_preferences p on p.user_id = c.user_id
       left join meetings m
         on jsonb_typeof(c.payload -> 'meetingId') = 'string'
        and c.payload ->> 'meetingId' ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
        and m.id = (c.payload ->> 'meetingId')::uuid
      order by c.email_attempts, c.created_at, c.id`,
    [claim.token, claim.leaseMs, sourceId, limit],
  );
  return result.rows.map((row) => ({
    id: row.id,
    user_id: row.user_id,
    event_key: row.event_key,
    type: row.type,
    payload: row.payload,
    email_attempts: row.email_attempts,
    recipient: row.has_user
      ? {
          user_id: row.user_id,
          email: row.email,
          name: row.name,
          role: row.role,
          bookings_email: row.bookings_email,
          money_email: row.money_email,
          reviews_email: row.reviews_email,
        }
      : undefined,
    meeting_title: row.meeting_title,
  }));
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

export function preferencesOf(row: EmailFactsRow): EmailPreferences {
  return {
    bookings: row.bookings_email ?? true,
    money: row.money_email ?? true,
    reviews: row.reviews_email ?? true,
  };
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
  // `is not distinct from`, not `=` (the same on this not-null column, still the
  // compare-and-set): PostgreSQL does not match it to the partial index of emails due,
  // notifications_email_due_idx (where email_status in ('pending', 'sending')), so the
  // row is found by primary key. With `=` the planner, told by its statistics that few
  // emails are due, scanned that whole index (every email in flight, and dead entries
  // until vacuum) filtering on id: 94 buffers per call on empty tables, 266 with 100,000
  // finished bookings whose emails were sent (pg_stat_statements, bench:bookings).
  // A planner behaviour of PostgreSQL 15, not a promise: check the plan again after
  // an upgrade (see markWorkflowsStarted).
  const changed = await conn('notifications')
    .where({ id, email_claim: claimToken })
    .whereRaw('email_status is not distinct from ?', ['sending'])
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
    .where({ email_claim: claimToken })
    // By primary key, not by scanning the partial index of emails due (see finishEmail).
    .whereRaw('email_status is not distinct from ?', ['sending'])
    .update({ email_status: 'pending', email_claim: null, email_claimed_until: null });
}

/**
 * Delivery gave up: what is still due is failed, with the reason. An email
 * an attempt is sending under a live claim is left to it (an attempt that
 * outlived its activity's timeout may still get it through, and then records
 * it sent); if that attempt dies, the daily sweep fails it. Answers how many.
 */
export async function failDueEmails(conn: Conn, sourceId: string, reason: string): Promise<number> {
  return conn('notifications')
    .where({ source_id: sourceId })
    .where((due) =>
      due
        .where('email_status', 'pending')
        .orWhere((abandoned) =>
          abandoned.where('email_status', 'sending').where('email_claimed_until', '<', conn.fn.now()),
        ),
    )
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
