// Socket.IO across API processes: what any process or the worker records
// reaches its user's socket on any API process (the Postgres adapter), and no
// one else's.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { SignJWT } from 'jose';
import pino from 'pino';
import { io } from 'socket.io-client';
import { ADAPTER_APPLICATION_NAME, attachNotificationSockets } from '../../api/sockets';
import { recordNotifications } from '../../notifications/service';
import { register, startTestApi, type Session, type TestApi } from '../support/api';
import {
  bookOk,
  cast,
  eventually,
  publishSlot,
  startBookingHarness,
  untilPhase,
  type BookingHarness,
} from '../support/bookings';
import { testDatabase } from '../support/db';
import { requireTimeSkipping } from '../support/devserver';
import { connectNotifications, refusedConnection, type NotificationClient } from '../support/sockets';

const MINUTE_MS = 60_000;

/** Records a notification for `session`'s user from outside any API process; answers its event key. */
async function sentinel(api: TestApi, session: Session): Promise<string> {
  const eventKey = `sentinel:${randomUUID()}`;
  await recordNotifications(api.db, [
    {
      userId: session.user.id,
      eventKey,
      type: 'review_resolved',
      payload: { eventKey },
      sourceId: randomUUID(),
    },
  ]);
  return eventKey;
}

/** Everything `client` received, once a notification recorded after the others has arrived. */
async function receivedBy(api: TestApi, session: Session, client: NotificationClient): Promise<string[]> {
  const eventKey = await sentinel(api, session);
  await client.until((n) => n.payload.eventKey === eventKey);
  return client.received
    .filter((n) => !String(n.payload.eventKey).startsWith('sentinel:'))
    .map((n) => n.type);
}

describe('real-time notifications over Socket.IO', () => {
  describe('with two API processes', () => {
    let harness: BookingHarness;
    let second: TestApi;
    before(async function () {
      requireTimeSkipping(this);
      harness = await startBookingHarness({}, { sockets: true });
      second = await startTestApi({}, { sockets: true });
    });
    after(async () => {
      await second?.close();
      await harness?.close();
    });

    it('when a client is connected to one process, then it receives what the other process and the worker record, and other users receive none of it', async () => {
      const { teacher, student } = await cast(harness.api, { funds: 5_000 });
      const outsider = await register(harness.api, 'student');
      const studentOnSecond = await connectNotifications(second.url, student.token);
      const teacherOnFirst = await connectNotifications(harness.api.url, teacher.token);
      const outsiderOnFirst = await connectNotifications(harness.api.url, outsider.token);
      const outsiderOnSecond = await connectNotifications(second.url, outsider.token);

      // Recorded by the first API process (the booking request).
      const meeting = await publishSlot(harness, teacher, { price: 600 });
      const booking = await bookOk(harness, student, meeting.id);
      const confirmed = await studentOnSecond.until((n) => n.type === 'booking_confirmed');
      assert.equal(confirmed.payload.bookingId, booking.id);
      assert.equal(confirmed.read, false);

      // Recorded by the worker's activity when the class opens.
      await harness.skipTo(new Date(Date.parse(meeting.startsAt) - 14 * MINUTE_MS));
      await untilPhase(harness, booking.id, 'open');
      const opening = await studentOnSecond.until((n) => n.type === 'class_opening');
      assert.equal(opening.payload.joinUrl, `http://localhost:3000/console/bookings/${booking.id}/class`);
      await teacherOnFirst.until((n) => n.type === 'class_opening');

      // What was pushed is what GET /notifications lists.
      const listed = await second.request('GET', '/api/v1/notifications', { token: student.token });
      assert.deepEqual(
        listed.body.data.map((n: { id: string }) => n.id).sort(),
        [confirmed.id, opening.id].sort(),
      );
      // Field for field (the push is built by the statement that records it, the list by the API).
      for (const pushed of [confirmed, opening]) {
        assert.deepEqual(
          listed.body.data.find((n: { id: string }) => n.id === pushed.id),
          pushed,
        );
      }
      assert.deepEqual(await receivedBy(second, outsider, outsiderOnFirst), []);
      assert.deepEqual(await receivedBy(second, outsider, outsiderOnSecond), []);
      assert.deepEqual(await receivedBy(second, student, studentOnSecond), [
        'booking_confirmed',
        'class_opening',
      ]);
    });

    it('when a user has two sockets on different processes, then both receive it', async () => {
      const student = await register(harness.api, 'student');
      const first = await connectNotifications(harness.api.url, student.token);
      const other = await connectNotifications(second.url, student.token);
      const eventKey = await sentinel(second, student);
      for (const client of [first, other]) await client.until((n) => n.payload.eventKey === eventKey);
    });
  });

  describe('the handshake', () => {
    let api: TestApi;
    before(async () => {
      api = await startTestApi({}, { sockets: true });
    });
    after(async () => {
      await api?.close();
    });

    it('when no token is sent, then the connection is refused with an error the client can read', async () => {
      const error = await refusedConnection(api.url, undefined);
      assert.equal(error.message, 'send the access token as auth: { token }');
      assert.deepEqual(error.data, {
        error: { code: 'unauthorized', message: 'send the access token as auth: { token }' },
      });
    });

    it('when the token is forged or expired, then the connection is refused', async () => {
      const student = await register(api, 'student');
      const forged = await new SignJWT({ role: 'student' })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(student.user.id)
        .setIssuer('class-marketplace')
        .setExpirationTime('1h')
        .sign(new TextEncoder().encode('another-secret-another-secret-another-secret'));
      const nowSeconds = Math.floor(Date.now() / 1000);
      const expired = await new SignJWT({ role: 'student' })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(student.user.id)
        .setIssuer('class-marketplace')
        .setIssuedAt(nowSeconds - 7_200)
        .setExpirationTime(nowSeconds - 3_600)
        .sign(new TextEncoder().encode(api.settings.JWT_SECRET));
      for (const token of [forged, expired, 'not-a-token', 42]) {
        const error = await refusedConnection(api.url, { token });
        assert.equal(error.data?.error?.code, 'unauthorized', String(token));
      }
      // The same user's valid token connects.
      const client = await connectNotifications(api.url, student.token);
      assert.ok(client.socket.connected);
    });

    it('when the token expires while connected, then the server ends the socket', async () => {
      const student = await register(api, 'student');
      // Expiring one to two seconds from now: the server cuts the socket when it does.
      const shortLived = await new SignJWT({ role: 'student' })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(student.user.id)
        .setIssuer('class-marketplace')
        .setExpirationTime(Math.ceil(Date.now() / 1000) + 1)
        .sign(new TextEncoder().encode(api.settings.JWT_SECRET));
      const connected = await connectNotifications(api.url, shortLived);
      const reason = await new Promise<string>((resolve) => connected.socket.once('disconnect', resolve));
      assert.equal(reason, 'io server disconnect');
    });

    it('when the sockets are closed while the adapter is still connecting, then no database connection of theirs stays open', async () => {
      const { db } = await testDatabase();
      const adapterConnections = async () =>
        Number(
          (
            await db.raw<{ rows: { n: string }[] }>(
              'select count(*) as n from pg_stat_activity where application_name = ?',
              [ADAPTER_APPLICATION_NAME],
            )
          ).rows[0]!.n,
        );
      const before = await adapterConnections();
      const server = http.createServer();
      const sockets = attachNotificationSockets(server, {
        databaseUrl: (await testDatabase()).url,
        db,
        tokens: api.tokens,
        logger: pino({ level: 'silent' }),
      });
      // At once: the adapter's LISTEN connection is still on its way.
      await sockets.close();
      await eventually(
        async () => ((await adapterConnections()) === before ? true : undefined),
        'the adapter connection to go away',
        5_000,
      );
    });

    it('when the adapter’s database connection is cut, again and again, then the process stays up, its sockets are told to reconnect, and new notifications arrive again each time', async function () {
      this.timeout(60_000);
      const student = await register(api, 'student');
      let client = await connectNotifications(api.url, student.token);
      const { db } = await testDatabase();
      // Each lost connection must go back to the adapter's pool of two: the third cut found it
      // full of dead ones and the adapter waiting for ever.
      for (let round = 1; round <= 3; round++) {
        const cut = new Promise<string>((resolve) => client.socket.once('disconnect', resolve));
        const terminated = await eventually(async () => {
          const result = await db.raw<{ rows: unknown[] }>(
            'select pg_terminate_backend(pid) from pg_stat_activity where application_name = ? and query ilike ?',
            [ADAPTER_APPLICATION_NAME, 'LISTEN%'],
          );
          return result.rows.length >= 1 ? result.rows.length : undefined;
        }, `the LISTEN connection (round ${round})`);
        assert.ok(terminated >= 1);
        // The adapter reconnects (within about 3 s), and the sockets it served are ended then.
        assert.equal(await cut, 'io server disconnect', `round ${round}`);
        client = await connectNotifications(api.url, student.token);
        const eventKey = await sentinel(api, student);
        await client.until((n) => n.payload.eventKey === eventKey);
      }
    });

    it('when a client connects to the main namespace, then it is refused and told where to connect', async () => {
      const socket = io(api.url, { transports: ['websocket'], reconnection: false, forceNew: true });
      try {
        const error = await new Promise<Error>((resolve, reject) => {
          socket.once('connect', () => reject(new Error('the connection was accepted')));
          socket.once('connect_error', resolve);
        });
        assert.equal(error.message, 'connect to the /notifications namespace');
      } finally {
        socket.close();
      }
    });
  });
});
