// Ids that are also names of Object.prototype members must be plain ids: the server keeps
// runs, updates, search attributes and the like in maps, never in bare objects.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startTestServer, uniqueQueue, withWorker, waitFor, type TestServer } from './helpers';
import { collector, addSignal, doneSignal, itemsQuery, updatable, incrementUpdate } from './workflows';

const SPECIAL_IDS = ['__proto__', 'constructor'];

describe('dev server: ids named like Object.prototype members', function () {
  let dir: string;
  let dbFile: string;
  let server: TestServer | undefined;

  before(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'devserver-proto-ids-'));
    dbFile = path.join(dir, 'dev.db');
  });

  after(async function () {
    await server?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('when workflows are called __proto__ and constructor, then they start, take signals and updates, are described and listed, and survive a restart', async function () {
    const taskQueue = uniqueQueue();
    server = await startTestServer({ dbFile });
    const first = server;
    await withWorker(first.nativeConnection, { taskQueue }, async () => {
      for (const id of SPECIAL_IDS) {
        const handle = await first.client.workflow.start(collector, { taskQueue, workflowId: id });
        await handle.signal(addSignal, `to ${id}`);
        await waitFor(async () => (await handle.query(itemsQuery)).length === 1, `signal to ${id}`);
        const described = await handle.describe();
        assert.equal(described.workflowId, id);
        assert.equal(described.status.name, 'RUNNING');
        const listed: string[] = [];
        for await (const w of first.client.workflow.list({ query: `WorkflowId = '${id}'` }))
          listed.push(w.workflowId);
        assert.deepEqual(listed, [id]);
      }
      // Updates whose ids are prototype members; a repeated id is the same update again.
      const upd = await first.client.workflow.start(updatable, { taskQueue, workflowId: `${taskQueue}-upd` });
      for (const [n, updateId] of SPECIAL_IDS.entries()) {
        assert.equal(await upd.executeUpdate(incrementUpdate, { args: [1], updateId }), n + 1);
        assert.equal(await upd.executeUpdate(incrementUpdate, { args: [1], updateId }), n + 1);
      }
      await upd.signal(doneSignal);
      assert.equal(await upd.result(), SPECIAL_IDS.length);
      const listed = new Set<string>();
      for await (const w of first.client.workflow.list({
        query: `WorkflowId IN ('__proto__', 'constructor')`,
      }))
        listed.add(w.workflowId);
      assert.deepEqual([...listed].sort(), [...SPECIAL_IDS].sort());
      assert.equal(
        (await first.client.workflow.count(`WorkflowId IN ('__proto__', 'constructor')`)).count,
        2,
      );
    });
    await first.close();

    server = await startTestServer({ dbFile });
    const second = server;
    await withWorker(second.nativeConnection, { taskQueue }, async () => {
      for (const id of SPECIAL_IDS) {
        const handle = second.client.workflow.getHandle(id);
        assert.equal((await handle.describe()).status.name, 'RUNNING');
        await handle.signal(doneSignal);
        assert.deepEqual(await handle.result(), [`to ${id}`]);
      }
    });
  });
});
