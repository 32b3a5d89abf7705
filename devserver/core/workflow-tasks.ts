// Workflow tasks: scheduling (normal or sticky queue), handing them to pollers with the
// history the worker needs, completion (commands become history), failures and
// timeouts. Attempts after the first are transient, as on the real server: their
// scheduled/started events are sent to the worker but only written to history if the
// attempt completes, so a workflow stuck in a failing task does not grow its history.
import { randomUUID } from 'node:crypto';
import type { Engine, WftRef } from './engine';
import type { Execution } from './execution';
import { makeEvent } from './events';
import {
  EventType,
  TaskQueueKind,
  type IHistoryEvent,
  type ICommand,
  type IMessage,
  type IFailure,
  msToDuration,
  msToTimestamp,
  durationToMs,
  temporal,
} from '../proto';
import { encodeToken, decodeToken } from './tokens';
import { RpcError, Code, invalidArgument, notFound } from '../rpc/errors';
import {
  applyCommands,
  validateCommands,
  oversizedMessage,
  causeName,
  type InvalidCommand,
} from './commands';
import { terminateRun } from './lifecycle';
import {
  blobExceedsLimit,
  failureSize,
  serverFailure,
  truncateFailure,
  BLOB_SIZE_LIMIT_WARN,
  FAILURE_EXCEEDS_LIMIT,
} from './limits';
import { historySizeInfo } from './history-limits';
import { dispatchActivityTask } from './activities';
import { updateMessagesFor, returnSentUpdates, hasAdmittedUpdates, invalidUpdateMessage } from './updates';
import { flushQueuedQueries, resolveAttachedQueries, dispatchLegacyQuery, attachedQueries } from './queries';

type PollResponse = temporal.api.workflowservice.v1.IPollWorkflowTaskQueueResponse;
const Cause = temporal.api.enums.v1.WorkflowTaskFailedCause;

export function ensureWorkflowTask(engine: Engine, exec: Execution): void {
  if (!exec.running || exec.s.wft) return;
  if (exec.s.firstWftAtMs > engine.now()) return;
  scheduleWorkflowTask(engine, exec, 1);
}

export function scheduleFirstWorkflowTask(engine: Engine, exec: Execution): void {
  exec.s.firstWftAtMs = 0;
  ensureWorkflowTask(engine, exec);
}

export function scheduleWorkflowTask(engine: Engine, exec: Execution, attempt: number): void {
  const s = exec.s;
  const now = engine.now();
  const sticky = s.sticky !== null;
  const queue = s.sticky ? s.sticky.queue : s.taskQueue;
  const seq = ++s.wftSeq;
  // A transient attempt has no event yet; its id is where it would go, so that starting
  // it can tell whether other events were written meanwhile.
  let scheduledEventId = exec.nextEventId;
  if (attempt === 1) {
    scheduledEventId = exec.append(
      EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
      {
        taskQueue: taskQueueOf(exec, sticky),
        startToCloseTimeout: msToDuration(s.wftTimeoutMs),
        attempt: 1,
      },
      now,
    ).eventId!;
  }
  s.wft = {
    phase: 'scheduled',
    attempt,
    scheduledEventId,
    startedEventId: 0,
    scheduledMs: now,
    startedMs: 0,
    queue,
    sticky,
    startToCloseMs: startToCloseFor(s.wftTimeoutMs, attempt),
    seq,
    identity: '',
    sentUpdates: [],
  };
  engine.workflowQueues.add(s.namespace, queue, { kind: 'wft', key: exec.key, seq });
}

// As on the real server, a task failing again and again gets more time per attempt
// after the third: 5 s, 10 s, 20 s... (at most 10 minutes) on top of the task timeout,
// which paces a worker that keeps failing the same way.
const RETRY_BACKOFF_MIN_ATTEMPTS = 3;
const RETRY_INITIAL_INTERVAL_MS = 5_000;
const RETRY_MAX_INTERVAL_MS = 600_000;

function startToCloseFor(baseMs: number, attempt: number): number {
  if (attempt <= RETRY_BACKOFF_MIN_ATTEMPTS) return baseMs;
  const n = attempt - RETRY_BACKOFF_MIN_ATTEMPTS - 1;
  return baseMs + Math.min(RETRY_INITIAL_INTERVAL_MS * 2 ** Math.min(n, 30), RETRY_MAX_INTERVAL_MS);
}

function taskQueueOf(exec: Execution, sticky: boolean): object {
  if (sticky && exec.s.sticky) {
    return {
      name: exec.s.sticky.queue,
      kind: TaskQueueKind.TASK_QUEUE_KIND_STICKY,
      normalName: exec.s.taskQueue,
    };
  }
  return { name: exec.s.taskQueue, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL };
}

/** The scheduled/started events of a transient attempt, as sent to the worker. */
function transientEvents(exec: Execution): IHistoryEvent[] {
  const wft = exec.s.wft!;
  return [
    makeEvent(
      EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
      {
        taskQueue: taskQueueOf(exec, wft.sticky),
        startToCloseTimeout: msToDuration(wft.startToCloseMs),
        attempt: wft.attempt,
      },
      wft.scheduledEventId,
      wft.scheduledMs,
    ),
    makeEvent(
      EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
      {
        scheduledEventId: wft.scheduledEventId,
        identity: wft.identity,
        requestId: randomUUID(),
        ...historySizeInfo(exec),
      },
      wft.startedEventId,
      wft.startedMs,
    ),
  ];
}

/** A poller took a reference from a workflow task queue: start the task if still valid. */
export function dispatchWorkflowTask(
  engine: Engine,
  ref: WftRef,
  identity: string,
): PollResponse | undefined {
  if (ref.kind === 'query') return dispatchLegacyQuery(engine, ref.id);
  const exec = engine.executions.get(ref.key);
  const wft = exec?.s.wft;
  if (!exec || !exec.running || !wft || wft.phase !== 'scheduled' || wft.seq !== ref.seq) return undefined;
  const response = startWorkflowTask(engine, exec, identity);
  engine.touch(exec);
  return response;
}

export function startWorkflowTask(engine: Engine, exec: Execution, identity: string): PollResponse {
  const wft = exec.s.wft!;
  const now = engine.now();
  wft.phase = 'started';
  wft.startedMs = now;
  wft.identity = identity;
  if (wft.attempt > 1 && wft.scheduledEventId !== exec.nextEventId) {
    // Events were written since this transient attempt was scheduled: like the real
    // server, it becomes a normal task whose scheduled event is written now.
    wft.attempt = 1;
    wft.scheduledMs = now;
    wft.startToCloseMs = exec.s.wftTimeoutMs;
    wft.scheduledEventId = exec.append(
      EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
      {
        taskQueue: taskQueueOf(exec, wft.sticky),
        startToCloseTimeout: msToDuration(wft.startToCloseMs),
        attempt: 1,
      },
      now,
    ).eventId!;
  }
  if (wft.attempt === 1) {
    wft.startedEventId = exec.append(
      EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
      {
        scheduledEventId: wft.scheduledEventId,
        identity,
        requestId: randomUUID(),
        ...historySizeInfo(exec),
      },
      now,
    ).eventId!;
  } else {
    // History cannot grow while the task is started (new events are buffered), so these
    // ids stay valid until the attempt completes and the events are written for real.
    wft.startedEventId = wft.scheduledEventId + 1;
  }
  return buildWorkflowTaskResponse(engine, exec);
}

function buildWorkflowTaskResponse(engine: Engine, exec: Execution): PollResponse {
  const s = exec.s;
  const wft = s.wft!;
  const messages = updateMessagesFor(engine, exec);
  const queries = s.lastCompletedWftStartedId > 0 ? attachedQueries(exec) : undefined;
  // A sticky worker has the run cached: send only what happened since its last task.
  const fromEventId = wft.sticky ? s.lastCompletedWftStartedId + 1 : 1;
  const page = historyPage(engine, exec, fromEventId, wft.startedEventId, wft.attempt > 1 ? wft.seq : 0);
  return {
    taskToken: encodeToken({ k: 'w', ns: s.namespace, wid: s.workflowId, rid: s.runId, seq: wft.seq }),
    workflowExecution: { workflowId: s.workflowId, runId: s.runId },
    workflowType: { name: s.workflowType },
    previousStartedEventId: s.lastCompletedWftStartedId as never,
    startedEventId: wft.startedEventId as never,
    attempt: wft.attempt,
    history: { events: page.events as never },
    nextPageToken: page.nextPageToken,
    workflowExecutionTaskQueue: { name: s.taskQueue, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    scheduledTime: msToTimestamp(wft.scheduledMs) as never,
    startedTime: msToTimestamp(wft.startedMs) as never,
    queries: queries,
    messages: messages as never,
  };
}

/**
 * One page of the events a workflow task needs, [from, to] plus the transient events of
 * attempt `tseq` on the last page. Later pages are fetched with GetWorkflowExecutionHistory.
 */
export function historyPage(
  engine: Engine,
  exec: Execution,
  from: number,
  to: number,
  tseq: number,
  pageSize = engine.historyPageSize,
): { events: IHistoryEvent[]; nextPageToken?: Buffer } {
  const wft = exec.s.wft;
  const transient =
    tseq > 0 && wft && wft.seq === tseq && wft.phase === 'started' ? transientEvents(exec) : [];
  const lastInHistory = Math.min(to > 0 ? to : exec.history.length, exec.history.length);
  const end = Math.min(lastInHistory, from - 1 + pageSize);
  const events = exec.history.slice(from - 1, end);
  if (end < lastInHistory) {
    return { events, nextPageToken: encodeToken({ k: 'h', from: end + 1, to: lastInHistory, tseq }) };
  }
  return { events: events.concat(transient) };
}

function validateToken(engine: Engine, taskToken: Uint8Array | null | undefined, namespace?: string | null) {
  const token = decodeToken(taskToken, 'w');
  if (namespace && namespace !== token.ns) throw invalidArgument('task token does not match namespace');
  const exec = engine.executions.get(`${token.ns}\u0000${token.wid}\u0000${token.rid}`);
  const wft = exec?.s.wft;
  if (!exec || !exec.running || !wft || wft.phase !== 'started' || wft.seq !== token.seq) {
    throw notFound('Workflow task not found.');
  }
  return exec;
}

type CompletedRequest = temporal.api.workflowservice.v1.IRespondWorkflowTaskCompletedRequest;

/**
 * RespondWorkflowTaskCompleted. Returns an error to raise after the state is committed
 * (a rejected completion still changes history: the task is recorded as failed).
 */
export interface CompletionResult {
  /** An error to raise after the state is committed. */
  error?: RpcError;
  /** Activity tasks started eagerly for the worker that asked for them. */
  activityTasks: object[];
}

export function completeWorkflowTask(engine: Engine, req: CompletedRequest): CompletionResult {
  const exec = validateToken(engine, req.taskToken, req.namespace);
  const s = exec.s;
  const wft = s.wft!;
  const now = engine.now();
  const commands = (req.commands ?? []) as ICommand[];
  const messages = (req.messages ?? []) as IMessage[];
  const identity = req.identity ?? '';

  // Everything is validated before anything of the completion is applied.
  const invalid: InvalidCommand | undefined =
    validateCommands(engine, exec, commands) ??
    invalidUpdateMessage(messages) ??
    oversizedMessage(engine, exec, messages);
  if (invalid && !invalid.unhandled && wft.attempt > 1) {
    // As on the real server: a retried task that fails again the same way is dropped and
    // changes nothing; it times out and is retried after its (growing) timeout, so a
    // worker that keeps sending the same bad commands neither loops nor grows history.
    return { error: new RpcError(Code.INVALID_ARGUMENT, invalid.message), activityTasks: [] };
  }
  resolveAttachedQueries(engine, exec, req.queryResults ?? {});
  if (invalid?.terminate) {
    // A payload over the size limit: the real server fails the task and terminates the run.
    const message = `${causeName(invalid.cause)}: ${invalid.message}`;
    failTaskAndTerminate(engine, exec, invalid.cause, message, identity);
    return { error: new RpcError(Code.INVALID_ARGUMENT, message), activityTasks: [] };
  }
  if (invalid) {
    // Invalid commands, or new events arrived while the worker decided to close the run
    // (it must see them first): the task fails and nothing of the completion is applied.
    const { cause, message } = invalid;
    failTask(engine, exec, cause, { message, applicationFailureInfo: {} }, identity);
    return { error: new RpcError(Code.INVALID_ARGUMENT, message), activityTasks: [] };
  }

  if (wft.attempt > 1) {
    // The transient attempt succeeded: its scheduled/started events become history.
    for (const e of transientEvents(exec)) exec.history.push(e);
  }

  const completed = exec.append(
    EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
    {
      scheduledEventId: wft.scheduledEventId,
      startedEventId: wft.startedEventId,
      identity,
      binaryChecksum: req.binaryChecksum ?? undefined,
      workerVersion: req.workerVersionStamp ?? undefined,
      sdkMetadata: req.sdkMetadata ?? undefined,
      meteringMetadata: req.meteringMetadata ?? undefined,
    },
    now,
  );
  s.lastCompletedWftStartedId = wft.startedEventId;
  const sentUpdates = wft.sentUpdates;
  s.wft = null;
  const stickyQueue = req.stickyAttributes?.workerTaskQueue?.name;
  s.sticky = stickyQueue
    ? {
        queue: stickyQueue,
        scheduleToStartMs: durationToMs(req.stickyAttributes?.scheduleToStartTimeout as never),
      }
    : null;

  const deferred: (() => void)[] = [];
  const eager: number[] = [];
  applyCommands(engine, exec, commands, messages, completed.eventId!, identity, deferred, eager);
  if (exec.running) {
    // Updates delivered with this task that the worker neither accepted nor rejected go out again.
    returnSentUpdates(exec, sentUpdates);
    const flushed = exec.flushBuffered();
    if (flushed > 0 || req.forceCreateNewWorkflowTask || hasAdmittedUpdates(exec)) {
      scheduleWorkflowTask(engine, exec, 1);
    }
  }
  for (const action of deferred) action();
  if (exec.running) flushQueuedQueries(engine, exec);
  const activityTasks: object[] = [];
  for (const sid of eager) {
    const task = exec.running
      ? dispatchActivityTask(engine, { key: exec.key, sid, attempt: 1 }, identity)
      : undefined;
    if (task) activityTasks.push(task);
  }
  engine.touch(exec);
  return { activityTasks };
}

/**
 * Common end of a task that did not complete: buffered events land, updates and queries
 * go back. Returns how many buffered events were written.
 */
function endTask(engine: Engine, exec: Execution): number {
  const wft = exec.s.wft;
  if (wft) returnSentUpdates(exec, wft.sentUpdates);
  exec.s.wft = null;
  const flushed = exec.flushBuffered();
  // Queries that rode on the failed task wait for the next one.
  exec.queuedQueries.unshift(...exec.attachedQueries.splice(0));
  return flushed;
}

/** Fails the started task: WorkflowTaskFailed for a first attempt only, then the retry. */
function failTask(
  engine: Engine,
  exec: Execution,
  cause: number,
  failure: temporal.api.failure.v1.IFailure | null | undefined,
  identity: string,
): void {
  const wft = exec.s.wft!;
  if (wft.attempt === 1) {
    exec.append(
      EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
      {
        scheduledEventId: wft.scheduledEventId,
        startedEventId: wft.startedEventId,
        cause,
        failure: failure ?? undefined,
        identity,
      },
      engine.now(),
    );
  }
  retryTask(engine, exec, wft.attempt + 1);
}

/**
 * The task failed with a cause that ends the run (a payload over the size limit): as the
 * real server does, WorkflowTaskFailed, then the events buffered meanwhile, then
 * WorkflowExecutionTerminated by the history service with the failure's message.
 */
function failTaskAndTerminate(
  engine: Engine,
  exec: Execution,
  cause: number,
  message: string,
  identity: string,
): void {
  const wft = exec.s.wft!;
  exec.append(
    EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
    {
      scheduledEventId: wft.scheduledEventId,
      startedEventId: wft.startedEventId,
      cause,
      failure: serverFailure(message, true),
      identity,
    },
    engine.now(),
  );
  endTask(engine, exec);
  terminateRun(engine, exec, message, undefined, 'history-service');
}

/** The real server's history.maximumBufferedEventsBatch. */
export const MAX_BUFFERED_EVENTS = 100;

/**
 * Events wait in the buffer while a workflow task is out; a worker that holds its task
 * while signals pour in would grow it without bound. Past the limit the task is failed
 * (FORCE_CLOSE_COMMAND, as the real server does), the buffer goes into history and a
 * new task carries it.
 */
export function limitBufferedEvents(engine: Engine, exec: Execution): void {
  if (exec.buffered.length <= MAX_BUFFERED_EVENTS || exec.s.wft?.phase !== 'started') return;
  failTask(
    engine,
    exec,
    Cause.WORKFLOW_TASK_FAILED_CAUSE_FORCE_CLOSE_COMMAND,
    { message: `more than ${MAX_BUFFERED_EVENTS} events arrived while the workflow task was out` },
    'history-service',
  );
}

type FailedRequest = temporal.api.workflowservice.v1.IRespondWorkflowTaskFailedRequest;

/**
 * RespondWorkflowTaskFailed. As on the real frontend, a failure over the size limit is
 * replaced by a server failure "Failure exceeds size limit." holding what fits of it
 * (failure.Truncate to the warning size) as its cause.
 */
export function failWorkflowTask(engine: Engine, req: FailedRequest): void {
  const exec = validateToken(engine, req.taskToken, req.namespace);
  let failure: FailedRequest['failure'] = req.failure;
  const ctx = {
    log: engine.log,
    operation: 'RespondWorkflowTaskFailed',
    workflowId: exec.s.workflowId,
    runId: exec.s.runId,
  };
  if (failure && blobExceedsLimit(failureSize(failure), ctx)) {
    failure = {
      ...serverFailure(FAILURE_EXCEEDS_LIMIT, true),
      cause: truncateFailure(failure as IFailure, BLOB_SIZE_LIMIT_WARN),
    } as FailedRequest['failure'];
  }
  failTask(
    engine,
    exec,
    req.cause ?? Cause.WORKFLOW_TASK_FAILED_CAUSE_UNSPECIFIED,
    failure,
    req.identity ?? '',
  );
}

/**
 * Schedules the next attempt after a failure or timeout, as the real server does: a
 * task that failed while the run was sticky is retried once as a first attempt on the
 * normal queue; otherwise the attempt grows and the task is transient, unless events
 * were written meanwhile (then it is a normal first attempt again).
 */
function retryTask(engine: Engine, exec: Execution, nextAttempt: number): void {
  const flushed = endTask(engine, exec);
  const attempt = exec.s.sticky || flushed > 0 ? 1 : nextAttempt;
  // The worker evicts a run whose task failed; a sticky task would only time out.
  exec.s.sticky = null;
  scheduleWorkflowTask(engine, exec, attempt);
  engine.touch(exec);
}

export function workflowTaskTimedOut(engine: Engine, exec: Execution, seq: number): void {
  const wft = exec.s.wft;
  if (!wft || wft.seq !== seq || wft.phase !== 'started') return;
  if (wft.attempt === 1) {
    exec.append(
      EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
      {
        scheduledEventId: wft.scheduledEventId,
        startedEventId: wft.startedEventId,
        timeoutType: temporal.api.enums.v1.TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE,
      },
      engine.now(),
    );
  }
  retryTask(engine, exec, wft.attempt + 1);
}

/**
 * The sticky worker did not pick the task up in time. As on the real server the task
 * times out (SCHEDULE_TO_START, no started event) and a fresh first attempt is scheduled
 * on the normal queue, with its own WorkflowTaskScheduled event.
 */
export function stickyScheduleToStartExpired(engine: Engine, exec: Execution, seq: number): void {
  const wft = exec.s.wft;
  if (!wft || wft.seq !== seq || wft.phase !== 'scheduled' || !wft.sticky) return;
  if (wft.attempt > 1) {
    moveToNormalQueue(engine, exec);
    return;
  }
  exec.append(
    EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
    {
      scheduledEventId: wft.scheduledEventId,
      startedEventId: 0,
      timeoutType: temporal.api.enums.v1.TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START,
    },
    engine.now(),
  );
  // The run is sticky, so the retry is a first attempt on the normal queue.
  retryTask(engine, exec, 1);
}

function moveToNormalQueue(engine: Engine, exec: Execution): void {
  const wft = exec.s.wft!;
  exec.s.sticky = null;
  wft.sticky = false;
  wft.queue = exec.s.taskQueue;
  wft.seq = ++exec.s.wftSeq;
  engine.workflowQueues.add(exec.s.namespace, wft.queue, { kind: 'wft', key: exec.key, seq: wft.seq });
  engine.touch(exec);
}

/** ShutdownWorker: the sticky queue's worker is gone, so its runs fall back at once. */
export function releaseStickyQueue(engine: Engine, namespace: string, queue: string): void {
  for (const exec of engine.executions.values()) {
    if (exec.s.namespace !== namespace || exec.s.sticky?.queue !== queue || !exec.running) continue;
    if (exec.s.wft?.phase === 'scheduled' && exec.s.wft.sticky) moveToNormalQueue(engine, exec);
    else {
      exec.s.sticky = null;
      engine.touch(exec);
    }
  }
}
