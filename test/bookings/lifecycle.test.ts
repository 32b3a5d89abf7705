import assert from 'node:assert/strict';
import { requireTimeSkipping } from '../support/devserver';
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

describe('a booking from start to settlement', () => {
  let harness: BookingHarness;
  before(async function () {
    requireTimeSkipping(this);
    harness = await startBookingHarness();
  });
  after(async () => {
    await harness?.close();
  });

  it('when a referred student attends the whole class, then the teacher gets 70% rounded down and the platform the rest', async () => {
    const { api } = harness;
    const { teacher, student } = await cast(api, { referred: true, funds: 5_000 });
    const meeting = await publishSlot(harness, teacher, { price: 999 });
    const booking = await bookOk(harness, student, meeting.id);
    assert.equal(booking.status, 'confirmed');
    assert.equal(booking.settlement, 'held');
    assert.deepEqual(await walletOf(api, student.user.id), { available: 4_001, held: 999, total: 5_000 });

    await harness.skipTo(new Date(Date.parse(meeting.startsAt) - 14 * 60_000));
    await untilPhase(harness, booking.id, 'open');
    await harness.skipTo(new Date(Date.parse(meeting.endsAt)));
    await attend(harness, meeting, teacher.user.id, 0, 60);
    await attend(harness, meeting, student.user.id, 1, 59);
    const revenueBefore = await platformRevenue(api);
    await finishRoom(harness, meeting);

    const outcome = await settled(harness, booking.id);
    assert.equal(outcome.outcome, 'attended');
    assert.equal(outcome.settlement, 'released');
    assert.deepEqual(outcome.amounts, { refunded: 0, teacher: 699, platform: 300 });
    assert.deepEqual(await walletOf(api, student.user.id), { available: 4_001, held: 0, total: 4_001 });
    assert.equal((await earningsOf(api, teacher.user.id)).available, 699);
    assert.equal((await platformRevenue(api)) - revenueBefore, 300);

    const view = await api.request('GET', `/api/v1/bookings/${booking.id}`, { token: student.token });
    assert.equal(view.body.status, 'completed');
    assert.equal(view.body.attendance.seconds, 58 * 60);
    assert.equal(view.body.attendance.teacherSeconds, 60 * 60);
    await assertAuditClean(api);
  });
});
