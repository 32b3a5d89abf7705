// What must hold when things go wrong half-way: a workflow that never
// started, a meeting cancellation that never reached its bookings, steps run
// again after they committed (activity retries), requests sent again; and
// the search attributes support staff filter by.
import assert from 'node:assert/strict';
import { requireTimeSkipping } from '../support/devserver';
import { randomUUID } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import pino from 'pino';
import { createBookingActivities } from '../../activities/bookings';
import { bookingTransferIds } from '../../bookings/ledger';
import { reconcileBookings } from '../../bookings/reconciler';
import { cancelMeetingRow } from '../../bookings/repository';
import { planRelease, planSettlement } from '../../domain/settlement';
import { LiveKit } from '../../livekit/livekit';
import { createAdmin, startTestApi, type Session, type TestApi } from '../support/api';
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
import { TEST_CURRENCY } from '../support/db';

const MINUTE_MS = 60_000;
const silent = pino({ level: 'silent' });

describe('recovery and repetition', () => {
  let harness: BookingHarness;
  let admin: Session;
  before(async () => {
    harness = await startBookingHarness();
    admin = await createAdmin(harness.api);
  });
  after(async () => {
    await harness?.close();
  });

  const reconcile = () =>
    reconcileBookings(
      {
        db: harness.api.db,
        clock: harness.clock,
        workflows: harness.api.platform.bookingWorkflows,
        logger: silent,
      },
      { startGraceMs: 0 },
    );

  const activities = () =>
    createBookingActivities({
      db: harness.api.db,
      currency: TEST_CURRENCY,
      publicUrl: 'http://localhost:3000',
      livekit: new LiveKit({ url: undefined, apiKey: 'devkey', apiSecret: 'secret' }),
      logger: silent,
    });

  /** Both attend the whole class, LiveKit telling at its end; it settles once as attended. */
  async function attendedToTheEnd(
    people: { teacher: Session; student: Session },
    meeting: { id: string; startsAt: string; endsAt: string },
    bookingId: string,
  ): Promise<void> {
    await harness.skipTo(new Date(Date.parse(meeting.endsAt)));
    await attend(harness, meeting, people.teacher.user.id, 0, 60);
    await attend(harness, meeting, people.student.user.id, 0, 60);
    const outcome = await settled(harness, bookingId);
    assert.equal(outcome.outcome, 'attended');
    assert.equal((await earningsOf(harness.api, people.teacher.user.id)).available, 300);
    await assertAuditClean(harness.api);
  }

  async function count(table: string, where: Record<string, unknown>): Promise<number> {
    const [row] = await harness.api.db(table).where(where).count({ n: '*' });
    return Number(row!.n);
  }

  describe('a booking whose workflow was not started', () => {
    let cutOff: TestApi;
    before(async () => {
      // The same service, but Temporal cannot be reached: bookings commit, their workflows do not start.
      cutOff = await startTestApi(
        { TEMPORAL_TASK_QUEUE: harness.api.settings.TEMPORAL_TASK_QUEUE },
        { clock: harness.clock },
      );
    });
    after(async () => {
      await cutOff?.close();
    });

    it('when Temporal is unreachable at booking time, then the booking stands with its money held, and the reconciler starts its workflow from the row', async () => {
      const { teacher, student } = await cast(harness.api);
      const meeting = await publishSlot(harness, teacher, { price: 700 });
      const response = await cutOff.request('POST', '/api/v1/bookings', {
        token: student.token,
        body: { meetingId: meeting.id },
      });
      assert.equal(response.status, 201, response.text);
      const bookingId: string = response.body.id;
      assert.equal(
        (await harness.api.db('bookings').where({ id: bookingId }).first()).workflow_started,
        false,
      );
      assert.equal((await walletOf(harness.api, student.user.id)).held, 700);

      const result = await reconcile();
      assert.ok(result.started >= 1, JSON.stringify(result));
      assert.equal(
        (await harness.api.db('bookings').where({ id: bookingId }).first()).workflow_started,
        true,
      );
      assert.equal(((await workflowOf(harness, bookingId).query('bookingState')) as any).phase, 'scheduled');
      // Starting it again is harmless: one id, one workflow.
      await harness.api.platform.bookingWorkflows.start(
        await harness.api.db('bookings').where({ id: bookingId }).first(),
      );

      const cancelled = await harness.api.request('POST', `/api/v1/bookings/${bookingId}/cancel`, {
        token: student.token,
        body: {},
      });
      assert.equal(cancelled.status, 200, cancelled.text);
      assert.equal(cancelled.body.outcome, 'cancelled_early');
      await assertAuditClean(harness.api);
    });
  });

  describe('a booking whose workflow was lost with Temporal’s state', () => {
    let cutOff: TestApi;
    before(async () => {
      cutOff = await startTestApi(
        { TEMPORAL_TASK_QUEUE: harness.api.settings.TEMPORAL_TASK_QUEUE },
        { clock: harness.clock },
      );
    });
    after(async () => {
      await cutOff?.close();
    });

    /** A booking marked started whose workflow the server does not know (as after losing its state). */
    async function orphan(price: number) {
      const { teacher, student } = await cast(harness.api);
      const meeting = await publishSlot(harness, teacher, { price });
      const response = await cutOff.request('POST', '/api/v1/bookings', {
        token: student.token,
        body: { meetingId: meeting.id },
      });
      assert.equal(response.status, 201, response.text);
      await harness.api.db('bookings').where({ id: response.body.id }).update({ workflow_started: true });
      return { teacher, student, meeting, bookingId: response.body.id as string };
    }

    it('when its student cancels, then the workflow is started again and answers the cancellation', async () => {
      const { student, bookingId } = await orphan(600);
      const response = await harness.api.request('POST', `/api/v1/bookings/${bookingId}/cancel`, {
        token: student.token,
        body: {},
      });
      assert.equal(response.status, 200, response.text);
      assert.equal(response.body.outcome, 'cancelled_early');
      assert.deepEqual(await walletOf(harness.api, student.user.id), {
        available: 10_000,
        held: 0,
        total: 10_000,
      });
    });

    it('when LiveKit’s events arrive at its end, then the first starts it again and it settles from the stored events', async function () {
      requireTimeSkipping(this, harness?.env);
      const { meeting, bookingId, ...people } = await orphan(1_000);
      await attendedToTheEnd(people, meeting, bookingId);
    });

    it('when its class is long over and nothing arrives, then the reconciler starts it again and it judges the class', async function () {
      requireTimeSkipping(this, harness?.env);
      const { meeting, bookingId } = await orphan(1_000);
      await harness.skipTo(new Date(Date.parse(meeting.endsAt) + 7 * 60 * MINUTE_MS));
      const result = await reconcile();
      assert.ok(result.overdueRestarted >= 1, JSON.stringify(result));
      // Nobody came, the teacher included: the money waits for an admin.
      await untilPhase(harness, bookingId, 'review');
      const row = await harness.api.db('bookings').where({ id: bookingId }).first();
      assert.deepEqual([row.status, row.settlement], ['requires_manual_review', 'held']);
      await assertAuditClean(harness.api);
    });
  });

  describe('a booking whose run was terminated (support staff)', () => {
    async function terminated(price: number) {
      const { teacher, student } = await cast(harness.api);
      const meeting = await publishSlot(harness, teacher, { price });
      const booking = await bookOk(harness, student, meeting.id);
      await terminateWhenIdle(harness, booking.id);
      return { teacher, student, meeting, bookingId: booking.id as string };
    }

    it('when its teacher cancels the meeting, then a new run is started and the student is refunded in full', async () => {
      const { teacher, student, meeting, bookingId } = await terminated(800);
      const response = await harness.api.request('POST', `/api/v1/meetings/${meeting.id}/cancel`, {
        token: teacher.token,
        body: {},
      });
      assert.equal(response.status, 200, response.text);
      const row = await harness.api.db('bookings').where({ id: bookingId }).first();
      assert.deepEqual(
        [row.status, row.settlement, row.outcome],
        ['cancelled', 'refunded', 'cancelled_by_teacher'],
      );
      assert.deepEqual(await walletOf(harness.api, student.user.id), {
        available: 10_000,
        held: 0,
        total: 10_000,
      });
      await assertAuditClean(harness.api);
    });

    it('when a LiveKit event arrives during its class, then a new run is started, hears it and settles the class', async function () {
      requireTimeSkipping(this, harness?.env);
      const { meeting, bookingId, ...people } = await terminated(1_000);
      await attendedToTheEnd(people, meeting, bookingId);
    });

    it('when it waits in review, then an admin’s decision starts a run that takes the review over and carries the decision out', async function () {
      requireTimeSkipping(this, harness?.env);
      const { teacher, student } = await cast(harness.api);
      const meeting = await publishSlot(harness, teacher, { price: 1_000 });
      const { id: bookingId } = await bookOk(harness, student, meeting.id);
      await harness.skipTo(new Date(Date.parse(meeting.endsAt)));
      await attend(harness, meeting, teacher.user.id, 0, 60); // the student never came
      await finishRoom(harness, meeting);
      await untilPhase(harness, bookingId, 'review');
      await terminateWhenIdle(harness, bookingId);

      const resolved = await harness.api.request('POST', `/api/v1/admin/reviews/${bookingId}/resolve`, {
        token: admin.token,
        body: { decision: 'refund', note: 'after the run was stopped' },
      });
      assert.equal(resolved.status, 200, resolved.text);
      assert.deepEqual([resolved.body.status, resolved.body.settlement], ['completed', 'refunded']);
      assert.deepEqual(await walletOf(harness.api, student.user.id), {
        available: 10_000,
        held: 0,
        total: 10_000,
      });
      const again = await harness.api.request('POST', `/api/v1/admin/reviews/${bookingId}/resolve`, {
        token: admin.token,
        body: { decision: 'release' },
      });
      assert.equal(again.status, 409, again.text);
      assert.equal(again.body.error.code, 'already_resolved');
      await assertAuditClean(harness.api);
    });

    it('when its class is long over, then the reconciler starts a new run, which settles from the stored LiveKit events; a settled booking is never started again', async function () {
      requireTimeSkipping(this, harness?.env);
      const { teacher, student, meeting } = await cast(harness.api).then(async (people) => ({
        ...people,
        meeting: await publishSlot(harness, people.teacher, { price: 1_000 }),
      }));
      const { id: bookingId } = await bookOk(harness, student, meeting.id);
      await harness.skipTo(new Date(Date.parse(meeting.endsAt)));
      await attend(harness, meeting, teacher.user.id, 0, 60);
      await attend(harness, meeting, student.user.id, 0, 60);
      // Stopped after it heard the class, before finalising it.
      await untilPhase(harness, bookingId, 'open');
      await terminateWhenIdle(harness, bookingId);
      await harness.skip(7 * 60 * MINUTE_MS);
      const result = await reconcile();
      assert.ok(result.overdueRestarted >= 1, JSON.stringify(result));
      const outcome = await settled(harness, bookingId);
      assert.equal(outcome.outcome, 'attended');
      assert.equal((await earningsOf(harness.api, teacher.user.id)).available, 300);

      const runId = (await workflowOf(harness, bookingId).describe()).runId;
      await harness.api.platform.bookingWorkflows.start(
        await harness.api.db('bookings').where({ id: bookingId }).first(),
      );
      assert.equal((await workflowOf(harness, bookingId).describe()).runId, runId);
      await assertAuditClean(harness.api);
    });
  });

  it('when a meeting was cancelled but a booking’s cancellation never got through, then the reconciler cancels it', async function () {
    requireTimeSkipping(this, harness?.env);
    const { teacher, student } = await cast(harness.api);
    const meeting = await publishSlot(harness, teacher, { price: 900 });
    const booking = await bookOk(harness, student, meeting.id);
    // As if the request died right after marking the meeting cancelled.
    assert.ok(
      await cancelMeetingRow(harness.api.db, meeting.id, {
        now: harness.clock.now(),
        by: teacher.user.id,
        reason: null,
      }),
    );

    await reconcile();
    const outcome = await settled(harness, booking.id);
    assert.equal(outcome.outcome, 'cancelled_by_teacher');
    assert.deepEqual(await walletOf(harness.api, student.user.id), {
      available: 10_000,
      held: 0,
      total: 10_000,
    });
  });

  it('when a meeting is cancelled minutes before its start and its open bookings hear of it only after the start, then asking again, the reconciler or, failing both, finalisation refunds each in full', async function () {
    requireTimeSkipping(this, harness?.env);
    const { teacher, student } = await cast(harness.api);
    const { student: other } = await cast(harness.api);
    const { student: third } = await cast(harness.api);
    const first = await publishSlot(harness, teacher, { startsInMs: 30 * MINUTE_MS, price: 800 });
    const second = await publishSlot(harness, teacher, { startsInMs: 30 * MINUTE_MS, price: 700 });
    const last = await publishSlot(harness, teacher, { startsInMs: 30 * MINUTE_MS, price: 600 });
    const byRequest = await bookOk(harness, student, first.id);
    const byReconciler = await bookOk(harness, other, second.id);
    const atFinalisation = await bookOk(harness, third, last.id);
    const startsAt = Date.parse(first.startsAt);
    await harness.skipTo(new Date(startsAt - 10 * MINUTE_MS));
    for (const booking of [byRequest, byReconciler, atFinalisation])
      await untilPhase(harness, booking.id, 'open');
    // As if each request died right after marking its meeting cancelled, 5 minutes before the start.
    const cancelUnheard = async (meeting: { id: string }) =>
      assert.ok(
        await cancelMeetingRow(harness.api.db, meeting.id, {
          now: new Date(startsAt - 5 * MINUTE_MS),
          by: teacher.user.id,
          reason: 'ill',
        }),
      );
    for (const meeting of [first, second]) await cancelUnheard(meeting);
    // Nobody joins a cancelled class, even through a booking still open.
    const join = await harness.api.request('GET', `/api/v1/bookings/${byRequest.id}/join`, {
      token: student.token,
    });
    assert.equal(join.status, 409, join.text);
    assert.match(join.body.error.message, /cancelled/);

    await harness.skipTo(new Date(startsAt + MINUTE_MS));
    const again = await harness.api.request('POST', `/api/v1/meetings/${first.id}/cancel`, {
      token: teacher.token,
      body: {},
    });
    assert.equal(again.status, 200, again.text);
    assert.equal(again.body.bookings[0].status, 'cancelled');
    // The reconciler, before the class's end (waiting on a run below lets time skip to it).
    const [row] = await harness.api.db('bookings').where({ id: byReconciler.id }).select('status');
    assert.equal(row.status, 'open');
    const result = await reconcile();
    assert.ok(result.cancellationsResent >= 1, JSON.stringify(result));
    // The last one's cancel is lost too, and no reconciler comes before its class ends.
    await cancelUnheard(last);

    assert.equal((await settled(harness, byRequest.id)).outcome, 'cancelled_by_teacher');
    const outcome = await settled(harness, byReconciler.id);
    assert.equal(outcome.outcome, 'cancelled_by_teacher');
    assert.deepEqual(outcome.amounts, { refunded: 700, teacher: 0, platform: 0 });
    const found = await settled(harness, atFinalisation.id);
    assert.equal(found.outcome, 'cancelled_by_teacher');
    assert.deepEqual(found.amounts, { refunded: 600, teacher: 0, platform: 0 });
    for (const who of [student, other, third]) {
      assert.deepEqual(await walletOf(harness.api, who.user.id), {
        available: 10_000,
        held: 0,
        total: 10_000,
      });
    }
    await assertAuditClean(harness.api);
  });

  it('when an admin’s meeting cancellation is first seen at the opening, then the booking is cancelled by that admin', async function () {
    requireTimeSkipping(this, harness?.env);
    const { teacher, student } = await cast(harness.api);
    const meeting = await publishSlot(harness, teacher, { startsInMs: 30 * MINUTE_MS, price: 600 });
    const booking = await bookOk(harness, student, meeting.id);
    // As if the admin's request died before reaching the booking, and the reconciler had not run.
    assert.ok(
      await cancelMeetingRow(harness.api.db, meeting.id, {
        now: harness.clock.now(),
        by: admin.user.id,
        reason: 'teacher unreachable',
      }),
    );
    await harness.skipTo(new Date(Date.parse(meeting.startsAt) - 10 * MINUTE_MS));
    const outcome = await settled(harness, booking.id);
    assert.equal(outcome.outcome, 'cancelled_by_admin');
    const row = await harness.api.db('bookings').where({ id: booking.id }).first();
    assert.equal(row.cancelled_by, admin.user.id);
    assert.deepEqual(await walletOf(harness.api, student.user.id), {
      available: 10_000,
      held: 0,
      total: 10_000,
    });
  });

  it('when every settlement and notification step runs again after it committed, then money moves and notifications are recorded once', async () => {
    const { teacher, student } = await cast(harness.api, { referred: true });
    const meeting = await publishSlot(harness, teacher, { price: 1_001 });
    const booking = await bookOk(harness, student, meeting.id);
    // The workflow is left out of it: this test plays the worker whose activities are retried.
    await workflowOf(harness, booking.id).terminate('the test runs the steps itself');
    const steps = activities();
    // Its logger quiet: the refusal below is expected.
    const env = new MockActivityEnvironment({}, { logger: new DefaultLogger('ERROR', () => undefined) });

    for (let i = 0; i < 3; i++) await env.run(steps.openBooking, { bookingId: booking.id });
    assert.equal(await count('notifications', { type: 'class_opening', user_id: student.user.id }), 1);

    const attendance = {
      seconds: 0,
      percent: 0,
      teacherSeconds: 3_600,
      studentIntervals: [],
      teacherIntervals: [],
      eventsDropped: false,
    };
    const review = {
      bookingId: booking.id,
      status: 'requires_manual_review' as const,
      outcome: 'student_no_show' as const,
      attendance,
    };
    for (let i = 0; i < 3; i++) await env.run(steps.recordFinalisation, review);
    assert.equal(
      await count('notifications', {
        type: 'review_required',
        user_id: admin.user.id,
        event_key: `review_required:${booking.id}`,
      }),
      1,
    );
    for (let i = 0; i < 3; i++)
      await env.run(steps.notifyReviewReminder, { bookingId: booking.id, reminder: 1 });
    assert.equal(
      await count('notifications', {
        type: 'review_reminder',
        user_id: admin.user.id,
        event_key: `review_reminder:${booking.id}:1`,
      }),
      1,
    );

    const plan = planSettlement(1_001, 70, 0, 'admin_release');
    const input = { bookingId: booking.id, plan, resolution: { adminId: admin.user.id, note: null } };
    const outcomes: Awaited<ReturnType<typeof steps.settleBooking>>[] = [];
    for (let i = 0; i < 3; i++) outcomes.push(await env.run(steps.settleBooking, input));
    assert.deepEqual(outcomes[1], outcomes[0]);
    assert.deepEqual(outcomes[2], outcomes[0]);
    assert.deepEqual(outcomes[0]!.amounts, { refunded: 0, teacher: 700, platform: 301 });
    assert.equal((await earningsOf(harness.api, teacher.user.id)).available, 700);
    assert.equal(await count('ledger_transfers', { reference_id: booking.id }), 4); // hold, post, share, fee
    assert.equal(await count('notifications', { type: 'payment_released', user_id: teacher.user.id }), 1);
    assert.equal(await count('notifications', { type: 'review_resolved', user_id: student.user.id }), 1);

    // A retry carrying another decision than the one committed is a bug, and says so instead of moving money.
    await assert.rejects(
      env.run(steps.settleBooking, { ...input, plan: planRelease(1_001, 30, 'attended') }),
      /settled differently/,
    );
    assert.equal(await count('ledger_transfers', { reference_id: booking.id }), 4);
    assert.ok(bookingTransferIds(booking.id).hold);
    await assertAuditClean(harness.api);
  });

  it('when a cancellation’s settlement runs again after it committed, then the refund and the freed seat happen once', async () => {
    const { teacher, student } = await cast(harness.api);
    const meeting = await publishSlot(harness, teacher, { price: 1_001, capacity: 2 });
    const booking = await bookOk(harness, student, meeting.id);
    await workflowOf(harness, booking.id).terminate('the test runs the steps itself');
    const steps = activities();
    const env = new MockActivityEnvironment({}, { logger: new DefaultLogger('ERROR', () => undefined) });
    const input = {
      bookingId: booking.id,
      plan: planSettlement(1_001, 30, 50, 'cancelled_late'),
      cancellation: { actorId: student.user.id, reason: null },
    };
    for (let i = 0; i < 3; i++) await env.run(steps.settleBooking, input);
    const seats = await harness.api.request('GET', `/api/v1/meetings/${meeting.id}`, {
      token: teacher.token,
    });
    assert.equal(seats.body.seatsLeft, 2);
    assert.deepEqual(await walletOf(harness.api, student.user.id), {
      available: 9_499,
      held: 0,
      total: 9_499,
    });
    assert.equal(await count('notifications', { type: 'booking_cancelled', user_id: student.user.id }), 1);

    const refunded = await bookOk(harness, (await cast(harness.api)).student, meeting.id);
    await workflowOf(harness, refunded.id).terminate('the test runs the steps itself');
    const refund = {
      bookingId: refunded.id,
      plan: planSettlement(1_001, 30, 100, 'cancelled_by_teacher'),
      cancellation: { actorId: teacher.user.id, reason: null },
    };
    for (let i = 0; i < 3; i++) await env.run(steps.settleBooking, refund);
    assert.equal(await count('ledger_transfers', { reference_id: refunded.id }), 2); // the hold and its void
    await assertAuditClean(harness.api);
  });

  it('when POST /bookings is sent again with its Idempotency-Key, then the first answer comes back and the price is held once; another body is 422', async () => {
    const { teacher, student } = await cast(harness.api);
    const meetings = await Promise.all([1, 2].map(() => publishSlot(harness, teacher, { price: 650 })));
    const key = { 'Idempotency-Key': `book-${randomUUID()}` };
    const first = await book(harness, student, meetings[0]!.id, key);
    assert.equal(first.status, 201, first.text);
    const again = await book(harness, student, meetings[0]!.id, key);
    assert.equal(again.status, 201, again.text);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(again.body, first.body);
    const other = await book(harness, student, meetings[1]!.id, key);
    assert.equal(other.status, 422, other.text);
    assert.equal(other.body.error.code, 'idempotency_key_reused');
    assert.deepEqual(await walletOf(harness.api, student.user.id), {
      available: 9_350,
      held: 650,
      total: 10_000,
    });
  });

  it('when a booking request committed but its answer was lost, then the retry with the same key finds that booking instead of making another', async () => {
    const { teacher, student } = await cast(harness.api);
    const meeting = await publishSlot(harness, teacher, { price: 650 });
    const key = `lost-${randomUUID()}`;
    const first = await book(harness, student, meeting.id, { 'Idempotency-Key': key });
    assert.equal(first.status, 201, first.text);
    // The stored answer is gone (the process died before keeping it, or the key was purged).
    await harness.api.db('idempotency_keys').where({ user_id: student.user.id, key }).delete();
    const retry = await book(harness, student, meeting.id, { 'Idempotency-Key': key });
    assert.equal(retry.status, 201, retry.text);
    assert.equal(retry.body.id, first.body.id);
    assert.equal((await walletOf(harness.api, student.user.id)).held, 650);

    // The same key for another class, once the first answer is gone: the key's, not a booking's, conflict.
    const other = await publishSlot(harness, teacher, { price: 300 });
    await harness.api.db('idempotency_keys').where({ user_id: student.user.id, key }).delete();
    const reused = await book(harness, student, other.id, { 'Idempotency-Key': key });
    assert.equal(reused.status, 422, reused.text);
    assert.equal(reused.body.error.code, 'idempotency_key_reused');
    assert.equal((await walletOf(harness.api, student.user.id)).held, 650);
    assert.equal(await count('bookings', { meeting_id: other.id }), 0);
  });

  it('when a booking waits in review, then support staff find it by BookingStatus in Temporal', async function () {
    requireTimeSkipping(this, harness?.env);
    const { teacher, student } = await cast(harness.api);
    const meeting = await publishSlot(harness, teacher, { price: 500 });
    const booking = await bookOk(harness, student, meeting.id);
    await harness.skipTo(new Date(Date.parse(meeting.endsAt) + 6 * MINUTE_MS));
    await untilPhase(harness, booking.id, 'review');
    const found: string[] = [];
    for await (const run of harness.env.client.workflow.list({
      query: `BookingStatus = "requires_manual_review" AND BookingId = "${booking.id}"`,
    })) {
      found.push(run.workflowId);
    }
    assert.deepEqual(found, [`booking-${booking.id}`]);
    const description = await workflowOf(harness, booking.id).describe();
    assert.equal(description.searchAttributes.TeacherId?.[0], teacher.user.id);
    assert.equal(description.searchAttributes.StudentId?.[0], student.user.id);
  });
});
