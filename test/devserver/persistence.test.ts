import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { createTimeSkippingEnv, DEVSERVER_EXECUTABLE } from '../support/devserver';
import { startTestServer, startInput, uniqueQueue, withWorker, waitFor } from './helpers';
import { benchShape, sleeper, collector, addSignal, doneSignal, itemsQuery } from './workflows';
import { Engine } from '../../devserver/core/engine';
import { RealClock, VirtualClock, type Clock } from '../../devserver/core/clock';
import { LogStore, LOG_HEADER } from '../../devserver/store/log-store';
import { createLogger, type Logger } from '../../devserver/logger';
import { start } from '../../devserver/index';
import { stopServer } from '../../devserver/cli';
import { startWorkflow, signalRun, terminateRun } from '../../devserver/core/lifecycle';
import { queryWorkflow } from '../../devserver/core/queries';
import { T, encode } from '../../devserver/proto';
import { RpcError } from '../../devserver/rpc/errors';

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

// ---- the store on its own: an engine and a LogStore over a file, no gRPC ------------

const quiet = createLogger('silent');

interface OpenStore {
  engine: Engine;
  store: LogStore;
  close(): Promise<void>;
}

async function openStore(
  file: string,
  clock: Clock = new RealClock(),
  minCompactBytes?: number,
): Promise<OpenStore> {
  const engine = new Engine({ clock, log: quiet });
  const store = await LogStore.open(file, engine, quiet, minCompactBytes);
  engine.store = store;
  return {
    engine,
    store,
    async close() {
      engine.close();
      await store.close();
    },
  };
}

/** Everything the engine holds, in a comparable form. */
function dump(engine: Engine): string {
  const runs = [...engine.executions.values()]
    .sort((a, b) => a.key.localeCompare(b.key))
    .map((x) => ({
      s: x.s,
      history: x.history.map((e) => Buffer.from(encode(T.HistoryEvent, e)).toString('base64')),
      buffered: x.buffered.map((e) => Buffer.from(encode(T.HistoryEvent, e)).toString('base64')),
    }));
  const current = [...engine.currentRuns.entries()].sort();
  const namespaces = [...engine.namespaces.keys()].sort();
  return JSON.stringify({ runs, current, namespaces });
}

async function stateOf(file: string): Promise<string> {
  const opened = await openStore(file);
  try {
    return dump(opened.engine);
  } finally {
    await opened.close();
  }
}

function commitLines(bytes: Buffer): number {
  return bytes
    .toString('utf8')
    .split('\n')
    .filter((l) => l.startsWith('{"t":"c",')).length;
}

describe('dev server: torn batches in the log', function () {
  let dir: string;
  let dbFile: string;
  let taskQueue: string;
  /** The log up to the end of the last batch before the one that gets torn. */
  let whole: Buffer;
  /** The last batch: two new runs and a signal with its workflow task, in one commit. */
  let lastBatch: Buffer;
  let stateBefore: string;

  before(async function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'devserver-torn-'));
    dbFile = path.join(dir, 'dev.db');
    taskQueue = uniqueQueue();
    // A log written by the real server and worker: a completed run and an open one.
    const server = await startTestServer({ dbFile });
    try {
      await withWorker(server.nativeConnection, { taskQueue }, async () => {
        await server.client.workflow.execute(sleeper, {
          taskQueue,
          workflowId: `${taskQueue}-done`,
          args: [1],
        });
        const open = await server.client.workflow.start(collector, {
          taskQueue,
          workflowId: `${taskQueue}-open`,
        });
        await open.signal(addSignal, 'kept');
        await waitFor(async () => (await open.query(itemsQuery)).length === 1, 'signal handled');
      });
    } finally {
      await server.close();
    }
    whole = fs.readFileSync(dbFile);
    // One more commit changing three runs at once.
    const opened = await openStore(dbFile);
    startWorkflow(opened.engine, startInput(`${taskQueue}-a`, taskQueue));
    startWorkflow(opened.engine, startInput(`${taskQueue}-b`, taskQueue));
    signalRun(opened.engine, opened.engine.lookup('default', `${taskQueue}-open`), {
      signalName: 'add',
      requestId: randomUUID(),
    });
    await opened.engine.commit();
    await opened.close();
    const full = fs.readFileSync(dbFile);
    assert.ok(full.subarray(0, whole.length).equals(whole), 'the log is only appended to');
    lastBatch = full.subarray(whole.length);
    assert.equal(commitLines(lastBatch), 1, 'the last commit is one batch');
    assert.equal(lastBatch.toString('utf8').split('\n').length, 5, 'three records and a commit line');

    fs.writeFileSync(dbFile, whole);
    stateBefore = await stateOf(dbFile);
    fs.writeFileSync(dbFile, full);
    const stateAfter = await stateOf(dbFile);
    assert.notEqual(stateAfter, stateBefore);
    assert.ok(stateAfter.includes(`${taskQueue}-a`) && !stateBefore.includes(`${taskQueue}-a`));
  });

  after(function () {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Offsets inside the last batch: its first byte, mid-record, record boundaries, the commit line. */
  function cuts(): Array<[string, number]> {
    const text = lastBatch.toString('latin1');
    const firstNl = text.indexOf('\n');
    const secondNl = text.indexOf('\n', firstNl + 1);
    const commitAt = text.lastIndexOf('{"t":"c",');
    return [
      ['one byte', 1],
      ['half of the first record', Math.floor(firstNl / 2)],
      ['the first record whole', firstNl + 1],
      ['two records whole', secondNl + 1],
      ['every record but no commit line', commitAt],
      ['half of the commit line', commitAt + 10],
      ['the commit line without its newline', lastBatch.length - 1],
    ];
  }

  it('when the log ends inside a batch, then the reopened store holds exactly the state after the last whole batch and cuts the tail off', async function () {
    for (const [what, at] of cuts()) {
      fs.writeFileSync(dbFile, Buffer.concat([whole, lastBatch.subarray(0, at)]));
      assert.equal(await stateOf(dbFile), stateBefore, `torn after ${what}`);
      assert.equal(fs.statSync(dbFile).size, whole.length, `tail cut off after ${what}`);
    }
  });

  it('when a byte of the last batch is corrupted, then the whole batch is dropped', async function () {
    const text = lastBatch.toString('latin1');
    const positions: Array<[string, number]> = [
      ['in the first record', 40],
      ['in the last record', text.lastIndexOf('{"t":"c",') - 20],
      ['in the checksum', text.lastIndexOf('"crc":') + 7],
      ['the newline after the first record', text.indexOf('\n')],
    ];
    for (const [what, at] of positions) {
      const damaged = Buffer.from(lastBatch);
      damaged[at] = damaged[at] === 0x30 ? 0x31 : 0x30;
      fs.writeFileSync(dbFile, Buffer.concat([whole, damaged]));
      assert.equal(await stateOf(dbFile), stateBefore, `byte corrupted ${what}`);
      assert.equal(fs.statSync(dbFile).size, whole.length);
    }
  });

  it('when a batch in the middle of the log is damaged, then the store refuses to open rather than lose later batches', async function () {
    const damaged = Buffer.concat([whole, lastBatch]);
    const at = LOG_HEADER.length + 20;
    damaged[at] = damaged[at] === 0x30 ? 0x31 : 0x30;
    fs.writeFileSync(dbFile, damaged);
    await assert.rejects(openStore(dbFile), /corrupt/);
  });

  it('when the server restarts on a log with a torn batch, then none of that batch is seen and workflows start and complete', async function () {
    fs.writeFileSync(dbFile, Buffer.concat([whole, lastBatch.subarray(0, lastBatch.indexOf(0x0a) + 1)]));
    const server = await startTestServer({ dbFile });
    try {
      await assert.rejects(
        server.client.workflow.getHandle(`${taskQueue}-a`).describe(),
        WorkflowNotFoundError,
      );
      assert.equal((await server.client.workflow.getHandle(`${taskQueue}-done`).result()) >= 1, true);
      await withWorker(server.nativeConnection, { taskQueue }, async () => {
        const slept = await server.client.workflow.execute(sleeper, {
          taskQueue,
          workflowId: `${taskQueue}-new`,
          args: [1],
        });
        assert.ok(slept >= 1);
        const open = server.client.workflow.getHandle(`${taskQueue}-open`);
        await open.signal(doneSignal);
        // The signal of the torn batch never happened.
        assert.deepEqual(await open.result(), ['kept']);
      });
    } finally {
      await server.close();
    }
    // And what the server did afterwards is durable as usual.
    assert.ok((await stateOf(dbFile)).includes(`${taskQueue}-new`));
  });
});

describe('dev server: log format upgrade', function () {
  it('when the log is in the first, unbatched format, then it is replayed and rewritten in the batched one', async function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'devserver-v1-'));
    const dbFile = path.join(dir, 'dev.db');
    try {
      const opened = await openStore(dbFile);
      opened.engine.registerNamespace('default');
      startWorkflow(opened.engine, startInput('old-format', 'tq'));
      await opened.engine.commit();
      await opened.close();
      const expected = await stateOf(dbFile);
      // The same records as one JSON line each, the way the first format wrote them.
      const lines = fs
        .readFileSync(dbFile, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('{"t":"ns"') || l.startsWith('{"t":"x"'));
      fs.writeFileSync(dbFile, lines.join('\n') + '\n{"t":"x","s":{"na');
      assert.equal(await stateOf(dbFile), expected);
      assert.ok(fs.readFileSync(dbFile, 'utf8').startsWith(LOG_HEADER));
      assert.equal(await stateOf(dbFile), expected);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('dev server: retention of closed workflows', function () {
  it('when retention deletes a closed run, then the log forgets it: a reopened log and a compacted one no longer hold it', async function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'devserver-retention-'));
    const dbFile = path.join(dir, 'dev.db');
    const hour = 3600_000;
    try {
      const clock = new VirtualClock();
      const first = await openStore(dbFile, clock);
      first.engine.registerNamespace('default', '', hour);
      const gone = startWorkflow(first.engine, startInput('retention-gone', 'tq')).exec;
      terminateRun(first.engine, gone, 'done', undefined, 'test');
      startWorkflow(first.engine, startInput('retention-running', 'tq'));
      await first.engine.commit();

      clock.advanceTo(gone.s.closeMs + hour - 60_000);
      first.engine.sweepRetention();
      assert.equal(first.engine.lookup('default', 'retention-gone').s.runId, gone.s.runId);

      clock.advanceTo(gone.s.closeMs + hour);
      first.engine.sweepRetention();
      assert.throws(
        () => first.engine.lookup('default', 'retention-gone'),
        (e: unknown) => e instanceof RpcError,
      );
      assert.ok(first.engine.lookup('default', 'retention-running').running);
      await first.engine.commit();
      // The deletion is in the log: a fresh clock (as after a restart of a time-skipping server) does not bring it back.
      const copy = path.join(dir, 'copy.db');
      fs.copyFileSync(dbFile, copy);
      const reopened = await stateOf(copy);
      assert.ok(!reopened.includes('retention-gone'));
      assert.ok(reopened.includes('retention-running'));

      await first.store.compactNow();
      const compacted = fs.readFileSync(dbFile, 'utf8');
      assert.ok(!compacted.includes('retention-gone'), 'compaction drops the deleted run');
      assert.ok(compacted.includes('retention-running'));
      await first.close();
      assert.equal(await stateOf(dbFile), reopened);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('when a closed workflow passes its namespace retention, then it is NOT_FOUND and unlisted, also after a restart, while a running one is kept', async function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'devserver-retention-'));
    const dbFile = path.join(dir, 'dev.db');
    const namespace = 'short-retention';
    const taskQueue = uniqueQueue();
    const closedId = `${taskQueue}-closed`;
    const openId = `${taskQueue}-open`;
    let ts = await startTestServer({ dbFile });
    try {
      // A real-clock server: retention runs on wall time, so it is made short rather than waited out.
      await ts.connection.workflowService.registerNamespace({
        namespace,
        workflowExecutionRetentionPeriod: { nanos: 300_000_000 },
      });
      const client = new Client({ connection: ts.connection, namespace });
      await withWorker(ts.nativeConnection, { taskQueue, namespace }, async () => {
        await client.workflow.execute(sleeper, { taskQueue, workflowId: closedId, args: [1] });
        const open = await client.workflow.start(collector, { taskQueue, workflowId: openId });
        await open.signal(addSignal, 'kept');
        await waitFor(async () => (await open.query(itemsQuery)).length === 1, 'signal handled');
      });
      const closed = client.workflow.getHandle(closedId);
      await waitFor(
        () =>
          closed.describe().then(
            () => false,
            (e: unknown) => e instanceof WorkflowNotFoundError,
          ),
        'retention to delete the closed run',
      );
      await assert.rejects(closed.fetchHistory(), /NOT_FOUND/);
      const listed: string[] = [];
      for await (const w of client.workflow.list({ query: `TaskQueue = '${taskQueue}'` }))
        listed.push(w.workflowId);
      assert.deepEqual(listed, [openId]);
      assert.equal((await client.workflow.getHandle(openId).describe()).status.name, 'RUNNING');
    } finally {
      await ts.close();
    }

    ts = await startTestServer({ dbFile });
    try {
      const client = new Client({ connection: ts.connection, namespace });
      await assert.rejects(client.workflow.getHandle(closedId).describe(), WorkflowNotFoundError);
      await withWorker(ts.nativeConnection, { taskQueue, namespace }, async () => {
        const open = client.workflow.getHandle(openId);
        await open.signal(doneSignal);
        assert.deepEqual(await open.result(), ['kept']);
      });
    } finally {
      await ts.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('when a time-skipping test sleeps past the retention, then its closed workflows are still there, as on the Java test server', async function () {
    const env = await createTimeSkippingEnv();
    const taskQueue = uniqueQueue();
    try {
      await withWorker(env.nativeConnection, { taskQueue }, () =>
        env.client.workflow.execute(sleeper, { taskQueue, workflowId: taskQueue, args: [1] }),
      );
      await env.sleep('3 days');
      const closed = env.client.workflow.getHandle(taskQueue);
      assert.equal((await closed.describe()).status.name, 'COMPLETED');
      assert.ok((await closed.fetchHistory()).events?.length);
    } finally {
      await env.teardown();
    }
  });
});

describe('dev server: search attributes with --db-filename', function () {
  it('when a search attribute is added through the operator service, then after a restart workflows can still be started with it and listed by it', async function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'devserver-sa-'));
    const dbFile = path.join(dir, 'dev.db');
    const level = defineSearchAttributeKey('CourseLevel', SearchAttributeType.KEYWORD);
    const taskQueue = uniqueQueue();
    let ts = await startTestServer({ dbFile });
    try {
      await ts.connection.operatorService.addSearchAttributes({
        namespace: 'default',
        searchAttributes: { CourseLevel: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD },
      });
    } finally {
      await ts.close();
    }

    ts = await startTestServer({ dbFile });
    try {
      const listed = await ts.connection.operatorService.listSearchAttributes({ namespace: 'default' });
      assert.equal(
        listed.customAttributes?.CourseLevel,
        temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
      );
      await ts.client.workflow.start(collector, {
        taskQueue,
        workflowId: `${taskQueue}-advanced`,
        typedSearchAttributes: [{ key: level, value: 'advanced' }],
      });
      const found: string[] = [];
      for await (const w of ts.client.workflow.list({ query: `CourseLevel = 'advanced'` }))
        found.push(w.workflowId);
      assert.deepEqual(found, [`${taskQueue}-advanced`]);
    } finally {
      await ts.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('dev server: the store when things go wrong', function () {
  let dir: string;
  let dbFile: string;

  beforeEach(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'devserver-faults-'));
    dbFile = path.join(dir, 'dev.db');
  });

  afterEach(function () {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('when a batch cannot be encoded, then the commit fails and its changes go out with the next one', async function () {
    const first = await openStore(dbFile);
    first.engine.registerNamespace('default');
    const exec = startWorkflow(first.engine, startInput('encode-fails', 'tq')).exec;
    await first.engine.commit();
    // A value JSON cannot encode stands for any failure to build the batch (say, too large a record).
    (exec.s as unknown as Record<string, unknown>).poison = 1n;
    terminateRun(first.engine, exec, 'done', undefined, 'test');
    await assert.rejects(first.engine.commit(), /BigInt/);
    delete (exec.s as unknown as Record<string, unknown>).poison;
    await first.engine.commit();
    await first.close();

    const reopened = await openStore(dbFile);
    assert.equal(
      reopened.engine.lookup('default', 'encode-fails').running,
      false,
      'the termination was kept',
    );
    await reopened.close();
  });

  it('when a write fails while a newer run of the same id is started, then after a restart the newer run is still current', async function () {
    const first = await openStore(dbFile);
    first.engine.registerNamespace('default');
    await first.engine.commit();
    const fd = (first.store as unknown as { fd: fsp.FileHandle }).fd;
    const datasync = fd.datasync.bind(fd);
    let release!: () => void;
    const writing = new Promise<void>((resolve) => (release = resolve));
    let failNext = true;
    fd.datasync = async () => {
      if (!failNext) return datasync();
      failNext = false;
      await writing;
      throw new Error('EIO (injected)');
    };
    const older = startWorkflow(first.engine, startInput('same-id', 'tq')).exec;
    terminateRun(first.engine, older, 'done', undefined, 'test');
    const failed = first.engine.commit();
    // While that batch is being written, the id gets a new run.
    await new Promise<void>((resolve) => setImmediate(resolve));
    const newer = startWorkflow(first.engine, startInput('same-id', 'tq')).exec;
    const next = first.engine.commit();
    release();
    await assert.rejects(failed, /EIO/);
    await next;
    await first.close();

    const reopened = await openStore(dbFile);
    const current = reopened.engine.lookup('default', 'same-id');
    assert.equal(current.s.runId, newer.s.runId);
    assert.ok(current.running);
    assert.equal(reopened.engine.lookup('default', 'same-id', older.s.runId).running, false);
    await reopened.close();
  });

  it('when retention deletes a run a query is waiting on, then the end of the query does not write it back and a restart does not revive it', async function () {
    const clock = new VirtualClock();
    const first = await openStore(dbFile, clock);
    first.engine.registerNamespace('default', '', 1000);
    const gone = startWorkflow(first.engine, startInput('queried', 'tq')).exec;
    terminateRun(first.engine, gone, 'done', undefined, 'test');
    await first.engine.commit();
    // No worker answers: the query waits until its deadline, and the run is deleted meanwhile.
    const query = queryWorkflow(
      first.engine,
      gone,
      { queryType: 'q' },
      { deadlineMs: Date.now() + 200, cancelled: () => false, onCancel: () => () => undefined },
    ).catch((err: unknown) => err);
    clock.advanceTo(gone.s.closeMs + 1000);
    first.engine.sweepRetention();
    await first.engine.commit();
    const newer = startWorkflow(first.engine, startInput('queried', 'tq')).exec;
    assert.ok((await query) instanceof Error);
    await first.engine.commit();
    await first.close();

    const reopened = await openStore(dbFile, clock);
    assert.equal(reopened.engine.executions.has(gone.key), false);
    reopened.engine.sweepRetention();
    assert.equal(reopened.engine.lookup('default', 'queried').s.runId, newer.s.runId);
    await reopened.close();
  });

  it('when the last commit fails as the store closes, then close() rejects and logs it, and a reopened log has everything acknowledged before', async function () {
    const errors: string[] = [];
    const log: Logger = { ...quiet, error: (m: string) => void errors.push(m) };
    const engine = new Engine({ clock: new RealClock(), log });
    const store = await LogStore.open(dbFile, engine, log);
    engine.store = store;
    engine.registerNamespace('default');
    startWorkflow(engine, startInput('acknowledged', 'tq'));
    await engine.commit();
    const fd = (store as unknown as { fd: fsp.FileHandle }).fd;
    fd.datasync = async () => {
      throw new Error('EIO (injected)');
    };
    startWorkflow(engine, startInput('not-acknowledged', 'tq'));
    engine.close();
    await assert.rejects(
      store.close(),
      /last commit failed on close; 1 changed record\(s\).*EIO \(injected\)/,
    );
    assert.ok(
      errors.some((m) => /last commit failed on close/.test(m)),
      `logged: ${JSON.stringify(errors)}`,
    );

    const reopened = await openStore(dbFile);
    assert.ok(reopened.engine.lookup('default', 'acknowledged').running);
    assert.throws(() => reopened.engine.lookup('default', 'not-acknowledged'), /not found/);
    await reopened.close();
  });

  it('when the server stops and its store cannot write the last commit, then the shutdown reports it and exits 1, and a restart has every acknowledged start', async function () {
    const server = await start({ port: 0, dbFile, logLevel: 'silent' });
    const connection = await Connection.connect({ address: server.address });
    const client = new Client({ connection });
    const lines: string[] = [];
    try {
      await client.workflow.start('anything', { taskQueue: 'tq', workflowId: 'acknowledged' });
      const probe = await fsp.open(dbFile, 'r');
      const proto = Object.getPrototypeOf(probe) as { datasync: () => Promise<void> };
      await probe.close();
      const datasync = proto.datasync;
      proto.datasync = async () => {
        throw new Error('EIO (injected)');
      };
      try {
        await assert.rejects(
          client.workflow.start('anything', { taskQueue: 'tq', workflowId: 'refused' }),
          (err: Error) => /EIO \(injected\)/.test(String(err.cause)),
        );
        assert.equal(await stopServer(server, (line) => void lines.push(line)), 1);
      } finally {
        proto.datasync = datasync;
      }
    } finally {
      await connection.close();
    }
    assert.match(lines.join(''), /shutdown failed: .*last commit failed on close/);

    const reopened = await openStore(dbFile);
    assert.ok(reopened.engine.lookup('default', 'acknowledged').running);
    assert.throws(() => reopened.engine.lookup('default', 'refused'), /not found/);
    await reopened.close();
  });

  it('when the directory cannot be synced after a compaction, then later commits fail instead of going to the replaced file', async function () {
    const first = await openStore(dbFile, new RealClock(), 4096);
    first.engine.registerNamespace('default');
    await first.engine.commit();
    // Data files are synced with datasync, the directory with sync: fail the next sync.
    const probe = await fsp.open(dbFile, 'r');
    const proto = Object.getPrototypeOf(probe) as { sync: () => Promise<void> };
    await probe.close();
    const sync = proto.sync;
    let injected = false;
    proto.sync = async function (this: fsp.FileHandle) {
      if (injected) return sync.call(this);
      injected = true;
      throw new Error('EIO (injected)');
    };
    const exec = startWorkflow(first.engine, startInput('compacted', 'tq')).exec;
    try {
      for (let i = 0; i < 100 && !injected; i++) {
        signalRun(first.engine, exec, {
          signalName: 's',
          input: { payloads: [{ data: Buffer.alloc(200, 1) }] },
        });
        await first.engine.commit();
      }
    } finally {
      proto.sync = sync;
    }
    assert.ok(injected, 'a compaction ran');
    startWorkflow(first.engine, startInput('after-compaction', 'tq'));
    await assert.rejects(first.engine.commit(), /restart the server/);
    // The run started after the failure cannot be saved: closing says so.
    await assert.rejects(first.close(), /last commit failed on close/);

    const reopened = await openStore(dbFile);
    assert.ok(reopened.engine.lookup('default', 'compacted').running, 'the compacted state is the log');
    await reopened.close();
  });
});
