// The booking workflow's own branches, with activities the test controls:
// activities that keep failing, a refusal, a cancelled meeting, the policy
// in its input. Every history is replayed on the current code at once, and
// `npm run histories:record` keeps them in test/workflows/histories/, where
// the replay test guards determinism from then on.
import assert from 'node:assert/strict';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import {
  attendanceEventSignal,
  bookingStateQuery,
  cancelBookingUpdate,
  disputeBookingUpdate,
  resolveReviewUpdate,
  type BookingOutcome,
  type BookingWorkflowInput,
} from '../../workflows/shared';
import { ensureSearchAttributes } from '../../platform/search-attributes';
import { eventually } from '../support/bookings';
import { requireTimeSkipping, workflowTestEnv } from '../support/devserver';
import { historyToFile, HISTORIES_DIR } from '../support/histories';
import {
  bookingInput,
  DEFAULT_POLICY,
  fakeActivities,
  fakeWorker,
  present,
  startBooking,
} from './booking-workflow';

const MINUTE_MS = 60_000;
const RECORD = process.env.RECORD_HISTORIES === '1';

describe('booking workflow', () => {
  let env: TestWorkflowEnvironment;
  before(async () => {
    env = await workflowTestEnv();
    await ensureSearchAttributes(env.connection, 'default');
  });
  after(async () => {
    await env?.teardown();
  });

  async function now(): Promise<number> {
    return env.currentTimeMs();
  }

  /** Replays the run's history on the current code; with RECORD_HISTORIES=1 keeps it as `name`. */
  async function replayAndKeep(handle: { workflowId: string; fetchHistory(): Promise<any> }, name: string) {
    const history = await handle.fetchHistory();
    await Worker.runReplayHistory(
      { workflowsPath: require.resolve('../../workflows') },
      history,
      handle.workflowId,
    );
    if (RECORD) historyToFile(history, path.join(HISTORIES_DIR, `${name}.json`));
  }

  async function run(
    input: BookingWorkflowInput,
    activities: ReturnType<typeof fakeActivities>['activities'],
    drive: (handle: ReturnType<TestWorkflowEnvironment['client']['workflow']['getHandle']>) => Promise<void>,
  ) {
    const { worker, taskQueue } = await fakeWorker(env, activities);
    return worker.runUntil(async () => {
      const handle = await startBooking(env, taskQueue, input);
      await drive(handle);
      const outcome = (await handle.result()) as BookingOutcome;
      return { handle, outcome };
    });
  }

  it('when both attend, then it opens, settles once as a release and closes the room', async function () {
    requireTimeSkipping(this, env);
    const { activities, calls } = fakeActivities();
    const input = bookingInput(await now(), { closeRoom: true });
    const { handle, outcome } = await run(input, activities, async () => {
      await env.sleep(2 * 60 * MINUTE_MS);
      await present(env, input, input.teacherId, 0, 60);
      await present(env, input, input.studentId, 0, 60);
    });
    assert.equal(outcome.outcome, 'attended');
    assert.deepEqual(outcome.amounts, { refunded: 0, teacher: 300, platform: 701 });
    assert.equal(calls.openBooking, 1);
    assert.equal(calls.settleBooking, 1);
    assert.equal(calls.closeRoom, 1);
    await replayAndKeep(handle, 'booking-release-v4');
  });

  it('when the teacher’s presence was stored before the booking existed, then the stored events count at finalisation', async function () {
    requireTimeSkipping(this, env);
    const input = bookingInput(await now());
    const { activities, calls } = fakeActivities({
      // The teacher joined before this student booked: the webhook stored it, nobody signalled it.
      finalisationFacts: async () => ({
        events: [
          {
            id: 'stored-join',
            kind: 'participant_joined',
            atMs: Date.parse(input.startsAt) - 10 * MINUTE_MS,
            identity: `user-${input.teacherId}`,
            participantSid: 'PA_t',
          },
          {
            id: 'stored-left',
            kind: 'participant_left',
            atMs: Date.parse(input.endsAt),
            identity: `user-${input.teacherId}`,
            participantSid: 'PA_t',
          },
        ],
      }),
    });
    const { handle, outcome } = await run(input, activities, async () => {
      await env.sleep(2 * 60 * MINUTE_MS);
      await present(env, input, input.studentId, 0, 60);
    });
    assert.equal(outcome.outcome, 'attended');
    assert.equal(calls.finalisationFacts, 1);
    await replayAndKeep(handle, 'booking-stored-events-v5');
  });

  it('when finalisation finds the meeting cancelled before the start and every cancel sent to the booking lost, then it refunds in full as cancelled by whoever cancelled, whatever the attendance', async function () {
    requireTimeSkipping(this, env);
    const input = bookingInput(await now());
    const { activities, calls } = fakeActivities({
      finalisationFacts: async () => ({
        events: [],
        meetingCancelled: { by: 'teacher' as const, actorId: input.teacherId },
      }),
    });
    const { handle, outcome } = await run(input, activities, async () => {
      await env.sleep(2 * 60 * MINUTE_MS);
      await present(env, input, input.studentId, 0, 60);
    });
    assert.equal(outcome.outcome, 'cancelled_by_teacher');
    assert.equal(outcome.status, 'cancelled');
    assert.deepEqual(outcome.amounts, { refunded: 1_001, teacher: 0, platform: 0 });
    assert.equal(calls.settled[0]!.cancellation?.actorId, input.teacherId);
    assert.equal(calls.recordFinalisation, 0);
    await replayAndKeep(handle, 'booking-meeting-cancelled-finalisation-v1');
  });

  it('when the settlement activity keeps failing for a while, then it is retried until it commits, and settles once', async function () {
    requireTimeSkipping(this, env);
    let failures = 0;
    const base = fakeActivities();
    const { activities, calls } = fakeActivities({
      settleBooking: async (input) => {
        if (failures < 4) {
          failures++;
          throw new Error('the database is away');
        }
        return base.activities.settleBooking(input);
      },
    });
    const input = bookingInput(await now());
    const { outcome } = await run(input, activities, async () => {
      await env.sleep(2 * 60 * MINUTE_MS);
      await present(env, input, input.teacherId, 0, 60);
      await present(env, input, input.studentId, 0, 30);
    });
    assert.equal(outcome.settlement, 'released');
    assert.equal(calls.settleBooking, 5);
    assert.equal(base.calls.settled.length, 1);
  });

  it('when mailing keeps failing, then the booking settles as usual, and delivery is given up with the reason after its attempts', async function () {
    requireTimeSkipping(this, env);
    const abandoned: { sourceId: string; reason: string }[] = [];
    const { activities, calls } = fakeActivities({
      deliverNotifications: async () => {
        throw new Error('connect ECONNREFUSED 127.0.0.1:25');
      },
      abandonNotifications: async (input) => {
        abandoned.push(input);
        return 1;
      },
    });
    const input = bookingInput(await now());
    const { outcome } = await run(input, activities, async () => {
      await env.sleep(2 * 60 * MINUTE_MS);
      await present(env, input, input.teacherId, 0, 60);
      await present(env, input, input.studentId, 0, 60);
    });
    assert.equal(outcome.settlement, 'released');
    assert.equal(calls.settleBooking, 1);
    // Each round (the confirmation, the opening, the settlement) ran its ten attempts, one round at a time.
    assert.equal(calls.deliverNotifications, 30);
    assert.deepEqual(
      abandoned.map((a) => a.sourceId),
      [input.bookingId, input.bookingId, input.bookingId],
    );
    assert.ok(abandoned.every((a) => a.reason === 'connect ECONNREFUSED 127.0.0.1:25'));
  });

  it('when a long review tells many admins (each reminder taking several delivery rounds), then the decision is still mailed and nothing is given up', async function () {
    requireTimeSkipping(this, env);
    let deliveries = 0;
    let deliveriesAfterSettlement = 0;
    let settled = false;
    const abandoned: string[] = [];
    const base = fakeActivities();
    const { activities, calls } = fakeActivities({
      // Every request needs four attempts' worth of emails (an attempt sends at most 50).
      deliverNotifications: async () => {
        deliveries++;
        if (settled) deliveriesAfterSettlement++;
        return { sent: 50, more: deliveries % 4 !== 0 };
      },
      abandonNotifications: async (input) => {
        abandoned.push(input.reason);
        return 0;
      },
      settleBooking: async (input) => {
        settled = true;
        return base.activities.settleBooking(input);
      },
    });
    const input = bookingInput(await now(), { policy: { ...DEFAULT_POLICY, reviewReminderHours: 1 } });
    const { handle, outcome } = await run(input, activities, async (h) => {
      // Nobody comes; the review then waits through its 60 hourly reminders.
      await env.sleep(Date.parse(input.endsAt) + 6 * MINUTE_MS + 61 * 60 * MINUTE_MS - (await now()));
      assert.equal((await h.query(bookingStateQuery)).phase, 'review');
      await h.executeUpdate(resolveReviewUpdate, {
        args: [{ adminId: 'admin-1', review: { decision: 'refund' } }],
      });
    });
    assert.equal(outcome.outcome, 'admin_refund');
    assert.equal(calls.notifyReviewReminder, 60);
    assert.ok(deliveries > 200, `${deliveries} rounds`);
    assert.ok(deliveriesAfterSettlement > 0, 'the decision was never mailed');
    assert.deepEqual(abandoned, []);
    await Worker.runReplayHistory(
      { workflowsPath: require.resolve('../../workflows') },
      await handle.fetchHistory(),
      handle.workflowId,
    );
  });

  it('when closing the LiveKit room is refused, then the booking still settles', async function () {
    requireTimeSkipping(this, env);
    const { activities, calls } = fakeActivities({
      closeRoom: async () => {
        throw ApplicationFailure.nonRetryable('room service says no', 'livekit_refused');
      },
    });
    const input = bookingInput(await now(), { closeRoom: true });
    const { outcome } = await run(input, activities, async () => {
      await env.sleep(2 * 60 * MINUTE_MS);
      await present(env, input, input.teacherId, 0, 60);
      await present(env, input, input.studentId, 0, 5);
    });
    assert.equal(outcome.outcome, 'low_attendance');
    assert.equal(outcome.settlement, 'refunded');
    assert.equal(calls.closeRoom, 1);
  });

  it('when the class opens on a meeting cancelled while its cancel was lost, then it is refunded in full as cancelled by the teacher', async function () {
    requireTimeSkipping(this, env);
    const { activities, calls } = fakeActivities({ openBooking: async () => ({ meetingCancelled: true }) });
    const input = bookingInput(await now());
    const { handle, outcome } = await run(input, activities, async () => undefined);
    assert.equal(outcome.outcome, 'cancelled_by_teacher');
    assert.equal(outcome.status, 'cancelled');
    assert.equal(calls.settled[0]!.cancellation?.actorId, input.teacherId);
    await replayAndKeep(handle, 'booking-meeting-cancelled-v3');
  });

  it('when the class opens on a meeting an admin cancelled while its cancel was lost, then it is refunded in full as cancelled by that admin', async function () {
    requireTimeSkipping(this, env);
    const { activities, calls } = fakeActivities({
      openBooking: async () => ({ meetingCancelled: true, cancelledBy: { by: 'admin', actorId: 'admin-1' } }),
    });
    const { handle, outcome } = await run(bookingInput(await now()), activities, async () => undefined);
    assert.equal(outcome.outcome, 'cancelled_by_admin');
    assert.deepEqual(outcome.amounts, { refunded: 1_001, teacher: 0, platform: 0 });
    assert.equal(calls.settled[0]!.cancellation?.actorId, 'admin-1');
    await replayAndKeep(handle, 'booking-meeting-cancelled-v4');
  });

  it('when a meeting’s cancellation committed before the start reaches the open booking after it, then it is judged when it was committed and refunds in full; a teacher’s own cancel after the start is refused', async function () {
    requireTimeSkipping(this, env);
    const { activities } = fakeActivities();
    const input = bookingInput(await now(), { startsInMs: 30 * MINUTE_MS });
    const startsAtMs = Date.parse(input.startsAt);
    const { handle, outcome } = await run(input, activities, async (h) => {
      await env.sleep(startsAtMs + MINUTE_MS - (await now()));
      assert.equal((await h.query(bookingStateQuery)).phase, 'open');
      await assert.rejects(
        h.executeUpdate(cancelBookingUpdate, { args: [{ by: 'teacher', actorId: input.teacherId }] }),
        (error: Error) => (error.cause as ApplicationFailure | undefined)?.type === 'not_cancellable',
      );
      const answered = await h.executeUpdate(cancelBookingUpdate, {
        args: [
          {
            by: 'teacher',
            actorId: input.teacherId,
            reason: 'meeting cancelled',
            meetingCancelledAt: new Date(startsAtMs - 5 * MINUTE_MS).toISOString(),
          },
        ],
      });
      assert.equal(answered.outcome, 'cancelled_by_teacher');
    });
    assert.deepEqual(outcome.amounts, { refunded: 1_001, teacher: 0, platform: 0 });
    await replayAndKeep(handle, 'booking-meeting-cancel-late-v1');
  });

  it('when the policy in its input differs from the defaults, then the booking is judged by its input', async function () {
    requireTimeSkipping(this, env);
    const { activities } = fakeActivities();
    // 30% attendance: released under the default 20%, refunded under this booking's 50%.
    const input = bookingInput(await now(), {
      policy: { ...DEFAULT_POLICY, attendanceReleasePercent: 50, teacherSharePercent: 70 },
    });
    const { outcome } = await run(input, activities, async () => {
      await env.sleep(2 * 60 * MINUTE_MS);
      await present(env, input, input.teacherId, 0, 60);
      await present(env, input, input.studentId, 0, 18);
    });
    assert.equal(outcome.outcome, 'low_attendance');
  });

  it('when a room_finished stamped after the end arrives before the end, then the class is finalised at the scheduled end, not earlier', async function () {
    requireTimeSkipping(this, env);
    const { activities } = fakeActivities();
    const input = bookingInput(await now());
    const endsAtMs = Date.parse(input.endsAt);
    const { handle, outcome } = await run(input, activities, async (h) => {
      await env.sleep(2 * 60 * MINUTE_MS);
      await present(env, input, input.teacherId, 0, 60);
      await present(env, input, input.studentId, 0, 60);
      await h.signal(attendanceEventSignal, {
        id: 'early-finish',
        kind: 'room_finished',
        atMs: endsAtMs + MINUTE_MS,
      });
      assert.equal((await h.query(bookingStateQuery)).phase, 'open');
    });
    assert.equal(outcome.outcome, 'attended');
    const closed = (await handle.describe()).closeTime!.getTime();
    assert.ok(
      closed >= endsAtMs && closed < endsAtMs + 5 * MINUTE_MS,
      `closed at ${new Date(closed).toISOString()}`,
    );
  });

  it('when the student cancels late, then the fee is split like a release and the update answers with the outcome', async () => {
    const { activities, calls } = fakeActivities();
    const input = bookingInput(await now(), { startsInMs: 3 * 60 * MINUTE_MS });
    let answered: BookingOutcome | undefined;
    const { handle, outcome } = await run(input, activities, async (h) => {
      answered = await h.executeUpdate(cancelBookingUpdate, {
        args: [{ by: 'student', actorId: input.studentId }],
      });
    });
    assert.deepEqual(answered, outcome);
    assert.equal(outcome.outcome, 'cancelled_late');
    assert.deepEqual(outcome.amounts, { refunded: 500, teacher: 150, platform: 351 });
    assert.equal(calls.openBooking, 0);
    await replayAndKeep(handle, 'booking-cancel-v3');
  });

  it('when a late cancel carries the early terms the student was shown, then it is refused (terms_changed) with nothing changed; carried with the late terms, it settles late', async () => {
    const { activities, calls } = fakeActivities();
    const input = bookingInput(await now(), { startsInMs: 3 * 60 * MINUTE_MS });
    let answered: BookingOutcome | undefined;
    const { handle, outcome } = await run(input, activities, async (h) => {
      await assert.rejects(
        h.executeUpdate(cancelBookingUpdate, {
          args: [{ by: 'student', actorId: input.studentId, expectedOutcome: 'cancelled_early' }],
        }),
        (error: Error) => (error.cause as ApplicationFailure | undefined)?.type === 'terms_changed',
      );
      assert.equal((await h.query(bookingStateQuery)).phase, 'scheduled');
      answered = await h.executeUpdate(cancelBookingUpdate, {
        args: [{ by: 'student', actorId: input.studentId, expectedOutcome: 'cancelled_late' }],
      });
    });
    assert.deepEqual(answered, outcome);
    assert.equal(outcome.outcome, 'cancelled_late');
    assert.deepEqual(outcome.amounts, { refunded: 500, teacher: 150, platform: 351 });
    assert.equal(calls.openBooking, 0);
    await replayAndKeep(handle, 'booking-cancel-terms-v1');
  });

  it('when the terms became better than the ones shown (the teacher cancels the meeting meanwhile), then the cancel goes through on the better terms', async () => {
    const { activities } = fakeActivities();
    const input = bookingInput(await now(), { startsInMs: 3 * 60 * MINUTE_MS });
    const { outcome } = await run(input, activities, async (h) => {
      await h.executeUpdate(cancelBookingUpdate, {
        args: [{ by: 'teacher', actorId: input.teacherId, expectedOutcome: 'cancelled_late' }],
      });
    });
    assert.equal(outcome.outcome, 'cancelled_by_teacher');
    assert.deepEqual(outcome.amounts, { refunded: 1_001, teacher: 0, platform: 0 });
  });

  it('when nobody comes, then it waits in review, reminds admins, and settles as the admin decides; a second decision is refused', async function () {
    requireTimeSkipping(this, env);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const base = fakeActivities();
    const { activities, calls } = fakeActivities({
      // The settlement holds until the test has tried a second decision.
      settleBooking: async (input) => {
        await gate;
        return base.activities.settleBooking(input);
      },
    });
    const input = bookingInput(await now());
    const { handle, outcome } = await run(input, activities, async (h) => {
      await env.sleep(2 * 60 * MINUTE_MS + 6 * MINUTE_MS + 49 * 60 * MINUTE_MS);
      const state = await h.query(bookingStateQuery);
      assert.equal(state.phase, 'review');
      // A decision that could not be carried out (sent past the API's checks) is refused, not taken.
      for (const review of [
        { decision: 'partial', refundPercent: 150 },
        { decision: 'partial', refundPercent: 12.5 },
        { decision: 'partial' },
        { decision: 'keep' },
      ]) {
        await assert.rejects(
          h.executeUpdate(resolveReviewUpdate, { args: [{ adminId: 'admin-0', review: review as never }] }),
          (error: Error) => (error.cause as ApplicationFailure | undefined)?.type === 'invalid_decision',
        );
      }
      assert.equal((await h.query(bookingStateQuery)).phase, 'review');
      const first = h.executeUpdate(resolveReviewUpdate, {
        args: [{ adminId: 'admin-1', review: { decision: 'partial', refundPercent: 40 } }],
      });
      await eventually(async () => (calls.settleBooking === 1 ? true : undefined), 'the settlement to start');
      await assert.rejects(
        h.executeUpdate(resolveReviewUpdate, {
          args: [{ adminId: 'admin-2', review: { decision: 'refund' } }],
        }),
        (error: Error) => (error.cause as ApplicationFailure | undefined)?.type === 'already_resolved',
      );
      release();
      assert.equal((await first).outcome, 'admin_partial');
    });
    assert.equal(outcome.settlement, 'partially_refunded');
    assert.deepEqual(outcome.amounts, { refunded: 400, teacher: 180, platform: 421 });
    assert.equal(calls.recordFinalisation, 1);
    assert.equal(calls.notifyReviewReminder, 2);
    await replayAndKeep(handle, 'booking-review-v4');
  });

  describe('a run started to take over a judged booking (its earlier run stopped)', () => {
    const HOUR_MS = 60 * MINUTE_MS;

    it('when it takes over a review, then it waits for the admin without opening or judging the class again, reminds admins from the next reminder on, and settles as decided', async function () {
      requireTimeSkipping(this, env);
      const reminders: number[] = [];
      const { activities, calls } = fakeActivities({
        notifyReviewReminder: async ({ reminder }) => {
          reminders.push(reminder);
        },
      });
      const reminderMs = DEFAULT_POLICY.reviewReminderHours * HOUR_MS;
      const start = await now();
      // In review for two and a half reminder periods: the stopped run had sent reminders 1 and 2.
      const since = new Date(start - 2.5 * reminderMs).toISOString();
      const input = bookingInput(start, { startsInMs: -3 * HOUR_MS, resume: { phase: 'review', since } });
      const { handle, outcome } = await run(input, activities, async (h) => {
        await eventually(
          async () => ((await h.query(bookingStateQuery)).phase === 'review' ? true : undefined),
          'the review taken over',
        );
        await env.sleep(reminderMs + MINUTE_MS);
        await eventually(async () => (reminders.length === 1 ? true : undefined), 'a reminder');
        const decided = await h.executeUpdate(resolveReviewUpdate, {
          args: [{ adminId: 'admin-1', review: { decision: 'refund' } }],
        });
        assert.equal(decided.outcome, 'admin_refund');
      });
      assert.equal(outcome.settlement, 'refunded');
      assert.deepEqual(outcome.amounts, { refunded: 1_001, teacher: 0, platform: 0 });
      assert.equal(calls.openBooking, 0);
      assert.equal(calls.finalisationFacts, 0);
      assert.equal(calls.recordFinalisation, 0);
      assert.equal(calls.settleBooking, 1);
      assert.deepEqual(reminders, [3]);
      await replayAndKeep(handle, 'booking-resumed-review-v1');
    });

    it('when it takes over a dispute window and nobody disputes, then it releases when the window closes: the whole window after the finalisation was recorded, and a margin', async function () {
      requireTimeSkipping(this, env);
      const { activities, calls } = fakeActivities();
      const policy = { ...DEFAULT_POLICY, disputeWindowHours: 24 };
      // Finalised late (its worker was away when the class ended): recorded an hour ago.
      const start = await now();
      const since = new Date(start - HOUR_MS).toISOString();
      const input = bookingInput(start, {
        startsInMs: -3 * HOUR_MS,
        policy,
        resume: { phase: 'dispute_window', outcome: 'attended', since },
      });
      const closesAtMs = Date.parse(since) + 24 * HOUR_MS + HOUR_MS;
      const { handle, outcome } = await run(input, activities, async (h) => {
        const state = await h.query(bookingStateQuery);
        assert.equal(state.phase, 'dispute_window');
        assert.equal(state.nextDeadline, new Date(closesAtMs).toISOString());
      });
      assert.deepEqual(
        [outcome.status, outcome.settlement, outcome.outcome],
        ['completed', 'released', 'attended'],
      );
      assert.equal(calls.openBooking, 0);
      assert.equal(calls.settled.length, 1);
      assert.equal(calls.settled[0]!.attendance, undefined, 'the attendance recorded before stands');
      assert.ok((await now()) >= closesAtMs);
      await replayAndKeep(handle, 'booking-resumed-dispute-window-v1');
    });

    it('when it takes over a dispute window and the student disputes, then the review is recorded with the attendance kept, and waits for an admin', async function () {
      requireTimeSkipping(this, env);
      const recorded: unknown[] = [];
      const { activities } = fakeActivities({
        recordFinalisation: async (finalisation) => {
          recorded.push(finalisation);
        },
      });
      const input = bookingInput(await now(), {
        startsInMs: -3 * HOUR_MS,
        policy: { ...DEFAULT_POLICY, disputeWindowHours: 24 },
        resume: { phase: 'dispute_window', outcome: 'attended', since: new Date(await now()).toISOString() },
      });
      const { outcome } = await run(input, activities, async (h) => {
        await eventually(
          async () => ((await h.query(bookingStateQuery)).phase === 'dispute_window' ? true : undefined),
          'the window taken over',
        );
        const state = await h.executeUpdate(disputeBookingUpdate, {
          args: [{ studentId: input.studentId, reason: 'the class ended early' }],
        });
        assert.equal(state.phase, 'review');
        await h.executeUpdate(resolveReviewUpdate, {
          args: [{ adminId: 'admin-1', review: { decision: 'release' } }],
        });
      });
      assert.deepEqual(recorded, [
        {
          bookingId: input.bookingId,
          status: 'requires_manual_review',
          outcome: 'disputed',
          dispute: { reason: 'the class ended early' },
        },
      ]);
      assert.equal(outcome.outcome, 'admin_release');
    });
  });
});
