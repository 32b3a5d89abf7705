import { strict as assert } from 'node:assert';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { Context } from '@temporalio/activity';
import { createTimeSkippingEnv } from '../support/devserver';
import { uniqueQueue, workflowBundle, waitFor } from './helpers';
import { sleeper, timerVersusSleepyActivity, collector } from './workflows';

const DAY_MS = 24 * 3600 * 1000;

describe('dev server: time skipping (test-server mode)', function () {
  let env: TestWorkflowEnvironment;

  before(async function () {
    env = await createTimeSkippingEnv();
  });

  after(async function () {
    await env?.teardown();
  });

  async function worker(taskQueue: string, activities: object = {}): Promise<Worker> {
    return Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: await workflowBundle(),
      activities,
    });
  }

  it('when nothing is awaiting a result, then time is locked and a one-hour timer does not fire by itself', async function () {
    const taskQueue = uniqueQueue();
    const w = await worker(taskQueue);
    await w.runUntil(async () => {
      const startMs = await env.currentTimeMs();
      const handle = await env.client.workflow.start(sleeper, {
        taskQueue,
        workflowId: taskQueue,
        args: [3600_000],
      });
      await waitFor(async () => (await handle.describe()).historyLength >= 5, 'timer started');
      assert.ok((await env.currentTimeMs()) - startMs < 60_000, 'clock did not jump while locked');
      assert.equal((await handle.describe()).status.name, 'RUNNING');
      // Awaiting the result unlocks time skipping; the hour passes at once.
      assert.ok((await handle.result()) >= 3600_000);
    });
  });

  it('when a test sleeps two days of server time, then timers due in between fire', async function () {
    const taskQueue = uniqueQueue();
    const w = await worker(taskQueue);
    await w.runUntil(async () => {
      const handle = await env.client.workflow.start(sleeper, {
        taskQueue,
        workflowId: taskQueue,
        args: [DAY_MS],
      });
      await waitFor(async () => (await handle.describe()).historyLength >= 5, 'timer started');
      const before = await env.currentTimeMs();
      await env.sleep('2 days');
      assert.ok((await env.currentTimeMs()) - before >= 2 * DAY_MS);
      await waitFor(async () => (await handle.describe()).status.name === 'COMPLETED', 'workflow completed');
    });
  });

  it('when an activity sleeps two days of server time, then a one-day timer racing it fires first', async function () {
    const taskQueue = uniqueQueue();
    const attempts: number[] = [];
    const sleepErrors: unknown[] = [];
    const w = await worker(taskQueue, {
      sleepTwoDays: async () => {
        attempts.push(Context.current().info.attempt);
        await env.sleep('2 days').catch((err: unknown) => sleepErrors.push(err));
        return 'activity';
      },
    });
    const result = await w.runUntil(
      env.client.workflow.execute(timerVersusSleepyActivity, { taskQueue, workflowId: taskQueue }),
    );
    assert.equal(result, 'timer');
    assert.deepEqual(sleepErrors, []);
    assert.deepEqual(attempts, [1]);
  });

  it('when sleeping thirty days with nothing else to do, then the call returns promptly with the clock moved', async function () {
    const before = await env.currentTimeMs();
    await env.sleep('30 days');
    assert.ok((await env.currentTimeMs()) - before >= 30 * DAY_MS);
  });

  it('when UnlockTimeSkipping is called more often than LockTimeSkipping, then the call fails and the server keeps working', async function () {
    const svc = env.connection.testService;
    if (!svc) throw new Error('the time-skipping environment has a test service');
    await svc.unlockTimeSkipping({});
    await assert.rejects(svc.unlockTimeSkipping({}), /unbalanced/i);
    await svc.lockTimeSkipping({});
    const taskQueue = uniqueQueue();
    const w = await worker(taskQueue);
    await w.runUntil(async () => {
      const handle = await env.client.workflow.start(collector, { taskQueue, workflowId: taskQueue });
      await handle.signal('done');
      assert.deepEqual(await handle.result(), []);
    });
  });
});
