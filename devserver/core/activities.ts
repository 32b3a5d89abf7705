/* eslint-disable @typescript-eslint/no-unsafe-enum-comparison -- enums arrive from the wire, and are stored in state, as plain numbers */
// Activities: scheduling with every timeout and retry default filled in (the worker
// rejects tasks without them), dispatch to pollers, heartbeats (details kept for the
// next attempt, cancellation delivered in the heartbeat response), retries with
// backoff, and the four timeouts. As on the real server, ActivityTaskStarted is only
// written when the activity closes, with the attempt that closed it.
import type { Engine, ActRef } from './engine';
import type { Execution } from './execution';
import type { ActivityState, RetrySettings } from './state';
import { runDeadlineMs } from './state';
import {
  EventType,
  RetryState,
  TimeoutType,
  T,
  toB64,
  fromB64,
  durationToMs,
  msToDuration,
  msToTimestamp,
  temporal,
  type IFailure,
  type IPayloads,
} from '../proto';
import { attrsOf } from './events';
import { encodeToken, decodeToken } from './tokens';
import { notFound, invalidArgument } from '../rpc/errors';
import {
  blobExceedsLimit,
  payloadsSize,
  failureSize,
  serverFailure,
  truncateFailure,
  BLOB_SIZE_LIMIT_WARN,
  COMPLETE_RESULT_EXCEEDS_LIMIT,
  FAILURE_EXCEEDS_LIMIT,
  CANCEL_DETAILS_EXCEED_LIMIT,
  HEARTBEAT_DETAILS_EXCEED_LIMIT,
} from './limits';

type ScheduleAttrs = temporal.api.command.v1.IScheduleActivityTaskCommandAttributes;
type PollResponse = temporal.api.workflowservice.v1.IPollActivityTaskQueueResponse;

const DEFAULT_INITIAL_INTERVAL_MS = 1000;
const DEFAULT_COEFFICIENT = 2;

export function scheduleActivity(
  engine: Engine,
  exec: Execution,
  a: ScheduleAttrs,
  completedEventId: number,
): number {
  const s = exec.s;
  const now = engine.now();
  const runDeadline = runDeadlineMs(s);
  const runRemainingMs = runDeadline > 0 ? runDeadline - now : 0;
  let scheduleToClose = durationToMs(a.scheduleToCloseTimeout as never);
  let startToClose = durationToMs(a.startToCloseTimeout as never);
  let scheduleToStart = durationToMs(a.scheduleToStartTimeout as never);
  const heartbeat = durationToMs(a.heartbeatTimeout as never);
  if (scheduleToClose <= 0 && runRemainingMs > 0) scheduleToClose = runRemainingMs;
  if (startToClose <= 0) startToClose = scheduleToClose;
  if (scheduleToStart <= 0 || (scheduleToClose > 0 && scheduleToStart > scheduleToClose))
    scheduleToStart = scheduleToClose;
  if (scheduleToClose > 0 && startToClose > scheduleToClose) startToClose = scheduleToClose;
  const rp = a.retryPolicy ?? {};
  const initialMs = durationToMs(rp.initialInterval as never) || DEFAULT_INITIAL_INTERVAL_MS;
  const retry: RetrySettings = {
    initialMs,
    coefficient:
      rp.backoffCoefficient && rp.backoffCoefficient >= 1 ? rp.backoffCoefficient : DEFAULT_COEFFICIENT,
    maxIntervalMs: durationToMs(rp.maximumInterval as never) || 100 * initialMs,
    maxAttempts: rp.maximumAttempts ?? 0,
    nonRetryable: rp.nonRetryableErrorTypes ?? [],
  };
  const taskQueue = a.taskQueue?.name || s.taskQueue;
  const ev = exec.append(
    EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
    {
      activityId: a.activityId,
      activityType: a.activityType,
      taskQueue: { name: taskQueue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
      header: a.header ?? undefined,
      input: a.input ?? undefined,
      scheduleToCloseTimeout: msToDuration(scheduleToClose),
      scheduleToStartTimeout: msToDuration(scheduleToStart),
      startToCloseTimeout: msToDuration(startToClose),
      heartbeatTimeout: msToDuration(heartbeat),
      workflowTaskCompletedEventId: completedEventId,
      retryPolicy: {
        initialInterval: msToDuration(retry.initialMs),
        backoffCoefficient: retry.coefficient,
        maximumInterval: msToDuration(retry.maxIntervalMs),
        maximumAttempts: retry.maxAttempts,
        nonRetryableErrorTypes: retry.nonRetryable,
      },
      useWorkflowBuildId: a.useWorkflowBuildId ?? undefined,
      priority: a.priority ?? undefined,
    },
    now,
  );
  const sid = ev.eventId!;
  const act: ActivityState = {
    scheduledEventId: sid,
    activityId: a.activityId!,
    type: a.activityType!.name!,
    taskQueue,
    phase: 'scheduled',
    attempt: 1,
    scheduledMs: now,
    attemptScheduledMs: now,
    startedMs: 0,
    scheduleToCloseMs: scheduleToClose,
    scheduleToStartMs: scheduleToStart,
    startToCloseMs: startToClose,
    heartbeatMs: heartbeat,
    retry,
    lastHeartbeatMs: 0,
    heartbeatDetails: null,
    lastFailure: null,
    lastWorkerIdentity: '',
    cancelRequested: false,
    cancelRequestedEventId: 0,
    retryAtMs: 0,
    requestId: '',
  };
  s.activities[String(sid)] = act;
  engine.activityQueues.add(s.namespace, taskQueue, { key: exec.key, sid, attempt: 1 });
  return sid;
}

function activityFor(exec: Execution | undefined, sid: number): ActivityState | undefined {
  return exec?.running ? exec.s.activities[String(sid)] : undefined;
}

export function dispatchActivityTask(
  engine: Engine,
  ref: ActRef,
  identity: string,
): PollResponse | undefined {
  const exec = engine.executions.get(ref.key);
  const act = activityFor(exec, ref.sid);
  if (!exec || !act || act.phase !== 'scheduled' || act.attempt !== ref.attempt) return undefined;
  const now = engine.now();
  act.phase = 'started';
  act.startedMs = now;
  act.lastHeartbeatMs = 0;
  act.lastWorkerIdentity = identity;
  engine.touch(exec);
  const scheduled = attrsOf<temporal.api.history.v1.IActivityTaskScheduledEventAttributes>(
    exec.history[ref.sid - 1]!,
  );
  const s = exec.s;
  return {
    taskToken: encodeToken({
      k: 'a',
      ns: s.namespace,
      wid: s.workflowId,
      rid: s.runId,
      sid: ref.sid,
      att: act.attempt,
    }),
    workflowNamespace: s.namespace,
    workflowType: { name: s.workflowType },
    workflowExecution: { workflowId: s.workflowId, runId: s.runId },
    activityType: { name: act.type },
    activityId: act.activityId,
    header: scheduled.header,
    input: scheduled.input,
    heartbeatDetails: fromB64<IPayloads>(T.Payloads, act.heartbeatDetails) as never,
    scheduledTime: msToTimestamp(act.scheduledMs) as never,
    currentAttemptScheduledTime: msToTimestamp(act.attemptScheduledMs) as never,
    startedTime: msToTimestamp(now) as never,
    attempt: act.attempt,
    scheduleToCloseTimeout: msToDuration(act.scheduleToCloseMs) as never,
    startToCloseTimeout: msToDuration(act.startToCloseMs) as never,
    heartbeatTimeout: msToDuration(act.heartbeatMs) as never,
    retryPolicy: scheduled.retryPolicy,
    priority: scheduled.priority,
  };
}

interface Located {
  exec: Execution;
  act: ActivityState;
}

/** Finds the running attempt a task token names; anything else is NOT_FOUND, as on the real server. */
export function locateByToken(
  engine: Engine,
  taskToken: Uint8Array | null | undefined,
  namespace?: string | null,
): Located {
  const t = decodeToken(taskToken, 'a');
  if (namespace && namespace !== t.ns) throw invalidArgument('task token does not match namespace');
  const exec = engine.executions.get(`${t.ns}\u0000${t.wid}\u0000${t.rid}`);
  const act = activityFor(exec, t.sid);
  if (!exec || !act || act.attempt !== t.att || act.phase !== 'started') {
    throw notFound('activity task not found');
  }
  return { exec, act };
}

export function locateById(
  engine: Engine,
  namespace: string,
  workflowId: string | null | undefined,
  runId: string | null | undefined,
  activityId: string | null | undefined,
): Located {
  if (!activityId) throw invalidArgument('ActivityId is not set on request.');
  const exec = engine.lookup(namespace, workflowId, runId);
  const act = exec.running
    ? Object.values(exec.s.activities).find((a) => a.activityId === activityId)
    : undefined;
  if (!act) throw notFound('activity not found');
  return { exec, act };
}

/**
 * By-id calls name an activity, not an attempt, so it may not be running. As on the real
 * server only completion may act on an activity no worker has started; a heartbeat,
 * failure or cancellation of it is NOT_FOUND.
 */
function requireStarted(act: ActivityState): void {
  if (act.phase !== 'started') throw notFound('activity task not found');
}

/** Where a payload size check happens, for the warning the real server logs. */
function blobContext(engine: Engine, { exec }: Located, operation: string) {
  return { log: engine.log, operation, workflowId: exec.s.workflowId, runId: exec.s.runId };
}

/**
 * RecordActivityTaskHeartbeat(ById). Details over the size limit fail the activity at
 * once (non-retryable), and the worker is told to cancel it, as the real frontend does.
 */
export function heartbeat(engine: Engine, loc: Located, details: IPayloads | null | undefined): boolean {
  const { exec, act } = loc;
  requireStarted(act);
  if (blobExceedsLimit(payloadsSize(details), blobContext(engine, loc, 'RecordActivityTaskHeartbeat'))) {
    failActivity(
      engine,
      loc,
      serverFailure(HEARTBEAT_DETAILS_EXCEED_LIMIT, true),
      undefined,
      act.lastWorkerIdentity,
    );
    return true;
  }
  act.lastHeartbeatMs = engine.now();
  if (details) act.heartbeatDetails = toB64(T.Payloads, details);
  engine.touch(exec);
  return act.cancelRequested;
}

/** Writes the started event of the closing attempt, then the closing event that points at it. */
function closeActivity(
  engine: Engine,
  exec: Execution,
  act: ActivityState,
  type: number,
  attrs: object,
): void {
  delete exec.s.activities[String(act.scheduledEventId)];
  const wasStarted = act.phase === 'started';
  if (wasStarted) {
    // Not engine.deliver: that may schedule a workflow task, whose event would then sit
    // between the started event and the closing event that points at it.
    exec.addExternal(
      EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED,
      {
        scheduledEventId: act.scheduledEventId,
        identity: act.lastWorkerIdentity,
        requestId: act.requestId,
        attempt: act.attempt,
        lastFailure: fromB64<IFailure>(T.Failure, act.lastFailure),
      },
      engine.now(),
    );
  }
  engine.deliver(exec, type, {
    ...attrs,
    scheduledEventId: act.scheduledEventId,
    // -1: "the event just before", resolved when the event gets its id (it may be buffered).
    startedEventId: wasStarted ? -1 : 0,
  });
  engine.touch(exec);
}

/**
 * RespondActivityTaskCompleted(ById). A result over the size limit is not recorded: the
 * activity fails instead, non-retryable, with the real server's reason.
 */
export function completeActivity(
  engine: Engine,
  loc: Located,
  result: IPayloads | null | undefined,
  identity: string,
): void {
  const tooLarge = blobExceedsLimit(
    payloadsSize(result),
    blobContext(engine, loc, 'RespondActivityTaskCompleted'),
  );
  if (loc.act.phase !== 'started') {
    // RespondActivityTaskCompletedById before any worker took the task: as on the real
    // server the attempt is started on the caller's behalf, so the completion points at
    // a real ActivityTaskStarted event; the queued task is stale from now on.
    loc.act.phase = 'started';
    loc.act.startedMs = engine.now();
    loc.act.lastHeartbeatMs = 0;
    loc.act.lastWorkerIdentity = identity;
    loc.act.requestId = '';
  }
  if (tooLarge) {
    failActivity(engine, loc, serverFailure(COMPLETE_RESULT_EXCEEDS_LIMIT, true), undefined, identity);
    return;
  }
  closeActivity(engine, loc.exec, loc.act, EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, {
    result: result ?? undefined,
    identity,
  });
}

/** RespondActivityTaskCanceled(ById). Details over the size limit fail the activity instead. */
export function cancelActivityConfirmed(
  engine: Engine,
  loc: Located,
  details: IPayloads | null | undefined,
  identity: string,
): void {
  requireStarted(loc.act);
  if (blobExceedsLimit(payloadsSize(details), blobContext(engine, loc, 'RespondActivityTaskCanceled'))) {
    failActivity(engine, loc, serverFailure(CANCEL_DETAILS_EXCEED_LIMIT, true), undefined, identity);
    return;
  }
  closeActivity(engine, loc.exec, loc.act, EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED, {
    details: details ?? undefined,
    latestCancelRequestedEventId: loc.act.cancelRequestedEventId,
    identity,
  });
}

/** Decides whether a failed attempt is retried; returns the retry state and the delay. */
function retryDecision(
  engine: Engine,
  act: ActivityState,
  failure: IFailure | null | undefined,
): { retry: boolean; state: number; delayMs: number } {
  const info = failure?.applicationFailureInfo;
  if (
    info?.nonRetryable ||
    failure?.serverFailureInfo?.nonRetryable ||
    (info?.type && act.retry.nonRetryable.includes(info.type))
  ) {
    return { retry: false, state: RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE, delayMs: 0 };
  }
  if (act.retry.maxAttempts > 0 && act.attempt >= act.retry.maxAttempts) {
    return { retry: false, state: RetryState.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED, delayMs: 0 };
  }
  let delayMs = Math.min(
    act.retry.initialMs * Math.pow(act.retry.coefficient, act.attempt - 1),
    act.retry.maxIntervalMs,
  );
  const explicit = durationToMs(info?.nextRetryDelay);
  if (explicit > 0) delayMs = explicit;
  if (act.scheduleToCloseMs > 0 && engine.now() + delayMs >= act.scheduledMs + act.scheduleToCloseMs) {
    return { retry: false, state: RetryState.RETRY_STATE_TIMEOUT, delayMs: 0 };
  }
  return { retry: true, state: RetryState.RETRY_STATE_IN_PROGRESS, delayMs };
}

function scheduleRetry(
  engine: Engine,
  exec: Execution,
  act: ActivityState,
  failure: IFailure,
  delayMs: number,
): void {
  act.lastFailure = toB64(T.Failure, failure);
  act.phase = 'backoff';
  act.attempt++;
  act.startedMs = 0;
  act.retryAtMs = engine.now() + delayMs;
  engine.touch(exec);
}

/**
 * RespondActivityTaskFailed(ById). As on the real frontend, last heartbeat details over the
 * size limit are dropped, and a failure over it is replaced by a server failure holding
 * what of it fits as its cause; both are returned for the response's `failures`. The
 * replacement is retryable (NewServerFailure(FailureReasonFailureExceedsLimit, false)):
 * the retry policy decides, as for the failure it stands for.
 */
export function failActivity(
  engine: Engine,
  loc: Located,
  failure: IFailure | null | undefined,
  lastHeartbeatDetails: IPayloads | null | undefined,
  identity: string,
): IFailure[] {
  const { exec, act } = loc;
  requireStarted(act);
  const replaced: IFailure[] = [];
  const ctx = blobContext(engine, loc, 'RespondActivityTaskFailed');
  if (lastHeartbeatDetails && blobExceedsLimit(payloadsSize(lastHeartbeatDetails), ctx)) {
    replaced.push(serverFailure(HEARTBEAT_DETAILS_EXCEED_LIMIT, true));
    lastHeartbeatDetails = undefined;
  }
  if (failure && blobExceedsLimit(failureSize(failure), ctx)) {
    failure = {
      ...serverFailure(FAILURE_EXCEEDS_LIMIT, false),
      cause: truncateFailure(failure, BLOB_SIZE_LIMIT_WARN),
    };
    replaced.push(failure);
  }
  if (lastHeartbeatDetails) act.heartbeatDetails = toB64(T.Payloads, lastHeartbeatDetails);
  const f = failure ?? { message: 'activity failed' };
  const decision = retryDecision(engine, act, f);
  if (decision.retry && !act.cancelRequested) {
    scheduleRetry(engine, exec, act, f, decision.delayMs);
    return replaced;
  }
  closeActivity(engine, exec, act, EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED, {
    failure: f,
    identity,
    retryState: decision.state,
  });
  return replaced;
}

const timeoutNames: Record<number, string> = {
  [TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE]: 'StartToClose',
  [TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START]: 'ScheduleToStart',
  [TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE]: 'ScheduleToClose',
  [TimeoutType.TIMEOUT_TYPE_HEARTBEAT]: 'Heartbeat',
};

export function activityTimedOut(
  engine: Engine,
  exec: Execution,
  sid: number,
  attempt: number,
  type: number,
): void {
  const act = activityFor(exec, sid);
  if (!act || act.attempt !== attempt) return;
  const details = fromB64<IPayloads>(T.Payloads, act.heartbeatDetails);
  const failure: IFailure = {
    message: `activity ${timeoutNames[type]} timeout`,
    source: 'Server',
    timeoutFailureInfo: { timeoutType: type, lastHeartbeatDetails: details },
  };
  // Only the attempt-level timeouts are retried; the others end the activity.
  if (type === TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE || type === TimeoutType.TIMEOUT_TYPE_HEARTBEAT) {
    const decision = retryDecision(engine, act, failure);
    if (decision.retry && !act.cancelRequested) {
      scheduleRetry(engine, exec, act, failure, decision.delayMs);
      return;
    }
    closeActivity(engine, exec, act, EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT, {
      failure,
      retryState: decision.state,
    });
    return;
  }
  const last = fromB64<IFailure>(T.Failure, act.lastFailure);
  closeActivity(engine, exec, act, EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT, {
    failure:
      last && type === TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE ? { ...failure, cause: last } : failure,
    retryState:
      type === TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE
        ? RetryState.RETRY_STATE_TIMEOUT
        : RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE,
  });
}

export function retryActivityNow(engine: Engine, exec: Execution, sid: number, attempt: number): void {
  const act = activityFor(exec, sid);
  if (!act || act.attempt !== attempt || act.phase !== 'backoff') return;
  act.phase = 'scheduled';
  act.attemptScheduledMs = engine.now();
  act.retryAtMs = 0;
  engine.activityQueues.add(exec.s.namespace, act.taskQueue, { key: exec.key, sid, attempt });
  engine.touch(exec);
}

export function requestCancelActivity(
  engine: Engine,
  exec: Execution,
  sid: number,
  completedEventId: number,
  deferred: (() => void)[],
): void {
  const act = exec.s.activities[String(sid)];
  const ev = exec.append(
    EventType.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED,
    { scheduledEventId: sid, workflowTaskCompletedEventId: completedEventId },
    engine.now(),
  );
  if (!act) return;
  act.cancelRequested = true;
  act.cancelRequestedEventId = ev.eventId!;
  if (act.phase !== 'started') {
    // Not running anywhere: cancelled at once; the workflow hears it in its next task.
    deferred.push(() => {
      if (!exec.running || !exec.s.activities[String(sid)]) return;
      closeActivity(engine, exec, act, EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED, {
        latestCancelRequestedEventId: act.cancelRequestedEventId,
        identity: '',
      });
    });
  }
}
