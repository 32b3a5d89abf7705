import { strict as assert } from 'node:assert';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { msToTs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { createTimeSkippingEnv, takeStaleActivityCompletions } from '../support/devserver';
import { uniqueQueue, workflowBundle, waitFor } from './helpers';
import {
  sleeper,
  collector,
  activityThenHourTimer,
  timersBesideSleepyActivity,
  quickBesideSleepy,
  retriedAfterAMinute,
  leavesActivityRunning,
  closeSignal,
} from './workflows';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

type IHistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** Real work an activity does (not a wait for the test's sake). */
function work(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('dev server: time skipping (test-server mode)', function () {
  let env: TestWorkflowEnvironment;

  before(async function () {
    env = await createTimeSkippingEnv();
  });

  after(async function () {
    await env?.teardown();
  });

  async function worker(taskQueue: string, activities: object = {}): Promise<Worker> {
    return Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: await workflowBundle(),
      activities,
    });
  }

  function testService() {
    const svc = env.connection.testService;
    if (!svc) throw new Error('the time-skipping environment has a test service');
    return svc;
  }

  function timedOut(events: IHistoryEvent[]): IHistoryEvent[] {
    return events.filter((e) => e.activityTaskTimedOutEventAttributes);
  }

  it('when nothing is awaiting a result, then time is locked and a one-hour timer does not fire by itself', async function () {
    const taskQueue = uniqueQueue();
    const w = await worker(taskQueue);
    await w.runUntil(async () => {
      const startMs = await env.currentTimeMs();
      const handle = await env.client.workflow.start(sleeper, {
        taskQueue,
        workflowId: taskQueue,
        args: [3600_000],
      });
      await waitFor(async () => (await handle.describe()).historyLength >= 5, 'timer started');
      assert.ok((await env.currentTimeMs()) - startMs < 60_000, 'clock did not jump while locked');
      assert.equal((await handle.describe()).status.name, 'RUNNING');
      // Awaiting the result unlocks time skipping; the hour passes at once.
      assert.ok((await handle.result()) >= 3600_000);
    });
  });

  it('when a test sleeps two days of server time, then timers due in between fire', async function () {
    const taskQueue = uniqueQueue();
    const w = await worker(taskQueue);
    await w.runUntil(async () => {
      const handle = await env.client.workflow.start(sleeper, {
        taskQueue,
        workflowId: taskQueue,
        args: [DAY_MS],
      });
      await waitFor(async () => (await handle.describe()).historyLength >= 5, 'timer started');
      const before = await env.currentTimeMs();
      await env.sleep('2 days');
      assert.ok((await env.currentTimeMs()) - before >= 2 * DAY_MS);
      await waitFor(async () => (await handle.describe()).status.name === 'COMPLETED', 'workflow completed');
    });
  });

  it('when a test sleeps while an activity is running, then the clock waits for the activity before it skips ahead', async function () {
    const taskQueue = uniqueQueue();
    const w = await worker(taskQueue, {
      slowStep: async (ms: number) => {
        await work(ms);
        return 'done';
      },
    });
    await w.runUntil(async () => {
      const handle = await env.client.workflow.start(activityThenHourTimer, {
        taskQueue,
        workflowId: taskQueue,
        args: [300],
      });
      const before = await env.currentTimeMs();
      await env.sleep('5 minutes');
      const moved = (await env.currentTimeMs()) - before;
      assert.ok(moved >= 5 * MINUTE_MS, `the clock moved ${moved}ms`);
      assert.ok(moved < HOUR_MS, `the clock stopped before the workflow's hour timer (${moved}ms)`);
      assert.equal((await handle.describe()).status.name, 'RUNNING');
      const events = (await handle.fetchHistory()).events!;
      assert.ok(
        events.some((e) => e.activityTaskCompletedEventAttributes),
        'the activity completed',
      );
      assert.deepEqual(timedOut(events), []);
      assert.ok(
        events.some((e) => e.timerStartedEventAttributes),
        'the workflow went on to its timer',
      );
      await handle.terminate('test over');
    });
  });

  it('when an activity sleeps two days of server time, then the timers due meanwhile fire first, in order', async function () {
    const taskQueue = uniqueQueue();
    const attempts: number[] = [];
    const sleepErrors: unknown[] = [];
    const w = await worker(taskQueue, {
      sleepyStep: async (duration: string) => {
        attempts.push(Context.current().info.attempt);
        await env.sleep(duration).catch((err: unknown) => sleepErrors.push(err));
        return 'activity';
      },
    });
    const before = await env.currentTimeMs();
    const seen = await w.runUntil(
      env.client.workflow.execute(timersBesideSleepyActivity, { taskQueue, workflowId: taskQueue }),
    );
    assert.deepEqual(seen, ['12h timer', '1d timer', 'activity']);
    assert.deepEqual(sleepErrors, []);
    assert.deepEqual(attempts, [1]);
    assert.ok((await env.currentTimeMs()) - before >= 2 * DAY_MS);
  });

  it('when one activity sleeps server time while a quick one runs beside it, then the quick one is never timed out by the jump', async function () {
    const taskQueue = uniqueQueue();
    const quickAttempts: number[] = [];
    const w = await worker(taskQueue, {
      slowStep: async (ms: number) => {
        quickAttempts.push(Context.current().info.attempt);
        await work(ms);
        return 'quick';
      },
      sleepyStep: async (duration: string) => {
        await env.sleep(duration);
        return 'sleepy';
      },
    });
    const handle = await env.client.workflow.start(quickBesideSleepy, {
      taskQueue,
      workflowId: taskQueue,
      args: [300],
    });
    const result = await w.runUntil(handle.result());
    assert.deepEqual(result, ['quick', 'sleepy']);
    assert.deepEqual(quickAttempts, [1]);
    assert.deepEqual(timedOut((await handle.fetchHistory()).events!), []);
  });

  it('when a retrying activity runs under a test sleep, then its retry comes at the retry policy time on the virtual clock', async function () {
    const taskQueue = uniqueQueue();
    const scheduledAt: number[] = [];
    const w = await worker(taskQueue, {
      failFirstAttempt: async (ms: number) => {
        const info = Context.current().info;
        scheduledAt.push(info.currentAttemptScheduledTimestampMs);
        if (info.attempt > 1) return info.attempt;
        await work(ms);
        throw ApplicationFailure.create({ message: 'first attempt fails' });
      },
    });
    await w.runUntil(async () => {
      const handle = await env.client.workflow.start(retriedAfterAMinute, {
        taskQueue,
        workflowId: taskQueue,
        args: [300],
      });
      await env.sleep('5 minutes');
      assert.equal(scheduledAt.length, 2, `attempts scheduled at ${JSON.stringify(scheduledAt)}`);
      const gap = scheduledAt[1]! - scheduledAt[0]!;
      // Initial interval one minute, after an attempt that took 300 ms of real time.
      assert.ok(gap >= MINUTE_MS && gap < MINUTE_MS + 10_000, `retried after ${gap}ms of server time`);
      const events = (await handle.fetchHistory()).events!;
      assert.deepEqual(timedOut(events), []);
      const started = events.find((e) => e.activityTaskStartedEventAttributes)!;
      assert.equal(started.activityTaskStartedEventAttributes!.attempt, 2);
      assert.equal(started.activityTaskStartedEventAttributes!.lastFailure?.message, 'first attempt fails');
      assert.ok(events.some((e) => e.activityTaskCompletedEventAttributes));
      assert.equal((await handle.describe()).status.name, 'RUNNING');
      await handle.terminate('test over');
    });
  });

  it('when a workflow closes while its activity still runs, then the worker warning about the late completion is caught', async function () {
    const taskQueue = uniqueQueue();
    let started!: () => void;
    const activityStarted = new Promise<void>((resolve) => (started = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const w = await worker(taskQueue, {
      heldStep: async () => {
        started();
        await released;
        return 'late';
      },
    });
    const caught: string[] = [];
    await w.runUntil(async () => {
      const handle = await env.client.workflow.start(leavesActivityRunning, {
        taskQueue,
        workflowId: taskQueue,
      });
      await activityStarted;
      await handle.signal(closeSignal);
      assert.equal(await handle.result(), 'closed');
      release();
      await waitFor(async () => {
        caught.push(...takeStaleActivityCompletions());
        return caught.length > 0;
      }, 'the worker warning');
    });
    // Taken here, so this test does not fail on it; any other test would.
    assert.equal(caught.length, 1);
    assert.match(caught[0]!, /Activity not found on completion/);
  });

  it('when sleeping thirty days with nothing else to do, then the call returns promptly with the clock moved', async function () {
    const before = await env.currentTimeMs();
    await env.sleep('30 days');
    assert.ok((await env.currentTimeMs()) - before >= 30 * DAY_MS);
  });

  it('when Sleep (which does not unlock) is called while time is locked, then the clock is not skipped and a pending timer does not fire', async function () {
    const taskQueue = uniqueQueue();
    const w = await worker(taskQueue);
    await w.runUntil(async () => {
      const handle = await env.client.workflow.start(sleeper, {
        taskQueue,
        workflowId: taskQueue,
        args: [HOUR_MS],
      });
      await waitFor(async () => (await handle.describe()).historyLength >= 5, 'timer started');
      const before = await env.currentTimeMs();
      // Two hours of Sleep would take two real hours while locked: the call runs into its deadline.
      await assert.rejects(
        env.connection.withDeadline(Date.now() + 300, () =>
          testService().sleep({ duration: msToTs(2 * HOUR_MS) }),
        ),
        /DEADLINE_EXCEEDED|deadline/i,
      );
      assert.ok((await env.currentTimeMs()) - before < MINUTE_MS, 'the clock ran at real pace');
      const events = (await handle.fetchHistory()).events!;
      assert.ok(!events.some((e) => e.timerFiredEventAttributes), 'the hour timer has not fired');
      await handle.terminate('test over');
    });
  });

  /** The dev server's answer to an unbalanced unlock (the Java server's is UNKNOWN). */
  function unbalanced(err: unknown): boolean {
    const e = err as { code?: number; message?: string };
    return e.code === 9 /* FAILED_PRECONDITION */ && /unbalanced/i.test(e.message ?? '');
  }

  it('when UnlockTimeSkipping is called more often than LockTimeSkipping, then the call fails and the server keeps working', async function () {
    const svc = testService();
    await svc.unlockTimeSkipping({});
    await assert.rejects(svc.unlockTimeSkipping({}), unbalanced);
    await svc.lockTimeSkipping({});
    const taskQueue = uniqueQueue();
    const w = await worker(taskQueue);
    await w.runUntil(async () => {
      const handle = await env.client.workflow.start(collector, { taskQueue, workflowId: taskQueue });
      await handle.signal('done');
      assert.deepEqual(await handle.result(), []);
    });
  });

  it('when UnlockTimeSkippingWithSleep is called with nothing holding a lock, then it is refused and changes nothing', async function () {
    const svc = testService();
    // Read before the unlock: a jump the unlock itself caused must count too.
    const before = await env.currentTimeMs();
    await svc.unlockTimeSkipping({});
    await assert.rejects(svc.unlockTimeSkippingWithSleep({ duration: msToTs(HOUR_MS) }), unbalanced);
    await svc.lockTimeSkipping({});
    assert.ok((await env.currentTimeMs()) - before < MINUTE_MS, 'the clock did not move');
    // The counter is back where it was: a sleep unlocks and relocks as usual.
    await env.sleep('1 hour');
    assert.ok((await env.currentTimeMs()) - before >= HOUR_MS);
  });
});
