import { strict as assert } from 'node:assert';
import { temporal } from '@temporalio/proto';
import { msToTs } from '@temporalio/common/lib/time';
import { sharedServer, startTestServer, uniqueQueue, withWorker, waitFor } from './helpers';
import { collector, addSignal, doneSignal, longHistory, recovers, failsFirstTask } from './workflows';

const EventType = temporal.api.enums.v1.EventType;
const Kind = temporal.api.enums.v1.TaskQueueKind;
const Cause = temporal.api.enums.v1.WorkflowTaskFailedCause;
const CommandType = temporal.api.enums.v1.CommandType;
const WftState = temporal.api.enums.v1.PendingWorkflowTaskState;

type WorkflowService = Awaited<ReturnType<typeof sharedServer>>['client']['workflowService'];

/** Takes the next workflow task of the queue as a worker would, with no SDK in between. */
function pollTask(svc: WorkflowService, taskQueue: string, identity: string) {
  return svc.pollWorkflowTaskQueue({
    namespace: 'default',
    taskQueue: { name: taskQueue, kind: Kind.TASK_QUEUE_KIND_NORMAL },
    identity,
  });
}
type Event = temporal.api.history.v1.IHistoryEvent;

function assertContiguous(events: Event[]): void {
  assert.deepEqual(
    events.map((e) => Number(e.eventId)),
    events.map((_e, i) => i + 1),
  );
}

describe('dev server: workflow tasks', function () {
  it('when workflow tasks keep failing, then only the first failure is in history and the retry that succeeds is recorded', async function () {
    const { client, nativeConnection } = await sharedServer();
    const taskQueue = uniqueQueue();
    const svc = client.workflowService;
    const handle = await client.workflow.start(recovers, { taskQueue, workflowId: taskQueue });
    // This test is the failing worker for three attempts, then a real worker succeeds.
    for (let attempt = 1; attempt <= 3; attempt++) {
      const task = await pollTask(svc, taskQueue, 'failing');
      assert.equal(task.attempt, attempt);
      const events = task.history!.events!;
      assertContiguous(events);
      const last = events.at(-2)!.workflowTaskScheduledEventAttributes!;
      assert.equal(last.attempt, attempt, 'the worker sees the attempt it runs');
      await svc.respondWorkflowTaskFailed({
        namespace: 'default',
        taskToken: task.taskToken,
        identity: 'failing',
        cause: Cause.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE,
        failure: { message: `attempt ${attempt} failed on purpose` },
      });
      const desc = await handle.describe();
      assert.equal(desc.raw.pendingWorkflowTask?.attempt, attempt + 1);
      assert.equal(desc.historyLength, 4, 'failed retries add nothing to history');
    }
    const result = await withWorker(nativeConnection, { taskQueue }, () => handle.result());
    assert.equal(result, 'recovered');
    const events = (await handle.fetchHistory()).events!;
    const types = events.map((e) => e.eventType);
    assert.equal(types.filter((t) => t === EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED).length, 1);
    const scheduled = events.filter((e) => e.workflowTaskScheduledEventAttributes);
    assert.equal(scheduled.length, 2);
    assert.equal(
      scheduled[1]!.workflowTaskScheduledEventAttributes!.attempt,
      4,
      'later attempts were transient',
    );
    assertContiguous(events);
  });

  it('when the SDK fails a workflow task, then the retry is transient and recorded as attempt 2 once it succeeds', async function () {
    const { client, nativeConnection } = await sharedServer();
    const taskQueue = uniqueQueue();
    const result = await withWorker(nativeConnection, { taskQueue }, () =>
      client.workflow.execute(failsFirstTask, { taskQueue, workflowId: taskQueue }),
    );
    assert.equal(result, 'recovered');
    const events = (await client.workflow.getHandle(taskQueue).fetchHistory()).events!;
    const failed = events.filter((e) => e.workflowTaskFailedEventAttributes);
    assert.equal(failed.length, 1);
    assert.equal(Number(failed[0]!.workflowTaskFailedEventAttributes!.startedEventId), 3);
    const scheduled = events.filter((e) => e.workflowTaskScheduledEventAttributes);
    assert.deepEqual(
      scheduled.map((e) => e.workflowTaskScheduledEventAttributes!.attempt),
      [1, 2],
    );
    assertContiguous(events);
  });

  it('when a completion carries an invalid command, then nothing of it is applied, the task fails with the BAD_ cause and the retries are transient', async function () {
    const { client } = await sharedServer();
    const taskQueue = uniqueQueue();
    const svc = client.workflowService;
    const handle = await client.workflow.start(recovers, { taskQueue, workflowId: taskQueue });
    const commands = [
      {
        commandType: CommandType.COMMAND_TYPE_START_TIMER,
        startTimerCommandAttributes: { timerId: 'valid', startToFireTimeout: msToTs(3600_000) },
      },
      {
        commandType: CommandType.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK,
        scheduleActivityTaskCommandAttributes: {
          activityId: 'no-type',
          taskQueue: { name: taskQueue },
          startToCloseTimeout: msToTs(10_000),
        },
      },
    ];
    const poll = () => pollTask(svc, taskQueue, 'buggy');
    const complete = (taskToken: Uint8Array | null | undefined) =>
      svc.respondWorkflowTaskCompleted({ namespace: 'default', taskToken, identity: 'buggy', commands });

    const first = await poll();
    assert.equal(first.attempt, 1);
    await assert.rejects(complete(first.taskToken), /ActivityType/);
    let events = (await handle.fetchHistory()).events!;
    assert.equal(events.length, 4);
    assert.equal(
      events.filter((e) => e.timerStartedEventAttributes).length,
      0,
      'the valid command was not applied',
    );
    const failed = events[3]!.workflowTaskFailedEventAttributes!;
    assert.equal(failed.cause, Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SCHEDULE_ACTIVITY_ATTRIBUTES);
    assert.equal(Number(failed.startedEventId), 3);

    const second = await poll();
    assert.equal(second.attempt, 2);
    await assert.rejects(complete(second.taskToken), /ActivityType/);
    // The retry fails the same way: it is dropped without a trace and left to time out
    // (no new task at once, so a worker repeating itself cannot spin).
    const desc = await handle.describe();
    assert.equal(desc.historyLength, 4);
    assert.equal(desc.raw.pendingWorkflowTask?.attempt, 2);
    assert.equal(desc.raw.pendingWorkflowTask?.state, WftState.PENDING_WORKFLOW_TASK_STATE_STARTED);

    await handle.terminate('done');
    events = (await handle.fetchHistory()).events!;
    assert.deepEqual(
      events.slice(3).map((e) => e.eventType),
      [EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED],
    );
    assertContiguous(events);
  });

  it('when an update message in a completion cannot be decoded, then nothing of the completion is applied and the update is offered again', async function () {
    const { client } = await sharedServer();
    const taskQueue = uniqueQueue();
    const svc = client.workflowService;
    const handle = await client.workflow.start(collector, { taskQueue, workflowId: taskQueue });
    const poll = () => pollTask(svc, taskQueue, 'buggy');
    const firstTask = await poll();
    await svc.respondWorkflowTaskCompleted({
      namespace: 'default',
      taskToken: firstTask.taskToken,
      commands: [],
    });
    const update = svc
      .updateWorkflowExecution({
        namespace: 'default',
        workflowExecution: { workflowId: taskQueue },
        request: { meta: { updateId: 'u1' }, input: { name: 'add' } },
        waitPolicy: { lifecycleStage: 1 },
      })
      .catch((err: unknown) => err);
    const withUpdate = await poll();
    assert.equal(withUpdate.messages?.length, 1);
    await assert.rejects(
      svc.respondWorkflowTaskCompleted({
        namespace: 'default',
        taskToken: withUpdate.taskToken,
        identity: 'buggy',
        commands: [
          {
            commandType: CommandType.COMMAND_TYPE_START_TIMER,
            startTimerCommandAttributes: { timerId: 't', startToFireTimeout: msToTs(3600_000) },
          },
          {
            commandType: CommandType.COMMAND_TYPE_PROTOCOL_MESSAGE,
            protocolMessageCommandAttributes: { messageId: 'm1' },
          },
        ],
        messages: [
          {
            id: 'm1',
            protocolInstanceId: 'u1',
            // A truncated Acceptance: a length prefix with no bytes behind it.
            body: {
              type_url: 'type.googleapis.com/temporal.api.update.v1.Acceptance',
              value: Buffer.from([0x0a, 0xff, 0xff]),
            },
          },
        ],
      }),
      /not a valid/,
    );
    const events = (await handle.fetchHistory()).events!;
    assert.equal(events.filter((e) => e.timerStartedEventAttributes).length, 0, 'the timer was not started');
    const failed = events[events.length - 1]!.workflowTaskFailedEventAttributes!;
    assert.equal(failed.cause, Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_UPDATE_WORKFLOW_EXECUTION_MESSAGE);
    const retry = await poll();
    assert.equal(retry.messages?.[0]?.protocolInstanceId, 'u1', 'the update goes out again with the retry');
    await handle.terminate();
    await update;
  });

  it('when more than 100 events arrive while a workflow task is out, then the task is failed with FORCE_CLOSE_COMMAND and the events go into history', async function () {
    const { client } = await sharedServer();
    const svc = client.workflowService;
    const taskQueue = uniqueQueue();
    const handle = await client.workflow.start(collector, { taskQueue, workflowId: taskQueue });
    const held = await pollTask(svc, taskQueue, 'stuck');
    for (let i = 0; i < 101; i++) await handle.signal(addSignal, String(i));
    const events = (await handle.fetchHistory()).events!;
    const types = events.map((e) => e.eventType);
    assert.deepEqual(types.slice(0, 4), [
      EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
      EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
      EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
      EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
    ]);
    assert.equal(
      events[3]!.workflowTaskFailedEventAttributes!.cause,
      Cause.WORKFLOW_TASK_FAILED_CAUSE_FORCE_CLOSE_COMMAND,
    );
    assert.equal(types.filter((t) => t === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED).length, 101);
    assert.equal(types[types.length - 1], EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED);
    await assert.rejects(
      svc.respondWorkflowTaskCompleted({ namespace: 'default', taskToken: held.taskToken, commands: [] }),
      /NOT_FOUND|not found/i,
    );
    await handle.terminate();
  });

  it('when a workflow task timeout above two minutes is asked for, then it is capped at two minutes, as on the real server', async function () {
    const { client } = await sharedServer();
    const taskQueue = uniqueQueue();
    const handle = await client.workflow.start(collector, {
      taskQueue,
      workflowId: taskQueue,
      workflowTaskTimeout: '10 minutes',
    });
    const started = (await handle.fetchHistory()).events![0]!.workflowExecutionStartedEventAttributes!;
    assert.equal(Number(started.workflowTaskTimeout!.seconds), 120);
    await handle.terminate();
  });

  it('when a run is terminated while its workflow task is started, then the task fails with FORCE_CLOSE_COMMAND before the run ends', async function () {
    const { client } = await sharedServer();
    const svc = client.workflowService;
    const taskQueue = uniqueQueue();
    const handle = await client.workflow.start(collector, { taskQueue, workflowId: taskQueue });
    const task = await pollTask(svc, taskQueue, 'slow');
    assert.equal(Number(task.startedEventId), 3);
    await handle.signal(addSignal, 'while started');
    await handle.terminate('stop');
    const events = (await handle.fetchHistory()).events!;
    assert.deepEqual(
      events.map((e) => e.eventType),
      [
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
      ],
    );
    const failed = events[3]!.workflowTaskFailedEventAttributes!;
    assert.equal(failed.cause, Cause.WORKFLOW_TASK_FAILED_CAUSE_FORCE_CLOSE_COMMAND);
    assert.equal(Number(failed.scheduledEventId), 2);
    assert.equal(Number(failed.startedEventId), 3);

    // A task only scheduled is left as it is, as on the real server.
    const idle = uniqueQueue();
    const idleHandle = await client.workflow.start(collector, { taskQueue: idle, workflowId: idle });
    await idleHandle.terminate('stop');
    assert.deepEqual(
      (await idleHandle.fetchHistory()).events!.map((e) => e.eventType),
      [
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
      ],
    );
  });

  it('when a run times out while its workflow task is started, then the task fails with FORCE_CLOSE_COMMAND before the timeout event', async function () {
    const { client } = await sharedServer();
    const svc = client.workflowService;
    const taskQueue = uniqueQueue();
    const handle = await client.workflow.start(collector, {
      taskQueue,
      workflowId: taskQueue,
      workflowRunTimeout: '1s',
    });
    await pollTask(svc, taskQueue, 'slow');
    await handle.signal(addSignal, 'while started');
    await waitFor(async () => (await handle.describe()).status.name === 'TIMED_OUT', 'the run to time out');
    const events = (await handle.fetchHistory()).events!;
    assert.deepEqual(
      events.map((e) => e.eventType),
      [
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
      ],
    );
    assert.equal(
      events[3]!.workflowTaskFailedEventAttributes!.cause,
      Cause.WORKFLOW_TASK_FAILED_CAUSE_FORCE_CLOSE_COMMAND,
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
    const task = await pollTask(svc, taskQueue, 'vanishing');
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
    // The sticky task timed out (schedule-to-start, never started) and a new first attempt
    // was scheduled on the normal queue, as the real server records it.
    const events = (await handle.fetchHistory()).events!;
    assertContiguous(events);
    const timedOutAt = events.findIndex((e) => e.workflowTaskTimedOutEventAttributes);
    assert.ok(timedOutAt > 0, 'a WorkflowTaskTimedOut event');
    const timedOut = events[timedOutAt]!.workflowTaskTimedOutEventAttributes!;
    assert.equal(timedOut.timeoutType, temporal.api.enums.v1.TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START);
    assert.equal(Number(timedOut.startedEventId), 0);
    const stickyScheduled =
      events[Number(timedOut.scheduledEventId) - 1]!.workflowTaskScheduledEventAttributes!;
    assert.equal(stickyScheduled.taskQueue!.kind, Kind.TASK_QUEUE_KIND_STICKY);
    const next = events.slice(timedOutAt + 1).find((e) => e.workflowTaskScheduledEventAttributes)!;
    assert.equal(next.workflowTaskScheduledEventAttributes!.taskQueue!.kind, Kind.TASK_QUEUE_KIND_NORMAL);
    assert.equal(next.workflowTaskScheduledEventAttributes!.attempt, 1);
    const startedAfter = events.find(
      (e) => Number(e.workflowTaskStartedEventAttributes?.scheduledEventId ?? 0) === Number(next.eventId),
    );
    assert.ok(startedAfter, 'the normal-queue task is the one that ran');
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
