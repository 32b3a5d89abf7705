// temporal.api.workflowservice.v1.WorkflowService: request validation (the gRPC status
// the real server would give), the call into the engine, then commit() so the change
// is durable before the answer goes out.
import type { Engine } from '../core/engine';
import type { Handlers, CallContext } from './grpc-server';
import { requireString, requireId, invalidArgument, RpcError, Code } from './errors';
import { durationToMs, msToDuration, msToTimestamp, temporal, type IDuration } from '../proto';
import {
  startWorkflow,
  signalRun,
  signalWithStart,
  requestCancelRun,
  terminateRun,
  type StartInput,
} from '../core/lifecycle';
import {
  dispatchWorkflowTask,
  completeWorkflowTask,
  failWorkflowTask,
  startWorkflowTask,
  releaseStickyQueue,
} from '../core/workflow-tasks';
import {
  dispatchActivityTask,
  locateByToken,
  locateById,
  heartbeat,
  completeActivity,
  failActivity,
  cancelActivityConfirmed,
} from '../core/activities';
import { getHistory, getHistoryReverse } from '../core/history';
import { queryWorkflow, respondQueryTaskCompleted } from '../core/queries';
import {
  admitUpdate,
  waitForUpdate,
  validateUpdateRequest,
  hasCompletedUpdate,
  updateWithStart,
  multiOperationError,
  multiOperationAborted,
} from '../core/updates';
import type { Execution } from '../core/execution';
import { parseQuery, filterRuns, executionInfo, statusName } from '../core/visibility';
import { describeExecution } from '../core/describe';
import { checkSearchAttributes } from '../core/search-attributes';
import {
  blobExceedsLimit,
  payloadsSize,
  memoSize,
  BLOB_SIZE_EXCEEDS_LIMIT,
  MEMO_SIZE_EXCEEDS_LIMIT,
  MEMO_SIZE_LIMIT_ERROR,
} from '../core/limits';

type WS = typeof temporal.api.workflowservice.v1;
type Req<K extends keyof WS> = WS[K] extends { create(p?: infer P): unknown } ? NonNullable<P> : never;

const SERVER_VERSION = '1.27.0-devserver';

function duration(d: unknown, field: string): number {
  const ms = durationToMs(d as IDuration);
  if (ms < 0) throw invalidArgument(`${field} must not be negative.`);
  return ms;
}

/** A request payload over the size limit is refused, as the real server does (INVALID_ARGUMENT). */
function refuseLargeBlob(
  engine: Engine,
  payloads: unknown,
  operation: string,
  workflowId: string | null | undefined,
): void {
  if (blobExceedsLimit(payloadsSize(payloads as object), { log: engine.log, operation, workflowId }))
    throw invalidArgument(BLOB_SIZE_EXCEEDS_LIMIT);
}

function toStartInput(engine: Engine, r: Req<'StartWorkflowExecutionRequest'>): StartInput {
  const namespace = engine.namespace(r.namespace).name;
  refuseLargeBlob(engine, r.input, 'StartWorkflowExecution', r.workflowId);
  if (memoSize(r.memo) > MEMO_SIZE_LIMIT_ERROR) throw invalidArgument(MEMO_SIZE_EXCEEDS_LIMIT);
  return {
    namespace,
    workflowId: requireId(r.workflowId, 'WorkflowId'),
    workflowType: requireId(r.workflowType?.name, 'WorkflowType'),
    taskQueue: requireId(r.taskQueue?.name, 'TaskQueue'),
    input: r.input as never,
    header: r.header as never,
    memo: r.memo as never,
    searchAttributes: checkSearchAttributes(engine, validateSearchAttributes(r.searchAttributes as never)),
    executionTimeoutMs: duration(r.workflowExecutionTimeout, 'WorkflowExecutionTimeout'),
    runTimeoutMs: duration(r.workflowRunTimeout, 'WorkflowRunTimeout'),
    wftTimeoutMs: duration(r.workflowTaskTimeout, 'WorkflowTaskTimeout'),
    startDelayMs: duration(r.workflowStartDelay, 'WorkflowStartDelay'),
    requestId: r.requestId ?? '',
    identity: r.identity ?? '',
    reusePolicy: r.workflowIdReusePolicy ?? 0,
    conflictPolicy: r.workflowIdConflictPolicy ?? 0,
    retryPolicy: r.retryPolicy as never,
    cronSchedule: r.cronSchedule,
    userMetadata: r.userMetadata,
    priority: r.priority,
  };
}

function validateSearchAttributes(
  sa: { indexedFields?: Record<string, { data?: Uint8Array }> } | null | undefined,
) {
  for (const [k, p] of Object.entries(sa?.indexedFields ?? {})) {
    if (!k) throw invalidArgument('search attribute name must not be empty');
    try {
      JSON.parse(Buffer.from(p.data ?? new Uint8Array()).toString('utf8') || 'null');
    } catch {
      throw invalidArgument(`search attribute ${k} is not a valid JSON payload`);
    }
  }
  return sa as never;
}

function waitMs(engine: Engine, ctx: CallContext): number {
  return Math.max(0, Math.min(engine.longPollMs, ctx.deadlineMs - Date.now() - 1000));
}

function pageToken(token: Uint8Array | null | undefined): number {
  if (!token?.length) return 0;
  const n = Number(Buffer.from(token).toString('utf8'));
  if (!Number.isInteger(n) || n < 0) throw invalidArgument('invalid next page token');
  return n;
}

export function workflowServiceHandlers(engine: Engine): Handlers {
  /**
   * Reads answer only once what they saw is durable: a result long poll must not report
   * a completion that a crash in the next millisecond would take back.
   */
  async function settled<T>(read: Promise<T>): Promise<T> {
    const value = await read;
    await engine.commit();
    return value;
  }

  const h = {
    async GetSystemInfo() {
      return {
        serverVersion: SERVER_VERSION,
        capabilities: {
          signalAndQueryHeader: true,
          internalErrorDifferentiation: true,
          activityFailureIncludeHeartbeat: true,
          supportsSchedules: false,
          encodedFailureAttributes: true,
          buildIdBasedVersioning: false,
          upsertMemo: true,
          eagerWorkflowStart: true,
          sdkMetadata: true,
          countGroupByExecutionStatus: true,
          nexus: false,
        },
      };
    },

    async GetClusterInfo() {
      return {
        supportedClients: {},
        serverVersion: SERVER_VERSION,
        clusterId: 'devserver',
        clusterName: 'devserver',
        historyShardCount: 1,
        persistenceStore: 'devserver',
        visibilityStore: 'devserver',
      };
    },

    async DescribeNamespace(r: Req<'DescribeNamespaceRequest'>) {
      const ns = r.id
        ? [...engine.namespaces.values()].find((n) => n.id === r.id)
        : engine.namespace(r.namespace);
      if (!ns) throw new RpcError(Code.NOT_FOUND, `Namespace ${r.id} is not found.`);
      return describeNamespace(ns);
    },

    async ListNamespaces() {
      return { namespaces: [...engine.namespaces.values()].map(describeNamespace) };
    },

    async RegisterNamespace(r: Req<'RegisterNamespaceRequest'>) {
      const name = requireId(r.namespace, 'Namespace');
      if (engine.namespaces.has(name)) throw new RpcError(Code.ALREADY_EXISTS, 'Namespace already exists.');
      engine.registerNamespace(
        name,
        r.description ?? '',
        durationToMs(r.workflowExecutionRetentionPeriod as never) || undefined,
      );
      await engine.commit();
      return {};
    },

    async GetSearchAttributes() {
      return { keys: {} };
    },

    async StartWorkflowExecution(r: Req<'StartWorkflowExecutionRequest'>) {
      const input = toStartInput(engine, r);
      const { exec, started } = startWorkflow(engine, input);
      let eager: object | undefined;
      if (r.requestEagerExecution && started && exec.s.wft?.phase === 'scheduled') {
        eager = startWorkflowTask(engine, exec, r.identity ?? '');
        exec.s.wft.eager = true;
        engine.touch(exec);
      }
      await engine.commit();
      return { runId: exec.s.runId, started, status: exec.s.status, eagerWorkflowTask: eager };
    },

    async SignalWorkflowExecution(r: Req<'SignalWorkflowExecutionRequest'>) {
      const ns = engine.namespace(r.namespace).name;
      const signalName = requireString(r.signalName, 'SignalName');
      refuseLargeBlob(engine, r.input, 'SignalWorkflowExecution', r.workflowExecution?.workflowId);
      const exec = engine.lookupRunning(ns, r.workflowExecution?.workflowId, r.workflowExecution?.runId);
      signalRun(engine, exec, {
        signalName,
        input: r.input as never,
        header: r.header as never,
        identity: r.identity,
        requestId: r.requestId,
      });
      await engine.commit();
      return {};
    },

    async SignalWithStartWorkflowExecution(r: Req<'SignalWithStartWorkflowExecutionRequest'>) {
      const signalName = requireString(r.signalName, 'SignalName');
      refuseLargeBlob(engine, r.signalInput, 'SignalWithStartWorkflowExecution', r.workflowId);
      const input = toStartInput(engine, r);
      const { exec, started } = signalWithStart(engine, input, {
        signalName,
        input: r.signalInput as never,
        header: r.header as never,
        identity: r.identity,
        requestId: r.requestId,
      });
      await engine.commit();
      return { runId: exec.s.runId, started };
    },

    async GetWorkflowExecutionHistory(r: Req<'GetWorkflowExecutionHistoryRequest'>, ctx: CallContext) {
      const ns = engine.namespace(r.namespace).name;
      const exec = engine.lookup(ns, r.execution?.workflowId, r.execution?.runId);
      return settled(getHistory(engine, exec, r, ctx));
    },

    async GetWorkflowExecutionHistoryReverse(r: Req<'GetWorkflowExecutionHistoryReverseRequest'>) {
      const ns = engine.namespace(r.namespace).name;
      const exec = engine.lookup(ns, r.execution?.workflowId, r.execution?.runId);
      return settled(Promise.resolve(getHistoryReverse(engine, exec, r)));
    },

    async QueryWorkflow(r: Req<'QueryWorkflowRequest'>, ctx: CallContext) {
      const ns = engine.namespace(r.namespace).name;
      const queryType = requireString(r.query?.queryType, 'QueryType');
      // Before the run is looked up, as the real frontend checks it.
      refuseLargeBlob(engine, r.query?.queryArgs, 'QueryWorkflow', r.execution?.workflowId);
      const exec = engine.lookup(ns, r.execution?.workflowId, r.execution?.runId);
      return queryWorkflow(
        engine,
        exec,
        {
          queryType,
          queryArgs: r.query?.queryArgs,
          header: r.query?.header,
          rejectCondition: r.queryRejectCondition ?? 0,
        },
        ctx,
      );
    },

    async DescribeWorkflowExecution(r: Req<'DescribeWorkflowExecutionRequest'>) {
      const ns = engine.namespace(r.namespace).name;
      const exec = engine.lookup(ns, r.execution?.workflowId, r.execution?.runId);
      return settled(Promise.resolve(describeExecution(engine, exec)));
    },

    async RequestCancelWorkflowExecution(r: Req<'RequestCancelWorkflowExecutionRequest'>) {
      const ns = engine.namespace(r.namespace).name;
      const exec = engine.lookupRunning(ns, r.workflowExecution?.workflowId, r.workflowExecution?.runId);
      if (r.firstExecutionRunId && exec.s.firstRunId !== r.firstExecutionRunId) {
        throw new RpcError(
          Code.NOT_FOUND,
          'workflow execution not found for the given first execution run id',
        );
      }
      requestCancelRun(engine, exec, r.reason ?? '', r.identity ?? '', r.requestId);
      await engine.commit();
      return {};
    },

    async TerminateWorkflowExecution(r: Req<'TerminateWorkflowExecutionRequest'>) {
      const ns = engine.namespace(r.namespace).name;
      const exec = engine.lookupRunning(ns, r.workflowExecution?.workflowId, r.workflowExecution?.runId);
      if (r.firstExecutionRunId && exec.s.firstRunId !== r.firstExecutionRunId) {
        throw new RpcError(
          Code.NOT_FOUND,
          'workflow execution not found for the given first execution run id',
        );
      }
      terminateRun(engine, exec, r.reason ?? '', r.details as never, r.identity ?? '');
      await engine.commit();
      return {};
    },

    async ListWorkflowExecutions(r: Req<'ListWorkflowExecutionsRequest'>) {
      const ns = engine.namespace(r.namespace).name;
      const q = parseQuery(r.query);
      if (q.groupBy) throw invalidArgument('GROUP BY is only supported by CountWorkflowExecutions');
      const runs = filterRuns(engine.executions.values(), ns, q);
      const offset = pageToken(r.nextPageToken);
      const size = r.pageSize && r.pageSize > 0 ? Math.min(r.pageSize, 1000) : 1000;
      const page = runs.slice(offset, offset + size);
      return {
        executions: page.map(executionInfo),
        nextPageToken: offset + size < runs.length ? Buffer.from(String(offset + size)) : undefined,
      };
    },

    async CountWorkflowExecutions(r: Req<'CountWorkflowExecutionsRequest'>) {
      const ns = engine.namespace(r.namespace).name;
      const q = parseQuery(r.query);
      const runs = filterRuns(engine.executions.values(), ns, q);
      if (!q.groupBy) return { count: runs.length };
      const groups = new Map<number, number>();
      for (const x of runs) groups.set(x.s.status, (groups.get(x.s.status) ?? 0) + 1);
      return {
        count: runs.length,
        groups: [...groups.entries()].map(([status, count]) => ({
          groupValues: [
            {
              metadata: { encoding: Buffer.from('json/plain') },
              data: Buffer.from(JSON.stringify(statusName(status))),
            },
          ],
          count,
        })),
      };
    },

    async PollWorkflowTaskQueue(r: Req<'PollWorkflowTaskQueueRequest'>, ctx: CallContext) {
      const ns = engine.namespace(r.namespace).name;
      const queue = requireId(r.taskQueue?.name, 'TaskQueue');
      const identity = r.identity ?? '';
      const task = await engine.workflowQueues.poll(ns, queue, ctx, waitMs(engine, ctx), (ref) =>
        dispatchWorkflowTask(engine, ref, identity),
      );
      if (!task) return {};
      await engine.commit();
      return task;
    },

    async RespondWorkflowTaskCompleted(r: Req<'RespondWorkflowTaskCompletedRequest'>) {
      const { error, activityTasks } = completeWorkflowTask(engine, r);
      await engine.commit();
      if (error) throw error;
      return { activityTasks };
    },

    async RespondWorkflowTaskFailed(r: Req<'RespondWorkflowTaskFailedRequest'>) {
      failWorkflowTask(engine, r);
      await engine.commit();
      return {};
    },

    async PollActivityTaskQueue(r: Req<'PollActivityTaskQueueRequest'>, ctx: CallContext) {
      const ns = engine.namespace(r.namespace).name;
      const queue = requireId(r.taskQueue?.name, 'TaskQueue');
      const identity = r.identity ?? '';
      const task = await engine.activityQueues.poll(ns, queue, ctx, waitMs(engine, ctx), (ref) =>
        dispatchActivityTask(engine, ref, identity),
      );
      if (!task) return {};
      await engine.commit();
      return task;
    },

    async RecordActivityTaskHeartbeat(r: Req<'RecordActivityTaskHeartbeatRequest'>) {
      const cancelRequested = heartbeat(
        engine,
        locateByToken(engine, r.taskToken, r.namespace),
        r.details as never,
      );
      await engine.commit();
      return { cancelRequested };
    },

    async RecordActivityTaskHeartbeatById(r: Req<'RecordActivityTaskHeartbeatByIdRequest'>) {
      const ns = engine.namespace(r.namespace).name;
      const loc = locateById(engine, ns, r.workflowId, r.runId, r.activityId);
      const cancelRequested = heartbeat(engine, loc, r.details as never);
      await engine.commit();
      return { cancelRequested };
    },

    async RespondActivityTaskCompleted(r: Req<'RespondActivityTaskCompletedRequest'>) {
      completeActivity(
        engine,
        locateByToken(engine, r.taskToken, r.namespace),
        r.result as never,
        r.identity ?? '',
      );
      await engine.commit();
      return {};
    },

    async RespondActivityTaskCompletedById(r: Req<'RespondActivityTaskCompletedByIdRequest'>) {
      const ns = engine.namespace(r.namespace).name;
      completeActivity(
        engine,
        locateById(engine, ns, r.workflowId, r.runId, r.activityId),
        r.result as never,
        r.identity ?? '',
      );
      await engine.commit();
      return {};
    },

    async RespondActivityTaskFailed(r: Req<'RespondActivityTaskFailedRequest'>) {
      const loc = locateByToken(engine, r.taskToken, r.namespace);
      const failures = failActivity(
        engine,
        loc,
        r.failure as never,
        r.lastHeartbeatDetails as never,
        r.identity ?? '',
      );
      await engine.commit();
      return { failures };
    },

    async RespondActivityTaskFailedById(r: Req<'RespondActivityTaskFailedByIdRequest'>) {
      const ns = engine.namespace(r.namespace).name;
      const loc = locateById(engine, ns, r.workflowId, r.runId, r.activityId);
      const failures = failActivity(
        engine,
        loc,
        r.failure as never,
        r.lastHeartbeatDetails as never,
        r.identity ?? '',
      );
      await engine.commit();
      return { failures };
    },

    async RespondActivityTaskCanceled(r: Req<'RespondActivityTaskCanceledRequest'>) {
      const loc = locateByToken(engine, r.taskToken, r.namespace);
      cancelActivityConfirmed(engine, loc, r.details as never, r.identity ?? '');
      await engine.commit();
      return {};
    },

    async RespondActivityTaskCanceledById(r: Req<'RespondActivityTaskCanceledByIdRequest'>) {
      const ns = engine.namespace(r.namespace).name;
      const loc = locateById(engine, ns, r.workflowId, r.runId, r.activityId);
      cancelActivityConfirmed(engine, loc, r.details as never, r.identity ?? '');
      await engine.commit();
      return {};
    },

    async RespondQueryTaskCompleted(r: Req<'RespondQueryTaskCompletedRequest'>) {
      respondQueryTaskCompleted(engine, r);
      return {};
    },

    async ShutdownWorker(r: Req<'ShutdownWorkerRequest'>) {
      const ns = engine.namespace(r.namespace).name;
      if (r.stickyTaskQueue) releaseStickyQueue(engine, ns, r.stickyTaskQueue);
      await engine.commit();
      return {};
    },

    async UpdateWorkflowExecution(r: Req<'UpdateWorkflowExecutionRequest'>, ctx: CallContext) {
      const ns = engine.namespace(r.namespace).name;
      validateUpdateRequest(r.request);
      const updateId = r.request!.meta!.updateId!;
      const exec = engine.lookup(ns, r.workflowExecution?.workflowId, r.workflowExecution?.runId);
      if (r.firstExecutionRunId && exec.s.firstRunId !== r.firstExecutionRunId) {
        throw new RpcError(
          Code.NOT_FOUND,
          'workflow execution not found for the given first execution run id',
        );
      }
      // A retried update whose outcome the (now closed) run holds gets that outcome again.
      if (!exec.running && !hasCompletedUpdate(exec, updateId)) {
        throw new RpcError(Code.NOT_FOUND, 'workflow execution already completed');
      }
      if (exec.running) admitUpdate(engine, exec, r.request!);
      await engine.commit();
      return settled(waitForUpdate(engine, exec, updateId, r.waitPolicy?.lifecycleStage ?? 0, ctx));
    },

    async PollWorkflowExecutionUpdate(r: Req<'PollWorkflowExecutionUpdateRequest'>, ctx: CallContext) {
      const ns = engine.namespace(r.namespace).name;
      const ref = r.updateRef;
      const updateId = requireString(ref?.updateId, 'UpdateId');
      const exec = engine.lookup(ns, ref?.workflowExecution?.workflowId, ref?.workflowExecution?.runId);
      return settled(waitForUpdate(engine, exec, updateId, r.waitPolicy?.lifecycleStage ?? 0, ctx));
    },

    async ExecuteMultiOperation(r: Req<'ExecuteMultiOperationRequest'>, ctx: CallContext) {
      const ns = engine.namespace(r.namespace).name;
      const ops = r.operations ?? [];
      const startReq = ops[0]?.startWorkflow;
      const updateReq = ops[1]?.updateWorkflow;
      if (ops.length !== 2 || !startReq || !updateReq) {
        throw invalidArgument('Operations have to be exactly [Start, Update].');
      }
      // Each operation is validated on its own, as the real frontend does; if either is
      // invalid nothing is applied, and each operation reports its own status.
      let input: StartInput | undefined;
      let startErr: unknown = null;
      let updateErr: unknown = null;
      try {
        if (startReq.namespace && startReq.namespace !== r.namespace) {
          throw invalidArgument("Operation namespace did not match request's namespace.");
        }
        input = toStartInput(engine, { ...startReq, namespace: ns });
        if (startReq.cronSchedule) throw invalidArgument('CronSchedule is not allowed.');
        if (startReq.requestEagerExecution) throw invalidArgument('RequestEagerExecution is not supported.');
        if (input.startDelayMs > 0) throw invalidArgument('WorkflowStartDelay is not supported.');
      } catch (err) {
        startErr = err;
      }
      try {
        if (updateReq.namespace && updateReq.namespace !== r.namespace) {
          throw invalidArgument("Operation namespace did not match request's namespace.");
        }
        const wid = requireId(updateReq.workflowExecution?.workflowId, 'WorkflowId');
        if (updateReq.workflowExecution?.runId) throw invalidArgument('RunId is not allowed.');
        if (updateReq.firstExecutionRunId) throw invalidArgument('FirstExecutionRunId is not allowed.');
        validateUpdateRequest(updateReq.request);
        if (input && wid !== input.workflowId) {
          throw invalidArgument('WorkflowId is not consistent with previous operation(s).');
        }
      } catch (err) {
        updateErr = err;
      }
      if (startErr || updateErr || !input) {
        throw multiOperationError(
          [startErr ?? multiOperationAborted(), updateErr ?? multiOperationAborted()],
          'MultiOperation could not be executed.',
        );
      }
      const request = updateReq.request!;
      const updateId = request.meta!.updateId!;
      let applied: { exec: Execution; started: boolean };
      try {
        applied = updateWithStart(engine, input, request);
      } catch (err) {
        throw multiOperationError([err, multiOperationAborted()]);
      }
      const { exec, started } = applied;
      const startResponse = { runId: exec.s.runId, started, status: exec.s.status };
      await engine.commit();
      // Like UpdateWorkflowExecution, the answer waits for the stage asked for (or the long
      // poll's end, after which the client asks again with the same update id).
      let updateResponse;
      try {
        updateResponse = await waitForUpdate(
          engine,
          exec,
          updateId,
          updateReq.waitPolicy?.lifecycleStage ?? 0,
          ctx,
        );
      } catch (err) {
        throw multiOperationError([started ? null : multiOperationAborted(), err]);
      }
      await engine.commit();
      return { responses: [{ startWorkflow: startResponse }, { updateWorkflow: updateResponse }] };
    },

    async DescribeTaskQueue(r: Req<'DescribeTaskQueueRequest'>) {
      const ns = engine.namespace(r.namespace).name;
      const queue = requireId(r.taskQueue?.name, 'TaskQueue');
      void ns;
      void queue;
      return { pollers: [] };
    },
  };
  void msToDuration;
  void msToTimestamp;
  return h;

  function describeNamespace(ns: { name: string; id: string; description: string; retentionMs: number }) {
    return {
      namespaceInfo: {
        name: ns.name,
        state: temporal.api.enums.v1.NamespaceState.NAMESPACE_STATE_REGISTERED,
        description: ns.description,
        id: ns.id,
        capabilities: { eagerWorkflowStart: true, syncUpdate: true, asyncUpdate: true },
      },
      config: { workflowExecutionRetentionTtl: msToDuration(ns.retentionMs) },
      isGlobalNamespace: false,
    };
  }
}
