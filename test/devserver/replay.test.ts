import { strict as assert } from 'node:assert';
import { Worker } from '@temporalio/worker';
import type { temporal } from '@temporalio/proto';
import { sharedServer, uniqueQueue, withWorker, workflowBundle } from './helpers';
import {
  activityAndTimer,
  collector,
  addSignal,
  doneSignal,
  parentOf,
  updatable,
  incrementUpdate,
  markers,
  counter,
  cancellable,
} from './workflows';

type History = temporal.api.history.v1.IHistory;

describe('dev server: determinism', function () {
  it('when histories recorded by the server are replayed, then every workflow replays without nondeterminism', async function () {
    const { client, nativeConnection } = await sharedServer();
    const taskQueue = uniqueQueue();
    const ids: string[] = [];
    await withWorker(
      nativeConnection,
      { taskQueue, activities: { greet: async (n: string) => `hi ${n}` } },
      async () => {
        const id = (s: string): string => {
          ids.push(`${taskQueue}-${s}`);
          return `${taskQueue}-${s}`;
        };
        await client.workflow.execute(activityAndTimer, { taskQueue, workflowId: id('act'), args: ['r', 5] });
        const c = await client.workflow.start(collector, { taskQueue, workflowId: id('collector') });
        await c.signal(addSignal, 'a');
        await c.signal(doneSignal);
        await c.result();
        await client.workflow.execute(parentOf, { taskQueue, workflowId: id('parent'), args: ['complete'] });
        ids.push(`${taskQueue}-parent-child`);
        const u = await client.workflow.start(updatable, { taskQueue, workflowId: id('update') });
        await u.executeUpdate(incrementUpdate, { args: [1] });
        await u.signal(doneSignal);
        await u.result();
        await client.workflow.execute(markers, { taskQueue, workflowId: id('markers'), args: ['m'] });
        await client.workflow.execute(counter, { taskQueue, workflowId: id('counter'), args: [0, 1] });
        const k = await client.workflow.start(cancellable, { taskQueue, workflowId: id('cancel') });
        await k.cancel();
        await k.result();
      },
    );
    const histories = await Promise.all(
      ids.map(async (workflowId) => ({
        workflowId,
        history: await client.workflow.getHandle(workflowId).fetchHistory(),
      })),
    );
    const bundle = await workflowBundle();
    const results = [];
    for await (const r of Worker.runReplayHistories({ workflowBundle: bundle }, histories)) results.push(r);
    assert.equal(results.length, ids.length);
    for (const r of results) assert.equal(r.error, undefined, `${r.workflowId}: ${String(r.error)}`);

    // The check is real: the same history with a different activity recorded fails to replay.
    const tampered = structuredClone<History>(histories[0]!.history);
    const scheduled = tampered.events!.find((e) => e.activityTaskScheduledEventAttributes)!;
    scheduled.activityTaskScheduledEventAttributes!.activityType = { name: 'somethingElse' };
    const bad = [];
    for await (const r of Worker.runReplayHistories({ workflowBundle: bundle }, [
      { workflowId: 'tampered', history: tampered },
    ])) {
      bad.push(r);
    }
    assert.ok(bad[0]?.error, 'a tampered history does not replay');
  });
});
