import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, WorkflowFailedError } from '@temporalio/client';
import { Client, type WorkflowExecutionInfo } from '@temporalio/client';
import { TimeoutFailure, TerminatedFailure, CancelledFailure } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { tsToMs } from '@temporalio/common/lib/time';
import { createTimeSkippingEnv } from '../support/devserver';
import { sharedServer, uniqueQueue, withWorker, waitFor } from './helpers';
import {
  activityAndTimer,
  cancellable,
  collector,
  counter,
  failing,
  sleeper,
  addSignal,
  doneSignal,
  CustomKeyword,
  sleepAndContinue,
} from './workflows';

const greet = { greet: async (name: string) => `hello ${name}` };

describe('dev server: starting and ending workflows', function () {
  it('when a workflow id is already running, then a second start fails with WorkflowExecutionAlreadyStartedError', async function () {
    const { client } = await sharedServer();
    const taskQueue = uniqueQueue();
    const first = await client.workflow.start(collector, { taskQueue, workflowId: taskQueue });
    await assert.rejects(
      client.workflow.start(collector, { taskQueue, workflowId: taskQueue }),
      WorkflowExecutionAlreadyStartedError,
    );
    await first.terminate('cleanup');
  });

  it('when the conflict policy is USE_EXISTING, then the running run is returned; TERMINATE_EXISTING replaces it', async function () {
    const { client } = await sharedServer();
    const taskQueue = uniqueQueue();
    const first = await client.workflow.start(collector, { taskQueue, workflowId: taskQueue });
    const reused = await client.workflow.start(collector, {
      taskQueue,
      workflowId: taskQueue,
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
    assert.equal(reused.firstExecutionRunId, first.firstExecutionRunId);
    const replacement = await client.workflow.start(collector, {
      taskQueue,
      workflowId: taskQueue,
      workflowIdConflictPolicy: 'TERMINATE_EXISTING',
    });
    assert.notEqual(replacement.firstExecutionRunId, first.firstExecutionRunId);
    const old = await client.workflow.getHandle(taskQueue, first.firstExecutionRunId).describe();
    assert.equal(old.status.name, 'TERMINATED');
    await replacement.terminate('cleanup');
  });

  it('when a closed workflow id is reused, then REJECT_DUPLICATE refuses and ALLOW_DUPLICATE_FAILED_ONLY follows the last status', async function () {
    const { client, nativeConnection } = await sharedServer();
    const taskQueue = uniqueQueue();
    await withWorker(nativeConnection, { taskQueue, activities: greet }, async () => {
      await client.workflow.execute(sleeper, { taskQueue, workflowId: taskQueue, args: [1] });
      await assert.rejects(
        client.workflow.start(sleeper, {
          taskQueue,
          workflowId: taskQueue,
          args: [1],
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
        }),
        WorkflowExecutionAlreadyStartedError,
      );
      await assert.rejects(
        client.workflow.start(sleeper, {
          taskQueue,
          workflowId: taskQueue,
          args: [1],
          workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
        }),
        WorkflowExecutionAlreadyStartedError,
      );
      const again = await client.workflow.execute(sleeper, { taskQueue, workflowId: taskQueue, args: [1] });
      assert.ok(again >= 1);
    });
  });

  it('when a start is retried with the same request id, then the same run is returned and only one run exists', async function () {
    const { client } = await sharedServer();
    const workflowId = uniqueQueue('wf');
    const req = {
      namespace: 'default',
      workflowId,
      workflowType: { name: 'collector' },
      taskQueue: { name: workflowId },
      requestId: randomUUID(),
    };
    const a = await client.workflowService.startWorkflowExecution(req);
    const b = await client.workflowService.startWorkflowExecution(req);
    assert.equal(a.runId, b.runId);
    const count = await client.workflow.count(`WorkflowId = '${workflowId}'`);
    assert.equal(count.count, 1);
    await client.workflow.getHandle(workflowId).terminate();
  });

  it('when started with memo and search attributes, then describe and list show them', async function () {
    const { client } = await sharedServer();
    const taskQueue = uniqueQueue();
    const handle = await client.workflow.start(collector, {
      taskQueue,
      workflowId: taskQueue,
      memo: { owner: 'ann', size: 3 },
      typedSearchAttributes: [{ key: CustomKeyword, value: taskQueue }],
    });
    const d = await handle.describe();
    assert.deepEqual(d.memo, { owner: 'ann', size: 3 });
    assert.deepEqual(d.typedSearchAttributes.get(CustomKeyword), taskQueue);
    const listed = [];
    for await (const w of client.workflow.list({ query: `CustomKeywordField = '${taskQueue}'` }))
      listed.push(w.workflowId);
    assert.deepEqual(listed, [taskQueue]);
    await handle.terminate();
  });

  it('when a workflow is cancelled, then it runs its cleanup and the client sees the outcome', async function () {
    const { client, nativeConnection } = await sharedServer();
    const taskQueue = uniqueQueue();
    const result = await withWorker(nativeConnection, { taskQueue }, async () => {
      const handle = await client.workflow.start(cancellable, { taskQueue, workflowId: taskQueue });
      await waitFor(async () => (await handle.describe()).historyLength >= 5);
      await handle.cancel();
      return handle.result();
    });
    assert.equal(result, 'cleaned up after cancel');
  });

  it('when a workflow throws a cancellation, then the client gets a CancelledFailure', async function () {
    const { client, nativeConnection } = await sharedServer();
    const taskQueue = uniqueQueue();
    await withWorker(nativeConnection, { taskQueue }, async () => {
      const handle = await client.workflow.start(collector, { taskQueue, workflowId: taskQueue });
      await handle.cancel();
      const err = await handle.result().then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure, String(err));
    });
  });

  it('when a workflow is terminated, then result() throws a TerminatedFailure and the status is TERMINATED', async function () {
    const { client } = await sharedServer();
    const taskQueue = uniqueQueue();
    const handle = await client.workflow.start(collector, { taskQueue, workflowId: taskQueue });
    await handle.terminate('enough');
    const err = await handle.result().then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof WorkflowFailedError && err.cause instanceof TerminatedFailure);
    assert.equal((await handle.describe()).status.name, 'TERMINATED');
  });

  it('when a workflow fails, then result() throws with the application failure', async function () {
    const { client, nativeConnection } = await sharedServer();
    const taskQueue = uniqueQueue();
    await withWorker(nativeConnection, { taskQueue }, async () => {
      const err = await client.workflow
        .execute(failing, { taskQueue, workflowId: taskQueue, args: ['nope'] })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      assert.ok(err instanceof WorkflowFailedError);
      assert.equal(err.cause?.message, 'nope');
    });
  });

  it('when a workflow continues as new, then result() follows the chain to the last run', async function () {
    const { client, nativeConnection } = await sharedServer();
    const taskQueue = uniqueQueue();
    await withWorker(nativeConnection, { taskQueue }, async () => {
      const handle = await client.workflow.start(counter, { taskQueue, workflowId: taskQueue, args: [0, 3] });
      assert.equal(await handle.result(), 3);
      const runs = [];
      for await (const w of client.workflow.list({ query: `WorkflowId = '${taskQueue}'` }))
        runs.push(w.status.name);
      assert.deepEqual(runs.sort(), [
        'COMPLETED',
        'CONTINUED_AS_NEW',
        'CONTINUED_AS_NEW',
        'CONTINUED_AS_NEW',
      ]);
    });
  });

  it('when signals are sent, then the workflow receives them in order; a repeated request id is delivered once', async function () {
    const { client, nativeConnection } = await sharedServer();
    const taskQueue = uniqueQueue();
    await withWorker(nativeConnection, { taskQueue }, async () => {
      const handle = await client.workflow.start(collector, { taskQueue, workflowId: taskQueue });
      await handle.signal(addSignal, 'a');
      const raw = {
        namespace: 'default',
        workflowExecution: { workflowId: taskQueue },
        signalName: 'add',
        input: client.options.loadedDataConverter.payloadConverter.toPayload('b')
          ? { payloads: [client.options.loadedDataConverter.payloadConverter.toPayload('b')] }
          : undefined,
        requestId: randomUUID(),
      };
      await client.workflowService.signalWorkflowExecution(raw);
      await client.workflowService.signalWorkflowExecution(raw);
      await handle.signal(doneSignal);
      assert.deepEqual(await handle.result(), ['a', 'b']);
    });
  });

  it('when signalWithStart is retried with the same request id after the run closed, then the same run answers and nothing is applied or scheduled', async function () {
    const { client, nativeConnection } = await sharedServer();
    const taskQueue = uniqueQueue();
    const payload = client.options.loadedDataConverter.payloadConverter.toPayload('x');
    const req = {
      namespace: 'default',
      workflowId: taskQueue,
      workflowType: { name: 'collector' },
      taskQueue: { name: taskQueue },
      signalName: 'add',
      signalInput: { payloads: [payload] },
      requestId: randomUUID(),
    };
    const first = await client.workflowService.signalWithStartWorkflowExecution(req);
    assert.equal(first.started, true);
    const handle = client.workflow.getHandle(taskQueue, first.runId);
    await withWorker(nativeConnection, { taskQueue }, async () => {
      await handle.signal(doneSignal);
      assert.deepEqual(await handle.result(), ['x']);
    });
    const before = (await handle.fetchHistory()).events!;
    const retried = await client.workflowService.signalWithStartWorkflowExecution(req);
    assert.equal(retried.runId, first.runId);
    assert.equal(retried.started, true, 'the run was created by this very request');
    const after = (await handle.fetchHistory()).events!;
    assert.equal(after.length, before.length, 'no signal and no workflow task on the closed run');
    const d = await handle.describe();
    assert.equal(d.status.name, 'COMPLETED');
    assert.equal(d.raw.pendingWorkflowTask ?? null, null);
    assert.equal((await client.workflow.count(`WorkflowId = '${taskQueue}'`)).count, 1);
  });

  it('when signalWithStart requests are retried while the run is open, then each signal is applied once', async function () {
    const { client, nativeConnection } = await sharedServer();
    const taskQueue = uniqueQueue();
    const toPayload = (v: string) => client.options.loadedDataConverter.payloadConverter.toPayload(v);
    const request = (item: string) => ({
      namespace: 'default',
      workflowId: taskQueue,
      workflowType: { name: 'collector' },
      taskQueue: { name: taskQueue },
      signalName: 'add',
      signalInput: { payloads: [toPayload(item)] },
      requestId: randomUUID(),
    });
    const starting = request('x');
    const signalling = request('y');
    const answers = [];
    for (const req of [starting, signalling, starting, signalling])
      answers.push(await client.workflowService.signalWithStartWorkflowExecution(req));
    assert.deepEqual(
      answers.map((a) => a.started),
      [true, false, true, false],
    );
    assert.equal(new Set(answers.map((a) => a.runId)).size, 1);
    const handle = client.workflow.getHandle(taskQueue);
    await withWorker(nativeConnection, { taskQueue }, async () => {
      await handle.signal(doneSignal);
      assert.deepEqual(await handle.result(), ['x', 'y']);
    });
  });

  it('when signalWithStart targets a new and then a running workflow, then it starts once and signals both times', async function () {
    const { client, nativeConnection } = await sharedServer();
    const taskQueue = uniqueQueue();
    await withWorker(nativeConnection, { taskQueue }, async () => {
      const h1 = await client.workflow.signalWithStart(collector, {
        taskQueue,
        workflowId: taskQueue,
        signal: addSignal,
        signalArgs: ['first'],
      });
      const h2 = await client.workflow.signalWithStart(collector, {
        taskQueue,
        workflowId: taskQueue,
        signal: addSignal,
        signalArgs: ['second'],
      });
      assert.equal(h1.signaledRunId, h2.signaledRunId);
      await h2.signal(doneSignal);
      assert.deepEqual(await h2.result(), ['first', 'second']);
    });
  });

  it('when eager start is requested with a worker on the same native connection, then the first task comes back in the start response', async function () {
    const { nativeConnection, server } = await sharedServer();
    void server;
    const taskQueue = uniqueQueue();
    const eagerClient = new Client({ connection: nativeConnection });
    await withWorker(nativeConnection, { taskQueue, activities: greet }, async () => {
      const handle = await eagerClient.workflow.start(activityAndTimer, {
        taskQueue,
        workflowId: taskQueue,
        args: ['eve', 1],
        requestEagerStart: true,
      });
      assert.equal(handle.eagerlyStarted, true);
      assert.equal(await handle.result(), 'hello eve after 1ms');
    });
  });
});

describe('dev server: run and execution timeouts on the virtual clock', function () {
  const MINUTE = 60_000;
  let env: TestWorkflowEnvironment;

  before(async function () {
    env = await createTimeSkippingEnv();
  });

  after(async function () {
    await env?.teardown();
  });

  it('when a start delay is longer than the run timeout, then the run timeout counts from the end of the delay', async function () {
    const taskQueue = uniqueQueue();
    const handle = await env.client.workflow.start(sleeper, {
      taskQueue,
      workflowId: taskQueue,
      args: [10 * MINUTE],
      startDelay: '1 hour',
      workflowRunTimeout: '30 minutes',
    });
    await withWorker(env.nativeConnection, { taskQueue }, async () => {
      assert.ok((await handle.result()) >= 10 * MINUTE);
    });
    const events = (await handle.fetchHistory()).events!;
    const started = events[0]!.workflowExecutionStartedEventAttributes!;
    assert.equal(tsToMs(started.firstWorkflowTaskBackoff as never), 60 * MINUTE);
    assert.equal(tsToMs(started.workflowRunTimeout as never), 30 * MINUTE);
    const last = events[events.length - 1]!;
    assert.ok(last.workflowExecutionCompletedEventAttributes, 'the run completed instead of timing out');
    const ranMs = tsToMs(last.eventTime) - tsToMs(events[0]!.eventTime);
    assert.ok(ranMs >= 70 * MINUTE && ranMs < 90 * MINUTE, `closed ${ranMs}ms after the start`);
    const d = await handle.describe();
    assert.equal(d.executionTime!.getTime() - d.startTime.getTime(), 60 * MINUTE);
  });

  it('when a run outlives its run timeout, then it times out and result() throws a TimeoutFailure', async function () {
    const taskQueue = uniqueQueue();
    await withWorker(env.nativeConnection, { taskQueue }, async () => {
      const err = await env.client.workflow
        .execute(sleeper, {
          taskQueue,
          workflowId: taskQueue,
          args: [24 * 60 * MINUTE],
          workflowRunTimeout: '1 hour',
        })
        .then(
          () => assert.fail('expected a timeout'),
          (e: unknown) => e,
        );
      assert.ok(err instanceof WorkflowFailedError);
      assert.ok(err.cause instanceof TimeoutFailure);
    });
    const handle = env.client.workflow.getHandle(taskQueue);
    const d = await handle.describe();
    assert.equal(d.status.name, 'TIMED_OUT');
    const events = (await handle.fetchHistory()).events!;
    const ranMs = tsToMs(events[events.length - 1]!.eventTime) - tsToMs(events[0]!.eventTime);
    assert.ok(ranMs >= 60 * MINUTE && ranMs < 61 * MINUTE, `timed out ${ranMs}ms after the start`);
  });

  it('when a delayed workflow gets a plain signal, then the delay holds; another signal-with-start ends the delay at once', async function () {
    const EventType = temporal.api.enums.v1.EventType;
    const taskQueue = uniqueQueue();
    const options = { taskQueue, workflowId: taskQueue, signal: addSignal, startDelay: '1 day' } as const;
    const handle = await env.client.workflow.signalWithStart(collector, {
      ...options,
      signalArgs: ['first'],
    });
    await handle.signal(addSignal, 'plain');
    assert.deepEqual(
      (await handle.fetchHistory()).events!.map((e) => e.eventType),
      [
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
      ],
      'a plain signal does not end the delay',
    );

    await env.client.workflow.signalWithStart(collector, { ...options, signalArgs: ['again'] });
    const events = (await handle.fetchHistory()).events!;
    assert.deepEqual(
      events.map((e) => e.eventType),
      [
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
      ],
    );
    const scheduledAfterMs = tsToMs(events[4]!.eventTime) - tsToMs(events[0]!.eventTime);
    assert.ok(scheduledAfterMs < MINUTE, `first task scheduled ${scheduledAfterMs}ms after the start`);
    await withWorker(env.nativeConnection, { taskQueue }, async () => {
      await handle.signal(doneSignal);
      assert.deepEqual(await handle.result(), ['first', 'plain', 'again']);
    });
  });

  it('when the execution timeout spans continue-as-new runs, then the chain times out on a later run', async function () {
    const taskQueue = uniqueQueue();
    const handle = await env.client.workflow.start(sleepAndContinue, {
      taskQueue,
      workflowId: taskQueue,
      args: [10 * MINUTE],
      workflowExecutionTimeout: '25 minutes',
    });
    const err = await withWorker(env.nativeConnection, { taskQueue }, () =>
      handle.result().then(
        () => assert.fail('expected the chain to time out'),
        (e: unknown) => e,
      ),
    );
    assert.ok(err instanceof WorkflowFailedError && err.cause instanceof TimeoutFailure, String(err));
    const runs: WorkflowExecutionInfo[] = [];
    for await (const w of env.client.workflow.list({ query: `WorkflowId = '${taskQueue}'` })) runs.push(w);
    const withStatus = (name: string) => runs.filter((w) => w.status.name === name);
    assert.ok(withStatus('CONTINUED_AS_NEW').length >= 2, `runs: ${runs.map((w) => w.status.name).join()}`);
    assert.equal(withStatus('TIMED_OUT').length, 1);
    const timedOut = withStatus('TIMED_OUT')[0]!;
    const first = runs.find((w) => w.runId === handle.firstExecutionRunId)!;
    assert.equal(first.status.name, 'CONTINUED_AS_NEW');
    assert.notEqual(timedOut.runId, handle.firstExecutionRunId);
    const lastStart = (await env.client.workflow.getHandle(taskQueue, timedOut.runId).fetchHistory())
      .events![0]!;
    assert.equal(
      lastStart.workflowExecutionStartedEventAttributes!.firstExecutionRunId,
      handle.firstExecutionRunId,
    );
    // Counted from the first run's start, on the server's clock: not restarted by each run.
    assert.ok(timedOut.startTime.getTime() - first.startTime.getTime() >= 20 * MINUTE);
    const chainMs = timedOut.closeTime!.getTime() - first.startTime.getTime();
    assert.ok(
      chainMs >= 25 * MINUTE && chainMs < 30 * MINUTE,
      `timed out ${chainMs}ms after the first start`,
    );
  });
});

void temporal;
