// The payload size limits the real server enforces with its default dynamic config
// (limit.blobSize.error 2 MiB, limit.blobSize.warn 512 KiB, limit.memoSize.error 2 MiB),
// checked where the real frontend and history service check them (common.
// CheckEventBlobSizeLimit): one payload field of a request at a time, measured as its
// protobuf encoding. Over the warning size a line is logged; over the error size the
// request is refused, or its effect is replaced by a failure, as the real server does.
import type { Logger } from '../logger';
import { T, type IFailure, type IPayload, type AnyMessage } from '../proto';

export const BLOB_SIZE_LIMIT_ERROR = 2 * 1024 * 1024;
export const BLOB_SIZE_LIMIT_WARN = 512 * 1024;
export const MEMO_SIZE_LIMIT_ERROR = 2 * 1024 * 1024;
/** frontend.searchAttributesSizeOfValueLimit and frontend.searchAttributesTotalSizeLimit. */
export const SEARCH_ATTRIBUTE_VALUE_SIZE_LIMIT = 2 * 1024;
export const SEARCH_ATTRIBUTES_TOTAL_SIZE_LIMIT = 40 * 1024;

/** common.ErrBlobSizeExceedsLimit / ErrMemoSizeExceedsLimit (INVALID_ARGUMENT). */
export const BLOB_SIZE_EXCEEDS_LIMIT = 'Blob data size exceeds limit.';
export const MEMO_SIZE_EXCEEDS_LIMIT = 'Memo size exceeds limit.';
/** The failure reasons the frontend puts in place of an activity's oversized payloads. */
export const COMPLETE_RESULT_EXCEEDS_LIMIT = 'Complete result exceeds size limit.';
export const FAILURE_EXCEEDS_LIMIT = 'Failure exceeds size limit.';
export const CANCEL_DETAILS_EXCEED_LIMIT = 'Cancel details exceed size limit.';
export const HEARTBEAT_DETAILS_EXCEED_LIMIT = 'Heartbeat details exceed size limit.';

/** Encoded size of a Payloads message (0 when absent), without building the bytes. */
export function payloadsSize(p: object | null | undefined): number {
  return p ? T.Payloads.encode(p).len : 0;
}

export function failureSize(f: object | null | undefined): number {
  return f ? T.Failure.encode(f).len : 0;
}

export function memoSize(m: object | null | undefined): number {
  return m ? T.Memo.encode(m).len : 0;
}

/** common.GetPayloadsMapSize: the keys plus each value's encoded size. */
export function payloadsMapSize(map: { [k: string]: object | null | undefined } | null | undefined): number {
  let size = 0;
  for (const [k, v] of Object.entries(map ?? {})) size += Buffer.byteLength(k) + payloadsSize(v);
  return size;
}

/**
 * The keys plus each payload's data (upserted search attributes): the payloadsMapSize of
 * the real workflowTaskCompletedHandler, which counts neither metadata nor encoding.
 */
export function payloadMapSize(
  map: { [k: string]: { data?: Uint8Array | null } | null | undefined } | null | undefined,
): number {
  let size = 0;
  for (const [k, v] of Object.entries(map ?? {})) size += Buffer.byteLength(k) + (v?.data?.length ?? 0);
  return size;
}

/**
 * searchattribute.Validator.ValidateSize with the default limits: a value whose data is
 * over 2 KiB, then all of them (as an encoded SearchAttributes message) over 40 KiB. The
 * message the real server gives, or undefined.
 */
export function searchAttributesSizeProblem(
  fields: { [k: string]: { data?: Uint8Array | null } | null | undefined } | null | undefined,
): string | undefined {
  for (const [name, p] of Object.entries(fields ?? {})) {
    const size = p?.data?.length ?? 0;
    if (size > SEARCH_ATTRIBUTE_VALUE_SIZE_LIMIT)
      return `search attribute ${name} value size ${size} exceeds size limit ${SEARCH_ATTRIBUTE_VALUE_SIZE_LIMIT}`;
  }
  const total = T.SearchAttributes.encode({ indexedFields: (fields ?? {}) as Record<string, IPayload> }).len;
  if (total > SEARCH_ATTRIBUTES_TOTAL_SIZE_LIMIT)
    return `total size of search attributes ${total} exceeds size limit ${SEARCH_ATTRIBUTES_TOTAL_SIZE_LIMIT}`;
  return undefined;
}

/** The encoded size of a protocol message body (google.protobuf.Any). */
export function anySize(a: AnyMessage | null | undefined): number {
  if (!a) return 0;
  return Buffer.byteLength(a.type_url ?? '') + (a.value?.length ?? 0) + 4;
}

export interface BlobContext {
  log: Logger;
  /** The operation, as the real server's BlobSizeViolationOperation tag. */
  operation: string;
  workflowId?: string | null;
  runId?: string | null;
}

/**
 * common.CheckEventBlobSizeLimit: logs a warning over the warning size; true when the
 * blob is over the error size and must be refused.
 */
export function blobExceedsLimit(
  size: number,
  ctx: BlobContext,
  errorLimit = BLOB_SIZE_LIMIT_ERROR,
): boolean {
  if (size <= BLOB_SIZE_LIMIT_WARN) return false;
  ctx.log.warn(
    `Blob data size exceeds the warning limit: ${size} bytes (warn ${BLOB_SIZE_LIMIT_WARN}, ` +
      `error ${errorLimit}) in ${ctx.operation}` +
      (ctx.workflowId ? ` for workflow ${ctx.workflowId}${ctx.runId ? ` run ${ctx.runId}` : ''}` : ''),
  );
  return size > errorLimit;
}

/** failure.NewServerFailure(message, nonRetryable) */
export function serverFailure(message: string, nonRetryable: boolean): IFailure {
  return { message, source: '', serverFailureInfo: { nonRetryable } };
}

/** The depth failure.Truncate follows causes to (TruncateWithDepth(f, maxSize, 20)). */
export const FAILURE_TRUNCATION_DEPTH = 20;

/**
 * util.TruncateUTF8: the longest prefix of s within maxBytes of UTF-8 that does not cut a
 * character (a cut character would come back as U+FFFD, 3 bytes, and could exceed the limit).
 */
export function truncateUtf8(s: string, maxBytes: number): string {
  const bytes = Buffer.from(s, 'utf8');
  if (bytes.length <= maxBytes) return s;
  let end = Math.max(0, maxBytes);
  // Back off continuation bytes (10xxxxxx) to the start of the character being cut.
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString('utf8');
}

/**
 * failure.Truncate (TruncateWithDepth): what of a failure fits in about maxBytes, kept as
 * the cause of the failure that replaces it. Bytes go first to the failure info's type, then
 * source, message and stack trace, each cut on a character boundary, with the real
 * server's allowance for protobuf overhead; payload details are dropped; the causes follow,
 * truncated the same way with what room is left, to a depth of 20.
 */
export function truncateFailure(
  f: IFailure,
  maxBytes: number,
  maxDepth = FAILURE_TRUNCATION_DEPTH,
): IFailure {
  let room = maxBytes;
  const trunc = (s: string | null | undefined): string => {
    const kept = truncateUtf8(s ?? '', room);
    room -= Buffer.byteLength(kept);
    if (kept !== '') room -= 4; // the field's tag and length
    return kept;
  };
  const out: IFailure = {};
  // The failure info is kept for its NonRetryable flag (and an application failure's type).
  if (f.applicationFailureInfo) {
    out.applicationFailureInfo = {
      nonRetryable: f.applicationFailureInfo.nonRetryable,
      type: trunc(f.applicationFailureInfo.type),
    };
    room -= 8;
  } else if (f.serverFailureInfo) {
    out.serverFailureInfo = { nonRetryable: f.serverFailureInfo.nonRetryable };
    room -= 4;
  }
  out.source = trunc(f.source);
  out.message = trunc(f.message);
  out.stackTrace = trunc(f.stackTrace);
  if (f.cause && room > 4 && maxDepth > 0) out.cause = truncateFailure(f.cause, room - 4, maxDepth - 1);
  return out;
}
