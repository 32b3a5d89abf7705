import { strict as assert } from 'node:assert';
import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import { temporal } from '@temporalio/proto';
import { msToTs } from '@temporalio/common/lib/time';
import { startTestServer, uniqueQueue, withWorker, type TestServer } from './helpers';
import { sleeper } from './workflows';

const { status } = grpc;
const SERVICE = '/temporal.api.workflowservice.v1.WorkflowService';

/** Sends raw bytes as the body of a WorkflowService call; resolves with the status code. */
function rawCall(client: grpc.Client, method: string, body: Buffer): Promise<grpc.status> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      `${SERVICE}/${method}`,
      (b: Buffer) => b,
      (b: Buffer) => b,
      body,
      { deadline: Date.now() + 5000 },
      (err) => resolve(err ? err.code : status.OK),
    );
  });
}

async function codeOf(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return status.OK;
  } catch (err) {
    return (err as { code?: number }).code ?? -1;
  }
}

describe('dev server: bad input', function () {
  let srv: TestServer;

  before(async function () {
    srv = await startTestServer();
  });

  after(async function () {
    await srv?.close();
  });

  it('when requests are malformed or name missing things, then the real server status codes come back', async function () {
    const svc = srv.client.workflowService;
    const ns = 'default';
    const start = {
      namespace: ns,
      workflowId: 'x',
      workflowType: { name: 't' },
      taskQueue: { name: 'q' },
      requestId: 'r',
    };
    assert.equal(
      await codeOf(svc.startWorkflowExecution({ ...start, workflowId: '' })),
      status.INVALID_ARGUMENT,
    );
    assert.equal(
      await codeOf(svc.startWorkflowExecution({ ...start, namespace: '' })),
      status.INVALID_ARGUMENT,
    );
    assert.equal(await codeOf(svc.startWorkflowExecution({ ...start, namespace: 'nope' })), status.NOT_FOUND);
    assert.equal(
      await codeOf(svc.startWorkflowExecution({ ...start, taskQueue: {} })),
      status.INVALID_ARGUMENT,
    );
    assert.equal(
      await codeOf(svc.startWorkflowExecution({ ...start, workflowType: {} })),
      status.INVALID_ARGUMENT,
    );
    assert.equal(
      await codeOf(svc.startWorkflowExecution({ ...start, workflowId: 'x'.repeat(2000) })),
      status.INVALID_ARGUMENT,
    );
    assert.equal(
      await codeOf(svc.startWorkflowExecution({ ...start, workflowRunTimeout: msToTs(-5000) })),
      status.INVALID_ARGUMENT,
    );
    assert.equal(
      await codeOf(
        svc.signalWorkflowExecution({
          namespace: ns,
          workflowExecution: { workflowId: 'missing' },
          signalName: 's',
        }),
      ),
      status.NOT_FOUND,
    );
    assert.equal(
      await codeOf(
        svc.signalWorkflowExecution({
          namespace: ns,
          workflowExecution: { workflowId: 'missing' },
          signalName: '',
        }),
      ),
      status.INVALID_ARGUMENT,
    );
    assert.equal(await codeOf(svc.describeNamespace({ namespace: 'nope' })), status.NOT_FOUND);
    assert.equal(await codeOf(svc.registerNamespace({ namespace: ns })), status.ALREADY_EXISTS);
    assert.equal(
      await codeOf(svc.respondWorkflowTaskCompleted({ namespace: ns, taskToken: Buffer.from('garbage') })),
      status.INVALID_ARGUMENT,
    );
    const staleToken = Buffer.from(JSON.stringify({ k: 'w', ns, wid: 'missing', rid: 'r', seq: 1 }));
    assert.equal(
      await codeOf(svc.respondWorkflowTaskCompleted({ namespace: ns, taskToken: staleToken })),
      status.NOT_FOUND,
    );
    assert.equal(
      await codeOf(svc.respondActivityTaskCompleted({ namespace: ns, taskToken: Buffer.from('{') })),
      status.INVALID_ARGUMENT,
    );
    assert.equal(await codeOf(svc.respondActivityTaskCompleted({ namespace: ns })), status.INVALID_ARGUMENT);
    assert.equal(
      await codeOf(
        svc.recordActivityTaskHeartbeat({
          namespace: ns,
          taskToken: Buffer.from(JSON.stringify({ k: 'a', ns, wid: 'w', rid: 'r', sid: 5, att: 1 })),
        }),
      ),
      status.NOT_FOUND,
    );
    assert.equal(
      await codeOf(svc.listWorkflowExecutions({ namespace: ns, query: "WorkflowId = 'unterminated" })),
      status.INVALID_ARGUMENT,
    );
    assert.equal(
      await codeOf(svc.listWorkflowExecutions({ namespace: ns, query: 'NoSuchOperator ~ 3' })),
      status.INVALID_ARGUMENT,
    );
    assert.equal(
      await codeOf(svc.pollWorkflowTaskQueue({ namespace: ns, taskQueue: { name: '' } })),
      status.INVALID_ARGUMENT,
    );
    assert.equal(await codeOf(svc.createSchedule({ namespace: ns, scheduleId: 's' })), status.UNIMPLEMENTED);
    assert.equal(
      await codeOf(
        svc.updateWorkflowExecution({
          namespace: ns,
          workflowExecution: { workflowId: 'missing' },
          request: {},
        }),
      ),
      status.NOT_FOUND,
    );

    const handle = await srv.client.workflow.start('sleeper', {
      taskQueue: 'q-none',
      workflowId: uniqueQueue('started'),
    });
    assert.equal(
      await codeOf(
        svc.getWorkflowExecutionHistory({
          namespace: ns,
          execution: { workflowId: handle.workflowId },
          nextPageToken: Buffer.from('??'),
        }),
      ),
      status.INVALID_ARGUMENT,
    );
    assert.equal(
      await codeOf(
        svc.updateWorkflowExecution({
          namespace: ns,
          workflowExecution: { workflowId: handle.workflowId },
          request: {},
        }),
      ),
      status.INVALID_ARGUMENT,
    );
    await handle.terminate();
    assert.equal(
      await codeOf(
        svc.terminateWorkflowExecution({
          namespace: ns,
          workflowExecution: { workflowId: handle.workflowId },
        }),
      ),
      status.NOT_FOUND,
    );
    void temporal;
  });

  it('when random bytes arrive as request bodies, then each gets a definite answer (never INTERNAL) and the server keeps running workflows', async function () {
    const raw = new grpc.Client(srv.server.address, grpc.credentials.createInsecure());
    const methods = [
      'StartWorkflowExecution',
      'SignalWorkflowExecution',
      'RespondWorkflowTaskCompleted',
      'PollActivityTaskQueue',
      'QueryWorkflow',
      'ListWorkflowExecutions',
    ];
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...methods),
          fc.uint8Array({ minLength: 1, maxLength: 256 }),
          async (method, bytes) => {
            const code = await rawCall(raw, method, Buffer.from(bytes));
            // Bytes that happen to decode are answered on their merits; nothing may crash the server.
            return code !== status.INTERNAL && code !== status.UNAVAILABLE;
          },
        ),
        { numRuns: 150 },
      );
    } finally {
      raw.close();
    }
    const taskQueue = uniqueQueue();
    const result = await withWorker(srv.nativeConnection, { taskQueue }, () =>
      srv.client.workflow.execute(sleeper, { taskQueue, workflowId: taskQueue, args: [1] }),
    );
    assert.ok(result >= 1);
  });
});
