/* eslint-disable @typescript-eslint/no-unsafe-enum-comparison -- types arrive from the wire and the CLI as plain numbers */
// Search attribute rules, after the real server's common/searchattribute (defs.go,
// validator.go, encode_value.go): a name written by a start request or a command must be
// a predefined attribute or one registered (OperatorService AddSearchAttributes, or
// `--search-attribute name=Type`), never a system one (WorkflowId, StartTime...), and
// its value must decode as the registered type. Anything else is INVALID_ARGUMENT, or,
// for workflow commands, a workflow task failed with cause BAD_SEARCH_ATTRIBUTES.
//
// Like the Java test server, every engine starts with the Custom*Field attributes the
// Temporal samples and SDK tests use (CustomKeywordField, CustomIntField...) registered.
import type { Engine } from './engine';
import { CommandType, temporal, type ICommand, type IPayload, type ISearchAttributes } from '../proto';
import { RpcError, Code, invalidArgument } from '../rpc/errors';
import { searchAttributesSizeProblem } from './limits';

const IVT = temporal.api.enums.v1.IndexedValueType;
const Cause = temporal.api.enums.v1.WorkflowTaskFailedCause;

/** IndexedValueType numbers by the names the CLI and the SDKs use. */
const TYPE_BY_NAME = new Map<string, number>([
  ['text', IVT.INDEXED_VALUE_TYPE_TEXT],
  ['keyword', IVT.INDEXED_VALUE_TYPE_KEYWORD],
  ['int', IVT.INDEXED_VALUE_TYPE_INT],
  ['double', IVT.INDEXED_VALUE_TYPE_DOUBLE],
  ['bool', IVT.INDEXED_VALUE_TYPE_BOOL],
  ['datetime', IVT.INDEXED_VALUE_TYPE_DATETIME],
  ['keywordlist', IVT.INDEXED_VALUE_TYPE_KEYWORD_LIST],
]);

const DISPLAY_NAME = new Map<number, string>([
  [IVT.INDEXED_VALUE_TYPE_TEXT, 'Text'],
  [IVT.INDEXED_VALUE_TYPE_KEYWORD, 'Keyword'],
  [IVT.INDEXED_VALUE_TYPE_INT, 'Int'],
  [IVT.INDEXED_VALUE_TYPE_DOUBLE, 'Double'],
  [IVT.INDEXED_VALUE_TYPE_BOOL, 'Bool'],
  [IVT.INDEXED_VALUE_TYPE_DATETIME, 'Datetime'],
  [IVT.INDEXED_VALUE_TYPE_KEYWORD_LIST, 'KeywordList'],
]);

/** Stored as separate fields of a run; they cannot be set through search attributes. */
export const SYSTEM_ATTRIBUTES: ReadonlyMap<string, number> = new Map([
  ['WorkflowId', IVT.INDEXED_VALUE_TYPE_KEYWORD],
  ['RunId', IVT.INDEXED_VALUE_TYPE_KEYWORD],
  ['WorkflowType', IVT.INDEXED_VALUE_TYPE_KEYWORD],
  ['StartTime', IVT.INDEXED_VALUE_TYPE_DATETIME],
  ['ExecutionTime', IVT.INDEXED_VALUE_TYPE_DATETIME],
  ['CloseTime', IVT.INDEXED_VALUE_TYPE_DATETIME],
  ['ExecutionStatus', IVT.INDEXED_VALUE_TYPE_KEYWORD],
  ['TaskQueue', IVT.INDEXED_VALUE_TYPE_KEYWORD],
  ['HistoryLength', IVT.INDEXED_VALUE_TYPE_INT],
  ['ExecutionDuration', IVT.INDEXED_VALUE_TYPE_INT],
  ['StateTransitionCount', IVT.INDEXED_VALUE_TYPE_INT],
  ['HistorySizeBytes', IVT.INDEXED_VALUE_TYPE_INT],
  ['ParentWorkflowId', IVT.INDEXED_VALUE_TYPE_KEYWORD],
  ['ParentRunId', IVT.INDEXED_VALUE_TYPE_KEYWORD],
  ['RootWorkflowId', IVT.INDEXED_VALUE_TYPE_KEYWORD],
  ['RootRunId', IVT.INDEXED_VALUE_TYPE_KEYWORD],
]);

/** Known to every namespace and written together with custom attributes (e.g. by SDK patching). */
export const PREDEFINED_ATTRIBUTES: ReadonlyMap<string, number> = new Map([
  ['TemporalChangeVersion', IVT.INDEXED_VALUE_TYPE_KEYWORD_LIST],
  ['BinaryChecksums', IVT.INDEXED_VALUE_TYPE_KEYWORD_LIST],
  ['BuildIds', IVT.INDEXED_VALUE_TYPE_KEYWORD_LIST],
  ['BatcherNamespace', IVT.INDEXED_VALUE_TYPE_KEYWORD],
  ['BatcherUser', IVT.INDEXED_VALUE_TYPE_KEYWORD],
  ['TemporalScheduledStartTime', IVT.INDEXED_VALUE_TYPE_DATETIME],
  ['TemporalScheduledById', IVT.INDEXED_VALUE_TYPE_KEYWORD],
  ['TemporalSchedulePaused', IVT.INDEXED_VALUE_TYPE_BOOL],
  ['TemporalNamespaceDivision', IVT.INDEXED_VALUE_TYPE_KEYWORD],
  ['TemporalPauseInfo', IVT.INDEXED_VALUE_TYPE_KEYWORD_LIST],
  ['TemporalReportedProblems', IVT.INDEXED_VALUE_TYPE_KEYWORD_LIST],
  ['TemporalWorkerDeploymentVersion', IVT.INDEXED_VALUE_TYPE_KEYWORD],
  ['TemporalWorkflowVersioningBehavior', IVT.INDEXED_VALUE_TYPE_KEYWORD],
  ['TemporalWorkerDeployment', IVT.INDEXED_VALUE_TYPE_KEYWORD],
]);

/** Registered from the start, as the Java test server does, for samples and SDK-style tests. */
const DEFAULT_CUSTOM_ATTRIBUTES: ReadonlyMap<string, number> = new Map([
  ['CustomKeywordField', IVT.INDEXED_VALUE_TYPE_KEYWORD],
  ['CustomStringField', IVT.INDEXED_VALUE_TYPE_TEXT],
  ['CustomTextField', IVT.INDEXED_VALUE_TYPE_TEXT],
  ['CustomIntField', IVT.INDEXED_VALUE_TYPE_INT],
  ['CustomDoubleField', IVT.INDEXED_VALUE_TYPE_DOUBLE],
  ['CustomBoolField', IVT.INDEXED_VALUE_TYPE_BOOL],
  ['CustomDatetimeField', IVT.INDEXED_VALUE_TYPE_DATETIME],
]);

/** Names the real server keeps for itself besides the system and predefined ones. */
const RESERVED_NAMES = new Set(['NamespaceId', 'MemoEncoding', 'Memo', 'VisibilityTaskKey']);
const RESERVED_PREFIX = 'Temporal';
/** The real server's default limit on keys per request (dynamic config limit.numberOfSearchAttributes...). */
const MAX_KEYS = 100;
/** Registered attributes are kept for good (and in every snapshot of the log), so their number is bounded. */
const MAX_CUSTOM_ATTRIBUTES = 1000;

/** The IndexedValueType number for 'Keyword', 'keyword_list', 'INDEXED_VALUE_TYPE_INT'... or undefined. */
export function parseIndexedValueType(name: string): number | undefined {
  const key = name
    .replace(/^INDEXED_VALUE_TYPE_/i, '')
    .replace(/[_\s-]/g, '')
    .toLowerCase();
  return TYPE_BY_NAME.get(key);
}

export function indexedValueTypeName(type: number): string {
  return DISPLAY_NAME.get(type) ?? String(type);
}

/** The custom search attributes of one server: name -> IndexedValueType. */
export class SearchAttributeRegistry {
  private readonly custom = new Map<string, number>(DEFAULT_CUSTOM_ATTRIBUTES);

  constructor(initial: Iterable<[string, string]>, warn: (message: string) => void) {
    for (const [name, typeName] of initial) {
      const type = parseIndexedValueType(typeName);
      if (type === undefined) warn(`search attribute ${name}: unknown type ${typeName}, not registered`);
      else if (isReserved(name)) warn(`search attribute ${name} is reserved by the system, not registered`);
      else this.custom.set(name, type);
    }
  }

  /** OperatorService AddSearchAttributes: all or nothing, re-adding with the same type is a no-op. */
  add(attributes: Iterable<[string, number]>): void {
    const pending = new Map<string, number>();
    for (const [name, type] of attributes) {
      if (!name) throw invalidArgument('Search attribute name must be set.');
      if (isReserved(name)) throw invalidArgument(`Search attribute ${name} is reserved by system.`);
      if (!DISPLAY_NAME.has(type)) throw invalidArgument(`Unknown search attribute type: ${type}.`);
      const existing = this.custom.get(name);
      if (existing !== undefined && existing !== type)
        throw new RpcError(Code.ALREADY_EXISTS, `Search attribute ${name} already exists.`);
      pending.set(name, type);
    }
    const added = [...pending.keys()].filter((name) => !this.custom.has(name)).length;
    if (this.custom.size + added > MAX_CUSTOM_ATTRIBUTES)
      throw new RpcError(
        Code.FAILED_PRECONDITION,
        `Unable to add search attributes: at most ${MAX_CUSTOM_ATTRIBUTES} custom search attributes can be registered.`,
      );
    for (const [name, type] of pending) this.custom.set(name, type);
  }

  /**
   * Attributes read back from the store: those the command line registered win over a
   * stored one of another type (warned about), the rest are registered again.
   */
  restore(attributes: Iterable<[string, number]>, warn: (message: string) => void): void {
    for (const [name, type] of attributes) {
      const existing = this.custom.get(name);
      if (existing === undefined && !isReserved(name) && DISPLAY_NAME.has(type)) this.custom.set(name, type);
      else if (existing !== undefined && existing !== type)
        warn(
          `search attribute ${name}: stored as ${indexedValueTypeName(type)}, kept as ${indexedValueTypeName(existing)}`,
        );
    }
  }

  customAttributes(): ReadonlyMap<string, number> {
    return this.custom;
  }

  /** The type a search attribute may be written with, or undefined if it is not defined. */
  writableType(name: string): number | undefined {
    return PREDEFINED_ATTRIBUTES.get(name) ?? this.custom.get(name);
  }

  /** Why these search attributes cannot be written, or undefined when they can. */
  problem(sa: ISearchAttributes | null | undefined): string | undefined {
    const fields = sa?.indexedFields;
    if (!fields) return undefined;
    const names = Object.keys(fields);
    if (names.length > MAX_KEYS)
      return `number of search attributes ${names.length} exceeds limit ${MAX_KEYS}`;
    for (const name of names) {
      if (SYSTEM_ATTRIBUTES.has(name)) return `${name} attribute can't be set in SearchAttributes`;
      const type = this.writableType(name);
      if (type === undefined) return `search attribute ${name} is not defined`;
      const bad = valueProblem(fields[name], type);
      if (bad !== undefined)
        return `${bad} is not a valid value for search attribute ${name} of type ${indexedValueTypeName(type)}`;
    }
    return undefined;
  }
}

function isReserved(name: string): boolean {
  return (
    SYSTEM_ATTRIBUTES.has(name) ||
    PREDEFINED_ATTRIBUTES.has(name) ||
    RESERVED_NAMES.has(name) ||
    name.startsWith(RESERVED_PREFIX)
  );
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

function scalarFits(v: unknown, type: number): boolean {
  switch (type) {
    case IVT.INDEXED_VALUE_TYPE_TEXT:
    case IVT.INDEXED_VALUE_TYPE_KEYWORD:
      return typeof v === 'string';
    case IVT.INDEXED_VALUE_TYPE_INT:
      return typeof v === 'number' && Number.isInteger(v);
    case IVT.INDEXED_VALUE_TYPE_DOUBLE:
      return typeof v === 'number';
    case IVT.INDEXED_VALUE_TYPE_BOOL:
      return typeof v === 'boolean';
    case IVT.INDEXED_VALUE_TYPE_DATETIME:
      return typeof v === 'string' && RFC3339.test(v) && !Number.isNaN(Date.parse(v));
    default:
      return false;
  }
}

/**
 * undefined when the payload holds a value of the type (null, or an empty list, removes
 * the attribute; a list of values of a scalar type is allowed); otherwise the value as
 * text for the error message.
 */
function valueProblem(p: IPayload | null | undefined, type: number): string | undefined {
  const encoding = p?.metadata?.encoding ? Buffer.from(p.metadata.encoding).toString('utf8') : '';
  const text = p?.data ? Buffer.from(p.data).toString('utf8') : '';
  if (encoding === 'binary/null') return undefined;
  if (encoding !== '' && encoding !== 'json/plain') return `value from <${encoding}>`;
  if (text === '') return undefined;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return `value from <${text.slice(0, 100)}>`;
  }
  if (v === null) return undefined;
  const show = (): string => text.slice(0, 100);
  if (type === IVT.INDEXED_VALUE_TYPE_KEYWORD_LIST) {
    return Array.isArray(v) && v.every((x) => typeof x === 'string') ? undefined : show();
  }
  if (Array.isArray(v)) return v.every((x) => scalarFits(x, type)) ? undefined : show();
  return scalarFits(v, type) ? undefined : show();
}

/**
 * For start requests: throws INVALID_ARGUMENT as the real frontend does (Validate, then
 * ValidateSize: 2 KiB a value, 40 KiB in all); returns sa unchanged.
 */
export function checkSearchAttributes<T extends ISearchAttributes | null | undefined>(
  engine: Engine,
  sa: T,
): T {
  const problem = engine.searchAttributes.problem(sa) ?? searchAttributesSizeProblem(sa?.indexedFields);
  if (problem) throw invalidArgument(problem);
  return sa;
}

/**
 * For a workflow task's commands (upsert, child start, continue-as-new): the failure
 * that makes the task fail with cause BAD_SEARCH_ATTRIBUTES, or undefined.
 */
export function searchAttributesCommandProblem(
  registry: SearchAttributeRegistry,
  c: ICommand,
): { cause: number; message: string } | undefined {
  let sa: ISearchAttributes | null | undefined;
  switch (c.commandType) {
    case CommandType.COMMAND_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
      sa = c.upsertWorkflowSearchAttributesCommandAttributes?.searchAttributes;
      break;
    case CommandType.COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION:
      sa = c.startChildWorkflowExecutionCommandAttributes?.searchAttributes;
      break;
    case CommandType.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION:
      sa = c.continueAsNewWorkflowExecutionCommandAttributes?.searchAttributes;
      break;
    default:
      return undefined;
  }
  if (!sa) return undefined;
  const problem = registry.problem(sa);
  return problem
    ? { cause: Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SEARCH_ATTRIBUTES, message: problem }
    : undefined;
}
