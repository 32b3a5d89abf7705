// The Stripe gateway (payments/stripe.ts) on the real SDK against the local
// stand-in for the Stripe API: the Connect payout is made once per
// withdrawal, and failures are told apart (permanent or worth retrying).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import Stripe from 'stripe';
import {
  classifyStripeError,
  isPermanentStripeError,
  StripeGateway,
  stripeEndpoint,
  StripeNotConfiguredError,
} from '../../payments/stripe';
import { startFakeStripe, type FakeStripe } from '../support/stripe';

/** Where a call's failure is caught, for classifying it. */
async function failureOf(call: () => Promise<unknown>): Promise<unknown> {
  try {
    await call();
  } catch (error) {
    return error;
  }
  assert.fail('the call succeeded');
}

describe('Stripe gateway', () => {
  let stripe: FakeStripe;
  /** No retries of the SDK's own: each injected failure reaches the caller. */
  let gateway: StripeGateway;

  before(async () => {
    stripe = await startFakeStripe();
    gateway = new StripeGateway({
      secretKey: stripe.secretKey,
      webhookSecret: stripe.webhookSecret,
      apiUrl: stripe.url,
      maxNetworkRetries: 0,
    });
  });

  const payout = (withdrawalId: string, amount = 4_200) => ({
    withdrawalId,
    amount,
    currency: 'usd',
    destination: 'acct_1TeacherConnected',
  });

  it('when a withdrawal is paid out twice (a retried activity), then Stripe makes one transfer and both calls answer it', async () => {
    const withdrawalId = randomUUID();
    const before = stripe.transfers.length;

    const first = await gateway.createConnectTransfer(payout(withdrawalId));
    const second = await gateway.createConnectTransfer(payout(withdrawalId));

    assert.equal(second.transferId, first.transferId);
    assert.match(first.transferId, /^tr_/);
    assert.equal(stripe.transfers.length, before + 1);
    const made = stripe.transfers.at(-1)!;
    assert.deepEqual(
      [made.amount, made.currency, made.destination, made.metadata],
      [4_200, 'usd', 'acct_1TeacherConnected', { withdrawalId }],
    );
    const keys = stripe.requests.filter((r) => r.path === '/v1/transfers').map((r) => r.idempotencyKey);
    assert.ok(keys.includes(`withdrawal-${withdrawalId}-payout`), JSON.stringify(keys));
  });

  it('when two withdrawals are paid out, then two transfers are made', async () => {
    const before = stripe.transfers.length;
    const a = await gateway.createConnectTransfer(payout(randomUUID(), 100));
    const b = await gateway.createConnectTransfer(payout(randomUUID(), 200));
    assert.notEqual(a.transferId, b.transferId);
    assert.equal(stripe.transfers.length, before + 2);
  });

  it('when Stripe answers 500, 429 or 409, or the connection drops, then the failure is transient, and the retry makes the one transfer', async () => {
    const withdrawalId = randomUUID();
    const before = stripe.transfers.length;
    for (const kind of ['server', 'rate_limit', 'lock'] as const) {
      stripe.failNext(1, kind, { path: /^\/v1\/transfers$/ });
      const error = await failureOf(() => gateway.createConnectTransfer(payout(withdrawalId)));
      assert.equal(classifyStripeError(error), 'transient', `${kind}: ${String(error)}`);
      assert.equal(isPermanentStripeError(error), false);
    }
    // The SDK tries a dropped connection once more on its own, whatever its retry setting.
    stripe.failNext(2, 'connection', { path: /^\/v1\/transfers$/ });
    const dropped = await failureOf(() => gateway.createConnectTransfer(payout(withdrawalId)));
    assert.ok(dropped instanceof Stripe.errors.StripeConnectionError, String(dropped));
    assert.equal(isPermanentStripeError(dropped), false);
    assert.equal(stripe.transfers.length, before, 'no transfer while it failed');

    await gateway.createConnectTransfer(payout(withdrawalId));
    await gateway.createConnectTransfer(payout(withdrawalId));
    assert.equal(stripe.transfers.length, before + 1);
  });

  it('when Stripe refuses the request (invalid, unknown destination, bad key, then the failure is permanent; a withdrawal asked again answers its one transfer', async () => {
    stripe.failNext(1, 'invalid_request', { method: 'POST', path: /^\/v1\/transfers$/ });
    const invalid = await failureOf(() => gateway.createConnectTransfer(payout(randomUUID())));
    assert.ok(invalid instanceof Stripe.errors.StripeInvalidRequestError, String(invalid));

    const noSuchAccount = await failureOf(() =>
      gateway.createConnectTransfer({ ...payout(randomUUID()), destination: 'not-an-account' }),
    );
    const badKey = await failureOf(() =>
      new StripeGateway({
        secretKey: 'sk_test_wrong',
        webhookSecret: undefined,
        apiUrl: stripe.url,
        maxNetworkRetries: 0,
      }).createConnectTransfer(payout(randomUUID())),
    );
    const withdrawalId = randomUUID();
    const first = await gateway.createConnectTransfer(payout(withdrawalId, 500));
    // The withdrawal's transfer is found by its group before anything is created: never a second one.
    const again = await gateway.createConnectTransfer(payout(withdrawalId, 600));
    assert.equal(again.transferId, first.transferId);

    for (const error of [invalid, noSuchAccount, badKey]) {
      assert.equal(isPermanentStripeError(error), true, String(error));
    }
  });

  it("when payouts go through connectPayouts (the withdrawal activities' shape), then one transfer per withdrawal; Stripe's refusals read permanent, our own credentials failing do not", async () => {
    const payouts = gateway.connectPayouts();
    const withdrawalId = randomUUID();
    const before = stripe.transfers.length;

    const first = await payouts.transfer(payout(withdrawalId));
    const again = await payouts.transfer(payout(withdrawalId));
    const refused = await failureOf(() => payouts.transfer({ ...payout(randomUUID()), destination: 'nope' }));
    const unconfigured = await failureOf(() =>
      new StripeGateway({ secretKey: undefined, webhookSecret: undefined })
        .connectPayouts()
        .transfer(payout(randomUUID())),
    );

    assert.equal(again.transferId, first.transferId);
    assert.equal(stripe.transfers.length, before + 1);
    assert.equal(payouts.isPermanentFailure(refused), true);
    // Returning the money on these could pay twice (an earlier attempt may have paid): retried instead.
    assert.equal(payouts.isPermanentFailure(unconfigured), false);
    assert.equal(
      payouts.isPermanentFailure(
        Stripe.errors.StripeError.generate({ type: 'authentication_error', message: 'key rotated' }),
      ),
      false,
    );
    assert.equal(
      payouts.isPermanentFailure(new Stripe.errors.StripeConnectionError({ message: 'x' })),
      false,
    );
  });

  it('when errors of every kind are classified, then only refusals are permanent', () => {
    // Stripe's raw error as the SDK receives it (its type is a union the SDK keeps to itself).
    const raw = (statusCode: number, type = 'invalid_request_error'): any => ({
      statusCode,
      type,
      message: 'x',
    });
    const cases: [unknown, boolean][] = [
      [Stripe.errors.StripeError.generate(raw(400)), true],
      [Stripe.errors.StripeError.generate(raw(404)), true],
      [Stripe.errors.StripeError.generate(raw(400, 'idempotency_error')), true],
      [Stripe.errors.StripeError.generate(raw(401, 'authentication_error')), true],
      [Stripe.errors.StripeError.generate(raw(402, 'card_error')), true],
      [Stripe.errors.StripeError.generate(raw(403, 'invalid_request_error')), true],
      [Stripe.errors.StripeError.generate(raw(409)), false],
      [Stripe.errors.StripeError.generate(raw(429)), false],
      [Stripe.errors.StripeError.generate(raw(500, 'api_error')), false],
      [Stripe.errors.StripeError.generate(raw(503, 'api_error')), false],
      [new Stripe.errors.StripeConnectionError({ message: 'ECONNRESET' }), false],
      [new StripeNotConfiguredError('STRIPE_SECRET_KEY'), true],
      [new Error('something else'), false],
      ['not even an error', false],
    ];
    for (const [error, permanent] of cases) {
      assert.equal(isPermanentStripeError(error), permanent, String(error));
    }
  });

  it('when STRIPE_SECRET_KEY is unset, then every call refuses with StripeNotConfiguredError (permanent) and nothing reaches Stripe', async () => {
    const unconfigured = new StripeGateway({ secretKey: undefined, webhookSecret: undefined });
    const before = stripe.requests.length;
    assert.equal(unconfigured.configured, false);
    const error = await failureOf(() => unconfigured.createConnectTransfer(payout(randomUUID())));
    assert.ok(error instanceof StripeNotConfiguredError);
    assert.equal(isPermanentStripeError(error), true);
    assert.throws(() => unconfigured.verifyWebhook(Buffer.from('{}'), 't=1,v1=x'), StripeNotConfiguredError);
    assert.equal(stripe.requests.length, before);
  });

  it('when sessions are listed by status, then only those come back, newest first', async () => {
    const key = () => randomUUID();
    const ask = (amount: number) =>
      gateway.createCheckoutSession({
        userId: randomUUID(),
        amount,
        currency: 'usd',
        requestKey: key(),
        successUrl: 'https://x.test/ok',
        cancelUrl: 'https://x.test/no',
      });
    const open = await ask(300);
    const paid = await ask(400);
    stripe.markPaid(paid.id);

    const complete = await gateway.listCheckoutSessions({ status: 'complete', limit: 100 });
    const stillOpen = await gateway.listCheckoutSessions({
      status: 'open',
      createdSince: new Date(Date.now() - 60_000),
      limit: 100,
    });

    assert.ok(complete.some((s) => s.id === paid.id && s.paymentStatus === 'paid' && s.amountTotal === 400));
    assert.ok(!complete.some((s) => s.id === open.id));
    assert.equal(stillOpen[0]?.id, open.id);
    assert.deepEqual((await gateway.retrieveCheckoutSession(open.id)).metadata.amount, '300');
  });

  it('when STRIPE_API_URL is parsed, then the SDK gets its host, port and protocol', () => {
    assert.deepEqual(stripeEndpoint('http://127.0.0.1:12111'), {
      host: '127.0.0.1',
      port: 12111,
      protocol: 'http',
    });
    assert.deepEqual(stripeEndpoint('https://stripe-mock.internal'), {
      host: 'stripe-mock.internal',
      port: 443,
      protocol: 'https',
    });
    assert.deepEqual(stripeEndpoint('http://[::1]:8080/'), { host: '::1', port: 8080, protocol: 'http' });
  });

  it('when an earlier payout attempt paid and its idempotency key has expired, then the transfer group finds that transfer and nothing is paid again', async () => {
    const payouts = gateway.connectPayouts();
    const withdrawalId = randomUUID();
    const first = await payouts.transfer(payout(withdrawalId));
    // Stripe forgets idempotency keys after 24 hours: the fake is told to forget this one.
    const made = stripe.transfers.filter((t) => t.metadata['withdrawalId'] === withdrawalId);
    assert.equal(made.length, 1);
    assert.equal(made[0]!.transfer_group, `withdrawal-${withdrawalId}`);
    const later = await gateway.createConnectTransfer({ ...payout(withdrawalId) });
    assert.equal(later.transferId, first.transferId);
    assert.equal(stripe.transfers.filter((t) => t.metadata['withdrawalId'] === withdrawalId).length, 1);
    const creates = stripe.requests.filter(
      (r) =>
        r.method === 'POST' &&
        r.path === '/v1/transfers' &&
        r.idempotencyKey === `withdrawal-${withdrawalId}-payout`,
    );
    assert.equal(creates.length, 1, 'the second call looked the transfer up and created nothing');
  });

  it('when Stripe cannot say whether a payout was made, then the payout is retried, never refused (no money returned on a guess)', async () => {
    const payouts = gateway.connectPayouts();
    const withdrawalId = randomUUID();
    const before = stripe.transfers.length;
    stripe.failNext(1, 'server', { method: 'GET', path: /\/v1\/transfers/ });
    const unknown = await failureOf(() => payouts.transfer(payout(withdrawalId)));
    assert.equal(payouts.isPermanentFailure(unknown), false);
    assert.equal(stripe.transfers.length, before, 'nothing created before the lookup answered');
    const paid = await payouts.transfer(payout(withdrawalId));
    assert.equal(stripe.transfers.length, before + 1);
    assert.match(paid.transferId, /^tr_/);
  });
});
