/* eslint-disable @typescript-eslint/no-unsafe-enum-comparison -- enums arrive from the wire, and are stored in state, as plain numbers */
// Building history events: the attribute field of each event type, and the
// classification the state machine needs (which events close a run).
import { EventType, type IHistoryEvent, msToTimestamp } from '../proto';

const attributeKeyByType = new Map<number, string>();
for (const [name, value] of Object.entries(EventType)) {
  if (typeof value !== 'number' || value === 0) continue;
  const camel = name
    .replace(/^EVENT_TYPE_/, '')
    .toLowerCase()
    .replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
  attributeKeyByType.set(value, `${camel}EventAttributes`);
}

export function attributeKey(type: number): string {
  const key = attributeKeyByType.get(type);
  if (!key) throw new Error(`unknown event type ${type}`);
  return key;
}

// Ids for replication/transfer ordering; SDKs ignore them but the real server always sets them.
let nextTaskId = Date.now();

export function makeEvent(type: number, attrs: object, eventId: number, timeMs: number): IHistoryEvent {
  return {
    eventId,
    eventTime: msToTimestamp(timeMs),
    eventType: type,
    taskId: nextTaskId++,
    [attributeKey(type)]: attrs,
  };
}

export function attrsOf<T = Record<string, unknown>>(event: IHistoryEvent): T {
  return (event as Record<string, unknown>)[attributeKey(event.eventType ?? 0)] as T;
}

const closeTypes = new Set<number>([
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
]);

export function isCloseEvent(event: IHistoryEvent): boolean {
  return closeTypes.has(event.eventType ?? 0);
}
