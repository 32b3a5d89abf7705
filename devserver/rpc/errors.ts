// gRPC status errors, shaped the way the real server answers so the SDK maps them to
// the same exceptions (e.g. ALREADY_EXISTS becomes WorkflowExecutionAlreadyStartedError).
import { status } from '@grpc/grpc-js';
import { T, encode, lookupType, packAny } from '../proto';

export { status as Code };

export class RpcError extends Error {
  constructor(
    readonly code: status,
    message: string,
    /** An errordetails.v1 message, sent in grpc-status-details-bin as the real server does. */
    readonly detail?: { typeName: string; value: object },
  ) {
    super(message);
  }

  /** google.rpc.Status bytes for the grpc-status-details-bin trailer. */
  statusDetails(): Buffer | undefined {
    if (!this.detail) return undefined;
    const any = packAny(lookupType(this.detail.typeName), this.detail.value);
    return Buffer.from(encode(T.RpcStatus, { code: this.code, message: this.message, details: [any] }));
  }
}

export const invalidArgument = (message: string): RpcError => new RpcError(status.INVALID_ARGUMENT, message);

export const notFound = (message: string): RpcError =>
  new RpcError(status.NOT_FOUND, message, {
    typeName: 'temporal.api.errordetails.v1.NotFoundFailure',
    value: {},
  });

export const workflowNotFound = (workflowId: string, runId?: string | null): RpcError =>
  notFound(`workflow execution not found: workflowId=${workflowId}${runId ? ` runId=${runId}` : ''}`);

export const namespaceNotFound = (namespace: string): RpcError =>
  new RpcError(status.NOT_FOUND, `Namespace ${namespace} is not found.`, {
    typeName: 'temporal.api.errordetails.v1.NamespaceNotFoundFailure',
    value: { namespace },
  });

export const alreadyStarted = (startRequestId: string, runId: string): RpcError =>
  new RpcError(status.ALREADY_EXISTS, 'Workflow execution is already running', {
    typeName: 'temporal.api.errordetails.v1.WorkflowExecutionAlreadyStartedFailure',
    value: { startRequestId, runId },
  });

export const alreadyCompleted = (message = 'workflow execution already completed'): RpcError =>
  notFound(message);

export function requireString(value: string | null | undefined, field: string): string {
  if (typeof value !== 'string' || value.length === 0)
    throw invalidArgument(`${field} is not set on request.`);
  return value;
}

export const MAX_ID_LENGTH = 1000;

export function requireId(value: string | null | undefined, field: string): string {
  const v = requireString(value, field);
  if (v.length > MAX_ID_LENGTH) throw invalidArgument(`${field} exceeds length limit.`);
  return v;
}
