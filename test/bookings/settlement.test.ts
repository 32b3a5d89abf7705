// Every row of SPEC section 2's settlement table, through the whole system:
// HTTP, the workflow under time skipping, signed LiveKit webhooks, the ledger.
import assert from 'node:assert/strict';
import { requireTimeSkipping } from '../support/devserver';
import { createAdmin, type Session } from '../support/api';
import {
  assertAuditClean,
  attend,
  bookOk,
  cast,
  earningsOf,
  finishRoom,
  platformRevenue,
  publishSlot,
  settled,
  startBookingHarness,
  untilPhase,
  walletOf,
  type BookingHarness,
} from '../support/bookings';

const MINUTE_MS = 60_000;

describe('settlement at the end of a class', () => {
  let harness: BookingHarness;
  let admin: Session;
  before(async function () {
    requireTimeSkipping(this);
    harness = await startBookingHarness();
    admin = await createAdmin(harness.api);
  });
  after(async () => {
    await harness?.close();
  });

  /** A booked 60-minute class, run with the given presence (minutes after the start), up to its finish. */
  async function runClass(options: {
    price: number;
    referred?: boolean;
    teacher: [number, number] | null;
    student: [number, number] | null;
    finish?: 'room_finished' | 'grace';
  }) {
    const { teacher, student } = await cast(harness.api, {
      referred: options.referred ?? false,
      funds: 5_000,
    });
    const meeting = await publishSlot(harness, teacher, { price: options.price });
    const booking = await bookOk(harness, student, meeting.id);
    await harness.skipTo(new Date(Date.parse(meeting.startsAt) - 14 * MINUTE_MS));
    await untilPhase(harness, booking.id, 'open');
    await harness.skipTo(new Date(Date.parse(meeting.endsAt)));
    if (options.teacher !== null) await attend(harness, meeting, teacher.user.id, ...options.teacher);
    if (options.student !== null) await attend(harness, meeting, student.user.id, ...options.student);
    if (options.finish !== 'grace') await finishRoom(harness, meeting);
    return { teacher, student, meeting, booking };
  }

  it('when the teacher is present and a non-referred student attends exactly 20%, then it is released: teacher 30% rounded down, platform the rest', async () => {
    const revenueBefore = await platformRevenue(harness.api);
    const { teacher, student, booking } = await runClass({
      price: 1_001,
      teacher: [0, 60],
      student: [10, 22],
    });
    const outcome = await settled(harness, booking.id);
    assert.equal(outcome.outcome, 'attended');
    assert.deepEqual(outcome.amounts, { refunded: 0, teacher: 300, platform: 701 });
    assert.equal((await earningsOf(harness.api, teacher.user.id)).available, 300);
    assert.deepEqual(await walletOf(harness.api, student.user.id), {
      available: 3_999,
      held: 0,
      total: 3_999,
    });
    assert.equal((await platformRevenue(harness.api)) - revenueBefore, 701);
    await assertAuditClean(harness.api);
  });

  it('when the teacher joined before the student booked, then the teacher’s presence still counts and the class is released', async () => {
    const { teacher, student } = await cast(harness.api, { funds: 5_000 });
    const meeting = await publishSlot(harness, teacher, { price: 800, startsInMs: 20 * MINUTE_MS });
    // The room is open 15 minutes ahead: the teacher is in it before anyone has booked.
    await harness.skipTo(new Date(Date.parse(meeting.startsAt) - 10 * MINUTE_MS));
    await attend(harness, meeting, teacher.user.id, -10, 60);
    const booking = await bookOk(harness, student, meeting.id);
    await untilPhase(harness, booking.id, 'open');
    await harness.skipTo(new Date(Date.parse(meeting.endsAt)));
    await attend(harness, meeting, student.user.id, 0, 60);
    await finishRoom(harness, meeting);
    const outcome = await settled(harness, booking.id);
    assert.equal(outcome.outcome, 'attended');
    const view = await harness.api.request('GET', `/api/v1/bookings/${booking.id}`, { token: student.token });
    assert.equal(view.body.attendance.teacherSeconds, 3_600);
    await assertAuditClean(harness.api);
  });

  it('when the student attends above 0 but below 20%, then the price is refunded in full', async () => {
    const { teacher, student, booking } = await runClass({
      price: 1_001,
      teacher: [0, 60],
      student: [0, 11],
    });
    const outcome = await settled(harness, booking.id);
    assert.equal(outcome.outcome, 'low_attendance');
    assert.equal(outcome.settlement, 'refunded');
    assert.deepEqual(outcome.amounts, { refunded: 1_001, teacher: 0, platform: 0 });
    assert.deepEqual(await walletOf(harness.api, student.user.id), {
      available: 5_000,
      held: 0,
      total: 5_000,
    });
    assert.equal((await earningsOf(harness.api, teacher.user.id)).total, 0);
    await assertAuditClean(harness.api);
  });

  it('when no room_finished comes, then the class is finalised at the end plus grace', async () => {
    const { booking, meeting } = await runClass({
      price: 700,
      teacher: [0, 60],
      student: [0, 60],
      finish: 'grace',
    });
    const outcome = await settled(harness, booking.id);
    assert.equal(outcome.outcome, 'attended');
    assert.ok(harness.clock.now().getTime() >= Date.parse(meeting.endsAt) + 5 * MINUTE_MS);
    await assertAuditClean(harness.api);
  });

  it('when more bookings wait for review than a page holds, then the cursor walks them longest waiting first, ties by id, each once', async () => {
    const { teacher } = await cast(harness.api, { funds: 0 });
    const bookings: { id: string }[] = [];
    for (let i = 0; i < 3; i++) {
      const { student } = await cast(harness.api);
      const meeting = await publishSlot(harness, teacher, { price: 100 });
      bookings.push(await bookOk(harness, student, meeting.id));
    }
    // As finalisation leaves them, waiting since long before anything else in the shared
    // database; two in the same microsecond, which only a cursor exact to it keeps apart.
    const db = harness.api.db;
    const since = [
      '2000-01-01T00:00:00.000002Z',
      '2000-01-01T00:00:00.000001Z',
      '2000-01-01T00:00:00.000001Z',
    ];
    for (const [i, booking] of bookings.entries()) {
      await db('bookings')
        .where({ id: booking.id })
        .update({ status: 'requires_manual_review', updated_at: since[i] });
    }
    const ties = bookings
      .slice(1)
      .map((b) => b.id)
      .sort();
    const expected = [...ties, bookings[0]!.id];
    try {
      const seen: string[] = [];
      let cursor: string | null = null;
      for (let pages = 0; pages < 3; pages++) {
        const query: string = cursor === null ? '?limit=1' : `?limit=1&cursor=${cursor}`;
        const page = await harness.api.request('GET', `/api/v1/admin/reviews${query}`, {
          token: admin.token,
        });
        assert.equal(page.status, 200, page.text);
        assert.equal(page.body.data.length, 1);
        seen.push(page.body.data[0].booking.id);
        cursor = page.body.nextCursor;
        // After the third, more only if other files left reviews in the shared database.
        if (pages < 2) assert.notEqual(cursor, null);
      }
      assert.deepEqual(seen, expected);
      // One booking's review, as an email links it; none for a booking not in review.
      const one = await harness.api.request('GET', `/api/v1/admin/reviews?bookingId=${bookings[0]!.id}`, {
        token: admin.token,
      });
      assert.deepEqual(
        one.body.data.map((item: any) => item.booking.id),
        [bookings[0]!.id],
      );
      assert.equal(one.body.nextCursor, null);
      const { student } = await cast(harness.api);
      const notInReview = await bookOk(harness, student, (await publishSlot(harness, teacher)).id);
      const none = await harness.api.request('GET', `/api/v1/admin/reviews?bookingId=${notInReview.id}`, {
        token: admin.token,
      });
      assert.deepEqual(none.body, { data: [], nextCursor: null });
      const forged = await harness.api.request('GET', '/api/v1/admin/reviews?cursor=bm90LWEtY3Vyc29y', {
        token: admin.token,
      });
      assert.equal(forged.status, 400, forged.text);
    } finally {
      // Back as they were, so no other test meets them in its queue.
      await db('bookings')
        .whereIn(
          'id',
          bookings.map((b) => b.id),
        )
        .update({ status: 'confirmed', updated_at: db.fn.now() });
    }
  });

  it('when the student never joins, then the booking goes to review with the money held, and an admin partial refund splits the rest', async () => {
    const { teacher, student, booking } = await runClass({ price: 1_001, teacher: [0, 60], student: null });
    const review = await untilPhase(harness, booking.id, 'review');
    assert.equal(review.outcome, null);
    const view = await harness.api.request('GET', `/api/v1/bookings/${booking.id}`, { token: student.token });
    assert.equal(view.body.status, 'requires_manual_review');
    assert.equal(view.body.outcome, 'student_no_show');
    assert.equal(view.body.settlement, 'held');
    assert.deepEqual(await walletOf(harness.api, student.user.id), {
      available: 3_999,
      held: 1_001,
      total: 5_000,
    });

    // This booking's review: the shared test database holds more than a page of them in a full run.
    const queue = await harness.api.request('GET', `/api/v1/admin/reviews?bookingId=${booking.id}`, {
      token: admin.token,
    });
    const item = queue.body.data.find((i: any) => i.booking.id === booking.id);
    assert.equal(item.reason, 'student_no_show');
    assert.equal(item.evidence.attendance.teacherSeconds, 3_600);
    assert.deepEqual(
      item.evidence.events.map((e: any) => e.event),
      ['participant_joined', 'participant_left', 'room_finished'],
    );

    const resolved = await harness.api.request('POST', `/api/v1/admin/reviews/${booking.id}/resolve`, {
      token: admin.token,
      body: { decision: 'partial', refundPercent: 33, note: 'half-hearted no-show' },
    });
    assert.equal(resolved.status, 200, resolved.text);
    assert.equal(resolved.body.status, 'completed');
    assert.equal(resolved.body.settlement, 'partially_refunded');
    assert.equal(resolved.body.outcome, 'admin_partial');
    // 33% of 1001 back (330, rounded down); 671 kept: 30% to the teacher (201), 470 to the platform.
    assert.deepEqual(resolved.body.amounts, { refunded: 330, teacher: 201, platform: 470 });
    assert.deepEqual(await walletOf(harness.api, student.user.id), {
      available: 4_329,
      held: 0,
      total: 4_329,
    });
    assert.equal((await earningsOf(harness.api, teacher.user.id)).available, 201);

    const again = await harness.api.request('POST', `/api/v1/admin/reviews/${booking.id}/resolve`, {
      token: admin.token,
      body: { decision: 'refund' },
    });
    assert.equal(again.status, 409, again.text);
    assert.equal(again.body.error.code, 'already_resolved');
    await assertAuditClean(harness.api);
  });

  it('when the teacher never joins, then it is a teacher no-show in review whatever the student did; an admin refund returns everything', async () => {
    const { student, booking } = await runClass({
      price: 999,
      referred: true,
      teacher: null,
      student: [0, 60],
    });
    await untilPhase(harness, booking.id, 'review');
    const view = await harness.api.request('GET', `/api/v1/bookings/${booking.id}`, { token: student.token });
    assert.equal(view.body.outcome, 'teacher_no_show');
    const resolved = await harness.api.request('POST', `/api/v1/admin/reviews/${booking.id}/resolve`, {
      token: admin.token,
      body: { decision: 'refund' },
    });
    assert.equal(resolved.status, 200, resolved.text);
    assert.equal(resolved.body.settlement, 'refunded');
    assert.equal(resolved.body.outcome, 'admin_refund');
    assert.deepEqual(await walletOf(harness.api, student.user.id), {
      available: 5_000,
      held: 0,
      total: 5_000,
    });
    await assertAuditClean(harness.api);
  });

  it('when nobody joins, then it is a teacher no-show; an admin release pays the referred teacher 70%', async () => {
    const { teacher, booking } = await runClass({ price: 999, referred: true, teacher: null, student: null });
    await untilPhase(harness, booking.id, 'review');
    const resolved = await harness.api.request('POST', `/api/v1/admin/reviews/${booking.id}/resolve`, {
      token: admin.token,
      body: { decision: 'release' },
    });
    assert.equal(resolved.status, 200, resolved.text);
    assert.equal(resolved.body.outcome, 'admin_release');
    assert.deepEqual(resolved.body.amounts, { refunded: 0, teacher: 699, platform: 300 });
    assert.equal((await earningsOf(harness.api, teacher.user.id)).available, 699);
    await assertAuditClean(harness.api);
  });

  it('when a review waits, then admins are reminded every REVIEW_REMINDER_HOURS until it is resolved', async () => {
    const { booking } = await runClass({ price: 500, teacher: [0, 60], student: null });
    await untilPhase(harness, booking.id, 'review');
    const reminders = async () =>
      harness.api
        .db('notifications')
        .where({ user_id: admin.user.id, type: 'review_reminder' })
        .andWhereLike('event_key', `%${booking.id}%`)
        .count({ n: '*' });
    await harness.skip(24 * 60 * MINUTE_MS + MINUTE_MS);
    await harness.skip(24 * 60 * MINUTE_MS);
    const state = await untilPhase(harness, booking.id, 'review');
    assert.ok(state.nextDeadline !== null);
    assert.equal(Number((await reminders())[0]!.n), 2);
    const resolved = await harness.api.request('POST', `/api/v1/admin/reviews/${booking.id}/resolve`, {
      token: admin.token,
      body: { decision: 'refund' },
    });
    assert.equal(resolved.status, 200, resolved.text);
    await harness.skip(3 * 24 * 60 * MINUTE_MS);
    assert.equal(Number((await reminders())[0]!.n), 2);
    await assertAuditClean(harness.api);
  });
});
