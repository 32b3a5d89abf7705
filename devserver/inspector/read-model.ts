// The inspector's read-only view of the core: plain objects describing runs, built on
// demand. Nothing here mutates engine state.
import { dict, type Engine } from '../core/engine';
import type { Execution } from '../core/execution';
import { attrsOf } from '../core/events';
import { filterRuns, parseQuery, statusName, searchAttributeValues } from '../core/visibility';
import { T, fromB64, EventType, timestampToMs, type IMemo, type IPayload } from '../proto';

export interface RunSummary {
  namespace: string;
  workflowId: string;
  runId: string;
  type: string;
  status: string;
  taskQueue: string;
  startMs: number;
  closeMs: number;
}

export interface EventView {
  id: number;
  timeMs: number;
  type: string;
  details: Record<string, unknown>;
}

export interface RunDetail extends RunSummary {
  historyLength: number;
  memo: Record<string, unknown>;
  searchAttributes: Record<string, unknown>;
  pendingActivities: {
    activityId: string;
    type: string;
    state: string;
    attempt: number;
    lastFailure?: string;
  }[];
  pendingChildren: { workflowId: string; runId: string; type: string }[];
  events: EventView[];
  parent?: { workflowId: string; runId: string };
}

export interface ListFilter {
  namespace: string;
  status?: string;
  type?: string;
  workflowId?: string;
  limit: number;
}

const eventTypeNames = new Map<number, string>(
  Object.entries(EventType)
    .filter(([, v]) => typeof v === 'number')
    .map(([k, v]) => [
      v as number,
      k
        .replace(/^EVENT_TYPE_/, '')
        .toLowerCase()
        .replace(/(^|_)([a-z])/g, (_m, _u, c: string) => c.toUpperCase()),
    ]),
);

/** JSON nested deeper than this is described, not shown (JSON.stringify recurses). */
const MAX_JSON_NESTING = 32;

/** Whether JSON text nests arrays/objects more than `limit` deep (a scan, no parsing). */
function jsonNestingExceeds(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/** Payload data as JSON when it is JSON, else a short description. */
export function payloadValue(p: IPayload | null | undefined): unknown {
  if (!p) return undefined;
  const encoding = p.metadata?.encoding ? Buffer.from(p.metadata.encoding).toString('utf8') : '';
  const data = p.data ? Buffer.from(p.data) : Buffer.alloc(0);
  if (encoding === 'binary/null') return null;
  if (encoding.startsWith('json')) {
    const text = data.toString('utf8');
    if (jsonNestingExceeds(text, MAX_JSON_NESTING))
      return `<${encoding} ${data.length} bytes, nested more than ${MAX_JSON_NESTING} levels>`;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return data.toString('utf8');
    }
  }
  return `<${encoding || 'binary'} ${data.length} bytes>`;
}

/** Turns payload containers inside event attributes into readable values, recursively. */
function readable(v: unknown, depth = 0): unknown {
  if (depth > 8 || v === null || v === undefined) return v;
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return `<${v.length} bytes>`;
  if (Array.isArray(v)) return v.map((x) => readable(x, depth + 1));
  if (typeof v !== 'object') return v;
  const o = v as Record<string, unknown>;
  if ('payloads' in o && Array.isArray(o.payloads)) return (o.payloads as IPayload[]).map(payloadValue);
  if ('data' in o && 'metadata' in o) return payloadValue(o);
  if ('seconds' in o && Object.keys(o).every((k) => k === 'seconds' || k === 'nanos')) {
    return `${Number(o.seconds) + Number(o.nanos ?? 0) / 1e9}s`;
  }
  // Keys of map fields (memo, header...) are the client's strings: no prototype to collide with.
  const out = dict<unknown>();
  for (const [k, x] of Object.entries(o)) {
    if (x === undefined || k === 'header') continue;
    out[k] = readable(x, depth + 1);
  }
  return out;
}

function fieldsOf(fields: Record<string, IPayload> | null | undefined): Record<string, unknown> {
  const out = dict<unknown>();
  for (const [k, p] of Object.entries(fields ?? {})) out[k] = payloadValue(p);
  return out;
}

export class ReadModel {
  constructor(private readonly engine: Engine) {}

  namespaces(): string[] {
    return [...this.engine.namespaces.keys()];
  }

  list(f: ListFilter): RunSummary[] {
    const clauses: string[] = [];
    const quote = (s: string): string => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
    if (f.status) clauses.push(`ExecutionStatus = ${quote(f.status)}`);
    if (f.type) clauses.push(`WorkflowType = ${quote(f.type)}`);
    if (f.workflowId) clauses.push(`WorkflowId STARTS_WITH ${quote(f.workflowId)}`);
    const runs = filterRuns(this.engine.executions.values(), f.namespace, parseQuery(clauses.join(' AND ')));
    return runs.slice(0, f.limit).map(summary);
  }

  /** The run a workflow id names today (its latest), as the server resolves an empty run id. */
  currentRunId(namespace: string, workflowId: string): string | undefined {
    return this.engine.currentRun(namespace, workflowId)?.s.runId;
  }

  get(namespace: string, workflowId: string, runId: string): RunDetail | undefined {
    const exec = this.engine.executions.get(`${namespace}\u0000${workflowId}\u0000${runId}`);
    if (!exec) return undefined;
    const s = exec.s;
    return {
      ...summary(exec),
      historyLength: exec.history.length,
      memo: fieldsOf(fromB64<IMemo>(T.Memo, s.memo)?.fields),
      searchAttributes: searchAttributeValues(exec),
      pendingActivities: Object.values(s.activities).map((a) => ({
        activityId: a.activityId,
        type: a.type,
        state: a.cancelRequested
          ? 'CancelRequested'
          : a.phase === 'backoff'
            ? 'Scheduled (retry backoff)'
            : a.phase === 'started'
              ? 'Started'
              : 'Scheduled',
        attempt: a.attempt,
        lastFailure: fromB64<{ message?: string }>(T.Failure, a.lastFailure)?.message,
      })),
      pendingChildren: Object.values(s.children).map((c) => ({
        workflowId: c.workflowId,
        runId: c.runId,
        type: c.workflowType,
      })),
      events: exec.history.map((e) => ({
        id: e.eventId ?? 0,
        timeMs: timestampToMs(e.eventTime),
        type: eventTypeNames.get(e.eventType ?? 0) ?? String(e.eventType),
        details: (readable(attrsOf(e)) ?? {}) as Record<string, unknown>,
      })),
      parent: s.parent ? { workflowId: s.parent.workflowId, runId: s.parent.runId } : undefined,
    };
  }
}

function summary(exec: Execution): RunSummary {
  const s = exec.s;
  return {
    namespace: s.namespace,
    workflowId: s.workflowId,
    runId: s.runId,
    type: s.workflowType,
    status: statusName(s.status),
    taskQueue: s.taskQueue,
    startMs: s.startMs,
    closeMs: s.closeMs,
  };
}
