import { strict as assert } from 'node:assert';
import { ApplicationFailure } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { status } from '@grpc/grpc-js';
import { sharedServer, startTestServer, uniqueQueue, withWorker, waitFor } from './helpers';
import {
  collector,
  addSignal,
  doneSignal,
  itemsQuery,
  runDelayedRetry,
  parentWaits,
  sleeper,
  failing,
  CustomKeyword,
} from './workflows';

const EventType = temporal.api.enums.v1.EventType;

describe('dev server: queries, describe, list, count and history', function () {
  it('when a workflow is idle, then a query goes to the worker as a query task and an unknown query is an error', async function () {
    const { client, nativeConnection } = await sharedServer();
    const taskQueue = uniqueQueue();
    await withWorker(nativeConnection, { taskQueue }, async () => {
      const handle = await client.workflow.start(collector, { taskQueue, workflowId: taskQueue });
      await handle.signal(addSignal, 'q');
      await waitFor(async () => (await handle.query(itemsQuery)).length === 1);
      assert.deepEqual(await handle.query(itemsQuery), ['q']);
      await assert.rejects(handle.query('no-such-query'), /no-such-query/);
      await handle.terminate();
    });
  });

  it('when the first workflow task has not completed, then a query waits for it instead of failing', async function () {
    const { client, nativeConnection } = await sharedServer();
    const taskQueue = uniqueQueue();
    const handle = await client.workflow.start(collector, { taskQueue, workflowId: taskQueue });
    const query = handle.query(itemsQuery);
    // No worker yet: the query cannot be answered until one runs the first task.
    const answer = await withWorker(nativeConnection, { taskQueue }, () => query);
    assert.deepEqual(answer, []);
    await handle.terminate();
  });

  it('when a workflow task is pending, then the query rides on it and sees the events it carries', async function () {
    const { client, nativeConnection } = await sharedServer();
    const taskQueue = uniqueQueue();
    const handle = await withWorker(nativeConnection, { taskQueue }, async () => {
      const h = await client.workflow.start(collector, { taskQueue, workflowId: taskQueue });
      await waitFor(async () => !(await h.describe()).raw.pendingWorkflowTask, 'first task done');
      return h;
    });
    await handle.signal(addSignal, 'pending');
    const query = handle.query(itemsQuery);
    const answer = await withWorker(nativeConnection, { taskQueue }, () => query);
    assert.deepEqual(answer, ['pending']);
    await handle.terminate();
  });

  it('when a workflow has closed, then it can still be queried', async function () {
    const { client, nativeConnection } = await sharedServer();
    const taskQueue = uniqueQueue();
    await withWorker(nativeConnection, { taskQueue }, async () => {
      const handle = await client.workflow.start(collector, { taskQueue, workflowId: taskQueue });
      await handle.signal(addSignal, 'kept');
      await handle.signal(doneSignal);
      await handle.result();
      assert.deepEqual(await handle.query(itemsQuery), ['kept']);
    });
  });

  it('when an activity is retrying and a child is running, then describe shows the pending activity and child', async function () {
    const { client, nativeConnection } = await sharedServer();
    const taskQueue = uniqueQueue();
    await withWorker(
      nativeConnection,
      {
        taskQueue,
        activities: {
          async delayedRetry(): Promise<number> {
            throw ApplicationFailure.create({ message: 'try again in an hour', nextRetryDelay: '1h' });
          },
        },
      },
      async () => {
        const handle = await client.workflow.start(runDelayedRetry, { taskQueue, workflowId: taskQueue });
        await waitFor(
          async () => (await handle.describe()).raw.pendingActivities?.[0]?.attempt === 2,
          'retry scheduled',
        );
        const pa = (await handle.describe()).raw.pendingActivities![0]!;
        assert.equal(pa.activityType?.name, 'delayedRetry');
        assert.equal(pa.lastFailure?.message, 'try again in an hour');
        assert.equal((await handle.describe()).status.name, 'RUNNING');
        await handle.terminate();

        const parent = await client.workflow.start(parentWaits, { taskQueue, workflowId: `${taskQueue}-p` });
        await waitFor(
          async () => ((await parent.describe()).raw.pendingChildren?.length ?? 0) === 1,
          'child started',
        );
        const pc = (await parent.describe()).raw.pendingChildren![0]!;
        assert.equal(pc.workflowId, `${taskQueue}-p-child`);
        assert.equal(pc.workflowTypeName, 'child');
        await parent.terminate();
      },
    );
  });

  it('when listing and counting with visibility filters, then only the matching runs come back in order', async function () {
    const srv = await startTestServer();
    const { client, nativeConnection } = srv;
    const taskQueue = uniqueQueue();
    const before = new Date(Date.now() - 1000).toISOString();
    await withWorker(nativeConnection, { taskQueue }, async () => {
      await client.workflow.execute(sleeper, { taskQueue, workflowId: 'done-1', args: [1] });
      await client.workflow.execute(sleeper, { taskQueue, workflowId: 'done-2', args: [1] });
      await client.workflow
        .execute(failing, { taskQueue, workflowId: 'failed-1', args: ['x'] })
        .catch(() => undefined);
      await client.workflow.start(collector, {
        taskQueue,
        workflowId: 'open-1',
        typedSearchAttributes: [{ key: CustomKeyword, value: 'blue' }],
      });
    });
    const ids = async (query: string): Promise<string[]> => {
      const out: string[] = [];
      for await (const w of client.workflow.list({ query })) out.push(w.workflowId);
      return out;
    };
    assert.deepEqual(await ids(`WorkflowType = 'sleeper' ORDER BY StartTime ASC`), ['done-1', 'done-2']);
    assert.deepEqual(await ids(`ExecutionStatus = 'Running'`), ['open-1']);
    assert.deepEqual(await ids(`ExecutionStatus = 'Failed' OR CustomKeywordField = 'blue'`), [
      'open-1',
      'failed-1',
    ]);
    assert.deepEqual(await ids(`WorkflowId = 'done-2' AND WorkflowType = 'sleeper'`), ['done-2']);
    assert.deepEqual(await ids(`StartTime > '${before}' AND CloseTime IS NULL`), ['open-1']);
    assert.deepEqual(await ids(`StartTime < '${before}'`), []);
    assert.deepEqual(await ids(`WorkflowId IN ('done-1', 'open-1') ORDER BY StartTime DESC`), [
      'open-1',
      'done-1',
    ]);
    assert.equal((await client.workflow.count(`ExecutionStatus = 'Completed'`)).count, 2);
    const grouped = await client.workflow.count('GROUP BY ExecutionStatus');
    const byStatus = Object.fromEntries(grouped.groups.map((g) => [String(g.groupValues[0]), g.count]));
    assert.deepEqual(byStatus, { Completed: 2, Failed: 1, Running: 1 });
    await assert.rejects(
      ids(`WorkflowId = `),
      (e: { cause?: { code?: number } }) => e.cause?.code === status.INVALID_ARGUMENT,
    );
    await srv.close();
  });

  it('when history is read with a long poll, a close-event filter and in reverse, then each returns the right events', async function () {
    const { client, nativeConnection } = await sharedServer();
    const taskQueue = uniqueQueue();
    await withWorker(nativeConnection, { taskQueue }, async () => {
      const handle = await client.workflow.start(collector, { taskQueue, workflowId: taskQueue });
      await waitFor(async () => (await handle.describe()).historyLength >= 4);
      const svc = client.workflowService;
      const current = await svc.getWorkflowExecutionHistory({
        namespace: 'default',
        execution: { workflowId: taskQueue },
      });
      const n = current.history!.events!.length;
      // Ask for what comes after the events we have: the call waits until the signal lands.
      const token = Buffer.from(JSON.stringify({ k: 'h', from: n + 1, to: 0, tseq: 0 }));
      const longPoll = svc.getWorkflowExecutionHistory({
        namespace: 'default',
        execution: { workflowId: taskQueue },
        waitNewEvent: true,
        nextPageToken: token,
      });
      await handle.signal(addSignal, 'x');
      const polled = await longPoll;
      assert.equal(polled.history!.events![0]!.eventType, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED);

      await handle.signal(doneSignal);
      await handle.result();
      const closeOnly = await svc.getWorkflowExecutionHistory({
        namespace: 'default',
        execution: { workflowId: taskQueue },
        historyEventFilterType:
          temporal.api.enums.v1.HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT,
      });
      assert.equal(closeOnly.history!.events!.length, 1);
      assert.equal(
        closeOnly.history!.events![0]!.eventType,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
      );
      const reverse = await svc.getWorkflowExecutionHistoryReverse({
        namespace: 'default',
        execution: { workflowId: taskQueue },
      });
      const ids = reverse.history!.events!.map((e) => Number(e.eventId));
      assert.equal(ids[0], (await handle.describe()).historyLength);
      assert.equal(ids.at(-1), 1);
    });
  });
});
