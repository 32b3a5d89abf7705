// The notification push is built in SQL by the statement that records it
// (notifications/realtime.ts BROADCAST_SQL); broadcastOf is the adapter's
// message as TypeScript writes it. The two must say the same, field for field.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { BROADCAST_SQL, broadcastOf, broadcastSqlParams } from '../../notifications/realtime';
import { testDb } from '../support/db';

describe('notifications: the push built in SQL', function () {
  for (const read of [false, true]) {
    it(`when a ${read ? 'read' : 'new'} notification row is published, then its message is broadcastOf's, field for field`, async function () {
      const db = await testDb();
      const userId = randomUUID();
      const id = randomUUID();
      const payload = { bookingId: randomUUID(), title: 'Quotes " and <tags> & ünïcode' };
      const createdAt = '2026-12-07T08:09:10.123Z';
      const readAt = read ? '2026-12-07T09:00:00.456Z' : null;
      const result = await db.raw(
        `select ${BROADCAST_SQL} as message
           from (select ?::uuid as id, ?::text as type, ?::jsonb as payload, ?::timestamptz as read_at,
                        ?::timestamptz as created_at, ?::uuid as user_id) n`,
        [
          ...broadcastSqlParams(),
          id,
          'booking_confirmed',
          JSON.stringify(payload),
          readAt,
          createdAt,
          userId,
        ],
      );
      const message: unknown = JSON.parse((result.rows as { message: string }[])[0]!.message);
      assert.deepEqual(
        message,
        broadcastOf(userId, { id, type: 'booking_confirmed', payload, read, readAt, createdAt }),
      );
    });
  }
});
