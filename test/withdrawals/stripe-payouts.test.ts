// Withdrawals paid through Stripe Connect: the real `stripe` SDK against a
// local stand-in for the Stripe API, the withdrawal workflow on the dev server
// (retry backoff in virtual time), the ledger.
import assert from 'node:assert/strict';
import path from 'node:path';
import type { Activities } from '../../activities';
import { StripeGateway } from '../../payments/stripe';
import { createAdmin, register, type Session } from '../support/api';
import pino from 'pino';
import { reconcileBookings } from '../../bookings/reconciler';
import {
  assertAuditClean,
  earningsOf,
  eventually,
  startBookingHarness,
  type BookingHarness,
} from '../support/bookings';
import { requireTimeSkipping } from '../support/devserver';
import { historyToFile, HISTORIES_DIR } from '../support/histories';
import { startFakeStripe, type FakeStripe } from '../support/stripe';
import { adminAct, earn, withdraw, withdrawalWorkflow, withdrawOk } from '../support/withdrawals';

const RECORD = process.env.RECORD_HISTORIES === '1';

describe('withdrawals paid through Stripe Connect', () => {
  let harness: BookingHarness;
  let stripe: FakeStripe;
  let admin: Session;
  /** Withdrawals whose first payout attempt "dies" after Stripe answered (the answer is lost). */
  const crashAfterPayout = new Set<string>();

  before(async function () {
    requireTimeSkipping(this);
    stripe = await startFakeStripe();
    const gateway = new StripeGateway({
      secretKey: stripe.secretKey,
      webhookSecret: stripe.webhookSecret,
      apiUrl: stripe.url,
      // Each injected failure reaches the activity, whose retries (in virtual time) are under test.
      maxNetworkRetries: 0,
    });
    harness = await startBookingHarness(
      { ...stripe.env, PAYOUT_PROVIDER: 'stripe', WITHDRAWAL_MIN_AMOUNT: '100' },
      {
        activities: { payouts: gateway.connectPayouts() },
        wrapActivities: (activities: Activities) => ({
          ...activities,
          payOutWithdrawal: async (input) => {
            const paid = await activities.payOutWithdrawal(input);
            if (crashAfterPayout.delete(input.withdrawalId)) {
              throw new Error('worker lost after Stripe answered');
            }
            return paid;
          },
        }),
      },
    );
    admin = await createAdmin(harness.api);
  });
  after(async () => {
    await harness?.close();
  });

  async function connectedTeacher(earned: number): Promise<Session> {
    const teacher = await register(harness.api, 'teacher');
    await earn(harness.api, teacher.user.id, earned);
    const named = await harness.api.request('PUT', '/api/v1/teachers/me/stripe-account', {
      token: teacher.token,
      body: { stripeAccountId: `acct_${teacher.user.id.replaceAll('-', '').slice(0, 16)}` },
    });
    assert.equal(named.status, 200, named.text);
    return teacher;
  }

  /** Approves, waits for the workflow to end, answers the withdrawal as the API shows it. */
  async function approveAndFinish(withdrawalId: string): Promise<any> {
    const approved = await adminAct(harness.api, admin, withdrawalId, 'approve');
    assert.equal(approved.status, 200, approved.text);
    await withdrawalWorkflow(harness, withdrawalId).result();
    const view = await harness.api.request('GET', `/api/v1/withdrawals/${withdrawalId}`, {
      token: admin.token,
    });
    return view.body;
  }

  const transfersOf = (withdrawalId: string) =>
    stripe.transfers.filter((t) => t.metadata['withdrawalId'] === withdrawalId);

  it('when approved, then one Connect transfer pays the teacher’s account and the hold is posted', async () => {
    const teacher = await connectedTeacher(2_000);
    const asked = await withdrawOk(harness.api, teacher, 1_500);
    assert.equal(asked.provider, 'stripe');
    const done = await approveAndFinish(asked.id);
    const [transfer] = transfersOf(asked.id);
    assert.equal(transfersOf(asked.id).length, 1);
    assert.equal(transfer!.amount, 1_500);
    assert.equal(transfer!.currency, 'usd');
    assert.match(transfer!.destination, /^acct_/);
    assert.equal(done.status, 'completed');
    assert.equal(done.reference, transfer!.id);
    assert.deepEqual(await earningsOf(harness.api, teacher.user.id), { available: 500, held: 0, total: 500 });
    const keys = stripe.requests.filter(
      (r) => r.path === '/v1/transfers' && r.params['metadata'] !== undefined,
    );
    assert.ok(keys.some((r) => r.idempotencyKey === `withdrawal-${asked.id}-payout`));
    if (RECORD) {
      historyToFile(
        await withdrawalWorkflow(harness, asked.id).fetchHistory(),
        path.join(HISTORIES_DIR, 'withdrawal-stripe-v1.json'),
      );
    }
    await assertAuditClean(harness.api);
  });

  it('when Stripe fails for a while, then the payout is retried and pays once', async () => {
    const teacher = await connectedTeacher(1_000);
    const asked = await withdrawOk(harness.api, teacher, 1_000);
    stripe.failNext(2, 'server', { method: 'POST', path: /\/v1\/transfers/ });
    stripe.failNext(1, 'connection', { method: 'POST', path: /\/v1\/transfers/ });
    const done = await approveAndFinish(asked.id);
    assert.equal(done.status, 'completed');
    assert.equal(transfersOf(asked.id).length, 1);
    const attempts = stripe.requests.filter(
      (r) => r.path === '/v1/transfers' && r.idempotencyKey === `withdrawal-${asked.id}-payout`,
    );
    assert.ok(attempts.length >= 3, `retried: ${attempts.length} attempts`);
    assert.deepEqual(await earningsOf(harness.api, teacher.user.id), { available: 0, held: 0, total: 0 });
  });

  it('when a payout’s run is terminated while Stripe fails and nobody acts, then the reconciler starts it again after an hour and it pays once', async () => {
    const teacher = await connectedTeacher(1_000);
    const asked = await withdrawOk(harness.api, teacher, 600);
    stripe.failNext(1, 'server', { method: 'POST', path: /\/v1\/transfers/ });
    const approved = await adminAct(harness.api, admin, asked.id, 'approve');
    assert.equal(approved.status, 200, approved.text);
    const handle = withdrawalWorkflow(harness, asked.id);
    // Terminated while the payout waits out its retry backoff: no attempt in flight.
    await eventually(async () => {
      const { raw } = await handle.describe();
      const [payout] = raw.pendingActivities ?? [];
      const waiting =
        payout !== undefined && (payout.attempt ?? 0) >= 2 && (payout.lastFailure ?? null) !== null;
      return waiting && (raw.pendingWorkflowTask ?? null) === null ? true : undefined;
    }, 'the payout waiting to be tried again');
    const reconcile = () =>
      reconcileBookings({
        db: harness.api.db,
        clock: harness.clock,
        workflows: harness.api.platform.bookingWorkflows,
        withdrawals: harness.api.platform.withdrawalWorkflows,
        logger: pino({ level: 'silent' }),
      });
    const firstRun = (await handle.describe()).runId;
    await handle.terminate('support staff stopped it');

    // Within the hour nothing is started; after it, the run starts again from the row.
    await reconcile();
    assert.equal((await handle.describe()).runId, firstRun);
    await harness.api
      .db('withdrawals')
      .where({ id: asked.id })
      .update({ updated_at: new Date(harness.clock.now().getTime() - 2 * 60 * 60_000) });
    assert.ok((await reconcile()).payoutsRestarted >= 1);
    assert.notEqual((await handle.describe()).runId, firstRun);
    await withdrawalWorkflow(harness, asked.id).result();
    const done = await harness.api.request('GET', `/api/v1/withdrawals/${asked.id}`, { token: admin.token });
    assert.equal(done.body.status, 'completed');
    assert.equal(transfersOf(asked.id).length, 1);
    assert.deepEqual(await earningsOf(harness.api, teacher.user.id), { available: 400, held: 0, total: 400 });
    await assertAuditClean(harness.api);
  });

  it('when the worker dies after Stripe paid, then the retried payout finds the same transfer and nothing is paid twice', async () => {
    const teacher = await connectedTeacher(1_000);
    const asked = await withdrawOk(harness.api, teacher, 700);
    crashAfterPayout.add(asked.id);
    const done = await approveAndFinish(asked.id);
    assert.equal(crashAfterPayout.has(asked.id), false, 'the first attempt paid and died');
    assert.equal(done.status, 'completed');
    assert.equal(transfersOf(asked.id).length, 1);
    assert.equal(done.reference, transfersOf(asked.id)[0]!.id);
    assert.deepEqual(await earningsOf(harness.api, teacher.user.id), { available: 300, held: 0, total: 300 });
  });

  it('when Stripe refuses the transfer for good, then the withdrawal fails and the amount returns to the teacher, who is told why', async () => {
    const teacher = await connectedTeacher(1_000);
    const asked = await withdrawOk(harness.api, teacher, 900);
    stripe.failNext(1, 'invalid_request', { method: 'POST', path: /\/v1\/transfers/ });
    const done = await approveAndFinish(asked.id);
    assert.equal(done.status, 'failed');
    assert.ok(done.reason.length > 0);
    assert.equal(transfersOf(asked.id).length, 0);
    assert.deepEqual(await earningsOf(harness.api, teacher.user.id), {
      available: 1_000,
      held: 0,
      total: 1_000,
    });
    const told = await harness.api
      .db('notifications')
      .where({ user_id: teacher.user.id, type: 'withdrawal_failed' });
    assert.equal(told.length, 1);
    const statement = await harness.api.request('GET', '/api/v1/wallet/transactions?type=withdrawal', {
      token: teacher.token,
    });
    assert.deepEqual(
      statement.body.data.map((l: any) => [l.amount, l.status]),
      [
        [900, 'completed'],
        [-900, 'failed'],
      ],
    );
    await assertAuditClean(harness.api);
  });

  it('when a teacher has named no connected account, then the withdrawal is refused (409) and nothing is held', async () => {
    const teacher = await register(harness.api, 'teacher');
    await earn(harness.api, teacher.user.id, 1_000);
    const refused = await withdraw(harness.api, teacher, 500);
    assert.equal(refused.status, 409);
    assert.equal(refused.body.error.code, 'payout_account_missing');
    assert.deepEqual(await earningsOf(harness.api, teacher.user.id), {
      available: 1_000,
      held: 0,
      total: 1_000,
    });
  });

  it('when an admin tries to confirm a Stripe payout by hand, then it is refused (409 not_manual_payout)', async () => {
    const teacher = await connectedTeacher(1_000);
    const asked = await withdrawOk(harness.api, teacher, 400);
    stripe.failNext(1, 'invalid_request', { method: 'POST', path: /\/v1\/transfers/ });
    const manual = await adminAct(harness.api, admin, asked.id, 'complete', { reference: 'by hand' });
    assert.equal(manual.status, 409);
    assert.equal(manual.body.error.code, 'not_manual_payout');
    await approveAndFinish(asked.id);
  });
});
