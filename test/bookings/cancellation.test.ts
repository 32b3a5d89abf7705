// SPEC section 2's cancellation table, and disputes within the dispute window,
// decided by the booking's workflow and answered to the HTTP caller.
import assert from 'node:assert/strict';
import { requireTimeSkipping } from '../support/devserver';
import pino from 'pino';
import { reconcileBookings } from '../../bookings/reconciler';
import { createAdmin, register, type Session } from '../support/api';
import {
  assertAuditClean,
  attend,
  book,
  bookOk,
  cast,
  earningsOf,
  finishRoom,
  publishSlot,
  settled,
  startBookingHarness,
  untilPhase,
  walletOf,
  terminateWhenIdle,
  workflowOf,
  type BookingHarness,
} from '../support/bookings';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;

describe('cancellation', () => {
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

  /** The student's refund lines: amount and description, newest first. */
  const refundLines = async (session: Session) => {
    const page = await harness.api.request('GET', '/api/v1/wallet/transactions?type=refund', {
      token: session.token,
    });
    assert.equal(page.status, 200, page.text);
    return page.body.data.map((line: { amount: number; description: string | null }) => [
      line.amount,
      line.description,
    ]);
  };

  const cancel = (session: Session, bookingId: string, reason?: string) =>
    harness.api.request('POST', `/api/v1/bookings/${bookingId}/cancel`, {
      token: session.token,
      body: reason === undefined ? {} : { reason },
    });

  it('when the student cancels 24 hours or more before the start, then all of it comes back and the seat is free again', async () => {
    const { teacher, student } = await cast(harness.api);
    const meeting = await publishSlot(harness, teacher, {
      startsInMs: 24 * HOUR_MS + 2 * MINUTE_MS,
      price: 1_001,
    });
    const booking = await bookOk(harness, student, meeting.id);
    const response = await cancel(student, booking.id, 'changed my mind');
    assert.equal(response.status, 200, response.text);
    assert.equal(response.body.status, 'cancelled');
    assert.equal(response.body.outcome, 'cancelled_early');
    assert.deepEqual(response.body.amounts, { refunded: 1_001, teacher: 0, platform: 0 });
    assert.deepEqual(await walletOf(harness.api, student.user.id), {
      available: 10_000,
      held: 0,
      total: 10_000,
    });
    assert.deepEqual(await refundLines(student), [[1_001, 'Refund: Test class (cancelled in time)']]);
    const slot = await harness.api.request('GET', `/api/v1/meetings/${meeting.id}`, { token: teacher.token });
    assert.equal(slot.body.seatsLeft, 1);
    // The seat is free: the same student may book it again.
    const again = await bookOk(harness, student, meeting.id);
    assert.notEqual(again.id, booking.id);
    await assertAuditClean(harness.api);
  });

  it('when the student cancels later than 24 hours before, then half comes back and the rest is a fee split like a release', async () => {
    const { teacher, student } = await cast(harness.api);
    const meeting = await publishSlot(harness, teacher, {
      startsInMs: 24 * HOUR_MS - 10 * MINUTE_MS,
      price: 1_001,
    });
    const booking = await bookOk(harness, student, meeting.id);
    const response = await cancel(student, booking.id);
    assert.equal(response.status, 200, response.text);
    assert.equal(response.body.outcome, 'cancelled_late');
    assert.equal(response.body.settlement, 'partially_refunded');
    // 50% of 1001 back (500, rounded down); 501 kept: teacher 30% = 150, platform 351.
    assert.deepEqual(response.body.amounts, { refunded: 500, teacher: 150, platform: 351 });
    assert.deepEqual(await walletOf(harness.api, student.user.id), {
      available: 9_499,
      held: 0,
      total: 9_499,
    });
    assert.deepEqual(await refundLines(student), [
      [500, 'Partial refund: Test class (cancelled late, a fee kept)'],
    ]);
    assert.equal((await earningsOf(harness.api, teacher.user.id)).available, 150);
    await assertAuditClean(harness.api);
  });

  it('when a referred student cancels late, then the fee is split 70/30 in the teacher’s favour', async () => {
    const { teacher, student } = await cast(harness.api, { referred: true });
    const meeting = await publishSlot(harness, teacher, { startsInMs: 3 * HOUR_MS, price: 1_001 });
    const booking = await bookOk(harness, student, meeting.id);
    const response = await cancel(student, booking.id);
    assert.equal(response.status, 200, response.text);
    // 500 back; 501 kept: 70% to the teacher (350, rounded down), 151 to the platform.
    assert.deepEqual(response.body.amounts, { refunded: 500, teacher: 350, platform: 151 });
    assert.equal((await earningsOf(harness.api, teacher.user.id)).available, 350);
    await assertAuditClean(harness.api);
  });

  it('when a student cancels a booking of a meeting its teacher already cancelled, then the teacher’s terms apply: no late fee', async () => {
    const { teacher, student } = await cast(harness.api);
    const meeting = await publishSlot(harness, teacher, { startsInMs: 3 * HOUR_MS, price: 1_000 });
    const booking = await bookOk(harness, student, meeting.id);
    // The meeting is cancelled, but this booking's own cancellation has not got through yet.
    await harness.api.db('meetings').where({ id: meeting.id }).update({
      status: 'cancelled',
      cancelled_at: harness.clock.now(),
      cancelled_by: teacher.user.id,
    });
    const response = await cancel(student, booking.id);
    assert.equal(response.status, 200, response.text);
    assert.equal(response.body.outcome, 'cancelled_by_teacher');
    assert.deepEqual(response.body.amounts, { refunded: 1_000, teacher: 0, platform: 0 });
    await assertAuditClean(harness.api);
  });

  it('when the teacher cancels one booking just before the start, then the student gets everything back', async () => {
    const { teacher, student } = await cast(harness.api);
    const meeting = await publishSlot(harness, teacher, { startsInMs: 2 * HOUR_MS, price: 800 });
    const booking = await bookOk(harness, student, meeting.id);
    await harness.skipTo(new Date(Date.parse(meeting.startsAt) - 5 * MINUTE_MS));
    await untilPhase(harness, booking.id, 'open');
    const response = await cancel(teacher, booking.id);
    assert.equal(response.status, 200, response.text);
    assert.equal(response.body.outcome, 'cancelled_by_teacher');
    assert.deepEqual(response.body.amounts, { refunded: 800, teacher: 0, platform: 0 });
    assert.deepEqual(await walletOf(harness.api, student.user.id), {
      available: 10_000,
      held: 0,
      total: 10_000,
    });
    assert.deepEqual(await refundLines(student), [[800, 'Refund: Test class (cancelled by the teacher)']]);
    await assertAuditClean(harness.api);
  });

  it('when an admin cancels a booking, then the student gets everything back and the outcome says who', async () => {
    const { teacher, student } = await cast(harness.api);
    const meeting = await publishSlot(harness, teacher, { startsInMs: 3 * HOUR_MS, price: 800 });
    const booking = await bookOk(harness, student, meeting.id);
    const response = await cancel(admin, booking.id);
    assert.equal(response.status, 200, response.text);
    assert.equal(response.body.outcome, 'cancelled_by_admin');
    assert.equal(response.body.settlement, 'refunded');
    await assertAuditClean(harness.api);
  });

  it('when the teacher cancels the whole meeting, then every student is refunded in full and it can no longer be booked', async () => {
    const teacher = await register(harness.api, 'teacher');
    const students = await Promise.all([1, 2].map(() => cast(harness.api)));
    const meeting = await publishSlot(harness, teacher, {
      capacity: 3,
      price: 1_200,
      startsInMs: 5 * HOUR_MS,
    });
    const bookings = [];
    for (const { student } of students) bookings.push(await bookOk(harness, student, meeting.id));

    const response = await harness.api.request('POST', `/api/v1/meetings/${meeting.id}/cancel`, {
      token: teacher.token,
      body: { reason: 'ill' },
    });
    assert.equal(response.status, 200, response.text);
    assert.deepEqual(
      response.body.bookings.map((b: any) => [b.status, b.outcome, b.settlement]),
      [
        ['cancelled', 'cancelled_by_teacher', 'refunded'],
        ['cancelled', 'cancelled_by_teacher', 'refunded'],
      ],
    );
    for (const { student } of students) {
      assert.deepEqual(await walletOf(harness.api, student.user.id), {
        available: 10_000,
        held: 0,
        total: 10_000,
      });
    }
    const late = await cast(harness.api);
    const refused = await book(harness, late.student, meeting.id);
    assert.equal(refused.status, 409, refused.text);
    assert.equal(refused.body.error.code, 'meeting_cancelled');
    // Asking again is harmless (it re-drives any booking a crash left behind).
    const again = await harness.api.request('POST', `/api/v1/meetings/${meeting.id}/cancel`, {
      token: teacher.token,
      body: {},
    });
    assert.equal(again.status, 200, again.text);
    await assertAuditClean(harness.api);
  });

  it('when anyone tries to cancel after the start, then 409 not_cancellable and the money stays held', async () => {
    const { teacher, student } = await cast(harness.api);
    const meeting = await publishSlot(harness, teacher, { startsInMs: HOUR_MS, price: 600 });
    const booking = await bookOk(harness, student, meeting.id);
    await harness.skipTo(new Date(Date.parse(meeting.startsAt) + MINUTE_MS));
    await untilPhase(harness, booking.id, 'open');
    for (const who of [student, teacher, admin]) {
      const response = await cancel(who, booking.id);
      assert.equal(response.status, 409, response.text);
      assert.equal(response.body.error.code, 'not_cancellable');
    }
    const meetingCancel = await harness.api.request('POST', `/api/v1/meetings/${meeting.id}/cancel`, {
      token: teacher.token,
      body: {},
    });
    assert.equal(meetingCancel.status, 409, meetingCancel.text);
    assert.deepEqual(await walletOf(harness.api, student.user.id), {
      available: 9_400,
      held: 600,
      total: 10_000,
    });
  });
});

describe('disputes within the dispute window', () => {
  let harness: BookingHarness;
  let admin: Session;
  before(async function () {
    requireTimeSkipping(this);
    harness = await startBookingHarness({ DISPUTE_WINDOW_HOURS: '24' });
    admin = await createAdmin(harness.api);
  });
  after(async () => {
    await harness?.close();
  });

  async function attendedClass() {
    const { teacher, student } = await cast(harness.api, { funds: 2_000 });
    const meeting = await publishSlot(harness, teacher, { price: 1_000 });
    const booking = await bookOk(harness, student, meeting.id);
    await harness.skipTo(new Date(Date.parse(meeting.startsAt) - 14 * MINUTE_MS));
    await untilPhase(harness, booking.id, 'open');
    await harness.skipTo(new Date(Date.parse(meeting.endsAt)));
    await attend(harness, meeting, teacher.user.id, 0, 60);
    await attend(harness, meeting, student.user.id, 0, 60);
    await finishRoom(harness, meeting);
    await untilPhase(harness, booking.id, 'dispute_window');
    return { teacher, student, booking };
  }

  it('when the student disputes within the window, then the booking goes to review with the money held', async () => {
    const { student, booking } = await attendedClass();
    const held = await harness.api.request('GET', `/api/v1/bookings/${booking.id}`, { token: student.token });
    assert.equal(held.body.status, 'completed');
    assert.equal(held.body.settlement, 'held');

    const response = await harness.api.request('POST', `/api/v1/bookings/${booking.id}/dispute`, {
      token: student.token,
      body: { reason: 'the teacher left after five minutes' },
    });
    assert.equal(response.status, 200, response.text);
    assert.equal(response.body.status, 'requires_manual_review');
    assert.equal(response.body.outcome, 'disputed');
    assert.equal(response.body.settlement, 'held');
    // This booking's review: the shared test database holds more than a page of them in a full run.
    const queue = await harness.api.request('GET', `/api/v1/admin/reviews?bookingId=${booking.id}`, {
      token: admin.token,
    });
    const item = queue.body.data.find((i: any) => i.booking.id === booking.id);
    assert.equal(item.disputeReason, 'the teacher left after five minutes');

    const second = await harness.api.request('POST', `/api/v1/bookings/${booking.id}/dispute`, {
      token: student.token,
      body: { reason: 'again' },
    });
    assert.equal(second.status, 409, second.text);
    assert.equal(second.body.error.code, 'not_disputable');
  });

  describe('when the run was terminated (support staff) in the window', () => {
    it('when the student disputes, then a new run takes the dispute to review, and an admin’s decision settles it', async () => {
      const { teacher, student, booking } = await attendedClass();
      await terminateWhenIdle(harness, booking.id);
      const disputed = await harness.api.request('POST', `/api/v1/bookings/${booking.id}/dispute`, {
        token: student.token,
        body: { reason: 'the teacher was not there' },
      });
      assert.equal(disputed.status, 200, disputed.text);
      assert.deepEqual(
        [disputed.body.status, disputed.body.outcome, disputed.body.settlement],
        ['requires_manual_review', 'disputed', 'held'],
      );
      // The attendance the stopped run recorded stands.
      assert.equal(disputed.body.attendance.percent, 100);

      const resolved = await harness.api.request('POST', `/api/v1/admin/reviews/${booking.id}/resolve`, {
        token: admin.token,
        body: { decision: 'partial', refundPercent: 50 },
      });
      assert.equal(resolved.status, 200, resolved.text);
      assert.deepEqual(resolved.body.amounts, { refunded: 500, teacher: 150, platform: 350 });
      assert.equal((await earningsOf(harness.api, teacher.user.id)).available, 150);
      assert.deepEqual(await walletOf(harness.api, student.user.id), {
        available: 1_500,
        held: 0,
        total: 1_500,
      });
      await assertAuditClean(harness.api);
    });

    it('when nobody acts, then the reconciler starts a new run six hours after the window closed, and it releases the money', async () => {
      const { teacher, booking } = await attendedClass();
      await terminateWhenIdle(harness, booking.id);
      const reconcile = () =>
        reconcileBookings({
          db: harness.api.db,
          clock: harness.clock,
          workflows: harness.api.platform.bookingWorkflows,
          logger: pino({ level: 'silent' }),
        });
      await harness.skip(24 * HOUR_MS);
      await reconcile();
      // The window is not long closed yet: nothing started it again.
      assert.equal((await workflowOf(harness, booking.id).describe()).status.name, 'TERMINATED');
      await harness.skip(7 * HOUR_MS);
      assert.ok((await reconcile()).overdueRestarted >= 1);
      const outcome = await settled(harness, booking.id);
      assert.deepEqual(
        [outcome.status, outcome.settlement, outcome.outcome],
        ['completed', 'released', 'attended'],
      );
      assert.equal((await earningsOf(harness.api, teacher.user.id)).available, 300);
      await assertAuditClean(harness.api);
    });
  });

  it('when the window passes without a dispute, then the money is released, and a late dispute is 409', async () => {
    const { teacher, student, booking } = await attendedClass();
    const outcome = await settled(harness, booking.id);
    assert.equal(outcome.settlement, 'released');
    assert.equal((await earningsOf(harness.api, teacher.user.id)).available, 300);
    const late = await harness.api.request('POST', `/api/v1/bookings/${booking.id}/dispute`, {
      token: student.token,
      body: { reason: 'too late' },
    });
    assert.equal(late.status, 409, late.text);
    assert.equal(late.body.error.code, 'not_disputable');
    await assertAuditClean(harness.api);
  });
});
