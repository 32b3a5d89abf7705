// Withdrawals under test: earnings seeded as class earnings are credited, the
// API calls of a teacher and an admin, and the workflow's state.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { systemAccountId, userAccountId } from '../../ledger/accounts';
import { createTransfers } from '../../ledger/transfers';
import {
  withdrawalStateQuery,
  withdrawalWorkflowId,
  type WithdrawalPhase,
  type WithdrawalState,
} from '../../workflows/shared';
import type { ApiResponse, Session, TestApi } from './api';
import { eventually, type BookingHarness } from './bookings';
import { TEST_CURRENCY } from './db';

export const IBAN = 'DE89 3704 0044 0532 0130 00';
export const BANK_ACCOUNT = { holderName: 'Ada Teacher', iban: IBAN, bankName: 'Test Bank' };

/** Credits `amount` to the teacher's earnings as a class's teacher share does. */
export async function earn(api: TestApi, teacherId: string, amount: number): Promise<void> {
  const result = await createTransfers(api.db, [
    {
      id: randomUUID(),
      kind: 'posted',
      debitAccountId: systemAccountId('escrow', TEST_CURRENCY),
      creditAccountId: userAccountId(teacherId, 'earnings'),
      amount,
      code: 'teacher_share',
      reference: { type: 'booking', id: randomUUID() },
      description: 'Class earnings',
    },
  ]);
  assert.equal(result.status, 'created');
}

export function withdraw(
  api: TestApi,
  teacher: Session,
  amount: number,
  options: { headers?: Record<string, string>; bankAccount?: Record<string, unknown> } = {},
): Promise<ApiResponse> {
  return api.request('POST', '/api/v1/withdrawals', {
    token: teacher.token,
    body: { amount, bankAccount: options.bankAccount ?? BANK_ACCOUNT },
    ...(options.headers === undefined ? {} : { headers: options.headers }),
  });
}

export async function withdrawOk(api: TestApi, teacher: Session, amount: number): Promise<any> {
  const response = await withdraw(api, teacher, amount);
  assert.equal(response.status, 201, response.text);
  return response.body;
}

export function adminAct(
  api: TestApi,
  admin: Session,
  withdrawalId: string,
  action: 'approve' | 'reject' | 'complete' | 'fail',
  body: Record<string, unknown> = {},
): Promise<ApiResponse> {
  return api.request('POST', `/api/v1/admin/withdrawals/${withdrawalId}/${action}`, {
    token: admin.token,
    body,
  });
}

export function withdrawalWorkflow(harness: BookingHarness, withdrawalId: string) {
  return harness.env.client.workflow.getHandle(withdrawalWorkflowId(withdrawalId));
}

export async function untilWithdrawalPhase(
  harness: BookingHarness,
  withdrawalId: string,
  phase: WithdrawalPhase,
): Promise<WithdrawalState> {
  return eventually(async () => {
    const state = await withdrawalWorkflow(harness, withdrawalId).query(withdrawalStateQuery);
    return state.phase === phase ? state : undefined;
  }, `withdrawal ${withdrawalId} in phase ${phase}`);
}
