/* eslint-disable @typescript-eslint/no-unsafe-enum-comparison -- enums arrive from the wire, and are stored in state, as plain numbers */
// Queries. A query to a run whose first workflow task has not completed waits for it,
// as on the real server. While a workflow task is scheduled or out with a worker, the
// query rides on the next task (the `queries` map of the poll response, answered in
// RespondWorkflowTaskCompleted). Otherwise, and for closed runs, it goes out as a legacy
// query task (the `query` field, answered by RespondQueryTaskCompleted).
//
// Sizes, as on the real server: query arguments over 2 MiB are refused before anything
// else (INVALID_ARGUMENT "Blob data size exceeds limit.", in workflow-service.ts); an
// answer over 2 MiB fails the query with that same message, as a plain INVALID_ARGUMENT
// for a query that rode on a workflow task (the history service's error) and as a query
// failure for a legacy query task (the frontend turns the completion into a failed one).
import { randomUUID } from 'node:crypto';
import type { Engine } from './engine';
import type { Execution, PendingQuery, QueryOutcome } from './execution';
import { encodeToken, decodeToken } from './tokens';
import { historyPage } from './workflow-tasks';
import { TaskQueueKind, temporal } from '../proto';
import { RpcError, Code, invalidArgument, notFound } from '../rpc/errors';
import { blobExceedsLimit, payloadsSize, BLOB_SIZE_EXCEEDS_LIMIT } from './limits';
import type { CallContext } from '../rpc/grpc-server';

type PollResponse = temporal.api.workflowservice.v1.IPollWorkflowTaskQueueResponse;
type QueryResult = temporal.api.query.v1.IWorkflowQueryResult;
const ResultType = temporal.api.enums.v1.QueryResultType;
const RejectCondition = temporal.api.enums.v1.QueryRejectCondition;

export interface QueryRequest {
  queryType: string;
  queryArgs?: unknown;
  header?: unknown;
  rejectCondition?: number;
}

export async function queryWorkflow(
  engine: Engine,
  exec: Execution,
  req: QueryRequest,
  ctx: CallContext,
): Promise<temporal.api.workflowservice.v1.IQueryWorkflowResponse> {
  const rejected = rejection(exec, req.rejectCondition ?? 0);
  if (rejected) return { queryRejected: { status: exec.s.status } };
  const outcome = await new Promise<QueryOutcome>((resolve) => {
    const q: PendingQuery = {
      id: randomUUID(),
      queryType: req.queryType,
      queryArgs: req.queryArgs,
      header: req.header,
      resolve: (o) => {
        clearTimeout(timer);
        unsubscribe();
        forget();
        resolve(o);
      },
    };
    const forget = (): void => {
      removeFrom(exec.queuedQueries, q);
      removeFrom(exec.attachedQueries, q);
      engine.legacyQueries.delete(q.id);
    };
    const giveUp = (message: string): void => q.resolve({ ok: false, message, notReady: true });
    const waitMs = Math.max(0, Math.min(ctx.deadlineMs, Date.now() + 3600_000) - Date.now() - 100);
    const timer = setTimeout(() => giveUp('query timed out before a worker answered'), waitMs);
    const unsubscribe = ctx.onCancel(() => giveUp('query cancelled'));
    if (exec.running && (exec.s.lastCompletedWftStartedId === 0 || exec.s.wft)) {
      exec.queuedQueries.push(q);
      engine.touch(exec);
    } else {
      enqueueLegacy(engine, exec, q);
    }
  });
  engine.touch(exec);
  if (outcome.ok) return { queryResult: outcome.result as never };
  if (outcome.notReady) throw new RpcError(Code.DEADLINE_EXCEEDED, outcome.message);
  if (outcome.refused) throw invalidArgument(outcome.message);
  throw new RpcError(Code.INVALID_ARGUMENT, outcome.message, {
    typeName: 'temporal.api.errordetails.v1.QueryFailedFailure',
    value: { failure: outcome.failure },
  });
}

function rejection(exec: Execution, condition: number): boolean {
  if (exec.running) return false;
  if (condition === RejectCondition.QUERY_REJECT_CONDITION_NOT_OPEN) return true;
  if (condition === RejectCondition.QUERY_REJECT_CONDITION_NOT_COMPLETED_CLEANLY) {
    return (
      exec.s.status !== temporal.api.enums.v1.WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED
    );
  }
  return false;
}

function removeFrom(list: PendingQuery[], q: PendingQuery): void {
  const i = list.indexOf(q);
  if (i >= 0) list.splice(i, 1);
}

function enqueueLegacy(engine: Engine, exec: Execution, q: PendingQuery): void {
  engine.legacyQueries.set(q.id, { id: q.id, exec, query: q, dispatched: false });
  engine.workflowQueues.add(exec.s.namespace, exec.s.taskQueue, { kind: 'query', id: q.id });
}

/** After a workflow task ends, or the run closes: queries with no task to ride on go out on their own. */
export function flushQueuedQueries(engine: Engine, exec: Execution): void {
  if (exec.queuedQueries.length === 0) return;
  if (exec.running && (exec.s.wft || exec.s.lastCompletedWftStartedId === 0)) return;
  for (const q of exec.queuedQueries.splice(0)) enqueueLegacy(engine, exec, q);
}

/** The queries to send with the workflow task being dispatched. */
export function attachedQueries(exec: Execution): Record<string, object> | undefined {
  if (exec.queuedQueries.length === 0) return undefined;
  const out: Record<string, object> = {};
  for (const q of exec.queuedQueries) {
    out[q.id] = { queryType: q.queryType, queryArgs: q.queryArgs, header: q.header };
  }
  exec.attachedQueries.push(...exec.queuedQueries.splice(0));
  return out;
}

export function resolveAttachedQueries(
  engine: Engine,
  exec: Execution,
  results: Record<string, QueryResult>,
): void {
  for (const q of exec.attachedQueries.splice(0)) {
    const r = results[q.id];
    if (!r) {
      // The worker did not answer this one; it waits for the next task.
      exec.queuedQueries.push(q);
      continue;
    }
    const ctx = {
      log: engine.log,
      operation: 'ConsistentQuery',
      workflowId: exec.s.workflowId,
      runId: exec.s.runId,
    };
    if (blobExceedsLimit(payloadsSize(r.answer), ctx)) {
      q.resolve({ ok: false, message: BLOB_SIZE_EXCEEDS_LIMIT, refused: true });
      continue;
    }
    q.resolve(toOutcome(r.resultType ?? 0, r.answer, r.errorMessage, r.failure));
  }
}

function toOutcome(
  type: number,
  answer: unknown,
  errorMessage?: string | null,
  failure?: unknown,
): QueryOutcome {
  if (type === ResultType.QUERY_RESULT_TYPE_ANSWERED) return { ok: true, result: answer };
  return { ok: false, message: errorMessage || 'query failed', failure };
}

export function dispatchLegacyQuery(engine: Engine, id: string): PollResponse | undefined {
  const lq = engine.legacyQueries.get(id);
  if (!lq || lq.dispatched) return undefined;
  lq.dispatched = true;
  const exec = lq.exec;
  const s = exec.s;
  // The whole history: the worker may have no cached copy of this run.
  const page = historyPage(engine, exec, 1, 0, 0, Number.MAX_SAFE_INTEGER);
  return {
    taskToken: encodeToken({ k: 'q', id }),
    workflowExecution: { workflowId: s.workflowId, runId: s.runId },
    workflowType: { name: s.workflowType },
    previousStartedEventId: s.lastCompletedWftStartedId as never,
    startedEventId: 0 as never,
    attempt: 1,
    history: { events: page.events as never },
    query: {
      queryType: lq.query.queryType,
      queryArgs: lq.query.queryArgs as never,
      header: lq.query.header as never,
    },
    workflowExecutionTaskQueue: { name: s.taskQueue, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
  };
}

export function respondQueryTaskCompleted(
  engine: Engine,
  req: temporal.api.workflowservice.v1.IRespondQueryTaskCompletedRequest,
): void {
  const token = decodeToken(req.taskToken, 'q');
  const lq = engine.legacyQueries.get(token.id);
  if (!lq) throw notFound('query task not found (it may have timed out)');
  const ctx = { log: engine.log, operation: 'RespondQueryTaskCompleted' };
  if (blobExceedsLimit(payloadsSize(req.queryResult), ctx)) {
    // As the real frontend: the completion becomes a failed one with the limit's message.
    lq.query.resolve(toOutcome(ResultType.QUERY_RESULT_TYPE_FAILED, undefined, BLOB_SIZE_EXCEEDS_LIMIT));
    return;
  }
  lq.query.resolve(toOutcome(req.completedType ?? 0, req.queryResult, req.errorMessage, req.failure));
}
