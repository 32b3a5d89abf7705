// The whole booking path under test: the real API (over the test database),
// a real worker with the app's workflows and activities, and the dev server
// in time-skipping mode. The API's clock follows the server's virtual clock,
// so "the class has started" means the same thing to both. LiveKit webhooks
// are signed as LiveKit signs them.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type pino from 'pino';
import type { Activities, ActivityDeps } from '../../activities';
import type { Clock } from '../../domain/clock';
import { auditLedger, formatAuditReport } from '../../ledger/audit';
import { getBalance, ownerView, systemAccountId, userAccountId } from '../../ledger/accounts';
import { createTransfers } from '../../ledger/transfers';
import { ensureSearchAttributes } from '../../platform/search-attributes';
import { insertUser } from '../../users/repository';
import { openWallet } from '../../wallet/wallet-account';
import {
  bookingStateQuery,
  bookingWorkflowId,
  type BookingOutcome,
  type BookingState,
} from '../../workflows/shared';
import { depositTo, register, startTestApi, type ApiResponse, type Session, type TestApi } from './api';
import { TEST_CURRENCY } from './db';
import { workflowTestEnv } from './devserver';
import { participantEvent, roomFinishedEvent, signWebhook } from './livekit';
import { appWorker, type AppWorkers } from './workers';

const MINUTE_MS = 60_000;

/** Real time plus the offset the time-skipping server's clock has gained. */
export class VirtualClock implements Clock {
  private offsetMs = 0;

  constructor(private readonly env: TestWorkflowEnvironment) {}

  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }

  async sync(): Promise<void> {
    this.offsetMs = (await this.env.currentTimeMs()) - Date.now();
  }
}

export interface BookingHarness {
  env: TestWorkflowEnvironment;
  api: TestApi;
  clock: VirtualClock;
  /** The in-process workers (undefined when the test runs its own, in another process). */
  worker: AppWorkers | undefined;
  taskQueue: string;
  /** Moves the virtual clock forward (timers due meanwhile fire), then the API's clock with it. */
  skip(ms: number): Promise<void>;
  /** Until the virtual clock reads `at`. */
  skipTo(at: Date): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts the harness; `settings` are the service's environment (policy
 * values, say). The worker polls the task queue the API starts workflows on.
 */
export async function startBookingHarness(
  settings: Record<string, string> = {},
  options: {
    activities?: Partial<ActivityDeps>;
    wrapActivities?: (activities: Activities) => Activities;
    inProcessWorker?: boolean;
    sockets?: boolean;
    /** The API's logger (the activities' is `activities.logger`). */
    logger?: pino.Logger;
  } = {},
): Promise<BookingHarness> {
  const env = await workflowTestEnv();
  await ensureSearchAttributes(env.connection, 'default');
  const clock = new VirtualClock(env);
  await clock.sync();
  const taskQueue = `bookings-${randomUUID()}`;
  const api = await startTestApi(
    { TEMPORAL_TASK_QUEUE: taskQueue, ...settings },
    {
      temporal: { client: env.client, connection: env.connection },
      clock,
      sockets: options.sockets === true,
      ...(options.logger === undefined ? {} : { logger: options.logger }),
    },
  );
  const worker =
    options.inProcessWorker === false
      ? undefined
      : (
          await appWorker(env, api.db, {
            taskQueue,
            ...(options.activities === undefined ? {} : { activities: options.activities }),
            ...(options.wrapActivities === undefined ? {} : { wrap: options.wrapActivities }),
          })
        ).worker;
  const running = worker?.run();
  const harness: BookingHarness = {
    env,
    api,
    clock,
    worker,
    taskQueue,
    async skip(ms) {
      // A real server would sleep the real time: such tests call requireTimeSkipping first.
      if (!env.supportsTimeSkipping)
        throw new Error('this test skips time: call requireTimeSkipping(this) first');
      await env.sleep(ms);
      await clock.sync();
    },
    async skipTo(at) {
      const remaining = at.getTime() - clock.now().getTime();
      if (remaining > 0) await harness.skip(remaining);
    },
    async close() {
      worker?.shutdown();
      await running;
      await api.close();
      await env.teardown();
    },
  };
  return harness;
}

/** Polls `check` until it holds (each attempt a real round trip; bounded). */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  what: string,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, Math.min(200, 10 * 2 ** attempt)));
  }
}

// ---- the people and their money --------------------------------------------------

export interface Cast {
  teacher: Session;
  student: Session;
  admin?: Session;
}

/** A teacher and a student (referred by that teacher, or not) with `funds` in the wallet. */
export async function cast(
  api: TestApi,
  options: { referred?: boolean; funds?: number } = {},
): Promise<Cast> {
  const teacher = await register(api, 'teacher');
  const student = await register(
    api,
    'student',
    options.referred === true ? { referralCode: teacher.user.referralCode! } : {},
  );
  if ((options.funds ?? 10_000) > 0) await depositTo(api, student, options.funds ?? 10_000);
  return { teacher, student };
}

export async function publishSlot(
  harness: BookingHarness,
  teacher: Session,
  slot: { startsInMs?: number; durationMinutes?: number; price?: number; capacity?: number } = {},
): Promise<{ id: string; startsAt: string; endsAt: string; price: number }> {
  // On a whole minute, as classes are (LiveKit's event times are whole seconds).
  const startsAtMs =
    Math.ceil((harness.clock.now().getTime() + (slot.startsInMs ?? 2 * 24 * 60 * MINUTE_MS)) / MINUTE_MS) *
    MINUTE_MS;
  const response = await harness.api.request('POST', '/api/v1/teachers/me/slots', {
    token: teacher.token,
    body: {
      startsAt: new Date(startsAtMs).toISOString(),
      durationMinutes: slot.durationMinutes ?? 60,
      price: slot.price ?? 1_000,
      ...(slot.capacity === undefined ? {} : { capacity: slot.capacity }),
      title: 'Test class',
    },
  });
  assert.equal(response.status, 201, response.text);
  return response.body;
}

export async function book(
  harness: BookingHarness,
  student: Session,
  meetingId: string,
  headers: Record<string, string> = {},
): Promise<ApiResponse> {
  return harness.api.request('POST', '/api/v1/bookings', {
    token: student.token,
    body: { meetingId },
    headers,
  });
}

export async function bookOk(harness: BookingHarness, student: Session, meetingId: string): Promise<any> {
  const response = await book(harness, student, meetingId);
  assert.equal(response.status, 201, response.text);
  return response.body;
}

/** The booking workflow's handle. */
export function workflowOf(harness: BookingHarness, bookingId: string) {
  return harness.env.client.workflow.getHandle(bookingWorkflowId(bookingId));
}

/**
 * Terminates the booking's run, as support staff would, once it is idle: no
 * workflow task (which could schedule an activity) and no activity running. An
 * activity completing after its run closed would be reported by the dev server
 * as not found (and fail a time-skipping test).
 */
export async function terminateWhenIdle(harness: BookingHarness, bookingId: string): Promise<void> {
  const handle = workflowOf(harness, bookingId);
  await eventually(async () => {
    const { raw } = await handle.describe();
    const idle = (raw.pendingActivities?.length ?? 0) === 0 && !raw.pendingWorkflowTask;
    return idle ? true : undefined;
  }, `booking ${bookingId} idle`);
  await handle.terminate('support staff');
}

export async function bookingState(harness: BookingHarness, bookingId: string): Promise<BookingState> {
  return workflowOf(harness, bookingId).query(bookingStateQuery);
}

/** Until the workflow is in `phase` (the steps around a timer take real time). */
export async function untilPhase(
  harness: BookingHarness,
  bookingId: string,
  phase: BookingState['phase'],
): Promise<BookingState> {
  return eventually(async () => {
    const state = await bookingState(harness, bookingId);
    return state.phase === phase ? state : undefined;
  }, `booking ${bookingId} in phase ${phase}`);
}

/** Waits for the booking's workflow to finish (time skips meanwhile) and answers its outcome. */
export async function settled(harness: BookingHarness, bookingId: string): Promise<BookingOutcome> {
  const outcome = (await workflowOf(harness, bookingId).result()) as BookingOutcome;
  await harness.clock.sync();
  return outcome;
}

// ---- LiveKit -------------------------------------------------------------------------

export async function sendWebhook(
  harness: BookingHarness,
  event: Record<string, unknown>,
): Promise<ApiResponse> {
  const signed = await signWebhook(event);
  return harness.api.request('POST', '/api/v1/webhooks/livekit', {
    rawBody: signed.body,
    headers: { 'Content-Type': 'application/webhook+json', Authorization: signed.authorization },
  });
}

/** One person present in the class from `fromMin` to `toMin` minutes after its start (one connection). */
export async function attend(
  harness: BookingHarness,
  meeting: { id: string; startsAt: string },
  userId: string,
  fromMin: number,
  toMin: number | null,
): Promise<void> {
  const start = Date.parse(meeting.startsAt);
  const sid = `PA_${randomUUID().slice(0, 8)}`;
  const joined = await sendWebhook(
    harness,
    participantEvent('participant_joined', {
      meetingId: meeting.id,
      userId,
      atMs: start + fromMin * MINUTE_MS,
      sid,
    }),
  );
  assert.equal(joined.status, 200, joined.text);
  if (toMin === null) return;
  const left = await sendWebhook(
    harness,
    participantEvent('participant_left', {
      meetingId: meeting.id,
      userId,
      atMs: start + toMin * MINUTE_MS,
      sid,
    }),
  );
  assert.equal(left.status, 200, left.text);
}

export async function finishRoom(
  harness: BookingHarness,
  meeting: { id: string; endsAt: string },
): Promise<void> {
  const response = await sendWebhook(
    harness,
    roomFinishedEvent({ meetingId: meeting.id, atMs: Date.parse(meeting.endsAt) }),
  );
  assert.equal(response.status, 200, response.text);
}

// ---- money -------------------------------------------------------------------------

export async function walletOf(api: TestApi, userId: string) {
  return ownerView(await getBalance(api.db, userAccountId(userId, 'wallet')));
}

export async function earningsOf(api: TestApi, teacherId: string) {
  return ownerView(await getBalance(api.db, userAccountId(teacherId, 'earnings')));
}

export async function platformRevenue(api: TestApi): Promise<number> {
  const balance = await getBalance(api.db, systemAccountId('platform_revenue', TEST_CURRENCY));
  return balance.creditsPosted - balance.debitsPosted;
}

export async function assertAuditClean(api: TestApi): Promise<void> {
  const report = await auditLedger(api.db);
  assert.ok(report.ok, formatAuditReport(report));
}

/** Students made straight in the database (registration's password hashing would dominate), each funded. */
export async function fundedStudents(api: TestApi, count: number, funds: number): Promise<Session[]> {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const user = await insertUser(api.db, {
        email: `student-${randomUUID()}@test.example`,
        passwordHash: 'not-a-real-hash',
        name: 'Fast student',
        role: 'student',
        referralCode: null,
        referredByTeacherId: null,
      });
      const wallet = await openWallet(api.db, user, TEST_CURRENCY);
      const funded = await createTransfers(api.db, [
        {
          id: randomUUID(),
          kind: 'posted',
          debitAccountId: systemAccountId('external', TEST_CURRENCY),
          creditAccountId: wallet,
          amount: funds,
          code: 'deposit',
        },
      ]);
      assert.equal(funded.status, 'created');
      return {
        user: { id: user.id, email: user.email, role: 'student' as const, referralCode: null },
        token: await api.tokens.sign({ userId: user.id, role: 'student' }),
      };
    }),
  );
}
