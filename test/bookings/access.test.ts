// Who may see and do what with a booking, join tokens and their window, and
// the in-app notifications a booking produces.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { requireTimeSkipping } from '../support/devserver';
import { decodeJwt } from 'jose';
import { createAdmin, register, type Session } from '../support/api';
import {
  bookOk,
  cast,
  publishSlot,
  startBookingHarness,
  untilPhase,
  type BookingHarness,
} from '../support/bookings';

const MINUTE_MS = 60_000;

describe('access to bookings', () => {
  let harness: BookingHarness;
  let admin: Session;
  before(async () => {
    harness = await startBookingHarness();
    admin = await createAdmin(harness.api);
  });
  after(async () => {
    await harness?.close();
  });

  it('when another student reads, cancels, joins or disputes a booking, then it does not exist for them and nothing changes', async () => {
    const { teacher, student } = await cast(harness.api);
    const stranger = await register(harness.api, 'student');
    const otherTeacher = await register(harness.api, 'teacher');
    const meeting = await publishSlot(harness, teacher, { startsInMs: 2 * 60 * MINUTE_MS });
    const booking = await bookOk(harness, student, meeting.id);
    const calls: [string, string, object | undefined][] = [
      ['GET', `/api/v1/bookings/${booking.id}`, undefined],
      ['POST', `/api/v1/bookings/${booking.id}/cancel`, {}],
      ['GET', `/api/v1/bookings/${booking.id}/join`, undefined],
      ['POST', `/api/v1/bookings/${booking.id}/dispute`, { reason: 'not mine' }],
      ['GET', `/api/v1/meetings/${meeting.id}`, undefined],
    ];
    for (const [method, path, body] of calls) {
      const response = await harness.api.request(method, path, { token: stranger.token, body });
      assert.equal(response.status, 404, `${method} ${path}: ${response.text}`);
      assert.equal(response.body.error.code, 'not_found');
    }
    const otherTeacherRead = await harness.api.request('GET', `/api/v1/bookings/${booking.id}`, {
      token: otherTeacher.token,
    });
    assert.equal(otherTeacherRead.status, 404);
    const otherTeacherCancel = await harness.api.request('POST', `/api/v1/meetings/${meeting.id}/cancel`, {
      token: otherTeacher.token,
      body: {},
    });
    assert.equal(otherTeacherCancel.status, 404, otherTeacherCancel.text);
    const mine = await harness.api.request('GET', `/api/v1/bookings/${booking.id}`, { token: student.token });
    assert.equal(mine.body.status, 'confirmed');

    const strangerList = await harness.api.request('GET', '/api/v1/bookings', { token: stranger.token });
    assert.deepEqual(strangerList.body.data, []);
    const teacherList = await harness.api.request('GET', '/api/v1/bookings', { token: teacher.token });
    assert.deepEqual(
      teacherList.body.data.map((b: any) => b.id),
      [booking.id],
    );
  });

  it('when a seat was booked and cancelled hundreds of times, then the meeting still shows its live booking to its teacher, an admin and its student', async () => {
    const { teacher, student } = await cast(harness.api);
    const meeting = await publishSlot(harness, teacher, { capacity: 1 });
    const first = await bookOk(harness, student, meeting.id);
    const cancelled = await harness.api.request('POST', `/api/v1/bookings/${first.id}/cancel`, {
      token: student.token,
      body: {},
    });
    assert.equal(cancelled.status, 200, cancelled.text);
    // More cancelled bookings than a meeting shows, older than the one that holds the seat.
    const row = await harness.api.db('bookings').where({ id: first.id }).first();
    const earlier = Array.from({ length: 250 }, (_, i) => ({
      ...row,
      id: randomUUID(),
      created_at: new Date(row.created_at.getTime() - (i + 1) * 1_000),
    }));
    await harness.api.db.batchInsert('bookings', earlier, 100);
    const other = (await cast(harness.api)).student;
    const live = await bookOk(harness, other, meeting.id);

    for (const who of [teacher, admin]) {
      const response = await harness.api.request('GET', `/api/v1/meetings/${meeting.id}`, {
        token: who.token,
      });
      assert.equal(response.status, 200, response.text);
      assert.equal(response.body.bookings.length, 200);
      assert.ok(
        response.body.bookings.some((b: { id: string; status: string }) => b.id === live.id),
        'the live booking is shown',
      );
      assert.ok(
        response.body.bookings.some((b: { id: string }) => b.id === first.id),
        'the latest cancelled one is',
      );
    }
    const own = await harness.api.request('GET', `/api/v1/meetings/${meeting.id}`, { token: other.token });
    assert.equal(own.status, 200, own.text);
    assert.deepEqual(
      own.body.bookings.map((b: { id: string }) => b.id),
      [live.id],
    );
  });

  it('when a teacher or a student asks to resolve a review or list reviews, then 403', async () => {
    const { teacher, student } = await cast(harness.api);
    const meeting = await publishSlot(harness, teacher);
    const booking = await bookOk(harness, student, meeting.id);
    for (const who of [teacher, student]) {
      const resolve = await harness.api.request('POST', `/api/v1/admin/reviews/${booking.id}/resolve`, {
        token: who.token,
        body: { decision: 'release' },
      });
      assert.equal(resolve.status, 403, resolve.text);
      const list = await harness.api.request('GET', '/api/v1/admin/reviews', { token: who.token });
      assert.equal(list.status, 403);
    }
    const notInReview = await harness.api.request('POST', `/api/v1/admin/reviews/${booking.id}/resolve`, {
      token: admin.token,
      body: { decision: 'release' },
    });
    assert.equal(notInReview.status, 409, notInReview.text);
    assert.equal(notInReview.body.error.code, 'not_in_review');
  });

  it('when a join token is asked for, then only from the opening to the end, only for the booking’s own room', async function () {
    requireTimeSkipping(this, harness?.env);
    const { teacher, student } = await cast(harness.api);
    const meeting = await publishSlot(harness, teacher, { startsInMs: 2 * 60 * MINUTE_MS });
    const booking = await bookOk(harness, student, meeting.id);
    const join = (who: Session) =>
      harness.api.request('GET', `/api/v1/bookings/${booking.id}/join`, { token: who.token });

    const early = await join(student);
    assert.equal(early.status, 409, early.text);
    assert.equal(early.body.error.code, 'not_joinable');

    await harness.skipTo(new Date(Date.parse(meeting.startsAt) - 15 * MINUTE_MS));
    await untilPhase(harness, booking.id, 'open');
    for (const who of [student, teacher]) {
      const response = await join(who);
      assert.equal(response.status, 200, response.text);
      assert.equal(response.body.roomName, `meeting-${meeting.id}`);
      const claims: any = decodeJwt(response.body.token);
      assert.equal(claims.sub, `user-${who.user.id}`);
      assert.equal(claims.video.room, `meeting-${meeting.id}`);
      assert.equal(claims.video.roomJoin, true);
      assert.equal(claims.video.roomAdmin, undefined);
      // Valid until the scheduled end plus grace (5 minutes), no longer. (The token's
      // clock is the real one; the lifetime is what counts under a virtual clock.)
      const lifetimeS = (Date.parse(meeting.endsAt) + 5 * MINUTE_MS - harness.clock.now().getTime()) / 1000;
      assert.ok(
        Math.abs(claims.exp - claims.nbf - lifetimeS) <= 2,
        `${claims.exp - claims.nbf} vs ${lifetimeS}`,
      );
    }
    const adminJoin = await join(admin);
    assert.equal(adminJoin.status, 403);

    await harness.skipTo(new Date(Date.parse(meeting.endsAt) + 1_000));
    const late = await join(student);
    assert.equal(late.status, 409, late.text);
    assert.equal(late.body.error.code, 'not_joinable');
  });

  it('when a teacher asks for their class’s join token, then only for their own class while a booking of it may be joined; students, admins and other teachers are refused', async function () {
    requireTimeSkipping(this, harness?.env);
    const { teacher, student } = await cast(harness.api);
    const { teacher: otherTeacher } = await cast(harness.api);
    const meeting = await publishSlot(harness, teacher, { startsInMs: 2 * 60 * MINUTE_MS });
    const join = (who: Session, id = meeting.id) =>
      harness.api.request('GET', `/api/v1/meetings/${id}/join`, { token: who.token });

    const unbooked = await join(teacher);
    assert.equal(unbooked.status, 409, unbooked.text);
    assert.match(unbooked.body.error.message, /no student holds a booking/);

    const booking = await bookOk(harness, student, meeting.id);
    const early = await join(teacher);
    assert.equal(early.status, 409, early.text);
    assert.equal(early.body.error.code, 'not_joinable');
    assert.match(early.body.error.message, /opens at/);

    assert.equal((await join(otherTeacher)).status, 404);
    assert.equal((await join(student)).status, 403);
    assert.equal((await join(admin)).status, 403);

    await harness.skipTo(new Date(Date.parse(meeting.startsAt) - 15 * MINUTE_MS));
    await untilPhase(harness, booking.id, 'open');
    const response = await join(teacher);
    assert.equal(response.status, 200, response.text);
    assert.equal(response.body.roomName, `meeting-${meeting.id}`);
    const claims: any = decodeJwt(response.body.token);
    assert.equal(claims.sub, `user-${teacher.user.id}`);
    assert.equal(claims.video.room, `meeting-${meeting.id}`);
    assert.equal(claims.video.roomAdmin, undefined);
    assert.deepEqual(JSON.parse(claims.metadata), { role: 'teacher' });
    const lifetimeS = (Date.parse(meeting.endsAt) + 5 * MINUTE_MS - harness.clock.now().getTime()) / 1000;
    assert.ok(
      Math.abs(claims.exp - claims.nbf - lifetimeS) <= 2,
      `${claims.exp - claims.nbf} vs ${lifetimeS}`,
    );
    assert.equal((await join(otherTeacher)).status, 404);

    await harness.skipTo(new Date(Date.parse(meeting.endsAt) + 1_000));
    const late = await join(teacher);
    assert.equal(late.status, 409, late.text);
    assert.match(late.body.error.message, /over/);

    // A class whose only booking was cancelled has nobody to teach.
    const dropped = await publishSlot(harness, teacher, { startsInMs: 10 * MINUTE_MS });
    const droppedBooking = await bookOk(harness, student, dropped.id);
    const cancelBooking = await harness.api.request('POST', `/api/v1/bookings/${droppedBooking.id}/cancel`, {
      token: student.token,
      body: {},
    });
    assert.equal(cancelBooking.status, 200, cancelBooking.text);
    const nobody = await join(teacher, dropped.id);
    assert.equal(nobody.status, 409, nobody.text);
    assert.match(nobody.body.error.message, /no student holds a booking/);

    const cancelled = await publishSlot(harness, teacher, { startsInMs: 60 * MINUTE_MS });
    const cancel = await harness.api.request('POST', `/api/v1/meetings/${cancelled.id}/cancel`, {
      token: teacher.token,
      body: {},
    });
    assert.equal(cancel.status, 200, cancel.text);
    const refused = await join(teacher, cancelled.id);
    assert.equal(refused.status, 409, refused.text);
    assert.match(refused.body.error.message, /cancelled/);
  });

  it('when a class’s bookings were made under different policies, then the teacher’s room opens at the earliest opening and the token lasts until the latest grace', async function () {
    requireTimeSkipping(this, harness?.env);
    const { teacher, student } = await cast(harness.api);
    const { student: other } = await cast(harness.api);
    const meeting = await publishSlot(harness, teacher, { startsInMs: 2 * 60 * MINUTE_MS, capacity: 2 });
    await bookOk(harness, student, meeting.id);
    const later = await bookOk(harness, other, meeting.id);
    // As if booked under a policy that opened classes 40 minutes ahead and allowed 12 minutes' grace.
    await harness.api
      .db('bookings')
      .where({ id: later.id })
      .update({
        policy: harness.api.db.raw(`policy || '{"openBeforeMinutes": 40, "endGraceMinutes": 12}'::jsonb`),
      });
    const join = () =>
      harness.api.request('GET', `/api/v1/meetings/${meeting.id}/join`, { token: teacher.token });

    const early = await join();
    assert.equal(early.status, 409, early.text);
    assert.match(
      early.body.error.message,
      new RegExp(new Date(Date.parse(meeting.startsAt) - 40 * MINUTE_MS).toISOString()),
    );
    await harness.skipTo(new Date(Date.parse(meeting.startsAt) - 39 * MINUTE_MS));
    const response = await join();
    assert.equal(response.status, 200, response.text);
    const claims: any = decodeJwt(response.body.token);
    const lifetimeS = (Date.parse(meeting.endsAt) + 12 * MINUTE_MS - harness.clock.now().getTime()) / 1000;
    assert.ok(
      Math.abs(claims.exp - claims.nbf - lifetimeS) <= 2,
      `${claims.exp - claims.nbf} vs ${lifetimeS}`,
    );
  });

  it('when a booking is made and its class opens, then both sides are notified once, and each reads only their own', async function () {
    requireTimeSkipping(this, harness?.env);
    const { teacher, student } = await cast(harness.api);
    const meeting = await publishSlot(harness, teacher, { startsInMs: 30 * MINUTE_MS });
    const booking = await bookOk(harness, student, meeting.id);
    await harness.skipTo(new Date(Date.parse(meeting.startsAt) - 14 * MINUTE_MS));
    await untilPhase(harness, booking.id, 'open');

    const list = async (who: Session, query = '') =>
      (await harness.api.request('GET', `/api/v1/notifications${query}`, { token: who.token })).body.data;
    const studentNotes = await list(student);
    assert.deepEqual(
      studentNotes.map((n: any) => n.type),
      ['class_opening', 'booking_confirmed'],
    );
    const opening = studentNotes[0];
    assert.equal(opening.payload.joinUrl, `http://localhost:3000/console/bookings/${booking.id}/class`);
    const teacherNotes = await list(teacher);
    assert.deepEqual(
      teacherNotes.map((n: any) => n.type),
      ['class_opening', 'booking_confirmed'],
    );
    // The teacher's is the class's, not one student's booking: its link is the class's page.
    assert.equal(teacherNotes[0].payload.joinUrl, `http://localhost:3000/console/meetings/${meeting.id}`);
    assert.equal(teacherNotes[0].payload.bookingId, undefined);

    const read = await harness.api.request('POST', `/api/v1/notifications/${opening.id}/read`, {
      token: student.token,
    });
    assert.equal(read.status, 200, read.text);
    assert.equal(read.body.read, true);
    assert.deepEqual(
      (await list(student, '?unread=true')).map((n: any) => n.type),
      ['booking_confirmed'],
    );
    const foreign = await harness.api.request('POST', `/api/v1/notifications/${opening.id}/read`, {
      token: teacher.token,
    });
    assert.equal(foreign.status, 404);
  });
});
