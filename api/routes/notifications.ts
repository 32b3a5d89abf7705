// In-app notifications of the signed-in user.
import { notificationsOf, readNotification } from '../../notifications/service';
import { emailPreferences, setEmailPreferences } from '../../notifications/preferences';
import { NOTIFICATION_TYPES } from '../../notifications/types';
import type { Db } from '../../db/knex';
import { decodeKeyset, encodeKeyset } from '../cursors';
import { NotFoundError } from '../errors';
import type { ApiRoutes } from '../route';
import { Cursor, IdParams, IsoTimestamp, pageLimit, Uuid } from '../schemas';
import { z } from '../zod';

const ALL_ROLES = ['student', 'teacher', 'admin'] as const;

const Notification = z
  .object({
    id: Uuid,
    type: z.enum(NOTIFICATION_TYPES),
    payload: z.record(z.string(), z.unknown()),
    read: z.boolean(),
    readAt: IsoTimestamp.nullable(),
    createdAt: IsoTimestamp,
  })
  .openapi('Notification');

const Preferences = z
  .object({
    email: z
      .object({
        bookings: z.boolean().openapi({ description: 'Booking confirmed, class opening' }),
        money: z.boolean().openapi({ description: 'Cancellations, refunds, payments released' }),
        reviews: z.boolean().openapi({ description: 'Reviews required, reminders, resolved' }),
      })
      .strict(),
  })
  .strict()
  .openapi('NotificationPreferences', {
    description:
      'Email on or off per category. In-app notifications (GET /notifications, Socket.IO) are always on.',
  });

export function notificationRoutes(routes: ApiRoutes, deps: { db: Db }): void {
  routes.add({
    method: 'get',
    path: '/notifications',
    summary: 'The caller’s notifications, newest first',
    tags: ['notifications'],
    access: ALL_ROLES,
    query: z
      .object({
        unread: z
          .enum(['true', 'false', '1', '0'])
          .optional()
          .openapi({ description: 'true (or 1): unread ones only' }),
        limit: pageLimit(100, 20),
        cursor: Cursor.optional(),
      })
      .strict(),
    success: {
      status: 200,
      description: 'A page of notifications',
      schema: z
        .object({ data: z.array(Notification), nextCursor: z.string().nullable() })
        .openapi('NotificationPage'),
    },
    handler: async ({ user, query }) => {
      const page = await notificationsOf(deps.db, user.id, {
        unreadOnly: query.unread === 'true' || query.unread === '1',
        limit: query.limit,
        ...(query.cursor === undefined ? {} : { before: decodeKeyset(query.cursor, 'notifications') }),
      });
      return {
        status: 200,
        body: {
          data: page.data,
          nextCursor: page.nextCursor === null ? null : encodeKeyset(page.nextCursor, 'notifications'),
        },
      };
    },
  });

  routes.add({
    method: 'post',
    path: '/notifications/:id/read',
    summary: 'Mark a notification read',
    tags: ['notifications'],
    access: ALL_ROLES,
    params: IdParams,
    success: { status: 200, description: 'The notification', schema: Notification },
    errors: [404],
    handler: async ({ user, params }) => {
      const notification = await readNotification(deps.db, user.id, params.id);
      if (notification === undefined) throw new NotFoundError('notification');
      return { status: 200, body: notification };
    },
  });

  routes.add({
    method: 'get',
    path: '/me/notification-preferences',
    summary: 'The caller’s email preferences',
    tags: ['notifications'],
    access: ALL_ROLES,
    success: { status: 200, description: 'The preferences', schema: Preferences },
    handler: async ({ user }) => ({
      status: 200,
      body: { email: await emailPreferences(deps.db, user.id) },
    }),
  });

  routes.add({
    method: 'put',
    path: '/me/notification-preferences',
    summary: 'Replace the caller’s email preferences',
    tags: ['notifications'],
    access: ALL_ROLES,
    body: Preferences,
    success: { status: 200, description: 'The preferences as stored', schema: Preferences },
    handler: async ({ user, body }) => ({
      status: 200,
      body: { email: await setEmailPreferences(deps.db, user.id, body.email) },
    }),
  });
}
