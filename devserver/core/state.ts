// The mutable state of one workflow run, apart from its history. It is plain JSON on
// purpose: the durable store writes it as is, and protobuf values that must survive a
// restart (heartbeat details, failures, memo, search attributes) are kept as base64 of
// their protobuf encoding.

export interface WftState {
  phase: 'scheduled' | 'started';
  attempt: number;
  /** In history for attempt 1; for later (transient) attempts only assigned when started. */
  scheduledEventId: number;
  startedEventId: number;
  scheduledMs: number;
  startedMs: number;
  /** The queue the task is matched on: the workflow's task queue or a worker's sticky queue. */
  queue: string;
  sticky: boolean;
  startToCloseMs: number;
  /** Identifies one dispatch; task tokens carry it so a stale token is recognised. */
  seq: number;
  identity: string;
  /** Update ids delivered with this task, answered (or re-delivered) when it ends. */
  sentUpdates: string[];
  /** The task was handed out in the StartWorkflowExecution response (eager start). */
  eager?: boolean;
}

export interface RetrySettings {
  initialMs: number;
  coefficient: number;
  maxIntervalMs: number;
  maxAttempts: number;
  nonRetryable: string[];
}

export interface ActivityState {
  scheduledEventId: number;
  activityId: string;
  type: string;
  taskQueue: string;
  phase: 'scheduled' | 'started' | 'backoff';
  attempt: number;
  scheduledMs: number;
  attemptScheduledMs: number;
  startedMs: number;
  scheduleToCloseMs: number;
  scheduleToStartMs: number;
  startToCloseMs: number;
  heartbeatMs: number;
  retry: RetrySettings;
  lastHeartbeatMs: number;
  /** base64 Payloads */
  heartbeatDetails: string | null;
  /** base64 Failure of the last failed attempt */
  lastFailure: string | null;
  lastWorkerIdentity: string;
  cancelRequested: boolean;
  cancelRequestedEventId: number;
  retryAtMs: number;
  requestId: string;
}

export interface TimerState {
  timerId: string;
  startedEventId: number;
  fireAtMs: number;
}

export interface ChildState {
  initiatedEventId: number;
  namespace: string;
  workflowId: string;
  runId: string;
  workflowType: string;
  startedEventId: number;
  /** temporal.api.enums.v1.ParentClosePolicy */
  parentClosePolicy: number;
}

export interface ParentRef {
  namespace: string;
  workflowId: string;
  runId: string;
  initiatedEventId: number;
}

export interface UpdateState {
  id: string;
  phase: 'admitted' | 'sent' | 'accepted' | 'completed';
  /** base64 temporal.api.update.v1.Request */
  request: string;
  acceptedEventId: number;
  /** base64 temporal.api.update.v1.Outcome once completed */
  outcome: string | null;
}

export interface ExecState {
  namespace: string;
  workflowId: string;
  runId: string;
  firstRunId: string;
  workflowType: string;
  taskQueue: string;
  /** temporal.api.enums.v1.WorkflowExecutionStatus */
  status: number;
  startMs: number;
  executionMs: number;
  closeMs: number;
  runTimeoutMs: number;
  executionTimeoutMs: number;
  /** Absolute deadline of the whole chain of runs (0 = none). */
  executionDeadlineMs: number;
  wftTimeoutMs: number;
  startRequestId: string;
  /** Request ids of later starts attached to this run (conflict policy USE_EXISTING), for idempotency. */
  attachedRequestIds: string[];
  /** First workflow task is held back until then (start delay, continue-as-new backoff). */
  firstWftAtMs: number;
  wft: WftState | null;
  wftSeq: number;
  lastCompletedWftStartedId: number;
  sticky: { queue: string; scheduleToStartMs: number } | null;
  activities: Record<string, ActivityState>;
  timers: Record<string, TimerState>;
  children: Record<string, ChildState>;
  cancelRequested: boolean;
  signalRequestIds: string[];
  cancelRequestIds: string[];
  /** base64 Memo / SearchAttributes as they stand now (start plus upserts). */
  memo: string | null;
  searchAttributes: string | null;
  parent: ParentRef | null;
  parentClosePolicy: number;
  updates: Record<string, UpdateState>;
}

/**
 * When the run times out: the run timeout counts from the first workflow task's due time
 * (start delay or continue-as-new backoff included), as the real server's
 * WorkflowRunExpirationTime does. 0 when the run has no timeout.
 */
export function runDeadlineMs(s: ExecState): number {
  if (s.runTimeoutMs <= 0) return 0;
  return (s.executionMs || s.startMs) + s.runTimeoutMs;
}
