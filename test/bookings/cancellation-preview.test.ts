// GET /bookings/:id/cancellation: what a cancel asked now would do, from the
// rule the workflow applies, and that the real cancel then does just that.
import assert from 'node:assert/strict';
import { requireTimeSkipping } from '../support/devserver';
import { createAdmin, register, type Session } from '../support/api';
import { bookOk, cast, publishSlot, startBookingHarness, type BookingHarness } from '../support/bookings';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;

describe('cancellation preview', () => {
  let harness: BookingHarness;
  let admin: Session;
  before(async () => {
    harness = await startBookingHarness();
    admin = await createAdmin(harness.api);
  });
  after(async () => {
    await harness?.close();
  });

  const preview = (session: Session, bookingId: string) =>
    harness.api.request('GET', `/api/v1/bookings/${bookingId}/cancellation`, { token: session.token });
  const cancel = (session: Session, bookingId: string) =>
    harness.api.request('POST', `/api/v1/bookings/${bookingId}/cancel`, { token: session.token, body: {} });

  it('when a referred student looks less than 24 hours before, then the preview shows half back and the fee split 70/30, and cancelling does exactly that', async () => {
    const { teacher, student } = await cast(harness.api, { referred: true });
    const meeting = await publishSlot(harness, teacher, { startsInMs: 3 * HOUR_MS, price: 1_001 });
    const booking = await bookOk(harness, student, meeting.id);
    const response = await preview(student, booking.id);
    assert.equal(response.status, 200, response.text);
    assert.deepEqual(response.body, {
      allowed: true,
      reason: null,
      message: null,
      by: 'student',
      outcome: 'cancelled_late',
      refundPercent: 50,
      refund: 500,
      fee: 501,
      feeToTeacher: 350,
      feeToPlatform: 151,
    });
    const cancelled = await cancel(student, booking.id);
    assert.equal(cancelled.status, 200, cancelled.text);
    assert.equal(cancelled.body.outcome, response.body.outcome);
    assert.deepEqual(cancelled.body.amounts, { refunded: 500, teacher: 350, platform: 151 });

    const after = await preview(student, booking.id);
    assert.equal(after.status, 200, after.text);
    assert.equal(after.body.allowed, false);
    assert.equal(after.body.reason, 'already_cancelled');
    assert.equal(after.body.refund, null);
  });

  it('when the student looks 24 hours or more before, then everything comes back; the teacher and an admin see their own terms', async () => {
    const { teacher, student } = await cast(harness.api);
    const meeting = await publishSlot(harness, teacher, { startsInMs: 25 * HOUR_MS, price: 1_000 });
    const booking = await bookOk(harness, student, meeting.id);
    const early = (await preview(student, booking.id)).body;
    assert.equal(early.outcome, 'cancelled_early');
    assert.deepEqual([early.refund, early.fee, early.feeToTeacher, early.feeToPlatform], [1_000, 0, 0, 0]);
    const byTeacher = (await preview(teacher, booking.id)).body;
    assert.equal(byTeacher.by, 'teacher');
    assert.equal(byTeacher.outcome, 'cancelled_by_teacher');
    assert.equal(byTeacher.refund, 1_000);
    const byAdmin = (await preview(admin, booking.id)).body;
    assert.equal(byAdmin.outcome, 'cancelled_by_admin');
    assert.equal(byAdmin.refund, 1_000);
  });

  it('when the meeting was cancelled by its teacher, then a student looking late still sees the teacher’s terms: no fee', async () => {
    const { teacher, student } = await cast(harness.api);
    const meeting = await publishSlot(harness, teacher, { startsInMs: 3 * HOUR_MS, price: 1_000 });
    const booking = await bookOk(harness, student, meeting.id);
    await harness.api.db('meetings').where({ id: meeting.id }).update({
      status: 'cancelled',
      cancelled_at: harness.clock.now(),
      cancelled_by: teacher.user.id,
    });
    const response = await preview(student, booking.id);
    assert.equal(response.body.by, 'teacher');
    assert.equal(response.body.outcome, 'cancelled_by_teacher');
    assert.equal(response.body.fee, 0);
  });

  it('when the late-cancellation boundary passes between the preview and the cancel, then the cancel carrying the terms shown is 409 terms_changed and changes nothing; with the new terms it cancels', async function () {
    requireTimeSkipping(this, harness.env);
    const { teacher, student } = await cast(harness.api);
    const meeting = await publishSlot(harness, teacher, {
      startsInMs: 24 * HOUR_MS + 5 * MINUTE_MS,
      price: 1_000,
    });
    const booking = await bookOk(harness, student, meeting.id);
    const shown = (await preview(student, booking.id)).body;
    assert.equal(shown.outcome, 'cancelled_early');

    await harness.skip(10 * MINUTE_MS); // now less than 24 hours before: a late cancellation
    const asked = await harness.api.request('POST', `/api/v1/bookings/${booking.id}/cancel`, {
      token: student.token,
      body: { expectedOutcome: shown.outcome },
    });
    assert.equal(asked.status, 409, asked.text);
    assert.equal(asked.body.error.code, 'terms_changed');
    const unchanged = await harness.api.db('bookings').where({ id: booking.id }).first();
    assert.deepEqual([unchanged.status, unchanged.settlement], ['confirmed', 'held']);

    const now = (await preview(student, booking.id)).body;
    assert.equal(now.outcome, 'cancelled_late');
    const cancelled = await harness.api.request('POST', `/api/v1/bookings/${booking.id}/cancel`, {
      token: student.token,
      body: { expectedOutcome: now.outcome },
    });
    assert.equal(cancelled.status, 200, cancelled.text);
    assert.equal(cancelled.body.outcome, 'cancelled_late');
    assert.equal(cancelled.body.amounts.refunded, now.refund);
  });

  it('when the expected outcome is not one a cancellation can have, then 400 and nothing changes', async () => {
    const { teacher, student } = await cast(harness.api);
    const meeting = await publishSlot(harness, teacher, { startsInMs: 30 * HOUR_MS, price: 1_000 });
    const booking = await bookOk(harness, student, meeting.id);
    const asked = await harness.api.request('POST', `/api/v1/bookings/${booking.id}/cancel`, {
      token: student.token,
      body: { expectedOutcome: 'attended' },
    });
    assert.equal(asked.status, 400, asked.text);
    assert.equal(asked.body.error.code, 'validation_error');
    const unchanged = await harness.api.db('bookings').where({ id: booking.id }).first();
    assert.equal(unchanged.status, 'confirmed');
  });

  it('when another student or another teacher asks, then the booking does not exist for them', async () => {
    const { teacher, student } = await cast(harness.api);
    const meeting = await publishSlot(harness, teacher);
    const booking = await bookOk(harness, student, meeting.id);
    for (const stranger of [await register(harness.api, 'student'), await register(harness.api, 'teacher')]) {
      const response = await preview(stranger, booking.id);
      assert.equal(response.status, 404, response.text);
      assert.equal(response.body.error.code, 'not_found');
    }
  });

  it('when the class has started, then the preview says it cannot be cancelled, as the cancel answers 409', async function () {
    requireTimeSkipping(this);
    const { teacher, student } = await cast(harness.api);
    const meeting = await publishSlot(harness, teacher, { startsInMs: 30 * MINUTE_MS, durationMinutes: 60 });
    const booking = await bookOk(harness, student, meeting.id);
    await harness.skipTo(new Date(Date.parse(meeting.startsAt) + MINUTE_MS));
    const response = await preview(student, booking.id);
    assert.equal(response.status, 200, response.text);
    assert.equal(response.body.allowed, false);
    assert.equal(response.body.reason, 'class_started');
    const refused = await cancel(student, booking.id);
    assert.equal(refused.status, 409, refused.text);
  });
});
