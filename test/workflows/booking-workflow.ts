// The booking workflow alone, with its activities replaced by functions the
// test controls (as the SDK documents for failure branches): a worker on the
// real workflow bundle, a time-skipping server, and recorded calls.
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { BookingActivities as StepActivities, SettleInput } from '../../activities/bookings';
import type { NotificationActivities } from '../../activities/notifications';
import { bookingPolicy } from '../../bookings/policy';
import { loadSettings } from '../../config/settings';
import type { BookingPolicy } from '../../domain/booking';
import { appWorkersOn, type AppWorkers } from '../support/workers';
import {
  attendanceEventSignal,
  BOOKING_WORKFLOW_TYPE,
  bookingWorkflowId,
  type BookingOutcome,
  type BookingWorkflowInput,
} from '../../workflows/shared';

/** What the booking workflow calls: its steps, and the mailing of its notifications. */
export type BookingActivities = StepActivities & NotificationActivities;

/** The policy a booking gets with the default configuration (referral not applied). */
export const DEFAULT_POLICY: BookingPolicy = bookingPolicy(loadSettings({}), false);

const MINUTE_MS = 60_000;

/** A booking input for a class starting `startsInMs` from `nowMs`, 60 minutes long. */
export function bookingInput(
  nowMs: number,
  overrides: Partial<BookingWorkflowInput> & { startsInMs?: number } = {},
): BookingWorkflowInput {
  const { startsInMs, ...rest } = overrides;
  const startsAt = Math.ceil((nowMs + (startsInMs ?? 2 * 60 * MINUTE_MS)) / MINUTE_MS) * MINUTE_MS;
  return {
    bookingId: randomUUID(),
    meetingId: randomUUID(),
    studentId: randomUUID(),
    teacherId: randomUUID(),
    price: 1_001,
    startsAt: new Date(startsAt).toISOString(),
    endsAt: new Date(startsAt + 60 * MINUTE_MS).toISOString(),
    policy: DEFAULT_POLICY,
    closeRoom: false,
    ...rest,
  };
}

export type Calls = Record<keyof BookingActivities, number> & { settled: SettleInput[] };

/** Activities that record their calls and settle as told; any may be replaced. */
export function fakeActivities(overrides: Partial<BookingActivities> = {}): {
  activities: BookingActivities;
  calls: Calls;
} {
  const calls: Calls = {
    openBooking: 0,
    settleBooking: 0,
    recordFinalisation: 0,
    notifyReviewReminder: 0,
    storedPresenceEvents: 0,
    finalisationFacts: 0,
    closeRoom: 0,
    deliverNotifications: 0,
    abandonNotifications: 0,
    settled: [],
  };
  const base: BookingActivities = {
    openBooking: async () => ({ meetingCancelled: false }),
    settleBooking: async (input) => {
      calls.settled.push(input);
      return {
        bookingId: input.bookingId,
        status: input.cancellation === undefined ? 'completed' : 'cancelled',
        settlement: input.plan.settlement,
        outcome: input.plan.outcome,
        amounts: {
          refunded: input.plan.amounts.refund,
          teacher: input.plan.amounts.teacher,
          platform: input.plan.amounts.platform,
        },
      } satisfies BookingOutcome;
    },
    recordFinalisation: async () => undefined,
    notifyReviewReminder: async () => undefined,
    storedPresenceEvents: async () => [],
    finalisationFacts: async () => ({ events: [] }),
    closeRoom: async () => undefined,
    deliverNotifications: async () => ({ sent: 0, more: false }),
    abandonNotifications: async () => 0,
  };
  const merged = { ...base, ...overrides } as Record<
    keyof BookingActivities,
    (...args: never[]) => Promise<unknown>
  >;
  const activities = Object.fromEntries(
    (Object.keys(merged) as (keyof BookingActivities)[]).map((name) => [
      name,
      (...args: never[]) => {
        calls[name]++;
        return merged[name](...args);
      },
    ]),
  ) as unknown as BookingActivities;
  return { activities, calls };
}

export async function fakeWorker(
  env: TestWorkflowEnvironment,
  activities: BookingActivities,
): Promise<{ worker: AppWorkers; taskQueue: string }> {
  const taskQueue = `booking-wf-${randomUUID()}`;
  return { worker: await appWorkersOn(env, taskQueue, activities), taskQueue };
}

export function startBooking(env: TestWorkflowEnvironment, taskQueue: string, input: BookingWorkflowInput) {
  return env.client.workflow.start(BOOKING_WORKFLOW_TYPE, {
    workflowId: bookingWorkflowId(input.bookingId),
    taskQueue,
    args: [input],
  });
}

/** Signals a whole presence of `identityUserId` from `fromMin` to `toMin` minutes into the class. */
export async function present(
  env: TestWorkflowEnvironment,
  input: BookingWorkflowInput,
  userId: string,
  fromMin: number,
  toMin: number,
): Promise<void> {
  const handle = env.client.workflow.getHandle(bookingWorkflowId(input.bookingId));
  const start = Date.parse(input.startsAt);
  const sid = `PA_${randomUUID()}`;
  await handle.signal(attendanceEventSignal, {
    id: randomUUID(),
    kind: 'participant_joined',
    atMs: start + fromMin * MINUTE_MS,
    identity: `user-${userId}`,
    participantSid: sid,
  });
  await handle.signal(attendanceEventSignal, {
    id: randomUUID(),
    kind: 'participant_left',
    atMs: start + toMin * MINUTE_MS,
    identity: `user-${userId}`,
    participantSid: sid,
  });
}
