// The hub of the server: the registry of namespaces and workflow runs, the task queues,
// the scheduler, and the rules that apply across runs. Every operation mutates state
// synchronously, then the RPC layer awaits commit() so the change is durable before the
// caller hears back. Per-run behaviour lives beside this file: workflow-tasks.ts,
// commands.ts, activities.ts, lifecycle.ts, queries.ts, updates.ts.
import { randomUUID } from 'node:crypto';
import type { Clock } from './clock';
import { Scheduler } from './scheduler';
import { TaskQueues } from './task-queues';
import { Execution, execKey, type PendingQuery } from './execution';
import type { ExecState } from './state';
import { EventType, WorkflowExecutionStatus } from '../proto';
import { namespaceNotFound, workflowNotFound, invalidArgument, RpcError, Code } from '../rpc/errors';
import type { Logger } from '../logger';
import { SearchAttributeRegistry } from './search-attributes';
import { computeDeadlines, runDue } from './deadlines';
import { ensureWorkflowTask, limitBufferedEvents } from './workflow-tasks';
import { enforceHistoryLimits } from './history-limits';

export interface NamespaceRecord {
  name: string;
  id: string;
  description: string;
  retentionMs: number;
}

export interface Store {
  /** The run changed: its state and new history events go into the next commit. */
  markDirty(exec: Execution): void;
  markNamespace(ns: NamespaceRecord): void;
  /** The custom search attributes changed (OperatorService AddSearchAttributes). */
  markSearchAttributes(): void;
  /** The run was removed (retention): the store forgets it, and compaction drops it. */
  markDeleted(exec: Execution): void;
  /**
   * Resolves once every change marked before the call is durable (written and synced);
   * rejects when that could not be done, in which case the caller must not report success.
   */
  commit(): Promise<void>;
}

export const memoryStore: Store = {
  markDirty: () => undefined,
  markNamespace: () => undefined,
  markSearchAttributes: () => undefined,
  markDeleted: () => undefined,
  commit: () => Promise.resolve(),
};

/** Closed runs are kept this long when a namespace does not say (Temporal's default, 1 day). */
export const DEFAULT_RETENTION_MS = 24 * 3600_000;

export type WftRef = { kind: 'wft'; key: string; seq: number } | { kind: 'query'; id: string };
export interface ActRef {
  key: string;
  sid: number;
  attempt: number;
}

export interface LegacyQuery {
  id: string;
  exec: Execution;
  query: PendingQuery;
  dispatched: boolean;
}

export interface EngineOptions {
  clock: Clock;
  log: Logger;
  store?: Store;
  /** Events per page of history in poll responses and GetWorkflowExecutionHistory. */
  historyPageSize?: number;
  /** Longest a long poll waits before answering empty (the client re-polls). */
  longPollMs?: number;
  /** Search attribute types registered on the command line (name -> IndexedValueType name). */
  searchAttributeTypes?: Record<string, string>;
  /**
   * Whether closed runs are deleted once their namespace's retention passes (default yes).
   * The time-skipping test server keeps them, as Temporal's Java test server does: a test
   * that sleeps days of virtual time can still read the workflows it ran.
   */
  applyRetention?: boolean;
}

/** A map-like object without a prototype, so keys such as `__proto__` or `constructor` are plain keys. */
export function dict<V>(from?: Record<string, V> | null): Record<string, V> {
  const out = Object.create(null) as Record<string, V>;
  if (from) for (const k of Object.keys(from)) out[k] = from[k]!;
  return out;
}

const DEFAULT_HISTORY_PAGE_SIZE = 1000;
const DEFAULT_LONG_POLL_MS = 20_000;
const MAX_NAMESPACES = 1000;

export class Engine {
  readonly clock: Clock;
  readonly log: Logger;
  readonly scheduler: Scheduler;
  /**
   * When closed runs are due for deletion (namespace retention), apart from `scheduler`,
   * which holds what runs owe (and what time skipping jumps to).
   */
  readonly retention: Scheduler;
  store: Store;
  readonly historyPageSize: number;
  readonly longPollMs: number;
  /** Custom search attributes start requests and commands may write. */
  readonly searchAttributes: SearchAttributeRegistry;
  readonly namespaces = new Map<string, NamespaceRecord>();
  readonly executions = new Map<string, Execution>();
  /** namespace\0workflowId -> run id of the latest run (running or not). */
  readonly currentRuns = new Map<string, string>();
  readonly workflowQueues = new TaskQueues<WftRef>();
  readonly activityQueues = new TaskQueues<ActRef>();
  readonly legacyQueries = new Map<string, LegacyQuery>();
  /** Runs with a workflow task outstanding (for time skipping: each holds the clock). */
  readonly busyWorkflowTasks = new Set<string>();
  /**
   * Per run, its activities holding a time-skipping lock: scheduled or started, not in a
   * retry backoff (Java's test server locks from scheduling to completion, failure,
   * cancellation or timeout). activityLocks is their sum.
   */
  private readonly activityLocksByRun = new Map<string, number>();
  private activityLockTotal = 0;
  private closed = false;
  private readonly applyRetention: boolean;
  private backgroundCommit: Promise<void> | undefined;
  /** Called whenever a run's in-flight status may have changed (time skipping re-evaluates). */
  onRunChanged: () => void = () => undefined;

  constructor(opts: EngineOptions) {
    this.clock = opts.clock;
    this.log = opts.log;
    this.store = opts.store ?? memoryStore;
    this.scheduler = new Scheduler(opts.clock);
    this.retention = new Scheduler(opts.clock);
    this.historyPageSize = opts.historyPageSize ?? DEFAULT_HISTORY_PAGE_SIZE;
    this.longPollMs = opts.longPollMs ?? DEFAULT_LONG_POLL_MS;
    this.searchAttributes = new SearchAttributeRegistry(
      Object.entries(opts.searchAttributeTypes ?? {}),
      (m) => this.log.warn(m),
    );
    this.applyRetention = opts.applyRetention ?? true;
  }

  now(): number {
    return this.clock.now();
  }

  /**
   * Makes every change so far durable. First, as the real server does before it persists
   * a change, runs changed since the last commit are held to the history limits.
   */
  commit(): Promise<void> {
    this.checkHistoryLimits();
    return this.store.commit();
  }

  /** Runs changed since the last check (history limits apply to them). */
  private readonly changedRuns = new Set<Execution>();

  private checkHistoryLimits(): void {
    // A run terminated here is changed again and visited again (running no more): no loop.
    for (const exec of this.changedRuns) {
      if (this.executions.get(exec.key) === exec) enforceHistoryLimits(this, exec);
    }
    this.changedRuns.clear();
  }

  /** Makes pending changes durable without anyone waiting (deadlines, retention); failures are logged once. */
  commitInBackground(): void {
    const p = this.commit();
    if (p === this.backgroundCommit) return;
    this.backgroundCommit = p;
    p.catch((err: unknown) => this.log.error('commit failed', err)).finally(() => {
      if (this.backgroundCommit === p) this.backgroundCommit = undefined;
    });
  }

  close(): void {
    this.closed = true;
    this.scheduler.close();
    this.retention.close();
    this.workflowQueues.releaseAll();
    this.activityQueues.releaseAll();
    for (const exec of this.executions.values()) exec.notify();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  // ---- namespaces -------------------------------------------------------------------

  registerNamespace(name: string, description = '', retentionMs = DEFAULT_RETENTION_MS): NamespaceRecord {
    const existing = this.namespaces.get(name);
    if (existing) return existing;
    // Namespaces are kept forever (as on a real cluster), so their number is bounded.
    if (this.namespaces.size >= MAX_NAMESPACES)
      throw new RpcError(Code.RESOURCE_EXHAUSTED, `at most ${MAX_NAMESPACES} namespaces can be registered`);
    const ns: NamespaceRecord = { name, id: randomUUID(), description, retentionMs };
    this.namespaces.set(name, ns);
    this.store.markNamespace(ns);
    return ns;
  }

  /** OperatorService AddSearchAttributes: registered all or nothing, and kept by the store. */
  addSearchAttributes(attributes: Iterable<[string, number]>): void {
    this.searchAttributes.add(attributes);
    this.store.markSearchAttributes();
  }

  namespace(name: string | null | undefined): NamespaceRecord {
    if (!name) throw invalidArgument('Namespace is not set on request.');
    const ns = this.namespaces.get(name);
    if (!ns) throw namespaceNotFound(name);
    return ns;
  }

  // ---- runs -------------------------------------------------------------------------

  /** Adds a run to the registry (new start, or loaded from the store). */
  addExecution(exec: Execution, makeCurrent: boolean): void {
    this.executions.set(exec.key, exec);
    if (makeCurrent) this.currentRuns.set(`${exec.s.namespace}\u0000${exec.s.workflowId}`, exec.s.runId);
  }

  /**
   * Takes a run out of the registry (retention, or a deletion replayed from the store).
   * The store is not told; see expire().
   */
  removeExecution(key: string): Execution | undefined {
    const exec = this.executions.get(key);
    if (!exec) return undefined;
    this.executions.delete(key);
    const idKey = `${exec.s.namespace}\u0000${exec.s.workflowId}`;
    if (this.currentRuns.get(idKey) === exec.s.runId) this.currentRuns.delete(idKey);
    this.scheduler.clear(`x:${key}`);
    this.retention.clear(key);
    this.busyWorkflowTasks.delete(key);
    this.setActivityLocks(key, 0);
    return exec;
  }

  currentRun(namespace: string, workflowId: string): Execution | undefined {
    const runId = this.currentRuns.get(`${namespace}\u0000${workflowId}`);
    return runId ? this.executions.get(execKey(namespace, workflowId, runId)) : undefined;
  }

  /** The run named by (workflowId, runId), or the latest run when runId is empty. */
  lookup(namespace: string, workflowId: string | null | undefined, runId?: string | null): Execution {
    this.namespace(namespace);
    if (!workflowId) throw invalidArgument('WorkflowId is not set on request.');
    const exec = runId
      ? this.executions.get(execKey(namespace, workflowId, runId))
      : this.currentRun(namespace, workflowId);
    if (!exec) throw workflowNotFound(workflowId, runId);
    return exec;
  }

  lookupRunning(namespace: string, workflowId: string | null | undefined, runId?: string | null): Execution {
    const exec = this.lookup(namespace, workflowId, runId);
    if (!exec.running) throw new RpcError(Code.NOT_FOUND, 'workflow execution already completed');
    return exec;
  }

  /**
   * Call after every mutation of a run: schedules it for the durable store, re-arms its
   * next deadline, updates the in-flight sets time skipping looks at, wakes waiters.
   */
  touch(exec: Execution): void {
    // A run deleted (retention) while an RPC awaited it is gone for good: marking it would
    // write it back after its deletion record, and a restart would resurrect it.
    if (this.executions.get(exec.key) !== exec) return;
    this.store.markDirty(exec);
    this.changedRuns.add(exec);
    this.rearm(exec);
    exec.notify();
  }

  /** Re-derives the run's next deadline and in-flight status from its state. */
  rearm(exec: Execution): void {
    const key = `x:${exec.key}`;
    const next = exec.running ? computeDeadlines(this, exec) : undefined;
    if (next === undefined) this.scheduler.clear(key);
    else this.scheduler.set(key, next, () => this.onDue(exec));
    if (exec.running && exec.s.wft) this.busyWorkflowTasks.add(exec.key);
    else this.busyWorkflowTasks.delete(exec.key);
    let activityLocks = 0;
    if (exec.running)
      for (const a of Object.values(exec.s.activities)) if (a.phase !== 'backoff') activityLocks++;
    this.setActivityLocks(exec.key, activityLocks);
    this.armRetention(exec);
    this.onRunChanged();
  }

  /** Activities holding a time-skipping lock, over all runs. */
  get activityLocks(): number {
    return this.activityLockTotal;
  }

  private setActivityLocks(key: string, n: number): void {
    const before = this.activityLocksByRun.get(key) ?? 0;
    if (n === before) return;
    this.activityLockTotal += n - before;
    if (n > 0) this.activityLocksByRun.set(key, n);
    else this.activityLocksByRun.delete(key);
  }

  // ---- retention --------------------------------------------------------------------

  /** When a closed run is deleted: its close time plus its namespace's retention. */
  retentionDeadline(exec: Execution): number | undefined {
    if (!this.applyRetention || exec.running || exec.s.closeMs <= 0) return undefined;
    const ms = this.namespaces.get(exec.s.namespace)?.retentionMs;
    return exec.s.closeMs + (ms && ms > 0 ? ms : DEFAULT_RETENTION_MS);
  }

  private armRetention(exec: Execution): void {
    const at = this.retentionDeadline(exec);
    if (at === undefined) this.retention.clear(exec.key);
    // A closed run's deadline never moves, so one entry per run is enough.
    else if (!this.retention.has(exec.key)) this.retention.set(exec.key, at, () => this.expire(exec));
  }

  /** Deletes a closed run whose retention has passed: from memory, visibility and the store. */
  private expire(exec: Execution): void {
    if (this.closed || this.executions.get(exec.key) !== exec) return;
    const at = this.retentionDeadline(exec);
    if (at === undefined) return;
    if (at > this.now()) {
      this.retention.set(exec.key, at, () => this.expire(exec));
      return;
    }
    this.removeExecution(exec.key);
    this.store.markDeleted(exec);
    exec.notify();
    this.log.debug(`retention: deleted ${exec.s.workflowId} run ${exec.s.runId}`);
    this.commitInBackground();
    this.onRunChanged();
  }

  /**
   * Deletes every closed run whose retention has passed by the clock's now, at once
   * (at start-up, before anyone can read them); otherwise the retention scheduler's own
   * timer does it.
   */
  sweepRetention(): void {
    if (!this.closed) this.retention.fireDue();
  }

  /** A run loaded from the store: its pending tasks go back on their queues, its deadlines are re-armed. */
  restore(exec: Execution): void {
    const s = exec.s;
    if (exec.running) {
      if (s.wft?.phase === 'scheduled') {
        this.workflowQueues.add(s.namespace, s.wft.queue, { kind: 'wft', key: exec.key, seq: s.wft.seq });
      }
      for (const a of Object.values(s.activities)) {
        if (a.phase === 'scheduled') {
          this.activityQueues.add(s.namespace, a.taskQueue, {
            key: exec.key,
            sid: a.scheduledEventId,
            attempt: a.attempt,
          });
        }
      }
    }
    this.rearm(exec);
  }

  private onDue(exec: Execution): void {
    if (this.closed || this.executions.get(exec.key) !== exec) return;
    try {
      runDue(this, exec);
    } catch (err) {
      this.log.error(`deadline processing failed for ${exec.s.workflowId}`, err);
    }
    this.touch(exec);
    // Nothing waits on this change; make it durable in the background.
    this.commitInBackground();
  }

  /**
   * Delivers an event from outside the workflow's own commands (signal, activity result,
   * timer, child outcome...) and makes sure a workflow task will tell the workflow.
   */
  deliver(exec: Execution, type: number, attrs: object): void {
    exec.addExternal(type, attrs, this.now());
    limitBufferedEvents(this, exec);
    ensureWorkflowTask(this, exec);
  }

  /** Pending queries count for time skipping: a query in flight holds the clock. */
  pendingQueryCount(): number {
    let n = this.legacyQueries.size;
    for (const key of this.busyWorkflowTasks) n += this.executions.get(key)?.queuedQueries.length ?? 0;
    return n;
  }

  newState(
    fields: Pick<ExecState, 'namespace' | 'workflowId' | 'runId' | 'workflowType' | 'taskQueue'>,
  ): ExecState {
    return {
      ...fields,
      firstRunId: fields.runId,
      status: WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING,
      startMs: 0,
      executionMs: 0,
      closeMs: 0,
      runTimeoutMs: 0,
      executionTimeoutMs: 0,
      executionDeadlineMs: 0,
      wftTimeoutMs: 10_000,
      startRequestId: '',
      attachedRequestIds: [],
      firstWftAtMs: 0,
      wft: null,
      wftSeq: 0,
      lastCompletedWftStartedId: 0,
      sticky: null,
      activities: dict(),
      timers: dict(),
      children: dict(),
      cancelRequested: false,
      signalRequestIds: [],
      cancelRequestIds: [],
      memo: null,
      searchAttributes: null,
      parent: null,
      parentClosePolicy: 0,
      updates: dict(),
    };
  }

  /** Events of the types that mean the run is over. */
  static readonly closeStatusByEvent: Record<number, number> = {
    [EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED]:
      WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED,
    [EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED]:
      WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_FAILED,
    [EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT]:
      WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_TIMED_OUT,
    [EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED]:
      WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_CANCELED,
    [EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED]:
      WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_TERMINATED,
    [EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW]:
      WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW,
  };
}
