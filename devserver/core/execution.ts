/* eslint-disable @typescript-eslint/no-unsafe-enum-comparison -- enums arrive from the wire, and are stored in state, as plain numbers */
// One workflow run: its history, the events buffered while a workflow task is out with
// a worker, its mutable state, and the runtime-only waiters (history long polls,
// queries, updates) that are not persisted because their callers reconnect anyway.
import { T, WorkflowExecutionStatus, type IHistoryEvent } from '../proto';
import { makeEvent, attrsOf } from './events';
import type { ExecState } from './state';

export interface PendingQuery {
  id: string;
  queryType: string;
  queryArgs: unknown;
  header: unknown;
  resolve(result: QueryOutcome): void;
}

export type QueryOutcome =
  | { ok: true; result: unknown }
  | {
      ok: false;
      message: string;
      failure?: unknown;
      notReady?: boolean;
      /** Refused by the server (an answer over the size limit): a plain INVALID_ARGUMENT. */
      refused?: boolean;
    };

export function execKey(namespace: string, workflowId: string, runId: string): string {
  return `${namespace}\u0000${workflowId}\u0000${runId}`;
}

export class Execution {
  history: IHistoryEvent[] = [];
  /** Events that arrived while a workflow task was started; appended when it ends. */
  buffered: IHistoryEvent[] = [];
  /** How many history events the durable store already holds. */
  persistedEvents = 0;
  readonly key: string;
  /** Wakes history long polls and other waiters when history or status changes. */
  readonly listeners = new Set<() => void>();
  /** Queries waiting to ride on the next workflow task, or for the first one to complete. */
  queuedQueries: PendingQuery[] = [];
  /** Queries sent with the workflow task now out with a worker. */
  attachedQueries: PendingQuery[] = [];
  /** Outcomes of rejected updates (the real server keeps none in state), for callers still waiting. */
  rejectedUpdates = new Map<string, Uint8Array>();
  /** History limit warnings already logged for this run (not persisted: logged again after a restart). */
  readonly warned = { historyCount: false, historySize: false };
  private sizedEvents = 0;
  private sizedBytes = 0;

  constructor(public s: ExecState) {
    this.key = execKey(s.namespace, s.workflowId, s.runId);
  }

  get running(): boolean {
    return this.s.status === WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING;
  }

  /** Bytes of history (the protobuf encoding of its events), summed as events are added. */
  get historySizeBytes(): number {
    if (this.sizedEvents > this.history.length) {
      // History was cut (only when the store replays a log): count again.
      this.sizedEvents = 0;
      this.sizedBytes = 0;
    }
    while (this.sizedEvents < this.history.length)
      this.sizedBytes += T.HistoryEvent.encode(this.history[this.sizedEvents++]!).len;
    return this.sizedBytes;
  }

  get nextEventId(): number {
    return this.history.length + 1;
  }

  get wftStarted(): boolean {
    return this.s.wft?.phase === 'started';
  }

  /** Appends straight to history (events the state machine orders itself). */
  append(type: number, attrs: object, nowMs: number): IHistoryEvent {
    const event = makeEvent(type, attrs, this.nextEventId, nowMs);
    linkPrevious(event);
    this.history.push(event);
    return event;
  }

  /**
   * Adds an event that comes from outside the workflow's own commands (signal, activity
   * result, timer...). While a workflow task is started it is buffered, as the real server
   * does, so the worker's view of history stays consistent; ids are assigned on flush.
   */
  addExternal(type: number, attrs: object, nowMs: number): void {
    if (this.wftStarted) this.buffered.push(makeEvent(type, attrs, 0, nowMs));
    else this.append(type, attrs, nowMs);
  }

  flushBuffered(): number {
    const n = this.buffered.length;
    for (const e of this.buffered) {
      e.eventId = this.nextEventId;
      linkPrevious(e);
      this.history.push(e);
    }
    this.buffered = [];
    return n;
  }

  notify(): void {
    for (const cb of [...this.listeners]) cb();
  }
}

/**
 * An activity's closing event is always written right after its started event, but may
 * be buffered first, so its started_event_id is a placeholder (-1) until it gets its id.
 */
function linkPrevious(event: IHistoryEvent): void {
  const a = attrsOf<{ startedEventId?: number }>(event);
  if (a && a.startedEventId === -1) a.startedEventId = (event.eventId ?? 1) - 1;
}
