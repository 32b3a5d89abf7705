import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import {
  WorkflowUpdateFailedError,
  WithStartWorkflowOperation,
  WorkflowExecutionAlreadyStartedError,
  type Client,
} from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import { google, temporal } from '@temporalio/proto';
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

  it('when either operation of update-with-start is invalid, then nothing starts and each operation reports its own status', async function () {
    const { client } = await sharedServer();
    const taskQueue = uniqueQueue();
    // An invalid start (update-with-start does not take a cron schedule).
    const cronStart = new WithStartWorkflowOperation(updatable, {
      taskQueue,
      workflowId: taskQueue,
      workflowIdConflictPolicy: 'USE_EXISTING',
      cronSchedule: '* * * * *',
    });
    await assert.rejects(
      client.workflow.executeUpdateWithStart(incrementUpdate, {
        args: [1],
        startWorkflowOperation: cronStart,
      }),
    );
    await assert.rejects(cronStart.workflowHandle());
    // An invalid update (its id is too long) with a valid start.
    const validStart = new WithStartWorkflowOperation(updatable, {
      taskQueue,
      workflowId: taskQueue,
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
    await assert.rejects(
      client.workflow.executeUpdateWithStart(incrementUpdate, {
        args: [1],
        updateId: 'u'.repeat(1001),
        startWorkflowOperation: validStart,
      }),
    );
    await assert.rejects(client.workflow.getHandle(taskQueue).describe(), WorkflowNotFoundError);

    // On the wire: the failing operation carries its error, the other one is aborted.
    const err = await client.workflowService
      .executeMultiOperation(multiOpRequest(client, taskQueue, 'u'.repeat(1001), 1))
      .then(
        () => assert.fail('expected the multi-operation to fail'),
        (e: unknown) => e as { code: number; metadata: { get(key: string): unknown[] } },
      );
    assert.equal(err.code, 3, 'INVALID_ARGUMENT, from the update');
    const statuses = multiOpStatuses(err);
    assert.deepEqual(
      statuses.map((st) => st.code),
      [10, 3],
    );
    assert.match(statuses[0]!.details![0]!.type_url!, /MultiOperationExecutionAborted$/);
    assert.equal(statuses[1]!.message, 'UpdateId length exceeds limit.');
    await assert.rejects(client.workflow.getHandle(taskQueue).describe(), WorkflowNotFoundError);
  });

  it('when update-with-start meets a running workflow and the conflict policy is FAIL, then the start is refused and nothing changes', async function () {
    const { client, nativeConnection } = await sharedServer();
    const taskQueue = uniqueQueue();
    await withWorker(nativeConnection, { taskQueue }, async () => {
      const handle = await client.workflow.start(updatable, { taskQueue, workflowId: taskQueue });
      await waitFor(async () => (await handle.describe()).historyLength >= 4, 'first task completed');
      const before = (await handle.fetchHistory()).events!.length;
      const refused = new WithStartWorkflowOperation(updatable, {
        taskQueue,
        workflowId: taskQueue,
        workflowIdConflictPolicy: 'FAIL',
      });
      await assert.rejects(
        client.workflow.executeUpdateWithStart(incrementUpdate, {
          args: [7],
          startWorkflowOperation: refused,
        }),
        WorkflowExecutionAlreadyStartedError,
      );
      await assert.rejects(refused.workflowHandle(), WorkflowExecutionAlreadyStartedError);
      const d = await handle.describe();
      assert.equal(d.historyLength, before, 'no update admitted, no workflow task scheduled');
      assert.equal(d.raw.pendingWorkflowTask ?? null, null);
      assert.equal((await client.workflow.count(`WorkflowId = '${taskQueue}'`)).count, 1);
      // The refused update never ran: the total starts from zero.
      assert.equal(await handle.executeUpdate(incrementUpdate, { args: [1] }), 1);
      await handle.signal(doneSignal);
      assert.equal(await handle.result(), 1);
    });
  });

  it('when update-with-start asks for a stage, then the answer waits for it; a retry with the same update id gets the same outcome', async function () {
    const { client, nativeConnection } = await sharedServer();
    const taskQueue = uniqueQueue();
    await withWorker(nativeConnection, { taskQueue }, async () => {
      const Stage = temporal.api.enums.v1.UpdateWorkflowExecutionLifecycleStage;
      // Raw call asking for COMPLETED: the outcome is in the answer itself.
      const res = await client.workflowService.executeMultiOperation(
        multiOpRequest(
          client,
          taskQueue,
          'u-1',
          4,
          Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED,
        ),
      );
      assert.equal(res.responses[0]!.startWorkflow!.started, true);
      const update = res.responses[1]!.updateWorkflow!;
      assert.equal(update.stage, Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED);
      assert.equal(
        client.options.loadedDataConverter.payloadConverter.fromPayload(
          update.outcome!.success!.payloads![0]!,
        ),
        4,
      );

      // Through the SDK, waiting for ACCEPTED: when the call returns, the update is in history.
      const accepted = await client.workflow.startUpdateWithStart(incrementUpdate, {
        args: [2],
        updateId: 'u-2',
        waitForStage: 'ACCEPTED',
        startWorkflowOperation: new WithStartWorkflowOperation(updatable, {
          taskQueue,
          workflowId: taskQueue,
          workflowIdConflictPolicy: 'USE_EXISTING',
        }),
      });
      const handle = client.workflow.getHandle(taskQueue);
      const acceptedIds = (await handle.fetchHistory())
        .events!.filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes)
        .map((e) => e.workflowExecutionUpdateAcceptedEventAttributes!.protocolInstanceId);
      assert.deepEqual(acceptedIds, ['u-1', 'u-2']);
      assert.equal(await accepted.result(), 6);

      // The same update id again, whatever the arguments or conflict policy: the recorded outcome.
      for (const policy of ['USE_EXISTING', 'FAIL'] as const) {
        assert.equal(
          await client.workflow.executeUpdateWithStart(incrementUpdate, {
            args: [100],
            updateId: 'u-1',
            startWorkflowOperation: new WithStartWorkflowOperation(updatable, {
              taskQueue,
              workflowId: taskQueue,
              workflowIdConflictPolicy: policy,
            }),
          }),
          4,
        );
      }
      await handle.signal(doneSignal);
      assert.equal(await handle.result(), 6);
      // Also once the run has closed.
      assert.equal(
        await client.workflow.executeUpdateWithStart(incrementUpdate, {
          args: [100],
          updateId: 'u-2',
          startWorkflowOperation: new WithStartWorkflowOperation(updatable, {
            taskQueue,
            workflowId: taskQueue,
            workflowIdConflictPolicy: 'FAIL',
          }),
        }),
        6,
      );
      const events = (await handle.fetchHistory()).events!;
      assert.equal(events.filter((e) => e.workflowExecutionUpdateCompletedEventAttributes).length, 2);
      assert.equal((await client.workflow.count(`WorkflowId = '${taskQueue}'`)).count, 1);
    });
  });
});

function multiOpRequest(client: Client, workflowId: string, updateId: string, by: number, stage = 0) {
  const payload = client.options.loadedDataConverter.payloadConverter.toPayload(by);
  return {
    namespace: 'default',
    operations: [
      {
        startWorkflow: {
          namespace: 'default',
          workflowId,
          workflowType: { name: 'updatable' },
          taskQueue: { name: workflowId },
          requestId: randomUUID(),
          workflowIdConflictPolicy:
            temporal.api.enums.v1.WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
        },
      },
      {
        updateWorkflow: {
          namespace: 'default',
          workflowExecution: { workflowId },
          request: { meta: { updateId }, input: { name: 'increment', args: { payloads: [payload] } } },
          waitPolicy: { lifecycleStage: stage },
        },
      },
    ],
  };
}

/** The per-operation statuses of a failed ExecuteMultiOperation. */
function multiOpStatuses(err: { metadata: { get(key: string): unknown[] } }) {
  const bin = err.metadata.get('grpc-status-details-bin')[0] as Buffer;
  const status = google.rpc.Status.decode(bin);
  const detail = status.details[0]!;
  assert.match(detail.type_url!, /MultiOperationExecutionFailure$/);
  return temporal.api.errordetails.v1.MultiOperationExecutionFailure.decode(detail.value!).statuses;
}
