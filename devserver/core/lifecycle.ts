/* eslint-disable @typescript-eslint/no-unsafe-enum-comparison -- enums arrive from the wire, and are stored in state, as plain numbers */
// The life of a run as seen from outside it: start (id reuse and conflict policies,
// request-id idempotency, start delay), signals, cancel requests, termination, the
// close of a run (its children per parent-close policy, its parent told), timeouts and
// continue-as-new.
import { randomUUID } from 'node:crypto';
import type { Engine } from './engine';
import { Engine as EngineClass, dict } from './engine';
import { Execution } from './execution';
import type { ParentRef } from './state';
import {
  EventType,
  WorkflowExecutionStatus,
  RetryState,
  T,
  toB64,
  fromB64,
  msToDuration,
  msToTimestamp,
  temporal,
  type IPayloads,
  type IHeader,
  type IMemo,
  type ISearchAttributes,
  type IFailure,
  type IRetryPolicy,
  type IHistoryEvent,
} from '../proto';
import { alreadyStarted, RpcError, Code } from '../rpc/errors';
import { scheduleWorkflowTask } from './workflow-tasks';
import { flushQueuedQueries } from './queries';
import { failUpdateWaiters } from './updates';
import { attrsOf } from './events';
import { resolveChildStartedId } from './commands';

const Reuse = temporal.api.enums.v1.WorkflowIdReusePolicy;
const Conflict = temporal.api.enums.v1.WorkflowIdConflictPolicy;
const ParentClose = temporal.api.enums.v1.ParentClosePolicy;
const Status = WorkflowExecutionStatus;

export interface StartInput {
  namespace: string;
  workflowId: string;
  workflowType: string;
  taskQueue: string;
  input?: IPayloads | null;
  header?: IHeader | null;
  memo?: IMemo | null;
  searchAttributes?: ISearchAttributes | null;
  executionTimeoutMs: number;
  runTimeoutMs: number;
  wftTimeoutMs: number;
  startDelayMs: number;
  requestId: string;
  identity: string;
  reusePolicy: number;
  conflictPolicy: number;
  retryPolicy?: IRetryPolicy | null;
  cronSchedule?: string | null;
  userMetadata?: unknown;
  priority?: unknown;
  parent?: ParentRef;
  parentClosePolicy?: number;
  continued?: {
    fromRunId: string;
    firstRunId: string;
    executionDeadlineMs: number;
    initiator: number;
    failure?: IFailure | null;
    lastCompletionResult?: IPayloads | null;
  };
  /** Set when the id is promised beforehand (continue-as-new names it in the old run's close event). */
  runId?: string;
  /** false for SignalWithStart, which schedules the first task after writing the signal. */
  scheduleFirstTask?: boolean;
  /**
   * Skip the answer-a-retry-with-the-same-run check on the request id: SignalWithStart does
   * its own (by the signal's request id) before deciding to start.
   */
  skipRequestIdDedupe?: boolean;
}

export interface StartResult {
  exec: Execution;
  started: boolean;
}

const MAX_REMEMBERED_REQUEST_IDS = 100;

function remember(list: string[], id: string): void {
  list.push(id);
  if (list.length > MAX_REMEMBERED_REQUEST_IDS) list.splice(0, list.length - MAX_REMEMBERED_REQUEST_IDS);
}

export function startWorkflow(engine: Engine, input: StartInput): StartResult {
  const current = engine.currentRun(input.namespace, input.workflowId);
  if (current && !input.continued) {
    const sameRequest =
      !input.skipRequestIdDedupe &&
      input.requestId &&
      (current.s.startRequestId === input.requestId ||
        current.s.attachedRequestIds.includes(input.requestId));
    if (sameRequest) return { exec: current, started: current.s.startRequestId === input.requestId };
    if (current.running) {
      const conflict = input.conflictPolicy;
      if (conflict === Conflict.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING) {
        if (input.requestId) remember(current.s.attachedRequestIds, input.requestId);
        engine.touch(current);
        return { exec: current, started: false };
      }
      if (
        conflict === Conflict.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING ||
        input.reusePolicy === Reuse.WORKFLOW_ID_REUSE_POLICY_TERMINATE_IF_RUNNING
      ) {
        terminateRun(engine, current, 'terminated by a new start (id conflict policy)', null, input.identity);
      } else {
        throw alreadyStarted(current.s.startRequestId, current.s.runId);
      }
    } else {
      const reuse = input.reusePolicy;
      const failedLike = [
        Status.WORKFLOW_EXECUTION_STATUS_FAILED,
        Status.WORKFLOW_EXECUTION_STATUS_CANCELED,
        Status.WORKFLOW_EXECUTION_STATUS_TERMINATED,
        Status.WORKFLOW_EXECUTION_STATUS_TIMED_OUT,
      ].includes(current.s.status);
      if (
        reuse === Reuse.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE ||
        (reuse === Reuse.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY && !failedLike)
      ) {
        throw new RpcError(
          Code.ALREADY_EXISTS,
          `Workflow execution already finished and the id reuse policy does not allow a new run.`,
          {
            typeName: 'temporal.api.errordetails.v1.WorkflowExecutionAlreadyStartedFailure',
            value: { startRequestId: current.s.startRequestId, runId: current.s.runId },
          },
        );
      }
    }
  }
  return { exec: createRun(engine, input), started: true };
}

/** common.MaxWorkflowTaskStartToCloseTimeout of the real server. */
const MAX_WFT_TIMEOUT_MS = 120_000;

/**
 * The run timeout the real frontend records: unset means the execution timeout, and it
 * never exceeds the execution timeout (common.OverrideWorkflowRunTimeout).
 */
function effectiveRunTimeoutMs(runTimeoutMs: number, executionTimeoutMs: number): number {
  if (executionTimeoutMs <= 0) return runTimeoutMs;
  if (runTimeoutMs <= 0) return executionTimeoutMs;
  return Math.min(runTimeoutMs, executionTimeoutMs);
}

function createRun(engine: Engine, input: StartInput): Execution {
  const now = engine.now();
  const runId = input.runId ?? randomUUID();
  const s = engine.newState({
    namespace: input.namespace,
    workflowId: input.workflowId,
    runId,
    workflowType: input.workflowType,
    taskQueue: input.taskQueue,
  });
  s.firstRunId = input.continued?.firstRunId ?? runId;
  s.startMs = now;
  // The first workflow task waits for the start delay (or continue-as-new backoff); the run
  // timeout counts from then, as the real server's WorkflowRunExpirationTime does (start +
  // first-task backoff + run timeout, capped by the execution deadline). The execution
  // deadline itself counts from the start, delay included, as on the real server.
  s.executionMs = now + input.startDelayMs;
  s.runTimeoutMs = effectiveRunTimeoutMs(input.runTimeoutMs, input.executionTimeoutMs);
  s.executionTimeoutMs = input.executionTimeoutMs;
  s.executionDeadlineMs =
    input.continued?.executionDeadlineMs ??
    (input.executionTimeoutMs > 0 ? now + input.executionTimeoutMs : 0);
  // As the real server: 10 s unless given, never more than 120 s (a worker holding a task
  // keeps events buffered that long).
  s.wftTimeoutMs = input.wftTimeoutMs > 0 ? Math.min(input.wftTimeoutMs, MAX_WFT_TIMEOUT_MS) : 10_000;
  s.startRequestId = input.requestId;
  s.memo = toB64(T.Memo, input.memo && Object.keys(input.memo.fields ?? {}).length > 0 ? input.memo : null);
  s.searchAttributes = toB64(
    T.SearchAttributes,
    input.searchAttributes && Object.keys(input.searchAttributes.indexedFields ?? {}).length > 0
      ? input.searchAttributes
      : null,
  );
  s.parent = input.parent ?? null;
  s.parentClosePolicy = input.parentClosePolicy ?? 0;
  const exec = new Execution(s);
  exec.append(
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
    {
      workflowType: { name: input.workflowType },
      parentWorkflowNamespace: input.parent?.namespace,
      parentWorkflowExecution: input.parent
        ? { workflowId: input.parent.workflowId, runId: input.parent.runId }
        : undefined,
      parentInitiatedEventId: input.parent?.initiatedEventId,
      taskQueue: { name: input.taskQueue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
      input: input.input ?? undefined,
      workflowExecutionTimeout: input.executionTimeoutMs ? msToDuration(input.executionTimeoutMs) : undefined,
      workflowRunTimeout: s.runTimeoutMs ? msToDuration(s.runTimeoutMs) : undefined,
      workflowTaskTimeout: msToDuration(s.wftTimeoutMs),
      continuedExecutionRunId: input.continued?.fromRunId,
      initiator: input.continued?.initiator,
      continuedFailure: input.continued?.failure ?? undefined,
      lastCompletionResult: input.continued?.lastCompletionResult ?? undefined,
      originalExecutionRunId: runId,
      identity: input.identity,
      firstExecutionRunId: s.firstRunId,
      retryPolicy: input.retryPolicy ?? undefined,
      attempt: 1,
      workflowExecutionExpirationTime: s.executionDeadlineMs
        ? msToTimestamp(s.executionDeadlineMs)
        : undefined,
      cronSchedule: input.cronSchedule ?? undefined,
      firstWorkflowTaskBackoff: input.startDelayMs > 0 ? msToDuration(input.startDelayMs) : undefined,
      memo: input.memo ?? undefined,
      searchAttributes: input.searchAttributes ?? undefined,
      header: input.header ?? undefined,
      workflowId: input.workflowId,
      userMetadata: input.userMetadata ?? undefined,
      priority: input.priority ?? undefined,
    },
    now,
  );
  engine.addExecution(exec, true);
  if (input.startDelayMs > 0) s.firstWftAtMs = now + input.startDelayMs;
  else if (input.scheduleFirstTask !== false) scheduleWorkflowTask(engine, exec, 1);
  engine.touch(exec);
  return exec;
}

export interface SignalInput {
  signalName: string;
  input?: IPayloads | null;
  header?: IHeader | null;
  identity?: string | null;
  requestId?: string | null;
  externalWorkflowExecution?: { workflowId: string; runId: string };
}

export function signalRun(engine: Engine, exec: Execution, sig: SignalInput): void {
  if (sig.requestId) {
    if (exec.s.signalRequestIds.includes(sig.requestId)) return;
    remember(exec.s.signalRequestIds, sig.requestId);
  }
  engine.deliver(exec, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, {
    signalName: sig.signalName,
    input: sig.input ?? undefined,
    identity: sig.identity ?? '',
    header: sig.header ?? undefined,
    externalWorkflowExecution: sig.externalWorkflowExecution,
  });
  engine.touch(exec);
}

/**
 * SignalWithStart, as the real server does it (signalwithstartworkflow): a retry of a request
 * the current run already took (it started that run, or signalled it) is answered with that
 * run and changes nothing; a running workflow is signalled (its start delay is skipped, as a
 * SignalWithStart does on the real server) unless the conflict policy asks to replace it or
 * to fail; otherwise a new run is started with the signal as its second event.
 */
export function signalWithStart(engine: Engine, input: StartInput, sig: SignalInput): StartResult {
  const current = engine.currentRun(input.namespace, input.workflowId);
  if (current && sig.requestId && current.s.signalRequestIds.includes(sig.requestId)) {
    return { exec: current, started: current.s.startRequestId === input.requestId };
  }
  // The reuse policy TERMINATE_IF_RUNNING is the conflict policy TERMINATE_EXISTING by another name.
  const conflict =
    input.reusePolicy === Reuse.WORKFLOW_ID_REUSE_POLICY_TERMINATE_IF_RUNNING
      ? Conflict.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING
      : input.conflictPolicy || Conflict.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING;
  if (
    current?.running &&
    conflict !== Conflict.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING &&
    conflict !== Conflict.WORKFLOW_ID_CONFLICT_POLICY_FAIL
  ) {
    if (!current.s.wft && current.s.firstWftAtMs > 0) current.s.firstWftAtMs = 0;
    signalRun(engine, current, sig);
    return { exec: current, started: false };
  }
  const res = startWorkflow(engine, {
    ...input,
    conflictPolicy: conflict,
    scheduleFirstTask: false,
    skipRequestIdDedupe: true,
  });
  signalRun(engine, res.exec, sig);
  return res;
}

export function requestCancelRun(
  engine: Engine,
  exec: Execution,
  reason: string,
  identity: string,
  requestId?: string | null,
  external?: { initiatedEventId: number; workflowId: string; runId: string },
): void {
  if (requestId) {
    if (exec.s.cancelRequestIds.includes(requestId)) return;
    remember(exec.s.cancelRequestIds, requestId);
  }
  // A second request changes nothing: the workflow already knows.
  if (exec.s.cancelRequested) return;
  exec.s.cancelRequested = true;
  engine.deliver(exec, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED, {
    cause: reason,
    identity,
    externalInitiatedEventId: external?.initiatedEventId,
    externalWorkflowExecution: external
      ? { workflowId: external.workflowId, runId: external.runId }
      : undefined,
  });
  engine.touch(exec);
}

export function terminateRun(
  engine: Engine,
  exec: Execution,
  reason: string,
  details: IPayloads | null | undefined,
  identity: string,
): void {
  closeRun(engine, exec, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED, {
    reason,
    details: details ?? undefined,
    identity,
  });
}

export function timeOutWorkflow(engine: Engine, exec: Execution): void {
  closeRun(engine, exec, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT, {
    retryState: RetryState.RETRY_STATE_TIMEOUT,
  });
}

/**
 * Writes the close event and settles everything that hung on the run: its timers and
 * tasks are dropped, its children follow their parent-close policy, its parent hears
 * how it ended, waiting queries and updates are answered.
 */
export function closeRun(engine: Engine, exec: Execution, eventType: number, attrs: object): IHistoryEvent {
  const s = exec.s;
  const now = engine.now();
  const wft = s.wft;
  if (wft?.phase === 'started' && wft.attempt === 1) {
    // As on the real server (terminate, timeout, any close from outside the task): the
    // task in flight fails first, so a started task is always followed by its end. A
    // transient attempt has no events to close; a task only scheduled is left as it is.
    exec.append(
      EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
      {
        scheduledEventId: wft.scheduledEventId,
        startedEventId: wft.startedEventId,
        cause: temporal.api.enums.v1.WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_FORCE_CLOSE_COMMAND,
        identity: 'history-service',
      },
      now,
    );
  }
  // Events that arrived while the task was out are written before the close event.
  exec.flushBuffered();
  const event = exec.append(eventType, attrs, now);
  s.status = EngineClass.closeStatusByEvent[eventType]!;
  s.closeMs = now;
  s.wft = null;
  s.timers = dict();
  s.activities = dict();
  s.sticky = null;
  const children = Object.values(s.children);
  s.children = dict();
  for (const child of children) {
    const target = child.runId
      ? engine.executions.get(`${child.namespace}\u0000${child.workflowId}\u0000${child.runId}`)
      : undefined;
    if (!target?.running) continue;
    if (child.parentClosePolicy === ParentClose.PARENT_CLOSE_POLICY_REQUEST_CANCEL) {
      requestCancelRun(engine, target, 'by parent close policy', 'devserver');
    } else if (child.parentClosePolicy !== ParentClose.PARENT_CLOSE_POLICY_ABANDON) {
      target.s.parent = null;
      terminateRun(engine, target, 'by parent close policy', null, 'devserver');
    }
  }
  if (eventType !== EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW)
    notifyParent(engine, exec, event);
  failUpdateWaiters(exec);
  engine.touch(exec);
  flushQueuedQueries(engine, exec);
  return event;
}

const childEventByClose: Record<number, number> = {
  [EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED]:
    EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED,
  [EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED]: EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED,
  [EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED]: EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED,
  [EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT]:
    EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT,
  [EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED]:
    EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED,
};

function notifyParent(engine: Engine, exec: Execution, closeEvent: IHistoryEvent): void {
  const p = exec.s.parent;
  if (!p) return;
  const parent = engine.executions.get(`${p.namespace}\u0000${p.workflowId}\u0000${p.runId}`);
  const child = parent?.s.children[String(p.initiatedEventId)];
  if (!parent || !parent.running || !child) return;
  const startedEventId = child.startedEventId || resolveChildStartedId(parent, p.initiatedEventId);
  delete parent.s.children[String(p.initiatedEventId)];
  const a = attrsOf<Record<string, unknown>>(closeEvent);
  engine.deliver(parent, childEventByClose[closeEvent.eventType!]!, {
    namespace: exec.s.namespace,
    workflowExecution: { workflowId: exec.s.workflowId, runId: exec.s.runId },
    workflowType: { name: exec.s.workflowType },
    initiatedEventId: p.initiatedEventId,
    startedEventId,
    result: a.result,
    failure: a.failure,
    details: a.details,
    retryState: a.retryState,
  });
  engine.touch(parent);
}

export interface ContinueAsNewAttrs {
  workflowType?: { name?: string | null } | null;
  taskQueue?: { name?: string | null } | null;
  input?: IPayloads | null;
  workflowRunTimeout?: unknown;
  workflowTaskTimeout?: unknown;
  backoffStartInterval?: unknown;
  retryPolicy?: IRetryPolicy | null;
  initiator?: number | null;
  failure?: IFailure | null;
  lastCompletionResult?: IPayloads | null;
  cronSchedule?: string | null;
  header?: IHeader | null;
  memo?: IMemo | null;
  searchAttributes?: ISearchAttributes | null;
}

export function continueAsNew(
  engine: Engine,
  exec: Execution,
  a: ContinueAsNewAttrs,
  completedEventId: number,
  durationToMs: (d: unknown) => number,
): void {
  const s = exec.s;
  const newRunId = randomUUID();
  const workflowType = a.workflowType?.name || s.workflowType;
  const taskQueue = a.taskQueue?.name || s.taskQueue;
  const runTimeoutMs = durationToMs(a.workflowRunTimeout) || s.runTimeoutMs;
  const wftTimeoutMs = Math.min(durationToMs(a.workflowTaskTimeout) || s.wftTimeoutMs, MAX_WFT_TIMEOUT_MS);
  const backoffMs = durationToMs(a.backoffStartInterval);
  const memo = a.memo ?? fromB64<IMemo>(T.Memo, s.memo) ?? null;
  const searchAttributes =
    a.searchAttributes ?? fromB64<ISearchAttributes>(T.SearchAttributes, s.searchAttributes) ?? null;
  closeRun(engine, exec, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW, {
    newExecutionRunId: newRunId,
    workflowType: { name: workflowType },
    taskQueue: { name: taskQueue },
    input: a.input ?? undefined,
    workflowRunTimeout: runTimeoutMs ? msToDuration(runTimeoutMs) : undefined,
    workflowTaskTimeout: msToDuration(wftTimeoutMs),
    workflowTaskCompletedEventId: completedEventId,
    backoffStartInterval: backoffMs ? msToDuration(backoffMs) : undefined,
    initiator: a.initiator ?? undefined,
    failure: a.failure ?? undefined,
    lastCompletionResult: a.lastCompletionResult ?? undefined,
    header: a.header ?? undefined,
    memo: memo ?? undefined,
    searchAttributes: searchAttributes ?? undefined,
  });
  const next = createRun(engine, {
    runId: newRunId,
    namespace: s.namespace,
    workflowId: s.workflowId,
    workflowType,
    taskQueue,
    input: a.input,
    header: a.header,
    memo,
    searchAttributes,
    executionTimeoutMs: s.executionTimeoutMs,
    runTimeoutMs,
    wftTimeoutMs,
    startDelayMs: backoffMs,
    requestId: randomUUID(),
    identity: '',
    reusePolicy: 0,
    conflictPolicy: 0,
    retryPolicy: a.retryPolicy,
    cronSchedule: a.cronSchedule,
    parent: s.parent ?? undefined,
    parentClosePolicy: s.parentClosePolicy,
    continued: {
      fromRunId: s.runId,
      firstRunId: s.firstRunId,
      executionDeadlineMs: s.executionDeadlineMs,
      initiator: a.initiator ?? 1,
      failure: a.failure,
      lastCompletionResult: a.lastCompletionResult,
    },
  });
  // The parent's record of its child follows the chain to the new run.
  const p = s.parent;
  const parent = p ? engine.executions.get(`${p.namespace}\u0000${p.workflowId}\u0000${p.runId}`) : undefined;
  const child = p ? parent?.s.children[String(p.initiatedEventId)] : undefined;
  if (parent && child) {
    child.runId = next.s.runId;
    engine.touch(parent);
  }
}
