// Binds protobufjs service descriptions to a grpc-js server. Every method of a service
// is registered; those without a handler answer UNIMPLEMENTED, like a server that does
// not support them, instead of leaving the client to time out.
import * as grpc from '@grpc/grpc-js';
import type * as protobuf from 'protobufjs';
import { decode, encode, lookupService, nestingExceeds, isNestingError, MAX_REQUEST_NESTING } from '../proto';
import { RpcError } from './errors';
import type { Logger } from '../logger';

export interface CallContext {
  /** Absolute deadline (ms since epoch, real clock) the client gave, or Infinity. */
  deadlineMs: number;
  cancelled(): boolean;
  /** Runs cb once if the client goes away before the answer; returns an unsubscribe. */
  onCancel(cb: () => void): () => void;
}

export type Handler = (req: never, ctx: CallContext) => Promise<object>;
export type Handlers = Record<string, Handler>;

class DecodeFailure {
  constructor(readonly message: string) {}
}

const TOO_DEEP =
  `request nests messages more than ${MAX_REQUEST_NESTING} levels deep ` +
  '(for example a failure with a very long cause chain); the dev server refuses it';

/**
 * Decodes a request, refusing one nested beyond MAX_REQUEST_NESTING: it could be decoded,
 * but the history events and responses built from it would nest deeper than protobufjs
 * (and the SDKs) can encode or decode, so the run would become unreadable.
 */
function decodeRequest(type: protobuf.Type, buf: Buffer): unknown {
  try {
    const req = decode<object>(type, buf);
    return nestingExceeds(req, MAX_REQUEST_NESTING) ? new DecodeFailure(TOO_DEEP) : req;
  } catch (err) {
    if (isNestingError(err)) return new DecodeFailure(TOO_DEEP);
    return new DecodeFailure(`malformed request: ${(err as Error).message}`);
  }
}

export function addService(server: grpc.Server, serviceName: string, handlers: Handlers, log: Logger): void {
  const service = lookupService(serviceName);
  const definition: Record<string, grpc.MethodDefinition<unknown, object>> = {};
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const method of Object.values(service.methods)) {
    method.resolve();
    const reqType = method.resolvedRequestType as protobuf.Type;
    const resType = method.resolvedResponseType as protobuf.Type;
    definition[method.name] = {
      path: `/${serviceName}/${method.name}`,
      requestStream: false,
      responseStream: false,
      requestSerialize: (obj: unknown) => Buffer.from(encode(reqType, obj as object)),
      // A malformed body must become INVALID_ARGUMENT from the handler, not a crash.
      requestDeserialize: (buf: Buffer): unknown => decodeRequest(reqType, buf),
      // Responses are built as plain objects of the right shapes, so they encode without fromObject.
      responseSerialize: (obj: object) => Buffer.from(encode(resType, obj)),
      responseDeserialize: (buf: Buffer) => decode(resType, buf),
    };
    const handler = Object.hasOwn(handlers, method.name) ? handlers[method.name] : undefined;
    // Every call is logged at debug level, those that fail with their status, so a user
    // looking for why a feature fails sees the call (an unserved method included).
    const fail = (callback: grpc.sendUnaryData<object>, error: Partial<grpc.StatusObject>): void => {
      log.debug(`<- ${method.name} ${grpc.status[error.code!]}: ${error.details}`);
      callback(error);
    };
    implementation[method.name] = (
      call: grpc.ServerUnaryCall<unknown, object>,
      callback: grpc.sendUnaryData<object>,
    ) => {
      log.debug(`-> ${method.name}`);
      if (!handler) {
        fail(callback, {
          code: grpc.status.UNIMPLEMENTED,
          details: `${method.name} is not implemented by the dev server`,
        });
        return;
      }
      if (call.request instanceof DecodeFailure) {
        fail(callback, { code: grpc.status.INVALID_ARGUMENT, details: call.request.message });
        return;
      }
      const ctx = makeContext(call);
      handler(call.request as never, ctx).then(
        (res) => {
          log.debug(`<- ${method.name}`);
          callback(null, res);
        },
        (err: unknown) => {
          if (err instanceof RpcError) {
            const metadata = new grpc.Metadata();
            const details = err.statusDetails();
            if (details) metadata.set('grpc-status-details-bin', details);
            fail(callback, { code: err.code, details: err.message, metadata });
          } else if (isNestingError(err)) {
            // Whatever nests too deeply came from the request (decoding already bounds it).
            log.warn(`${method.name}: input nested too deeply`, err);
            fail(callback, {
              code: grpc.status.INVALID_ARGUMENT,
              details: `request is nested too deeply to process: ${(err as Error).message}`,
            });
          } else {
            log.error(`${method.name} failed`, err);
            fail(callback, { code: grpc.status.INTERNAL, details: (err as Error)?.message ?? String(err) });
          }
        },
      );
    };
  }
  server.addService(definition, implementation);
}

function makeContext(call: grpc.ServerUnaryCall<unknown, object>): CallContext {
  const deadline = call.getDeadline();
  const deadlineMs =
    deadline instanceof Date ? deadline.getTime() : typeof deadline === 'number' ? deadline : Infinity;
  let cancelled = false;
  const listeners = new Set<() => void>();
  call.on('cancelled', () => {
    cancelled = true;
    for (const cb of listeners) cb();
    listeners.clear();
  });
  return {
    deadlineMs: Number.isFinite(deadlineMs) ? deadlineMs : Infinity,
    cancelled: () => cancelled,
    onCancel(cb) {
      if (cancelled) {
        cb();
        return () => undefined;
      }
      listeners.add(cb);
      return () => listeners.delete(cb);
    },
  };
}

/**
 * The Rust core in SDK workers gzips every request unless the server says it cannot
 * decompress, in which case it reconnects uncompressed (sdk-core's Connection::connect).
 * On loopback compression only burns CPU on both sides (it was a sixth of the server's
 * time in the benchmark), so the capability probe, GetSystemInfo, turns gzip away.
 * Every other call still accepts gzip, so clients that insist keep working.
 */
export const declineGzipOnProbe: grpc.ServerInterceptor = (method, call) => {
  const encoding = (call as unknown as { incomingEncoding?: string }).incomingEncoding;
  if (!method.path.endsWith('/GetSystemInfo') || encoding !== 'gzip')
    return new grpc.ServerInterceptingCall(call);
  const decline = (): void =>
    call.sendStatus({
      code: grpc.status.UNIMPLEMENTED,
      details: 'grpc-encoding gzip: no decompressor for the capability probe, send uncompressed',
      metadata: new grpc.Metadata(),
    });
  return new grpc.ServerInterceptingCall(call, {
    start: (next) => {
      next({
        onReceiveMetadata: (_metadata, _next) => undefined,
        onReceiveMessage: (_message, _next) => decline(),
        onReceiveHalfClose: (_next) => undefined,
        onCancel: () => undefined,
      });
      decline();
    },
  });
};
