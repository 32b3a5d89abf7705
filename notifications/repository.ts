// One function per database operation on notifications.
import type { Conn } from '../db/knex';
import { KEYSET_TIME, OLDER_THAN_KEYSET } from '../db/keyset';
import { BROADCAST_SQL, broadcastSqlParams, MAX_NOTIFY_BYTES, NOTIFICATIONS_CHANNEL } from './realtime';
import type { NewNotification, NotificationType } from './types';

export interface NotificationRow {
  id: string;
  user_id: string;
  event_key: string;
  type: NotificationType;
  payload: Record<string, unknown>;
  read_at: Date | null;
  created_at: Date;
}

/**
 * Inserts the notifications, except those already recorded for their (user,
 * event), and in the same statement publishes each one inserted on the
 * Socket.IO adapter's channel (delivered when the transaction commits; one
 * too large for a NOTIFY is not pushed). Answers the rows inserted.
 */
export async function insertAndPublishNotifications(
  conn: Conn,
  notifications: NewNotification[],
): Promise<NotificationRow[]> {
  if (notifications.length === 0) return [];
  const result = await conn.raw<{ rows: NotificationRow[] }>(
    `with n as (
       insert into notifications (user_id, event_key, type, payload, source_id)
       select * from unnest(?::uuid[], ?::text[], ?::text[], ?::jsonb[], ?::uuid[])
       on conflict (user_id, event_key) do nothing
       returning id, user_id, event_key, type, payload, read_at, created_at
     ), m as (
       select n.*, ${BROADCAST_SQL} as message from n
     )
     select id, user_id, event_key, type, payload, read_at, created_at,
            case when octet_length(message) <= ? then pg_notify(?, message) end as published
       from m`,
    [
      notifications.map((n) => n.userId),
      notifications.map((n) => n.eventKey),
      notifications.map((n) => n.type),
      notifications.map((n) => JSON.stringify(n.payload)),
      notifications.map((n) => n.sourceId),
      ...broadcastSqlParams(),
      MAX_NOTIFY_BYTES,
      NOTIFICATIONS_CHANNEL,
    ],
  );
  return result.rows.map((row) => ({
    id: row.id,
    user_id: row.user_id,
    event_key: row.event_key,
    type: row.type,
    payload: row.payload,
    read_at: row.read_at,
    created_at: row.created_at,
  }));
}

export async function adminIds(conn: Conn): Promise<string[]> {
  return conn('users').where({ role: 'admin' }).orderBy('id').limit(1000).pluck('id');
}

export async function listNotifications(
  conn: Conn,
  userId: string,
  page: { unreadOnly: boolean; limit: number; before?: { createdAt: string; id: string } },
): Promise<(NotificationRow & { keyset_at: string })[]> {
  const query = conn<NotificationRow>('notifications').where({ user_id: userId });
  if (page.unreadOnly) void query.whereNull('read_at');
  if (page.before !== undefined) {
    void query.whereRaw(OLDER_THAN_KEYSET, [page.before.createdAt, page.before.id]);
  }
  return query
    .select('*', conn.raw(`${KEYSET_TIME} as keyset_at`))
    .orderBy([
      { column: 'created_at', order: 'desc' },
      { column: 'id', order: 'desc' },
    ])
    .limit(page.limit);
}

/** Marks the user's notification read (once); answers the row, or undefined when it is not theirs. */
export async function markRead(conn: Conn, userId: string, id: string): Promise<NotificationRow | undefined> {
  await conn('notifications')
    .where({ id, user_id: userId })
    .whereNull('read_at')
    .update({ read_at: conn.fn.now() });
  return conn<NotificationRow>('notifications').where({ id, user_id: userId }).first();
}
