import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { DEVSERVER_EXECUTABLE } from '../support/devserver';
import { startTestServer, uniqueQueue, withWorker, waitFor } from './helpers';
import { benchShape, sleeper, collector, addSignal, doneSignal } from './workflows';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number): Promise<void> {
  // Bounded: the SDK gives a launched server 5 s; so does this test.
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.end();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`dev server did not listen on ${port}`);
}

function launch(port: number, dbFile: string): ChildProcess {
  return spawn(
    DEVSERVER_EXECUTABLE,
    [
      'server',
      'start-dev',
      '--port',
      String(port),
      '--db-filename',
      dbFile,
      '--headless',
      '--log-level',
      'error',
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
}

async function killHard(child: ChildProcess): Promise<void> {
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await exited;
}

describe('dev server: persistence with --db-filename', function () {
  let dir: string;
  let child: ChildProcess | undefined;

  before(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'devserver-db-'));
  });

  after(async function () {
    if (child && child.exitCode === null) await killHard(child);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('when the server is killed with SIGKILL mid-flight and restarted, then every workflow, timer, activity and workflow task resumes', async function () {
    const port = await freePort();
    const dbFile = path.join(dir, 'dev.db');
    const address = `127.0.0.1:${port}`;
    const taskQueue = uniqueQueue();

    child = launch(port, dbFile);
    await waitForPort(port);
    let connection = await Connection.connect({ address });
    let client = new Client({ connection });
    let native = await NativeConnection.connect({ address });

    // Workflows whose first task has run: one waits on an activity nobody serves yet,
    // one on a timer, one holds a signal it was sent.
    const withActivity = await client.workflow.start(benchShape, {
      taskQueue,
      workflowId: `${taskQueue}-act`,
      args: [10],
    });
    const withTimer = await client.workflow.start(sleeper, {
      taskQueue,
      workflowId: `${taskQueue}-timer`,
      args: [1500],
    });
    const withSignal = await client.workflow.start(collector, { taskQueue, workflowId: `${taskQueue}-sig` });
    await withWorker(native, { taskQueue }, async () => {
      await withSignal.signal(addSignal, 'before-kill');
      await waitFor(
        async () => (await withActivity.describe()).raw.pendingActivities?.length === 1,
        'activity scheduled',
      );
      await waitFor(async () => (await withTimer.describe()).historyLength >= 5, 'timer started');
      await waitFor(async () => (await withSignal.query<string[]>('items')).length === 1, 'signal handled');
    });
    // A workflow whose first workflow task was never picked up.
    const pendingTask = await client.workflow.start(sleeper, {
      taskQueue,
      workflowId: `${taskQueue}-wft`,
      args: [1],
    });

    await connection.close();
    await native.close();
    await killHard(child);
    // A write cut short by the kill leaves a torn last record; the restart must shrug it off.
    fs.appendFileSync(dbFile, '{"t":"x","s":{"namespace":"def');

    child = launch(port, dbFile);
    await waitForPort(port);
    connection = await Connection.connect({ address });
    client = new Client({ connection });
    native = await NativeConnection.connect({ address });
    try {
      await withWorker(
        native,
        { taskQueue, activities: { greet: async (n: string) => `hi ${n}` } },
        async () => {
          await client.workflow.getHandle(withActivity.workflowId).signal(doneSignal);
          await client.workflow.getHandle(withSignal.workflowId).signal(doneSignal);
          assert.equal(await client.workflow.getHandle(withActivity.workflowId).result(), 'hi a+hi b');
          assert.ok((await client.workflow.getHandle(withTimer.workflowId).result()) >= 1500);
          assert.deepEqual(await client.workflow.getHandle(withSignal.workflowId).result(), ['before-kill']);
          assert.ok((await client.workflow.getHandle(pendingTask.workflowId).result()) >= 1);
        },
      );
    } finally {
      await connection.close();
      await native.close();
    }
  });
});

describe('dev server: log compaction', function () {
  it('when the log outgrows its threshold, then it is compacted and a restart still finds every run', async function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'devserver-compact-'));
    const dbFile = path.join(dir, 'dev.db');
    try {
      const first = await startTestServer({ dbFile, dbCompactBytes: 4096 });
      const taskQueue = uniqueQueue();
      await withWorker(first.nativeConnection, { taskQueue }, async () => {
        for (let i = 0; i < 10; i++) {
          await first.client.workflow.execute(sleeper, {
            taskQueue,
            workflowId: `${taskQueue}-${i}`,
            args: [1],
          });
        }
      });
      const open = await first.client.workflow.start(collector, {
        taskQueue,
        workflowId: `${taskQueue}-open`,
      });
      await open.signal(addSignal, 'kept');
      assert.ok(first.server.compactions() > 0, 'compaction ran');
      await first.close();

      const second = await startTestServer({ dbFile });
      assert.equal((await second.client.workflow.count(`TaskQueue = '${taskQueue}'`)).count, 11);
      await withWorker(second.nativeConnection, { taskQueue }, async () => {
        const h = second.client.workflow.getHandle(`${taskQueue}-open`);
        await h.signal(doneSignal);
        assert.deepEqual(await h.result(), ['kept']);
      });
      await second.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
