import { strict as assert } from 'node:assert';
import { WorkflowUpdateFailedError, WithStartWorkflowOperation } from '@temporalio/client';
import { sharedServer, uniqueQueue, withWorker, waitFor } from './helpers';
import {
  parentOf,
  parentCancelsChild,
  parentLeavesChild,
  externalActor,
  signalMissing,
  collector,
  cancellable,
  markers,
  upserter,
  setStage,
  doneSignal,
  updatable,
  incrementUpdate,
  CustomKeyword,
} from './workflows';

describe('dev server: child workflows, external workflows, markers, upserts, updates', function () {
  it('when a parent runs a child that completes or fails, then the parent gets the result or the ChildWorkflowFailure', async function () {
    const { client, nativeConnection } = await sharedServer();
    const taskQueue = uniqueQueue();
    await withWorker(nativeConnection, { taskQueue }, async () => {
      assert.equal(
        await client.workflow.execute(parentOf, {
          taskQueue,
          workflowId: `${taskQueue}-ok`,
          args: ['complete'],
        }),
        'child:x',
      );
      assert.equal(
        await client.workflow.execute(parentOf, {
          taskQueue,
          workflowId: `${taskQueue}-fail`,
          args: ['fail'],
        }),
        'caught: child failed on x',
      );
      const child = await client.workflow.getHandle(`${taskQueue}-ok-child`).describe();
      assert.equal(child.status.name, 'COMPLETED');
      assert.equal(child.parentExecution?.workflowId, `${taskQueue}-ok`);
    });
  });

  it('when a parent cancels its child, then the child is cancelled and the parent sees it', async function () {
    const { client, nativeConnection } = await sharedServer();
    const taskQueue = uniqueQueue();
    await withWorker(nativeConnection, { taskQueue }, async () => {
      assert.equal(
        await client.workflow.execute(parentCancelsChild, { taskQueue, workflowId: taskQueue }),
        'child cancelled',
      );
      assert.equal(
        (await client.workflow.getHandle(`${taskQueue}-child`).describe()).status.name,
        'CANCELLED',
      );
    });
  });

  it('when a parent closes, then its children follow the parent close policy', async function () {
    const { client, nativeConnection } = await sharedServer();
    const taskQueue = uniqueQueue();
    await withWorker(nativeConnection, { taskQueue }, async () => {
      const expected = { TERMINATE: 'TERMINATED', ABANDON: 'RUNNING', REQUEST_CANCEL: 'CANCELLED' } as const;
      for (const policy of ['TERMINATE', 'ABANDON', 'REQUEST_CANCEL'] as const) {
        const childId = await client.workflow.execute(parentLeavesChild, {
          taskQueue,
          workflowId: `${taskQueue}-${policy}`,
          args: [policy],
        });
        const child = client.workflow.getHandle(childId);
        await waitFor(
          async () => (await child.describe()).status.name === expected[policy],
          `child ${policy}`,
        );
        if (policy === 'ABANDON') await child.terminate();
      }
    });
  });

  it('when a workflow signals or cancels another by id, then the target receives it; a missing target fails the signal', async function () {
    const { client, nativeConnection } = await sharedServer();
    const taskQueue = uniqueQueue();
    await withWorker(nativeConnection, { taskQueue }, async () => {
      const target = await client.workflow.start(collector, { taskQueue, workflowId: `${taskQueue}-target` });
      await client.workflow.execute(externalActor, {
        taskQueue,
        workflowId: `${taskQueue}-a`,
        args: [target.workflowId, 'signal'],
      });
      assert.deepEqual(await target.result(), ['from-external']);
      const victim = await client.workflow.start(cancellable, {
        taskQueue,
        workflowId: `${taskQueue}-victim`,
      });
      await client.workflow.execute(externalActor, {
        taskQueue,
        workflowId: `${taskQueue}-b`,
        args: [victim.workflowId, 'cancel'],
      });
      assert.equal(await victim.result(), 'cleaned up after cancel');
      assert.match(
        await client.workflow.execute(signalMissing, { taskQueue, workflowId: `${taskQueue}-c` }),
        /^failed/,
      );
    });
  });

  it('when a workflow uses a patch and a local activity, then both are recorded as markers', async function () {
    const { client, nativeConnection } = await sharedServer();
    const taskQueue = uniqueQueue();
    await withWorker(
      nativeConnection,
      { taskQueue, activities: { greet: async (n: string) => `hey ${n}` } },
      async () => {
        assert.equal(
          await client.workflow.execute(markers, { taskQueue, workflowId: taskQueue, args: ['kim'] }),
          'hey kim:true',
        );
        const history = await client.workflow.getHandle(taskQueue).fetchHistory();
        const markerNames = history
          .events!.filter((e) => e.markerRecordedEventAttributes)
          .map((e) => e.markerRecordedEventAttributes!.markerName);
        assert.deepEqual(markerNames.sort(), ['core_local_activity', 'core_patch']);
      },
    );
  });

  it('when a workflow upserts search attributes and memo, then describe and list reflect the new values', async function () {
    const { client, nativeConnection } = await sharedServer();
    const taskQueue = uniqueQueue();
    await withWorker(nativeConnection, { taskQueue }, async () => {
      const handle = await client.workflow.start(upserter, {
        taskQueue,
        workflowId: taskQueue,
        memo: { untouched: 1 },
      });
      await handle.signal(setStage, `stage-${taskQueue}`);
      await waitFor(
        async () =>
          (await handle.describe()).typedSearchAttributes.get(CustomKeyword) === `stage-${taskQueue}`,
      );
      const d = await handle.describe();
      assert.deepEqual(d.memo, { stage: `stage-${taskQueue}` });
      const found = await client.workflow.count(`CustomKeywordField = 'stage-${taskQueue}'`);
      assert.equal(found.count, 1);
      await handle.signal(doneSignal);
      await handle.result();
    });
  });

  it('when updates are sent, then accepted ones change state and return a result, and the validator rejects bad ones', async function () {
    const { client, nativeConnection } = await sharedServer();
    const taskQueue = uniqueQueue();
    await withWorker(nativeConnection, { taskQueue }, async () => {
      const handle = await client.workflow.start(updatable, { taskQueue, workflowId: taskQueue });
      assert.equal(await handle.executeUpdate(incrementUpdate, { args: [2] }), 2);
      const started = await handle.startUpdate(incrementUpdate, {
        args: [3],
        waitForStage: 'ACCEPTED',
        updateId: 'u-3',
      });
      assert.equal(await started.result(), 5);
      await assert.rejects(handle.executeUpdate(incrementUpdate, { args: [-1] }), WorkflowUpdateFailedError);
      // The same update id again returns the recorded outcome instead of running twice.
      assert.equal(await handle.executeUpdate(incrementUpdate, { args: [3], updateId: 'u-3' }), 5);
      await handle.signal(doneSignal);
      assert.equal(await handle.result(), 5);
      const events = (await handle.fetchHistory()).events!;
      assert.equal(events.filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes).length, 2);
      assert.equal(events.filter((e) => e.workflowExecutionUpdateCompletedEventAttributes).length, 2);
    });
  });

  it('when update-with-start targets a new workflow, then it starts and the update result comes back', async function () {
    const { client, nativeConnection } = await sharedServer();
    const taskQueue = uniqueQueue();
    await withWorker(nativeConnection, { taskQueue }, async () => {
      const startOp = new WithStartWorkflowOperation(updatable, {
        taskQueue,
        workflowId: taskQueue,
        workflowIdConflictPolicy: 'USE_EXISTING',
      });
      assert.equal(
        await client.workflow.executeUpdateWithStart(incrementUpdate, {
          args: [4],
          startWorkflowOperation: startOp,
        }),
        4,
      );
      const handle = await startOp.workflowHandle();
      const again = new WithStartWorkflowOperation(updatable, {
        taskQueue,
        workflowId: taskQueue,
        workflowIdConflictPolicy: 'USE_EXISTING',
      });
      assert.equal(
        await client.workflow.executeUpdateWithStart(incrementUpdate, {
          args: [1],
          startWorkflowOperation: again,
        }),
        5,
      );
      assert.equal((await (await again.workflowHandle()).describe()).runId, (await handle.describe()).runId);
      await handle.signal(doneSignal);
      assert.equal(await handle.result(), 5);
    });
  });
});
