// DescribeWorkflowExecution: status, configuration, pending activities (attempts, last
// failure, heartbeat details), pending children and the pending workflow task.
import type { Engine } from './engine';
import type { Execution } from './execution';
import { executionInfo } from './visibility';
import { T, fromB64, msToDuration, msToTimestamp, temporal, type IFailure, type IPayloads } from '../proto';

const PendingState = temporal.api.enums.v1.PendingActivityState;
const WftState = temporal.api.enums.v1.PendingWorkflowTaskState;

export function describeExecution(engine: Engine, exec: Execution): object {
  const s = exec.s;
  void engine;
  return {
    executionConfig: {
      taskQueue: { name: s.taskQueue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
      workflowExecutionTimeout: msToDuration(s.executionTimeoutMs),
      workflowRunTimeout: msToDuration(s.runTimeoutMs),
      defaultWorkflowTaskTimeout: msToDuration(s.wftTimeoutMs),
    },
    workflowExecutionInfo: executionInfo(exec),
    pendingActivities: Object.values(s.activities).map((a) => ({
      activityId: a.activityId,
      activityType: { name: a.type },
      state: a.cancelRequested
        ? PendingState.PENDING_ACTIVITY_STATE_CANCEL_REQUESTED
        : a.phase === 'started'
          ? PendingState.PENDING_ACTIVITY_STATE_STARTED
          : PendingState.PENDING_ACTIVITY_STATE_SCHEDULED,
      heartbeatDetails: fromB64<IPayloads>(T.Payloads, a.heartbeatDetails),
      lastHeartbeatTime: a.lastHeartbeatMs > 0 ? msToTimestamp(a.lastHeartbeatMs) : undefined,
      lastStartedTime: a.startedMs > 0 ? msToTimestamp(a.startedMs) : undefined,
      attempt: a.attempt,
      maximumAttempts: a.retry.maxAttempts,
      scheduledTime: msToTimestamp(a.phase === 'backoff' ? a.retryAtMs : a.attemptScheduledMs),
      expirationTime:
        a.scheduleToCloseMs > 0 ? msToTimestamp(a.scheduledMs + a.scheduleToCloseMs) : undefined,
      lastFailure: fromB64<IFailure>(T.Failure, a.lastFailure),
      lastWorkerIdentity: a.lastWorkerIdentity,
    })),
    pendingChildren: Object.values(s.children).map((c) => ({
      workflowId: c.workflowId,
      runId: c.runId,
      workflowTypeName: c.workflowType,
      initiatedId: c.initiatedEventId,
      parentClosePolicy: c.parentClosePolicy,
    })),
    pendingWorkflowTask: s.wft
      ? {
          state:
            s.wft.phase === 'started'
              ? WftState.PENDING_WORKFLOW_TASK_STATE_STARTED
              : WftState.PENDING_WORKFLOW_TASK_STATE_SCHEDULED,
          scheduledTime: msToTimestamp(s.wft.scheduledMs),
          originalScheduledTime: msToTimestamp(s.wft.scheduledMs),
          startedTime: s.wft.startedMs > 0 ? msToTimestamp(s.wft.startedMs) : undefined,
          attempt: s.wft.attempt,
        }
      : undefined,
  };
}
