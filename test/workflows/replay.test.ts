// Determinism across versions: every history in test/workflows/histories was
// recorded from a real run (with historyToFile, test/support/histories.ts)
// and must replay on the current workflow code. A change that makes one
// diverge must go behind patched() so that running workflows keep working.
import assert from 'node:assert/strict';
import { Worker, type ReplayResult } from '@temporalio/worker';
import { recordedHistories } from '../support/histories';

const workflowsPath = require.resolve('../../workflows');

async function replay(histories: ReturnType<typeof recordedHistories>): Promise<ReplayResult[]> {
  const results: ReplayResult[] = [];
  for await (const result of Worker.runReplayHistories({ workflowsPath }, histories)) results.push(result);
  return results;
}

describe('workflow replay of recorded histories', () => {
  it('when every recorded history is replayed on the current code, then none diverges', async () => {
    const histories = recordedHistories();
    assert.ok(histories.length >= 1, 'no recorded histories');
    for (const result of await replay(histories)) {
      assert.equal(result.error, undefined, `${result.workflowId}: ${String(result.error)}`);
    }
  });

  it('when a recorded history is altered, then replay reports the divergence (the check is real)', async () => {
    const [recorded] = recordedHistories();
    const altered = structuredClone(recorded!);
    const scheduled = altered.history.events!.find((e) => e.activityTaskScheduledEventAttributes);
    scheduled!.activityTaskScheduledEventAttributes!.activityType = { name: 'someOtherActivity' };
    const [result] = await replay([altered]);
    assert.ok(result?.error, 'an altered history must not replay');
  });
});
