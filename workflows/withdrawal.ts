// One withdrawal, from the moment its amount is held on the teacher's earnings
// until it is paid out or returned (SPEC sections 3 and 4):
//
//   pending --approve--> processing --payout--> completed   (hold posted)
//      |                     |
//      +--reject--> rejected +--payout refused--> failed     (hold voided)
//
// Admins decide through updates, validated against this workflow's own state,
// so an approve and a reject racing have exactly one winner and the other is
// refused (409 already_resolved). Admins are reminded while it waits for them.
// The bank details never enter this workflow: its input and history carry ids
// and amounts only.
import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  condition,
  proxyActivities,
  setHandler,
} from '@temporalio/workflow';
import type { WithdrawalActivities } from '../activities/withdrawals';
import { NotificationMail } from './notification-mail';
import { MONEY_MOVEMENT, PAYOUT } from './presets';
import {
  approveWithdrawalUpdate,
  PAYOUT_REFUSED,
  rejectWithdrawalUpdate,
  reportManualPayoutUpdate,
  withdrawalStateQuery,
  WithdrawalRefusal,
  type ApproveWithdrawalRequest,
  type ManualPayoutReport,
  type RejectWithdrawalRequest,
  type WithdrawalPhase,
  type WithdrawalState,
  type WithdrawalWorkflowInput,
} from './shared';

const { approveWithdrawal, rejectWithdrawal, completeWithdrawal, failWithdrawal, remindAdminsOfWithdrawal } =
  proxyActivities<WithdrawalActivities>(MONEY_MOVEMENT);
const { payOutWithdrawal } = proxyActivities<WithdrawalActivities>(PAYOUT);

const HOUR_MS = 3_600_000;
/** Reminders per wait, after which it just waits. */
const MAX_REMINDERS = 60;

export async function withdrawalWorkflow(input: WithdrawalWorkflowInput): Promise<WithdrawalState> {
  const withdrawal = new Withdrawal(input);
  await withdrawal.run();
  await withdrawal.mail.drain();
  // Updates answered with this state must get to return it before the run ends.
  await condition(allHandlersFinished);
  return withdrawal.state();
}

type Decision =
  ({ kind: 'approve' } & ApproveWithdrawalRequest) | ({ kind: 'reject' } & RejectWithdrawalRequest);

class Withdrawal {
  private phase: WithdrawalPhase = 'pending';
  private nextReminderMs: number | null = null;
  private decision: Decision | undefined;
  private report: ManualPayoutReport | undefined;
  private reference: string | null = null;
  private reason: string | null = null;
  readonly mail: NotificationMail;

  constructor(private readonly input: WithdrawalWorkflowInput) {
    if (input.resumeFrom === 'processing') this.phase = 'processing';
    this.installHandlers();
    this.mail = new NotificationMail(input.withdrawalId, true);
    this.mail.request(); // admins told of the request, recorded with it
  }

  async run(): Promise<void> {
    const { withdrawalId } = this.input;

    // 1. An admin approves or rejects (a run resumed after the approval skips this).
    if (this.phase === 'pending') {
      await this.waitForAdmins(() => this.decision !== undefined, 'decision');
      const decision = this.decision!;
      if (decision.kind === 'reject') {
        await rejectWithdrawal({ withdrawalId, adminId: decision.adminId, reason: decision.reason });
        this.end('rejected', { reason: decision.reason });
        return;
      }
      await approveWithdrawal({ withdrawalId, adminId: decision.adminId });
      this.phase = 'processing';
      this.mail.request();
    }

    // 2. The payout: through Stripe, or reported by an admin who made the bank transfer.
    if (this.input.provider === 'stripe') {
      try {
        const { reference } = await payOutWithdrawal({ withdrawalId });
        await completeWithdrawal({ withdrawalId, reference });
        this.end('completed', { reference });
      } catch (error) {
        if (!isPayoutRefusal(error)) throw error;
        const reason = error.cause.message;
        await failWithdrawal({ withdrawalId, reason });
        this.end('failed', { reason });
      }
      return;
    }
    await this.waitForAdmins(() => this.report !== undefined, 'payout_confirmation');
    const report = this.report!;
    if (report.outcome === 'completed') {
      await completeWithdrawal({ withdrawalId, reference: report.reference });
      this.end('completed', { reference: report.reference });
    } else {
      await failWithdrawal({ withdrawalId, reason: report.reason });
      this.end('failed', { reason: report.reason });
    }
  }

  state(): WithdrawalState {
    return {
      phase: this.phase,
      nextReminder: this.nextReminderMs === null ? null : new Date(this.nextReminderMs).toISOString(),
      reference: this.reference,
      reason: this.reason,
    };
  }

  private end(phase: WithdrawalPhase, facts: { reference?: string; reason?: string }): void {
    this.phase = phase;
    this.reference = facts.reference ?? null;
    this.reason = facts.reason ?? null;
    this.mail.request();
  }

  /** Waits for `done`, reminding admins every `reminderHours` meanwhile. */
  private async waitForAdmins(
    done: () => boolean,
    waitingFor: 'decision' | 'payout_confirmation',
  ): Promise<void> {
    for (let reminder = 1; reminder <= MAX_REMINDERS && !done(); reminder++) {
      this.nextReminderMs = Date.now() + this.input.reminderHours * HOUR_MS;
      if (await condition(done, this.input.reminderHours * HOUR_MS, { summary: `reminder ${reminder}` }))
        break;
      await remindAdminsOfWithdrawal({ withdrawalId: this.input.withdrawalId, reminder, waitingFor });
      this.mail.request();
    }
    this.nextReminderMs = null;
    await condition(done);
  }

  private installHandlers(): void {
    setHandler(withdrawalStateQuery, () => this.state());

    const decide = async (decision: Decision): Promise<WithdrawalState> => {
      this.decision = decision;
      // Answered once the decision's step has run (processing, or rejected with the money back).
      await condition(() => this.phase !== 'pending');
      return this.state();
    };
    const refuseSecondDecision = (_request: unknown) => {
      if (this.decision === undefined && this.phase !== 'pending') {
        throw ApplicationFailure.nonRetryable(
          'this withdrawal was already approved',
          WithdrawalRefusal.alreadyResolved,
        );
      }
      if (this.decision !== undefined) {
        throw ApplicationFailure.nonRetryable(
          `this withdrawal was already ${this.decision.kind === 'approve' ? 'approved' : 'rejected'}`,
          WithdrawalRefusal.alreadyResolved,
        );
      }
    };
    setHandler(
      approveWithdrawalUpdate,
      (request: ApproveWithdrawalRequest) => decide({ kind: 'approve', ...request }),
      { validator: refuseSecondDecision },
    );
    setHandler(
      rejectWithdrawalUpdate,
      (request: RejectWithdrawalRequest) => decide({ kind: 'reject', ...request }),
      { validator: refuseSecondDecision },
    );

    setHandler(
      reportManualPayoutUpdate,
      async (report) => {
        this.report = report;
        await condition(() => this.phase === 'completed' || this.phase === 'failed');
        return this.state();
      },
      {
        validator: (_report: ManualPayoutReport) => {
          if (this.input.provider !== 'manual') {
            throw ApplicationFailure.nonRetryable(
              'this withdrawal is paid out through Stripe, not by an admin',
              WithdrawalRefusal.notManualPayout,
            );
          }
          if (this.report !== undefined || this.phase === 'completed' || this.phase === 'failed') {
            throw ApplicationFailure.nonRetryable(
              'this payout was already reported',
              WithdrawalRefusal.alreadyResolved,
            );
          }
          if (this.phase !== 'processing') {
            throw ApplicationFailure.nonRetryable(
              `the withdrawal is ${this.phase}: only an approved one is paid out`,
              WithdrawalRefusal.notProcessing,
            );
          }
        },
      },
    );
  }
}

function isPayoutRefusal(error: unknown): error is ActivityFailure & { cause: ApplicationFailure } {
  return (
    error instanceof ActivityFailure &&
    error.cause instanceof ApplicationFailure &&
    error.cause.type === PAYOUT_REFUSED
  );
}
