// Courses (SPEC section 4): publishing one, reading it with its seats left,
// enrolling in all of it at the full-course price (all or nothing), booking
// one of its sessions alone, and a teacher's upcoming slots.
import assert from 'node:assert/strict';
import { requireTimeSkipping } from '../support/devserver';
import { randomUUID } from 'node:crypto';
import { register, type ApiResponse, type Session } from '../support/api';
import {
  assertAuditClean,
  book,
  bookingState,
  bookOk,
  cast,
  publishSlot,
  startBookingHarness,
  walletOf,
  type BookingHarness,
} from '../support/bookings';

const MINUTE_MS = 60_000;
const DAY_MS = 24 * 60 * MINUTE_MS;

describe('courses and a teacher’s slots', () => {
  let harness: BookingHarness;
  before(async () => {
    harness = await startBookingHarness();
  });
  after(async () => {
    await harness?.close();
  });

  /** A start `inMs` from the virtual now, on a whole minute. */
  function startIn(inMs: number): string {
    return new Date(Math.ceil((harness.clock.now().getTime() + inMs) / MINUTE_MS) * MINUTE_MS).toISOString();
  }

  function postCourse(teacher: Session, body: Record<string, unknown>): Promise<ApiResponse> {
    return harness.api.request('POST', '/api/v1/courses', { token: teacher.token, body });
  }

  /** A course whose sessions start these many days from now (given in this order), 60 minutes each. */
  async function createCourse(
    teacher: Session,
    options: { days?: number[]; capacity?: number; pricePerSession?: number; priceFullCourse?: number } = {},
  ): Promise<any> {
    const response = await postCourse(teacher, {
      title: 'Spanish for travellers',
      capacity: options.capacity ?? 5,
      pricePerSession: options.pricePerSession ?? 400,
      ...(options.priceFullCourse === undefined ? {} : { priceFullCourse: options.priceFullCourse }),
      sessions: (options.days ?? [3, 1, 2]).map((d) => ({
        startsAt: startIn(d * DAY_MS),
        durationMinutes: 60,
      })),
    });
    assert.equal(response.status, 201, response.text);
    return response.body;
  }

  function enroll(student: Session, courseId: string, headers: Record<string, string> = {}) {
    return harness.api.request('POST', `/api/v1/courses/${courseId}/enroll`, {
      token: student.token,
      headers,
    });
  }

  async function getCourse(who: Session, courseId: string): Promise<any> {
    const response = await harness.api.request('GET', `/api/v1/courses/${courseId}`, { token: who.token });
    assert.equal(response.status, 200, response.text);
    return response.body;
  }

  const seatsLeft = async (who: Session, courseId: string): Promise<number[]> =>
    (await getCourse(who, courseId)).sessions.map((s: any) => s.seatsLeft);

  async function bookingsOf(student: Session): Promise<any[]> {
    const response = await harness.api.request('GET', '/api/v1/bookings', { token: student.token });
    assert.equal(response.status, 200, response.text);
    return response.body.data;
  }

  async function bookingRowsOf(studentId: string): Promise<number> {
    const [row] = await harness.api.db('bookings').where({ student_id: studentId }).count({ n: '*' });
    return Number(row!.n);
  }

  describe('enrolling in a whole course', () => {
    it('when a student enrols in 3 sessions at 1001, then every session is booked at 335/333/333 in start order, 1001 is held and each session has a seat less', async () => {
      const { teacher, student } = await cast(harness.api, { funds: 5_000 });
      // Given out of order: the split follows the start times, not the order of the request.
      const course = await createCourse(teacher, { days: [3, 1, 2], capacity: 4, priceFullCourse: 1_001 });
      const starts = course.sessions.map((s: any) => s.startsAt);
      assert.deepEqual(starts, [...starts].sort());
      assert.deepEqual(
        course.sessions.map((s: any) => [s.courseId, s.price, s.capacity, s.seatsLeft, s.durationMinutes]),
        [
          [course.id, 400, 4, 4, 60],
          [course.id, 400, 4, 4, 60],
          [course.id, 400, 4, 4, 60],
        ],
      );

      const response = await enroll(student, course.id);
      assert.equal(response.status, 201, response.text);
      assert.equal(response.body.courseId, course.id);
      assert.equal(response.body.total, 1_001);
      assert.deepEqual(
        response.body.bookings.map((b: any) => [b.meetingId, b.price, b.status, b.settlement, b.studentId]),
        course.sessions.map((s: any, i: number) => [
          s.id,
          [335, 333, 333][i],
          'confirmed',
          'held',
          student.user.id,
        ]),
      );
      assert.deepEqual(await walletOf(harness.api, student.user.id), {
        available: 3_999,
        held: 1_001,
        total: 5_000,
      });
      assert.deepEqual(await seatsLeft(student, course.id), [3, 3, 3]);

      const listed = await bookingsOf(student);
      assert.deepEqual(
        listed.map((b: any) => b.id).sort(),
        response.body.bookings.map((b: any) => b.id).sort(),
      );
      // Each booking is followed by its own workflow, booking-<id>.
      for (const booking of response.body.bookings) {
        assert.equal(booking.workflowId, `booking-${booking.id}`);
        assert.equal((await bookingState(harness, booking.id)).phase, 'scheduled');
      }
      await assertAuditClean(harness.api);
    });

    it('when one session is already full, then enrolment is 409 slot_full and no seat, hold, booking or notification of it remains', async () => {
      const { teacher, student } = await cast(harness.api, { funds: 5_000 });
      const other = (await cast(harness.api, { funds: 5_000 })).student;
      const course = await createCourse(teacher, { days: [1, 2, 3], capacity: 1, priceFullCourse: 1_001 });
      const middle = course.sessions[1];
      const alone = await bookOk(harness, other, middle.id);
      assert.equal(alone.price, 400);
      assert.deepEqual(await seatsLeft(student, course.id), [1, 0, 1]);

      const response = await enroll(student, course.id);
      assert.equal(response.status, 409, response.text);
      assert.equal(response.body.error.code, 'slot_full');
      assert.deepEqual(await seatsLeft(student, course.id), [1, 0, 1]);
      assert.deepEqual(await walletOf(harness.api, student.user.id), {
        available: 5_000,
        held: 0,
        total: 5_000,
      });
      assert.deepEqual(await bookingsOf(student), []);
      assert.equal(await bookingRowsOf(student.user.id), 0);
      const notes = await harness.api.request('GET', '/api/v1/notifications', { token: student.token });
      assert.deepEqual(notes.body.data, []);
      // The other student's booking is untouched.
      assert.deepEqual(
        (await bookingsOf(other)).map((b: any) => [b.id, b.status]),
        [[alone.id, 'confirmed']],
      );
      await assertAuditClean(harness.api);
    });

    it('when the student cannot afford the full course, then 402 insufficient_funds, nothing held and no seat taken', async () => {
      const { teacher, student } = await cast(harness.api, { funds: 1_000 });
      const course = await createCourse(teacher, { days: [1, 2, 3], capacity: 2, priceFullCourse: 1_001 });
      const response = await enroll(student, course.id);
      assert.equal(response.status, 402, response.text);
      assert.equal(response.body.error.code, 'insufficient_funds');
      assert.deepEqual(await walletOf(harness.api, student.user.id), {
        available: 1_000,
        held: 0,
        total: 1_000,
      });
      assert.deepEqual(await seatsLeft(student, course.id), [2, 2, 2]);
      assert.deepEqual(await bookingsOf(student), []);
      assert.equal(await bookingRowsOf(student.user.id), 0);
      await assertAuditClean(harness.api);
    });

    it('when a course has 100 sessions, then enrolment holds all of them; one the student cannot afford in the last of them leaves nothing held', async () => {
      const days = Array.from({ length: 100 }, (_, i) => i + 1);
      const { teacher, student } = await cast(harness.api, { funds: 10_000 });
      const poorer = await cast(harness.api, { funds: 9_999 });
      const course = await createCourse(teacher, { days, capacity: 2, pricePerSession: 100 });

      const refused = await enroll(poorer.student, course.id);
      assert.equal(refused.status, 402, refused.text);
      assert.deepEqual(await walletOf(harness.api, poorer.student.user.id), {
        available: 9_999,
        held: 0,
        total: 9_999,
      });
      assert.equal(await bookingRowsOf(poorer.student.user.id), 0);

      const response = await enroll(student, course.id);
      assert.equal(response.status, 201, response.text);
      assert.equal(response.body.bookings.length, 100);
      assert.equal(response.body.total, 10_000);
      assert.deepEqual(await walletOf(harness.api, student.user.id), {
        available: 0,
        held: 10_000,
        total: 10_000,
      });
      assert.deepEqual(
        await seatsLeft(student, course.id),
        days.map(() => 1),
      );
      await assertAuditClean(harness.api);
    });

    it('when the same enrolment is sent twice with an Idempotency-Key, then the second answer replays the first and the price is held once', async () => {
      const { teacher, student } = await cast(harness.api, { funds: 5_000 });
      const course = await createCourse(teacher, { days: [1, 2, 3], capacity: 3, priceFullCourse: 1_001 });
      const key = `enrol-${randomUUID()}`;
      const first = await enroll(student, course.id, { 'Idempotency-Key': key });
      assert.equal(first.status, 201, first.text);
      assert.equal(first.headers.get('idempotent-replayed'), null);
      const second = await enroll(student, course.id, { 'Idempotency-Key': key });
      assert.equal(second.status, 201, second.text);
      assert.equal(second.headers.get('idempotent-replayed'), 'true');
      assert.deepEqual(second.body, first.body);

      assert.deepEqual(await walletOf(harness.api, student.user.id), {
        available: 3_999,
        held: 1_001,
        total: 5_000,
      });
      assert.deepEqual(await seatsLeft(student, course.id), [2, 2, 2]);
      assert.equal((await bookingsOf(student)).length, 3);
      await assertAuditClean(harness.api);
    });

    it('when a student enrols twice without a key, then the second is 409 already_booked and nothing more is held', async () => {
      const { teacher, student } = await cast(harness.api, { funds: 5_000 });
      const course = await createCourse(teacher, { days: [1, 2, 3], capacity: 3, priceFullCourse: 1_001 });
      const first = await enroll(student, course.id);
      assert.equal(first.status, 201, first.text);
      const second = await enroll(student, course.id);
      assert.equal(second.status, 409, second.text);
      assert.equal(second.body.error.code, 'already_booked');
      assert.deepEqual(await walletOf(harness.api, student.user.id), {
        available: 3_999,
        held: 1_001,
        total: 5_000,
      });
      assert.deepEqual(await seatsLeft(student, course.id), [2, 2, 2]);
      assert.deepEqual(
        (await bookingsOf(student)).map((b: any) => b.id).sort(),
        first.body.bookings.map((b: any) => b.id).sort(),
      );
      await assertAuditClean(harness.api);
    });

    it('when a course has no full-course price, then enrolment charges the price per session for each session', async () => {
      const { teacher, student } = await cast(harness.api, { funds: 5_000 });
      const course = await createCourse(teacher, { days: [2, 1], pricePerSession: 450 });
      assert.equal(course.priceFullCourse, null);
      const response = await enroll(student, course.id);
      assert.equal(response.status, 201, response.text);
      assert.equal(response.body.total, 900);
      assert.deepEqual(
        response.body.bookings.map((b: any) => b.price),
        [450, 450],
      );
      assert.deepEqual(await walletOf(harness.api, student.user.id), {
        available: 4_100,
        held: 900,
        total: 5_000,
      });
      await assertAuditClean(harness.api);
    });
  });

  describe('booking one session of a course', () => {
    it('when a student books one session alone, then it costs the price per session and takes a seat of that session only', async () => {
      const { teacher, student } = await cast(harness.api, { funds: 5_000 });
      const course = await createCourse(teacher, {
        days: [1, 2, 3],
        capacity: 2,
        pricePerSession: 450,
        priceFullCourse: 1_001,
      });
      const booking = await bookOk(harness, student, course.sessions[2].id);
      assert.equal(booking.price, 450);
      assert.equal(booking.meetingId, course.sessions[2].id);
      assert.deepEqual(await walletOf(harness.api, student.user.id), {
        available: 4_550,
        held: 450,
        total: 5_000,
      });
      assert.deepEqual(await seatsLeft(student, course.id), [2, 2, 1]);
      await assertAuditClean(harness.api);
    });
  });

  describe('publishing a course', () => {
    it('when a course is invalid, then 400 validation_error names the field and nothing is created', async () => {
      const teacher = await register(harness.api, 'teacher');
      const session = () => ({ startsAt: startIn(DAY_MS), durationMinutes: 60 });
      const valid = () => ({
        title: 'Chess openings',
        capacity: 3,
        pricePerSession: 500,
        priceFullCourse: 1_200,
        sessions: [
          session(),
          { startsAt: startIn(2 * DAY_MS), durationMinutes: 60 },
          { startsAt: startIn(3 * DAY_MS), durationMinutes: 60 },
        ],
      });
      const past = new Date(harness.clock.now().getTime() - 60 * MINUTE_MS).toISOString();
      const cases: [string, Record<string, unknown>, string][] = [
        [
          'a session in the past',
          { ...valid(), sessions: [{ startsAt: past, durationMinutes: 60 }] },
          'sessions.0.startsAt',
        ],
        [
          'a later session in the past',
          { ...valid(), sessions: [session(), { startsAt: past, durationMinutes: 60 }] },
          'sessions.1.startsAt',
        ],
        [
          'a session more than 366 days ahead',
          { ...valid(), sessions: [session(), { startsAt: startIn(367 * DAY_MS), durationMinutes: 60 }] },
          'sessions.1.startsAt',
        ],
        ['no session', { ...valid(), sessions: [] }, 'sessions'],
        [
          'two sessions at the same time',
          {
            ...valid(),
            sessions: [session(), { startsAt: startIn(2 * DAY_MS), durationMinutes: 60 }, session()],
          },
          'sessions.2.startsAt',
        ],
        [
          'a session starting before the one before it ends',
          {
            ...valid(),
            sessions: [
              { startsAt: startIn(2 * DAY_MS + 30 * MINUTE_MS), durationMinutes: 60 },
              { startsAt: startIn(2 * DAY_MS), durationMinutes: 31 },
            ],
          },
          'sessions.1.startsAt',
        ],
        ['a full-course price below one per session', { ...valid(), priceFullCourse: 2 }, 'priceFullCourse'],
        ['capacity 0', { ...valid(), capacity: 0 }, 'capacity'],
        ['capacity 51', { ...valid(), capacity: 51 }, 'capacity'],
        [
          'duration 0',
          { ...valid(), sessions: [{ ...session(), durationMinutes: 0 }] },
          'sessions.0.durationMinutes',
        ],
        [
          'duration 481',
          { ...valid(), sessions: [session(), { ...session(), durationMinutes: 481 }] },
          'sessions.1.durationMinutes',
        ],
      ];
      for (const [what, body, field] of cases) {
        const response = await postCourse(teacher, body);
        assert.equal(response.status, 400, `${what}: ${response.text}`);
        assert.equal(response.body.error.code, 'validation_error', what);
        // The schemas' checks and the service's own name the field the same way.
        assert.equal(response.body.error.details?.[0]?.path, `body.${field}`, what);
      }
      const [courses] = await harness.api
        .db('courses')
        .where({ teacher_id: teacher.user.id })
        .count({ n: '*' });
      const [meetings] = await harness.api
        .db('meetings')
        .where({ teacher_id: teacher.user.id })
        .count({ n: '*' });
      assert.equal(Number(courses!.n), 0);
      assert.equal(Number(meetings!.n), 0);

      // The limits themselves are accepted.
      const edge = await postCourse(teacher, {
        ...valid(),
        capacity: 50,
        priceFullCourse: 3,
        // Back to back: one ends as the next starts.
        sessions: [
          { ...session(), durationMinutes: 480 },
          { startsAt: startIn(DAY_MS + 480 * MINUTE_MS), durationMinutes: 1 },
          { startsAt: startIn(DAY_MS + 481 * MINUTE_MS), durationMinutes: 60 },
        ],
      });
      assert.equal(edge.status, 201, edge.text);
      assert.deepEqual(
        edge.body.sessions.map((s: any) => [s.capacity, s.seatsLeft]),
        [
          [50, 50],
          [50, 50],
          [50, 50],
        ],
      );
    });

    it('when a student tries to publish a course or a course does not exist, then 403 and 404', async () => {
      const student = await register(harness.api, 'student');
      const byStudent = await postCourse(student, {
        title: 'Not mine to give',
        capacity: 1,
        pricePerSession: 100,
        sessions: [{ startsAt: startIn(DAY_MS), durationMinutes: 30 }],
      });
      assert.equal(byStudent.status, 403, byStudent.text);
      assert.equal(byStudent.body.error.code, 'forbidden');
      const missing = await harness.api.request('GET', `/api/v1/courses/${randomUUID()}`, {
        token: student.token,
      });
      assert.equal(missing.status, 404, missing.text);
      assert.equal(missing.body.error.code, 'not_found');
      const enrolMissing = await enroll(student, randomUUID());
      assert.equal(enrolMissing.status, 404, enrolMissing.text);
    });
  });

  describe('a teacher’s slots', () => {
    function slots(who: Session, teacherId: string, query = ''): Promise<ApiResponse> {
      return harness.api.request('GET', `/api/v1/teachers/${teacherId}/slots${query}`, { token: who.token });
    }

    it('when a teacher’s slots are listed, then the upcoming ones come soonest first with their seats left, without cancelled or started ones, within from/to', async function () {
      requireTimeSkipping(this, harness?.env);
      const { teacher, student } = await cast(harness.api, { funds: 5_000 });
      const otherTeacher = await register(harness.api, 'teacher');
      const startingSoon = await publishSlot(harness, teacher, { startsInMs: 10 * MINUTE_MS });
      const inThreeHours = await publishSlot(harness, teacher, {
        startsInMs: 3 * 60 * MINUTE_MS,
        capacity: 2,
      });
      const inOneHour = await publishSlot(harness, teacher, { startsInMs: 60 * MINUTE_MS, capacity: 3 });
      const cancelled = await publishSlot(harness, teacher, { startsInMs: 2 * 60 * MINUTE_MS });
      const inTwoDays = await publishSlot(harness, teacher, { startsInMs: 2 * DAY_MS });
      await publishSlot(harness, otherTeacher, { startsInMs: 90 * MINUTE_MS });
      await bookOk(harness, student, inOneHour.id);
      const cancel = await harness.api.request('POST', `/api/v1/meetings/${cancelled.id}/cancel`, {
        token: teacher.token,
        body: {},
      });
      assert.equal(cancel.status, 200, cancel.text);

      const before = await slots(student, teacher.user.id);
      assert.equal(before.status, 200, before.text);
      assert.deepEqual(
        before.body.data.map((m: any) => m.id),
        [startingSoon.id, inOneHour.id, inThreeHours.id, inTwoDays.id],
      );

      // The first one starts: it is no longer upcoming.
      await harness.skipTo(new Date(Date.parse(startingSoon.startsAt) + MINUTE_MS));
      const listed = await slots(student, teacher.user.id);
      assert.deepEqual(
        listed.body.data.map((m: any) => [m.id, m.seatsLeft, m.status]),
        [
          [inOneHour.id, 2, 'scheduled'],
          [inThreeHours.id, 2, 'scheduled'],
          [inTwoDays.id, 1, 'scheduled'],
        ],
      );
      const starts = listed.body.data.map((m: any) => m.startsAt);
      assert.deepEqual(starts, [...starts].sort());

      // from is inclusive, to exclusive; a from in the past still leaves out what has started.
      const window = await slots(
        teacher,
        teacher.user.id,
        `?from=${encodeURIComponent(inOneHour.startsAt)}&to=${encodeURIComponent(inThreeHours.startsAt)}`,
      );
      assert.deepEqual(
        window.body.data.map((m: any) => m.id),
        [inOneHour.id],
      );
      const fromThePast = await slots(
        student,
        teacher.user.id,
        `?from=${encodeURIComponent(new Date(Date.parse(startingSoon.startsAt) - DAY_MS).toISOString())}&to=${encodeURIComponent(inTwoDays.startsAt)}`,
      );
      assert.deepEqual(
        fromThePast.body.data.map((m: any) => m.id),
        [inOneHour.id, inThreeHours.id],
      );
      const later = await slots(student, teacher.user.id, `?from=${encodeURIComponent(inTwoDays.startsAt)}`);
      assert.deepEqual(
        later.body.data.map((m: any) => m.id),
        [inTwoDays.id],
      );

      const bad = await slots(student, teacher.user.id, '?from=yesterday');
      assert.equal(bad.status, 400, bad.text);
      assert.equal(bad.body.error.code, 'validation_error');
    });

    it('when a slot starts in the past or more than 366 days ahead, then 400 names startsAt and nothing is created; 366 days ahead is taken', async () => {
      const teacher = await register(harness.api, 'teacher');
      const post = (startsInMs: number) =>
        harness.api.request('POST', '/api/v1/teachers/me/slots', {
          token: teacher.token,
          body: {
            startsAt: new Date(harness.clock.now().getTime() + startsInMs).toISOString(),
            durationMinutes: 30,
            price: 100,
          },
        });
      for (const [what, startsInMs] of [
        ['an hour ago', -60 * MINUTE_MS],
        ['367 days ahead', 367 * DAY_MS],
        ['in the year 9999', Date.parse('9999-12-31T23:59:59Z') - harness.clock.now().getTime()],
      ] as const) {
        const response = await post(startsInMs);
        assert.equal(response.status, 400, `${what}: ${response.text}`);
        assert.equal(response.body.error.code, 'validation_error', what);
        assert.equal(response.body.error.details?.[0]?.path, 'body.startsAt', what);
      }
      const [none] = await harness.api
        .db('meetings')
        .where({ teacher_id: teacher.user.id })
        .count({ n: '*' });
      assert.equal(Number(none!.n), 0);
      const farthest = await post(366 * DAY_MS - MINUTE_MS);
      assert.equal(farthest.status, 201, farthest.text);
    });

    it('when a course is published, then its sessions are among the teacher’s slots with their seats left', async () => {
      const { teacher, student } = await cast(harness.api, { funds: 5_000 });
      const startsAt = (days: number) =>
        new Date(
          Math.ceil((harness.clock.now().getTime() + days * DAY_MS) / MINUTE_MS) * MINUTE_MS,
        ).toISOString();
      const created = await harness.api.request('POST', '/api/v1/courses', {
        token: teacher.token,
        body: {
          title: 'Knots',
          capacity: 2,
          pricePerSession: 300,
          sessions: [
            { startsAt: startsAt(2), durationMinutes: 45 },
            { startsAt: startsAt(1), durationMinutes: 45 },
          ],
        },
      });
      assert.equal(created.status, 201, created.text);
      const slot = await publishSlot(harness, teacher, { startsInMs: 1.5 * DAY_MS });
      const enrolled = await harness.api.request('POST', `/api/v1/courses/${created.body.id}/enroll`, {
        token: student.token,
      });
      assert.equal(enrolled.status, 201, enrolled.text);
      const booked = await book(harness, student, slot.id);
      assert.equal(booked.status, 201, booked.text);

      const listed = await slots(student, teacher.user.id);
      assert.deepEqual(
        listed.body.data.map((m: any) => [m.id, m.courseId, m.seatsLeft]),
        [
          [created.body.sessions[0].id, created.body.id, 1],
          [slot.id, null, 0],
          [created.body.sessions[1].id, created.body.id, 1],
        ],
      );
    });
  });
});
