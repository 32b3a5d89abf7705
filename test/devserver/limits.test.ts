import { strict as assert } from 'node:assert';
import { Connection, Client, WorkflowFailedError, WorkflowNotFoundError } from '@temporalio/client';
import { TerminatedFailure } from '@temporalio/common';
import { msToTs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import {
  sharedServer,
  startTestServer,
  startInput,
  uniqueQueue,
  withWorker,
  waitFor,
  launchWithLogLevel,
  type LaunchedServer,
} from './helpers';
import {
  collector,
  largeWorkflowResult,
  largeActivityResult,
  historyInfoAtFinish,
  finishSignal,
} from './workflows';
import { Engine } from '../../devserver/core/engine';
import { RealClock } from '../../devserver/core/clock';
import { createLogger, type Logger } from '../../devserver/logger';
import { startWorkflow, signalRun } from '../../devserver/core/lifecycle';

const EventType = temporal.api.enums.v1.EventType;
const CommandType = temporal.api.enums.v1.CommandType;
const WorkflowTaskFailedCause = temporal.api.enums.v1.WorkflowTaskFailedCause;

const MiB = 1024 * 1024;
/** Over the real server's 2 MiB blob limit. */
const TOO_LARGE = 2 * MiB + 1024;

type IHistoryEvent = temporal.api.history.v1.IHistoryEvent;

function bigPayloads(bytes: number): temporal.api.common.v1.IPayloads {
  return {
    payloads: [{ metadata: { encoding: Buffer.from('binary/plain') }, data: Buffer.alloc(bytes, 7) }],
  };
}

/** The gRPC status details of a rejected client call (the SDK wraps them in ServiceError). */
function detailsOf(err: unknown): string {
  const e = err as { details?: string; cause?: { details?: string } };
  return e.details ?? e.cause?.details ?? String(err);
}

describe('dev server: payload size limits (the real server defaults)', function () {
  it('when a workflow is started with an input over 2 MiB, then the start is refused with INVALID_ARGUMENT and no run exists', async function () {
    const { client } = await sharedServer();
    const taskQueue = uniqueQueue();
    await assert.rejects(
      client.workflow.start(collector, {
        taskQueue,
        workflowId: taskQueue,
        args: ['x'.repeat(TOO_LARGE)] as never,
      }),
      (err: unknown) => /Blob data size exceeds limit\./.test(detailsOf(err)),
    );
    await assert.rejects(client.workflow.getHandle(taskQueue).describe(), WorkflowNotFoundError);
  });

  it('when a signal or a signal-with-start carries over 2 MiB, then it is refused and the workflow never sees it', async function () {
    const { client } = await sharedServer();
    const taskQueue = uniqueQueue();
    const handle = await client.workflow.start(collector, { taskQueue, workflowId: taskQueue });
    await assert.rejects(handle.signal('add', 'x'.repeat(TOO_LARGE)), (err: unknown) =>
      /Blob data size exceeds limit\./.test(detailsOf(err)),
    );
    await assert.rejects(
      client.workflow.signalWithStart(collector, {
        taskQueue,
        workflowId: taskQueue,
        signal: 'add',
        signalArgs: ['x'.repeat(TOO_LARGE)],
      }),
      (err: unknown) => /Blob data size exceeds limit\./.test(detailsOf(err)),
    );
    const events = (await handle.fetchHistory()).events!;
    assert.ok(!events.some((e) => e.workflowExecutionSignaledEventAttributes));
    await handle.terminate('test over');
  });

  it('when a workflow completes with a result over 2 MiB, then the task fails and the run is terminated as the real server does', async function () {
    const { client, nativeConnection } = await sharedServer();
    const taskQueue = uniqueQueue();
    const handle = await client.workflow.start(largeWorkflowResult, {
      taskQueue,
      workflowId: taskQueue,
      args: [TOO_LARGE],
    });
    await withWorker(nativeConnection, { taskQueue }, async () => {
      await assert.rejects(
        handle.result(),
        (err: unknown) => err instanceof WorkflowFailedError && err.cause instanceof TerminatedFailure,
      );
    });
    const events = (await handle.fetchHistory()).events!;
    const failed = events.find(
      (e) => e.workflowTaskFailedEventAttributes,
    )!.workflowTaskFailedEventAttributes!;
    const reason =
      'BadScheduleActivityAttributes: CompleteWorkflowExecutionCommandAttributes.Result exceeds size limit.';
    // The real server's cause for an oversized result, odd as it is.
    assert.equal(
      failed.cause,
      WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SCHEDULE_ACTIVITY_ATTRIBUTES,
    );
    assert.equal(failed.failure?.message, reason);
    const last = events[events.length - 1]!;
    assert.equal(last.eventType, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED);
    assert.equal(last.workflowExecutionTerminatedEventAttributes?.reason, reason);
    assert.equal(last.workflowExecutionTerminatedEventAttributes?.identity, 'history-service');
    assert.ok(!events.some((e) => e.workflowExecutionCompletedEventAttributes));
  });

  it('when a workflow completes with a result over 2 MiB while events are buffered, then the task fails with UnhandledCommand and the run goes on, as the real server checks the buffer first', async function () {
    const { client } = await sharedServer();
    const svc = client.workflowService;
    const taskQueue = uniqueQueue('buffered');
    const handle = await client.workflow.start('anything', { taskQueue, workflowId: taskQueue });
    const wft = await svc.pollWorkflowTaskQueue({ namespace: 'default', taskQueue: { name: taskQueue } });
    // Arrives while the task is out: buffered, so the worker must see it before closing.
    await handle.signal('arrived');
    await assert.rejects(
      svc.respondWorkflowTaskCompleted({
        namespace: 'default',
        taskToken: wft.taskToken,
        commands: [
          {
            commandType: CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION,
            completeWorkflowExecutionCommandAttributes: { result: bigPayloads(TOO_LARGE) },
          },
        ],
      }),
      (err: unknown) => /UnhandledCommand/.test(detailsOf(err)),
    );
    const events = (await handle.fetchHistory()).events!;
    const failed = events.find((e) => e.workflowTaskFailedEventAttributes)?.workflowTaskFailedEventAttributes;
    assert.equal(failed?.cause, WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND);
    assert.ok(!events.some((e) => e.workflowExecutionTerminatedEventAttributes), 'not terminated');
    assert.ok(events.some((e) => e.workflowExecutionSignaledEventAttributes));
    assert.equal(events[events.length - 1]!.eventType, EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED);
    assert.equal((await handle.describe()).status.name, 'RUNNING');
    await handle.terminate('test over');
  });

  it('when a worker fails a workflow task with a failure over 2 MiB, then history keeps "Failure exceeds size limit." with what fits of the failure as its cause', async function () {
    const { client } = await sharedServer();
    const svc = client.workflowService;
    const taskQueue = uniqueQueue('wft-failure');
    const handle = await client.workflow.start('anything', { taskQueue, workflowId: taskQueue });
    const wft = await svc.pollWorkflowTaskQueue({ namespace: 'default', taskQueue: { name: taskQueue } });
    const message = 'm'.repeat(TOO_LARGE);
    await svc.respondWorkflowTaskFailed({
      namespace: 'default',
      taskToken: wft.taskToken,
      cause: WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE,
      failure: { message, stackTrace: 'at the worker', applicationFailureInfo: { type: 'Huge' } },
    });
    const events = (await handle.fetchHistory()).events!;
    const failed = events.find((e) => e.workflowTaskFailedEventAttributes)?.workflowTaskFailedEventAttributes;
    assert.equal(failed?.failure?.message, 'Failure exceeds size limit.');
    assert.ok(failed?.failure?.serverFailureInfo, 'a server failure');
    const cause = failed?.failure?.cause;
    assert.equal(cause?.applicationFailureInfo?.type, 'Huge');
    assert.ok(cause?.message && message.startsWith(cause.message));
    assert.ok(temporal.api.failure.v1.Failure.encode(failed.failure).finish().length <= 600 * 1024);
    assert.equal((await handle.describe()).status.name, 'RUNNING');
    await handle.terminate('test over');
  });

  describe('search attribute sizes', function () {
    const IndexedValueType = temporal.api.enums.v1.IndexedValueType;
    const names = Array.from({ length: 24 }, (_, i) => `DevserverSize${i}`);

    function keyword(text: string): temporal.api.common.v1.IPayload {
      return { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from(JSON.stringify(text)) };
    }

    before(async function () {
      const { connection } = await sharedServer();
      await connection.operatorService.addSearchAttributes({
        namespace: 'default',
        searchAttributes: Object.fromEntries(
          names.map((n) => [n, IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD]),
        ),
      });
    });

    /** Completes the run's next workflow task with one upsert; the error of the completion, if any. */
    async function upsert(
      client: Client,
      taskQueue: string,
      fields: Record<string, string>,
    ): Promise<unknown> {
      const svc = client.workflowService;
      const wft = await svc.pollWorkflowTaskQueue({ namespace: 'default', taskQueue: { name: taskQueue } });
      return svc
        .respondWorkflowTaskCompleted({
          namespace: 'default',
          taskToken: wft.taskToken,
          commands: [
            {
              commandType: CommandType.COMMAND_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
              upsertWorkflowSearchAttributesCommandAttributes: {
                searchAttributes: {
                  indexedFields: Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, keyword(v)])),
                },
              },
            },
          ],
        })
        .then(
          () => undefined,
          (err: unknown) => err,
        );
    }

    it('when a workflow is started with a search attribute value over 2 KiB, then the start is refused with the real server message', async function () {
      const { client } = await sharedServer();
      const taskQueue = uniqueQueue('sa-start');
      await assert.rejects(
        client.workflow.start('anything', {
          taskQueue,
          workflowId: taskQueue,
          searchAttributes: { CustomKeywordField: ['k'.repeat(3000)] },
        }),
        (err: unknown) =>
          /search attribute CustomKeywordField value size \d+ exceeds size limit 2048/.test(detailsOf(err)),
      );
      await assert.rejects(client.workflow.getHandle(taskQueue).describe(), WorkflowNotFoundError);
    });

    it('when a workflow upserts a search attribute value over 2 KiB, then the task fails and the run is terminated', async function () {
      const { client } = await sharedServer();
      const taskQueue = uniqueQueue('sa-value');
      const handle = await client.workflow.start('anything', { taskQueue, workflowId: taskQueue });
      const err = await upsert(client, taskQueue, { [names[0]!]: 'v'.repeat(3000) });
      const reason =
        /^BadSearchAttributes: search attribute DevserverSize0 value size 3002 exceeds size limit 2048$/;
      assert.match(detailsOf(err), reason);
      const events = (await handle.fetchHistory()).events!;
      const failed = events.find(
        (e) => e.workflowTaskFailedEventAttributes,
      )?.workflowTaskFailedEventAttributes;
      assert.equal(failed?.cause, WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SEARCH_ATTRIBUTES);
      const last = events[events.length - 1]!;
      assert.match(last.workflowExecutionTerminatedEventAttributes?.reason ?? '', reason);
      assert.ok(!events.some((e) => e.upsertWorkflowSearchAttributesEventAttributes));
    });

    it('when upserts take a run past 40 KiB of search attributes in all, then the upsert that crosses it fails the task and the run is terminated', async function () {
      const { client } = await sharedServer();
      const taskQueue = uniqueQueue('sa-total');
      const handle = await client.workflow.start('anything', { taskQueue, workflowId: taskQueue });
      const value = 'v'.repeat(1900); // under 2 KiB each; twelve of them are about 23 KiB
      const first = Object.fromEntries(names.slice(0, 12).map((n) => [n, value]));
      assert.equal(await upsert(client, taskQueue, first), undefined, 'the first twelve fit');
      await handle.signal('more'); // a new workflow task
      const second = Object.fromEntries(names.slice(12).map((n) => [n, value]));
      const err = await upsert(client, taskQueue, second);
      const reason = /^BadSearchAttributes: total size of search attributes \d+ exceeds size limit 40960$/;
      assert.match(detailsOf(err), reason);
      const events = (await handle.fetchHistory()).events!;
      assert.equal(events.filter((e) => e.upsertWorkflowSearchAttributesEventAttributes).length, 1);
      assert.match(
        events[events.length - 1]!.workflowExecutionTerminatedEventAttributes?.reason ?? '',
        reason,
      );
    });
  });

  describe('queries', function () {
    const QueryResultType = temporal.api.enums.v1.QueryResultType;

    /** A run whose first workflow task has completed (queries no longer wait for it). */
    async function idleRun(client: Client, taskQueue: string) {
      const svc = client.workflowService;
      const handle = await client.workflow.start('anything', { taskQueue, workflowId: taskQueue });
      const wft = await svc.pollWorkflowTaskQueue({ namespace: 'default', taskQueue: { name: taskQueue } });
      await svc.respondWorkflowTaskCompleted({
        namespace: 'default',
        taskToken: wft.taskToken,
        commands: [],
      });
      return handle;
    }

    function query(client: Client, workflowId: string, queryArgs?: temporal.api.common.v1.IPayloads) {
      return client.workflowService.queryWorkflow({
        namespace: 'default',
        execution: { workflowId },
        query: { queryType: 'q', queryArgs },
      });
    }

    function blobRefusal(err: unknown): boolean {
      return (err as { code?: number }).code === 3 && /Blob data size exceeds limit\./.test(detailsOf(err));
    }

    it('when a query carries arguments over 2 MiB, then it is refused with INVALID_ARGUMENT before any worker sees it', async function () {
      const { client, connection } = await sharedServer();
      const taskQueue = uniqueQueue('query-args');
      const handle = await idleRun(client, taskQueue);
      await assert.rejects(
        connection.withDeadline(Date.now() + 3000, () => query(client, taskQueue, bigPayloads(TOO_LARGE))),
        blobRefusal,
      );
      const task = await connection.withDeadline(Date.now() + 1500, () =>
        client.workflowService.pollWorkflowTaskQueue({
          namespace: 'default',
          taskQueue: { name: taskQueue },
        }),
      );
      assert.ok(!task.query && !task.taskToken?.length, 'no query task went out');
      await handle.terminate('test over');
    });

    it('when a worker answers a query riding on a workflow task with over 2 MiB, then the query fails with INVALID_ARGUMENT', async function () {
      const { client } = await sharedServer();
      const svc = client.workflowService;
      const taskQueue = uniqueQueue('query-attached');
      const handle = await idleRun(client, taskQueue);
      await handle.signal('wake'); // a workflow task is now scheduled: the query rides on it
      const answer = query(client, taskQueue).catch((err: unknown) => err);
      await new Promise((resolve) => setTimeout(resolve, 100));
      const wft = await svc.pollWorkflowTaskQueue({ namespace: 'default', taskQueue: { name: taskQueue } });
      const ids = Object.keys(wft.queries ?? {});
      assert.equal(ids.length, 1, 'the query came with the workflow task');
      await svc.respondWorkflowTaskCompleted({
        namespace: 'default',
        taskToken: wft.taskToken,
        commands: [],
        queryResults: {
          [ids[0]!]: {
            resultType: QueryResultType.QUERY_RESULT_TYPE_ANSWERED,
            answer: bigPayloads(TOO_LARGE),
          },
        },
      });
      assert.ok(blobRefusal(await answer), `the query got ${String(await answer)}`);
      await handle.terminate('test over');
    });

    it('when a worker answers a query task with over 2 MiB, then the query fails with the real server message', async function () {
      const { client } = await sharedServer();
      const svc = client.workflowService;
      const taskQueue = uniqueQueue('query-legacy');
      const handle = await idleRun(client, taskQueue);
      const answer = query(client, taskQueue).catch((err: unknown) => err);
      const task = await svc.pollWorkflowTaskQueue({ namespace: 'default', taskQueue: { name: taskQueue } });
      assert.equal(task.query?.queryType, 'q', 'a query task');
      await svc.respondQueryTaskCompleted({
        namespace: 'default',
        taskToken: task.taskToken,
        completedType: QueryResultType.QUERY_RESULT_TYPE_ANSWERED,
        queryResult: bigPayloads(TOO_LARGE),
      });
      assert.ok(blobRefusal(await answer), `the query got ${String(await answer)}`);
      await handle.terminate('test over');
    });
  });

  it('when an activity returns more than 2 MiB, then it fails at once, non-retryable, with the real server reason', async function () {
    const { client, nativeConnection } = await sharedServer();
    const taskQueue = uniqueQueue();
    let attempts = 0;
    const outcome = await withWorker(
      nativeConnection,
      {
        taskQueue,
        activities: {
          largeResult: async (bytes: number) => {
            attempts++;
            return 'x'.repeat(bytes);
          },
        },
      },
      () =>
        client.workflow.execute(largeActivityResult, { taskQueue, workflowId: taskQueue, args: [TOO_LARGE] }),
    );
    assert.match(
      outcome,
      /^failed: ServerFailure Complete result exceeds size limit\. nonRetryable=true retryState=.*NON_RETRYABLE/,
    );
    assert.equal(attempts, 1);
  });

  /** Starts a run whose first task schedules activity a1 (up to 5 attempts), and takes its task. */
  async function startedActivity(client: Client, taskQueue: string): Promise<Uint8Array> {
    const svc = client.workflowService;
    await client.workflow.start('anything', { taskQueue, workflowId: taskQueue });
    const wft = await svc.pollWorkflowTaskQueue({ namespace: 'default', taskQueue: { name: taskQueue } });
    await svc.respondWorkflowTaskCompleted({
      namespace: 'default',
      taskToken: wft.taskToken,
      commands: [
        {
          commandType: CommandType.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK,
          scheduleActivityTaskCommandAttributes: {
            activityId: 'a1',
            activityType: { name: 'step' },
            taskQueue: { name: taskQueue },
            startToCloseTimeout: msToTs(60_000),
            retryPolicy: { maximumAttempts: 5, initialInterval: msToTs(3_600_000) },
          },
        },
      ],
    });
    const task = await svc.pollActivityTaskQueue({ namespace: 'default', taskQueue: { name: taskQueue } });
    return task.taskToken;
  }

  it('when heartbeat or cancellation details of an activity are over 2 MiB, then the activity fails at once, non-retryable, with the real server reasons', async function () {
    const { client } = await sharedServer();
    const svc = client.workflowService;
    const reasons: string[] = [];
    for (const kind of ['heartbeat', 'cancel'] as const) {
      const taskQueue = uniqueQueue(kind);
      const taskToken = await startedActivity(client, taskQueue);
      if (kind === 'heartbeat') {
        const res = await svc.recordActivityTaskHeartbeat({
          namespace: 'default',
          taskToken,
          details: bigPayloads(TOO_LARGE),
        });
        assert.equal(res.cancelRequested, true, 'the worker is told to stop');
      } else {
        await svc.respondActivityTaskCanceled({
          namespace: 'default',
          taskToken,
          details: bigPayloads(TOO_LARGE),
        });
      }
      const events: IHistoryEvent[] = (await client.workflow.getHandle(taskQueue).fetchHistory()).events!;
      const failed = events.find(
        (e) => e.activityTaskFailedEventAttributes,
      )?.activityTaskFailedEventAttributes;
      assert.ok(failed, `${kind}: the activity failed (not retried)`);
      assert.equal(failed.failure?.serverFailureInfo?.nonRetryable, true);
      reasons.push(failed.failure?.message ?? '');
      await client.workflow.getHandle(taskQueue).terminate('test over');
    }
    assert.deepEqual(reasons, ['Heartbeat details exceed size limit.', 'Cancel details exceed size limit.']);
  });

  it('when the failure of an activity is over 2 MiB, then it is replaced by a retryable "Failure exceeds size limit." holding what fits of it, and the retry policy decides', async function () {
    const { client } = await sharedServer();
    const svc = client.workflowService;
    const taskQueue = uniqueQueue('failure');
    const taskToken = await startedActivity(client, taskQueue);
    const message = 'm'.repeat(TOO_LARGE);
    const res = await svc.respondActivityTaskFailed({
      namespace: 'default',
      taskToken,
      failure: {
        message,
        applicationFailureInfo: { type: 'Big' },
        cause: { message: 'root cause', applicationFailureInfo: { type: 'Root' } },
      },
    });
    assert.deepEqual(
      res.failures?.map((f) => [f.message, f.serverFailureInfo?.nonRetryable ?? false]),
      [['Failure exceeds size limit.', false]],
    );
    const handle = client.workflow.getHandle(taskQueue);
    const events: IHistoryEvent[] = (await handle.fetchHistory()).events!;
    assert.ok(
      !events.some((e) => e.activityTaskFailedEventAttributes),
      'the activity is retried (attempt 2 of 5), not failed',
    );
    const pending = (await handle.describe()).raw.pendingActivities?.[0];
    assert.equal(pending?.attempt, 2);
    const last = pending?.lastFailure;
    assert.equal(last?.message, 'Failure exceeds size limit.');
    assert.equal(last?.serverFailureInfo?.nonRetryable ?? false, false);
    // What the real server's failure.Truncate guarantees: the original, cut to fit the
    // 512 KiB warning size (its type kept, its message a prefix), its causes kept while they fit.
    const cause = last?.cause;
    assert.equal(cause?.applicationFailureInfo?.type, 'Big');
    assert.ok(cause?.message && cause.message.length > 0 && message.startsWith(cause.message));
    assert.ok(
      temporal.api.failure.v1.Failure.encode(cause).finish().length <= 512 * 1024,
      'the kept failure fits in 512 KiB',
    );
    await handle.terminate('test over');
  });

  describe('the warning size', function () {
    let launched: LaunchedServer | undefined;

    after(async function () {
      await launched?.stop();
    });

    it('when a request carries more than 512 KiB (but at most 2 MiB), then it is accepted and a warning is logged', async function () {
      const server = (launched = await launchWithLogLevel('info'));
      const connection = await Connection.connect({ address: server.address });
      try {
        const client = new Client({ connection });
        const taskQueue = uniqueQueue();
        const handle = await client.workflow.start(collector, { taskQueue, workflowId: taskQueue });
        await handle.signal('add', 'x'.repeat(600 * 1024));
        const events = (await handle.fetchHistory()).events!;
        assert.ok(
          events.some((e) => e.workflowExecutionSignaledEventAttributes),
          'the signal was taken',
        );
        await waitFor(
          async () => /WARN Blob data size exceeds the warning limit/.test(server.stderr()),
          'the warning',
        );
        assert.match(
          server.stderr(),
          /WARN Blob data size exceeds the warning limit: \d+ bytes .* SignalWorkflowExecution/,
        );
        await handle.terminate('test over');
      } finally {
        await connection.close();
      }
    });
  });
});

/**
 * A run's history a few events per page. The SDK client cannot take a response over 4 MiB
 * (it sets `max_receive_message_length`, which grpc-js does not know, instead of
 * `grpc.max_receive_message_length`), and these histories hold megabytes per event.
 */
async function historyInSmallPages(client: Client, workflowId: string): Promise<IHistoryEvent[]> {
  const events: IHistoryEvent[] = [];
  let nextPageToken: Uint8Array | undefined;
  do {
    const page = await client.workflowService.getWorkflowExecutionHistory({
      namespace: 'default',
      execution: { workflowId },
      maximumPageSize: 2,
      nextPageToken,
    });
    events.push(...(page.history?.events ?? []));
    nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
  } while (nextPageToken);
  return events;
}

describe('dev server: history limits (the real server defaults)', function () {
  function engineWithLog(): { engine: Engine; warnings: string[] } {
    const warnings: string[] = [];
    const log: Logger = { ...createLogger('silent'), warn: (m: string) => void warnings.push(m) };
    const engine = new Engine({ clock: new RealClock(), log });
    engine.registerNamespace('default');
    return { engine, warnings };
  }

  function lastEvent(events: IHistoryEvent[]): IHistoryEvent {
    return events[events.length - 1]!;
  }

  it('when a run passes 51,200 history events, then it is terminated by the history service, with a warning from 10,240', async function () {
    const { engine, warnings } = engineWithLog();
    const { exec } = startWorkflow(engine, startInput('many-events', 'tq'));
    for (let i = 0; exec.running && i < 60_000; i++) {
      signalRun(engine, exec, { signalName: 'tick' });
      void engine.commit();
    }
    await engine.commit();
    assert.equal(exec.running, false);
    // Terminated at the first commit past the limit: 51,201 events, then the termination.
    assert.equal(exec.history.length, 51_202);
    const last = lastEvent(exec.history as IHistoryEvent[]).workflowExecutionTerminatedEventAttributes;
    assert.equal(last?.reason, 'Workflow history count exceeds limit.');
    assert.equal(last?.identity, 'history-service');
    assert.equal(warnings.filter((w) => /history count exceeds warn limit: 10241 events/.test(w)).length, 1);
    assert.equal(warnings.filter((w) => /history count exceeds error limit/.test(w)).length, 1);
    engine.close();
  });

  it('when a run passes 50 MiB of history, then it is terminated by the history service, with a warning from 10 MiB', async function () {
    const { engine, warnings } = engineWithLog();
    const { exec } = startWorkflow(engine, startInput('big-events', 'tq'));
    for (let i = 0; exec.running && i < 60; i++) {
      signalRun(engine, exec, { signalName: 'tick', input: bigPayloads(MiB) as never });
      await engine.commit();
    }
    assert.equal(exec.running, false);
    assert.ok(exec.historySizeBytes > 50 * MiB);
    assert.equal(
      lastEvent(exec.history as IHistoryEvent[]).workflowExecutionTerminatedEventAttributes?.reason,
      'Workflow history size exceeds limit.',
    );
    assert.equal(warnings.filter((w) => /history size exceeds warn limit/.test(w)).length, 1);
    engine.close();
  });

  it('when a client keeps signalling a workflow past 50 MiB of history, then the run is terminated and further signals find it closed', async function () {
    const srv = await startTestServer();
    try {
      const taskQueue = uniqueQueue();
      const handle = await srv.client.workflow.start(collector, { taskQueue, workflowId: taskQueue });
      let refused: unknown;
      for (let i = 0; i < 60 && refused === undefined; i++) {
        await handle.signal('add', 'x'.repeat(MiB)).catch((err: unknown) => (refused = err));
      }
      assert.ok(refused, 'a signal was refused once the run was terminated');
      const d = await handle.describe();
      assert.equal(d.status.name, 'TERMINATED');
      const events = await historyInSmallPages(srv.client, taskQueue);
      assert.equal(
        lastEvent(events).workflowExecutionTerminatedEventAttributes?.reason,
        'Workflow history size exceeds limit.',
      );
    } finally {
      await srv.close();
    }
  });

  it('when history grows past 4 MiB, then the next workflow task reports its size and suggests continue-as-new', async function () {
    const { client, nativeConnection } = await sharedServer();
    const taskQueue = uniqueQueue();
    const handle = await client.workflow.start(historyInfoAtFinish, { taskQueue, workflowId: taskQueue });
    // No worker yet: the signals all go into history before the task that reads the info.
    for (let i = 0; i < 42; i++) await handle.signal('pad', 'x'.repeat(100 * 1024));
    await handle.signal(finishSignal);
    const info = await withWorker(nativeConnection, { taskQueue }, () => handle.result());
    assert.ok(info.historySize > 4 * MiB, `history size ${info.historySize}`);
    assert.equal(info.continueAsNewSuggested, true);
    const started = (await historyInSmallPages(client, taskQueue))
      .filter((e) => e.workflowTaskStartedEventAttributes)
      .map((e) => e.workflowTaskStartedEventAttributes!);
    const last = started[started.length - 1]!;
    assert.ok(
      Number(last.historySizeBytes) > 4 * MiB,
      `started event says ${String(last.historySizeBytes)} bytes`,
    );
    assert.equal(last.suggestContinueAsNew, true);
  });
});
