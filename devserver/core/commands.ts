// Turning a completed workflow task's commands into history, in the order the worker
// gave them. Effects on other runs (starting a child, signalling or cancelling another
// workflow) are deferred until this run's task is fully recorded, then their outcome
// comes back to this run as a new event, as with the real server's transfer tasks.
import type { Engine } from './engine';
import type { Execution } from './execution';
import {
  EventType,
  CommandType,
  T,
  toB64,
  fromB64,
  durationToMs,
  temporal,
  type ICommand,
  type IMessage,
  type IPayload,
} from '../proto';
import { scheduleActivity, requestCancelActivity } from './activities';
import { closeRun, continueAsNew, startWorkflow, signalRun, requestCancelRun } from './lifecycle';
import { handleUpdateMessage } from './updates';
import { RpcError } from '../rpc/errors';
import { searchAttributesCommandProblem } from './search-attributes';
import {
  blobExceedsLimit,
  payloadsSize,
  failureSize,
  memoSize,
  payloadsMapSize,
  payloadMapSize,
  anySize,
  searchAttributesSizeProblem,
  MEMO_SIZE_LIMIT_ERROR,
} from './limits';

const Cause = temporal.api.enums.v1.WorkflowTaskFailedCause;
type Cmd = temporal.api.command.v1.ICommand;

export interface InvalidCommand {
  cause: number;
  message: string;
  /**
   * A payload over the size limit: as on the real server the task fails with the cause
   * and the run is terminated (a retried attempt is dropped instead, like any other).
   */
  terminate?: boolean;
  /**
   * A command that closes the run while events are buffered (UnhandledCommand): the
   * worker must see them first. The task fails and a new one carries the events.
   */
  unhandled?: boolean;
}

/** The commands that close the run, refused while events are buffered. */
export const closingCommandTypes = new Set<number>([
  CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION,
  CommandType.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION,
  CommandType.COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION,
  CommandType.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION,
]);

/** A Go API enum name as the real server prints it: BadScheduleActivityAttributes. */
export function causeName(cause: number): string {
  const name = (Cause as unknown as Record<number, string>)[cause] ?? String(cause);
  return name
    .replace(/^WORKFLOW_TASK_FAILED_CAUSE_/, '')
    .toLowerCase()
    .replace(/(^|_)([a-z])/g, (_m, _s, c: string) => c.toUpperCase());
}

/**
 * The payload size checks of the real server's workflowTaskCompletedHandler, in its words
 * and with its causes (including CompleteWorkflowExecution's BadScheduleActivityAttributes).
 */
function oversizedPayload(engine: Engine, exec: Execution, c: Cmd): InvalidCommand | undefined {
  const ctx = (operation: string) => ({
    log: engine.log,
    operation,
    workflowId: exec.s.workflowId,
    runId: exec.s.runId,
  });
  const tooLarge = (cause: number, message: string): InvalidCommand => ({ cause, message, terminate: true });
  switch (c.commandType) {
    case CommandType.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK:
      if (
        blobExceedsLimit(
          payloadsSize(c.scheduleActivityTaskCommandAttributes?.input),
          ctx('ScheduleActivityTask'),
        )
      )
        return tooLarge(
          Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SCHEDULE_ACTIVITY_ATTRIBUTES,
          'ScheduleActivityTaskCommandAttributes.Input exceeds size limit.',
        );
      break;
    case CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION:
      if (
        blobExceedsLimit(
          payloadsSize(c.completeWorkflowExecutionCommandAttributes?.result),
          ctx('CompleteWorkflowExecution'),
        )
      )
        return tooLarge(
          Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SCHEDULE_ACTIVITY_ATTRIBUTES,
          'CompleteWorkflowExecutionCommandAttributes.Result exceeds size limit.',
        );
      break;
    case CommandType.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION:
      if (
        blobExceedsLimit(
          failureSize(c.failWorkflowExecutionCommandAttributes?.failure),
          ctx('FailWorkflowExecution'),
        )
      )
        return tooLarge(
          Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_FAIL_WORKFLOW_EXECUTION_ATTRIBUTES,
          'FailWorkflowExecutionCommandAttributes.Failure exceeds size limit.',
        );
      break;
    case CommandType.COMMAND_TYPE_RECORD_MARKER:
      if (
        blobExceedsLimit(payloadsMapSize(c.recordMarkerCommandAttributes?.details ?? {}), ctx('RecordMarker'))
      )
        return tooLarge(
          Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_RECORD_MARKER_ATTRIBUTES,
          'RecordMarkerCommandAttributes.Details exceeds size limit.',
        );
      break;
    case CommandType.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION: {
      const a = c.continueAsNewWorkflowExecutionCommandAttributes;
      const cause = Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_CONTINUE_AS_NEW_ATTRIBUTES;
      if (blobExceedsLimit(payloadsSize(a?.input), ctx('ContinueAsNewWorkflowExecution')))
        return tooLarge(cause, 'ContinueAsNewWorkflowExecutionCommandAttributes. Input exceeds size limit.');
      if (memoSize(a?.memo) > MEMO_SIZE_LIMIT_ERROR)
        return tooLarge(cause, 'ContinueAsNewWorkflowExecutionCommandAttributes. Memo exceeds size limit.');
      break;
    }
    case CommandType.COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION: {
      const a = c.startChildWorkflowExecutionCommandAttributes;
      const cause = Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_START_CHILD_EXECUTION_ATTRIBUTES;
      if (blobExceedsLimit(payloadsSize(a?.input), ctx('StartChildWorkflowExecution')))
        return tooLarge(cause, 'StartChildWorkflowExecutionCommandAttributes. Input exceeds size limit.');
      if (memoSize(a?.memo) > MEMO_SIZE_LIMIT_ERROR)
        return tooLarge(cause, 'StartChildWorkflowExecutionCommandAttributes.Memo exceeds size limit.');
      break;
    }
    case CommandType.COMMAND_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION:
      if (
        blobExceedsLimit(
          payloadsSize(c.signalExternalWorkflowExecutionCommandAttributes?.input),
          ctx('SignalExternalWorkflowExecution'),
        )
      )
        return tooLarge(
          Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SIGNAL_WORKFLOW_EXECUTION_ATTRIBUTES,
          'SignalExternalWorkflowExecutionCommandAttributes.Input exceeds size limit.',
        );
      break;
    case CommandType.COMMAND_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
      if (
        blobExceedsLimit(
          payloadMapSize(c.upsertWorkflowSearchAttributesCommandAttributes?.searchAttributes?.indexedFields),
          ctx('UpsertWorkflowSearchAttributes'),
        )
      )
        return tooLarge(
          Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SEARCH_ATTRIBUTES,
          'UpsertWorkflowSearchAttributesCommandAttributes exceeds size limit.',
        );
      break;
  }
  return undefined;
}

/** An update protocol message whose body is over the size limit (the run is terminated). */
export function oversizedMessage(
  engine: Engine,
  exec: Execution,
  messages: IMessage[],
): InvalidCommand | undefined {
  for (const m of messages) {
    const body = m.body;
    const ctx = {
      log: engine.log,
      operation: 'ProtocolMessage',
      workflowId: exec.s.workflowId,
      runId: exec.s.runId,
    };
    if (blobExceedsLimit(anySize(body), ctx)) {
      const type = (body?.type_url ?? '').slice((body?.type_url ?? '').lastIndexOf('/') + 1);
      return {
        cause: Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_UPDATE_WORKFLOW_EXECUTION_MESSAGE,
        message: `Message type ${type} exceeds size limit.`,
        terminate: true,
      };
    }
  }
  return undefined;
}

/**
 * The search attribute size limits of the real workflowTaskCompletedHandler (after the
 * payload size checks): an upsert is measured merged with what the run already has (and
 * with the upserts before it in the same completion), a child start or continue-as-new by
 * its own attributes. Over a limit, the task fails and the run is terminated, as there.
 */
function searchAttributesOverLimit(
  c: Cmd,
  current: { fields: Record<string, IPayload> },
): InvalidCommand | undefined {
  let fields: Record<string, IPayload> | null | undefined;
  let cause: number;
  switch (c.commandType) {
    case CommandType.COMMAND_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
      current.fields = mergePayloads(
        current.fields,
        (c.upsertWorkflowSearchAttributesCommandAttributes?.searchAttributes?.indexedFields ?? {}) as Record<
          string,
          IPayload
        >,
      );
      fields = current.fields;
      cause = Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SEARCH_ATTRIBUTES;
      break;
    case CommandType.COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION:
      fields = c.startChildWorkflowExecutionCommandAttributes?.searchAttributes?.indexedFields as never;
      cause = Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_START_CHILD_EXECUTION_ATTRIBUTES;
      break;
    case CommandType.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION:
      fields = c.continueAsNewWorkflowExecutionCommandAttributes?.searchAttributes?.indexedFields as never;
      cause = Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_CONTINUE_AS_NEW_ATTRIBUTES;
      break;
    default:
      return undefined;
  }
  const problem = searchAttributesSizeProblem(fields);
  return problem ? { cause, message: problem, terminate: true } : undefined;
}

export function validateCommands(
  engine: Engine,
  exec: Execution,
  commands: ICommand[],
): InvalidCommand | undefined {
  const activityIds = new Set(Object.values(exec.s.activities).map((a) => a.activityId));
  const timerIds = new Set(Object.keys(exec.s.timers));
  const searchAttributes = {
    fields:
      fromB64<{ indexedFields?: Record<string, IPayload> }>(T.SearchAttributes, exec.s.searchAttributes)
        ?.indexedFields ?? {},
  };
  for (const c of commands) {
    // In the order of the real server's handlers: a closing command meets the buffered
    // events before its attributes or sizes are looked at (so an oversized result with
    // events buffered is UnhandledCommand, and the run is not terminated).
    if (closingCommandTypes.has(c.commandType ?? 0) && exec.buffered.length > 0) {
      return {
        cause: Cause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND,
        message: 'UnhandledCommand',
        unhandled: true,
      };
    }
    const badSearchAttributes = searchAttributesCommandProblem(engine.searchAttributes, c);
    if (badSearchAttributes) return badSearchAttributes;
    const invalid =
      invalidAttributes(c) ??
      oversizedPayload(engine, exec, c as Cmd) ??
      searchAttributesOverLimit(c as Cmd, searchAttributes);
    if (invalid) return invalid;
  }
  return undefined;

  function invalidAttributes(c: ICommand): InvalidCommand | undefined {
    switch (c.commandType) {
      case CommandType.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK: {
        const a = c.scheduleActivityTaskCommandAttributes;
        const bad = (message: string): InvalidCommand => ({
          cause: Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SCHEDULE_ACTIVITY_ATTRIBUTES,
          message,
        });
        if (!a) return bad('ScheduleActivityTaskCommandAttributes is not set.');
        if (!a.activityId) return bad('ActivityId is not set.');
        if (!a.activityType?.name) return bad('ActivityType is not set.');
        if (activityIds.has(a.activityId))
          return {
            cause: Cause.WORKFLOW_TASK_FAILED_CAUSE_SCHEDULE_ACTIVITY_DUPLICATE_ID,
            message: `Activity id ${a.activityId} is already in use.`,
          };
        if (durationToMs(a.scheduleToCloseTimeout) <= 0 && durationToMs(a.startToCloseTimeout) <= 0)
          return bad(
            'A valid StartToClose or ScheduleToCloseTimeout is not set on ScheduleActivityTaskCommand.',
          );
        activityIds.add(a.activityId);
        break;
      }
      case CommandType.COMMAND_TYPE_START_TIMER: {
        const a = c.startTimerCommandAttributes;
        if (!a?.timerId || durationToMs(a.startToFireTimeout) <= 0)
          return {
            cause: Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_START_TIMER_ATTRIBUTES,
            message: 'A valid TimerId and StartToFireTimeout are required.',
          };
        if (timerIds.has(a.timerId))
          return {
            cause: Cause.WORKFLOW_TASK_FAILED_CAUSE_START_TIMER_DUPLICATE_ID,
            message: `Timer id ${a.timerId} is already in use.`,
          };
        timerIds.add(a.timerId);
        break;
      }
      case CommandType.COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION: {
        const a = c.startChildWorkflowExecutionCommandAttributes;
        if (!a?.workflowId || !a.workflowType?.name)
          return {
            cause: Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_START_CHILD_EXECUTION_ATTRIBUTES,
            message: 'WorkflowId and WorkflowType are required.',
          };
        break;
      }
      case CommandType.COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK:
      case CommandType.COMMAND_TYPE_CANCEL_TIMER:
      case CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION:
      case CommandType.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION:
      case CommandType.COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION:
      case CommandType.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION:
      case CommandType.COMMAND_TYPE_RECORD_MARKER:
      case CommandType.COMMAND_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION:
      case CommandType.COMMAND_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION:
      case CommandType.COMMAND_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
      case CommandType.COMMAND_TYPE_MODIFY_WORKFLOW_PROPERTIES:
      case CommandType.COMMAND_TYPE_PROTOCOL_MESSAGE:
        break;
      default:
        return {
          cause: Cause.WORKFLOW_TASK_FAILED_CAUSE_UNSPECIFIED,
          message: `Command type ${c.commandType} is not supported by the dev server.`,
        };
    }
    return undefined;
  }
}

export function applyCommands(
  engine: Engine,
  exec: Execution,
  commands: ICommand[],
  messages: IMessage[],
  completedEventId: number,
  identity: string,
  deferred: (() => void)[],
  eagerActivities: number[] = [],
): void {
  const now = engine.now();
  const messagesById = new Map(messages.map((m) => [m.id ?? '', m]));
  const handled = new Set<string>();
  const runMessage = (m: IMessage): void => {
    handled.add(m.id ?? '');
    handleUpdateMessage(engine, exec, m, completedEventId, identity);
  };
  for (const raw of commands) {
    if (!exec.running) return;
    const c = raw as Cmd;
    switch (c.commandType) {
      case CommandType.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK: {
        const a = c.scheduleActivityTaskCommandAttributes!;
        const sid = scheduleActivity(engine, exec, a, completedEventId);
        // Eager execution: the worker reserved a slot and wants the task in the completion response.
        const sameQueue = !a.taskQueue?.name || a.taskQueue.name === exec.s.taskQueue;
        if (a.requestEagerExecution && sameQueue) eagerActivities.push(sid);
        break;
      }
      case CommandType.COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK:
        requestCancelActivity(
          engine,
          exec,
          Number(c.requestCancelActivityTaskCommandAttributes?.scheduledEventId ?? 0),
          completedEventId,
          deferred,
        );
        break;
      case CommandType.COMMAND_TYPE_START_TIMER: {
        const a = c.startTimerCommandAttributes!;
        const ev = exec.append(
          EventType.EVENT_TYPE_TIMER_STARTED,
          {
            timerId: a.timerId,
            startToFireTimeout: a.startToFireTimeout,
            workflowTaskCompletedEventId: completedEventId,
          },
          now,
        );
        exec.s.timers[a.timerId!] = {
          timerId: a.timerId!,
          startedEventId: ev.eventId!,
          fireAtMs: now + durationToMs(a.startToFireTimeout as never),
        };
        break;
      }
      case CommandType.COMMAND_TYPE_CANCEL_TIMER: {
        const timerId = c.cancelTimerCommandAttributes?.timerId ?? '';
        const timer = exec.s.timers[timerId];
        if (timer) {
          delete exec.s.timers[timerId];
          exec.append(
            EventType.EVENT_TYPE_TIMER_CANCELED,
            {
              timerId,
              startedEventId: timer.startedEventId,
              workflowTaskCompletedEventId: completedEventId,
              identity,
            },
            now,
          );
        }
        break;
      }
      case CommandType.COMMAND_TYPE_RECORD_MARKER: {
        const a = c.recordMarkerCommandAttributes ?? {};
        exec.append(
          EventType.EVENT_TYPE_MARKER_RECORDED,
          {
            markerName: a.markerName,
            details: a.details,
            header: a.header,
            failure: a.failure,
            workflowTaskCompletedEventId: completedEventId,
          },
          now,
        );
        break;
      }
      case CommandType.COMMAND_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: {
        const sa = c.upsertWorkflowSearchAttributesCommandAttributes?.searchAttributes ?? {};
        exec.append(
          EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
          { searchAttributes: sa, workflowTaskCompletedEventId: completedEventId },
          now,
        );
        exec.s.searchAttributes = mergeFields(
          T.SearchAttributes,
          exec.s.searchAttributes,
          'indexedFields',
          (sa.indexedFields ?? {}) as Record<string, IPayload>,
        );
        break;
      }
      case CommandType.COMMAND_TYPE_MODIFY_WORKFLOW_PROPERTIES: {
        const memo = c.modifyWorkflowPropertiesCommandAttributes?.upsertedMemo ?? {};
        exec.append(
          EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED,
          { upsertedMemo: memo, workflowTaskCompletedEventId: completedEventId },
          now,
        );
        exec.s.memo = mergeFields(
          T.Memo,
          exec.s.memo,
          'fields',
          (memo.fields ?? {}) as Record<string, IPayload>,
        );
        break;
      }
      case CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION:
        closeRun(engine, exec, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, {
          result: c.completeWorkflowExecutionCommandAttributes?.result ?? undefined,
          workflowTaskCompletedEventId: completedEventId,
        });
        break;
      case CommandType.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION:
        closeRun(engine, exec, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED, {
          failure: c.failWorkflowExecutionCommandAttributes?.failure ?? undefined,
          retryState: temporal.api.enums.v1.RetryState.RETRY_STATE_RETRY_POLICY_NOT_SET,
          workflowTaskCompletedEventId: completedEventId,
        });
        break;
      case CommandType.COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION:
        closeRun(engine, exec, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED, {
          details: c.cancelWorkflowExecutionCommandAttributes?.details ?? undefined,
          workflowTaskCompletedEventId: completedEventId,
        });
        break;
      case CommandType.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION:
        continueAsNew(
          engine,
          exec,
          (c.continueAsNewWorkflowExecutionCommandAttributes ?? {}) as never,
          completedEventId,
          (d) => durationToMs(d as never),
        );
        break;
      case CommandType.COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION:
        startChildCommand(engine, exec, c, completedEventId, deferred);
        break;
      case CommandType.COMMAND_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION:
        signalExternalCommand(engine, exec, c, completedEventId, deferred);
        break;
      case CommandType.COMMAND_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION:
        cancelExternalCommand(engine, exec, c, completedEventId, deferred);
        break;
      case CommandType.COMMAND_TYPE_PROTOCOL_MESSAGE: {
        const m = messagesById.get(c.protocolMessageCommandAttributes?.messageId ?? '');
        if (m) runMessage(m);
        break;
      }
    }
  }
  // Messages no command referenced (older SDKs send none) are processed after the commands.
  for (const m of messages) if (exec.running && !handled.has(m.id ?? '')) runMessage(m);
}

/** Upserted fields over existing ones (payload.MergeMapOfPayload); an empty or null value removes the key. */
function mergePayloads(
  existing: Record<string, IPayload>,
  upserts: Record<string, IPayload>,
): Record<string, IPayload> {
  const merged: Record<string, IPayload> = { ...existing };
  for (const [k, v] of Object.entries(upserts)) {
    const data = v.data ? Buffer.from(v.data).toString('utf8') : '';
    const encoding = v.metadata?.encoding ? Buffer.from(v.metadata.encoding).toString('utf8') : '';
    if (data === '' || data === 'null' || data === '[]' || encoding === 'binary/null') delete merged[k];
    else merged[k] = v;
  }
  return merged;
}

/** Merges upserted memo / search attribute fields into the stored message. */
function mergeFields(
  type: typeof T.Memo,
  current: string | null,
  field: 'fields' | 'indexedFields',
  upserts: Record<string, IPayload>,
): string | null {
  const existing = (fromB64<Record<string, Record<string, IPayload>>>(type, current) ?? {})[field] ?? {};
  const merged = mergePayloads(existing, upserts);
  if (Object.keys(merged).length === 0) return null;
  return toB64(type, { [field]: merged });
}

export function fireTimer(engine: Engine, exec: Execution, timerId: string, startedEventId: number): void {
  const timer = exec.s.timers[timerId];
  if (!timer || timer.startedEventId !== startedEventId) return;
  delete exec.s.timers[timerId];
  engine.deliver(exec, EventType.EVENT_TYPE_TIMER_FIRED, { timerId, startedEventId });
}

function startChildCommand(
  engine: Engine,
  exec: Execution,
  c: Cmd,
  completedEventId: number,
  deferred: (() => void)[],
): void {
  const a = c.startChildWorkflowExecutionCommandAttributes!;
  const namespace = a.namespace || exec.s.namespace;
  const initiated = exec.append(
    EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED,
    { ...a, namespace, workflowTaskCompletedEventId: completedEventId },
    engine.now(),
  );
  const initiatedEventId = initiated.eventId!;
  deferred.push(() => {
    if (!exec.running) return;
    const base = {
      namespace,
      workflowId: a.workflowId,
      workflowType: a.workflowType,
      initiatedEventId,
      control: a.control,
    };
    try {
      if (!engine.namespaces.has(namespace)) throw new Error('namespace not found');
      const { exec: child, started } = startWorkflow(engine, {
        namespace,
        workflowId: a.workflowId!,
        workflowType: a.workflowType!.name!,
        taskQueue: a.taskQueue?.name || exec.s.taskQueue,
        input: a.input as never,
        header: a.header as never,
        memo: a.memo as never,
        searchAttributes: a.searchAttributes as never,
        executionTimeoutMs: durationToMs(a.workflowExecutionTimeout as never),
        runTimeoutMs: durationToMs(a.workflowRunTimeout as never),
        wftTimeoutMs: durationToMs(a.workflowTaskTimeout as never),
        startDelayMs: 0,
        requestId: `${exec.s.runId}:${initiatedEventId}`,
        identity: '',
        reusePolicy: a.workflowIdReusePolicy ?? 0,
        conflictPolicy: 0,
        retryPolicy: a.retryPolicy as never,
        cronSchedule: a.cronSchedule,
        priority: a.priority,
        parent: {
          namespace: exec.s.namespace,
          workflowId: exec.s.workflowId,
          runId: exec.s.runId,
          initiatedEventId,
        },
        parentClosePolicy: a.parentClosePolicy ?? 0,
      });
      if (!started) throw new Error('already started');
      exec.s.children[String(initiatedEventId)] = {
        initiatedEventId,
        namespace,
        workflowId: child.s.workflowId,
        runId: child.s.runId,
        workflowType: child.s.workflowType,
        startedEventId: 0,
        parentClosePolicy:
          a.parentClosePolicy || temporal.api.enums.v1.ParentClosePolicy.PARENT_CLOSE_POLICY_TERMINATE,
      };
      engine.deliver(exec, EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED, {
        namespace,
        initiatedEventId,
        workflowExecution: { workflowId: child.s.workflowId, runId: child.s.runId },
        workflowType: a.workflowType,
        header: a.header,
      });
      const startedEvent = exec.buffered.at(-1) ?? exec.history.at(-2);
      recordChildStartedId(exec, initiatedEventId, startedEvent);
    } catch (err) {
      if (err instanceof RpcError || err instanceof Error) {
        engine.deliver(exec, EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED, {
          ...base,
          cause:
            temporal.api.enums.v1.StartChildWorkflowExecutionFailedCause
              .START_CHILD_WORKFLOW_EXECUTION_FAILED_CAUSE_WORKFLOW_ALREADY_EXISTS,
        });
      } else throw err;
    }
    engine.touch(exec);
  });
}

/**
 * The child's started event id is needed for its close event. If the event is still
 * buffered its id is not known yet; it is looked up again when the child closes.
 */
function recordChildStartedId(exec: Execution, initiatedEventId: number, _event: unknown): void {
  const child = exec.s.children[String(initiatedEventId)];
  if (!child) return;
  for (let i = exec.history.length - 1; i >= 0; i--) {
    const e = exec.history[i]!;
    if (
      e.eventType === EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED &&
      e.childWorkflowExecutionStartedEventAttributes?.initiatedEventId === initiatedEventId
    ) {
      child.startedEventId = e.eventId!;
      return;
    }
  }
}

export function resolveChildStartedId(exec: Execution, initiatedEventId: number): number {
  recordChildStartedId(exec, initiatedEventId, undefined);
  return exec.s.children[String(initiatedEventId)]?.startedEventId ?? 0;
}

function signalExternalCommand(
  engine: Engine,
  exec: Execution,
  c: Cmd,
  completedEventId: number,
  deferred: (() => void)[],
): void {
  const a = c.signalExternalWorkflowExecutionCommandAttributes!;
  const namespace = a.namespace || exec.s.namespace;
  const initiated = exec.append(
    EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
    {
      namespace,
      workflowExecution: a.execution,
      signalName: a.signalName,
      input: a.input,
      control: a.control,
      childWorkflowOnly: a.childWorkflowOnly,
      header: a.header,
      workflowTaskCompletedEventId: completedEventId,
    },
    engine.now(),
  );
  const initiatedEventId = initiated.eventId!;
  deferred.push(() => {
    if (!exec.running) return;
    const target = findRunning(engine, namespace, a.execution?.workflowId, a.execution?.runId);
    if (target) {
      signalRun(engine, target, {
        signalName: a.signalName ?? '',
        input: a.input as never,
        header: a.header as never,
        identity: '',
        externalWorkflowExecution: { workflowId: exec.s.workflowId, runId: exec.s.runId },
      });
      engine.deliver(exec, EventType.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED, {
        initiatedEventId,
        namespace,
        workflowExecution: { workflowId: target.s.workflowId, runId: target.s.runId },
        control: a.control,
      });
    } else {
      engine.deliver(exec, EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED, {
        cause:
          temporal.api.enums.v1.SignalExternalWorkflowExecutionFailedCause
            .SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND,
        initiatedEventId,
        namespace,
        workflowExecution: a.execution,
        control: a.control,
      });
    }
    engine.touch(exec);
  });
}

function cancelExternalCommand(
  engine: Engine,
  exec: Execution,
  c: Cmd,
  completedEventId: number,
  deferred: (() => void)[],
): void {
  const a = c.requestCancelExternalWorkflowExecutionCommandAttributes!;
  const namespace = a.namespace || exec.s.namespace;
  const initiated = exec.append(
    EventType.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
    {
      namespace,
      workflowExecution: { workflowId: a.workflowId, runId: a.runId },
      control: a.control,
      childWorkflowOnly: a.childWorkflowOnly,
      reason: a.reason,
      workflowTaskCompletedEventId: completedEventId,
    },
    engine.now(),
  );
  const initiatedEventId = initiated.eventId!;
  deferred.push(() => {
    if (!exec.running) return;
    const target = findRunning(engine, namespace, a.workflowId, a.runId);
    if (target) {
      requestCancelRun(engine, target, a.reason ?? '', '', undefined, {
        initiatedEventId,
        workflowId: exec.s.workflowId,
        runId: exec.s.runId,
      });
      engine.deliver(exec, EventType.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED, {
        initiatedEventId,
        namespace,
        workflowExecution: { workflowId: target.s.workflowId, runId: target.s.runId },
      });
    } else {
      engine.deliver(exec, EventType.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED, {
        cause:
          temporal.api.enums.v1.CancelExternalWorkflowExecutionFailedCause
            .CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND,
        initiatedEventId,
        namespace,
        workflowExecution: { workflowId: a.workflowId, runId: a.runId },
        control: a.control,
      });
    }
    engine.touch(exec);
  });
}

function findRunning(
  engine: Engine,
  namespace: string,
  workflowId: string | null | undefined,
  runId: string | null | undefined,
): Execution | undefined {
  if (!workflowId) return undefined;
  const target = runId
    ? engine.executions.get(`${namespace}\u0000${workflowId}\u0000${runId}`)
    : engine.currentRun(namespace, workflowId);
  return target?.running ? target : undefined;
}
