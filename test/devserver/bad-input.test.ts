import { strict as assert } from 'node:assert';
import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import { temporal } from '@temporalio/proto';
import { msToTs } from '@temporalio/common/lib/time';
import { defineSearchAttributeKey } from '@temporalio/common';
import { WorkflowNotFoundError } from '@temporalio/client';
import { startTestServer, uniqueQueue, withWorker, type TestServer } from './helpers';
import { sleeper } from './workflows';

const EventType = temporal.api.enums.v1.EventType;
const CommandType = temporal.api.enums.v1.CommandType;
const IndexedValueType = temporal.api.enums.v1.IndexedValueType;
const WorkflowTaskFailedCause = temporal.api.enums.v1.WorkflowTaskFailedCause;

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
    const e = err as { code?: number; cause?: { code?: number } };
    return e.code ?? e.cause?.code ?? -1;
  }
}

/** Like rawCall, with the status details (the server's message). */
function rawCallDetails(
  client: grpc.Client,
  method: string,
  body: Buffer,
): Promise<{ code: grpc.status; details: string }> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      `${SERVICE}/${method}`,
      (b: Buffer) => b,
      (b: Buffer) => b,
      body,
      { deadline: Date.now() + 10_000 },
      (err) => resolve(err ? { code: err.code, details: err.details } : { code: status.OK, details: '' }),
    );
  });
}

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}

/** A length-delimited protobuf field. */
function field(num: number, bytes: Buffer): Buffer {
  return Buffer.concat([varint((num << 3) | 2), varint(bytes.length), bytes]);
}

/** temporal.api.failure.v1.Failure bytes with a cause chain `depth` long, built by hand (no encoder limit). */
function deepFailure(depth: number): Buffer {
  let f = field(1, Buffer.from('root cause'));
  for (let i = 0; i < depth; i++) f = Buffer.concat([field(1, Buffer.from(`wrap ${i}`)), field(4, f)]);
  return f;
}

function keyword(value: unknown): temporal.api.common.v1.IPayload {
  return {
    metadata: { encoding: Buffer.from('json/plain'), type: Buffer.from('Keyword') },
    data: Buffer.from(JSON.stringify(value)),
  };
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
          request: { meta: { updateId: 'u' }, input: { name: 'u' } },
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

  it('when a start names an unregistered search attribute, a system one or a mistyped value, then INVALID_ARGUMENT; once registered through the operator service it works', async function () {
    const { client, connection } = srv;
    const ns = 'default';
    const Colour = defineSearchAttributeKey('DevserverColour', 'KEYWORD');
    const taskQueue = uniqueQueue('sa');
    const startWith = (workflowId: string, sa: Record<string, temporal.api.common.v1.IPayload>) =>
      client.workflowService.startWorkflowExecution({
        namespace: ns,
        workflowId,
        workflowType: { name: 'sleeper' },
        taskQueue: { name: taskQueue },
        requestId: workflowId,
        searchAttributes: { indexedFields: sa },
      });

    assert.equal(
      await codeOf(
        client.workflow.start(sleeper, {
          taskQueue,
          workflowId: `${taskQueue}-1`,
          args: [1],
          typedSearchAttributes: [{ key: Colour, value: 'red' }],
        }),
      ),
      status.INVALID_ARGUMENT,
    );
    await assert.rejects(startWith(`${taskQueue}-1`, { DevserverColour: keyword('red') }), /not defined/);
    assert.equal(
      await codeOf(
        client.workflow.signalWithStart(sleeper, {
          taskQueue,
          workflowId: `${taskQueue}-1`,
          args: [1],
          signal: 'nothing',
          typedSearchAttributes: [{ key: Colour, value: 'red' }],
        }),
      ),
      status.INVALID_ARGUMENT,
    );
    const multi = (workflowId: string) =>
      client.workflowService.executeMultiOperation({
        namespace: ns,
        operations: [
          {
            startWorkflow: {
              namespace: ns,
              workflowId,
              workflowType: { name: 'sleeper' },
              taskQueue: { name: taskQueue },
              requestId: workflowId,
              searchAttributes: { indexedFields: { DevserverColour: keyword('red') } },
            },
          },
          {
            updateWorkflow: {
              namespace: ns,
              workflowExecution: { workflowId },
              request: { meta: { updateId: 'u1' }, input: { name: 'u' } },
            },
          },
        ],
      });
    assert.equal(await codeOf(multi(`${taskQueue}-1`)), status.INVALID_ARGUMENT);
    // Nothing was started by the refused requests.
    await assert.rejects(client.workflow.getHandle(`${taskQueue}-1`).describe(), WorkflowNotFoundError);
    // System attributes cannot be written; registered ones only with values of their type.
    await assert.rejects(startWith(`${taskQueue}-2`, { WorkflowId: keyword('x') }), /can't be set/);
    await assert.rejects(
      startWith(`${taskQueue}-2`, { CustomIntField: keyword('not a number') }),
      /not a valid value for search attribute CustomIntField of type Int/,
    );
    await assert.rejects(
      startWith(`${taskQueue}-2`, { CustomDatetimeField: keyword('yesterday') }),
      /CustomDatetimeField of type Datetime/,
    );

    await connection.operatorService.addSearchAttributes({
      namespace: ns,
      searchAttributes: { DevserverColour: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD },
    });
    // Registering again with the same type is harmless, with another type it is refused.
    await connection.operatorService.addSearchAttributes({
      namespace: ns,
      searchAttributes: { DevserverColour: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD },
    });
    assert.equal(
      await codeOf(
        connection.operatorService.addSearchAttributes({
          namespace: ns,
          searchAttributes: { DevserverColour: IndexedValueType.INDEXED_VALUE_TYPE_INT },
        }),
      ),
      status.ALREADY_EXISTS,
    );
    assert.equal(
      await codeOf(
        connection.operatorService.addSearchAttributes({
          namespace: ns,
          searchAttributes: { WorkflowId: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD },
        }),
      ),
      status.INVALID_ARGUMENT,
    );
    const listed = await connection.operatorService.listSearchAttributes({ namespace: ns });
    assert.equal(listed.customAttributes?.DevserverColour, IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD);
    assert.equal(listed.systemAttributes?.WorkflowId, IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD);

    const handle = await client.workflow.start(sleeper, {
      taskQueue,
      workflowId: `${taskQueue}-1`,
      args: [1],
      typedSearchAttributes: [{ key: Colour, value: 'red' }],
    });
    assert.equal((await handle.describe()).typedSearchAttributes.get(Colour), 'red');
    assert.deepEqual(
      await (async () => {
        const ids: string[] = [];
        for await (const w of client.workflow.list({ query: `DevserverColour = 'red'` }))
          ids.push(w.workflowId);
        return ids;
      })(),
      [`${taskQueue}-1`],
    );
    await handle.terminate();
  });

  it('when the server is started with search attribute types (the --search-attribute flag), then those names accept values of their type only', async function () {
    const own = await startTestServer({ searchAttributes: { OrderTotal: 'Double', Tags: 'KeywordList' } });
    try {
      const taskQueue = uniqueQueue('sa-flag');
      const start = (workflowId: string, fields: Record<string, unknown>) =>
        own.client.workflowService.startWorkflowExecution({
          namespace: 'default',
          workflowId,
          workflowType: { name: 'sleeper' },
          taskQueue: { name: taskQueue },
          requestId: workflowId,
          searchAttributes: {
            indexedFields: Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, keyword(v)])),
          },
        });
      await start(`${taskQueue}-1`, { OrderTotal: 12.5, Tags: ['a', 'b'] });
      await assert.rejects(start(`${taskQueue}-2`, { OrderTotal: 'lots' }), /OrderTotal of type Double/);
      await assert.rejects(start(`${taskQueue}-2`, { Tags: 'a' }), /Tags of type KeywordList/);
      await assert.rejects(start(`${taskQueue}-2`, { DevserverColour: 'red' }), /not defined/);
      const listed = await own.connection.operatorService.listSearchAttributes({ namespace: 'default' });
      assert.equal(listed.customAttributes?.OrderTotal, IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE);
      assert.equal(listed.customAttributes?.Tags, IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST);
    } finally {
      await own.close();
    }
  });

  it('when a workflow task upserts, starts a child or continues as new with an undefined search attribute, then the task fails with BAD_SEARCH_ATTRIBUTES', async function () {
    const { client } = srv;
    const ns = 'default';
    const svc = client.workflowService;
    const taskQueue = uniqueQueue('sa-cmd');
    const bad = { indexedFields: { NeverRegistered: keyword('x') } };
    const commands: temporal.api.command.v1.ICommand[] = [
      {
        commandType: CommandType.COMMAND_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
        upsertWorkflowSearchAttributesCommandAttributes: { searchAttributes: bad },
      },
      {
        commandType: CommandType.COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION,
        startChildWorkflowExecutionCommandAttributes: {
          namespace: ns,
          workflowId: `${taskQueue}-child`,
          workflowType: { name: 'sleeper' },
          taskQueue: { name: taskQueue },
          searchAttributes: bad,
        },
      },
      {
        commandType: CommandType.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION,
        continueAsNewWorkflowExecutionCommandAttributes: {
          workflowType: { name: 'sleeper' },
          taskQueue: { name: taskQueue },
          searchAttributes: bad,
        },
      },
    ];
    // One run per command, so each is a first attempt (retries of a failing task back off).
    for (const [i, command] of commands.entries()) {
      const workflowId = `${taskQueue}-${i}`;
      await client.workflow.start('sleeper', { taskQueue, workflowId, args: [1] });
      const task = await svc.pollWorkflowTaskQueue({ namespace: ns, taskQueue: { name: taskQueue } });
      assert.equal(task.workflowExecution?.workflowId, workflowId);
      await assert.rejects(
        svc.respondWorkflowTaskCompleted({ namespace: ns, taskToken: task.taskToken, commands: [command] }),
        (e: { code?: number; details?: string }) =>
          e.code === status.INVALID_ARGUMENT && /NeverRegistered is not defined/.test(e.details ?? ''),
      );
      const history = await svc.getWorkflowExecutionHistory({ namespace: ns, execution: { workflowId } });
      const last = history.history!.events!.at(-1)!;
      assert.equal(last.eventType, EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED);
      assert.equal(
        last.workflowTaskFailedEventAttributes?.cause,
        WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SEARCH_ATTRIBUTES,
      );
      assert.match(last.workflowTaskFailedEventAttributes?.failure?.message ?? '', /NeverRegistered/);
      await client.workflow.getHandle(workflowId).terminate();
    }
    // The same command with a registered attribute goes through.
    const handle = await client.workflow.start('sleeper', { taskQueue, workflowId: taskQueue, args: [1] });
    const task = await svc.pollWorkflowTaskQueue({ namespace: ns, taskQueue: { name: taskQueue } });
    await svc.respondWorkflowTaskCompleted({
      namespace: ns,
      taskToken: task.taskToken,
      commands: [
        {
          commandType: CommandType.COMMAND_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
          upsertWorkflowSearchAttributesCommandAttributes: {
            searchAttributes: { indexedFields: { CustomKeywordField: keyword('upserted') } },
          },
        },
      ],
    });
    const d = await handle.describe();
    assert.deepEqual(d.searchAttributes.CustomKeywordField, ['upserted']);
    await handle.terminate();
  });

  it('when a request nests a failure thousands deep (or just past the limit), then INVALID_ARGUMENT with a clear message, and the run and server keep working', async function () {
    const { client } = srv;
    const ns = 'default';
    const svc = client.workflowService;
    const taskQueue = uniqueQueue('deep');
    const handle = await client.workflow.start('sleeper', { taskQueue, workflowId: taskQueue, args: [1] });
    const task = await svc.pollWorkflowTaskQueue({ namespace: ns, taskQueue: { name: taskQueue } });
    const raw = new grpc.Client(srv.server.address, grpc.credentials.createInsecure());
    try {
      const head = Buffer.from(
        temporal.api.workflowservice.v1.RespondWorkflowTaskFailedRequest.encode({
          namespace: ns,
          taskToken: task.taskToken,
          cause: WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE,
          identity: 'deep',
        }).finish(),
      );
      // 3000 is past what protobufjs decodes; 80 decodes, but stored in history and sent
      // back in a poll response it would nest past what protobufjs and the SDKs encode.
      for (const depth of [3000, 80]) {
        const body = Buffer.concat([head, field(3, deepFailure(depth))]);
        const res = await rawCallDetails(raw, 'RespondWorkflowTaskFailed', body);
        assert.equal(res.code, status.INVALID_ARGUMENT, `depth ${depth}: ${res.details}`);
        assert.match(res.details, /nests messages more than \d+ levels deep/);
      }
      // The same failure packed in an update rejection (a protocol message's Any body).
      const rejection = field(4, deepFailure(80));
      const any = Buffer.concat([
        field(1, Buffer.from('type.googleapis.com/temporal.api.update.v1.Rejection')),
        field(2, rejection),
      ]);
      const message = Buffer.concat([
        field(1, Buffer.from('m1')),
        field(2, Buffer.from('u1')),
        field(5, any),
      ]);
      const completed = Buffer.concat([
        Buffer.from(
          temporal.api.workflowservice.v1.RespondWorkflowTaskCompletedRequest.encode({
            namespace: ns,
            taskToken: task.taskToken,
          }).finish(),
        ),
        field(11, message),
      ]);
      const res = await rawCallDetails(raw, 'RespondWorkflowTaskCompleted', completed);
      assert.equal(res.code, status.INVALID_ARGUMENT, res.details);
      assert.match(res.details, /nests messages more than \d+ levels deep/);
    } finally {
      raw.close();
    }
    // Payloads do not nest as messages, but their JSON can: a signal with JSON nested
    // 100000 deep is just bytes to the server, accepted and readable back.
    const deepJson = '['.repeat(100_000) + ']'.repeat(100_000);
    await svc.signalWorkflowExecution({
      namespace: ns,
      workflowExecution: { workflowId: taskQueue },
      signalName: 'deep-json',
      input: {
        payloads: [{ metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from(deepJson) }],
      },
    });
    // The refused failure left nothing behind: the task can still be failed normally and
    // the history read, and the server answers everything else as before.
    await svc.respondWorkflowTaskFailed({
      namespace: ns,
      taskToken: task.taskToken,
      cause: WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE,
      failure: { message: 'shallow', cause: { message: 'inner' } },
    });
    const history = await svc.getWorkflowExecutionHistory({
      namespace: ns,
      execution: { workflowId: taskQueue },
    });
    const failed = history.history!.events!.find(
      (e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
    );
    assert.equal(failed?.workflowTaskFailedEventAttributes?.failure?.cause?.message, 'inner');
    await handle.terminate();
    const result = await withWorker(srv.nativeConnection, { taskQueue }, () =>
      client.workflow.execute(sleeper, { taskQueue, workflowId: `${taskQueue}-after`, args: [1] }),
    );
    assert.ok(result >= 1);
  });

  it('when ids and names are __proto__ or constructor, then start, signal, query and describe treat them as plain strings', async function () {
    const { client } = srv;
    const ns = 'default';
    const svc = client.workflowService;
    const taskQueue = uniqueQueue('proto');
    const handle = await client.workflow.start('collector', { taskQueue, workflowId: '__proto__' });
    await handle.signal('constructor', 'c1');
    await client.workflow.getHandle('__proto__').signal('__proto__', 'p1');

    // A hand-driven worker: the first task carries the start and both signals.
    const first = await svc.pollWorkflowTaskQueue({ namespace: ns, taskQueue: { name: taskQueue } });
    assert.equal(first.workflowExecution?.workflowId, '__proto__');
    const signals = first
      .history!.events!.filter((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)
      .map((e) => e.workflowExecutionSignaledEventAttributes?.signalName);
    assert.deepEqual(signals, ['constructor', '__proto__']);
    await svc.respondWorkflowTaskCompleted({ namespace: ns, taskToken: first.taskToken, commands: [] });

    const answer = handle.query<string>('__proto__');
    const queryTask = await svc.pollWorkflowTaskQueue({ namespace: ns, taskQueue: { name: taskQueue } });
    assert.equal(queryTask.query?.queryType, '__proto__');
    await svc.respondQueryTaskCompleted({
      namespace: ns,
      taskToken: queryTask.taskToken,
      completedType: temporal.api.enums.v1.QueryResultType.QUERY_RESULT_TYPE_ANSWERED,
      queryResult: { payloads: [keyword('answer to __proto__')] },
    });
    assert.equal(await answer, 'answer to __proto__');

    const d = await handle.describe();
    assert.equal(d.workflowId, '__proto__');
    assert.equal(d.status.name, 'RUNNING');
    await assert.rejects(client.workflow.getHandle('constructor').describe(), WorkflowNotFoundError);
    assert.equal((await client.workflow.count(`WorkflowId = '__proto__'`)).count, 1);
    await handle.terminate();
    assert.equal((await handle.describe()).status.name, 'TERMINATED');
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
