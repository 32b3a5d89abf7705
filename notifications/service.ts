// In-app notifications: recorded by the step that records the event (in its
// transaction), listed and marked read by their user. Email and real-time
// delivery build on `recordNotifications` (see the notifications issue).
import type { Conn } from '../db/knex';
import {
  adminIds,
  insertAndPublishNotifications,
  listNotifications,
  markRead,
  type NotificationRow,
} from './repository';
import type { NewNotification, NotificationView } from './types';

/**
 * Records notifications, each (user, event) at most once, and pushes the new
 * ones to their users' sockets when `conn`'s transaction commits. Email goes
 * out later, from the activity of the source's workflow. Answers how many were new.
 */
export async function recordNotifications(conn: Conn, notifications: NewNotification[]): Promise<number> {
  const rows = await insertAndPublishNotifications(conn, notifications);
  return rows.length;
}

/** The same event for every administrator. */
export async function forAdmins(
  conn: Conn,
  event: Omit<NewNotification, 'userId'>,
): Promise<NewNotification[]> {
  return (await adminIds(conn)).map((userId) => ({ userId, ...event }));
}

export function toView(row: NotificationRow): NotificationView {
  return {
    id: row.id,
    type: row.type,
    payload: row.payload,
    read: row.read_at !== null,
    readAt: row.read_at?.toISOString() ?? null,
    createdAt: row.created_at.toISOString(),
  };
}

export interface NotificationPage {
  data: NotificationView[];
  nextCursor: { createdAt: string; id: string } | null;
}

export async function notificationsOf(
  conn: Conn,
  userId: string,
  page: { unreadOnly: boolean; limit: number; before?: { createdAt: string; id: string } },
): Promise<NotificationPage> {
  const rows = await listNotifications(conn, userId, { ...page, limit: page.limit + 1 });
  const more = rows.length > page.limit;
  const shown = rows.slice(0, page.limit);
  const last = shown[shown.length - 1];
  return {
    data: shown.map(toView),
    nextCursor: more && last !== undefined ? { createdAt: last.keyset_at, id: last.id } : null,
  };
}

export async function readNotification(
  conn: Conn,
  userId: string,
  id: string,
): Promise<NotificationView | undefined> {
  const row = await markRead(conn, userId, id);
  return row === undefined ? undefined : toView(row);
}
