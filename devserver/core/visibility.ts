// Visibility: ListWorkflowExecutions / CountWorkflowExecutions over the runs in memory,
// with the common subset of Temporal's SQL-like list filter: comparisons on WorkflowId,
// WorkflowType, RunId, ExecutionStatus, TaskQueue, StartTime, CloseTime, ExecutionTime
// and search attributes (=, !=, <, <=, >, >=, IN, NOT IN, BETWEEN, STARTS_WITH,
// IS [NOT] NULL), AND/OR/NOT with parentheses, ORDER BY StartTime|CloseTime, and
// GROUP BY ExecutionStatus for counts. Anything else is INVALID_ARGUMENT.
import { dict } from './engine';
import type { Execution } from './execution';
import {
  T,
  fromB64,
  WorkflowExecutionStatus,
  msToTimestamp,
  type ISearchAttributes,
  type IMemo,
} from '../proto';
import { invalidArgument } from '../rpc/errors';

type Value = string | number | boolean | null | Value[];

type Expr =
  | { kind: 'and' | 'or'; left: Expr; right: Expr }
  | { kind: 'not'; expr: Expr }
  | { kind: 'cmp'; field: string; op: string; values: Value[] };

export interface ParsedQuery {
  where?: Expr;
  orderBy?: { field: string; desc: boolean };
  groupBy?: string;
}

// ---- tokenizer ------------------------------------------------------------------

type Tok = { t: 'id' | 'str' | 'num' | 'op' | 'punct'; v: string };
const MAX_QUERY_LENGTH = 10_000;

function tokenize(q: string): Tok[] {
  if (q.length > MAX_QUERY_LENGTH) throw invalidArgument('query is too long');
  const out: Tok[] = [];
  let i = 0;
  while (i < q.length) {
    const c = q[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === "'" || c === '"') {
      let j = i + 1;
      let s = '';
      while (j < q.length && q[j] !== c) {
        if (q[j] === '\\' && j + 1 < q.length) j++;
        s += q[j];
        j++;
      }
      if (j >= q.length) throw invalidArgument(`invalid query: unterminated string`);
      out.push({ t: 'str', v: s });
      i = j + 1;
    } else if (c === '`') {
      const j = q.indexOf('`', i + 1);
      if (j < 0) throw invalidArgument('invalid query: unterminated identifier');
      out.push({ t: 'id', v: q.slice(i + 1, j) });
      i = j + 1;
    } else if (/[(),]/.test(c)) {
      out.push({ t: 'punct', v: c });
      i++;
    } else if (/[<>=!]/.test(c)) {
      const two = q.slice(i, i + 2);
      if (['<=', '>=', '!=', '<>'].includes(two)) {
        out.push({ t: 'op', v: two === '<>' ? '!=' : two });
        i += 2;
      } else if (c === '!') {
        throw invalidArgument(`invalid query: unexpected '!'`);
      } else {
        out.push({ t: 'op', v: c });
        i++;
      }
    } else if (/[-0-9.]/.test(c)) {
      const m = /^-?[0-9]+(\.[0-9]+)?/.exec(q.slice(i));
      if (!m) throw invalidArgument(`invalid query near '${q.slice(i, i + 10)}'`);
      out.push({ t: 'num', v: m[0] });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(q.slice(i))!;
      out.push({ t: 'id', v: m[0] });
      i += m[0].length;
    } else {
      throw invalidArgument(`invalid query: unexpected character '${c}'`);
    }
  }
  return out;
}

// ---- parser ---------------------------------------------------------------------

class Parser {
  private i = 0;
  constructor(private readonly toks: Tok[]) {}

  private peek(): Tok | undefined {
    return this.toks[this.i];
  }
  private kw(word: string): boolean {
    const t = this.peek();
    if (t && t.t === 'id' && t.v.toUpperCase() === word) {
      this.i++;
      return true;
    }
    return false;
  }
  private expect(v: string): void {
    const t = this.toks[this.i++];
    if (!t || t.v.toUpperCase() !== v) throw invalidArgument(`invalid query: expected '${v}'`);
  }

  parse(): ParsedQuery {
    const out: ParsedQuery = {};
    const first = this.peek();
    const startsWithClause = first?.t === 'id' && ['ORDER', 'GROUP'].includes(first.v.toUpperCase());
    if (first && !startsWithClause) out.where = this.or();
    while (this.peek()) {
      if (this.kw('ORDER')) {
        this.expect('BY');
        const f = this.toks[this.i++];
        if (!f || f.t !== 'id') throw invalidArgument('invalid query: ORDER BY needs a field');
        const field = canonicalField(f.v);
        if (!['StartTime', 'CloseTime', 'ExecutionTime'].includes(field)) {
          throw invalidArgument(`invalid query: cannot order by ${f.v}`);
        }
        let desc = false;
        if (this.kw('DESC')) desc = true;
        else this.kw('ASC');
        out.orderBy = { field, desc };
      } else if (this.kw('GROUP')) {
        this.expect('BY');
        const f = this.toks[this.i++];
        if (!f || canonicalField(f.v) !== 'ExecutionStatus') {
          throw invalidArgument('invalid query: GROUP BY supports only ExecutionStatus');
        }
        out.groupBy = 'ExecutionStatus';
      } else {
        throw invalidArgument(`invalid query near '${this.peek()!.v}'`);
      }
    }
    return out;
  }

  private or(): Expr {
    let left = this.and();
    while (this.kw('OR')) left = { kind: 'or', left, right: this.and() };
    return left;
  }
  private and(): Expr {
    let left = this.unary();
    while (this.kw('AND')) left = { kind: 'and', left, right: this.unary() };
    return left;
  }
  private unary(): Expr {
    if (this.kw('NOT')) return { kind: 'not', expr: this.unary() };
    const t = this.peek();
    if (t?.t === 'punct' && t.v === '(') {
      this.i++;
      const e = this.or();
      this.expect(')');
      return e;
    }
    return this.comparison();
  }
  private value(): Value {
    const t = this.toks[this.i++];
    if (!t) throw invalidArgument('invalid query: value expected');
    if (t.t === 'str') return t.v;
    if (t.t === 'num') return Number(t.v);
    if (t.t === 'id' && ['TRUE', 'FALSE'].includes(t.v.toUpperCase())) return t.v.toUpperCase() === 'TRUE';
    throw invalidArgument(`invalid query: unexpected '${t.v}'`);
  }
  private comparison(): Expr {
    const f = this.toks[this.i++];
    if (!f || f.t !== 'id') throw invalidArgument('invalid query: field name expected');
    const field = canonicalField(f.v);
    const t = this.peek();
    if (t?.t === 'op') {
      this.i++;
      return { kind: 'cmp', field, op: t.v, values: [this.value()] };
    }
    if (this.kw('IS')) {
      const not = this.kw('NOT');
      this.expect('NULL');
      return { kind: 'cmp', field, op: not ? 'NOTNULL' : 'NULL', values: [] };
    }
    const negate = this.kw('NOT');
    if (this.kw('IN')) {
      this.expect('(');
      const values: Value[] = [this.value()];
      while (this.peek()?.v === ',') {
        this.i++;
        values.push(this.value());
      }
      this.expect(')');
      return { kind: 'cmp', field, op: negate ? 'NOTIN' : 'IN', values };
    }
    if (this.kw('BETWEEN')) {
      const lo = this.value();
      this.expect('AND');
      const hi = this.value();
      const e: Expr = { kind: 'cmp', field, op: 'BETWEEN', values: [lo, hi] };
      return negate ? { kind: 'not', expr: e } : e;
    }
    if (this.kw('STARTS_WITH')) {
      const e: Expr = { kind: 'cmp', field, op: 'STARTS_WITH', values: [this.value()] };
      return negate ? { kind: 'not', expr: e } : e;
    }
    throw invalidArgument(`invalid query: operator expected after ${f.v}`);
  }
}

const builtinFields = [
  'WorkflowId',
  'WorkflowType',
  'RunId',
  'ExecutionStatus',
  'TaskQueue',
  'StartTime',
  'CloseTime',
  'ExecutionTime',
  'HistoryLength',
];

function canonicalField(name: string): string {
  return builtinFields.find((f) => f.toLowerCase() === name.toLowerCase()) ?? name;
}

export function parseQuery(query: string | null | undefined): ParsedQuery {
  if (!query || !query.trim()) return {};
  return new Parser(tokenize(query)).parse();
}

// ---- evaluation -----------------------------------------------------------------

const statusNames: Record<number, string> = {
  [WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING]: 'Running',
  [WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED]: 'Completed',
  [WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_FAILED]: 'Failed',
  [WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_CANCELED]: 'Canceled',
  [WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_TERMINATED]: 'Terminated',
  [WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW]: 'ContinuedAsNew',
  [WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_TIMED_OUT]: 'TimedOut',
};

export function statusName(status: number): string {
  return statusNames[status] ?? 'Unspecified';
}

const saCache = new WeakMap<Execution, { raw: string | null; values: Record<string, Value> }>();

/** The run's search attributes decoded to plain values (JSON payloads), cached per encoding. */
export function searchAttributeValues(exec: Execution): Record<string, Value> {
  const cached = saCache.get(exec);
  if (cached && cached.raw === exec.s.searchAttributes) return cached.values;
  // Keyed by search attribute names from clients: no prototype, so `constructor` is not a field.
  const values = dict<Value>();
  const sa = fromB64<ISearchAttributes>(T.SearchAttributes, exec.s.searchAttributes);
  for (const [k, p] of Object.entries(sa?.indexedFields ?? {})) {
    try {
      values[k] = JSON.parse(Buffer.from(p.data ?? new Uint8Array()).toString('utf8')) as Value;
    } catch {
      values[k] = null;
    }
  }
  saCache.set(exec, { raw: exec.s.searchAttributes, values });
  return values;
}

function fieldValue(exec: Execution, field: string): Value | undefined {
  const s = exec.s;
  switch (field) {
    case 'WorkflowId':
      return s.workflowId;
    case 'WorkflowType':
      return s.workflowType;
    case 'RunId':
      return s.runId;
    case 'TaskQueue':
      return s.taskQueue;
    case 'ExecutionStatus':
      return statusName(s.status);
    case 'StartTime':
      return s.startMs;
    case 'ExecutionTime':
      return s.executionMs;
    case 'CloseTime':
      return s.closeMs > 0 ? s.closeMs : null;
    case 'HistoryLength':
      return exec.history.length;
    default:
      return searchAttributeValues(exec)[field];
  }
}

const timeFields = new Set(['StartTime', 'CloseTime', 'ExecutionTime']);

function normalise(field: string, v: Value): Value {
  if (typeof v === 'string' && timeFields.has(field)) {
    const ms = Date.parse(v);
    if (Number.isNaN(ms)) throw invalidArgument(`invalid query: '${v}' is not a time`);
    return ms;
  }
  if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(v)) {
    const ms = Date.parse(v);
    if (!Number.isNaN(ms)) return ms;
  }
  return v;
}

function compare(a: Value, b: Value): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
}

function evalCmp(exec: Execution, field: string, op: string, values: Value[]): boolean {
  const raw = fieldValue(exec, field);
  if (op === 'NULL') return raw === undefined || raw === null;
  if (op === 'NOTNULL') return raw !== undefined && raw !== null;
  if (raw === undefined || raw === null) return op === '!=' || op === 'NOTIN';
  const vs = values.map((v) => normalise(field, v));
  // Keyword lists match when any element matches.
  const candidates = (Array.isArray(raw) ? raw : [raw]).map((r) => normalise(field, r));
  const test = (x: Value): boolean => {
    switch (op) {
      case '=':
        return compare(x, vs[0]!) === 0;
      case '!=':
        return compare(x, vs[0]!) !== 0;
      case '<':
        return compare(x, vs[0]!) < 0;
      case '<=':
        return compare(x, vs[0]!) <= 0;
      case '>':
        return compare(x, vs[0]!) > 0;
      case '>=':
        return compare(x, vs[0]!) >= 0;
      case 'IN':
        return vs.some((v) => compare(x, v) === 0);
      case 'NOTIN':
        return !vs.some((v) => compare(x, v) === 0);
      case 'BETWEEN':
        return compare(x, vs[0]!) >= 0 && compare(x, vs[1]!) <= 0;
      case 'STARTS_WITH':
        return String(x).startsWith(String(vs[0]));
      default:
        throw invalidArgument(`invalid query: unsupported operator ${op}`);
    }
  };
  return op === '!=' || op === 'NOTIN' ? candidates.every(test) : candidates.some(test);
}

export function matches(exec: Execution, e: Expr | undefined): boolean {
  if (!e) return true;
  switch (e.kind) {
    case 'and':
      return matches(exec, e.left) && matches(exec, e.right);
    case 'or':
      return matches(exec, e.left) || matches(exec, e.right);
    case 'not':
      return !matches(exec, e.expr);
    case 'cmp':
      return evalCmp(exec, e.field, e.op, e.values);
  }
}

export function filterRuns(runs: Iterable<Execution>, namespace: string, q: ParsedQuery): Execution[] {
  const out: Execution[] = [];
  for (const exec of runs) if (exec.s.namespace === namespace && matches(exec, q.where)) out.push(exec);
  const order = q.orderBy ?? { field: 'StartTime', desc: true };
  const key = (x: Execution): number =>
    order.field === 'CloseTime'
      ? x.s.closeMs
      : order.field === 'ExecutionTime'
        ? x.s.executionMs
        : x.s.startMs;
  out.sort((a, b) => (order.desc ? key(b) - key(a) : key(a) - key(b)) || a.s.runId.localeCompare(b.s.runId));
  return out;
}

/** temporal.api.workflow.v1.WorkflowExecutionInfo for list and describe. */
export function executionInfo(exec: Execution): object {
  const s = exec.s;
  return {
    execution: { workflowId: s.workflowId, runId: s.runId },
    type: { name: s.workflowType },
    startTime: msToTimestamp(s.startMs),
    closeTime: s.closeMs > 0 ? msToTimestamp(s.closeMs) : undefined,
    status: s.status,
    historyLength: exec.history.length,
    executionTime: msToTimestamp(s.executionMs),
    memo: fromB64<IMemo>(T.Memo, s.memo) ?? { fields: {} },
    searchAttributes: fromB64<ISearchAttributes>(T.SearchAttributes, s.searchAttributes) ?? {
      indexedFields: {},
    },
    taskQueue: s.taskQueue,
    parentNamespaceId: s.parent?.namespace,
    parentExecution: s.parent ? { workflowId: s.parent.workflowId, runId: s.parent.runId } : undefined,
    firstRunId: s.firstRunId,
    stateTransitionCount: exec.history.length,
  };
}
