// Browsing teachers (GET /teachers) and a teacher's own classes
// (GET /teachers/me/meetings), over real bookings.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { requireTimeSkipping } from '../support/devserver';
import { createAdmin, register, type Session, type TestApi } from '../support/api';
import { bookOk, cast, publishSlot, startBookingHarness, type BookingHarness } from '../support/bookings';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;

async function teacherNamed(api: TestApi, name: string): Promise<Session> {
  const response = await api.request('POST', '/api/v1/auth/register', {
    body: {
      email: `teacher-${randomUUID()}@test.example`,
      password: 'correct horse battery',
      name,
      role: 'teacher',
    },
  });
  assert.equal(response.status, 201, response.text);
  return response.body;
}

describe('browsing teachers and own classes', () => {
  let harness: BookingHarness;
  let admin: Session;
  before(async () => {
    harness = await startBookingHarness();
    admin = await createAdmin(harness.api);
  });
  after(async () => {
    await harness?.close();
  });
  const get = (who: Session, path: string) =>
    harness.api.request('GET', `/api/v1${path}`, { token: who.token });

  describe('GET /teachers', () => {
    it('when a teacher has a class with a seat left, a full one and a cancelled one, then one upcoming meeting is counted', async () => {
      const tag = randomUUID();
      const { student } = await cast(harness.api);
      const teacher = await teacherNamed(harness.api, `Grace ${tag}`);
      await publishSlot(harness, teacher, { capacity: 2 });
      const full = await publishSlot(harness, teacher, { capacity: 1 });
      await bookOk(harness, student, full.id);
      const cancelled = await publishSlot(harness, teacher);
      const cancel = await harness.api.request('POST', `/api/v1/meetings/${cancelled.id}/cancel`, {
        token: teacher.token,
        body: {},
      });
      assert.equal(cancel.status, 200, cancel.text);

      for (const who of [student, teacher, admin]) {
        const response = await get(who, `/teachers?q=${encodeURIComponent(tag)}`);
        assert.equal(response.status, 200, response.text);
        assert.deepEqual(response.body, {
          data: [{ id: teacher.user.id, name: `Grace ${tag}`, upcomingMeetings: 1 }],
          nextCursor: null,
        });
        const one = await get(who, `/teachers/${teacher.user.id}`);
        assert.equal(one.status, 200, one.text);
        assert.deepEqual(one.body, { id: teacher.user.id, name: `Grace ${tag}`, upcomingMeetings: 1 });
      }
      // A student's id, or nobody's, names no teacher.
      for (const id of [student.user.id, randomUUID()]) {
        const missing = await get(admin, `/teachers/${id}`);
        assert.equal(missing.status, 404, missing.text);
        assert.equal(missing.body.error.code, 'not_found');
        assert.equal(missing.body.error.message, 'teacher not found');
      }
    });

    it('when q holds LIKE wildcards, then they match only themselves, in any case', async () => {
      const tag = randomUUID();
      const percent = await teacherNamed(harness.api, `Ada 50% Off ${tag}`);
      await teacherNamed(harness.api, `Ada 50x Off ${tag}`);
      const underscore = await teacherNamed(harness.api, `Ada a_b ${tag}`);
      await teacherNamed(harness.api, `Ada axb ${tag}`);
      const student = await register(harness.api, 'student');
      const byPercent = await get(student, `/teachers?q=${encodeURIComponent(`ADA 50% OFF ${tag}`)}`);
      assert.deepEqual(
        byPercent.body.data.map((t: any) => t.id),
        [percent.user.id],
      );
      const byUnderscore = await get(student, `/teachers?q=${encodeURIComponent(`a_b ${tag}`)}`);
      assert.deepEqual(
        byUnderscore.body.data.map((t: any) => t.id),
        [underscore.user.id],
      );
    });

    it('when there are more teachers than the limit, then pages follow the cursor, newest first, each teacher once', async () => {
      const tag = randomUUID();
      const made: string[] = [];
      for (let i = 0; i < 5; i++) made.push((await teacherNamed(harness.api, `Paged ${i} ${tag}`)).user.id);
      const student = await register(harness.api, 'student');
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const response = await get(
          student,
          `/teachers?q=${tag}&limit=2${cursor === null ? '' : `&cursor=${cursor}`}`,
        );
        assert.equal(response.status, 200, response.text);
        seen.push(...response.body.data.map((t: any) => t.id));
        cursor = response.body.nextCursor;
        pages++;
      } while (cursor !== null);
      assert.equal(pages, 3);
      assert.deepEqual(seen, [...made].reverse());
      const bad = await get(student, '/teachers?cursor=bm90LWEtY3Vyc29y');
      assert.equal(bad.status, 400, bad.text);
    });
  });

  describe('GET /teachers/me/meetings', () => {
    it('when a teacher has classes booked, cancelled and of a course, then they are listed latest first with their seats, bookings and course, page by page', async () => {
      const { teacher, student } = await cast(harness.api);
      const first = await publishSlot(harness, teacher, { startsInMs: 2 * HOUR_MS, capacity: 3 });
      await bookOk(harness, student, first.id);
      const second = await publishSlot(harness, teacher, { startsInMs: 5 * HOUR_MS });
      await harness.api.request('POST', `/api/v1/meetings/${second.id}/cancel`, {
        token: teacher.token,
        body: {},
      });
      const course = await harness.api.request('POST', '/api/v1/courses', {
        token: teacher.token,
        body: {
          title: 'Course',
          capacity: 2,
          pricePerSession: 500,
          sessions: [
            {
              startsAt: new Date(harness.clock.now().getTime() + 9 * HOUR_MS).toISOString(),
              durationMinutes: 45,
            },
          ],
        },
      });
      assert.equal(course.status, 201, course.text);
      // Someone else's class is not listed.
      await publishSlot(harness, (await cast(harness.api, { funds: 0 })).teacher);

      const page1 = await get(teacher, '/teachers/me/meetings?limit=2');
      assert.equal(page1.status, 200, page1.text);
      assert.deepEqual(
        page1.body.data.map((m: any) => [m.id, m.status, m.courseId, m.capacity, m.seatsLeft, m.bookedCount]),
        [
          [course.body.sessions[0].id, 'scheduled', course.body.id, 2, 2, 0],
          [second.id, 'cancelled', null, 1, 0, 0],
        ],
      );
      assert.equal(page1.body.data[0].title, 'Course (session 1 of 1)');
      const page2 = await get(teacher, `/teachers/me/meetings?limit=2&cursor=${page1.body.nextCursor}`);
      assert.deepEqual(
        page2.body.data.map((m: any) => [m.id, m.capacity, m.seatsLeft, m.bookedCount]),
        [[first.id, 3, 2, 1]],
      );
      assert.equal(page2.body.nextCursor, null);

      const window = await get(
        teacher,
        `/teachers/me/meetings?from=${encodeURIComponent(first.startsAt)}&to=${encodeURIComponent(course.body.sessions[0].startsAt)}`,
      );
      assert.deepEqual(
        window.body.data.map((m: any) => m.id),
        [second.id, first.id],
      );

      // The bookings with their status and attendance come from the meeting.
      const detail = await get(teacher, `/meetings/${first.id}`);
      assert.equal(detail.body.bookings[0].status, 'confirmed');
      assert.ok('attendance' in detail.body.bookings[0]);
    });

    it('when a student or an admin asks, then 403', async () => {
      for (const who of [await register(harness.api, 'student'), admin]) {
        const response = await get(who, '/teachers/me/meetings');
        assert.equal(response.status, 403, response.text);
        assert.equal(response.body.error.code, 'forbidden');
      }
    });

    it('when a class is over, then it is still listed', async function () {
      requireTimeSkipping(this);
      const teacher = await register(harness.api, 'teacher');
      const past = await publishSlot(harness, teacher, { startsInMs: 10 * MINUTE_MS, durationMinutes: 15 });
      await harness.skipTo(new Date(Date.parse(past.endsAt) + MINUTE_MS));
      const later = await publishSlot(harness, teacher, { startsInMs: HOUR_MS });
      const response = await get(teacher, '/teachers/me/meetings');
      assert.deepEqual(
        response.body.data.map((m: any) => m.id),
        [later.id, past.id],
      );
    });
  });

  describe('GET /teachers/:id/courses', () => {
    const newCourse = async (
      teacher: Session,
      course: {
        startsInHours: number[];
        pricePerSession: number;
        priceFullCourse?: number;
        capacity?: number;
      },
    ) => {
      const response = await harness.api.request('POST', '/api/v1/courses', {
        token: teacher.token,
        body: {
          title: `Course ${randomUUID()}`,
          capacity: course.capacity ?? 2,
          pricePerSession: course.pricePerSession,
          ...(course.priceFullCourse === undefined ? {} : { priceFullCourse: course.priceFullCourse }),
          sessions: course.startsInHours.map((h) => ({
            startsAt: new Date(
              Math.ceil((harness.clock.now().getTime() + h * HOUR_MS) / MINUTE_MS) * MINUTE_MS,
            ).toISOString(),
            durationMinutes: 30,
          })),
        },
      });
      assert.equal(response.status, 201, response.text);
      return response.body;
    };

    it('when a student enrols in one of a teacher’s courses, then the list shows its seats left, and the price it showed is what enrolling held', async () => {
      const { teacher, student } = await cast(harness.api);
      const full = await newCourse(teacher, {
        startsInHours: [3, 27, 51],
        pricePerSession: 500,
        priceFullCourse: 1_001,
      });
      const perSession = await newCourse(teacher, { startsInHours: [10, 20], pricePerSession: 400 });
      const gone = await newCourse(teacher, { startsInHours: [5], pricePerSession: 300 });
      const cancelGone = await harness.api.request('POST', `/api/v1/meetings/${gone.sessions[0].id}/cancel`, {
        token: teacher.token,
        body: {},
      });
      assert.equal(cancelGone.status, 200, cancelGone.text);
      await newCourse((await cast(harness.api, { funds: 0 })).teacher, {
        startsInHours: [4],
        pricePerSession: 100,
      });

      const before = await get(student, `/teachers/${teacher.user.id}/courses`);
      assert.equal(before.status, 200, before.text);
      assert.deepEqual(
        before.body.data.map((c: any) => [
          c.id,
          c.sessions,
          c.upcomingSessions,
          c.seatsLeft,
          c.enrolmentPrice,
        ]),
        [
          [full.id, 3, 3, 2, 1_001],
          [perSession.id, 2, 2, 2, 800],
        ],
      );
      const offer = before.body.data[0];
      assert.equal(offer.pricePerSession, 500);
      assert.equal(offer.priceFullCourse, 1_001);
      assert.equal(offer.nextStartsAt, full.sessions[0].startsAt);
      assert.equal(offer.lastEndsAt, full.sessions[2].endsAt);

      const enrol = await harness.api.request('POST', `/api/v1/courses/${full.id}/enroll`, {
        token: student.token,
      });
      assert.equal(enrol.status, 201, enrol.text);
      assert.equal(enrol.body.total, offer.enrolmentPrice);
      const after = await get(teacher, `/teachers/${teacher.user.id}/courses`);
      assert.equal(after.body.data[0].seatsLeft, 1);
    });

    it('when a course’s first session is over, then it offers the rest, at their part of the full price', async function () {
      requireTimeSkipping(this);
      const teacher = await register(harness.api, 'teacher');
      const course = await newCourse(teacher, {
        startsInHours: [1, 30, 60],
        pricePerSession: 500,
        priceFullCourse: 1_001,
      });
      await harness.skipTo(new Date(Date.parse(course.sessions[0].endsAt) + MINUTE_MS));
      const response = await get(admin, `/teachers/${teacher.user.id}/courses`);
      // 1001 over 3 sessions: 335, 333, 333; the first is over.
      assert.deepEqual(
        response.body.data.map((c: any) => [
          c.sessions,
          c.upcomingSessions,
          c.enrolmentPrice,
          c.nextStartsAt,
        ]),
        [[3, 2, 666, course.sessions[1].startsAt]],
      );
    });

    it('when the teacher does not exist or has no course to come, then the list is empty', async () => {
      const student = await register(harness.api, 'student');
      const none = await get(student, `/teachers/${randomUUID()}/courses`);
      assert.equal(none.status, 200, none.text);
      assert.deepEqual(none.body, { data: [] });
    });
  });
});
