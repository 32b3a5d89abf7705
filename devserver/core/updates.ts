/* eslint-disable @typescript-eslint/no-unsafe-enum-comparison -- enums arrive from the wire, and are stored in state, as plain numbers */
// Workflow updates through the protocol-message flow: an admitted update is delivered
// to the worker as a Request message with the next workflow task; the worker answers
// with Acceptance/Rejection and Response messages (placed among its commands), which
// become WorkflowExecutionUpdateAccepted/Completed events. A rejection leaves no trace in
// history, as on the real server. Callers wait for the stage they asked for.
import type { Engine } from './engine';
import type { Execution } from './execution';
import {
  EventType,
  T,
  toB64,
  fromB64,
  packAny,
  unpackAny,
  lookupType,
  temporal,
  type IMessage,
} from '../proto';
import { ensureWorkflowTask } from './workflow-tasks';
import { startWorkflow, type StartInput } from './lifecycle';
import { invalidArgument, notFound, RpcError, Code, MAX_ID_LENGTH } from '../rpc/errors';
import type { CallContext } from '../rpc/grpc-server';
import type * as protobuf from 'protobufjs';

type UpdateRequest = temporal.api.update.v1.IRequest;
type Outcome = temporal.api.update.v1.IOutcome;
const Stage = temporal.api.enums.v1.UpdateWorkflowExecutionLifecycleStage;

// Bounds the rejected outcomes remembered per run for callers still waiting on them.
const MAX_REJECTED_REMEMBERED = 100;
// The real server's defaults (history.maxInFlightUpdates, history.maxTotalUpdates): a run
// holds every update it accepted, so without a bound one caller could grow it forever.
export const MAX_IN_FLIGHT_UPDATES = 10;
export const MAX_TOTAL_UPDATES = 2000;

/** The checks the real frontend makes on an update request before anything is applied. */
export function validateUpdateRequest(request: UpdateRequest | null | undefined): void {
  if (!request?.meta) throw invalidArgument('Update meta is not set on request.');
  const id = request.meta.updateId;
  if (!id) throw invalidArgument('Update id is not set on request.');
  if (id.length > MAX_ID_LENGTH) throw invalidArgument('UpdateId length exceeds limit.');
  if (!request.input) throw invalidArgument('Update input is not set on request.');
  if (!request.input.name) throw invalidArgument('Update name is not set on request.');
}

export function admitUpdate(engine: Engine, exec: Execution, request: UpdateRequest): void {
  validateUpdateRequest(request);
  const id = request.meta!.updateId!;
  if (exec.s.updates[id]) return;
  checkUpdateLimits(exec);
  exec.rejectedUpdates.delete(id);
  exec.s.updates[id] = {
    id,
    phase: 'admitted',
    request: toB64(T.UpdateRequest, request)!,
    acceptedEventId: 0,
    outcome: null,
  };
  ensureWorkflowTask(engine, exec);
  engine.touch(exec);
}

/** Refuses a new update as the real server's update registry does, before anything changes. */
function checkUpdateLimits(exec: Execution): void {
  const updates = Object.values(exec.s.updates);
  const inFlight = updates.filter((u) => u.phase !== 'completed').length;
  if (inFlight >= MAX_IN_FLIGHT_UPDATES) {
    throw new RpcError(
      Code.RESOURCE_EXHAUSTED,
      `limit on number of concurrent in-flight updates has been reached (${MAX_IN_FLIGHT_UPDATES})`,
      {
        typeName: 'temporal.api.errordetails.v1.ResourceExhaustedFailure',
        value: {
          cause: temporal.api.enums.v1.ResourceExhaustedCause.RESOURCE_EXHAUSTED_CAUSE_CONCURRENT_LIMIT,
        },
      },
    );
  }
  if (updates.length >= MAX_TOTAL_UPDATES) {
    throw new RpcError(
      Code.FAILED_PRECONDITION,
      `limit on number of total updates has been reached (${MAX_TOTAL_UPDATES})`,
    );
  }
}

export function hasAdmittedUpdates(exec: Execution): boolean {
  return Object.values(exec.s.updates).some((u) => u.phase === 'admitted');
}

/** Request messages for the workflow task being dispatched. */
export function updateMessagesFor(engine: Engine, exec: Execution): IMessage[] | undefined {
  const wft = exec.s.wft!;
  const messages: IMessage[] = [];
  for (const u of Object.values(exec.s.updates)) {
    if (u.phase !== 'admitted') continue;
    u.phase = 'sent';
    wft.sentUpdates.push(u.id);
    const request = fromB64<UpdateRequest>(T.UpdateRequest, u.request)!;
    messages.push({
      id: `${u.id}/request`,
      protocolInstanceId: u.id,
      eventId: wft.startedEventId - 1,
      body: packAny(T.UpdateRequest, request),
    });
  }
  void engine;
  return messages.length > 0 ? messages : undefined;
}

const UPDATE_MESSAGE_TYPES: [string, protobuf.Type][] = [
  ['temporal.api.update.v1.Acceptance', T.UpdateAcceptance],
  ['temporal.api.update.v1.Rejection', T.UpdateRejection],
  ['temporal.api.update.v1.Response', T.UpdateResponse],
];

/**
 * The failure for a completion whose protocol messages the server cannot read (a body
 * that does not decode as its type), found before anything of the completion is applied.
 */
export function invalidUpdateMessage(messages: IMessage[]): { cause: number; message: string } | undefined {
  for (const m of messages) {
    const typeUrl = m.body?.type_url ?? '';
    const type = UPDATE_MESSAGE_TYPES.find(([name]) => typeUrl.endsWith(name))?.[1];
    if (!type) continue;
    try {
      unpackAny(type, m.body);
    } catch {
      return {
        cause:
          temporal.api.enums.v1.WorkflowTaskFailedCause
            .WORKFLOW_TASK_FAILED_CAUSE_BAD_UPDATE_WORKFLOW_EXECUTION_MESSAGE,
        message: `message ${m.id ?? ''} of update ${m.protocolInstanceId ?? ''}: body is not a valid ${typeUrl}`,
      };
    }
  }
  return undefined;
}

export function returnSentUpdates(exec: Execution, ids: string[]): void {
  for (const id of ids) {
    const u = exec.s.updates[id];
    if (u?.phase === 'sent') u.phase = 'admitted';
  }
}

export function handleUpdateMessage(
  engine: Engine,
  exec: Execution,
  m: IMessage,
  _completedEventId: number,
  identity: string,
): void {
  const id = m.protocolInstanceId ?? '';
  const u = exec.s.updates[id];
  const typeUrl = m.body?.type_url ?? '';
  if (!u) return;
  const now = engine.now();
  if (typeUrl.endsWith('temporal.api.update.v1.Acceptance')) {
    const acc = unpackAny<temporal.api.update.v1.IAcceptance>(T.UpdateAcceptance, m.body);
    const ev = exec.append(
      EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
      {
        protocolInstanceId: id,
        acceptedRequestMessageId: acc?.acceptedRequestMessageId ?? `${id}/request`,
        acceptedRequestSequencingEventId: acc?.acceptedRequestSequencingEventId ?? undefined,
        acceptedRequest: acc?.acceptedRequest ?? fromB64(T.UpdateRequest, u.request),
      },
      now,
    );
    u.phase = 'accepted';
    u.acceptedEventId = ev.eventId!;
  } else if (typeUrl.endsWith('temporal.api.update.v1.Rejection')) {
    const rej = unpackAny<temporal.api.update.v1.IRejection>(T.UpdateRejection, m.body);
    delete exec.s.updates[id];
    const outcome: Outcome = { failure: rej?.failure ?? { message: 'update rejected' } };
    exec.rejectedUpdates.set(id, encodeOutcome(outcome));
    if (exec.rejectedUpdates.size > MAX_REJECTED_REMEMBERED) {
      exec.rejectedUpdates.delete(exec.rejectedUpdates.keys().next().value!);
    }
  } else if (typeUrl.endsWith('temporal.api.update.v1.Response')) {
    const res = unpackAny<temporal.api.update.v1.IResponse>(T.UpdateResponse, m.body);
    const outcome = res?.outcome ?? {};
    exec.append(
      EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED,
      { meta: { updateId: id, identity }, acceptedEventId: u.acceptedEventId, outcome },
      now,
    );
    u.phase = 'completed';
    u.outcome = Buffer.from(encodeOutcome(outcome)).toString('base64');
  }
}

function encodeOutcome(o: Outcome): Uint8Array {
  return T.Outcome.encode(o).finish();
}

function decodeOutcome(b: Uint8Array): Outcome {
  return T.Outcome.toObject(T.Outcome.decode(b), { longs: Number, enums: Number });
}

/** Wakes update callers so they notice the run closed. */
export function failUpdateWaiters(exec: Execution): void {
  exec.notify();
}

/** True when the run holds the update's outcome (accepted and completed; rejections leave none). */
export function hasCompletedUpdate(exec: Execution, id: string): boolean {
  return exec.s.updates[id]?.phase === 'completed';
}

/**
 * Update-with-start on the real server (history/api/multioperation): an update already
 * completed in the current run is answered from there; a running current run takes the
 * update when the start is a retry of the one that created it, the update is already known
 * to it, or the conflict policy is USE_EXISTING; otherwise the start runs under its
 * policies and the new run gets the update with its first workflow task. Both operations
 * must have been validated: a start refused here (already running, reuse policy) throws
 * before anything changed.
 */
export function updateWithStart(
  engine: Engine,
  start: StartInput,
  request: UpdateRequest,
): { exec: Execution; started: boolean } {
  const id = request.meta!.updateId!;
  const current = engine.currentRun(start.namespace, start.workflowId);
  if (current && hasCompletedUpdate(current, id)) return { exec: current, started: false };
  if (
    current?.running &&
    ((start.requestId && current.s.startRequestId === start.requestId) ||
      current.s.updates[id] ||
      start.conflictPolicy ===
        temporal.api.enums.v1.WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING)
  ) {
    admitUpdate(engine, current, request);
    return { exec: current, started: false };
  }
  const { exec, started } = startWorkflow(engine, start);
  if (!exec.running) {
    // The start was answered as a retry of the one that created this closed run (the real
    // server's StartDeduped): no run can take the update, and the real server answers so.
    throw new RpcError(Code.UNAVAILABLE, 'Workflow was not started: the start request was deduplicated');
  }
  admitUpdate(engine, exec, request);
  return { exec, started };
}

/** A multi-operation status saying the operation did not run because another one failed. */
export function multiOperationAborted(): RpcError {
  return new RpcError(Code.ABORTED, 'Operation was aborted.', {
    typeName: 'temporal.api.failure.v1.MultiOperationExecutionAborted',
    value: {},
  });
}

function isAborted(err: RpcError | null): boolean {
  return err?.detail?.typeName === 'temporal.api.failure.v1.MultiOperationExecutionAborted';
}

/**
 * serviceerror.MultiOperationExecution: one status per operation in request order (the
 * failed one with its own code and details, the others Aborted, a succeeded one OK); the
 * call's code is that of the first operation that really failed.
 */
export function multiOperationError(errors: unknown[], message?: string): RpcError {
  const statuses = errors.map((e) => (e === null || e === undefined ? null : asRpcError(e)));
  const first = statuses.find((e) => e && !isAborted(e));
  const which = statuses[0] && !isAborted(statuses[0]) ? 'Start' : 'Update';
  message ??= `MultiOperation could not be executed: ${first ? `${which} failed: ${first.message}` : 'Reason unknown'}`;
  return new RpcError(first?.code ?? Code.ABORTED, message, {
    typeName: 'temporal.api.errordetails.v1.MultiOperationExecutionFailure',
    value: {
      statuses: statuses.map((e) => ({
        code: e?.code ?? Code.OK,
        message: e?.message ?? '',
        details: e?.detail ? [packAny(lookupType(e.detail.typeName), e.detail.value)] : [],
      })),
    },
  });
}

function asRpcError(err: unknown): RpcError {
  if (err instanceof RpcError) return err;
  return new RpcError(Code.INTERNAL, err instanceof Error ? err.message : String(err));
}

interface UpdateStatus {
  stage: number;
  outcome?: Outcome;
}

function statusOf(exec: Execution, id: string): UpdateStatus | undefined {
  const rejected = exec.rejectedUpdates.get(id);
  if (rejected)
    return {
      stage: Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED,
      outcome: decodeOutcome(rejected),
    };
  const u = exec.s.updates[id];
  if (!u) return undefined;
  if (u.phase === 'completed') {
    return {
      stage: Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED,
      outcome: decodeOutcome(Buffer.from(u.outcome!, 'base64')),
    };
  }
  if (u.phase === 'accepted') return { stage: Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED };
  return { stage: Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED };
}

/**
 * Waits until the update reaches `wanted` (or completes), the long poll expires (the
 * caller then polls again with PollWorkflowExecutionUpdate), or the run closes.
 */
export async function waitForUpdate(
  engine: Engine,
  exec: Execution,
  id: string,
  wanted: number,
  ctx: CallContext,
): Promise<temporal.api.workflowservice.v1.IUpdateWorkflowExecutionResponse> {
  const target = wanted || Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED;
  const giveUpAt = Math.min(Date.now() + engine.longPollMs, ctx.deadlineMs - 500);
  const ref = { workflowExecution: { workflowId: exec.s.workflowId, runId: exec.s.runId }, updateId: id };
  for (;;) {
    const st = statusOf(exec, id);
    if (!st) throw notFound(`update ${id} not found`);
    const reached =
      st.stage >= target || st.stage === Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED;
    if (reached) return { updateRef: ref, outcome: st.outcome as never, stage: st.stage };
    if (!exec.running) throw new RpcError(Code.NOT_FOUND, 'workflow execution already completed');
    if (Date.now() >= giveUpAt || ctx.cancelled() || engine.isClosed)
      return { updateRef: ref, stage: st.stage };
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        exec.listeners.delete(done);
        unsubscribe();
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, giveUpAt - Date.now()));
      const unsubscribe = ctx.onCancel(done);
      exec.listeners.add(done);
    });
  }
}
