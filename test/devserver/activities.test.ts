import { strict as assert } from 'node:assert';
import { Context, CompleteAsyncError } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { msToTs } from '@temporalio/common/lib/time';
import { sharedServer, uniqueQueue, withWorker, waitFor } from './helpers';
import {
  runCappedBackoff,
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

  it('when retries back off, then the wait grows by the coefficient but never beyond the maximum interval', async function () {
    const { client, nativeConnection } = await sharedServer();
    const taskQueue = uniqueQueue();
    const startedAt: number[] = [];
    const result = await withWorker(
      nativeConnection,
      {
        taskQueue,
        activities: {
          async flaky(failTimes: number): Promise<number> {
            startedAt.push(Date.now());
            const attempt = Context.current().info.attempt;
            if (attempt <= failTimes) throw ApplicationFailure.create({ message: `attempt ${attempt}` });
            return attempt;
          },
        },
      },
      () => client.workflow.execute(runCappedBackoff, { taskQueue, workflowId: taskQueue }),
    );
    assert.equal(result, 'ok after 3 attempts');
    const [first, second] = [startedAt[1]! - startedAt[0]!, startedAt[2]! - startedAt[1]!];
    // initialInterval 200 ms, coefficient 10: uncapped the second wait would be 2 s; the cap is 300 ms.
    assert.ok(first >= 190, `first backoff ${first}ms`);
    assert.ok(second >= 290 && second < 1500, `second backoff ${second}ms`);
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

  it('when a failure carries next_retry_delay, then the next attempt waits for that delay instead of the policy', async function () {
    const { client, nativeConnection } = await sharedServer();
    const taskQueue = uniqueQueue();
    const startedAt: number[] = [];
    const result = await withWorker(
      nativeConnection,
      {
        taskQueue,
        activities: {
          async delayedRetry(): Promise<number> {
            startedAt.push(Date.now());
            const attempt = Context.current().info.attempt;
            if (attempt === 1) throw ApplicationFailure.create({ message: 'later', nextRetryDelay: 300 });
            return attempt;
          },
        },
      },
      () => client.workflow.execute(runDelayedRetry, { taskQueue, workflowId: taskQueue }),
    );
    // The policy says one hour; the failure said 300 ms, and the test finished.
    assert.equal(result, 2);
    assert.ok(startedAt[1]! - startedAt[0]! >= 250, `retried after ${startedAt[1]! - startedAt[0]!}ms`);
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
