// One function per database operation on notifications.
import type { Conn } from '../db/knex';
import { KEYSET_TIME, OLDER_THAN_KEYSET } from '../db/keyset';
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

/** Records each (user, event) once: a repeat is ignored. Answers the rows that are new. */
export async function insertNotifications(
  conn: Conn,
  notifications: NewNotification[],
): Promise<NotificationRow[]> {
  if (notifications.length === 0) return [];
  return conn('notifications')
    .insert(
      notifications.map((n) => ({
        user_id: n.userId,
        event_key: n.eventKey,
        type: n.type,
        payload: JSON.stringify(n.payload),
        source_id: n.sourceId,
      })),
    )
    .onConflict(['user_id', 'event_key'])
    .ignore()
    .returning(['id', 'user_id', 'event_key', 'type', 'payload', 'read_at', 'created_at']);
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
