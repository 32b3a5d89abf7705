import { strict as assert } from 'node:assert';
import * as grpc from '@grpc/grpc-js';
import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { startInput, startTestServer, uniqueQueue, type TestServer } from './helpers';
import { Engine } from '../../devserver/core/engine';
import { RealClock } from '../../devserver/core/clock';
import { createLogger } from '../../devserver/logger';
import { startWorkflow } from '../../devserver/core/lifecycle';
import { admitUpdate, MAX_IN_FLIGHT_UPDATES, MAX_TOTAL_UPDATES } from '../../devserver/core/updates';
import { RpcError } from '../../devserver/rpc/errors';

const Stage = temporal.api.enums.v1.UpdateWorkflowExecutionLifecycleStage;

function updateRequest(updateId: string): temporal.api.update.v1.IRequest {
  return { meta: { updateId }, input: { name: 'add' } };
}

describe('dev server: limits on updates per run', function () {
  let srv: TestServer;
  let raw: Connection;

  before(async function () {
    srv = await startTestServer();
    // No retry interceptor: the SDK's default one retries RESOURCE_EXHAUSTED for seconds.
    raw = await Connection.connect({ address: srv.server.address, interceptors: [] });
  });

  after(async function () {
    await raw?.close();
    await srv?.close();
  });

  it('when a run already has the maximum of updates in flight, then another is refused with RESOURCE_EXHAUSTED and nothing changes, while a retried one is still answered', async function () {
    const workflowId = uniqueQueue('updates-in-flight');
    // No worker polls this queue, so every admitted update stays in flight.
    await srv.client.workflow.start('collector', { taskQueue: workflowId, workflowId });
    const update = (updateId: string) =>
      raw.workflowService.updateWorkflowExecution({
        namespace: 'default',
        workflowExecution: { workflowId },
        request: updateRequest(updateId),
        waitPolicy: { lifecycleStage: Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED },
      });
    for (let i = 0; i < MAX_IN_FLIGHT_UPDATES; i++) await update(`u${i}`);
    const historyBefore = await srv.client.workflow.getHandle(workflowId).fetchHistory();

    await assert.rejects(
      update('one-too-many'),
      (err: grpc.ServiceError) =>
        err.code === grpc.status.RESOURCE_EXHAUSTED && /concurrent in-flight updates/.test(err.details),
    );
    const retried = await update('u0');
    assert.equal(retried.stage, Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED);
    const historyAfter = await srv.client.workflow.getHandle(workflowId).fetchHistory();
    assert.equal(historyAfter.events?.length, historyBefore.events?.length);
    await srv.client.workflow.getHandle(workflowId).terminate();
  });

  it('when a run has held the maximum total of updates, then a new one fails with FAILED_PRECONDITION', function () {
    const engine = new Engine({ clock: new RealClock(), log: createLogger('silent') });
    engine.registerNamespace('default');
    try {
      const { exec } = startWorkflow(engine, startInput('many-updates', 'tq'));
      // Completed updates count towards the total but not towards those in flight.
      for (let i = 0; i < MAX_TOTAL_UPDATES; i++) {
        admitUpdate(engine, exec, updateRequest(`u${i}`));
        exec.s.updates[`u${i}`]!.phase = 'completed';
      }
      assert.throws(
        () => admitUpdate(engine, exec, updateRequest('one-too-many')),
        (err: unknown) =>
          err instanceof RpcError &&
          err.code === grpc.status.FAILED_PRECONDITION &&
          /total updates/.test(err.message),
      );
      assert.equal(exec.s.updates['one-too-many'], undefined);
      // A known update id is not a new update: its retry is still accepted.
      admitUpdate(engine, exec, updateRequest('u0'));
    } finally {
      engine.close();
    }
  });
});
