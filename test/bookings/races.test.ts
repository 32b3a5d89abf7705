// Races the database and the workflow must each settle exactly once.
import assert from 'node:assert/strict';
import { requireTimeSkipping } from '../support/devserver';
import { createAdmin, register } from '../support/api';
import {
  assertAuditClean,
  attend,
  book,
  bookOk,
  cast,
  fundedStudents,
  publishSlot,
  settled,
  startBookingHarness,
  untilPhase,
  walletOf,
  workflowOf,
  type BookingHarness,
} from '../support/bookings';

const MINUTE_MS = 60_000;

describe('races', () => {
  let harness: BookingHarness;
  before(async () => {
    harness = await startBookingHarness();
  });
  after(async () => {
    await harness?.close();
  });

  it('when 100 students race for the last seat, then exactly one gets it and nobody else is charged', async () => {
    const teacher = await register(harness.api, 'teacher');
    const meeting = await publishSlot(harness, teacher, { capacity: 2, price: 500 });
    const early = await cast(harness.api);
    await bookOk(harness, early.student, meeting.id);
    const racers = await fundedStudents(harness.api, 100, 1_000);

    const answers = await Promise.all(racers.map((s) => book(harness, s, meeting.id)));
    const won = answers.filter((a) => a.status === 201);
    assert.equal(
      won.length,
      1,
      answers
        .map((a) => `${a.status} ${a.text}`)
        .join('\n')
        .slice(0, 2_000),
    );
    for (const lost of answers.filter((a) => a.status !== 201)) {
      assert.equal(lost.status, 409, lost.text);
      assert.equal(lost.body.error.code, 'slot_full');
    }
    const slot = await harness.api.request('GET', `/api/v1/meetings/${meeting.id}`, { token: teacher.token });
    assert.equal(slot.body.seatsLeft, 0);
    assert.equal(slot.body.bookings.length, 2);
    const held = await Promise.all(racers.map((s) => walletOf(harness.api, s.user.id)));
    assert.equal(held.filter((w) => w.held === 500).length, 1);
    assert.equal(held.filter((w) => w.held === 0 && w.available === 1_000).length, 99);
    await assertAuditClean(harness.api);
  });

  it('when one student books two classes at once with money for one, then one is booked, the other is 402, and nothing is overdrawn', async () => {
    const teacher = await register(harness.api, 'teacher');
    const [student] = await fundedStudents(harness.api, 1, 700);
    const meetings = await Promise.all([1, 2].map(() => publishSlot(harness, teacher, { price: 600 })));
    const answers = await Promise.all(meetings.map((m) => book(harness, student!, m.id)));
    assert.deepEqual(answers.map((a) => a.status).sort(), [201, 402], answers.map((a) => a.text).join('\n'));
    assert.equal(answers.find((a) => a.status === 402)!.body.error.code, 'insufficient_funds');
    assert.deepEqual(await walletOf(harness.api, student!.user.id), {
      available: 100,
      held: 600,
      total: 700,
    });
    // The refused booking left no seat taken and no booking behind.
    const refused = meetings[answers.findIndex((a) => a.status === 402)]!;
    const view = await harness.api.request('GET', `/api/v1/meetings/${refused.id}`, { token: teacher.token });
    assert.equal(view.body.seatsLeft, 1);
    assert.equal(view.body.bookings.length, 0);
    await assertAuditClean(harness.api);
  });

  it('when one student sends the same booking twice at once, then one is booked and the other is already_booked', async () => {
    const { teacher, student } = await cast(harness.api);
    const meeting = await publishSlot(harness, teacher, { capacity: 5, price: 400 });
    const answers = await Promise.all([1, 2].map(() => book(harness, student, meeting.id)));
    assert.deepEqual(answers.map((a) => a.status).sort(), [201, 409]);
    assert.equal(answers.find((a) => a.status === 409)!.body.error.code, 'already_booked');
    assert.equal((await walletOf(harness.api, student.user.id)).held, 400);
  });

  it('when a cancel races the start of the class, then the booking has exactly one outcome and the hold is resolved once', async function () {
    requireTimeSkipping(this, harness?.env);
    const { teacher, student } = await cast(harness.api);
    const meeting = await publishSlot(harness, teacher, { startsInMs: 30 * MINUTE_MS, price: 900 });
    const booking = await bookOk(harness, student, meeting.id);
    await harness.skipTo(new Date(Date.parse(meeting.startsAt) - 2_000));
    await untilPhase(harness, booking.id, 'open');
    const [cancelled] = await Promise.all([
      harness.api.request('POST', `/api/v1/bookings/${booking.id}/cancel`, {
        token: student.token,
        body: {},
      }),
      harness.skip(10 * MINUTE_MS),
    ]);
    if (cancelled.status === 409) {
      // The class started first: it runs to its own finalisation.
      assert.equal(cancelled.body.error.code, 'not_cancellable');
      await attend(harness, meeting, teacher.user.id, 0, 60);
      await attend(harness, meeting, student.user.id, 0, 60);
      const outcome = await settled(harness, booking.id);
      assert.equal(outcome.outcome, 'attended');
    } else {
      assert.equal(cancelled.status, 200, cancelled.text);
      assert.equal(cancelled.body.outcome, 'cancelled_late');
      const outcome = await settled(harness, booking.id);
      assert.equal(outcome.outcome, 'cancelled_late');
    }
    const resolutions = await harness.api
      .db('ledger_transfers')
      .where({ reference_id: booking.id })
      .whereNotNull('pending_id');
    assert.equal(resolutions.length, 1);
    await assertAuditClean(harness.api);
  });

  it('when two admins resolve one review at once, then one decision wins and the other gets 409', async function () {
    requireTimeSkipping(this, harness?.env);
    const admins = await Promise.all([createAdmin(harness.api), createAdmin(harness.api)]);
    const { teacher, student } = await cast(harness.api);
    const meeting = await publishSlot(harness, teacher, { price: 1_000 });
    const booking = await bookOk(harness, student, meeting.id);
    await harness.skipTo(new Date(Date.parse(meeting.endsAt) + 6 * MINUTE_MS));
    await untilPhase(harness, booking.id, 'review');
    const answers = await Promise.all(
      admins.map((admin, i) =>
        harness.api.request('POST', `/api/v1/admin/reviews/${booking.id}/resolve`, {
          token: admin.token,
          body: { decision: i === 0 ? 'release' : 'refund' },
        }),
      ),
    );
    assert.deepEqual(answers.map((a) => a.status).sort(), [200, 409], answers.map((a) => a.text).join('\n'));
    const loser = answers.find((a) => a.status === 409)!;
    assert.equal(loser.body.error.code, 'already_resolved');
    const winner = answers.find((a) => a.status === 200)!;
    const outcome = await workflowOf(harness, booking.id).result();
    assert.equal(outcome.settlement, winner.body.settlement);
    await assertAuditClean(harness.api);
  });
});
