import { strict as assert } from 'node:assert';
import { sharedServer, uniqueQueue, withWorker } from './helpers';
import { sharedLocalEnv, createLocalEnv, createTimeSkippingEnv } from '../support/devserver';
import { CustomKeyword } from './workflows';
import { activityAndTimer, sleeper } from './workflows';
import { Worker } from '@temporalio/worker';
import { workflowBundle } from './helpers';

describe('dev server basics', function () {
  it('when a workflow runs an activity and a timer against the in-process server, then its result comes back', async function () {
    const { client, nativeConnection } = await sharedServer();
    const taskQueue = uniqueQueue();
    const result = await withWorker(
      nativeConnection,
      { taskQueue, activities: { greet: async (name: string) => `hello ${name}` } },
      () =>
        client.workflow.execute(activityAndTimer, { taskQueue, workflowId: taskQueue, args: ['ann', 50] }),
    );
    assert.equal(result, 'hello ann after 50ms');
  });

  it('when TestWorkflowEnvironment.createLocal launches the executable, then a workflow runs on it', async function () {
    // sharedLocalEnv() is createLocalEnv() once per test process, torn down by the root hook.
    const env = await sharedLocalEnv();
    assert.equal(await sharedLocalEnv(), env);
    {
      const taskQueue = uniqueQueue();
      const worker = await Worker.create({
        connection: env.nativeConnection,
        taskQueue,
        workflowBundle: await workflowBundle(),
        activities: { greet: async (name: string) => `hi ${name}` },
      });
      const result = await worker.runUntil(
        env.client.workflow.execute(activityAndTimer, {
          taskQueue,
          workflowId: taskQueue,
          args: ['bob', 10],
        }),
      );
      assert.equal(result, 'hi bob after 10ms');
    }
  });

  it('when createTimeSkipping launches the executable, then a 30-day timer completes via skipped time', async function () {
    const env = await createTimeSkippingEnv();
    try {
      const taskQueue = uniqueQueue();
      const worker = await Worker.create({
        connection: env.nativeConnection,
        taskQueue,
        workflowBundle: await workflowBundle(),
      });
      const thirtyDaysMs = 30 * 24 * 3600 * 1000;
      const elapsed = await worker.runUntil(
        env.client.workflow.execute(sleeper, { taskQueue, workflowId: taskQueue, args: [thirtyDaysMs] }),
      );
      assert.ok(elapsed >= thirtyDaysMs, `workflow clock advanced ${elapsed}ms`);
    } finally {
      await env.teardown();
    }
  });

  it('when createLocal passes a namespace, UI port, search attributes and extra flags, then the launched server honours them', async function () {
    const env = await createLocalEnv({
      server: {
        namespace: 'bookings',
        uiPort: 0,
        searchAttributes: [CustomKeyword],
        extraArgs: [
          '--namespace',
          'second',
          '--log-format',
          'json',
          '--dynamic-config-value',
          'limit.historyPageSize=50',
        ],
      },
    });
    try {
      const svc = env.connection.workflowService;
      assert.equal((await svc.describeNamespace({ namespace: 'bookings' })).namespaceInfo?.name, 'bookings');
      assert.equal((await svc.describeNamespace({ namespace: 'second' })).namespaceInfo?.name, 'second');
      const taskQueue = uniqueQueue();
      const worker = await Worker.create({
        connection: env.nativeConnection,
        namespace: 'bookings',
        taskQueue,
        workflowBundle: await workflowBundle(),
        activities: { greet: async (name: string) => `hey ${name}` },
      });
      const result = await worker.runUntil(
        env.client.workflow.execute(activityAndTimer, {
          taskQueue,
          workflowId: taskQueue,
          args: ['ns', 1],
          typedSearchAttributes: [{ key: CustomKeyword, value: 'launched' }],
        }),
      );
      assert.equal(result, 'hey ns after 1ms');
      assert.equal((await env.client.workflow.count(`CustomKeywordField = 'launched'`)).count, 1);
    } finally {
      await env.teardown();
    }
  });
});
