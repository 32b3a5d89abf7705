// The Temporal API message types, loaded from the SDK's own compiled protobuf root
// (@temporalio/proto) so the server and the SDK always agree on the wire format, and
// so start-up does not pay for parsing .proto files (the SDK gives a launched server 5 s).
import * as protobuf from 'protobufjs';
import { temporal, google } from '@temporalio/proto';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const root = require('@temporalio/proto/protos/json-module') as protobuf.Root;

export { temporal, google };

// The static typings say Long for int64; the server decodes int64 as numbers (see
// toObjectOptions), so every message type is used through this mapping.
type LongLike = { low: number; high: number; unsigned: boolean };
export type Plain<T> = T extends LongLike
  ? number
  : T extends Uint8Array
    ? Uint8Array
    : T extends (infer U)[]
      ? Plain<U>[]
      : T extends object
        ? { [K in keyof T]: Plain<T[K]> }
        : T;

export type IHistoryEvent = Plain<temporal.api.history.v1.IHistoryEvent>;
export type IPayloads = Plain<temporal.api.common.v1.IPayloads>;
export type IPayload = Plain<temporal.api.common.v1.IPayload>;
export type IFailure = Plain<temporal.api.failure.v1.IFailure>;
export type ICommand = Plain<temporal.api.command.v1.ICommand>;
export type IMemo = Plain<temporal.api.common.v1.IMemo>;
export type ISearchAttributes = Plain<temporal.api.common.v1.ISearchAttributes>;
export type IRetryPolicy = Plain<temporal.api.common.v1.IRetryPolicy>;
export type IHeader = Plain<temporal.api.common.v1.IHeader>;
export type ITimestamp = Plain<google.protobuf.ITimestamp>;
export type IDuration = Plain<google.protobuf.IDuration>;
export type IMessage = Plain<temporal.api.protocol.v1.IMessage>;
export type wf = typeof temporal.api.workflowservice.v1;

export const EventType = temporal.api.enums.v1.EventType;
export const WorkflowExecutionStatus = temporal.api.enums.v1.WorkflowExecutionStatus;
export const CommandType = temporal.api.enums.v1.CommandType;
export const RetryState = temporal.api.enums.v1.RetryState;
export const TimeoutType = temporal.api.enums.v1.TimeoutType;
export const TaskQueueKind = temporal.api.enums.v1.TaskQueueKind;

const typeCache = new Map<string, protobuf.Type>();

export function lookupType(fullName: string): protobuf.Type {
  let t = typeCache.get(fullName);
  if (!t) {
    t = root.lookupType(fullName);
    typeCache.set(fullName, t);
  }
  return t;
}

export function lookupService(fullName: string): protobuf.Service {
  return root.lookupService(fullName);
}

// Plain-object form used everywhere in the server: int64 as JS numbers (event ids and
// millisecond times fit), enums as numbers, bytes as Buffers, absent fields left out.
const toObjectOptions: protobuf.IConversionOptions = { longs: Number, enums: Number, defaults: false };

export function decode<T>(type: protobuf.Type, buf: Uint8Array): T {
  return type.toObject(type.decode(buf), toObjectOptions) as T;
}

export function encode(type: protobuf.Type, obj: object): Uint8Array {
  return type.encode(obj).finish();
}

/**
 * The deepest nesting of messages a request may have (the request itself is level 1; a
 * failure with 60 causes is about 62). protobufjs refuses more than 100 levels when it
 * encodes, and the server stores request parts a few levels further down (request ->
 * history event -> attributes -> failure, then poll response -> history -> events), so
 * anything accepted here stays encodable, storable and readable by the SDKs, which
 * have the same limit of 100.
 */
export const MAX_REQUEST_NESTING = 64;

/**
 * Whether a decoded message nests objects more than `limit` levels deep (arrays do not
 * count, bytes are leaves). A google.protobuf.Any of a known type (the update protocol's
 * messages) counts with its unpacked body, which the server decodes and stores too.
 * Iterative, so it is safe on any depth.
 */
export function nestingExceeds(obj: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[obj, 0]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (typeof v !== 'object' || v === null || ArrayBuffer.isView(v)) continue;
    const isArray = Array.isArray(v);
    const depth = isArray ? d : d + 1;
    if (depth > limit) return true;
    const any = v as AnyMessage;
    if (!isArray && typeof any.type_url === 'string' && any.value instanceof Uint8Array) {
      const body = anyBody(any);
      if (body === TOO_DEEP_TO_DECODE) return true;
      if (body) stack.push([body, depth]);
    }
    for (const x of isArray ? (v as unknown[]) : Object.values(v)) {
      if (typeof x === 'object' && x !== null) stack.push([x, depth]);
    }
  }
  return false;
}

const TOO_DEEP_TO_DECODE = Symbol('too deep');

/** The decoded body of an Any, if its type is known and it decodes. */
function anyBody(any: AnyMessage): object | typeof TOO_DEEP_TO_DECODE | undefined {
  const typeName = any.type_url!.slice(any.type_url!.lastIndexOf('/') + 1);
  let type: protobuf.Type;
  try {
    type = lookupType(typeName);
  } catch {
    return undefined;
  }
  try {
    return decode<object>(type, any.value!);
  } catch (err) {
    // Malformed bodies are answered by whoever unpacks them.
    return isNestingError(err) ? TOO_DEEP_TO_DECODE : undefined;
  }
}

/** Errors that mean a message (or what the server built from it) nests too deeply to process. */
export function isNestingError(err: unknown): boolean {
  if (err instanceof RangeError && /call stack/i.test(err.message)) return true;
  return err instanceof Error && /max(imum)? (nesting )?depth exceeded/i.test(err.message);
}

export const T = {
  HistoryEvent: lookupType('temporal.api.history.v1.HistoryEvent'),
  Payloads: lookupType('temporal.api.common.v1.Payloads'),
  Failure: lookupType('temporal.api.failure.v1.Failure'),
  Memo: lookupType('temporal.api.common.v1.Memo'),
  SearchAttributes: lookupType('temporal.api.common.v1.SearchAttributes'),
  Header: lookupType('temporal.api.common.v1.Header'),
  UpdateRequest: lookupType('temporal.api.update.v1.Request'),
  UpdateAcceptance: lookupType('temporal.api.update.v1.Acceptance'),
  UpdateRejection: lookupType('temporal.api.update.v1.Rejection'),
  UpdateResponse: lookupType('temporal.api.update.v1.Response'),
  Outcome: lookupType('temporal.api.update.v1.Outcome'),
  RpcStatus: lookupType('google.rpc.Status'),
};

/** Long | number | null from the static typings, as a plain number. */
export function num(v: number | null | undefined): number {
  return v ?? 0;
}

export function durationToMs(d: IDuration | null | undefined): number {
  if (!d) return 0;
  return num(d.seconds) * 1000 + Math.floor((d.nanos ?? 0) / 1e6);
}

export function msToDuration(ms: number): IDuration {
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: (ms - seconds * 1000) * 1e6 };
}

export function msToTimestamp(ms: number): ITimestamp {
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: Math.round((ms - seconds * 1000) * 1e6) };
}

export function timestampToMs(t: ITimestamp | null | undefined): number {
  if (!t) return 0;
  return num(t.seconds) * 1000 + Math.floor((t.nanos ?? 0) / 1e6);
}

/** A protobuf message as base64 text, for the JSON state records of the durable store. */
export function toB64(type: protobuf.Type, obj: object | null | undefined): string | null {
  if (!obj) return null;
  return Buffer.from(encode(type, obj)).toString('base64');
}

export function fromB64<T>(type: protobuf.Type, s: string | null | undefined): T | undefined {
  if (!s) return undefined;
  return decode<T>(type, Buffer.from(s, 'base64'));
}

// google.protobuf.Any keeps its snake_case field name in the SDK's root.
export interface AnyMessage {
  type_url?: string | null;
  value?: Uint8Array | null;
}

export function packAny(type: protobuf.Type, obj: object): AnyMessage {
  return { type_url: `type.googleapis.com/${type.fullName.replace(/^\./, '')}`, value: encode(type, obj) };
}

export function unpackAny<T>(type: protobuf.Type, any: AnyMessage | null | undefined): T | undefined {
  if (!any?.value) return undefined;
  return decode<T>(type, any.value);
}
