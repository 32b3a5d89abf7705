import { strict as assert } from 'node:assert';
import { temporal } from '@temporalio/proto';
import { msToTs } from '@temporalio/common/lib/time';
import { sharedServer, startTestServer, uniqueQueue, withWorker, waitFor } from './helpers';
import { failsTasksUntil, collector, addSignal, doneSignal, longHistory } from './workflows';

const EventType = temporal.api.enums.v1.EventType;
const Kind = temporal.api.enums.v1.TaskQueueKind;

describe('dev server: workflow tasks', function () {
  it('when workflow tasks keep failing, then only the first failure is in history and the retry that succeeds is recorded', async function () {
    const { client, nativeConnection } = await sharedServer();
    const taskQueue = uniqueQueue();
    const result = await withWorker(nativeConnection, { taskQueue }, () =>
      client.workflow.execute(failsTasksUntil, {
        taskQueue,
        workflowId: taskQueue,
        args: [Date.now() + 1500],
        workflowTaskTimeout: '1s',
      }),
    );
    assert.equal(result, 'recovered');
    const events = (await client.workflow.getHandle(taskQueue).fetchHistory()).events!;
    const types = events.map((e) => e.eventType);
    assert.equal(types.filter((t) => t === EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED).length, 1);
    assert.equal(types.filter((t) => t === EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT).length, 0);
    const scheduled = events.filter((e) => e.workflowTaskScheduledEventAttributes);
    assert.equal(scheduled.length, 2);
    assert.ok(
      scheduled[1]!.workflowTaskScheduledEventAttributes!.attempt! >= 3,
      'later attempts were transient',
    );
    assert.deepEqual(
      events.map((e) => Number(e.eventId)),
      events.map((_e, i) => i + 1),
    );
  });

  it('when a sticky worker shuts down, then the next task falls back to the normal queue and another worker finishes', async function () {
    const { client, nativeConnection } = await sharedServer();
    const taskQueue = uniqueQueue();
    const handle = await withWorker(nativeConnection, { taskQueue }, async () => {
      const h = await client.workflow.start(collector, { taskQueue, workflowId: taskQueue });
      // Once the first task is done the run is sticky, so the signal's task goes to the sticky queue.
      await waitFor(async () => !(await h.describe()).raw.pendingWorkflowTask, 'first task done');
      await h.signal(addSignal, 'one');
      await waitFor(async () => (await h.query<string[]>('items')).length === 1, 'first signal handled');
      return h;
    });
    await handle.signal(addSignal, 'two');
    await handle.signal(doneSignal);
    const result = await withWorker(nativeConnection, { taskQueue }, () => handle.result());
    assert.deepEqual(result, ['one', 'two']);
    const kinds = (await handle.fetchHistory())
      .events!.filter((e) => e.workflowTaskScheduledEventAttributes)
      .map((e) => e.workflowTaskScheduledEventAttributes!.taskQueue!.kind);
    assert.ok(kinds.includes(Kind.TASK_QUEUE_KIND_STICKY), 'stickiness was in use');
  });

  it('when a sticky worker vanishes without saying so, then the task falls back after the sticky schedule-to-start timeout', async function () {
    const { client, nativeConnection } = await sharedServer();
    const taskQueue = uniqueQueue();
    const handle = await client.workflow.start(collector, { taskQueue, workflowId: taskQueue });
    // A worker that takes the first task, asks for stickiness, and is never heard of again.
    const svc = client.workflowService;
    const task = await svc.pollWorkflowTaskQueue({
      namespace: 'default',
      taskQueue: { name: taskQueue, kind: Kind.TASK_QUEUE_KIND_NORMAL },
      identity: 'vanishing',
    });
    await svc.respondWorkflowTaskCompleted({
      namespace: 'default',
      taskToken: task.taskToken,
      identity: 'vanishing',
      commands: [],
      stickyAttributes: {
        workerTaskQueue: {
          name: `${taskQueue}-gone`,
          kind: Kind.TASK_QUEUE_KIND_STICKY,
          normalName: taskQueue,
        },
        scheduleToStartTimeout: msToTs(300),
      },
    });
    await handle.signal(addSignal, 'late');
    await handle.signal(doneSignal);
    const result = await withWorker(nativeConnection, { taskQueue }, () => handle.result());
    assert.deepEqual(result, ['late']);
  });

  it('when history is longer than a page, then workers and clients page through it with next_page_token', async function () {
    const small = await startTestServer({ historyPageSize: 5 });
    const taskQueue = uniqueQueue();
    const result = await withWorker(
      small.nativeConnection,
      // No cache: every task carries the whole history, so poll responses must be paged.
      { taskQueue, maxCachedWorkflows: 0, activities: { greet: async (n: string) => n } },
      () => small.client.workflow.execute(longHistory, { taskQueue, workflowId: taskQueue, args: [4] }),
    );
    assert.equal(result, 4);
    const events = (await small.client.workflow.getHandle(taskQueue).fetchHistory()).events!;
    assert.ok(events.length > 20);
    assert.deepEqual(
      events.map((e) => Number(e.eventId)),
      events.map((_e, i) => i + 1),
    );
    const first = await small.client.workflowService.getWorkflowExecutionHistory({
      namespace: 'default',
      execution: { workflowId: taskQueue },
    });
    assert.equal(first.history!.events!.length, 5);
    assert.ok(first.nextPageToken && first.nextPageToken.length > 0);
    await small.close();
  });
});
