import { strict as assert } from 'node:assert';
import { Context, CompleteAsyncError } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { ActivityNotFoundError } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { msToTs } from '@temporalio/common/lib/time';
import { sharedServer, uniqueQueue, withWorker, waitFor } from './helpers';
import { createTimeSkippingEnv } from '../support/devserver';
import {
  runHourlyBackoff,
  runFlaky,
  runDelayedRetry,
  timeoutProbe,
  runHeartbeater,
  cancelActivity,
  runExternal,
} from './workflows';

describe('dev server: activities', function () {
  function flakyActivities(attempts: number[]) {
    return {
      async flaky(failTimes: number, errorType: string): Promise<number> {
        const attempt = Context.current().info.attempt;
        attempts.push(attempt);
        if (attempt <= failTimes)
          throw ApplicationFailure.create({ message: `attempt ${attempt}`, type: errorType });
        return attempt;
      },
    };
  }

  it('when an activity fails twice and then succeeds, then it is retried with backoff and the workflow sees success', async function () {
    const { client, nativeConnection } = await sharedServer();
    const taskQueue = uniqueQueue();
    const attempts: number[] = [];
    const result = await withWorker(
      nativeConnection,
      { taskQueue, activities: flakyActivities(attempts) },
      () =>
        client.workflow.execute(runFlaky, {
          taskQueue,
          workflowId: taskQueue,
          args: [2, 'Transient', 5, []],
        }),
    );
    assert.equal(result, 'ok after 3 attempts');
    assert.deepEqual(attempts, [1, 2, 3]);
  });

  it('when an activity keeps failing, then retries stop at maximum attempts with MAXIMUM_ATTEMPTS_REACHED', async function () {
    const { client, nativeConnection } = await sharedServer();
    const taskQueue = uniqueQueue();
    const attempts: number[] = [];
    const result = await withWorker(
      nativeConnection,
      { taskQueue, activities: flakyActivities(attempts) },
      () =>
        client.workflow.execute(runFlaky, {
          taskQueue,
          workflowId: taskQueue,
          args: [10, 'Transient', 3, []],
        }),
    );
    assert.equal(result, 'failed: Transient retryState=MAXIMUM_ATTEMPTS_REACHED');
    assert.deepEqual(attempts, [1, 2, 3]);
  });

  it('when the failure type is listed as non-retryable, then the activity is not retried', async function () {
    const { client, nativeConnection } = await sharedServer();
    const taskQueue = uniqueQueue();
    const attempts: number[] = [];
    const result = await withWorker(
      nativeConnection,
      { taskQueue, activities: flakyActivities(attempts) },
      () =>
        client.workflow.execute(runFlaky, {
          taskQueue,
          workflowId: taskQueue,
          args: [10, 'Fatal', 5, ['Fatal']],
        }),
    );
    assert.equal(result, 'failed: Fatal retryState=NON_RETRYABLE_FAILURE');
    assert.deepEqual(attempts, [1]);
  });

  it('when no worker polls the activity queue, then the schedule-to-start timeout fails the activity', async function () {
    const { client, nativeConnection } = await sharedServer();
    const taskQueue = uniqueQueue();
    const result = await withWorker(nativeConnection, { taskQueue }, () =>
      client.workflow.execute(timeoutProbe, {
        taskQueue,
        workflowId: taskQueue,
        args: ['hang', { scheduleToStartMs: 200, startToCloseMs: 10_000 }, uniqueQueue('nobody')],
      }),
    );
    assert.equal(result, 'timeout:SCHEDULE_TO_START');
  });

  const hangActivities = {
    async hang(): Promise<void> {
      // Stays "running" until the server's timeout makes the worker cancel it.
      await new Promise<void>((resolve) =>
        Context.current().cancellationSignal.addEventListener('abort', () => resolve()),
      );
    },
    async heartbeater(): Promise<string> {
      await new Promise<void>((resolve) =>
        Context.current().cancellationSignal.addEventListener('abort', () => resolve()),
      );
      return 'x';
    },
  };

  it('when an activity runs past its start-to-close timeout on every attempt, then it times out with START_TO_CLOSE', async function () {
    const { client, nativeConnection } = await sharedServer();
    const taskQueue = uniqueQueue();
    const result = await withWorker(nativeConnection, { taskQueue, activities: hangActivities }, () =>
      client.workflow.execute(timeoutProbe, {
        taskQueue,
        workflowId: taskQueue,
        args: ['hang', { startToCloseMs: 200 }],
      }),
    );
    assert.equal(result, 'timeout:START_TO_CLOSE');
  });

  it('when an activity runs past its schedule-to-close timeout, then it times out with SCHEDULE_TO_CLOSE', async function () {
    const { client, nativeConnection } = await sharedServer();
    const taskQueue = uniqueQueue();
    const result = await withWorker(nativeConnection, { taskQueue, activities: hangActivities }, () =>
      client.workflow.execute(timeoutProbe, {
        taskQueue,
        workflowId: taskQueue,
        args: ['hang', { scheduleToCloseMs: 300, startToCloseMs: 10_000 }],
      }),
    );
    assert.equal(result, 'timeout:SCHEDULE_TO_CLOSE');
  });

  it('when an activity stops heartbeating, then it times out with HEARTBEAT', async function () {
    const { client, nativeConnection } = await sharedServer();
    const taskQueue = uniqueQueue();
    const result = await withWorker(nativeConnection, { taskQueue, activities: hangActivities }, () =>
      client.workflow.execute(timeoutProbe, {
        taskQueue,
        workflowId: taskQueue,
        args: ['heartbeater', { startToCloseMs: 10_000, heartbeatMs: 200 }],
      }),
    );
    assert.equal(result, 'timeout:HEARTBEAT');
  });

  it('when an attempt heartbeats details and fails, then the next attempt starts from those details', async function () {
    const { client, nativeConnection } = await sharedServer();
    const taskQueue = uniqueQueue();
    const seen: unknown[] = [];
    const result = await withWorker(
      nativeConnection,
      {
        taskQueue,
        activities: {
          async heartbeater(): Promise<string> {
            const ctx = Context.current();
            seen.push(ctx.info.heartbeatDetails);
            if (ctx.info.attempt === 1) {
              ctx.heartbeat({ progress: 7 });
              throw ApplicationFailure.create({ message: 'crash after progress' });
            }
            return `resumed at ${(ctx.info.heartbeatDetails as { progress: number }).progress}`;
          },
        },
      },
      () => client.workflow.execute(runHeartbeater, { taskQueue, workflowId: taskQueue }),
    );
    assert.equal(result, 'resumed at 7');
    assert.deepEqual(seen, [undefined, { progress: 7 }]);
  });

  it('when the workflow cancels a running activity, then the activity learns it from its heartbeat and confirms', async function () {
    const { client, nativeConnection } = await sharedServer();
    const taskQueue = uniqueQueue();
    let activityCancelled = false;
    const result = await withWorker(
      nativeConnection,
      {
        taskQueue,
        activities: {
          async cancellableHeartbeater(): Promise<string> {
            const ctx = Context.current();
            // Bounded: the test's own timeout ends it if cancellation never arrives.
            for (let i = 0; i < 600; i++) {
              ctx.heartbeat(i);
              try {
                await ctx.sleep(50);
              } catch (err) {
                activityCancelled = true;
                throw err;
              }
            }
            return 'never cancelled';
          },
        },
      },
      () => client.workflow.execute(cancelActivity, { taskQueue, workflowId: taskQueue }),
    );
    assert.equal(result, 'activity cancelled');
    assert.equal(activityCancelled, true);
  });

  it('when an activity completes asynchronously, then completion by task token and by id both reach the workflow', async function () {
    const { client, nativeConnection } = await sharedServer();
    for (const by of ['token', 'id'] as const) {
      const taskQueue = uniqueQueue();
      let token: Uint8Array | undefined;
      const result = await withWorker(
        nativeConnection,
        {
          taskQueue,
          activities: {
            async external(): Promise<string> {
              token = Context.current().info.taskToken;
              throw new CompleteAsyncError();
            },
          },
        },
        async () => {
          const handle = await client.workflow.start(runExternal, { taskQueue, workflowId: taskQueue });
          await waitFor(async () => token !== undefined, 'the activity to start');
          await waitFor(
            async () =>
              (await handle.describe()).raw.pendingActivities?.[0]?.state ===
              temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED,
            'activity started',
          );
          if (by === 'token') await client.activity.complete(token!, 'done by token');
          else await client.activity.complete({ workflowId: taskQueue, activityId: '1' }, 'done by id');
          return handle.result();
        },
      );
      assert.equal(result, `done by ${by}`);
    }
  });

  it('when an activity no worker has started is completed by id, then a started event is written first and the task is never handed out', async function () {
    const { client, connection, nativeConnection } = await sharedServer();
    const taskQueue = uniqueQueue();
    const EventType = temporal.api.enums.v1.EventType;
    // A worker without activities runs the workflow but never polls the activity queue.
    const result = await withWorker(nativeConnection, { taskQueue }, async () => {
      const handle = await client.workflow.start(runExternal, { taskQueue, workflowId: taskQueue });
      await waitFor(
        async () =>
          (await handle.describe()).raw.pendingActivities?.[0]?.state ===
          temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED,
        'activity scheduled',
      );
      const ref = { workflowId: taskQueue, activityId: '1' };
      // As on the real server, failing or heartbeating an activity nobody started is NOT_FOUND.
      await assert.rejects(client.activity.fail(ref, new Error('too early')), ActivityNotFoundError);
      await assert.rejects(client.activity.heartbeat(ref), ActivityNotFoundError);
      await client.activity.complete(ref, 'done early');
      return handle.result();
    });
    assert.equal(result, 'done early');
    const events = (await client.workflow.getHandle(taskQueue).fetchHistory()).events!;
    const scheduled = events.find((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)!;
    const started = events.find((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED)!;
    const completed = events.find((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED)!;
    assert.ok(started, 'a started event was fabricated');
    assert.equal(
      Number(started.activityTaskStartedEventAttributes!.scheduledEventId),
      Number(scheduled.eventId),
    );
    assert.equal(started.activityTaskStartedEventAttributes!.attempt, 1);
    assert.equal(Number(completed.eventId), Number(started.eventId) + 1);
    assert.equal(
      Number(completed.activityTaskCompletedEventAttributes!.startedEventId),
      Number(started.eventId),
    );
    assert.equal(
      Number(completed.activityTaskCompletedEventAttributes!.scheduledEventId),
      Number(scheduled.eventId),
    );
    // The scheduled task is stale now: a poller gets nothing (the poll ends at its deadline).
    const poll = await connection.withDeadline(Date.now() + 1500, () =>
      client.workflowService.pollActivityTaskQueue({
        namespace: 'default',
        taskQueue: { name: taskQueue },
        identity: 'late poller',
      }),
    );
    assert.equal(poll.taskToken?.length ?? 0, 0);
  });
});

describe('dev server: activity retry backoff (virtual time)', function () {
  const HOUR_MS = 3600_000;
  // The attempts themselves run at real pace on the virtual clock; they take far less.
  const SLACK_MS = 60_000;
  let env: TestWorkflowEnvironment;

  before(async function () {
    env = await createTimeSkippingEnv();
  });

  after(async function () {
    await env?.teardown();
  });

  it('when retries back off, then the wait grows by the coefficient but never beyond the maximum interval', async function () {
    const taskQueue = uniqueQueue();
    const scheduledAt: number[] = [];
    const result = await withWorker(
      env.nativeConnection,
      {
        taskQueue,
        activities: {
          async flaky(failTimes: number): Promise<number> {
            const info = Context.current().info;
            scheduledAt.push(info.currentAttemptScheduledTimestampMs);
            if (info.attempt <= failTimes)
              throw ApplicationFailure.create({ message: `attempt ${info.attempt}` });
            return info.attempt;
          },
        },
      },
      () => env.client.workflow.execute(runHourlyBackoff, { taskQueue, workflowId: taskQueue }),
    );
    assert.equal(result, 'ok after 3 attempts');
    assert.equal(scheduledAt.length, 3);
    const [first, second] = [scheduledAt[1]! - scheduledAt[0]!, scheduledAt[2]! - scheduledAt[1]!];
    // Server (virtual) time between attempts: initialInterval 1 h, then 1 h x 10 capped at 90 min.
    assert.ok(first >= HOUR_MS && first < HOUR_MS + SLACK_MS, `first backoff ${first}ms`);
    assert.ok(second >= 1.5 * HOUR_MS && second < 1.5 * HOUR_MS + SLACK_MS, `second backoff ${second}ms`);
  });

  it('when a failure carries next_retry_delay, then the next attempt waits for that delay instead of the policy', async function () {
    const taskQueue = uniqueQueue();
    const scheduledAt: number[] = [];
    const result = await withWorker(
      env.nativeConnection,
      {
        taskQueue,
        activities: {
          async delayedRetry(): Promise<number> {
            const info = Context.current().info;
            scheduledAt.push(info.currentAttemptScheduledTimestampMs);
            if (info.attempt === 1)
              throw ApplicationFailure.create({ message: 'later', nextRetryDelay: '2 hours' });
            return info.attempt;
          },
        },
      },
      () => env.client.workflow.execute(runDelayedRetry, { taskQueue, workflowId: taskQueue }),
    );
    // The policy says one hour; the failure said two.
    assert.equal(result, 2);
    const gap = scheduledAt[1]! - scheduledAt[0]!;
    assert.ok(gap >= 2 * HOUR_MS && gap < 2 * HOUR_MS + SLACK_MS, `retried after ${gap}ms of server time`);
  });
});

describe('dev server: eager activity execution', function () {
  it('when a worker asks for eager execution, then the activity task comes back in the completion response', async function () {
    const { client } = await sharedServer();
    const taskQueue = uniqueQueue();
    const svc = client.workflowService;
    await client.workflow.start('anything', { taskQueue, workflowId: taskQueue });
    const task = await svc.pollWorkflowTaskQueue({
      namespace: 'default',
      taskQueue: { name: taskQueue },
      identity: 'raw',
    });
    const res = await svc.respondWorkflowTaskCompleted({
      namespace: 'default',
      taskToken: task.taskToken,
      identity: 'raw',
      commands: [
        {
          commandType: temporal.api.enums.v1.CommandType.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK,
          scheduleActivityTaskCommandAttributes: {
            activityId: 'eager-1',
            activityType: { name: 'step' },
            taskQueue: { name: taskQueue },
            startToCloseTimeout: msToTs(10_000),
            requestEagerExecution: true,
          },
        },
      ],
    });
    assert.equal(res.activityTasks?.length, 1);
    assert.equal(res.activityTasks[0]!.activityId, 'eager-1');
    await svc.respondActivityTaskCompleted({
      namespace: 'default',
      taskToken: res.activityTasks[0]!.taskToken,
      identity: 'raw',
    });
    const events = (await client.workflow.getHandle(taskQueue).fetchHistory()).events!;
    assert.ok(events.some((e) => e.activityTaskCompletedEventAttributes));
    await client.workflow.getHandle(taskQueue).terminate();
  });
});
