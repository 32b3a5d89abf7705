// The withdrawal workflows as the services see them: start one (idempotently)
// and carry admins' decisions to it as updates (see temporal-client/updates.ts
// for deadlines and refusals).
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy, type Client } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { executeUpdate } from '../temporal-client/updates';
import type { withdrawalWorkflow } from '../workflows/withdrawal';
import {
  approveWithdrawalUpdate,
  BookingSearchAttributes,
  rejectWithdrawalUpdate,
  reportManualPayoutUpdate,
  WITHDRAWAL_WORKFLOW_TYPE,
  withdrawalWorkflowId,
  type ApproveWithdrawalRequest,
  type ManualPayoutReport,
  type RejectWithdrawalRequest,
  type WithdrawalState,
  type WithdrawalWorkflowInput,
} from '../workflows/shared';
import type { WithdrawalRow } from './repository';

/** How long starting a workflow may take before the caller gives up (the reconciler will not). */
const START_DEADLINE_MS = 5_000;
/** Admins are reminded daily of a withdrawal waiting for them. */
export const WITHDRAWAL_REMINDER_HOURS = 24;

/** Everything the workflow needs, from the row alone (so anyone can start it, the same way). */
export function withdrawalInputOf(row: WithdrawalRow): WithdrawalWorkflowInput {
  return {
    withdrawalId: row.id,
    teacherId: row.teacher_id,
    amount: row.amount,
    provider: row.provider,
    reminderHours: WITHDRAWAL_REMINDER_HOURS,
    ...(row.status === 'processing' ? { resumeFrom: 'processing' as const } : {}),
  };
}

export class WithdrawalWorkflows {
  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
  ) {}

  /** Starts the withdrawal's workflow; one already started (or finished) under its id is fine. */
  async start(row: WithdrawalRow): Promise<void> {
    try {
      await this.client.connection.withDeadline(Date.now() + START_DEADLINE_MS, () =>
        this.client.workflow.start<typeof withdrawalWorkflow>(WITHDRAWAL_WORKFLOW_TYPE, {
          workflowId: withdrawalWorkflowId(row.id),
          taskQueue: this.taskQueue,
          args: [withdrawalInputOf(row)],
          // One run at a time. A run that completed is never started again (the withdrawal is
          // final); one that failed or was terminated is, from the row, so its money is not held for ever.
          workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
          workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
          typedSearchAttributes: [{ key: BookingSearchAttributes.teacherId, value: row.teacher_id }],
          staticSummary: `Withdrawal ${row.id}`,
        }),
      );
    } catch (error) {
      if (error instanceof WorkflowExecutionAlreadyStartedError) return;
      throw error;
    }
  }

  approve(withdrawalId: string, request: ApproveWithdrawalRequest): Promise<WithdrawalState> {
    return this.update(withdrawalId, (handle) =>
      handle.executeUpdate(approveWithdrawalUpdate, { args: [request] }),
    );
  }

  reject(withdrawalId: string, request: RejectWithdrawalRequest): Promise<WithdrawalState> {
    return this.update(withdrawalId, (handle) =>
      handle.executeUpdate(rejectWithdrawalUpdate, { args: [request] }),
    );
  }

  reportManualPayout(withdrawalId: string, report: ManualPayoutReport): Promise<WithdrawalState> {
    return this.update(withdrawalId, (handle) =>
      handle.executeUpdate(reportManualPayoutUpdate, { args: [report] }),
    );
  }

  private update<T>(
    withdrawalId: string,
    call: (handle: ReturnType<Client['workflow']['getHandle']>) => Promise<T>,
  ): Promise<T> {
    return executeUpdate(this.client, withdrawalWorkflowId(withdrawalId), call, 'withdrawal');
  }
}
